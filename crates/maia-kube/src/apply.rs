//! Running a plan: namespace, inventory, server-side apply phase by phase, prune in
//! reverse order, then (with `--wait`) readiness. Dry-run is the same path with the
//! API server's `dryRun=All`.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PropagationPolicy};
use serde_json::Value;
use tokio::time::Instant;

use crate::cluster::{Cluster, FIELD_MANAGER};
use crate::error::{KubeError, Result};
use crate::event::{Event, EventSink, Outcome};
use crate::inventory::Inventory;
use crate::kinds::{self, Kind};
use crate::live;
use crate::plan::{Change, ObjectRef, Phase, Plan, Step};
use crate::readiness::{Status, claim_status, workload_status};

/// How [`execute`] runs a plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Send every write as a server-side dry run (`dryRun=All`): checked, not stored.
    pub dry_run: bool,
    /// Wait this long for the workload to be ready.
    pub wait: Option<Duration>,
}

impl ApplyOptions {
    /// Server-side apply as `maia`; `force` takes fields over from other managers.
    fn patch_params(&self, force: bool) -> PatchParams {
        let mut p = PatchParams::apply(FIELD_MANAGER);
        p.force = force;
        p.dry_run = self.dry_run;
        p
    }

    fn delete_params(&self) -> DeleteParams {
        DeleteParams {
            dry_run: self.dry_run,
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        }
    }
}

/// Runs the plan, reporting each step to `sink` as it happens, so that on failure the
/// output already says what was applied before it.
pub async fn execute(
    cluster: &Cluster,
    plan: &Plan,
    options: ApplyOptions,
    sink: &mut dyn EventSink,
) -> Result<()> {
    if let Some(blocker) = plan.blocker() {
        return Err(blocker);
    }
    let ns = plan.namespace.as_str();
    if plan.create_namespace {
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<Namespace> = Api::all(cluster.client.clone());
        api.patch(ns, &options.patch_params(false), &Patch::Apply(&namespace))
            .await
            .map_err(|e| {
                KubeError::from_kube(e, &cluster.url, "create", format!("namespace/{ns}"))
            })?;
        sink.emit(Event::NamespaceCreated {
            namespace: ns.into(),
            dry_run: options.dry_run,
        });
        if options.dry_run {
            // The API server refuses even a dry run into a namespace that does not
            // exist, so the rest (all creations) is reported as planned, unchecked.
            for step in &plan.steps {
                if let Step::Apply { object, .. } = step {
                    sink.emit(Event::Applied {
                        object: object.clone(),
                        outcome: Outcome::Created,
                        dry_run: true,
                    });
                }
            }
            return Ok(());
        }
    }
    let mut run = Run::new(cluster, plan, options);
    run.phases(&plan.phases, sink).await?;
    run.finish(sink).await?;
    if let (Some(timeout), false) = (options.wait, options.dry_run) {
        wait_ready(cluster, plan, timeout, sink).await?;
    }
    Ok(())
}

/// One run of a plan, which may go phase by phase with other work in between (a
/// workspace runs its plan component by component, with helm and waits).
pub struct Run<'a> {
    cluster: &'a Cluster,
    plan: &'a Plan,
    options: ApplyOptions,
    inventory_recorded: bool,
}

impl<'a> Run<'a> {
    /// A run of `plan` on `cluster`; nothing is sent until a phase runs.
    pub fn new(cluster: &'a Cluster, plan: &'a Plan, options: ApplyOptions) -> Self {
        Run {
            cluster,
            plan,
            options,
            inventory_recorded: plan.inventory_before.is_none(),
        }
    }

    /// Runs these phases of the plan, in order. The inventory is recorded before the
    /// first write into the namespace, so whatever fails later, every object created is
    /// already owned; a rendered Namespace (cluster-scoped) may come before it.
    pub async fn phases(&mut self, phases: &[Phase], sink: &mut dyn EventSink) -> Result<()> {
        let (cluster, plan, options) = (self.cluster, self.plan, self.options);
        for phase in phases {
            if sink.cancelled() {
                return Err(KubeError::Cancelled {
                    step: format!("applying {}", plan.release),
                });
            }
            let group = &plan.steps[phase.steps.clone()];
            let namespaced = group
                .iter()
                .any(|s| matches!(s, Step::Apply { kind, .. } if kind.namespaced));
            if namespaced && !self.inventory_recorded {
                if let Some(inventory) = &plan.inventory_before {
                    record_inventory(cluster, plan, inventory, options).await?;
                }
                self.inventory_recorded = true;
            }
            // Every request of the phase completes before a failure is reported, so the
            // events say exactly what was applied.
            let results: Vec<Result<(ObjectRef, Outcome)>> = stream::iter(group)
                .map(|step| run_apply(cluster, step, options, plan.force_conflicts))
                .buffered(APPLY_CONCURRENCY)
                .collect()
                .await;
            let mut failure = None;
            for result in results {
                match result {
                    Ok((object, outcome)) => sink.emit(Event::Applied {
                        object,
                        outcome,
                        dry_run: options.dry_run,
                    }),
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Prunes what the plan no longer has (volumes are kept and reported), in reverse
    /// order, then records the final inventory.
    pub async fn finish(mut self, sink: &mut dyn EventSink) -> Result<()> {
        let (cluster, plan, options) = (self.cluster, self.plan, self.options);
        if !self.inventory_recorded
            && let Some(inventory) = &plan.inventory_before
        {
            record_inventory(cluster, plan, inventory, options).await?;
            self.inventory_recorded = true;
        }
        for step in &plan.steps[plan.cleanup.clone()] {
            match step {
                Step::Prune { object, kind } => {
                    delete_one(cluster, kind, object, options).await?;
                    sink.emit(Event::Pruned {
                        object: object.clone(),
                        dry_run: options.dry_run,
                    });
                }
                Step::KeepVolume { object } => sink.emit(Event::VolumeKept {
                    object: object.clone(),
                }),
                Step::Apply { .. } => {}
            }
        }
        if let Some(inventory) = &plan.inventory_after {
            record_inventory(cluster, plan, inventory, options).await?;
        }
        Ok(())
    }
}

/// How many writes of one phase are in flight at once.
const APPLY_CONCURRENCY: usize = 4;

async fn run_apply(
    cluster: &Cluster,
    step: &Step,
    options: ApplyOptions,
    force: bool,
) -> Result<(ObjectRef, Outcome)> {
    let Step::Apply {
        object,
        change,
        kind,
        desired,
    } = step
    else {
        unreachable!("only apply steps are grouped into phases")
    };
    let outcome = match change {
        Change::Unchanged => Outcome::Unchanged,
        Change::Create => {
            apply_one(cluster, kind, object, desired, options, force).await?;
            Outcome::Created
        }
        Change::Update(_) | Change::Adopt(_) => {
            apply_one(cluster, kind, object, desired, options, force).await?;
            Outcome::Configured
        }
        Change::Replace(_) => {
            delete_one(cluster, kind, object, options).await?;
            if !options.dry_run {
                wait_gone(cluster, kind, object).await?;
            }
            apply_one(cluster, kind, object, desired, options, force).await?;
            Outcome::Replaced
        }
        Change::Blocked(_) | Change::NotOwned => unreachable!("checked by blocker()"),
    };
    Ok((object.clone(), outcome))
}

async fn apply_one(
    cluster: &Cluster,
    kind: &Kind,
    object: &ObjectRef,
    desired: &Value,
    options: ApplyOptions,
    force: bool,
) -> Result<()> {
    live::api(cluster, Some(&object.namespace), kind)
        .patch(
            &object.name,
            &options.patch_params(force),
            &Patch::Apply(desired),
        )
        .await
        .map_err(|e| KubeError::from_kube(e, &cluster.url, "apply", object.to_string()))?;
    Ok(())
}

/// Deletes one object; one already gone is not an error.
pub async fn delete_one(
    cluster: &Cluster,
    kind: &Kind,
    object: &ObjectRef,
    options: ApplyOptions,
) -> Result<()> {
    match live::api(cluster, Some(&object.namespace), kind)
        .delete(&object.name, &options.delete_params())
        .await
    {
        Ok(_) => Ok(()),
        // Already gone: what we wanted.
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(KubeError::from_kube(
            e,
            &cluster.url,
            "delete",
            object.to_string(),
        )),
    }
}

/// A deleted Job lingers while its pods are cleaned up; creating it again before it is
/// gone would fail.
async fn wait_gone(cluster: &Cluster, kind: &Kind, object: &ObjectRef) -> Result<()> {
    let api = live::api(cluster, Some(&object.namespace), kind);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut pause = Duration::from_millis(100);
    loop {
        let found = api
            .get_opt(&object.name)
            .await
            .map_err(|e| KubeError::from_kube(e, &cluster.url, "get", object.to_string()))?;
        if found.is_none() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(KubeError::WaitTimeout {
                object: object.to_string(),
                timeout: Duration::from_secs(120),
                last: "still being deleted".into(),
                workspace: None,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

async fn record_inventory(
    cluster: &Cluster,
    plan: &Plan,
    inventory: &Inventory,
    options: ApplyOptions,
) -> Result<()> {
    write_inventory(cluster, &plan.scope, inventory, options).await
}

/// Applies `inventory` as the scope's inventory ConfigMap.
pub async fn write_inventory(
    cluster: &Cluster,
    scope: &crate::plan::Scope,
    inventory: &Inventory,
    options: ApplyOptions,
) -> Result<()> {
    let name = scope.inventory.as_str();
    let config_map = inventory.to_config_map(&scope.namespace, name, &scope.labels);
    live::api(cluster, Some(&scope.namespace), &kinds::CONFIG_MAP)
        .patch(
            name,
            &options.patch_params(false),
            &Patch::Apply(&config_map),
        )
        .await
        .map_err(|e| KubeError::from_kube(e, &cluster.url, "apply", format!("configmap/{name}")))?;
    Ok(())
}

/// Polls the workload and volume claims (and their pods) until each is ready (a claim:
/// bound, or waiting for its first consumer), one fails, or time is up.
/// Polling, not a watch: it needs only GET/LIST rights and works through any proxy.
async fn wait_ready(
    cluster: &Cluster,
    plan: &Plan,
    timeout: Duration,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let pending: Vec<(Kind, ObjectRef)> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Apply { object, kind, .. }
                if *kind == kinds::PVC || *kind == kinds::DEPLOYMENT || *kind == kinds::JOB =>
            {
                Some((kind.clone(), object.clone()))
            }
            _ => None,
        })
        .collect();
    let judge = |kind: &Kind, found: &Value, pods: &[Value]| {
        if *kind == kinds::PVC {
            claim_status(found, pods)
        } else {
            workload_status(found, pods)
        }
    };
    poll_ready(
        cluster,
        Poll {
            namespace: &plan.namespace,
            pod_selector: &live::app_pods_selector(Some(&plan.release)),
            deadline: Instant::now() + timeout,
            timeout,
            first_pause: Duration::from_millis(200),
            component: None,
        },
        pending,
        &judge,
        sink,
    )
    .await
}

/// How [`poll_ready`] polls.
pub struct Poll<'a> {
    /// The namespace the pods are listed in.
    pub namespace: &'a str,
    /// The pods that explain a workload's state (`""`: every pod of the namespace).
    pub pod_selector: &'a str,
    /// When to give up.
    pub deadline: Instant,
    /// The timeout the deadline came from, for the message.
    pub timeout: Duration,
    /// How long to wait before the second look (the pauses grow from there).
    pub first_pause: Duration,
    /// The workspace component the objects belong to, for messages.
    pub component: Option<&'a str>,
}

/// Polls each object (and the namespace's pods, which explain why one is not ready)
/// until `judge` finds every one ready, one failed, or the deadline passes.
/// Polling, not a watch: it needs only GET/LIST rights and works through any proxy.
pub async fn poll_ready(
    cluster: &Cluster,
    poll: Poll<'_>,
    pending: Vec<(Kind, ObjectRef)>,
    judge: &dyn Fn(&Kind, &Value, &[Value]) -> Status,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let mut pending: Vec<(Kind, ObjectRef, Option<String>)> =
        pending.into_iter().map(|(k, o)| (k, o, None)).collect();
    let mut pause = poll.first_pause;
    while !pending.is_empty() {
        // Pods only explain why a workload is not ready; a user who may not list them
        // still gets the workload's own state.
        let pods: Vec<Value> = match live::api(cluster, Some(poll.namespace), &kinds::POD)
            .list(&ListParams::default().labels(poll.pod_selector))
            .await
        {
            Ok(list) => list
                .items
                .iter()
                .map(|p| live::to_value(&kinds::POD, p))
                .collect::<Result<_>>()?,
            Err(kube::Error::Api(s)) if s.code == 403 => Vec::new(),
            Err(e) => {
                return Err(KubeError::from_kube(
                    e,
                    &cluster.url,
                    "list",
                    format!("pods in {}", poll.namespace),
                ));
            }
        };
        let mut still = Vec::new();
        for (kind, object, last) in pending {
            let found = live::api(cluster, object.namespace(), &kind)
                .get(&object.name)
                .await
                .map_err(|e| KubeError::from_kube(e, &cluster.url, "get", object.to_string()))?;
            let found = live::to_value(&kind, &found)?;
            match judge(&kind, &found, &pods) {
                Status::Ready => sink.emit(Event::Ready { object }),
                Status::Failed(reason) => {
                    sink.emit(Event::Failed {
                        object: object.clone(),
                        reason: reason.clone(),
                    });
                    return Err(KubeError::WorkloadFailed {
                        object: match poll.component {
                            Some(c) => format!("{object} ({c})"),
                            None => object.to_string(),
                        },
                        reason,
                        workspace: poll.component.map(|_| poll.namespace.to_string()),
                    });
                }
                Status::InProgress(reason) => {
                    if last.as_deref() != Some(reason.as_str()) {
                        sink.emit(Event::Waiting {
                            object: object.clone(),
                            reason: reason.clone(),
                        });
                    }
                    still.push((kind, object, Some(reason)));
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if Instant::now() >= poll.deadline {
            let (_, object, last) = &pending[0];
            return Err(KubeError::WaitTimeout {
                object: match poll.component {
                    Some(c) => format!("{object} (component {c})"),
                    None => object.to_string(),
                },
                timeout: poll.timeout,
                last: last.clone().unwrap_or_default(),
                workspace: poll.component.map(|_| poll.namespace.to_string()),
            });
        }
        tokio::time::sleep(pause.min(poll.deadline.saturating_duration_since(Instant::now())))
            .await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
    Ok(())
}
