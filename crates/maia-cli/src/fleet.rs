//! `maia fleet render`: arguments to [`maia::fleet::render()`], its report to lines
//! (or one JSON object) and an exit code.

use std::error::Error as _;
use std::io::Write as _;
use std::process::ExitCode;

use maia::fleet::{self, Fleet, Status};
use maia_spec::{Diagnostic, SpecError};
use serde_json::{Value, json};

use crate::cli::{EventFormat, FleetFormat, FleetRenderArgs};
use crate::deploy::{Printer, block_on, connect};
use crate::error::Result;
use crate::report;

/// `maia fleet render`: exit 0 every group rendered, 2 a bad input, 1 another failure.
pub(crate) fn render(args: &FleetRenderArgs) -> ExitCode {
    match run(args) {
        Ok(fleet) => {
            print(&fleet, args.output);
            if !fleet.from_cluster {
                warn_new(&fleet);
            }
            ExitCode::from(exit_code(&fleet))
        }
        Err(e) => ExitCode::from(report::error(&e)),
    }
}

fn run(args: &FleetRenderArgs) -> Result<Fleet> {
    let input = fleet::RenderInput {
        forms: args.files.forms.clone(),
        cluster_config_file: args.files.cluster_config_file.clone(),
        maia_config_file: args.files.maia_config_file.clone(),
        config_folder: args.config_folder.clone(),
        minimal: args.minimal,
        gitops: crate::namespace::gitops(&args.gitops),
        options: args.strictness.into(),
        state_namespace: args.source.state_namespace.clone(),
    };
    let mut printer = Printer::new(EventFormat::Text, None);
    // The report lists what was written: no line per file.
    printer.wrote = false;
    Ok(match args.source.cluster() {
        Some(cluster_args) => {
            let cluster = connect(&cluster_args)?;
            block_on(fleet::render(&input, Some(&cluster), &mut printer))?
        }
        None => block_on(fleet::render(&input, None, &mut printer))?,
    })
}

/// A group rendered for the first time drew its credentials: its bundle is for a
/// new workspace, and would replace a deployed one's passwords and keys.
fn warn_new(fleet: &Fleet) {
    let new = fleet.new_groups();
    if !new.is_empty() {
        eprintln!(
            "warning: rendered without a cluster, the bundles of {} are for NEW workspaces \
             (their credentials were drawn now); for a group already deployed, take its \
             credentials and ports from the cluster (`--from-cluster`, or `maia fleet \
             deploy`)",
            new.join(", ")
        );
    }
}

/// 2 when some group failed on bad input, else 1 when some failed, else 0.
fn exit_code(fleet: &Fleet) -> u8 {
    fleet
        .errors()
        .chain(&fleet.folder_error)
        .map(|e| if e.is_bad_input() { 2 } else { 1 })
        .max()
        .unwrap_or(0)
}

fn group_id(entry: &fleet::Entry) -> &str {
    entry.group().map_or("", |(g, _)| g)
}

/// Warnings and errors on stderr, form by form; then the report on stdout.
fn print(fleet: &Fleet, format: FleetFormat) {
    report::diagnostics(&fleet.warnings);
    for entry in &fleet.entries {
        report::diagnostics(&entry.warnings);
        if let Some(Err(e)) = &entry.result {
            eprintln!("{}: not rendered", entry.form.display());
            report::maia_error(e);
        }
    }
    if let Some(e) = &fleet.folder_error {
        report::maia_error(e);
    }
    let mut out = std::io::stdout().lock();
    let _ = match format {
        FleetFormat::Text => out.write_all(text(fleet).as_bytes()),
        FleetFormat::Json => writeln!(out, "{:#}", json(fleet)),
    };
}

fn text(fleet: &Fleet) -> String {
    let width = fleet
        .entries
        .iter()
        .map(|e| group_id(e).len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for e in &fleet.entries {
        let (status, detail) = match &e.result {
            Some(Ok(d)) => (
                d.status.name(),
                match (d.written, d.removed) {
                    (0, 0) => String::new(),
                    (w, 0) => format!("  {w} file(s) written"),
                    (w, r) => format!("  {w} file(s) written, {r} removed"),
                },
            ),
            _ => ("error", String::new()),
        };
        let group = match group_id(e) {
            "" => "-",
            g => g,
        };
        text.push_str(&format!(
            "{status:<9}  {group:<width$}  {}{detail}\n",
            e.form.display()
        ));
    }
    text.push_str(&format!(
        "\n{} group(s) under {}: {} new, {} changed, {} unchanged, {} error(s)",
        fleet.entries.len(),
        fleet.config_folder.display(),
        fleet.count(Some(Status::New)),
        fleet.count(Some(Status::Changed)),
        fleet.count(Some(Status::Unchanged)),
        fleet.count(None),
    ));
    if fleet.ledger_written {
        text.push_str(&format!("; wrote {}", fleet.ledger.display()));
    }
    if let Some((folder, set_written)) = &fleet.tree {
        text.push_str(&format!(
            "\nGitOps tree (no Secret in it) under {}",
            folder.display()
        ));
        if *set_written {
            text.push_str(&format!(
                "; wrote {}",
                folder.join(maia::fleet::APPLICATION_SET_FILE).display()
            ));
        }
        text.push_str(
            "\ncommit it under --repo-path, then apply the Secrets: maia fleet deploy --secrets-only",
        );
    }
    text.push('\n');
    text
}

fn json(fleet: &Fleet) -> Value {
    let groups: Vec<Value> = fleet
        .entries
        .iter()
        .map(|e| {
            let mut group = json!({ "form": e.form.display().to_string() });
            if let Some((group_id, namespace)) = e.group() {
                group["group_ID"] = json!(group_id);
                group["namespace"] = json!(namespace);
            }
            match &e.result {
                Some(Ok(d)) => {
                    group["status"] = json!(d.status.name());
                    group["folder"] = json!(d.dir.display().to_string());
                    group["files_written"] = json!(d.written);
                    group["files_removed"] = json!(d.removed);
                    group["ssh_ports"] = json!(d.ports);
                }
                Some(Err(err)) => {
                    group["status"] = json!("error");
                    group["error"] = error_json(err);
                }
                None => {}
            }
            group["warnings"] = e.warnings.iter().map(diagnostic_json).collect();
            group
        })
        .collect();
    json!({
        "config_folder": fleet.config_folder.display().to_string(),
        "groups": groups,
        "totals": {
            "groups": fleet.entries.len(),
            "new": fleet.count(Some(Status::New)),
            "changed": fleet.count(Some(Status::Changed)),
            "unchanged": fleet.count(Some(Status::Unchanged)),
            "error": fleet.count(None),
        },
        "ledger": {
            "path": fleet.ledger.display().to_string(),
            "written": fleet.ledger_written,
        },
        "gitops": fleet.tree.as_ref().map(|(folder, written)| json!({
            "folder": folder.display().to_string(),
            "application_set": folder.join(maia::fleet::APPLICATION_SET_FILE).display().to_string(),
            "application_set_written": written,
        })),
    })
}

pub(crate) fn error_json(e: &maia::Error) -> Value {
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let diagnostics: Vec<Value> = match e {
        maia::Error::Spec(SpecError::Invalid { diagnostics, .. }) => {
            diagnostics.iter().map(diagnostic_json).collect()
        }
        _ => Vec::new(),
    };
    json!({
        "message": e.to_string(),
        "causes": causes,
        "hint": e.hint(),
        "diagnostics": diagnostics,
    })
}

pub(crate) fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({
        "severity": d.severity,
        "file": d.file.display().to_string(),
        "line": d.location.map(|l| l.0),
        "column": d.location.map(|l| l.1),
        "path": d.path.to_string(),
        "message": d.message,
        "hint": d.hint,
    })
}
