//! `maia namespace status | list | delete`: a deployed workspace seen from the cluster
//! alone (no config files needed), and its removal.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use serde::Serialize;
use serde_json::Value;

use crate::error::{DeployError, KubeError, Result};
use crate::lease::{Busy, HeldLease, Holder, Want, group_lease};
use crate::tools::Helm;
use maia_kube::apply::{ApplyOptions, delete_one, write_inventory};
use maia_kube::cluster::Cluster;
use maia_kube::delete::delete_owned;
use maia_kube::event::{Event, EventSink};
use maia_kube::inventory::Inventory;
use maia_kube::kinds::{self, Kind, KindTable};
use maia_kube::live;
use maia_kube::plan::ObjectRef;
use maia_kube::plan::Scope;
use maia_kube::readiness::{self, Status};

use super::facts::ClusterCredentials;
use super::preflight::wanted_kinds;
use super::{INVENTORY, scope};

/// A workspace maia deployed, as `maia namespace list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspaceEntry {
    /// The group's ID (from the Namespace's annotation; empty when it has none).
    pub group_id: String,
    /// The workspace's namespace.
    pub namespace: String,
    /// When the namespace was created (RFC 3339).
    pub created: Option<String>,
}

/// The namespaces maia deployed workspaces into (labelled `part-of: maia-workspace`).
pub async fn list(cluster: &Cluster) -> Result<Vec<WorkspaceEntry>> {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    let selector = format!(
        "{}={},{}={}",
        maia_render::labels::MANAGED_BY,
        maia_render::labels::MANAGER,
        maia_render::labels::PART_OF,
        maia_render::labels::WORKSPACE
    );
    let found = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| DeployError::from_kube(e, &cluster.url, "list", "namespaces"))?;
    let mut out: Vec<WorkspaceEntry> = found
        .items
        .into_iter()
        .map(|n| WorkspaceEntry {
            group_id: n
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(maia_render::labels::GROUP_ID_ANNOTATION))
                .cloned()
                .unwrap_or_default(),
            namespace: n.metadata.name.unwrap_or_default(),
            created: n.metadata.creation_timestamp.map(|t| t.0.to_string()),
        })
        .collect();
    out.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    Ok(out)
}

/// Finds a workspace by group_ID or namespace.
pub async fn find(cluster: &Cluster, group: &str) -> Result<WorkspaceEntry> {
    list(cluster)
        .await?
        .into_iter()
        .find(|w| w.group_id == group || w.namespace == group)
        .ok_or_else(|| DeployError::WorkspaceNotFound(group.into()))
}

/// One component's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentStatus {
    /// The component, as the bundle names it (`jupyterhub`, `minio`, …); `workspace`
    /// for what concerns the whole (no record of it: deleted or never deployed).
    pub component: String,
    /// Its state: the first failure among its objects and releases, else the first
    /// that is not ready yet, else ready.
    pub status: Status,
    /// Every URL it publishes.
    pub urls: Vec<String>,
}

/// One member's workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserStatus {
    /// The e-mail they log in with (their name, for a workspace deployed before maia
    /// kept a record, when that name is no escaped e-mail).
    pub email: String,
    /// Their name on the cluster: `<name>-ssh`, their pod's `hub.jupyter.org/username`.
    pub name: String,
    /// The port of their SSH Service (its node port, when it has one).
    pub ssh_port: Option<u16>,
    /// How they connect, as the workspace's summary prints it.
    pub ssh_command: Option<String>,
    /// Their JupyterHub server pod runs.
    pub server_running: bool,
}

/// A deployed workspace as `maia namespace status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkspaceStatus {
    /// The group's ID.
    pub group_id: String,
    /// The workspace's namespace.
    pub namespace: String,
    /// True when every object the workspace's record and inventory list exists and
    /// is ready, and every helm release it has is deployed.
    pub ready: bool,
    /// Each component's state, in apply order.
    pub components: Vec<ComponentStatus>,
    /// Each member's SSH port and server.
    pub users: Vec<UserStatus>,
    /// What the namespace uses of its quotas, resource by resource.
    pub quota: Vec<maia_kube::quota::QuotaUse>,
}

/// The kinds a workspace may own, as the cluster serves them.
pub(crate) async fn kinds(cluster: &Cluster) -> Result<KindTable> {
    let (table, _) = KindTable::discover(cluster, &wanted_kinds()).await?;
    Ok(table)
}

/// The workspace's scope and its objects (one LIST per kind): those in the namespace,
/// and its cluster-scoped ones (the admission guard) but the Namespace itself.
async fn owned_objects(cluster: &Cluster, ns: &str) -> Result<(Scope, Vec<(Kind, Value)>)> {
    let scope = scope(ns, kinds(cluster).await?);
    let listed: Vec<Kind> = scope
        .kinds
        .kinds()
        .iter()
        .filter(|k| **k != kinds::NAMESPACE)
        .cloned()
        .collect();
    let found = live::list_kinds(cluster, Some(ns), &listed, &scope.selector())
        .await?
        .into_iter()
        .filter(|(k, v)| k.namespaced || maia_kube::plan::owned_cluster_object(v, ns))
        .collect();
    Ok((scope, found))
}

/// Reads a workspace's objects and judges each component; helm releases are asked of
/// `helm` when given (without it they cannot be judged, so the workspace is not
/// called ready).
pub async fn status(
    cluster: &Cluster,
    entry: &WorkspaceEntry,
    helm: Option<&Helm>,
) -> Result<WorkspaceStatus> {
    let ns = entry.namespace.as_str();
    let (owned, pods) = futures::future::join(
        owned_objects(cluster, ns),
        live::list_kinds(cluster, Some(ns), &[kinds::POD], ""),
    )
    .await;
    let (_, objects) = owned?;
    let pods: Vec<Value> = match pods {
        Ok(p) => p.into_iter().map(|(_, v)| v).collect(),
        Err(KubeError::Forbidden { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    // A workspace Argo CD applies (its record names the Application): its charts are
    // Argo CD's, not helm releases, and are judged by the Application.
    let argocd = objects
        .iter()
        .find(|(k, v)| {
            *k == kinds::CONFIG_MAP
                && v["metadata"]["name"] == maia_render::workspace::record::RECORD
        })
        .and_then(|(_, v)| maia_render::workspace::record::read_record(v))
        .and_then(|r| r.argocd_application);
    let charts = match &argocd {
        Some(app) => Charts::ArgoCd(argocd_status(cluster, app).await?),
        None => Charts::Helm(match helm {
            Some(h) => Some(h.list(ns).await?),
            None => None,
        }),
    };
    let quota = match maia_kube::quota::usage(cluster, ns).await {
        Ok(q) => q,
        Err(KubeError::Forbidden { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(WorkspaceStatus {
        quota,
        ..summarise(entry, &objects, &pods, &charts)
    })
}

/// How a workspace's charts are judged.
pub(crate) enum Charts {
    /// Installed by helm: its releases (`None` when helm could not be asked).
    Helm(Option<Vec<crate::tools::DeployedRelease>>),
    /// Rendered and applied by Argo CD: the state of its Application.
    ArgoCd(Status),
}

impl Charts {
    /// The state of one chart's release.
    fn judge(&self, release: &str) -> Status {
        match self {
            Charts::Helm(releases) => judge_release(release, releases.as_deref()),
            Charts::ArgoCd(state) => match state {
                Status::Ready => Status::Ready,
                Status::InProgress(r) => Status::InProgress(format!("chart {release}: {r}")),
                Status::Failed(r) => Status::Failed(format!("chart {release}: {r}")),
            },
        }
    }
}

/// The kind of Argo CD's Applications.
fn application_kind() -> Kind {
    Kind {
        kind: "Application".into(),
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        plural: "applications".into(),
        namespaced: true,
    }
}

/// The state of the Argo CD Application that applies a workspace: ready when synced
/// and healthy; otherwise why, with the first resource that is not healthy. An
/// Application (or Argo CD) that is not there fails; one maia may not read is not
/// checked, so the workspace is not called ready.
async fn argocd_status(
    cluster: &Cluster,
    app: &maia_render::workspace::record::ArgoCdApplication,
) -> Result<Status> {
    let what = format!("Argo CD Application {}/{}", app.namespace, app.name);
    let found = live::api(cluster, Some(&app.namespace), &application_kind())
        .get_opt(&app.name)
        .await
        .map_err(|e| KubeError::from_kube(e, &cluster.url, "get", what.clone()));
    let object = match found {
        Ok(Some(o)) => o,
        Ok(None) => {
            return Ok(Status::Failed(format!(
                "{what} not found (Argo CD applies the workspace: apply its application.yaml or the ApplicationSet)"
            )));
        }
        Err(KubeError::Forbidden { .. }) => {
            return Ok(Status::InProgress(format!(
                "{what} not checked: you may not read it"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let value = live::to_value(&application_kind(), &object)?;
    let status = &value["status"];
    let sync = status["sync"]["status"].as_str().unwrap_or("Unknown");
    let health = status["health"]["status"].as_str().unwrap_or("Unknown");
    if sync == "Synced" && health == "Healthy" {
        return Ok(Status::Ready);
    }
    let detail = status["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            r["health"]["status"]
                .as_str()
                .is_some_and(|h| h != "Healthy")
        })
        .map(|r| {
            format!(
                " ({}/{}: {}: {})",
                r["kind"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap_or_default(),
                r["health"]["status"].as_str().unwrap_or_default(),
                r["health"]["message"].as_str().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let reason = format!("{what} is {sync} and {health}{detail}");
    Ok(match health {
        "Degraded" | "Missing" => Status::Failed(reason),
        _ => Status::InProgress(reason),
    })
}

/// A component's problems and URLs while status is worked out.
#[derive(Default)]
struct Slot {
    problems: Vec<Status>,
    urls: Vec<String>,
}

/// Components in the order they are first named.
#[derive(Default)]
struct Slots(Vec<(String, Slot)>);

impl Slots {
    fn get(&mut self, component: &str) -> &mut Slot {
        let at = match self.0.iter().position(|(c, _)| c == component) {
            Some(i) => i,
            None => {
                self.0.push((component.to_string(), Slot::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }
}

/// An object's state, given the namespace's pods.
fn judge(kind: &Kind, value: &Value, pods: &[Value]) -> Status {
    let own_pods: Vec<Value> = pods
        .iter()
        .filter(|p| super::selects(value, p))
        .cloned()
        .collect();
    match kind.kind.as_ref() {
        "Job" => match readiness::completion(value) {
            Status::InProgress(_) => readiness::workload_status(value, &own_pods),
            done => done,
        },
        "PersistentVolumeClaim" => readiness::claim_status(value, pods),
        "Deployment" | "Tenant" => readiness::workload_status(value, &own_pods),
        _ => Status::Ready,
    }
}

/// A helm release's state; `None` for `releases` when helm could not be asked.
fn judge_release(name: &str, releases: Option<&[crate::tools::DeployedRelease]>) -> Status {
    let Some(releases) = releases else {
        return Status::InProgress(format!(
            "helm release {name} not checked: helm is not on PATH"
        ));
    };
    match releases.iter().find(|r| r.name == name) {
        None => Status::Failed(format!("helm release {name} is not installed")),
        Some(r) => match r.status.as_str() {
            "deployed" => Status::Ready,
            "failed" => Status::Failed(format!("helm release {name} failed")),
            other => Status::InProgress(format!("helm release {name} is {other}")),
        },
    }
}

/// `Kind/name` of a live object.
fn entry_of(kind: &Kind, value: &Value) -> String {
    Inventory::entry(
        &kind.kind,
        value["metadata"]["name"].as_str().unwrap_or_default(),
    )
}

/// The component label of a live object, as the bundle names components.
fn label_component(value: &Value) -> String {
    value["metadata"]["labels"][maia_render::labels::COMPONENT]
        .as_str()
        .unwrap_or("other")
        .replace('-', "_")
}

/// A member's SSH port: their Service's node port, else its port.
fn ssh_port(service: &Value) -> Option<u16> {
    let port = &service["spec"]["ports"][0];
    port["nodePort"]
        .as_u64()
        .or_else(|| port["port"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
}

/// Judges a workspace from its live objects, its record and inventory, and its helm
/// releases; pure. What the record and the inventory list must exist and be ready;
/// without a record (deleted, or deployed by a maia before records) it is not ready.
pub(crate) fn summarise(
    entry: &WorkspaceEntry,
    objects: &[(Kind, Value)],
    pods: &[Value],
    charts: &Charts,
) -> WorkspaceStatus {
    use maia_render::workspace::record::{RECORD, read_record};
    let named = |name: &str| {
        objects
            .iter()
            .find(|(k, v)| *k == kinds::CONFIG_MAP && v["metadata"]["name"] == name)
            .map(|(_, v)| v)
    };
    let inventory = named(INVENTORY).map(Inventory::from_config_map);
    let record = named(RECORD).and_then(read_record);
    let live: BTreeMap<String, (&Kind, &Value)> = objects
        .iter()
        .filter(|(k, v)| !(*k == kinds::CONFIG_MAP && v["metadata"]["name"] == INVENTORY))
        .map(|(k, v)| (entry_of(k, v), (k, v)))
        .collect();
    let mut slots = Slots::default();
    let push = |slot: &mut Slot, what: &str, state: Status| {
        slot.problems.push(match state {
            Status::Ready => return,
            Status::InProgress(r) => Status::InProgress(format!("{what}: {r}")),
            Status::Failed(r) => Status::Failed(format!("{what}: {r}")),
        })
    };
    let mut listed: std::collections::BTreeSet<String> = Default::default();
    match &record {
        Some(record) => {
            for c in &record.components {
                let slot = slots.get(&c.component);
                slot.urls = c.urls.clone();
                for object in &c.objects {
                    listed.insert(object.clone());
                    match live.get(object) {
                        Some((kind, value)) => push(slot, object, judge(kind, value, pods)),
                        None => slot
                            .problems
                            .push(Status::Failed(format!("{object} is missing"))),
                    }
                }
                for release in &c.helm_releases {
                    let state = charts.judge(release);
                    if !state.is_ready() {
                        slot.problems.push(state);
                    }
                }
            }
        }
        None => {
            let only_volumes = inventory.as_ref().is_some_and(|i| {
                i.entries()
                    .all(|e| e.starts_with("PersistentVolumeClaim/") || e.starts_with("Namespace/"))
            });
            let why = match &inventory {
                None => "not deployed: maia's inventory of it is missing".to_string(),
                Some(_) if only_volumes => {
                    "deleted: only its volumes are kept; `maia namespace deploy` brings it back"
                        .into()
                }
                Some(_) => format!(
                    "no record of what it should hold ({RECORD} is missing: deployed by an older maia, or partly deleted); run `maia namespace deploy` to record it (for a workspace Argo CD applies: render its GitOps tree again and commit it)"
                ),
            };
            slots.get("workspace").problems.push(Status::Failed(why));
            if inventory.is_none() || only_volumes {
                return WorkspaceStatus {
                    group_id: entry.group_id.clone(),
                    namespace: entry.namespace.clone(),
                    ready: false,
                    components: finish(slots),
                    users: Vec::new(),
                    quota: Vec::new(),
                };
            }
            // What is there, judged as it is, with the releases helm has.
            for (object, (kind, value)) in &live {
                listed.insert(object.clone());
                let slot = slots.get(&label_component(value));
                if kind.kind == "Ingress" {
                    slot.urls.extend(maia_kube::status::urls(value));
                }
                push(slot, object, judge(kind, value, pods));
            }
            let releases = match charts {
                Charts::Helm(releases) => releases.as_deref(),
                Charts::ArgoCd(_) => None,
            };
            for release in releases.unwrap_or_default() {
                let component = match release.name.as_str() {
                    "oauth2-proxy" => "oauth2_proxy",
                    "label-studio" => "label_studio",
                    n if n.starts_with("jupyterhub-") => "jupyterhub",
                    _ => continue,
                };
                let state = judge_release(&release.name, releases);
                if !state.is_ready() {
                    slots.get(component).problems.push(state);
                }
            }
        }
    }
    // The inventory's entries must exist too (a deploy that stopped half-way lists
    // what it was about to apply).
    for object in inventory.iter().flat_map(Inventory::entries) {
        if listed.contains(object) || object.starts_with("Namespace/") {
            continue;
        }
        match live.get(object) {
            Some((kind, value)) => {
                let slot = slots.get(&label_component(value));
                push(slot, object, judge(kind, value, pods));
            }
            None => slots
                .get("workspace")
                .problems
                .push(Status::Failed(format!("{object} is missing"))),
        }
    }
    let users = users(record.as_ref(), &live, pods);
    let components = finish(slots);
    WorkspaceStatus {
        group_id: entry.group_id.clone(),
        namespace: entry.namespace.clone(),
        ready: components.iter().all(|c| c.status.is_ready()),
        components,
        users,
        quota: Vec::new(),
    }
}

/// Each component's state: its first failure, else its first problem, else ready.
fn finish(slots: Slots) -> Vec<ComponentStatus> {
    slots
        .0
        .into_iter()
        .map(|(component, slot)| ComponentStatus {
            component,
            status: slot
                .problems
                .iter()
                .find(|s| matches!(s, Status::Failed(_)))
                .or(slot.problems.first())
                .cloned()
                .unwrap_or(Status::Ready),
            urls: slot.urls,
        })
        .collect()
}

/// The members: from the record (by e-mail, with their SSH command), else from the
/// `<name>-ssh` Services (e-mail read back from the escaped name where it is one).
fn users(
    record: Option<&maia_render::workspace::record::Record>,
    live: &BTreeMap<String, (&Kind, &Value)>,
    pods: &[Value],
) -> Vec<UserStatus> {
    let running = |name: &str| {
        pods.iter().any(|p| {
            p["metadata"]["labels"]["hub.jupyter.org/username"] == name
                && p["status"]["phase"] == "Running"
        })
    };
    match record {
        Some(record) => record
            .members
            .iter()
            .map(|m| {
                let port = live
                    .get(&format!("Service/{}-ssh", m.name))
                    .and_then(|(_, v)| ssh_port(v));
                UserStatus {
                    email: m.email.clone(),
                    name: m.name.clone(),
                    ssh_port: port,
                    ssh_command: port
                        .map(|p| maia_render::workspace::ssh_command_for(&record.ssh_host, p)),
                    server_running: running(&m.name),
                }
            })
            .collect(),
        None => live
            .iter()
            .filter_map(|(object, (_, value))| {
                let name = object.strip_prefix("Service/")?.strip_suffix("-ssh")?;
                Some(UserStatus {
                    email: maia_spec::workspace::member_email(name)
                        .unwrap_or_else(|| name.to_string()),
                    name: name.to_string(),
                    ssh_port: ssh_port(value),
                    ssh_command: None,
                    server_running: running(name),
                })
            })
            .collect(),
    }
}

/// What a namespace holds besides the workspace: what `namespace delete --delete-data`
/// takes with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Contents {
    /// The apps deployed there (`maia app list`), by name.
    pub apps: Vec<String>,
    /// Every volume claim in the namespace, the workspace's and the researchers'.
    pub volumes: Vec<String>,
}

/// Reads what `namespace` holds: its apps and every volume claim.
pub async fn contents(cluster: &Cluster, namespace: &str) -> Result<Contents> {
    let apps = maia_kube::status::apps(cluster, Some(namespace), None).await?;
    let claims = live::list_kinds(cluster, Some(namespace), &[kinds::PVC], "").await?;
    let mut volumes: Vec<String> = claims
        .iter()
        .filter_map(|(_, v)| v["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    volumes.sort();
    Ok(Contents {
        apps: apps.into_iter().map(|a| a.name).collect(),
        volumes,
    })
}

/// The helm releases maia installs into a workspace.
pub fn helm_releases(namespace: &str) -> [String; 3] {
    [
        "oauth2-proxy".into(),
        "label-studio".into(),
        format!("jupyterhub-{namespace}"),
    ]
}

/// Removes a workspace: its helm releases, then maia's objects in reverse apply order.
/// Volume claims, the Namespace and the group's credentials stay unless `delete_data`
/// (which also deletes the namespace, and everything left in it). The shared KubeFlow
/// install is never touched. Runs under the group's Lease, so that it never interleaves
/// with a deploy of the same group (the other run is told who holds it).
pub async fn delete(
    cluster: &Cluster,
    entry: &WorkspaceEntry,
    helm: Option<&Helm>,
    state_namespace: &str,
    delete_data: bool,
    holder: &Holder,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let lease = HeldLease::acquire(
        cluster,
        Want {
            namespace: state_namespace,
            name: group_lease(&entry.namespace),
            holder,
            operation: format!(
                "namespace delete{} of {}",
                if delete_data { " --delete-data" } else { "" },
                entry.group_id
            ),
            busy: Busy::Refuse,
        },
    )
    .await?;
    if let Some(previous) = &lease.took_over {
        sink.emit(Event::Notice {
            message: format!(
                "took over the Lease {} of {previous}, which nobody renewed for its duration (that run is presumably dead)",
                lease.display()
            ),
        });
    }
    let result = remove(
        cluster,
        entry,
        helm,
        state_namespace,
        delete_data,
        Run::Locked(&lease),
        sink,
    )
    .await;
    let name = lease.display();
    if let Err(e) = lease.release().await {
        sink.emit(Event::Notice {
            message: format!(
                "the Lease {name} could not be given back ({e}); it expires {} after this run",
                crate::error::human(holder.duration)
            ),
        });
    }
    result
}

/// What [`delete`] would remove, reported through the same events with `dry_run` set
/// (helm releases as `uninstalled (dry run)`), and nothing removed: every DELETE goes
/// to the API server with `dryRun=All`, so its admission checks run on each object, the
/// credentials Secret and the namespace; helm is only asked which of the workspace's
/// releases are installed (`helm list`); no Lease is taken and the inventory is not
/// rewritten (its apply is sent as a dry run too).
pub async fn delete_dry_run(
    cluster: &Cluster,
    entry: &WorkspaceEntry,
    helm: Option<&Helm>,
    state_namespace: &str,
    delete_data: bool,
    sink: &mut dyn EventSink,
) -> Result<()> {
    remove(
        cluster,
        entry,
        helm,
        state_namespace,
        delete_data,
        Run::DryRun,
        sink,
    )
    .await
}

/// How [`remove`] runs: for real under the group's Lease, or as a dry run.
#[derive(Clone, Copy)]
enum Run<'a> {
    Locked(&'a HeldLease),
    DryRun,
}

async fn remove(
    cluster: &Cluster,
    entry: &WorkspaceEntry,
    helm: Option<&Helm>,
    state_namespace: &str,
    delete_data: bool,
    run: Run<'_>,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let ns = entry.namespace.as_str();
    let dry_run = matches!(run, Run::DryRun);
    let options = ApplyOptions {
        dry_run,
        ..ApplyOptions::default()
    };
    if let Some(helm) = helm {
        // A dry run asks helm only which releases are there: those a delete uninstalls.
        let installed: Vec<String> = if dry_run {
            helm.list(ns).await?.into_iter().map(|r| r.name).collect()
        } else {
            Vec::new()
        };
        for release in helm_releases(ns) {
            let gone = if dry_run {
                installed.contains(&release)
            } else {
                helm.uninstall(&release, ns).await?
            };
            if gone {
                sink.emit(Event::Helm {
                    release,
                    namespace: ns.into(),
                    outcome: if dry_run {
                        "uninstalled (dry run)"
                    } else {
                        "uninstalled"
                    }
                    .into(),
                });
            }
        }
    }
    if let Run::Locked(lease) = run {
        lease.check()?;
    }
    let (scope, found) = owned_objects(cluster, ns).await?;
    let mut kept = delete_owned(cluster, &scope, found, delete_data, options, sink).await?;
    if delete_data {
        let credentials = ClusterCredentials {
            cluster,
            state_namespace: state_namespace.into(),
            namespace: ns.into(),
            group_id: entry.group_id.clone(),
        };
        if credentials.delete(dry_run).await? {
            sink.emit(Event::Pruned {
                object: credentials.object(),
                dry_run,
            });
        }
        let namespace = ObjectRef {
            kind: "Namespace".into(),
            name: ns.into(),
            namespace: String::new(),
        };
        delete_one(cluster, &kinds::NAMESPACE, &namespace, options).await?;
        sink.emit(Event::Pruned {
            object: namespace,
            dry_run,
        });
    } else {
        // What is left stays owned: the next deploy finds it again.
        kept.push(Inventory::entry("Namespace", ns));
        let inventory = Inventory::new(kept.into_iter().collect());
        write_inventory(cluster, &scope, &inventory, options).await?;
    }
    Ok(())
}
