//! `maia fleet render`: arguments to [`maia::fleet::render()`], its report to lines
//! (or one JSON object) and an exit code.

use std::io::Write as _;
use std::process::ExitCode;

use maia::fleet::{self, Fleet};

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
        cache: render_cache(),
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

/// Where fleet renders keep their render stamps: `$XDG_CACHE_HOME/maia` (or
/// `~/.cache/maia`), for this build of maia (its version, commit, and the executable's
/// size and modification time, so that a rebuilt maia renders every group again). None
/// (every group rendered and compared) when neither folder is known or the executable
/// cannot be read.
fn render_cache() -> Option<fleet::RenderCache> {
    use std::os::unix::fs::MetadataExt;
    let absolute =
        |v: std::ffi::OsString| Some(std::path::PathBuf::from(v)).filter(|p| p.is_absolute());
    let dir = std::env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".cache"))
        })?
        .join("maia");
    let exe = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
    let build = format!(
        "{} {} {} {}.{}",
        env!("CARGO_PKG_VERSION"),
        env!("MAIA_COMMIT"),
        exe.len(),
        exe.mtime(),
        exe.mtime_nsec()
    );
    Some(fleet::RenderCache { dir, build })
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
        FleetFormat::Text => out.write_all(maia::text::render_report(fleet).as_bytes()),
        FleetFormat::Json => writeln!(out, "{:#}", maia::text::json::render_report(fleet)),
    };
}
