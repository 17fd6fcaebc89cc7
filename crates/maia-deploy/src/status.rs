//! `maia app status` / `list`: each app's workload, whether it is ready and why not,
//! time left for Jobs, service ports and ingress URLs.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::error::{DeployError, Result};
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
    let kinds = [
        kinds::PVC,
        kinds::SERVICE,
        kinds::JOB,
        kinds::DEPLOYMENT,
        kinds::INGRESS,
    ];
    let (objects, pods) = futures::future::join(
        live::list_kinds(cluster, namespace, &kinds, &selector),
        live::list_kinds(cluster, namespace, &[kinds::POD], &pod_selector),
    )
    .await;
    let mut objects = objects?;
    // A workspace's MySQL and MLflow are rendered as apps, but they are the
    // workspace's: never listed, and `status` of one names the workspace.
    let workspaces = crate::ownership::Workspaces::read(cluster, namespace).await?;
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
        Err(DeployError::Forbidden { .. }) => {}
        Err(e) => return Err(e),
    }
    Ok(summarise(&objects, Timestamp::now()))
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
        groups
            .entry((ns, release.to_string()))
            .or_default()
            .push(item);
    }
    groups
        .into_iter()
        .map(|((namespace, name), items)| {
            let of = |k: Kind| {
                items
                    .iter()
                    .filter(move |(kind, _)| *kind == k)
                    .map(|(_, v)| v)
            };
            let pods: Vec<Value> = of(kinds::POD).cloned().collect();
            let workload = of(kinds::DEPLOYMENT).chain(of(kinds::JOB)).next().map(|w| {
                let state = workload_status(w, &pods);
                WorkloadStatus {
                    kind: w["kind"].as_str().unwrap_or_default().into(),
                    name: w["metadata"]["name"].as_str().unwrap_or_default().into(),
                    ready: state.is_ready(),
                    status: state,
                    seconds_left: seconds_left(w, now),
                }
            });
            AppStatus {
                workload,
                ports: of(kinds::SERVICE).flat_map(ports).collect(),
                urls: of(kinds::INGRESS).flat_map(urls).collect(),
                volumes: of(kinds::PVC)
                    .map(|v| VolumeStatus {
                        name: v["metadata"]["name"].as_str().unwrap_or_default().into(),
                        phase: v["status"]["phase"].as_str().unwrap_or("Pending").into(),
                        status: claim_status(v, &pods),
                    })
                    .collect(),
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
pub(crate) fn urls(ingress: &Value) -> Vec<String> {
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
