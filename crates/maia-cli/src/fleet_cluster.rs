//! `maia fleet deploy | plan | status`: every group of a forms folder against one
//! cluster, `--concurrency` groups at a time on one connection.
//!
//! Each group goes through what `maia namespace deploy | plan | status` does for it
//! (`crate::workspace`); this module loads the forms once, runs the groups with bounded
//! concurrency, keeps one group's failure from stopping the others, and reports a line
//! per group as it ends (stderr), then a table or one JSON object (stdout).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use maia_deploy::workspace::{self as ws, HelmChange, KubeflowChange, manage};
use maia_deploy::{Change, Cluster, Event, EventSink, Outcome, Step};
use maia_spec::Diagnostic;
use maia_spec::workspace::WorkspaceSpec;
use serde::Serialize;
use serde_json::{Value, json};

use crate::cli::{
    EventFormat, FleetDeployArgs, FleetFormat, FleetStatusArgs, NamespaceDeployArgs,
    WorkspaceFileArgs,
};
use crate::deploy::{announce, connect, interruptible, runtime, table};
use crate::error::{CliError, Result};
use crate::fleet::{Shared, diagnostic_json, error_json, list_forms, shared_namespaces};
use crate::namespace::OsRandom;
use crate::{report, workspace};

/// One form of the folder.
struct Group {
    form: PathBuf,
    warnings: Vec<Diagnostic>,
    loaded: std::result::Result<WorkspaceSpec, CliError>,
}

impl Group {
    fn group_id(&self) -> &str {
        self.loaded.as_ref().map_or("-", |s| s.group_id.as_str())
    }

    fn namespace(&self) -> &str {
        self.loaded.as_ref().map_or("-", |s| s.namespace.as_str())
    }
}

/// Reads the shared config files once and every form; two forms whose groups map to
/// one namespace are both refused. Sorted by group_ID (forms that failed last).
fn load_groups(
    forms: &Path,
    cluster_config: &Path,
    maia_config: Option<&Path>,
    minimal: bool,
    options: maia_spec::LoadOptions,
) -> Result<Vec<Group>> {
    let forms = list_forms(forms)?;
    let shared = Shared::read(cluster_config, maia_config, minimal, options)?;
    let mut groups: Vec<Group> = forms
        .into_iter()
        .map(|form| match shared.load(&form) {
            Ok((spec, warnings)) => Group {
                form,
                warnings,
                loaded: Ok(spec),
            },
            Err(e) => Group {
                form,
                warnings: Vec::new(),
                loaded: Err(e),
            },
        })
        .collect();
    let loaded: Vec<Option<(&WorkspaceSpec, &Path)>> = groups
        .iter()
        .map(|g| g.loaded.as_ref().ok().map(|spec| (spec, g.form.as_path())))
        .collect();
    for (i, error) in shared_namespaces(&loaded) {
        groups[i].loaded = Err(error.into());
    }
    groups
        .sort_by(|a, b| (a.loaded.is_err(), a.group_id()).cmp(&(b.loaded.is_err(), b.group_id())));
    for g in &groups {
        report::diagnostics(&g.warnings);
    }
    Ok(groups)
}

/// The `namespace deploy` arguments of one group of the fleet.
fn namespace_args(args: &FleetDeployArgs, form: &Path) -> NamespaceDeployArgs {
    NamespaceDeployArgs {
        files: WorkspaceFileArgs {
            namespace_config_file: form.to_path_buf(),
            cluster_config_file: args.files.cluster_config_file.clone(),
            maia_config_file: args.files.maia_config_file.clone(),
        },
        cluster: args.cluster.clone(),
        minimal: args.minimal,
        wait: args.wait,
        timeout: args.timeout,
        force_conflicts: args.force_conflicts,
        skip_helm: args.skip_helm,
        skip_kubeflow: args.skip_kubeflow,
        secrets_only: args.secrets_only,
        // A fleet never adopts: each namespace maia did not create is adopted on its
        // own, with `maia namespace deploy --adopt-namespace`.
        adopt_namespace: false,
        state_namespace: args.state_namespace.clone(),
        config_folder: args.config_folder.clone(),
        output: EventFormat::Text,
        quiet: false,
        strictness: args.strictness,
    }
}

/// What a deploy did to one group's objects and charts, counted from its events.
#[derive(Debug, Default, Clone, Serialize)]
struct Counts {
    created: usize,
    configured: usize,
    replaced: usize,
    unchanged: usize,
    pruned: usize,
    volumes_kept: usize,
    helm_installed: usize,
    helm_upgraded: usize,
    helm_unchanged: usize,
    kustomizations_applied: usize,
}

impl EventSink for Counts {
    fn emit(&mut self, event: Event) {
        match event {
            Event::Applied { outcome, .. } => match outcome {
                Outcome::Created => self.created += 1,
                Outcome::Configured => self.configured += 1,
                Outcome::Replaced => self.replaced += 1,
                Outcome::Unchanged => self.unchanged += 1,
            },
            Event::Pruned { .. } => self.pruned += 1,
            Event::VolumeKept { .. } => self.volumes_kept += 1,
            Event::Helm { outcome, .. } => match outcome.as_str() {
                "installed" => self.helm_installed += 1,
                "upgraded" => self.helm_upgraded += 1,
                "unchanged" => self.helm_unchanged += 1,
                _ => {}
            },
            Event::Kustomization { .. } => self.kustomizations_applied += 1,
            _ => {}
        }
    }
}

impl Counts {
    fn text(&self) -> String {
        let mut parts = vec![format!(
            "{} created, {} configured, {} unchanged",
            self.created, self.configured, self.unchanged
        )];
        if self.replaced > 0 {
            parts.push(format!("{} replaced", self.replaced));
        }
        if self.pruned > 0 {
            parts.push(format!("{} pruned", self.pruned));
        }
        if self.volumes_kept > 0 {
            parts.push(format!("{} volume(s) kept", self.volumes_kept));
        }
        let helm = self.helm_installed + self.helm_upgraded + self.helm_unchanged;
        if helm > 0 {
            parts.push(format!(
                "charts: {} installed, {} upgraded, {} unchanged",
                self.helm_installed, self.helm_upgraded, self.helm_unchanged
            ));
        }
        parts.join(", ")
    }
}

/// What a plan would do to one group.
#[derive(Debug, Default, Clone, Serialize)]
struct PlanCounts {
    create: usize,
    update: usize,
    replace: usize,
    delete: usize,
    unchanged: usize,
    blocked: usize,
    helm_install: usize,
    helm_upgrade: usize,
    kubeflow_install: bool,
    new_credentials: usize,
    changes: bool,
}

impl PlanCounts {
    fn of(prepared: &ws::deploy::Prepared<'_>) -> PlanCounts {
        let plan = &prepared.plan;
        let mut c = PlanCounts {
            new_credentials: prepared.new_credentials.len(),
            changes: plan.has_changes()
                || !prepared.new_credentials.is_empty()
                || !prepared.recovered_credentials.is_empty(),
            ..PlanCounts::default()
        };
        for step in &plan.objects.steps {
            match step {
                Step::Apply { change, .. } => match change {
                    Change::Create => c.create += 1,
                    Change::Unchanged => c.unchanged += 1,
                    Change::Update(_) | Change::Adopt(_) => c.update += 1,
                    Change::Replace(_) => c.replace += 1,
                    Change::Blocked(_) | Change::NotOwned => c.blocked += 1,
                },
                Step::Prune { .. } => c.delete += 1,
                Step::KeepVolume { .. } => {}
            }
        }
        for segment in &plan.segments {
            for h in &segment.helm {
                match h.change {
                    HelmChange::Install => c.helm_install += 1,
                    HelmChange::Upgrade { .. } | HelmChange::Repair { .. } => c.helm_upgrade += 1,
                    HelmChange::Unchanged | HelmChange::Skipped => {}
                }
            }
            if matches!(segment.kubeflow, Some(KubeflowChange::Install { .. })) {
                c.kubeflow_install = true;
            }
        }
        c
    }

    fn text(&self) -> String {
        if !self.changes {
            return format!("no change ({} objects unchanged)", self.unchanged);
        }
        let mut parts = vec![format!(
            "{} to create, {} to update, {} to delete",
            self.create,
            self.update + self.replace,
            self.delete
        )];
        if self.blocked > 0 {
            parts.push(format!("{} blocked", self.blocked));
        }
        if self.helm_install + self.helm_upgrade > 0 {
            parts.push(format!(
                "charts: {} to install, {} to upgrade",
                self.helm_install, self.helm_upgrade
            ));
        }
        if self.kubeflow_install {
            parts.push("KubeFlow to install".into());
        }
        if self.new_credentials > 0 {
            parts.push(format!(
                "{} credential(s) to generate",
                self.new_credentials
            ));
        }
        parts.join(", ")
    }
}

/// One group's state on the cluster.
#[derive(Debug, Clone)]
enum Found {
    NotDeployed,
    Status(manage::WorkspaceStatus),
}

impl Found {
    fn ready(&self) -> bool {
        match self {
            Found::NotDeployed => false,
            Found::Status(s) => {
                // Judged by status from the workspace's record, inventory and releases.
                !removed(s) && s.ready
            }
        }
    }

    fn word(&self) -> &'static str {
        match self {
            Found::NotDeployed => "absent",
            // Deleted with its data kept: the namespace is all that is left.
            Found::Status(s) if removed(s) => "absent",
            Found::Status(s) => {
                if self.ready() {
                    "ready"
                } else if s
                    .components
                    .iter()
                    .any(|c| matches!(c.status, maia_deploy::Status::Failed(_)))
                {
                    "failed"
                } else {
                    "progressing"
                }
            }
        }
    }

    fn text(&self) -> String {
        match self {
            Found::NotDeployed => "not deployed".into(),
            Found::Status(s) if removed(s) => {
                "not deployed (its namespace and volumes are kept)".into()
            }
            Found::Status(s) => {
                let ready = s
                    .components
                    .iter()
                    .filter(|c| c.status == maia_deploy::Status::Ready)
                    .count();
                let mut text = format!("{ready}/{} components ready", s.components.len());
                if let Some(c) = s
                    .components
                    .iter()
                    .find(|c| c.status != maia_deploy::Status::Ready)
                {
                    text.push_str(&format!(
                        "; {}: {}",
                        c.component,
                        c.status.reason().unwrap_or("not ready")
                    ));
                }
                text
            }
        }
    }
}

/// A workspace deleted with its data kept: its namespace and volumes are left, and
/// JupyterHub, which every workspace has, is gone.
fn removed(status: &manage::WorkspaceStatus) -> bool {
    !status
        .components
        .iter()
        .any(|c| c.component == "jupyterhub")
}

/// What became of one group.
enum Ended {
    Deployed(Counts, usize),
    Planned(PlanCounts),
    Found(Found),
    Failed(CliError),
}

/// A group's result and how long it took.
struct Row {
    form: PathBuf,
    group_id: String,
    namespace: String,
    warnings: Vec<Diagnostic>,
    result: Ended,
    took: Duration,
}

impl Row {
    fn word(&self) -> &'static str {
        match &self.result {
            Ended::Deployed(..) => "deployed",
            Ended::Planned(p) if p.changes => "changes",
            Ended::Planned(_) => "no-change",
            Ended::Found(f) => f.word(),
            Ended::Failed(_) => "error",
        }
    }

    fn detail(&self) -> String {
        match &self.result {
            Ended::Deployed(c, fresh) if *fresh > 0 => {
                format!("{}; {fresh} new credential(s) kept", c.text())
            }
            Ended::Deployed(c, _) => c.text(),
            Ended::Planned(p) => p.text(),
            Ended::Found(f) => f.text(),
            Ended::Failed(e) => e.to_string(),
        }
    }

    fn json(&self) -> Value {
        let mut v = json!({
            "form": self.form.display().to_string(),
            "status": self.word(),
            "seconds": (self.took.as_secs_f64() * 100.0).round() / 100.0,
            "warnings": self.warnings.iter().map(diagnostic_json).collect::<Vec<_>>(),
        });
        if self.group_id != "-" {
            v["group_ID"] = json!(self.group_id);
            v["namespace"] = json!(self.namespace);
        }
        match &self.result {
            Ended::Deployed(c, fresh) => {
                v["objects"] = json!(c);
                v["new_credentials"] = json!(fresh);
            }
            Ended::Planned(p) => {
                v["changes"] = json!(p.changes);
                v["plan"] = json!(p);
            }
            Ended::Found(Found::NotDeployed) => v["ready"] = json!(false),
            Ended::Found(f @ Found::Status(s)) => {
                v["ready"] = json!(f.ready());
                v["workspace"] = serde_json::to_value(s).unwrap_or_default();
            }
            Ended::Failed(e) => v["error"] = error_json(e),
        }
        v
    }
}

/// Which command runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Deploy,
    Plan,
}

/// `maia fleet deploy`: exit 0 every group deployed, 2 bad input for some, else 1.
pub(crate) fn deploy(args: &FleetDeployArgs) -> ExitCode {
    let rows = match run(args, Verb::Deploy) {
        Ok(rows) => rows,
        Err(e) => return ExitCode::from(report::error(&e)),
    };
    print(&rows, args.output, "deployed", args.secrets_only);
    let code = rows
        .iter()
        .filter_map(|r| match &r.result {
            Ended::Failed(e) => Some(e.exit_code()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    ExitCode::from(code)
}

/// `maia fleet plan`: exit 0 no group would change, 1 some would, 2 an error.
pub(crate) fn plan(args: &FleetDeployArgs) -> ExitCode {
    let rows = match run(args, Verb::Plan) {
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

fn run(args: &FleetDeployArgs, verb: Verb) -> Result<Vec<Row>> {
    let groups = load_groups(
        &args.files.forms,
        &args.files.cluster_config_file,
        args.files.maia_config_file.as_deref(),
        args.minimal,
        args.strictness.into(),
    )?;
    let cluster = connect(&args.cluster)?;
    announce(&cluster, args.output == FleetFormat::Text);
    // KubeFlow is one install shared by every group: the first group installs it
    // alone, the others then find it running.
    let kubeflow =
        verb == Verb::Deploy && !args.secrets_only && !args.skip_kubeflow && !args.minimal;
    let during = match verb {
        Verb::Deploy => "fleet deploy",
        _ => "fleet plan",
    };
    // Each group's deploy holds its own group's Lease; an interruption stops them all.
    interruptible(
        during,
        run_groups(
            groups,
            usize::from(args.concurrency),
            kubeflow,
            |form, spec| one(&cluster, args, verb, form, spec),
        ),
    )
}

/// Deploys or plans one group.
async fn one(
    cluster: &Cluster,
    args: &FleetDeployArgs,
    verb: Verb,
    form: PathBuf,
    spec: WorkspaceSpec,
) -> Ended {
    let ns_args = namespace_args(args, &form);
    let outcome = async {
        if let (Verb::Deploy, Some(folder), false) = (verb, &args.config_folder, args.secrets_only)
        {
            workspace::check_writable(folder, &spec.group_id)?;
        }
        let request = workspace::request(&ns_args, spec)?;
        match verb {
            Verb::Plan => {
                let prepared = ws::deploy::prepare(cluster, &request, &mut OsRandom, false).await?;
                workspace::warn_differing(&prepared.differing_credentials, &ns_args);
                Ok(Ended::Planned(PlanCounts::of(&prepared)))
            }
            Verb::Deploy => {
                let mut counts = Counts::default();
                let deployed =
                    workspace::deploy_workspace(cluster, &request, &ns_args, false, &mut counts)
                        .await?;
                if let (Some(folder), false) = (&args.config_folder, args.secrets_only) {
                    workspace::write_bundle(&request.spec, &deployed.bundle, folder)?;
                }
                Ok::<_, CliError>(Ended::Deployed(counts, deployed.fresh))
            }
        }
    }
    .await;
    outcome.unwrap_or_else(Ended::Failed)
}

/// Runs `work` for every loaded group, `concurrency` at a time (the first alone when
/// `first_alone`), printing a line on stderr as each ends; rows in group_ID order.
async fn run_groups<F, Fut>(
    groups: Vec<Group>,
    concurrency: usize,
    first_alone: bool,
    work: F,
) -> Vec<Row>
where
    F: Fn(PathBuf, WorkspaceSpec) -> Fut,
    Fut: std::future::Future<Output = Ended>,
{
    let total = groups.len();
    let width = groups.iter().map(|g| g.group_id().len()).max().unwrap_or(0);
    let mut rows: Vec<Option<Row>> = (0..total).map(|_| None).collect();
    let mut todo = Vec::new();
    for (i, g) in groups.into_iter().enumerate() {
        let row = Row {
            group_id: g.group_id().to_string(),
            namespace: g.namespace().to_string(),
            form: g.form,
            warnings: g.warnings,
            result: Ended::Found(Found::NotDeployed),
            took: Duration::ZERO,
        };
        match g.loaded {
            Ok(spec) => {
                todo.push((i, row.form.clone(), spec));
                rows[i] = Some(row);
            }
            Err(e) => {
                let row = Row {
                    result: Ended::Failed(e),
                    ..row
                };
                progress(&row, width);
                rows[i] = Some(row);
            }
        }
    }
    let run_one = |(i, form, spec): (usize, PathBuf, WorkspaceSpec)| {
        let started = Instant::now();
        let fut = work(form, spec);
        async move { (i, fut.await, started.elapsed()) }
    };
    let split = usize::from(first_alone && todo.len() > 1);
    let rest = todo.split_off(split.min(todo.len()));
    for item in todo {
        finish(&mut rows, run_one(item).await, width);
    }
    let mut stream =
        futures::stream::iter(rest.into_iter().map(run_one)).buffer_unordered(concurrency.max(1));
    while let Some(done) = stream.next().await {
        finish(&mut rows, done, width);
    }
    drop(stream);
    rows.into_iter().flatten().collect()
}

/// Records a group's result in its row and prints its line.
fn finish(rows: &mut [Option<Row>], (i, result, took): (usize, Ended, Duration), width: usize) {
    if let Some(row) = rows.get_mut(i).and_then(Option::as_mut) {
        row.result = result;
        row.took = took;
        progress(row, width);
    }
}

/// The line of a group that ended, on stderr; a failure with its causes and hint.
fn progress(row: &Row, width: usize) {
    let seconds = row.took.as_secs_f64();
    let line = match &row.result {
        Ended::Failed(_) => format!(
            "{:<9}  {:<width$}  {}",
            row.word(),
            row.group_id,
            row.form.display()
        ),
        _ => format!(
            "{:<9}  {:<width$}  {}  ({seconds:.1} s)",
            row.word(),
            row.group_id,
            row.detail()
        ),
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    if let Ended::Failed(e) = &row.result {
        report::error(e);
    }
}

/// The table (or JSON) of every group, on stdout.
fn print(rows: &[Row], format: FleetFormat, done: &str, secrets_only: bool) {
    let mut out = std::io::stdout().lock();
    let failed = rows
        .iter()
        .filter(|r| matches!(r.result, Ended::Failed(_)))
        .count();
    match format {
        FleetFormat::Json => {
            let mut totals = serde_json::Map::new();
            totals.insert("groups".into(), json!(rows.len()));
            for r in rows {
                let n = totals.get(r.word()).and_then(Value::as_u64).unwrap_or(0);
                totals.insert(r.word().into(), json!(n + 1));
            }
            let _ = writeln!(
                out,
                "{:#}",
                json!({
                    "groups": rows.iter().map(Row::json).collect::<Vec<_>>(),
                    "totals": totals,
                    "secrets_only": secrets_only,
                })
            );
        }
        FleetFormat::Text => {
            let mut table_rows = vec![[
                "GROUP".to_string(),
                "NAMESPACE".into(),
                "RESULT".into(),
                "TIME".into(),
                "DETAIL".into(),
            ]];
            for r in rows {
                table_rows.push([
                    r.group_id.clone(),
                    r.namespace.clone(),
                    r.word().into(),
                    if r.took.is_zero() {
                        "-".into()
                    } else {
                        format!("{:.1}s", r.took.as_secs_f64())
                    },
                    r.detail(),
                ]);
            }
            let _ = write!(out, "{}", table(&table_rows));
            let _ = writeln!(
                out,
                "\n{} group(s): {} {done}, {failed} failed{}",
                rows.len(),
                rows.len() - failed,
                if secrets_only {
                    " (--secrets-only: Namespaces and Secrets only)"
                } else {
                    ""
                }
            );
        }
    }
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

fn status_rows(args: &FleetStatusArgs) -> Result<Vec<Row>> {
    let groups = match (&args.forms, &args.cluster_config_file) {
        (Some(forms), Some(cluster_config)) => Some(load_groups(
            forms,
            cluster_config,
            args.maia_config_file.as_deref(),
            false,
            args.strictness.into(),
        )?),
        _ => None,
    };
    let cluster = connect(&args.cluster)?;
    let helm = workspace::helm_from_path(&args.cluster);
    runtime()?.block_on(async {
        let deployed = manage::list(&cluster).await.map_err(CliError::from)?;
        let helm = helm.as_ref();
        let Some(groups) = groups else {
            return Ok(every_workspace(&cluster, helm, deployed, args.concurrency).await);
        };
        let rows = run_groups(
            groups,
            usize::from(args.concurrency),
            false,
            |_, spec: WorkspaceSpec| {
                let entry = deployed
                    .iter()
                    .find(|w| w.namespace == spec.namespace.as_str())
                    .cloned();
                let cluster = &cluster;
                async move {
                    match entry {
                        None => Ended::Found(Found::NotDeployed),
                        Some(entry) => match manage::status(cluster, &entry, helm).await {
                            Ok(s) => Ended::Found(Found::Status(s)),
                            Err(e) => Ended::Failed(e.into()),
                        },
                    }
                }
            },
        )
        .await;
        Ok::<_, CliError>(rows)
    })
}

/// The status of every workspace maia deployed on the cluster, by group_ID.
async fn every_workspace(
    cluster: &Cluster,
    helm: Option<&maia_deploy::tools::Helm>,
    deployed: Vec<manage::WorkspaceEntry>,
    concurrency: u16,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut stream = futures::stream::iter(deployed.into_iter().map(|entry| async move {
        let started = Instant::now();
        let result = manage::status(cluster, &entry, helm).await;
        (entry, result, started.elapsed())
    }))
    .buffer_unordered(usize::from(concurrency));
    while let Some((entry, result, took)) = stream.next().await {
        rows.push(Row {
            form: PathBuf::new(),
            group_id: if entry.group_id.is_empty() {
                entry.namespace.clone()
            } else {
                entry.group_id
            },
            namespace: entry.namespace,
            warnings: Vec::new(),
            result: match result {
                Ok(s) => Ended::Found(Found::Status(s)),
                Err(e) => Ended::Failed(e.into()),
            },
            took,
        });
    }
    rows.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    rows
}

fn print_status(rows: &[Row], format: FleetFormat) {
    let mut out = std::io::stdout().lock();
    match format {
        FleetFormat::Json => {
            let ready = rows
                .iter()
                .filter(|r| matches!(&r.result, Ended::Found(f) if f.ready()))
                .count();
            let _ = writeln!(
                out,
                "{:#}",
                json!({
                    "groups": rows.iter().map(Row::json).collect::<Vec<_>>(),
                    "totals": {"groups": rows.len(), "ready": ready, "not_ready": rows.len() - ready},
                })
            );
        }
        FleetFormat::Text if rows.is_empty() => {
            let _ = writeln!(out, "no workspaces deployed by maia");
        }
        FleetFormat::Text => {
            let mut table_rows = vec![[
                "GROUP".to_string(),
                "NAMESPACE".into(),
                "STATUS".into(),
                "DETAIL".into(),
            ]];
            for r in rows {
                table_rows.push([
                    r.group_id.clone(),
                    r.namespace.clone(),
                    r.word().into(),
                    r.detail(),
                ]);
            }
            let ready = rows
                .iter()
                .filter(|r| matches!(&r.result, Ended::Found(f) if f.ready()))
                .count();
            let _ = write!(out, "{}", table(&table_rows));
            let _ = writeln!(out, "\n{} workspace(s): {ready} ready", rows.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn groups(n: usize) -> Vec<Group> {
        (0..n)
            .map(|i| {
                let mut spec = WorkspaceSpec::test();
                spec.group_id = format!("G{i}");
                Group {
                    form: PathBuf::from(format!("g{i}.yaml")),
                    warnings: Vec::new(),
                    loaded: Ok(spec),
                }
            })
            .collect()
    }

    /// Runs 6 groups, each yielding a few times, and returns (the most in flight at
    /// once, the order groups started and ended in).
    fn schedule(concurrency: usize, first_alone: bool) -> (usize, Vec<String>, Vec<Row>) {
        let in_flight = RefCell::new((0usize, 0usize));
        let log = RefCell::new(Vec::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let rows = runtime.block_on(run_groups(
            groups(6),
            concurrency,
            first_alone,
            |_, spec: WorkspaceSpec| {
                let (in_flight, log) = (&in_flight, &log);
                async move {
                    {
                        let mut f = in_flight.borrow_mut();
                        f.0 += 1;
                        f.1 = f.1.max(f.0);
                    }
                    log.borrow_mut().push(format!("start {}", spec.group_id));
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                    log.borrow_mut().push(format!("end {}", spec.group_id));
                    in_flight.borrow_mut().0 -= 1;
                    if spec.group_id == "G3" {
                        Ended::Failed(CliError::Usage {
                            message: "G3 fails".into(),
                            hint: None,
                        })
                    } else {
                        Ended::Deployed(Counts::default(), 0)
                    }
                }
            },
        ));
        let most = in_flight.borrow().1;
        (most, log.into_inner(), rows)
    }

    #[test]
    fn groups_run_a_bounded_number_at_a_time_and_a_failure_stops_no_other() {
        let (most, _, rows) = schedule(4, false);
        assert_eq!(most, 4);
        assert_eq!(rows.len(), 6);
        let words: Vec<&str> = rows.iter().map(Row::word).collect();
        assert_eq!(
            words,
            [
                "deployed", "deployed", "deployed", "error", "deployed", "deployed"
            ]
        );
        let (most, _, _) = schedule(1, false);
        assert_eq!(most, 1);
    }

    #[test]
    fn the_first_group_runs_alone_when_it_installs_what_all_share() {
        let (most, log, _) = schedule(4, true);
        assert_eq!(&log[..2], ["start G0", "end G0"]);
        assert_eq!(most, 4);
        let (_, log, _) = schedule(4, false);
        assert_ne!(&log[..2], ["start G0", "end G0"]);
    }
}
