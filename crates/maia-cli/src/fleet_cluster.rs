//! `maia fleet deploy | plan | status`: arguments to `maia::fleet` calls; a line per
//! group on stderr as each ends, then a table or one JSON object on stdout; exit codes.

use std::io::Write as _;
use std::process::ExitCode;

use maia::Cancel;
use maia::fleet::{self, Ended, FleetInput, Row};
use maia_spec::Diagnostic;

use crate::cli::{FleetDeployArgs, FleetFormat, FleetStatusArgs};
use crate::deploy::{announce, block_on, connect, interruptible};
use crate::report;
use crate::workspace::env;

/// Prints each group's line as it ends, and warnings as the files are read.
struct Progress {
    width: usize,
}

impl fleet::FleetSink for Progress {
    fn warnings(&mut self, warnings: &[Diagnostic]) {
        report::diagnostics(warnings);
    }

    fn loaded(&mut self, group_ids: &[&str]) {
        self.width = group_ids.iter().map(|g| g.len()).max().unwrap_or(0);
    }

    fn ended(&mut self, row: &Row) {
        progress(row, self.width);
    }
}

fn input(args: &FleetDeployArgs) -> FleetInput {
    FleetInput {
        forms: args.files.forms.clone(),
        cluster_config_file: args.files.cluster_config_file.clone(),
        maia_config_file: args.files.maia_config_file.clone(),
        minimal: args.minimal,
        options: args.strictness.into(),
        config_folder: args.config_folder.clone(),
        state_namespace: args.state_namespace.clone(),
        skip_helm: args.skip_helm,
        skip_kubeflow: args.skip_kubeflow,
        secrets_only: args.secrets_only,
        force_conflicts: args.force_conflicts,
        wait: args.wait.then_some(args.timeout),
        concurrency: usize::from(args.concurrency),
    }
}

/// `maia fleet deploy`: exit 0 every group deployed, 2 bad input for some, else 1.
pub(crate) fn deploy(args: &FleetDeployArgs) -> ExitCode {
    let rows = match run(args, true) {
        Ok(rows) => rows,
        Err(e) => return ExitCode::from(report::error(&e)),
    };
    print(&rows, args.output, "deployed", args.secrets_only);
    let code = rows
        .iter()
        .filter_map(|r| match &r.result {
            Ended::Failed(e) => Some(if e.is_bad_input() { 2 } else { 1 }),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    ExitCode::from(code)
}

/// `maia fleet plan`: exit 0 no group would change, 1 some would, 2 an error.
pub(crate) fn plan(args: &FleetDeployArgs) -> ExitCode {
    let rows = match run(args, false) {
        Ok(rows) => rows,
        Err(e) => {
            report::error(&e);
            return ExitCode::from(2);
        }
    };
    print(&rows, args.output, "planned", args.secrets_only);
    if rows.iter().any(|r| matches!(r.result, Ended::Failed(_))) {
        ExitCode::from(2)
    } else if rows
        .iter()
        .any(|r| matches!(&r.result, Ended::Planned(p) if p.changes))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run(args: &FleetDeployArgs, deploy: bool) -> crate::Result<Vec<Row>> {
    let input = input(args);
    // The forms are checked before the cluster is asked anything.
    fleet::list_forms(&input.forms)?;
    let cluster = connect(&args.cluster)?;
    announce(&cluster, args.output == FleetFormat::Text);
    let env = env(&args.cluster);
    let mut progress = Progress { width: 0 };
    let cancel = Cancel::new();
    let during = if deploy { "fleet deploy" } else { "fleet plan" };
    let rows = interruptible(during, &cancel, async {
        if deploy {
            fleet::deploy(&cluster, &env, &input, &cancel, &mut progress).await
        } else {
            fleet::plan(&cluster, &env, &input, &mut progress).await
        }
    })??;
    Ok(rows)
}

/// The line of a group that ended, on stderr; a failure with its causes and hint.
fn progress(row: &Row, width: usize) {
    let line = maia::text::row_line(row, width);
    let mut err = std::io::stderr().lock();
    for said in row.said() {
        let _ = writeln!(err, "{said}");
    }
    let _ = writeln!(err, "{line}");
    drop(err);
    if let Ended::Failed(e) = &row.result {
        report::maia_error(e);
    }
}

/// The table (or JSON) of every group, on stdout.
fn print(rows: &[Row], format: FleetFormat, done: &str, secrets_only: bool) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        FleetFormat::Json => writeln!(
            out,
            "{:#}",
            maia::text::json::fleet_rows(rows, secrets_only)
        ),
        FleetFormat::Text => write!(out, "{}", maia::text::fleet_rows(rows, done, secrets_only)),
    };
}

/// `maia fleet status`: exit 0 every workspace ready, 1 some not, 2 an error.
pub(crate) fn status(args: &FleetStatusArgs) -> ExitCode {
    match status_rows(args) {
        Ok(rows) => {
            print_status(&rows, args.output);
            if rows.iter().any(|r| matches!(r.result, Ended::Failed(_))) {
                ExitCode::from(2)
            } else if rows
                .iter()
                .all(|r| matches!(&r.result, Ended::Found(f) if f.ready()))
            {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            report::error(&e);
            ExitCode::from(2)
        }
    }
}

fn status_rows(args: &FleetStatusArgs) -> crate::Result<Vec<Row>> {
    let forms = match (&args.forms, &args.cluster_config_file) {
        (Some(forms), Some(cluster_config)) => Some((
            forms.clone(),
            cluster_config.clone(),
            args.maia_config_file.clone(),
        )),
        _ => None,
    };
    let input = fleet::StatusInput {
        forms,
        options: args.strictness.into(),
        concurrency: usize::from(args.concurrency),
    };
    let cluster = connect(&args.cluster)?;
    block_on(fleet::status(
        &cluster,
        &env(&args.cluster),
        &input,
        &mut Progress { width: 0 },
    ))
}

fn print_status(rows: &[Row], format: FleetFormat) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        FleetFormat::Json => writeln!(out, "{:#}", maia::text::json::fleet_status(rows)),
        FleetFormat::Text => write!(out, "{}", maia::text::fleet_status(rows)),
    };
}
