//! `maia app status` / `list`: each app's workload, whether it is ready and why not,
//! time left for Jobs, service ports and ingress URLs.
//!
//! An app is ready when it serves: every object its inventory lists exists, its
//! Deployment is available or its Job's pod runs and is ready, and each volume claim
//! is bound (or waits for its first consumer). A Job is a time-limited app (the
//! allocation time is its `activeDeadlineSeconds`): it serves while its pod runs, so
//! once it has finished (its pod ended, successfully or not) or its time is over it is
//! not ready, and nothing makes it ready again short of deploying it anew.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::error::{KubeError, Result};
use crate::inventory::{self, Inventory};
use crate::kinds::{self, Kind};
use crate::live;
use crate::readiness::{Status, claim_status, workload_status};

/// One app as `maia app status` and `list` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppStatus {
    /// The app's name (its release, the config's `chart_name`).
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// True when it serves: every object of its inventory is there and ready (see the
    /// module documentation); `maia app status` exits 0 only then.
    pub ready: bool,
    /// Why it is not ready, most serious first: its inventory or objects it lists
    /// that are gone (`service/NAME is missing`), no workload, the workload's and the
    /// volumes' reasons (`KIND/NAME: why`). Empty when it is ready.
    pub problems: Vec<String>,
    /// Its Deployment or Job; `None` when there is none (yet).
    pub workload: Option<WorkloadStatus>,
    /// Its Services' ports, as `NAME PORT[:NODEPORT]/PROTOCOL`.
    pub ports: Vec<String>,
    /// The URLs its Ingresses publish (https for hosts their TLS covers).
    pub urls: Vec<String>,
    /// Its volume claims.
    pub volumes: Vec<VolumeStatus>,
}

/// An app's Deployment or Job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadStatus {
    /// `Deployment` or `Job`.
    pub kind: String,
    /// The workload's name.
    pub name: String,
    /// Whether it is ready (the same as `status.is_ready()`).
    pub ready: bool,
    /// Its readiness, explained by its pods when it is not ready.
    pub status: Status,
    /// For a Job: seconds until its allocation time (activeDeadlineSeconds) runs out.
    pub seconds_left: Option<i64>,
}

/// One of an app's volume claims.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeStatus {
    /// The claim's name.
    pub name: String,
    /// `Bound`, `Pending` (ready only while it waits for its first consumer) or `Lost`.
    pub phase: String,
    /// Its readiness, given the app's pods.
    pub status: Status,
}

/// Reads the apps in `namespace` (all namespaces when `None`), or only `release`.
pub async fn apps(
    cluster: &Cluster,
    namespace: Option<&str>,
    release: Option<&str>,
) -> Result<Vec<AppStatus>> {
    let selector = live::apps_selector(release);
    let pod_selector = live::app_pods_selector(release);
    // The inventories carry the release but not the app's name label: their own LIST
    // (summarise keeps only the ConfigMaps that are an app's).
    let config_maps = match release {
        Some(r) => live::release_selector(r),
        None => format!(
            "{}={},{}",
            maia_render::labels::MANAGED_BY,
            maia_render::labels::MANAGER,
            maia_render::labels::INSTANCE
        ),
    };
    let kinds = [
        kinds::PVC,
        kinds::SERVICE,
        kinds::JOB,
        kinds::DEPLOYMENT,
        kinds::INGRESS,
    ];
    let (objects, config_maps, pods) = futures::future::join3(
        live::list_kinds(cluster, namespace, &kinds, &selector),
        live::list_kinds(cluster, namespace, &[kinds::CONFIG_MAP], &config_maps),
        live::list_kinds(cluster, namespace, &[kinds::POD], &pod_selector),
    )
    .await;
    let mut objects = objects?;
    // A workspace's MySQL and MLflow are rendered as apps, but they are the
    // workspace's: never listed, and `status` of one names the workspace.
    let workspaces = crate::ownership::Workspaces::read(cluster, namespace).await?;
    objects.extend(config_maps?);
    let (claimed, apps): (Vec<_>, Vec<_>) = objects
        .into_iter()
        .partition(|(k, v)| workspaces.owns(k, v));
    objects = apps;
    if let (Some(ns), Some(_), true, false) =
        (namespace, release, objects.is_empty(), claimed.is_empty())
    {
        let shown = claimed
            .iter()
            .map(|(k, v)| crate::ownership::shown(k, v))
            .collect();
        return Err(crate::ownership::refusal(cluster, ns, shown).await);
    }
    // Pods only explain; someone who may not list them still sees the workloads.
    match pods {
        // The workspace's pods carry the app selector labels (not `part-of`): left
        // out by their release, so they make no app of their own.
        Ok(pods) => {
            let release_of = |v: &Value| {
                let meta = &v["metadata"];
                (
                    meta["namespace"].as_str().unwrap_or_default().to_string(),
                    meta["labels"][maia_render::labels::INSTANCE]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            };
            let theirs: std::collections::BTreeSet<_> =
                claimed.iter().map(|(_, v)| release_of(v)).collect();
            objects.extend(
                pods.into_iter()
                    .filter(|(_, v)| !theirs.contains(&release_of(v))),
            );
        }
        Err(KubeError::Forbidden { .. }) => {}
        Err(e) => return Err(e),
    }
    Ok(summarise(&objects, Timestamp::now()))
}

/// Whether a live object is one of an app's (the mkg chart's name label) or the
/// inventory of `release`.
fn is_apps(kind: &Kind, value: &Value, release: &str) -> bool {
    let meta = &value["metadata"];
    meta["labels"]["app.kubernetes.io/name"] == "mkg"
        || (*kind == kinds::CONFIG_MAP && meta["name"] == inventory::name(release).as_str())
}

/// `kind/name`, as deploy and status print objects.
fn shown(kind: &str, name: &str) -> String {
    format!("{}/{name}", kind.to_ascii_lowercase())
}

/// A workload's readiness as an app's: a Job that completed serves nothing any more.
fn app_workload_status(workload: &Value, pods: &[Value]) -> Status {
    let state = workload_status(workload, pods);
    let completed = workload["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Complete" && c["status"] == "True");
    if workload["kind"] == "Job" && state.is_ready() && (completed || is_done(workload)) {
        return Status::Failed(
            "finished: its pod has ended, so nothing is served any more (a Job runs once; \
             to run it again, `maia app delete` it, which keeps its volumes, and deploy it again)"
                .into(),
        );
    }
    state
}

/// A Job whose pod succeeded and none runs any more.
fn is_done(job: &Value) -> bool {
    let n = |k: &str| job["status"][k].as_i64().unwrap_or(0);
    n("succeeded") > 0 && n("active") == 0 && n("ready") == 0
}

/// Groups live objects into apps and judges each; pure, so `now` is given.
pub fn summarise(objects: &[(Kind, Value)], now: Timestamp) -> Vec<AppStatus> {
    let mut groups: BTreeMap<(String, String), Vec<&(Kind, Value)>> = BTreeMap::new();
    for item in objects {
        let meta = &item.1["metadata"];
        let ns = meta["namespace"].as_str().unwrap_or_default().to_string();
        let Some(release) = meta["labels"][maia_render::labels::INSTANCE].as_str() else {
            continue;
        };
        if !is_apps(&item.0, &item.1, release) {
            continue;
        }
        groups
            .entry((ns, release.to_string()))
            .or_default()
            .push(item);
    }
    groups
        .into_iter()
        .map(|((namespace, name), items)| {
            let inventory_name = inventory::name(&name);
            let inventory = items
                .iter()
                .find(|(k, v)| {
                    *k == kinds::CONFIG_MAP && v["metadata"]["name"] == inventory_name.as_str()
                })
                .map(|(_, v)| Inventory::from_config_map(v));
            let of = |k: Kind| {
                items
                    .iter()
                    .filter(move |(kind, _)| *kind == k)
                    .map(|(_, v)| v)
            };
            let pods: Vec<Value> = of(kinds::POD).cloned().collect();
            let workload = of(kinds::DEPLOYMENT).chain(of(kinds::JOB)).next().map(|w| {
                let state = app_workload_status(w, &pods);
                WorkloadStatus {
                    kind: w["kind"].as_str().unwrap_or_default().into(),
                    name: w["metadata"]["name"].as_str().unwrap_or_default().into(),
                    ready: state.is_ready(),
                    status: state,
                    seconds_left: seconds_left(w, now),
                }
            });
            let volumes: Vec<VolumeStatus> = of(kinds::PVC)
                .map(|v| VolumeStatus {
                    name: v["metadata"]["name"].as_str().unwrap_or_default().into(),
                    phase: v["status"]["phase"].as_str().unwrap_or("Pending").into(),
                    status: claim_status(v, &pods),
                })
                .collect();

            let mut problems = Vec::new();
            let live: BTreeSet<String> = items
                .iter()
                .map(|(k, v)| {
                    Inventory::entry(&k.kind, v["metadata"]["name"].as_str().unwrap_or_default())
                })
                .collect();
            match &inventory {
                None => problems.push(format!(
                    "its inventory (ConfigMap {inventory_name}) is missing, so maia cannot tell \
                     whether any of its objects is gone; `maia app deploy` records it again"
                )),
                Some(inventory) => {
                    for entry in inventory.entries() {
                        let Some((kind, object)) = entry.split_once('/') else {
                            continue;
                        };
                        // A namespace made by --create-namespace is no part of the app.
                        if kind != "Namespace" && !live.contains(entry) {
                            problems.push(format!("{} is missing", shown(kind, object)));
                        }
                    }
                }
            }
            match &workload {
                None if !problems
                    .iter()
                    .any(|p| p.starts_with("deployment/") || p.starts_with("job/")) =>
                {
                    problems.push("no workload: it has no Deployment or Job".into())
                }
                None => {}
                Some(w) => {
                    if let Some(reason) = w.status.reason().filter(|_| !w.ready) {
                        problems.push(format!("{}: {reason}", shown(&w.kind, &w.name)));
                    }
                }
            }
            for v in &volumes {
                if let Some(reason) = v.status.reason().filter(|_| !v.status.is_ready()) {
                    problems.push(format!(
                        "{}: {reason}",
                        shown("PersistentVolumeClaim", &v.name)
                    ));
                }
            }
            AppStatus {
                ready: problems.is_empty(),
                problems,
                workload,
                ports: of(kinds::SERVICE).flat_map(ports).collect(),
                urls: of(kinds::INGRESS).flat_map(urls).collect(),
                volumes,
                name,
                namespace,
            }
        })
        .collect()
}

fn seconds_left(workload: &Value, now: Timestamp) -> Option<i64> {
    let deadline = workload["spec"]["activeDeadlineSeconds"].as_i64()?;
    let started: Timestamp = workload["status"]["startTime"].as_str()?.parse().ok()?;
    let elapsed = now.as_second() - started.as_second();
    Some((deadline - elapsed).max(0))
}

fn ports(service: &Value) -> Vec<String> {
    service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or("port");
            let port = &p["port"];
            let protocol = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(node) => format!("{name} {port}:{node}/{protocol}"),
                None => format!("{name} {port}/{protocol}"),
            }
        })
        .collect()
}

/// The URLs an Ingress publishes: https for hosts its TLS covers.
pub fn urls(ingress: &Value) -> Vec<String> {
    let tls_hosts: Vec<&str> = ingress["spec"]["tls"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["hosts"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    ingress["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rule| {
            let host = rule["host"].as_str().unwrap_or("*");
            let scheme = if tls_hosts.contains(&host) {
                "https"
            } else {
                "http"
            };
            rule["http"]["paths"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |p| format!("{scheme}://{host}{}", p["path"].as_str().unwrap_or("/")))
                .collect::<Vec<_>>()
        })
        .collect()
}
