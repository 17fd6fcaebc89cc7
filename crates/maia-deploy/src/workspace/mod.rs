//! A whole workspace on a cluster: the plan (maia's own objects through the engine, the
//! third-party charts through helm, KubeFlow through kubectl), its execution component
//! by component with waits in dependency order, status, list and delete.
//!
//! The plan is data built from the rendered bundle and facts read once; `execute` runs
//! it and does not re-derive it.

use std::time::Duration;

use maia_render::Object;
use maia_render::workspace::{Bundle, Component, HelmRelease, Kustomization};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::error::{DeployError, Result};
use crate::tools::{Helm, Kubectl, values_differ};
use maia_kube::apply::{ApplyOptions, Run};
use maia_kube::cluster::Cluster;
use maia_kube::event::{Event, EventSink};
use maia_kube::kinds::{self, Kind, KindTable};
use maia_kube::live;
use maia_kube::plan::{ObjectRef, Phase, Plan, PlanOptions, Scope, Step, gather, plan_from};
use maia_kube::readiness::{self, Status};

mod claims;
pub mod deploy;
pub mod envfile;
pub mod facts;
pub mod folder;
pub mod manage;
pub(crate) mod ownership;
pub mod preflight;
mod recover;

pub use facts::STATE_NAMESPACE;

use crate::lease::HeldLease;

/// The segment of the SSH Services, applied right after the namespace.
pub(crate) const SSH_SEGMENT: &str = "ssh";

/// The inventory ConfigMap of a workspace, in its namespace.
pub(crate) use maia_kube::ownership::WORKSPACE_INVENTORY as INVENTORY;
/// Where KubeFlow Pipelines runs; every group shares it.
pub(crate) const KUBEFLOW_NAMESPACE: &str = "kubeflow";

/// What a workspace owns: everything `part-of` it that maia manages in its namespace
/// (the app-rendered MySQL and MLflow objects included), plus its Namespace.
pub(crate) fn scope(namespace: &str, kinds: KindTable) -> Scope {
    Scope {
        namespace: namespace.into(),
        release: namespace.into(),
        inventory: INVENTORY.into(),
        labels: [
            (
                maia_render::labels::MANAGED_BY.to_string(),
                maia_render::labels::MANAGER.to_string(),
            ),
            (
                maia_render::labels::PART_OF.to_string(),
                maia_render::labels::WORKSPACE.to_string(),
            ),
        ]
        .into(),
        kinds,
    }
}

/// The external programs a deploy runs; `None` when that step is skipped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Programs {
    pub(crate) helm: Option<Helm>,
    pub(crate) kubectl: Option<Kubectl>,
}

/// What happens to one helm release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum HelmChange {
    /// Not installed yet: `helm upgrade --install` installs it.
    Install,
    /// Its chart version or values differ (the keys whose values differ; never values).
    Upgrade {
        /// The chart version deployed now.
        from_version: String,
        /// The dotted paths of the values that differ (`(chart)` first when the chart
        /// itself differs).
        keys: Vec<String>,
    },
    /// A release in a failed or pending state is upgraded again to repair it.
    Repair {
        /// The state helm reports, e.g. `failed` or `pending-upgrade`.
        status: String,
    },
    /// Deployed with this chart version and these values: helm is not run.
    Unchanged,
    /// `--skip-helm`: the admin runs it.
    Skipped,
}

/// One helm release of a workspace plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HelmStep {
    /// The release's name.
    pub release: String,
    /// The namespace it is installed into.
    pub namespace: String,
    /// `REPOSITORY/CHART`.
    pub chart: String,
    /// The chart version maia pins.
    pub version: String,
    /// What happens to it.
    pub change: HelmChange,
    /// The release as rendered; its values may hold secrets, so it is never printed.
    #[serde(skip)]
    pub(crate) rendered: HelmRelease,
}

/// What happens to KubeFlow Pipelines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum KubeflowChange {
    /// Not running at this version: its kustomizations are applied.
    Install {
        /// The pinned version (the kustomization URLs' `?ref=`).
        version: String,
    },
    /// This version already runs in the shared `kubeflow` namespace.
    Installed {
        /// The pinned version.
        version: String,
    },
    /// `--skip-kubeflow`: the admin applies it.
    Skipped,
}

/// One component's share of the plan, in apply order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// The component, as the bundle names it (`ssh` for the SSH Services).
    pub component: String,
    /// Its share of the object plan's phases.
    #[serde(skip)]
    pub(crate) phases: Vec<Phase>,
    /// Its helm releases, in install order.
    pub helm: Vec<HelmStep>,
    /// What happens to KubeFlow Pipelines, for the component that brings it.
    pub kubeflow: Option<KubeflowChange>,
    #[serde(skip)]
    pub(crate) kustomizations: Vec<Kustomization>,
}

/// What a workspace deploy would do: maia's own objects, then per component the
/// helm releases and KubeFlow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkspacePlan {
    /// The group's ID.
    pub group_id: String,
    /// maia's own objects, planned as one scope.
    pub objects: Plan,
    /// The components in apply order.
    pub segments: Vec<Segment>,
    /// What rolls its pods because a Secret they read changes.
    pub rollouts: Vec<Rollout>,
}

/// A workload whose pods roll because a Secret they read changes (their template
/// carries a digest of it: see `maia_render::workspace::rollout`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollout {
    /// What rolls: `deployment/mysql-db-v1`, or `helm release oauth2-proxy (proxy pods)`.
    pub workload: String,
    /// The changed Secrets it reads (`secret/NAME`).
    pub secrets: Vec<String>,
}

/// The workloads of `bundle` reading a Secret the object plan changes (not creates:
/// new Secrets start new pods anyway).
fn rollouts(bundle: &Bundle, objects: &Plan) -> Vec<Rollout> {
    use maia_render::workspace::rollout::secrets_read;
    let changed: std::collections::BTreeSet<&str> = objects
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Apply { object, change, .. }
                if object.kind == "Secret" && !change.fields().is_empty() =>
            {
                Some(object.name.as_str())
            }
            _ => None,
        })
        .collect();
    if changed.is_empty() {
        return Vec::new();
    }
    let of = |read: Vec<String>| -> Vec<String> {
        read.into_iter()
            .filter(|s| changed.contains(s.as_str()))
            .map(|s| format!("secret/{s}"))
            .collect()
    };
    let mut out = Vec::new();
    for object in bundle.objects() {
        if let Object::Deployment(d) = object
            && let Some(pod) = d.spec.as_ref().and_then(|s| s.template.spec.as_ref())
        {
            let secrets = of(secrets_read(pod).into_iter().collect());
            if !secrets.is_empty() {
                out.push(Rollout {
                    workload: format!("deployment/{}", object.name()),
                    secrets,
                });
            }
        }
    }
    for release in bundle.components.iter().flat_map(|c| &c.helm) {
        for readers in &release.footprint.secret_readers {
            let secrets = of(readers.secrets.clone());
            if !secrets.is_empty() {
                out.push(Rollout {
                    workload: format!("helm release {} ({} pods)", release.release, readers.pods),
                    secrets,
                });
            }
        }
    }
    out
}

impl WorkspacePlan {
    /// True when running the plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.objects.has_changes()
            || self.segments.iter().any(|s| {
                s.helm
                    .iter()
                    .any(|h| !matches!(h.change, HelmChange::Unchanged | HelmChange::Skipped))
                    || matches!(s.kubeflow, Some(KubeflowChange::Install { .. }))
            })
    }
}

/// Settings of a workspace deploy.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub(crate) force_conflicts: bool,
    /// The Namespace exists but maia did not create it: it is taken over as the
    /// workspace's (`--adopt-namespace`, which preflight asks for).
    pub(crate) adopt_namespace: bool,
    /// Wait for each component before the next, this long in all.
    pub(crate) wait: Option<Duration>,
    /// Whether the namespace exists, when this run has read it already (preflight
    /// does): the plan does not ask again.
    pub(crate) namespace_exists: Option<bool>,
    /// The namespace as this run read it already (preflight), before any write of a
    /// Namespace: the plan filters it by its labels instead of listing Namespaces.
    pub(crate) namespace: Option<serde_json::Value>,
    /// Kinds this run listed whole already (every claim of the namespace, for the
    /// quota; every Ingress, for the hosts check), with nothing of that kind written
    /// since: the plan filters them by namespace and labels instead of a LIST.
    pub(crate) listed: Vec<(Kind, Vec<Value>)>,
    /// Send every write with `dryRun=All` and run neither helm nor kubectl.
    pub(crate) dry_run: bool,
}

/// The rendered objects as the cluster serves them: a Traefik Middleware takes the API
/// group the cluster has (`traefik.io`, or the older `traefik.containo.us`).
pub(crate) fn objects_for(bundle: &Bundle, kinds: &KindTable) -> Vec<Vec<Object>> {
    let middleware = kinds.by_name("Middleware").map(Kind::api_version);
    bundle
        .components
        .iter()
        .map(|c| {
            c.objects
                .iter()
                .cloned()
                .map(|mut o| {
                    if let (Object::Custom(custom), Some(served)) = (&mut o, &middleware)
                        && custom.kind == "Middleware"
                    {
                        custom.api_version = served.clone();
                    }
                    o
                })
                .collect()
        })
        .collect()
}

/// Plans a workspace: one LIST per kind for the objects, `helm list`/`get values` per
/// release, one GET for KubeFlow. Changes nothing.
pub(crate) async fn plan(
    cluster: &Cluster,
    group_id: &str,
    bundle: &Bundle,
    kinds: &KindTable,
    programs: &Programs,
    settings: &Settings,
) -> Result<WorkspacePlan> {
    let namespace = bundle
        .objects()
        .find(|o| o.kind() == "Namespace")
        .map(|o| o.name().to_string())
        .unwrap_or_default();
    let per_component = objects_for(bundle, kinds);
    // Groups in apply order: the namespace's objects, then the SSH Services (right
    // after it, so that ports allocated under the Lease are taken at once), then every
    // other component.
    let is_ssh = |o: &Object| o.kind() == "Service" && o.name().ends_with("-ssh");
    let mut groups: Vec<(String, Vec<Object>, Option<&Component>)> = Vec::new();
    for (n, (component, objs)) in bundle.components.iter().zip(per_component).enumerate() {
        let (ssh, rest): (Vec<Object>, Vec<Object>) = objs.into_iter().partition(is_ssh);
        if !ssh.is_empty() {
            groups.insert(n.min(1), (SSH_SEGMENT.to_string(), ssh, None));
        }
        groups.push((component.name.to_string(), rest, Some(component)));
    }
    let scope = scope(&namespace, kinds.clone());
    let object_groups: Vec<Vec<Object>> = groups.iter().map(|(_, o, _)| o.clone()).collect();
    let all: Vec<Object> = object_groups.iter().flatten().cloned().collect();
    let mut facts = gather(
        cluster,
        &scope,
        &all,
        settings.namespace_exists,
        settings.namespace.as_ref(),
        &settings.listed,
    )
    .await?;
    if settings.adopt_namespace
        && let Some(found) = facts
            .unlabelled
            .remove(&maia_kube::inventory::Inventory::entry(
                "Namespace",
                &namespace,
            ))
    {
        // Adopted: planned as the workspace's own, so it gets the workspace's labels.
        facts.labelled.push((kinds::NAMESPACE, found));
    }
    let objects = plan_from(
        &scope,
        &object_groups,
        &facts,
        PlanOptions {
            create_namespace: true,
            force_conflicts: settings.force_conflicts,
            // A setup Job whose inputs changed runs again: it is made to be re-run.
            replace: true,
        },
    )?;

    let mut segments = Vec::new();
    let mut next = 0;
    for (name, objs, component) in &groups {
        let range = next..next + objs.len();
        next = range.end;
        let phases = objects
            .phases
            .iter()
            .filter(|p| range.contains(&p.steps.start))
            .cloned()
            .collect();
        let mut helm = Vec::new();
        let mut kubeflow = None;
        let mut kustomizations = Vec::new();
        if let Some(component) = component {
            for release in &component.helm {
                helm.push(HelmStep {
                    release: release.release.clone(),
                    namespace: release.namespace.clone(),
                    chart: format!("{}/{}", release.repo_name, release.chart),
                    version: release.version.clone(),
                    change: helm_change(programs.helm.as_ref(), release).await?,
                    rendered: release.clone(),
                });
            }
            if !component.kustomizations.is_empty() {
                kubeflow = Some(if programs.kubectl.is_none() {
                    KubeflowChange::Skipped
                } else {
                    kubeflow_change(cluster, &component.kustomizations).await?
                });
                kustomizations = component.kustomizations.clone();
            }
        }
        segments.push(Segment {
            component: name.clone(),
            phases,
            helm,
            kubeflow,
            kustomizations,
        });
    }
    Ok(WorkspacePlan {
        group_id: group_id.into(),
        rollouts: rollouts(bundle, &objects),
        objects,
        segments,
    })
}

async fn helm_change(helm: Option<&Helm>, release: &HelmRelease) -> Result<HelmChange> {
    let Some(helm) = helm else {
        return Ok(HelmChange::Skipped);
    };
    let Some(deployed) = helm.deployed(&release.release, &release.namespace).await? else {
        return Ok(HelmChange::Install);
    };
    if deployed.status != "deployed" {
        return Ok(HelmChange::Repair {
            status: deployed.status,
        });
    }
    let mut keys = values_differ(&deployed.values, &release.values);
    if deployed.chart != release.chart {
        keys.insert(0, "(chart)".into());
    }
    if keys.is_empty() && deployed.version == release.version {
        Ok(HelmChange::Unchanged)
    } else {
        Ok(HelmChange::Upgrade {
            from_version: deployed.version,
            keys,
        })
    }
}

/// The release a kustomization URL pins (`…?ref=2.2.0`).
fn pinned_ref(url: &str) -> Option<&str> {
    url.split_once("?ref=").map(|(_, r)| r)
}

/// KubeFlow Pipelines counts as installed when its API server Deployment runs the pinned
/// version's image.
async fn kubeflow_change(
    cluster: &Cluster,
    kustomizations: &[Kustomization],
) -> Result<KubeflowChange> {
    let version = kustomizations
        .iter()
        .find_map(|k| pinned_ref(&k.url))
        .unwrap_or_default()
        .to_string();
    let found = live::api(cluster, Some(KUBEFLOW_NAMESPACE), &kinds::DEPLOYMENT)
        .get_opt("ml-pipeline")
        .await;
    let found = match found {
        Ok(f) => f,
        // Not allowed to look: plan the install, which is idempotent.
        Err(kube::Error::Api(s)) if s.code == 403 => None,
        Err(e) => {
            return Err(DeployError::from_kube(
                e,
                &cluster.url,
                "get",
                "deployment/ml-pipeline in kubeflow",
            ));
        }
    };
    let running = found
        .map(|d| live::to_value(&kinds::DEPLOYMENT, &d))
        .transpose()?
        .and_then(|d| {
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .and_then(|cs| cs.first())
                .and_then(|c| c["image"].as_str())
                .and_then(|i| i.rsplit_once(':'))
                .map(|(_, tag)| tag.to_string())
        });
    Ok(match running {
        Some(tag) if tag == version => KubeflowChange::Installed { version },
        _ => KubeflowChange::Install { version },
    })
}

/// Runs a workspace plan, component by component. With a Lease (a port had to be
/// allocated), the SSH Services go first, right after the namespace, and the Lease is
/// given back as soon as they exist; on any failure it is given back too. With the
/// group's Lease, each component starts only while it is still ours.
pub(crate) async fn execute(
    cluster: &Cluster,
    plan: &WorkspacePlan,
    programs: &Programs,
    settings: &Settings,
    mut lease: Option<HeldLease>,
    group_lease: Option<&HeldLease>,
    sink: &mut dyn EventSink,
) -> Result<()> {
    if let Some(blocker) = plan.objects.blocker() {
        if let Some(l) = lease {
            l.release().await?;
        }
        return Err(blocker.into());
    }
    let options = ApplyOptions {
        dry_run: settings.dry_run,
        wait: None,
    };
    // A dry run leaves nothing to wait for.
    let deadline = settings
        .wait
        .filter(|_| !settings.dry_run)
        .map(|d| Instant::now() + d);
    let mut run = Run::new(cluster, &plan.objects, options);
    for segment in &plan.segments {
        let result = async {
            if crate::tools::stopping() || sink.cancelled() {
                return Err(DeployError::Interrupted {
                    step: format!("component {}", segment.component),
                });
            }
            if let Some(g) = group_lease {
                g.check()?;
            }
            if segment.component == SSH_SEGMENT
                && let Some(l) = &lease
            {
                // The ports were allocated under the Lease: hand them out only while
                // it is still ours (renewed just now), or another run may have them.
                l.confirm().await?;
            }
            run.phases(&segment.phases, sink).await?;
            if segment.component == SSH_SEGMENT
                && let Some(l) = lease.take()
            {
                // The new ports are Services now: the Lease goes back.
                l.release().await?;
            }
            for step in &segment.helm {
                if sink.cancelled() {
                    return Err(DeployError::Interrupted {
                        step: format!("helm release {}", step.release),
                    });
                }
                if settings.dry_run {
                    dry_helm_step(step, sink);
                } else {
                    helm_step(programs, step, deadline, sink).await?;
                }
            }
            if let Some(KubeflowChange::Install { .. }) = &segment.kubeflow
                && let Some(kubectl) = &programs.kubectl
            {
                for k in segment.kustomizations.iter().filter(|_| settings.dry_run) {
                    sink.emit(Event::Kustomization {
                        url: k.url.clone(),
                        outcome: DRY_RUN_OUTCOME.into(),
                    });
                }
                for k in segment.kustomizations.iter().filter(|_| !settings.dry_run) {
                    sink.emit(Event::Running {
                        step: format!("kubectl apply -k {}", k.url),
                    });
                    kubectl.apply_kustomization(&k.url).await?;
                    if let Some(wait) = &k.wait {
                        kubectl.wait(wait).await?;
                    }
                    sink.emit(Event::Kustomization {
                        url: k.url.clone(),
                        outcome: "applied".into(),
                    });
                }
            }
            if let Some(deadline) = deadline {
                wait_segment(cluster, plan, segment, deadline, settings.wait, sink).await?;
            }
            Ok::<_, DeployError>(())
        }
        .await;
        if let Err(e) = result {
            if let Some(l) = lease.take() {
                let _ = l.release().await;
            }
            sink.emit(Event::ComponentFailed {
                component: segment.component.clone(),
                reason: e.to_string(),
            });
            return Err(e);
        }
        if settings.wait.is_some() {
            sink.emit(Event::ComponentReady {
                component: segment.component.clone(),
            });
        }
    }
    if let Some(l) = lease.take() {
        l.release().await?;
    }
    Ok(run.finish(sink).await?)
}

/// What a dry run says of a chart or a kustomization it would install or upgrade:
/// helm and kubectl have no dry run that checks what the API server would admit, so
/// they are not run at all.
const DRY_RUN_OUTCOME: &str = "not run (dry run)";

/// A chart in a dry run: what would be done, nothing run.
fn dry_helm_step(step: &HelmStep, sink: &mut dyn EventSink) {
    let outcome = match &step.change {
        HelmChange::Unchanged => "unchanged",
        HelmChange::Skipped => "skipped",
        _ => DRY_RUN_OUTCOME,
    };
    sink.emit(Event::Helm {
        release: step.release.clone(),
        namespace: step.namespace.clone(),
        outcome: outcome.into(),
    });
}

async fn helm_step(
    programs: &Programs,
    step: &HelmStep,
    deadline: Option<Instant>,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let outcome = match (&step.change, &programs.helm) {
        (HelmChange::Unchanged, _) => "unchanged",
        (HelmChange::Skipped, _) | (_, None) => "skipped",
        (change, Some(helm)) => {
            let wait = deadline.map(|d| {
                d.saturating_duration_since(Instant::now())
                    .max(Duration::from_secs(1))
            });
            sink.emit(Event::Running {
                step: format!(
                    "helm upgrade --install {} {} --version {} -n {}",
                    step.release, step.chart, step.version, step.namespace
                ),
            });
            helm.upgrade(&step.rendered, wait).await?;
            match change {
                HelmChange::Install => "installed",
                _ => "upgraded",
            }
        }
    };
    sink.emit(Event::Helm {
        release: step.release.clone(),
        namespace: step.namespace.clone(),
        outcome: outcome.into(),
    });
    Ok(())
}

/// Waits until every workload, claim, Tenant and setup Job of one component is ready.
async fn wait_segment(
    cluster: &Cluster,
    plan: &WorkspacePlan,
    segment: &Segment,
    deadline: Instant,
    timeout: Option<Duration>,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let pending: Vec<(Kind, ObjectRef)> = segment
        .phases
        .iter()
        .flat_map(|p| p.steps.clone())
        .filter_map(|i| match &plan.objects.steps[i] {
            Step::Apply { object, kind, .. }
                if *kind == kinds::PVC
                    || *kind == kinds::DEPLOYMENT
                    || *kind == kinds::JOB
                    || kind.kind == "Tenant" =>
            {
                Some((kind.clone(), object.clone()))
            }
            _ => None,
        })
        .collect();
    // Every pod of the namespace is listed; a workload is explained by its own pods.
    let judge = |kind: &Kind, found: &Value, pods: &[Value]| {
        let own_pods: Vec<Value> = pods.iter().filter(|p| selects(found, p)).cloned().collect();
        if *kind == kinds::PVC {
            readiness::claim_status(found, pods)
        } else if *kind == kinds::JOB {
            match readiness::completion(found) {
                Status::InProgress(_) => readiness::workload_status(found, &own_pods),
                done => done,
            }
        } else {
            readiness::workload_status(found, &own_pods)
        }
    };
    maia_kube::apply::poll_ready(
        cluster,
        maia_kube::apply::Poll {
            namespace: &plan.objects.namespace,
            pod_selector: "",
            deadline,
            timeout: timeout.unwrap_or_default(),
            first_pause: Duration::from_millis(100),
            component: Some(&segment.component),
        },
        pending,
        &judge,
        sink,
    )
    .await?;
    Ok(())
}

/// Whether a workload's pod template labels are all on the pod.
fn selects(workload: &Value, pod: &Value) -> bool {
    let Some(wanted) = workload["spec"]["template"]["metadata"]["labels"].as_object() else {
        return false;
    };
    let have = &pod["metadata"]["labels"];
    !wanted.is_empty() && wanted.iter().all(|(k, v)| have[k] == *v)
}
