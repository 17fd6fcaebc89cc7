//! Every group of a forms folder against one cluster, a bounded number at a time on
//! one connection (`maia fleet deploy | plan | status`).
//!
//! Each group goes through what [`crate::workspace`] does for one; this module loads
//! the forms once, runs the groups with bounded concurrency (the first alone when it
//! installs what all share: KubeFlow), keeps one group's failure from stopping the
//! others, and reports each group as it ends.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use maia_deploy::workspace::{HelmChange, KubeflowChange, manage};
use maia_deploy::{Change, Cluster, Outcome, Step};
use maia_spec::Diagnostic;
use maia_spec::workspace::WorkspaceSpec;
use serde::Serialize;

use super::render::{Shared, list_forms, shared_namespaces};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::event::{Cancel, Event, Sink};
use crate::workspace::{self, DeployInput};

/// What a fleet run reports as it goes: warnings of the files as they are read, and
/// each group as it ends.
pub trait FleetSink: Send {
    /// Warnings of the shared files or of one form.
    fn warnings(&mut self, warnings: &[Diagnostic]);
    /// The groups about to run, by group_ID ("-" for a form that cannot be read).
    fn loaded(&mut self, _group_ids: &[&str]) {}
    /// A group ended (its row is final).
    fn ended(&mut self, row: &Row);
}

/// What `maia fleet deploy | plan` is asked.
#[derive(Debug, Clone)]
pub struct FleetInput {
    /// The folder of group forms (one per file).
    pub forms: PathBuf,
    /// The cluster config every group shares.
    pub cluster_config_file: PathBuf,
    /// The MAIA config every group shares.
    pub maia_config_file: Option<PathBuf>,
    /// Only the minimal workspaces.
    pub minimal: bool,
    /// How unknown fields of the files are taken.
    pub options: maia_spec::LoadOptions,
    /// Where each group's bundle is written after its deploy, if anywhere.
    pub config_folder: Option<PathBuf>,
    /// maia's own namespace on the cluster.
    pub state_namespace: String,
    /// Leave the third-party charts to the admin.
    pub skip_helm: bool,
    /// Leave KubeFlow to the admin.
    pub skip_kubeflow: bool,
    /// Apply only the namespaces and the Secrets.
    pub secrets_only: bool,
    /// Take fields over from other field managers.
    pub force_conflicts: bool,
    /// Wait this long for each workspace to be ready.
    pub wait: Option<Duration>,
    /// How many groups run at once.
    pub concurrency: usize,
}

/// One form of the folder.
pub(crate) struct Group {
    form: PathBuf,
    warnings: Vec<Diagnostic>,
    loaded: std::result::Result<WorkspaceSpec, Error>,
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
    sink: &mut dyn FleetSink,
) -> Result<Vec<Group>> {
    let forms = list_forms(forms)?;
    let (shared, warnings) = Shared::read(cluster_config, maia_config, minimal, options)?;
    sink.warnings(&warnings);
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
        sink.warnings(&g.warnings);
    }
    Ok(groups)
}

/// The `namespace deploy` input of one group of the fleet.
fn namespace_input(args: &FleetInput, form: &Path, spec: WorkspaceSpec) -> DeployInput {
    DeployInput {
        spec,
        form: form.to_path_buf(),
        config_folder: args.config_folder.clone(),
        state_namespace: args.state_namespace.clone(),
        skip_helm: args.skip_helm,
        skip_kubeflow: args.skip_kubeflow,
        secrets_only: args.secrets_only,
        // A fleet never adopts: each namespace maia did not create is adopted on its
        // own, with `maia namespace deploy --adopt-namespace`.
        adopt_namespace: false,
        force_conflicts: args.force_conflicts,
        wait: args.wait,
        dry_run: false,
    }
}

/// What a deploy did to one group's objects and charts, counted from its events.
#[derive(Debug, Default, Clone, Serialize)]
#[allow(missing_docs)]
pub struct Counts {
    pub created: usize,
    pub configured: usize,
    pub replaced: usize,
    pub unchanged: usize,
    pub pruned: usize,
    pub volumes_kept: usize,
    pub helm_installed: usize,
    pub helm_upgraded: usize,
    pub helm_unchanged: usize,
    pub kustomizations_applied: usize,
    /// The group's warnings and notes (a credential that differs, a quota raised).
    #[serde(skip)]
    pub said: Vec<String>,
}

impl Sink for Counts {
    fn emit(&mut self, event: Event) {
        use maia_deploy::Event;
        let event = match event {
            crate::event::Event::Cluster(event) => event,
            crate::event::Event::Warning { message } => {
                return self.said.push(format!("warning: {message}"));
            }
            crate::event::Event::Note { message } => {
                return self.said.push(format!("note: {message}"));
            }
            _ => return,
        };
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
    /// One line saying what was done.
    pub fn text(&self) -> String {
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
#[allow(missing_docs)]
pub struct PlanCounts {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub unchanged: usize,
    pub blocked: usize,
    pub helm_install: usize,
    pub helm_upgrade: usize,
    pub kubeflow_install: bool,
    pub new_credentials: usize,
    pub changes: bool,
    /// The group's warnings and notes.
    #[serde(skip)]
    pub said: Vec<String>,
}

impl PlanCounts {
    fn of(prepared: &workspace::Planned) -> PlanCounts {
        let plan = &prepared.plan;
        let mut c = PlanCounts {
            new_credentials: prepared.new_credentials.len(),
            changes: prepared.changes,
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

    /// One line saying what would be done.
    pub fn text(&self) -> String {
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
pub enum Found {
    /// maia has not deployed it.
    NotDeployed,
    /// Its status.
    Status(manage::WorkspaceStatus),
}

impl Found {
    /// Every component is ready.
    pub fn ready(&self) -> bool {
        match self {
            Found::NotDeployed => false,
            Found::Status(s) => {
                // Judged by status from the workspace's record, inventory and releases.
                !removed(s) && s.ready
            }
        }
    }

    /// One word: absent, ready, failed, progressing.
    pub fn word(&self) -> &'static str {
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

    /// One line.
    pub fn text(&self) -> String {
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
#[derive(Debug)]
pub enum Ended {
    /// Deployed: what was done, and how many credentials were drawn.
    Deployed(Counts, usize),
    /// Planned.
    Planned(PlanCounts),
    /// Its status was read.
    Found(Found),
    /// It failed (the others went on).
    Failed(Error),
}

/// A group's result and how long it took.
#[derive(Debug)]
#[allow(missing_docs)]
pub struct Row {
    pub form: PathBuf,
    pub group_id: String,
    pub namespace: String,
    pub warnings: Vec<Diagnostic>,
    pub result: Ended,
    pub took: Duration,
}

impl Row {
    /// The group's warnings and notes, as they were said during its run.
    pub fn said(&self) -> &[String] {
        match &self.result {
            Ended::Deployed(c, _) => &c.said,
            Ended::Planned(p) => &p.said,
            _ => &[],
        }
    }

    /// One word for the result.
    pub fn word(&self) -> &'static str {
        match &self.result {
            Ended::Deployed(..) => "deployed",
            Ended::Planned(p) if p.changes => "changes",
            Ended::Planned(_) => "no-change",
            Ended::Found(f) => f.word(),
            Ended::Failed(_) => "error",
        }
    }

    /// One line of detail.
    pub fn detail(&self) -> String {
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
}

/// Which command runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Deploy,
    Plan,
}

/// Deploys every group of the forms folder, `concurrency` at a time (the first alone
/// when it installs KubeFlow, which every group shares); each group as
/// [`workspace::deploy`] deploys it. Rows in group_ID order.
pub async fn deploy(
    cluster: &Cluster,
    env: &Env,
    args: &FleetInput,
    cancel: &Cancel,
    sink: &mut dyn FleetSink,
) -> Result<Vec<Row>> {
    run(cluster, env, args, Verb::Deploy, cancel, sink).await
}

/// Plans every group of the forms folder; nothing is written.
pub async fn plan(
    cluster: &Cluster,
    env: &Env,
    args: &FleetInput,
    sink: &mut dyn FleetSink,
) -> Result<Vec<Row>> {
    run(cluster, env, args, Verb::Plan, &Cancel::new(), sink).await
}

async fn run(
    cluster: &Cluster,
    env: &Env,
    args: &FleetInput,
    verb: Verb,
    cancel: &Cancel,
    sink: &mut dyn FleetSink,
) -> Result<Vec<Row>> {
    let groups = load_groups(
        &args.forms,
        &args.cluster_config_file,
        args.maia_config_file.as_deref(),
        args.minimal,
        args.options,
        sink,
    )?;
    // KubeFlow is one install shared by every group: the first group installs it
    // alone, the others then find it running.
    let kubeflow =
        verb == Verb::Deploy && !args.secrets_only && !args.skip_kubeflow && !args.minimal;
    // Each group's deploy holds its own group's Lease.
    let rows = run_groups(
        groups,
        args.concurrency,
        kubeflow,
        |form, spec| one(cluster, env, args, verb, cancel, form, spec),
        sink,
    )
    .await;
    if cancel.is_cancelled() {
        let during = match verb {
            Verb::Deploy => "fleet deploy",
            Verb::Plan => "fleet plan",
        };
        return Err(Error::Cancelled {
            during: during.into(),
            released: maia_deploy::lease::release_abandoned().await,
        });
    }
    Ok(rows)
}

/// Deploys or plans one group.
async fn one(
    cluster: &Cluster,
    env: &Env,
    args: &FleetInput,
    verb: Verb,
    cancel: &Cancel,
    form: PathBuf,
    spec: WorkspaceSpec,
) -> Ended {
    let input = namespace_input(args, &form, spec);
    let outcome = async {
        match verb {
            Verb::Plan => {
                // Warnings of one group of many are in its row, not in the stream.
                let mut said = Counts::default();
                let planned = workspace::plan(cluster, env, &input, &mut said).await?;
                let mut counts = PlanCounts::of(&planned);
                counts.said = said.said;
                Ok(Ended::Planned(counts))
            }
            Verb::Deploy => {
                let mut counts = Counts::default();
                let deployed = workspace::deploy(cluster, env, &input, cancel, &mut counts).await?;
                Ok::<_, Error>(Ended::Deployed(counts, deployed.fresh))
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
    sink: &mut dyn FleetSink,
) -> Vec<Row>
where
    F: Fn(PathBuf, WorkspaceSpec) -> Fut,
    Fut: std::future::Future<Output = Ended>,
{
    let total = groups.len();
    let ids: Vec<&str> = groups.iter().map(Group::group_id).collect();
    sink.loaded(&ids);
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
                sink.ended(&row);
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
        finish(&mut rows, run_one(item).await, sink);
    }
    let mut stream =
        futures::stream::iter(rest.into_iter().map(run_one)).buffer_unordered(concurrency.max(1));
    while let Some(done) = stream.next().await {
        finish(&mut rows, done, sink);
    }
    drop(stream);
    rows.into_iter().flatten().collect()
}

/// Records a group's result in its row and reports it.
fn finish(
    rows: &mut [Option<Row>],
    (i, result, took): (usize, Ended, Duration),
    sink: &mut dyn FleetSink,
) {
    if let Some(row) = rows.get_mut(i).and_then(Option::as_mut) {
        row.result = result;
        row.took = took;
        sink.ended(row);
    }
}

/// What `maia fleet status` is asked.
#[derive(Debug, Clone)]
pub struct StatusInput {
    /// The forms folder and the shared cluster and MAIA configs, to report exactly
    /// those groups (deployed or not); `None` for every workspace on the cluster.
    pub forms: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
    /// How unknown fields of the files are taken.
    pub options: maia_spec::LoadOptions,
    /// How many workspaces are read at once.
    pub concurrency: usize,
}

/// The status of every group of a forms folder, or of every workspace on the cluster.
pub async fn status(
    cluster: &Cluster,
    env: &Env,
    args: &StatusInput,
    sink: &mut dyn FleetSink,
) -> Result<Vec<Row>> {
    let groups = match &args.forms {
        Some((forms, cluster_config, maia_config)) => Some(load_groups(
            forms,
            cluster_config,
            maia_config.as_deref(),
            false,
            args.options,
            sink,
        )?),
        None => None,
    };
    let helm = workspace::helm(env);
    let deployed = manage::list(cluster).await.map_err(Error::from)?;
    let helm = helm.as_ref();
    let Some(groups) = groups else {
        return Ok(every_workspace(cluster, helm, deployed, args.concurrency).await);
    };
    let rows = run_groups(
        groups,
        args.concurrency,
        false,
        |_, spec: WorkspaceSpec| {
            let entry = deployed
                .iter()
                .find(|w| w.namespace == spec.namespace.as_str())
                .cloned();
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
        sink,
    )
    .await;
    Ok(rows)
}

/// The status of every workspace maia deployed on the cluster, by group_ID.
async fn every_workspace(
    cluster: &Cluster,
    helm: Option<&maia_deploy::tools::Helm>,
    deployed: Vec<manage::WorkspaceEntry>,
    concurrency: usize,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut stream = futures::stream::iter(deployed.into_iter().map(|entry| async move {
        let started = Instant::now();
        let result = manage::status(cluster, &entry, helm).await;
        (entry, result, started.elapsed())
    }))
    .buffer_unordered(concurrency.max(1));
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    struct Quiet;

    impl FleetSink for Quiet {
        fn warnings(&mut self, _: &[Diagnostic]) {}
        fn ended(&mut self, _: &Row) {}
    }

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
                        Ended::Failed(Error::Usage {
                            message: "G3 fails".into(),
                            hint: None,
                        })
                    } else {
                        Ended::Deployed(Counts::default(), 0)
                    }
                }
            },
            &mut Quiet,
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
