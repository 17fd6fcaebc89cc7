//! `maia app delete`: remove everything an app owns, volumes only when asked.

use crate::apply::{ApplyOptions, delete_one};
use crate::cluster::Cluster;
use crate::error::{DeployError, Result};
use crate::event::{Event, EventSink};
use crate::inventory::{self, Inventory};
use crate::kinds::{self, APP_KINDS};
use crate::live;
use crate::plan::ObjectRef;

/// Deletes the app's objects (found by its labels) in reverse apply order. PVCs stay
/// unless `delete_volumes`; the inventory then keeps listing them.
pub async fn delete_app(
    cluster: &Cluster,
    namespace: &str,
    release: &str,
    delete_volumes: bool,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let mut found = live::list_kinds(
        cluster,
        Some(namespace),
        &APP_KINDS,
        &live::release_selector(release),
    )
    .await?;
    if found.is_empty() {
        return Err(DeployError::AppNotFound {
            release: release.into(),
            namespace: namespace.into(),
        });
    }
    let inventory_name = inventory::name(release);
    found.sort_by_key(|(k, v)| {
        (
            std::cmp::Reverse(k.order()),
            v["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    });
    let mut kept = Vec::new();
    let options = ApplyOptions::default();
    for (kind, value) in &found {
        let name = value["metadata"]["name"].as_str().unwrap_or_default();
        if *kind == kinds::CONFIG_MAP && name == inventory_name {
            continue;
        }
        let object = ObjectRef {
            kind: kind.kind.to_string(),
            name: name.into(),
            namespace: namespace.into(),
        };
        if *kind == kinds::PVC && !delete_volumes {
            kept.push(Inventory::entry(&kind.kind, name));
            sink.emit(Event::VolumeKept { object });
            continue;
        }
        delete_one(cluster, kind, &object, options).await?;
        sink.emit(Event::Pruned {
            object,
            dry_run: false,
        });
    }
    let inventory_ref = ObjectRef {
        kind: "ConfigMap".into(),
        name: inventory_name.clone(),
        namespace: namespace.into(),
    };
    if kept.is_empty() {
        delete_one(cluster, &kinds::CONFIG_MAP, &inventory_ref, options).await?;
    } else {
        let inventory = Inventory::new(kept.into_iter().collect());
        let scope = crate::plan::Scope::app(namespace, release);
        let cm = inventory.to_config_map(namespace, &inventory_name, &scope.labels);
        live::api(cluster, Some(namespace), &kinds::CONFIG_MAP)
            .patch(
                &inventory_name,
                &kube::api::PatchParams::apply(crate::FIELD_MANAGER),
                &kube::api::Patch::Apply(&cm),
            )
            .await
            .map_err(|e| {
                DeployError::from_kube(e, &cluster.url, "apply", inventory_ref.to_string())
            })?;
    }
    Ok(())
}
