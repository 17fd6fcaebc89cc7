//! The volume claims a workspace's namespace holds and the pods it runs now: the
//! quota never drops below what they use (the kept home or the still-running server
//! of a member who left count there too), and those nothing renders are named when it
//! is raised.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::Api;
use kube::api::ListParams;
use maia_render::workspace::tenancy::{Existing, ExistingClaim, ExistingPod};

use crate::error::{DeployError, Result};
use maia_kube::cluster::Cluster;

/// Every claim of `namespace` (one LIST); none when the namespace does not exist. With
/// the claims as listed (JSON, every label) for the plan to filter.
async fn read_listed(
    cluster: &Cluster,
    namespace: &str,
) -> Result<(Vec<ExistingClaim>, Vec<serde_json::Value>)> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), namespace);
    let claims = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok((Vec::new(), Vec::new())),
        Err(e) => {
            return Err(DeployError::from_kube(
                e,
                &cluster.url,
                "list",
                format!("persistentvolumeclaims in {namespace}"),
            ));
        }
    };
    // k8s-openapi writes apiVersion and kind with each, as a LIST's items get.
    let listed = claims
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    Ok((claims.iter().map(existing).collect(), listed))
}

/// A live claim as the quota computation sees it.
pub(crate) fn existing(claim: &PersistentVolumeClaim) -> ExistingClaim {
    let meta = &claim.metadata;
    let label = |k: &str| meta.labels.as_ref().and_then(|l| l.get(k)).cloned();
    // KubeSpawner's home claims: `component: singleuser-storage`, the user (unescaped)
    // in the `hub.jupyter.org/username` annotation.
    let home_of = (label("component").as_deref() == Some("singleuser-storage"))
        .then(|| {
            meta.annotations
                .as_ref()
                .and_then(|a| a.get("hub.jupyter.org/username"))
                .cloned()
                .or_else(|| label("hub.jupyter.org/username"))
        })
        .flatten();
    // What it asks for (and the quota counts).
    let asked = claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone());
    ExistingClaim {
        name: meta.name.clone().unwrap_or_default(),
        storage: asked.unwrap_or_else(|| "0".into()),
        home_of,
        made_by: label("v1.min.io/tenant")
            .or_else(|| label("release"))
            .or_else(|| label("app.kubernetes.io/instance")),
    }
}

/// Every pod of `namespace` that runs or waits to (one LIST): the quota counts those,
/// not the Succeeded or Failed. None when the namespace does not exist.
pub(crate) async fn read_pods(cluster: &Cluster, namespace: &str) -> Result<Vec<ExistingPod>> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let pods = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
        Err(e) => {
            return Err(DeployError::from_kube(
                e,
                &cluster.url,
                "list",
                format!("pods in {namespace}"),
            ));
        }
    };
    Ok(pods
        .iter()
        .filter(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .map(running)
        .collect())
}

/// A live pod as the quota computation sees it.
pub(crate) fn running(pod: &Pod) -> ExistingPod {
    let meta = &pod.metadata;
    let labels = meta.labels.clone().unwrap_or_default();
    let label = |k: &str| labels.get(k).cloned();
    // KubeSpawner's servers: `component: singleuser-server`, the user (unescaped) in
    // the `hub.jupyter.org/username` annotation.
    let server_of = (label("component").as_deref() == Some("singleuser-server"))
        .then(|| {
            meta.annotations
                .as_ref()
                .and_then(|a| a.get("hub.jupyter.org/username"))
                .cloned()
                .or_else(|| label("hub.jupyter.org/username"))
        })
        .flatten();
    // The admitted pod carries the namespace's defaults already: none to add.
    let (cpu, memory, gpus) = pod
        .spec
        .as_ref()
        .map(|s| maia_render::workspace::tenancy::pod_requests_with(s, None, None))
        .unwrap_or_default();
    ExistingPod {
        name: meta.name.clone().unwrap_or_default(),
        cpu,
        memory,
        gpus,
        server_of,
        made_by: label("v1.min.io/tenant")
            .or_else(|| label("release"))
            .or_else(|| label("app.kubernetes.io/instance")),
        labels,
    }
}

/// The claims and the pods of `namespace`: what is in use, which the quota covers.
pub(crate) async fn read_existing(cluster: &Cluster, namespace: &str) -> Result<Existing> {
    Ok(read_existing_listed(cluster, namespace).await?.0)
}

/// [`read_existing`], with every claim as listed: a plan made next (with no claim
/// written in between) filters them by its labels instead of listing claims again.
pub(crate) async fn read_existing_listed(
    cluster: &Cluster,
    namespace: &str,
) -> Result<(Existing, Vec<serde_json::Value>)> {
    let (claims, listed) = read_listed(cluster, namespace).await?;
    let existing = Existing {
        claims,
        pods: read_pods(cluster, namespace).await?,
    };
    Ok((existing, listed))
}
