//! Removing what maia owns: `maia app delete`, and the object part of `maia namespace
//! delete`. Volumes stay unless asked; the inventory then keeps listing them.

use serde_json::Value;

use crate::apply::{ApplyOptions, delete_one, write_inventory};
use crate::cluster::Cluster;
use crate::error::{KubeError, Result};
use crate::event::{Event, EventSink};
use crate::inventory::Inventory;
use crate::kinds::{self, APP_KINDS, Kind};
use crate::live;
use crate::plan::{ObjectRef, Scope};

/// The app's objects (found by its labels), or why there is nothing of it to delete: no
/// such app, or objects a workspace owns (a workspace's MySQL and MLflow carry an
/// app's labels, and every workspace object the namespace's name as its instance).
/// Changes nothing: `maia app delete` asks this before asking the user.
pub async fn app_objects(
    cluster: &Cluster,
    namespace: &str,
    release: &str,
) -> Result<Vec<(Kind, Value)>> {
    let found = live::list_kinds(
        cluster,
        Some(namespace),
        &APP_KINDS,
        &live::release_selector(release),
    )
    .await?;
    if found.is_empty() {
        return Err(KubeError::AppNotFound {
            release: release.into(),
            namespace: namespace.into(),
        });
    }
    let workspaces = crate::ownership::Workspaces::read(cluster, Some(namespace)).await?;
    let claimed: Vec<String> = found
        .iter()
        .filter(|(k, v)| workspaces.owns(k, v))
        .map(|(k, v)| crate::ownership::shown(k, v))
        .collect();
    if !claimed.is_empty() {
        return Err(crate::ownership::refusal(cluster, namespace, claimed).await);
    }
    Ok(found)
}

/// Deletes the app's objects (found by its labels) in reverse apply order. PVCs stay
/// unless `delete_volumes`; the inventory then keeps listing them. With
/// `options.dry_run` every write is sent with `dryRun=All`: checked, nothing deleted.
pub async fn delete_app(
    cluster: &Cluster,
    namespace: &str,
    release: &str,
    delete_volumes: bool,
    options: ApplyOptions,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let scope = Scope::app(namespace, release);
    let found = app_objects(cluster, namespace, release).await?;
    let kept = delete_owned(cluster, &scope, found, delete_volumes, options, sink).await?;
    if kept.is_empty() {
        let inventory = ObjectRef {
            kind: "ConfigMap".into(),
            name: scope.inventory.clone(),
            namespace: namespace.into(),
        };
        delete_one(cluster, &kinds::CONFIG_MAP, &inventory, options).await
    } else {
        let inventory = Inventory::new(kept.into_iter().collect());
        write_inventory(cluster, &scope, &inventory, options).await
    }
}

/// Deletes the scope's `found` objects in reverse apply order, all but its inventory
/// and, unless `delete_volumes`, its volume claims; returns the inventory entries of
/// what was kept. With `options.dry_run` each DELETE is sent with `dryRun=All`: the
/// API server checks it and deletes nothing, and the events say so.
pub async fn delete_owned(
    cluster: &Cluster,
    scope: &Scope,
    mut found: Vec<(Kind, Value)>,
    delete_volumes: bool,
    options: ApplyOptions,
    sink: &mut dyn EventSink,
) -> Result<Vec<String>> {
    let name_of = |v: &Value| {
        v["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    found.sort_by_key(|(k, v)| (std::cmp::Reverse(scope.order(k)), name_of(v)));
    let mut kept = Vec::new();
    for (kind, value) in &found {
        let name = name_of(value);
        if *kind == kinds::CONFIG_MAP && name == scope.inventory {
            continue;
        }
        let object = ObjectRef {
            kind: kind.kind.to_string(),
            name: name.clone(),
            // A workspace's cluster-scoped objects (its admission guard) have none.
            namespace: if kind.namespaced {
                scope.namespace.clone()
            } else {
                String::new()
            },
        };
        if *kind == kinds::PVC && !delete_volumes {
            kept.push(Inventory::entry(&kind.kind, &name));
            sink.emit(Event::VolumeKept { object });
            continue;
        }
        delete_one(cluster, kind, &object, options).await?;
        sink.emit(Event::Pruned {
            object,
            dry_run: options.dry_run,
        });
    }
    Ok(kept)
}
