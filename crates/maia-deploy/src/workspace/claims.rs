//! The volume claims a workspace's namespace holds now: the quota must cover them,
//! also those nothing renders any more (the kept home of a member who left).

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::Api;
use kube::api::ListParams;
use maia_render::workspace::tenancy::ExistingClaim;

use crate::cluster::Cluster;
use crate::error::{DeployError, Result};

/// Every claim of `namespace` (one LIST); none when the namespace does not exist.
pub(crate) async fn read(cluster: &Cluster, namespace: &str) -> Result<Vec<ExistingClaim>> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), namespace);
    let claims = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
        Err(e) => {
            return Err(DeployError::from_kube(
                e,
                &cluster.url,
                "list",
                format!("persistentvolumeclaims in {namespace}"),
            ));
        }
    };
    Ok(claims.iter().map(existing).collect())
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
