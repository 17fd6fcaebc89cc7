//! The kinds maia writes. An app's kinds are built in and known statically (its deploy
//! needs no discovery, which keeps it to one LIST per kind). A workspace also writes
//! custom resources (a MinIO `Tenant`, a Traefik `Middleware`) whose API group and
//! version depend on the operators installed, so its kinds are resolved through API
//! discovery ([`KindTable::discover`]): two GETs of aggregated discovery (`/api` and
//! `/apis`), or one GET per group-version from a server without it.

use std::borrow::Cow;

use k8s_openapi::api::{
    apps::v1 as apps, batch::v1 as batch, core::v1 as core, networking::v1 as networking,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIResource, APIResourceList};
use kube::core::ApiResource;

/// The Accept header asking for aggregated discovery (v2, else v2beta1), as kubectl
/// sends it; a server without it answers the older document (plain JSON).
const ACCEPT_AGGREGATED: &str = kube::core::discovery::v2::ACCEPT_AGGREGATED_DISCOVERY_V2;

use crate::cluster::Cluster;
use crate::error::{KubeError, Result};

/// A kind maia reads or writes, and how to reach it on the API server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    /// The kind's name, e.g. `Deployment`.
    pub kind: Cow<'static, str>,
    /// Its API group; empty for the core group.
    pub group: Cow<'static, str>,
    /// Its API version, e.g. `v1`.
    pub version: Cow<'static, str>,
    /// Its resource name in URLs, e.g. `deployments`.
    pub plural: Cow<'static, str>,
    /// False for cluster-scoped kinds (Namespace).
    pub namespaced: bool,
}

impl Kind {
    /// `GROUP/VERSION`, or `VERSION` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The kind as kube's dynamic API takes it.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.to_string(),
            version: self.version.to_string(),
            api_version: self.api_version(),
            kind: self.kind.to_string(),
            plural: self.plural.to_string(),
        }
    }

    /// The kind of a k8s-openapi type, from the type's own API metadata.
    pub const fn of<K: k8s_openapi::Resource>(namespaced: bool) -> Kind {
        Kind {
            kind: Cow::Borrowed(K::KIND),
            group: Cow::Borrowed(K::GROUP),
            version: Cow::Borrowed(K::VERSION),
            plural: Cow::Borrowed(K::URL_PATH_SEGMENT),
            namespaced,
        }
    }
}

/// `v1` `Namespace`.
pub const NAMESPACE: Kind = Kind::of::<core::Namespace>(false);
/// `v1` `ConfigMap`.
pub const CONFIG_MAP: Kind = Kind::of::<core::ConfigMap>(true);
/// `v1` `PersistentVolumeClaim`.
pub const PVC: Kind = Kind::of::<core::PersistentVolumeClaim>(true);
/// `v1` `Service`.
pub const SERVICE: Kind = Kind::of::<core::Service>(true);
/// `batch/v1` `Job`.
pub const JOB: Kind = Kind::of::<batch::Job>(true);
/// `apps/v1` `Deployment`.
pub const DEPLOYMENT: Kind = Kind::of::<apps::Deployment>(true);
/// `networking.k8s.io/v1` `Ingress`.
pub const INGRESS: Kind = Kind::of::<networking::Ingress>(true);
/// `v1` `Pod`.
pub const POD: Kind = Kind::of::<core::Pod>(true);

/// Kinds an app may own, in apply order.
pub const APP_KINDS: [Kind; 6] = [CONFIG_MAP, PVC, SERVICE, JOB, DEPLOYMENT, INGRESS];

/// The kinds one deploy may write, with how to reach each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindTable(Vec<Kind>);

impl KindTable {
    /// An app's kinds: built in, no discovery needed.
    pub fn app() -> Self {
        KindTable(APP_KINDS.to_vec())
    }

    /// The given kinds, in apply order.
    pub fn new(kinds: Vec<Kind>) -> Self {
        KindTable(kinds)
    }

    /// The kinds, in apply order.
    pub fn kinds(&self) -> &[Kind] {
        &self.0
    }

    /// The kind of an object's `apiVersion` and `kind`, when the table has it.
    pub fn lookup(&self, api_version: &str, kind: &str) -> Option<&Kind> {
        self.0
            .iter()
            .find(|k| k.kind == kind && k.api_version() == api_version)
    }

    /// The kind of an inventory entry (`Kind/name`), by kind name.
    pub fn by_name(&self, kind: &str) -> Option<&Kind> {
        self.0.iter().find(|k| k.kind == kind)
    }

    /// Asks the API server which of `wanted` (apiVersion, kind) it serves: through
    /// aggregated discovery (two requests for the whole cluster, Kubernetes 1.26 and
    /// later), else one request per group-version. Kinds it does not serve are returned
    /// in the second list (a missing CRD is for the caller to judge: fatal when
    /// rendered, else ignored).
    pub async fn discover(
        cluster: &Cluster,
        wanted: &[(String, String)],
    ) -> Result<(KindTable, Vec<(String, String)>)> {
        let mut versions: Vec<&str> = wanted.iter().map(|(v, _)| v.as_str()).collect();
        versions.sort_unstable();
        versions.dedup();
        let lists = match aggregated(cluster).await? {
            Some(all) => all,
            None => per_group_version(cluster, &versions).await?,
        };
        let lists: Vec<(&str, &APIResourceList)> =
            lists.iter().map(|(v, l)| (v.as_str(), l)).collect();
        Ok(Self::matched(&lists, wanted))
    }

    /// The kinds of `wanted` the listed resources hold, and those they lack.
    fn matched(
        lists: &[(&str, &APIResourceList)],
        wanted: &[(String, String)],
    ) -> (KindTable, Vec<(String, String)>) {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for (api_version, kind) in wanted {
            let resource = lists
                .iter()
                .filter(|(v, _)| *v == api_version.as_str())
                .flat_map(|(_, l)| l.resources.iter())
                // `deployments/status` and the like are subresources, not kinds.
                .find(|r| r.kind == *kind && !r.name.contains('/'));
            match resource {
                Some(r) => {
                    let (group, version) = match api_version.split_once('/') {
                        Some((g, v)) => (g.to_string(), v.to_string()),
                        None => (String::new(), api_version.clone()),
                    };
                    found.push(Kind {
                        kind: Cow::Owned(kind.clone()),
                        group: Cow::Owned(group),
                        version: Cow::Owned(version),
                        plural: Cow::Owned(r.name.clone()),
                        namespaced: r.namespaced,
                    });
                }
                None => missing.push((api_version.clone(), kind.clone())),
            }
        }
        (KindTable(found), missing)
    }
}

/// Every group-version's resources from aggregated discovery (`/api` and `/apis`, as
/// `APIGroupDiscoveryList`); `None` when the server answers with the older documents.
async fn aggregated(cluster: &Cluster) -> Result<Option<Vec<(String, APIResourceList)>>> {
    let failed = |e| KubeError::from_kube(e, &cluster.url, "discover", "the cluster's APIs");
    let mut out = Vec::new();
    for root in ["/api", "/apis"] {
        let request = http::Request::get(root)
            .header(http::header::ACCEPT, ACCEPT_AGGREGATED)
            .body(Vec::new())
            .map_err(|e| failed(kube::Error::HttpError(e)))?;
        let text = match cluster.client.request_text(request).await {
            Ok(t) => t,
            // Not served so (an older or unusual server): ask group by group.
            Err(kube::Error::Api(s)) if (400..500).contains(&s.code) && s.code != 401 => {
                return Ok(None);
            }
            Err(e) => return Err(failed(e)),
        };
        let Ok(document) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Ok(None);
        };
        if document["kind"] != "APIGroupDiscoveryList" {
            return Ok(None);
        }
        for group in document["items"].as_array().into_iter().flatten() {
            let name = group["metadata"]["name"].as_str().unwrap_or_default();
            for version in group["versions"].as_array().into_iter().flatten() {
                let v = version["version"].as_str().unwrap_or_default();
                let api_version = if name.is_empty() {
                    v.to_string()
                } else {
                    format!("{name}/{v}")
                };
                // Subresources come nested in each resource: only kinds are listed.
                let resources = version["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| APIResource {
                        name: r["resource"].as_str().unwrap_or_default().to_string(),
                        kind: r["responseKind"]["kind"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        namespaced: r["scope"] == "Namespaced",
                        ..Default::default()
                    })
                    .collect();
                out.push((
                    api_version.clone(),
                    APIResourceList {
                        group_version: api_version,
                        resources,
                    },
                ));
            }
        }
    }
    Ok(Some(out))
}

/// The resources of each group-version, one request each.
async fn per_group_version(
    cluster: &Cluster,
    versions: &[&str],
) -> Result<Vec<(String, APIResourceList)>> {
    futures::future::try_join_all(versions.iter().map(|v| async move {
        // The core group lives at /api/v1, every other at /apis/GROUP/VERSION.
        let listed = if v.contains('/') {
            cluster.client.list_api_group_resources(v).await
        } else {
            cluster.client.list_core_api_resources(v).await
        };
        match listed {
            Ok(list) => Ok((v.to_string(), list)),
            // The whole group is missing: its operator is not installed.
            Err(kube::Error::Api(s)) if s.code == 404 => {
                Ok((v.to_string(), APIResourceList::default()))
            }
            Err(e) => Err(KubeError::from_kube(
                e,
                &cluster.url,
                "discover",
                format!("the resources of {v}"),
            )),
        }
    }))
    .await
}
