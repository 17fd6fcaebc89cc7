//! `maia namespace status | list | delete`: a deployed workspace seen from the cluster
//! alone (no config files needed), and its removal.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use serde::Serialize;
use serde_json::Value;

use crate::apply::{ApplyOptions, delete_one, write_inventory};
use crate::cluster::Cluster;
use crate::delete::delete_owned;
use crate::error::{DeployError, Result};
use crate::event::{Event, EventSink};
use crate::inventory::Inventory;
use crate::kinds::{self, Kind, KindTable};
use crate::live;
use crate::plan::ObjectRef;
use crate::plan::Scope;
use crate::readiness::{self, Status};
use crate::tools::Helm;

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
    /// The component, as the bundle names it (`jupyterhub`, `minio`, …).
    pub component: String,
    /// Its state: the first failure among its objects and releases, else the first
    /// that is not ready yet, else ready.
    pub status: Status,
    /// The URLs its Ingresses publish.
    pub urls: Vec<String>,
}

/// One member's workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserStatus {
    /// The JupyterHub user name (the e-mail, escaped).
    pub user: String,
    /// The port of their SSH Service (its node port, when it has one).
    pub ssh_port: Option<u16>,
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
    /// Each component's state, by name.
    pub components: Vec<ComponentStatus>,
    /// Each member's SSH port and server, by user name.
    pub users: Vec<UserStatus>,
    /// What the namespace uses of its quotas, resource by resource.
    pub quota: Vec<crate::quota::QuotaUse>,
}

/// The kinds a workspace may own, as the cluster serves them.
pub(crate) async fn kinds(cluster: &Cluster) -> Result<KindTable> {
    let (table, _) = KindTable::discover(cluster, &wanted_kinds()).await?;
    Ok(table)
}

/// The workspace's scope and its objects in the namespace (one LIST per kind).
async fn owned_objects(cluster: &Cluster, ns: &str) -> Result<(Scope, Vec<(Kind, Value)>)> {
    let scope = scope(ns, kinds(cluster).await?);
    let namespaced: Vec<Kind> = scope
        .kinds
        .kinds()
        .iter()
        .filter(|k| k.namespaced)
        .cloned()
        .collect();
    let found = live::list_kinds(cluster, Some(ns), &namespaced, &scope.selector()).await?;
    Ok((scope, found))
}

/// Reads a workspace's objects and judges each component; helm releases are asked of
/// `helm` when given.
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
        Err(DeployError::Forbidden { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let releases = match helm {
        Some(h) => h.list(ns).await?,
        None => Vec::new(),
    };
    let quota = match crate::quota::usage(cluster, ns).await {
        Ok(q) => q,
        Err(DeployError::Forbidden { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(WorkspaceStatus {
        quota,
        ..summarise(entry, &objects, &pods, &releases)
    })
}

/// Judges components from live objects; pure.
pub(crate) fn summarise(
    entry: &WorkspaceEntry,
    objects: &[(Kind, Value)],
    pods: &[Value],
    releases: &[crate::tools::DeployedRelease],
) -> WorkspaceStatus {
    let mut components: BTreeMap<String, (Vec<Status>, Vec<String>)> = BTreeMap::new();
    let mut users: BTreeMap<String, UserStatus> = BTreeMap::new();
    for (kind, value) in objects {
        let meta = &value["metadata"];
        let name = meta["name"].as_str().unwrap_or_default();
        if name == INVENTORY {
            continue;
        }
        // Component names as the bundle has them (`label_studio`), whatever the label.
        let component = meta["labels"][maia_render::labels::COMPONENT]
            .as_str()
            .unwrap_or("other")
            .replace('-', "_");
        let slot = components.entry(component).or_default();
        let own_pods: Vec<Value> = pods
            .iter()
            .filter(|p| super::selects(value, p))
            .cloned()
            .collect();
        let state = match kind.kind.as_ref() {
            "Job" => match readiness::completion(value) {
                Status::InProgress(_) => readiness::workload_status(value, &own_pods),
                done => done,
            },
            "PersistentVolumeClaim" => readiness::claim_status(value, pods),
            "Deployment" | "Tenant" => readiness::workload_status(value, &own_pods),
            _ => Status::Ready,
        };
        if !state.is_ready() {
            slot.0.push(match state {
                Status::InProgress(r) => Status::InProgress(format!("{name}: {r}")),
                Status::Failed(r) => Status::Failed(format!("{name}: {r}")),
                Status::Ready => Status::Ready,
            });
        }
        if kind.kind == "Ingress" {
            slot.1.extend(crate::status::urls(value));
        }
        if kind.kind == "Service"
            && let Some(user) = name.strip_suffix("-ssh")
        {
            let port = value["spec"]["ports"][0]["nodePort"]
                .as_u64()
                .or_else(|| value["spec"]["ports"][0]["port"].as_u64())
                .and_then(|p| u16::try_from(p).ok());
            users.insert(
                user.to_string(),
                UserStatus {
                    user: user.to_string(),
                    ssh_port: port,
                    server_running: pods.iter().any(|p| {
                        p["metadata"]["labels"]["hub.jupyter.org/username"] == user
                            && p["status"]["phase"] == "Running"
                    }),
                },
            );
        }
    }
    for release in releases {
        let component = match release.name.as_str() {
            "oauth2-proxy" => "oauth2_proxy",
            "label-studio" => "label_studio",
            n if n.starts_with("jupyterhub-") => "jupyterhub",
            _ => continue,
        };
        let slot = components.entry(component.to_string()).or_default();
        match release.status.as_str() {
            "deployed" => {}
            "failed" => slot.0.push(Status::Failed(format!(
                "helm release {} failed",
                release.name
            ))),
            other => slot.0.push(Status::InProgress(format!(
                "helm release {} is {other}",
                release.name
            ))),
        }
    }
    WorkspaceStatus {
        group_id: entry.group_id.clone(),
        namespace: entry.namespace.clone(),
        components: components
            .into_iter()
            .map(|(component, (problems, urls))| ComponentStatus {
                component,
                status: problems
                    .iter()
                    .find(|s| matches!(s, Status::Failed(_)))
                    .or(problems.first())
                    .cloned()
                    .unwrap_or(Status::Ready),
                urls,
            })
            .collect(),
        users: users.into_values().collect(),
        quota: Vec::new(),
    }
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
/// install is never touched.
pub async fn delete(
    cluster: &Cluster,
    entry: &WorkspaceEntry,
    helm: Option<&Helm>,
    state_namespace: &str,
    delete_data: bool,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let ns = entry.namespace.as_str();
    if let Some(helm) = helm {
        for release in helm_releases(ns) {
            if helm.uninstall(&release, ns).await? {
                sink.emit(Event::Helm {
                    release,
                    namespace: ns.into(),
                    outcome: "uninstalled".into(),
                });
            }
        }
    }
    let (scope, found) = owned_objects(cluster, ns).await?;
    let mut kept = delete_owned(cluster, &scope, found, delete_data, sink).await?;
    if delete_data {
        ClusterCredentials {
            cluster,
            state_namespace: state_namespace.into(),
            namespace: ns.into(),
            group_id: entry.group_id.clone(),
        }
        .delete()
        .await?;
        let namespace = ObjectRef {
            kind: "Namespace".into(),
            name: ns.into(),
            namespace: String::new(),
        };
        delete_one(
            cluster,
            &kinds::NAMESPACE,
            &namespace,
            ApplyOptions::default(),
        )
        .await?;
        sink.emit(Event::Pruned {
            object: namespace,
            dry_run: false,
        });
    } else {
        // What is left stays owned: the next deploy finds it again.
        kept.push(Inventory::entry("Namespace", ns));
        let inventory = Inventory::new(kept.into_iter().collect());
        write_inventory(cluster, &scope, &inventory, ApplyOptions::default()).await?;
    }
    Ok(())
}
