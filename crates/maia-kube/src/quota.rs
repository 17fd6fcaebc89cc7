//! A namespace's ResourceQuotas: what is used of each, and whether an app's objects
//! would fit in what is left, so a deploy is refused before any write instead of
//! leaving a Pod that never starts.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{LimitRange, PodSpec, ResourceQuota};
use kube::Api;
use kube::api::ListParams;
use maia_render::Object;
use maia_spec::quantity::{Quantity, nanos};

use crate::cluster::Cluster;
use crate::error::{KubeError, Result};

/// One resource of one quota: `used` of `hard`, as the API server counts them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuotaUse {
    /// The ResourceQuota's name.
    pub quota: String,
    /// The resource (`requests.cpu`, `requests.nvidia.com/gpu`, …).
    pub resource: String,
    /// What is in use.
    pub used: String,
    /// The limit.
    pub hard: String,
}

/// Every quota of the namespace, resource by resource, in name order.
pub async fn usage(cluster: &Cluster, namespace: &str) -> Result<Vec<QuotaUse>> {
    let quotas = list_quotas(cluster, namespace).await?;
    Ok(uses(&quotas))
}

async fn list_quotas(cluster: &Cluster, namespace: &str) -> Result<Vec<ResourceQuota>> {
    let api: Api<ResourceQuota> = Api::namespaced(cluster.client.clone(), namespace);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| KubeError::from_kube(e, &cluster.url, "list", "resourcequotas"))?;
    Ok(list.items)
}

fn uses(quotas: &[ResourceQuota]) -> Vec<QuotaUse> {
    let mut out = Vec::new();
    for quota in quotas {
        let name = quota.metadata.name.clone().unwrap_or_default();
        let status = quota.status.as_ref();
        let hard = status
            .and_then(|s| s.hard.clone())
            .or_else(|| quota.spec.as_ref().and_then(|s| s.hard.clone()))
            .unwrap_or_default();
        let used = status.and_then(|s| s.used.clone()).unwrap_or_default();
        for (resource, limit) in hard {
            out.push(QuotaUse {
                quota: name.clone(),
                used: used
                    .get(&resource)
                    .map_or_else(|| "0".to_string(), |q| q.0.clone()),
                resource,
                hard: limit.0,
            });
        }
    }
    out
}

/// What a set of objects asks of a quota, resource by resource (billionths).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Asks {
    cpu: i128,
    memory: i128,
    gpus: i128,
    storage: i128,
    pvcs: i128,
    pods: i128,
}

impl Asks {
    fn of(&self, resource: &str) -> Option<i128> {
        Some(match resource {
            "requests.cpu" | "cpu" => self.cpu,
            "requests.memory" | "memory" => self.memory,
            "requests.nvidia.com/gpu" => self.gpus,
            "requests.storage" => self.storage,
            "persistentvolumeclaims" => self.pvcs,
            "pods" => self.pods,
            _ => return None,
        })
    }
}

/// The namespace's default requests for a container that states none (its
/// LimitRanges), as (CPU, memory).
fn defaults(ranges: &[LimitRange]) -> (Option<String>, Option<String>) {
    let mut cpu = None;
    let mut memory = None;
    for item in ranges
        .iter()
        .filter_map(|r| r.spec.as_ref())
        .flat_map(|s| &s.limits)
        .filter(|i| i.type_ == "Container")
    {
        let requests = item.default_request.as_ref().or(item.default.as_ref());
        if let Some(r) = requests {
            cpu = cpu.or_else(|| r.get("cpu").map(|q| q.0.clone()));
            memory = memory.or_else(|| r.get("memory").map(|q| q.0.clone()));
        }
    }
    (cpu, memory)
}

fn add_pod(
    asks: &mut Asks,
    pod: &PodSpec,
    count: i128,
    defaults: &(Option<String>, Option<String>),
) {
    let (cpu, memory, gpus) = maia_render::workspace::tenancy::pod_requests_with(
        pod,
        defaults.0.as_deref(),
        defaults.1.as_deref(),
    );
    asks.cpu += cpu * count;
    asks.memory += memory * count;
    asks.gpus += i128::from(gpus) * 1_000_000_000 * count;
    asks.pods += 1_000_000_000 * count;
}

fn asks_of(objects: &[serde_json::Value], defaults: &(Option<String>, Option<String>)) -> Asks {
    let mut asks = Asks::default();
    for object in objects {
        match object["kind"].as_str() {
            Some("Deployment") => {
                if let Ok(d) = serde_json::from_value::<Deployment>(object.clone())
                    && let Some(spec) = d.spec
                    && let Some(pod) = spec.template.spec
                {
                    add_pod(
                        &mut asks,
                        &pod,
                        i128::from(spec.replicas.unwrap_or(1)),
                        defaults,
                    );
                }
            }
            Some("Job") => {
                if let Ok(j) = serde_json::from_value::<Job>(object.clone())
                    && let Some(spec) = j.spec
                    && let Some(pod) = spec.template.spec
                {
                    add_pod(
                        &mut asks,
                        &pod,
                        i128::from(spec.parallelism.unwrap_or(1)),
                        defaults,
                    );
                }
            }
            Some("PersistentVolumeClaim") => {
                asks.pvcs += 1_000_000_000;
                asks.storage += object["spec"]["resources"]["requests"]["storage"]
                    .as_str()
                    .and_then(nanos)
                    .unwrap_or(0);
            }
            _ => {}
        }
    }
    asks
}

/// How a resource reads in a sentence: `2 GPUs`, `16Gi of memory`, `1500m CPU`.
fn amount(resource: &str, value: i128) -> String {
    let binary = resource.contains("memory") || resource.contains("storage");
    let q = Quantity::from_nanos(value.max(0), binary);
    match resource {
        "requests.nvidia.com/gpu" => format!("{q} GPU{}", if q.as_str() == "1" { "" } else { "s" }),
        "requests.cpu" | "cpu" => format!("{q} CPU"),
        "requests.memory" | "memory" => format!("{q} of memory"),
        "requests.storage" => format!("{q} of storage"),
        "persistentvolumeclaims" => format!(
            "{q} volume claim{}",
            if q.as_str() == "1" { "" } else { "s" }
        ),
        "pods" => format!("{q} pod{}", if q.as_str() == "1" { "" } else { "s" }),
        other => format!("{q} {other}"),
    }
}

/// Why `desired` would not fit the namespace's quotas, given that `live` (the same
/// objects as they run now, if any) are already counted in the quotas' use. Empty
/// when it fits or there is no quota.
pub fn shortfalls(
    quotas: &[ResourceQuota],
    ranges: &[LimitRange],
    desired: &[serde_json::Value],
    live: &[serde_json::Value],
) -> Vec<String> {
    let defaults = defaults(ranges);
    let wanted = asks_of(desired, &defaults);
    let running = asks_of(live, &defaults);
    let mut out = Vec::new();
    for u in uses(quotas) {
        let (Some(asked), Some(freed)) = (wanted.of(&u.resource), running.of(&u.resource)) else {
            continue;
        };
        let more = asked - freed;
        if more <= 0 {
            continue;
        }
        let (Some(hard), Some(used)) = (nanos(&u.hard), nanos(&u.used)) else {
            continue;
        };
        if used + more > hard {
            out.push(format!(
                "asks for {}; the namespace has {} of {} left (quota {}, {})",
                amount(&u.resource, asked),
                amount(&u.resource, hard - used)
                    .split(' ')
                    .next()
                    .unwrap_or_default(),
                amount(&u.resource, hard)
                    .split(' ')
                    .next()
                    .unwrap_or_default(),
                u.quota,
                u.resource
            ));
        }
    }
    out
}

/// Refuses, before any write, objects that would not fit the namespace's quotas.
pub async fn check_fits(cluster: &Cluster, namespace: &str, objects: &[Object]) -> Result<()> {
    let quotas = list_quotas(cluster, namespace).await?;
    if quotas.is_empty() {
        return Ok(());
    }
    let ranges: Api<LimitRange> = Api::namespaced(cluster.client.clone(), namespace);
    let ranges = ranges
        .list(&ListParams::default())
        .await
        .map_err(|e| KubeError::from_kube(e, &cluster.url, "list", "limitranges"))?
        .items;
    let mut desired = Vec::new();
    let mut live = Vec::new();
    for object in objects {
        let value = object.to_json().map_err(|source| KubeError::Render {
            object: object.reference(),
            source,
        })?;
        let found = match object.kind() {
            "Deployment" => Api::<Deployment>::namespaced(cluster.client.clone(), namespace)
                .get_opt(object.name())
                .await
                .map(|d| d.and_then(|d| serde_json::to_value(d).ok())),
            "Job" => Api::<Job>::namespaced(cluster.client.clone(), namespace)
                .get_opt(object.name())
                .await
                .map(|j| j.and_then(|j| serde_json::to_value(j).ok())),
            "PersistentVolumeClaim" => {
                Api::<k8s_openapi::api::core::v1::PersistentVolumeClaim>::namespaced(
                    cluster.client.clone(),
                    namespace,
                )
                .get_opt(object.name())
                .await
                .map(|c| c.and_then(|c| serde_json::to_value(c).ok()))
            }
            _ => Ok(None),
        }
        .map_err(|e| KubeError::from_kube(e, &cluster.url, "get", object.reference()))?;
        if let Some(mut found) = found {
            found["kind"] = serde_json::json!(object.kind());
            live.push(found);
        }
        desired.push(value);
    }
    let problems = shortfalls(&quotas, &ranges, &desired, &live);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(KubeError::QuotaExceeded {
            namespace: namespace.to_string(),
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn quota(hard: serde_json::Value, used: serde_json::Value) -> ResourceQuota {
        serde_json::from_value(json!({
            "metadata": {"name": "maia-quota"},
            "spec": {"hard": hard.clone()},
            "status": {"hard": hard, "used": used},
        }))
        .unwrap()
    }

    fn deployment(replicas: i32, gpus: &str, cpu: Option<&str>) -> serde_json::Value {
        let mut resources = json!({"limits": {"nvidia.com/gpu": gpus}});
        if let Some(cpu) = cpu {
            resources["requests"] = json!({"cpu": cpu});
        }
        json!({"kind": "Deployment", "spec": {"replicas": replicas, "selector": {},
            "template": {"spec": {"containers": [{"name": "app", "resources": resources}]}}}})
    }

    #[test]
    fn an_app_asking_more_gpus_than_are_left_is_refused_with_the_numbers() {
        let q = [quota(
            json!({"requests.nvidia.com/gpu": "4", "requests.cpu": "8"}),
            json!({"requests.nvidia.com/gpu": "3", "requests.cpu": "1"}),
        )];
        let problems = shortfalls(&q, &[], &[deployment(1, "2", Some("1"))], &[]);
        assert_eq!(
            problems,
            [
                "asks for 2 GPUs; the namespace has 1 of 4 left (quota maia-quota, requests.nvidia.com/gpu)"
            ]
        );
        // One GPU fits.
        assert!(shortfalls(&q, &[], &[deployment(1, "1", Some("1"))], &[]).is_empty());
    }

    #[test]
    fn what_the_app_already_runs_is_not_counted_twice() {
        let q = [quota(
            json!({"requests.nvidia.com/gpu": "4"}),
            json!({"requests.nvidia.com/gpu": "4"}),
        )];
        let running = deployment(1, "2", None);
        assert!(
            shortfalls(
                &q,
                &[],
                &[deployment(1, "2", None)],
                std::slice::from_ref(&running)
            )
            .is_empty()
        );
        let problems = shortfalls(&q, &[], &[deployment(2, "2", None)], &[running]);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn containers_without_requests_count_at_the_namespace_defaults() {
        let ranges: Vec<LimitRange> = vec![
            serde_json::from_value(json!({
            "metadata": {"name": "maia-defaults"},
            "spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "500m"}}]}}))
            .unwrap(),
        ];
        let q = [quota(
            json!({"requests.cpu": "2"}),
            json!({"requests.cpu": "1"}),
        )];
        assert!(shortfalls(&q, &ranges, &[deployment(2, "0", None)], &[]).is_empty());
        let problems = shortfalls(&q, &ranges, &[deployment(3, "0", None)], &[]);
        assert_eq!(
            problems,
            ["asks for 1500m CPU; the namespace has 1 of 2 left (quota maia-quota, requests.cpu)"]
        );
    }
}
