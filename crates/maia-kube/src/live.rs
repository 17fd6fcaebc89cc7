//! Reading what is on the cluster: one LIST per kind with a label selector, never one
//! GET per object.

use futures::future::try_join_all;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::cluster::Cluster;
use crate::error::{KubeError, Result};
use crate::kinds::Kind;

/// Label selector of everything maia wrote for one app (its objects and inventory).
pub fn release_selector(release: &str) -> String {
    format!(
        "{}={},{}={}",
        maia_render::labels::MANAGED_BY,
        maia_render::labels::MANAGER,
        maia_render::labels::INSTANCE,
        release
    )
}

/// The name label every app object and pod carries (the mkg chart's), which tells
/// apps from workspace components.
const APP_NAME: &str = "app.kubernetes.io/name=mkg";

/// Label selector of every app maia deployed, or of one (`release`).
pub fn apps_selector(release: Option<&str>) -> String {
    let mut s = format!(
        "{}={},{APP_NAME}",
        maia_render::labels::MANAGED_BY,
        maia_render::labels::MANAGER
    );
    if let Some(r) = release {
        s.push_str(&format!(",{}={r}", maia_render::labels::INSTANCE));
    }
    s
}

/// Label selector of the pods of every app, or of one. Pods carry the app's selector
/// labels but not `managed-by`: the workload's controller makes them, not maia.
pub fn app_pods_selector(release: Option<&str>) -> String {
    match release {
        Some(r) => format!("{APP_NAME},{}={r}", maia_render::labels::INSTANCE),
        None => APP_NAME.to_string(),
    }
}

/// The API of `kind`, in `namespace` (all namespaces when `None`); a cluster-scoped
/// kind ignores the namespace.
pub fn api(cluster: &Cluster, namespace: Option<&str>, kind: &Kind) -> Api<DynamicObject> {
    let resource = kind.api_resource();
    match namespace.filter(|_| kind.namespaced) {
        Some(ns) => Api::namespaced_with(cluster.client.clone(), ns, &resource),
        None => Api::all_with(cluster.client.clone(), &resource),
    }
}

/// An object as JSON with its `apiVersion` and `kind` (list items come without them).
pub fn to_value(kind: &Kind, object: &DynamicObject) -> Result<Value> {
    let mut value = serde_json::to_value(object).map_err(|source| KubeError::Serialize {
        object: format!(
            "{}/{}",
            kind.kind,
            object.metadata.name.as_deref().unwrap_or("")
        ),
        source,
    })?;
    value["apiVersion"] = Value::String(kind.api_version());
    value["kind"] = Value::String(kind.kind.to_string());
    Ok(value)
}

/// Lists each kind (concurrently) with the selector; `namespace: None` means all.
pub async fn list_kinds(
    cluster: &Cluster,
    namespace: Option<&str>,
    kinds: &[Kind],
    selector: &str,
) -> Result<Vec<(Kind, Value)>> {
    let lists = kinds.iter().map(|kind| async move {
        let params = ListParams::default().labels(selector);
        let where_ = match namespace.filter(|_| kind.namespaced) {
            Some(ns) => format!("in namespace {ns}"),
            None if kind.namespaced => "in all namespaces".to_string(),
            None => String::new(),
        };
        let list = api(cluster, namespace, kind)
            .list(&params)
            .await
            .map_err(|e| {
                let what = format!("{} {where_}", kind.plural).trim_end().to_string();
                match KubeError::from_kube(e, &cluster.url, "list", what) {
                    KubeError::Api { code: 404, .. } => KubeError::KindMissing {
                        kind: kind.kind.to_string(),
                        api_version: kind.api_version(),
                    },
                    other => other,
                }
            })?;
        list.items
            .iter()
            .map(|o| Ok((kind.clone(), to_value(kind, o)?)))
            .collect::<Result<Vec<_>>>()
    });
    Ok(try_join_all(lists).await?.into_iter().flatten().collect())
}

/// Whether the namespace exists. A user allowed only inside the namespace may not read
/// Namespace objects; a refusal is taken as "exists" and later requests will tell.
pub async fn namespace_exists(cluster: &Cluster, namespace: &str) -> Result<bool> {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    match api.get_opt(namespace).await {
        Ok(found) => Ok(found.is_some()),
        Err(kube::Error::Api(s)) if s.code == 403 => Ok(true),
        Err(e) => Err(KubeError::from_kube(
            e,
            &cluster.url,
            "get",
            format!("namespace/{namespace}"),
        )),
    }
}

/// Creates maia's own namespace when it is missing.
pub async fn ensure_namespace(cluster: &Cluster, name: &str) -> Result<()> {
    if namespace_exists(cluster, name).await? {
        return Ok(());
    }
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    let namespace = Namespace {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name.into()),
            labels: Some(std::collections::BTreeMap::from([(
                maia_render::labels::MANAGED_BY.to_string(),
                maia_render::labels::MANAGER.to_string(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    };
    api.patch(
        name,
        &kube::api::PatchParams::apply(crate::cluster::FIELD_MANAGER),
        &kube::api::Patch::Apply(&namespace),
    )
    .await
    .map_err(|e| KubeError::from_kube(e, &cluster.url, "create", format!("namespace/{name}")))?;
    Ok(())
}
