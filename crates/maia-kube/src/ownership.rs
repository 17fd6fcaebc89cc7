//! Who owns what, beyond one deploy's own scope: the objects of a workspace are never an
//! app's (its MySQL and MLflow are rendered by the app renderer and carry an app's
//! labels too), and a host another namespace's Ingress serves is not taken by this one.
//!
//! A workspace's object is known by its `part-of: maia-workspace` label, or, when that
//! label was edited away, by the workspace's inventory ConfigMap listing it: either
//! alone marks it, so neither a copied label set nor a stripped one moves it to an app.

use std::collections::BTreeMap;

use maia_render::Object;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::error::{KubeError, Result};
use crate::inventory::Inventory;
use crate::kinds::{self, Kind};
use crate::live;

/// The name of a workspace's inventory ConfigMap, in its namespace.
pub const WORKSPACE_INVENTORY: &str = "maia-workspace-inventory";

/// The workspace inventories of one namespace (or of all), as far as they can be
/// read, by namespace.
#[derive(Debug, Clone, Default)]
pub struct Workspaces(BTreeMap<String, Inventory>);

impl Workspaces {
    /// Reads the workspace inventories of `namespace` (all namespaces when `None`): one
    /// LIST. What the caller may not read counts as absent: the labels still mark the
    /// workspace's objects.
    pub async fn read(cluster: &Cluster, namespace: Option<&str>) -> Result<Workspaces> {
        let selector = format!(
            "{}={},{}={}",
            maia_render::labels::MANAGED_BY,
            maia_render::labels::MANAGER,
            maia_render::labels::PART_OF,
            maia_render::labels::WORKSPACE,
        );
        let inventories =
            match live::list_kinds(cluster, namespace, &[kinds::CONFIG_MAP], &selector).await {
                Ok(found) => found,
                Err(KubeError::Forbidden { .. }) => Vec::new(),
                Err(e) => return Err(e),
            };
        let mut out = BTreeMap::new();
        for (_, value) in inventories {
            if value["metadata"]["name"] != WORKSPACE_INVENTORY {
                continue;
            }
            let ns = value["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            out.insert(ns, Inventory::from_config_map(&value));
        }
        Ok(Workspaces(out))
    }

    /// Whether the live object (in its namespace) belongs to a workspace.
    pub fn owns(&self, kind: &Kind, value: &Value) -> bool {
        let meta = &value["metadata"];
        if meta["labels"][maia_render::labels::PART_OF] == maia_render::labels::WORKSPACE {
            return true;
        }
        let name = meta["name"].as_str().unwrap_or_default();
        let ns = meta["namespace"].as_str().unwrap_or_default();
        self.lists(ns, &Inventory::entry(&kind.kind, name))
    }

    /// Whether the workspace of `namespace` lists `entry` (`Kind/name`) in its inventory.
    pub fn lists(&self, namespace: &str, entry: &str) -> bool {
        self.0.get(namespace).is_some_and(|i| i.contains(entry))
    }
}

/// The refusal for `objects` of the workspace in `namespace`, naming its group_ID when
/// the Namespace can be read (a member may not read Namespaces).
pub async fn refusal(cluster: &Cluster, namespace: &str, mut objects: Vec<String>) -> KubeError {
    objects.sort();
    objects.dedup();
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(cluster.client.clone());
    let group_id = api
        .get_opt(namespace)
        .await
        .ok()
        .flatten()
        .and_then(|n| n.metadata.annotations)
        .and_then(|a| a.get(maia_render::labels::GROUP_ID_ANNOTATION).cloned());
    KubeError::WorkspaceOwned {
        objects: objects.join(", "),
        namespace: namespace.into(),
        group_id,
    }
}

/// `Kind/name` as kubectl prints it (`deployment/mysql-db-v1-mkg`).
pub fn shown(kind: &Kind, value: &Value) -> String {
    format!(
        "{}/{}",
        kind.kind.to_ascii_lowercase(),
        value["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// One host and path prefix an Ingress serves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// The host, lowercase; `*` for a rule without a host.
    pub host: String,
    /// The path prefix.
    pub path: String,
}

/// The routes of an Ingress (as JSON); a rule without a host serves every host (`*`).
pub fn ingress_routes(ingress: &Value) -> Vec<Route> {
    let mut out = Vec::new();
    for rule in ingress["spec"]["rules"].as_array().into_iter().flatten() {
        let host = rule["host"].as_str().unwrap_or("*").to_ascii_lowercase();
        let paths: Vec<&Value> = rule["http"]["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        if paths.is_empty() {
            out.push(Route {
                host: host.clone(),
                path: "/".into(),
            });
        }
        for p in paths {
            out.push(Route {
                host: host.clone(),
                path: p["path"].as_str().unwrap_or("/").to_string(),
            });
        }
    }
    out
}

/// The routes of rendered objects' Ingresses.
pub fn object_routes(objects: &[Object]) -> Vec<Route> {
    objects
        .iter()
        .filter(|o| o.kind() == "Ingress")
        .filter_map(|o| o.to_json().ok())
        .flat_map(|v| ingress_routes(&v))
        .collect()
}

/// Whether two path prefixes share requests: one is the other or lies under it (by
/// whole segments). The ingress controller merges the rules of one host across
/// namespaces and sends a request to the longest matching prefix, so either way one
/// namespace would get requests meant for the other.
fn paths_overlap(a: &str, b: &str) -> bool {
    let a = a.trim_end_matches('/');
    let b = b.trim_end_matches('/');
    let under = |long: &str, short: &str| {
        long == short || short.is_empty() || long.starts_with(&format!("{short}/"))
    };
    under(a, b) || under(b, a)
}

/// Every route of `wanted` (to be served from `namespace`) whose host another
/// namespace's Ingress already serves on an overlapping path, as one sentence each:
/// "host H (path P) is served by ingress/NAME in namespace NS (path Q)". One LIST of
/// Ingresses in all namespaces ([`list_ingresses`], then [`hosts_taken`]); someone who
/// may not list them is not stopped here (the ingress controller's own admission rules
/// are then the only guard). On `shared_host` (a subpath cluster's domain, which every
/// group shares, each under its own prefix) another namespace's root (`/`, the
/// cluster's landing page) is no conflict.
pub async fn taken_hosts(
    cluster: &Cluster,
    namespace: &str,
    wanted: &[Route],
    shared_host: Option<&str>,
) -> Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match list_ingresses(cluster).await? {
        Some(live) => hosts_taken(&live, namespace, wanted, shared_host),
        None => Vec::new(),
    })
}

/// Every Ingress in all namespaces (one LIST, no selector), as JSON with its
/// `apiVersion` and `kind`; `None` when the caller may not list them.
pub async fn list_ingresses(cluster: &Cluster) -> Result<Option<Vec<Value>>> {
    match live::list_kinds(cluster, None, &[kinds::INGRESS], "").await {
        Ok(found) => Ok(Some(found.into_iter().map(|(_, v)| v).collect())),
        Err(KubeError::Forbidden { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`taken_hosts`] on Ingresses listed already (`live`, from [`list_ingresses`]).
pub fn hosts_taken(
    live: &[Value],
    namespace: &str,
    wanted: &[Route],
    shared_host: Option<&str>,
) -> Vec<String> {
    let mut taken = Vec::new();
    for ingress in live {
        let meta = &ingress["metadata"];
        let other = meta["namespace"].as_str().unwrap_or_default();
        if other == namespace {
            continue;
        }
        let name = meta["name"].as_str().unwrap_or_default();
        for theirs in ingress_routes(ingress) {
            if shared_host == Some(theirs.host.as_str())
                && theirs.path.trim_end_matches('/').is_empty()
            {
                continue;
            }
            for ours in wanted {
                if ours.host == theirs.host && paths_overlap(&ours.path, &theirs.path) {
                    let line = format!(
                        "host {} (path {}) is served by ingress/{name} in namespace {other} (path {})",
                        ours.host, ours.path, theirs.path
                    );
                    if !taken.contains(&line) {
                        taken.push(line);
                    }
                }
            }
        }
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_overlap_by_whole_segments() {
        assert!(paths_overlap("/", "/hub/login"));
        assert!(paths_overlap("/hub/login", "/"));
        assert!(paths_overlap("/hub", "/hub/login/"));
        assert!(paths_overlap("/mlflow/", "/mlflow"));
        assert!(!paths_overlap("/brain-mri-hub", "/brain-mri-hubx"));
        assert!(!paths_overlap("/a-hub", "/b-hub"));
    }

    #[test]
    fn an_ingress_rule_without_a_host_serves_every_host() {
        let ingress = serde_json::json!({"spec": {"rules": [
            {"http": {"paths": [{"path": "/x"}]}},
            {"host": "A.example.org"}
        ]}});
        assert_eq!(
            ingress_routes(&ingress),
            [
                Route {
                    host: "*".into(),
                    path: "/x".into()
                },
                Route {
                    host: "a.example.org".into(),
                    path: "/".into()
                }
            ]
        );
    }
}
