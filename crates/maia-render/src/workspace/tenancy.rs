//! A workspace as a tenant: the quota and container defaults, the network policies,
//! the Pod Security level and the members' kubectl access. Rendered last, from what
//! the other components rendered (their pods, claims, Services and Ingresses), and
//! applied right after the namespace, before anything that runs a pod.

use crate::error::QuotaShort;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LimitRange, LimitRangeItem, LimitRangeSpec, PodSpec};
use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaSpec};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use maia_spec::quantity::{Quantity, nanos};
use maia_spec::workspace::{Egress, WorkspaceSpec};

use super::Component;
use crate::labels::workspace_labels;
use crate::object::Object;
use crate::pod_security::{self, Level};

/// Requests the LimitRange gives a container that states none (CPU, memory).
pub(crate) const DEFAULT_REQUESTS: (&str, &str) = ("100m", "128Mi");
/// Limits the LimitRange gives a container that states none (CPU, memory).
pub(crate) const DEFAULT_LIMITS: (&str, &str) = ("1", "1Gi");
/// The extended resource of NVIDIA GPUs.
const GPU: &str = "nvidia.com/gpu";
/// Port of the workspace's SSH server.
const DNS_PORT: i32 = 53;

/// Name of the quota, the LimitRange and the prefix of every policy and binding.
pub const QUOTA_NAME: &str = "maia-quota";

/// What a workspace asks of the cluster: the sums its quota must hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// CPU requested by every pod, in billionths of a core.
    pub cpu: i128,
    /// Memory requested by every pod, in billionths of a byte.
    pub memory: i128,
    /// GPUs requested by every pod.
    pub gpus: u64,
    /// Storage requested by every claim, in billionths of a byte.
    pub storage: i128,
    /// Volume claims.
    pub pvcs: u64,
}

fn q(text: &str) -> i128 {
    nanos(text).unwrap_or(0)
}

/// One container's request of `resource`: its request, else its limit (the API
/// server copies a lone limit into the request), else the namespace's default.
fn container_request(
    resources: Option<&k8s_openapi::api::core::v1::ResourceRequirements>,
    resource: &str,
    default: Option<&str>,
) -> i128 {
    let pick = |map: Option<&BTreeMap<String, K8sQuantity>>| {
        map.and_then(|m| m.get(resource)).map(|v| q(&v.0))
    };
    resources
        .and_then(|r| pick(r.requests.as_ref()).or_else(|| pick(r.limits.as_ref())))
        .or_else(|| default.map(q))
        .unwrap_or(0)
}

/// A pod's requests (CPU, memory, GPUs) as the scheduler and the quota count them:
/// the sum of its containers, or its largest init container when that is larger.
pub fn pod_requests(spec: &PodSpec) -> (i128, i128, u64) {
    pod_requests_with(spec, Some(DEFAULT_REQUESTS.0), Some(DEFAULT_REQUESTS.1))
}

/// [`pod_requests`] with a namespace's own default requests (CPU, memory) for
/// containers that state none.
pub fn pod_requests_with(
    spec: &PodSpec,
    default_cpu: Option<&str>,
    default_memory: Option<&str>,
) -> (i128, i128, u64) {
    let of = |resource: &str, default: Option<&str>| {
        let sum: i128 = spec
            .containers
            .iter()
            .map(|c| container_request(c.resources.as_ref(), resource, default))
            .sum();
        let init = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| container_request(c.resources.as_ref(), resource, default))
            .max()
            .unwrap_or(0);
        sum.max(init)
    };
    let gpus = of(GPU, None) / 1_000_000_000;
    (
        of("cpu", default_cpu),
        of("memory", default_memory),
        u64::try_from(gpus).unwrap_or(0),
    )
}

/// Every pod spec of maia's own workloads, with how many of it run at once.
fn pod_specs(objects: &[&Object]) -> Vec<(PodSpec, i128)> {
    let mut out = Vec::new();
    for object in objects {
        match object {
            Object::Deployment(d) => {
                let spec = d.spec.as_ref();
                let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
                if let Some(pod) = spec.and_then(|s| s.template.spec.clone()) {
                    out.push((pod, i128::from(replicas)));
                }
            }
            Object::Job(j) => {
                let spec = j.spec.as_ref();
                let parallel = spec.and_then(|s| s.parallelism).unwrap_or(1);
                if let Some(pod) = spec.and_then(|s| s.template.spec.clone()) {
                    out.push((pod, i128::from(parallel)));
                }
            }
            _ => {}
        }
    }
    out
}

/// What the rendered components ask for: maia's pods and claims, the MinIO Tenant's
/// servers and volumes, and each chart release's footprint.
pub fn needs(components: &[Component]) -> Needs {
    let objects: Vec<&Object> = components.iter().flat_map(|c| &c.objects).collect();
    let mut n = Needs::default();
    for (pod, count) in pod_specs(&objects) {
        let (cpu, memory, gpus) = pod_requests(&pod);
        n.cpu += cpu * count;
        n.memory += memory * count;
        n.gpus += gpus * u64::try_from(count).unwrap_or(0);
    }
    for object in &objects {
        match object {
            Object::PersistentVolumeClaim(c) => {
                n.pvcs += 1;
                n.storage += c
                    .spec
                    .as_ref()
                    .and_then(|s| s.resources.as_ref())
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("storage"))
                    .map_or(0, |s| q(&s.0));
            }
            Object::Custom(c) if c.kind == "Tenant" => {
                for pool in c.body["spec"]["pools"].as_array().into_iter().flatten() {
                    let servers = pool["servers"].as_i64().unwrap_or(1);
                    let volumes = pool["volumesPerServer"].as_i64().unwrap_or(1);
                    let size =
                        pool["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
                            .as_str()
                            .map_or(0, q);
                    let claims = i128::from(servers) * i128::from(volumes);
                    n.pvcs += u64::try_from(claims).unwrap_or(0);
                    n.storage += size * claims;
                    // The MinIO container at the pool's requests (or the default), and
                    // the operator's sidecar at the default.
                    let requests = &pool["resources"]["requests"];
                    let cpu = requests["cpu"].as_str().unwrap_or(DEFAULT_REQUESTS.0);
                    let memory = requests["memory"].as_str().unwrap_or(DEFAULT_REQUESTS.1);
                    n.cpu += i128::from(servers) * (q(cpu) + q(DEFAULT_REQUESTS.0));
                    n.memory += i128::from(servers) * (q(memory) + q(DEFAULT_REQUESTS.1));
                }
            }
            _ => {}
        }
    }
    for release in components.iter().flat_map(|c| &c.helm) {
        for (cpu, memory, gpus) in &release.footprint.pods {
            n.cpu += q(cpu);
            n.memory += q(memory);
            n.gpus += u64::from(*gpus);
        }
        for size in &release.footprint.claims {
            n.pvcs += 1;
            n.storage += q(size);
        }
    }
    n
}

/// A volume claim the namespace holds now, as the cluster shows it (a fact the caller
/// gathers: render reads no cluster).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistingClaim {
    /// Its name.
    pub name: String,
    /// The storage it requests (`10Gi`).
    pub storage: String,
    /// The member whose JupyterHub home it is (KubeSpawner's
    /// `hub.jupyter.org/username` on a `component: singleuser-storage` claim).
    pub home_of: Option<String>,
    /// The helm release (`release` / `app.kubernetes.io/instance` label) or MinIO Tenant
    /// (`v1.min.io/tenant`) that made it.
    pub made_by: Option<String>,
}

/// A pod running in the namespace now (not terminated), as the cluster shows it: a
/// fact the caller gathers, like [`ExistingClaim`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistingPod {
    /// Its name.
    pub name: String,
    /// Its labels (a rendered workload's pod carries its template's).
    pub labels: BTreeMap<String, String>,
    /// CPU it requests, as the quota counts it, in billionths of a core.
    pub cpu: i128,
    /// Memory it requests, in billionths of a byte.
    pub memory: i128,
    /// GPUs it requests.
    pub gpus: u64,
    /// The member whose JupyterHub server it is (KubeSpawner's
    /// `hub.jupyter.org/username` on a `component: singleuser-server` pod).
    pub server_of: Option<String>,
    /// The helm release (`release` / `app.kubernetes.io/instance` label) or MinIO Tenant
    /// (`v1.min.io/tenant`) that runs it.
    pub made_by: Option<String>,
}

/// What the namespace holds now that the quota must cover (read by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Existing {
    /// Its volume claims.
    pub claims: Vec<ExistingClaim>,
    /// Its pods that run (or wait to).
    pub pods: Vec<ExistingPod>,
}

/// What each object the namespace holds now adds beyond what the rendered workspace
/// counts, by name: a claim nothing rendered counts (the home of a member who left,
/// which is kept; an app's or a member's own claim) whole, and one counted but grown
/// since (volume expansion) by what it grew; a pod nothing rendered runs (the
/// still-running server of a member who left, a researcher's app Job or Deployment, a
/// member's own pod) at its requests. These explain a quota raised to what is in use.
pub fn unrendered(
    spec: &WorkspaceSpec,
    components: &[Component],
    existing: &Existing,
) -> Vec<(String, Needs)> {
    let objects: Vec<&Object> = components.iter().flat_map(|c| &c.objects).collect();
    // maia's own claims, by name, with the size they count at.
    let rendered: BTreeMap<&str, i128> = objects
        .iter()
        .filter_map(|o| match o {
            Object::PersistentVolumeClaim(c) => Some((
                o.name(),
                c.spec
                    .as_ref()
                    .and_then(|s| s.resources.as_ref())
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("storage"))
                    .map_or(0, |s| q(&s.0)),
            )),
            _ => None,
        })
        .collect();
    // maia's own workloads' pods carry their template's labels.
    let templates: Vec<BTreeMap<String, String>> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Deployment(d) => d.spec.as_ref()?.template.metadata.as_ref()?.labels.clone(),
            Object::Job(j) => j.spec.as_ref()?.template.metadata.as_ref()?.labels.clone(),
            _ => None,
        })
        .filter(|l| !l.is_empty())
        .collect();
    // Claims and pods these make are counted by their footprint or pools.
    let makers: std::collections::BTreeSet<&str> = components
        .iter()
        .flat_map(|c| &c.helm)
        .map(|r| r.release.as_str())
        .chain(
            objects
                .iter()
                .filter(|o| matches!(o, Object::Custom(c) if c.kind == "Tenant"))
                .map(|o| o.name()),
        )
        .collect();
    let made_here = |by: &Option<String>| by.as_deref().is_some_and(|m| makers.contains(m));
    let member = |user: &str| spec.users.iter().any(|u| u.eq_ignore_ascii_case(user));
    let mut out = Vec::new();
    for claim in &existing.claims {
        let live = q(&claim.storage);
        // The size it is counted at already, when it is counted.
        let counted = match &claim.home_of {
            Some(user) => member(user).then(|| q(super::jupyterhub::HOME_SIZE)),
            None => rendered
                .get(claim.name.as_str())
                .copied()
                // A chart's or the Tenant's: counted, at a size not known by name.
                .or_else(|| made_here(&claim.made_by).then_some(live)),
        };
        let adds = match counted {
            Some(size) if live > size => Needs {
                storage: live - size,
                ..Default::default()
            },
            Some(_) => continue,
            None => Needs {
                storage: live,
                pvcs: 1,
                ..Default::default()
            },
        };
        out.push((format!("pvc/{}", claim.name), adds));
    }
    for pod in &existing.pods {
        let counted = match &pod.server_of {
            // A member's server counts at its limits; a departed member's does not.
            Some(user) => member(user),
            None => {
                made_here(&pod.made_by)
                    || templates
                        .iter()
                        .any(|t| t.iter().all(|(k, v)| pod.labels.get(k) == Some(v)))
            }
        };
        if !counted {
            let adds = Needs {
                cpu: pod.cpu,
                memory: pod.memory,
                gpus: pod.gpus,
                ..Default::default()
            };
            out.push((format!("pod/{}", pod.name), adds));
        }
    }
    out
}

/// Everything the namespace holds now, by name: each claim (one, at its live size) and
/// each pod that runs or waits to (at its requests). Their sums are what is in use.
pub fn in_use(existing: &Existing) -> Vec<(String, Needs)> {
    let claims = existing.claims.iter().map(|c| {
        let n = Needs {
            storage: q(&c.storage),
            pvcs: 1,
            ..Default::default()
        };
        (format!("pvc/{}", c.name), n)
    });
    let pods = existing.pods.iter().map(|p| {
        let n = Needs {
            cpu: p.cpu,
            memory: p.memory,
            gpus: p.gpus,
            ..Default::default()
        };
        (format!("pod/{}", p.name), n)
    });
    claims.chain(pods).collect()
}

/// Raises each hard limit below what is in use now to exactly that: a quota below
/// what exists refuses every new pod or claim until enough of it ends (a departed
/// member's server still running, their kept home). Only then: what members and their
/// apps run within the room the quota leaves never raises it, so each re-deploy keeps
/// the quota where it was instead of adding what runs on top. Returns why, one sentence
/// per resource raised, naming its largest contributors; nothing when none is.
fn cover_in_use(
    spec: &WorkspaceSpec,
    in_use: &[(String, Needs)],
    unrendered: &[(String, Needs)],
    hard: &mut BTreeMap<String, Quantity>,
) -> Vec<String> {
    let asked = &spec.quota;
    type Of = fn(&Needs) -> i128;
    let rows: [(&str, &str, bool, bool, &str, Of); 5] = [
        (
            "requests.cpu",
            "cpu",
            asked.cpu.is_some(),
            false,
            " CPU",
            |n| n.cpu,
        ),
        (
            "requests.memory",
            "memory",
            asked.memory.is_some(),
            true,
            "",
            |n| n.memory,
        ),
        (
            "requests.nvidia.com/gpu",
            "gpu",
            asked.gpu.is_some(),
            false,
            " GPU(s)",
            |n| i128::from(n.gpus) * 1_000_000_000,
        ),
        (
            "requests.storage",
            "storage",
            asked.storage.is_some(),
            true,
            "",
            |n| n.storage,
        ),
        (
            "persistentvolumeclaims",
            "pvcs",
            asked.pvcs.is_some(),
            false,
            " volume claim(s)",
            |n| i128::from(n.pvcs) * 1_000_000_000,
        ),
    ];
    let mut notes = Vec::new();
    for (resource, field, from_form, binary, unit, of) in rows {
        let used: i128 = in_use.iter().map(|(_, n)| of(n)).sum();
        let base = hard.get(resource).map_or(0, Quantity::nanos);
        if used <= base {
            continue;
        }
        let amount = |n: i128| format!("{}{unit}", Quantity::from_nanos(n, binary));
        // What the workspace does not render is why; else (a rollout's extra pods,
        // say) the largest of everything.
        let mut by: Vec<(&str, i128)> = unrendered
            .iter()
            .map(|(name, n)| (name.as_str(), of(n)))
            .filter(|(_, v)| *v > 0)
            .collect();
        if by.is_empty() {
            by = in_use
                .iter()
                .map(|(name, n)| (name.as_str(), of(n)))
                .filter(|(_, v)| *v > 0)
                .collect();
        }
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut most: Vec<String> = by
            .iter()
            .take(3)
            .map(|(name, v)| format!("{name} ({})", amount(*v)))
            .collect();
        if by.len() > 3 {
            most.push(format!("{} more", by.len() - 3));
        }
        let was = if from_form {
            format!("the group form's quota.{field} {}", amount(base))
        } else {
            format!("what the workspace needs, {}", amount(base))
        };
        let raised = Quantity::from_nanos(used, binary);
        notes.push(format!(
            "{resource} is {}, above {was}: that much is in use in the namespace now, most by {}; a quota below what is in use would refuse every new pod or claim",
            amount(used),
            most.join(", ")
        ));
        hard.insert(resource.to_string(), raised);
    }
    notes
}

/// The quota's hard limits: the form's `quota` where given, else what the workspace
/// itself needs.
pub fn hard_limits(spec: &WorkspaceSpec, needs: &Needs) -> BTreeMap<String, Quantity> {
    let asked = &spec.quota;
    let pick = |given: &Option<Quantity>, need: i128, binary: bool| {
        given
            .clone()
            .unwrap_or_else(|| Quantity::from_nanos(need, binary))
    };
    let count = |given: Option<u32>, need: u64| {
        Quantity::from_nanos(
            i128::from(given.map_or(need, u64::from)) * 1_000_000_000,
            false,
        )
    };
    BTreeMap::from([
        (
            "requests.cpu".to_string(),
            pick(&asked.cpu, needs.cpu, false),
        ),
        (
            "requests.memory".to_string(),
            pick(&asked.memory, needs.memory, true),
        ),
        (format!("requests.{GPU}"), count(asked.gpu, needs.gpus)),
        (
            "requests.storage".to_string(),
            pick(&asked.storage, needs.storage, true),
        ),
        (
            "persistentvolumeclaims".to_string(),
            count(asked.pvcs, needs.pvcs),
        ),
    ])
}

/// The group form's `quota` fields below what the workspace itself asks (its own pods,
/// each member's server, its claims), one sentence each with both numbers.
pub fn quota_shortfall(spec: &WorkspaceSpec, components: &[Component]) -> Vec<QuotaShort> {
    let needs = needs(components);
    let asked = &spec.quota;
    let mut short = Vec::new();
    let mut quantity = |field: &'static str, given: &Option<Quantity>, need: i128, binary: bool| {
        if let Some(given) = given
            && given.nanos() < need
        {
            short.push(QuotaShort {
                field,
                message: format!(
                    "{given} is below the {} the workspace itself requests",
                    Quantity::from_nanos(need, binary)
                ),
            });
        }
    };
    quantity("cpu", &asked.cpu, needs.cpu, false);
    quantity("memory", &asked.memory, needs.memory, true);
    quantity("storage", &asked.storage, needs.storage, true);
    for (field, given, need) in [
        ("gpu", asked.gpu, needs.gpus),
        ("pvcs", asked.pvcs, needs.pvcs),
    ] {
        if let Some(given) = given
            && u64::from(given) < need
        {
            short.push(QuotaShort {
                field,
                message: format!("{given} is below the {need} the workspace itself requests"),
            });
        }
    }
    short
}

/// The strictest Pod Security level every pod of the workspace passes: maia's own
/// pods as rendered, the members' servers as the cluster config runs them.
pub fn enforce_level(spec: &WorkspaceSpec, components: &[Component]) -> Level {
    let objects: Vec<&Object> = components.iter().flat_map(|c| &c.objects).collect();
    let members = if spec.cluster.tenancy.privileged_workspaces {
        Level::Privileged
    } else {
        Level::Baseline
    };
    pod_specs(&objects)
        .iter()
        .map(|(pod, _)| pod_security::strictest(pod))
        .fold(members, Ord::min)
}

fn k8s(q: &str) -> K8sQuantity {
    K8sQuantity(q.to_string())
}

fn selector(labels: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        // `{}` selects every pod, as kubectl writes it.
        match_labels: (!labels.is_empty()).then_some(labels),
        ..Default::default()
    }
}

fn namespace_peer(namespace: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(selector(BTreeMap::from([(
            "kubernetes.io/metadata.name".to_string(),
            namespace.to_string(),
        )]))),
        ..Default::default()
    }
}

fn tcp(port: IntOrString) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(port),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// The pods behind each Service an Ingress or a node port exposes, with the ports.
struct Exposed {
    /// Services behind maia's Ingresses: (name, pod labels, target ports).
    behind_ingress: Vec<(String, BTreeMap<String, String>, Vec<IntOrString>)>,
    /// NodePort and LoadBalancer Services (SSH): (name, pod labels, target ports).
    outside: Vec<(String, BTreeMap<String, String>, Vec<IntOrString>)>,
}

fn exposed(objects: &[&Object]) -> Exposed {
    let services: BTreeMap<&str, &k8s_openapi::api::core::v1::Service> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Service(s) => Some((s.metadata.name.as_deref().unwrap_or_default(), s)),
            _ => None,
        })
        .collect();
    let target = |s: &k8s_openapi::api::core::v1::Service| -> Option<(
        BTreeMap<String, String>,
        Vec<IntOrString>,
    )> {
        let spec = s.spec.as_ref()?;
        let labels = spec.selector.clone().filter(|l| !l.is_empty())?;
        let ports = spec
            .ports
            .iter()
            .flatten()
            .map(|p| {
                p.target_port
                    .clone()
                    .unwrap_or(IntOrString::Int(p.port))
            })
            .collect();
        Some((labels, ports))
    };
    let mut backends: Vec<String> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Ingress(i) => Some(i),
            _ => None,
        })
        .flat_map(|i| {
            let spec = i.spec.as_ref();
            spec.into_iter()
                .flat_map(|s| s.rules.iter().flatten())
                .flat_map(|r| r.http.iter().flat_map(|h| &h.paths))
                .filter_map(|p| p.backend.service.as_ref().map(|s| s.name.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    backends.sort();
    backends.dedup();
    let behind_ingress = backends
        .iter()
        .filter_map(|name| {
            let (labels, ports) = target(services.get(name.as_str())?)?;
            Some((name.clone(), labels, ports))
        })
        .collect();
    let outside = services
        .iter()
        .filter(|(_, s)| {
            s.spec
                .as_ref()
                .and_then(|sp| sp.type_.as_deref())
                .is_some_and(|t| t == "NodePort" || t == "LoadBalancer")
        })
        .filter_map(|(name, s)| {
            let (labels, ports) = target(s)?;
            Some((name.to_string(), labels, ports))
        })
        .collect();
    Exposed {
        behind_ingress,
        outside,
    }
}

/// The workspace's tenancy objects, and the level its namespace enforces.
pub(crate) fn render(
    spec: &WorkspaceSpec,
    components: &[Component],
    existing: &Existing,
) -> (Component, Level, Vec<String>) {
    let ns = spec.namespace.to_string();
    let tenancy = &spec.cluster.tenancy;
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(ns.clone()),
        labels: Some(workspace_labels(&ns, "tenancy")),
        ..Default::default()
    };
    // What the workspace needs (or the form gives), raised only where more than that
    // is in use now: never by what runs within the room it leaves.
    let mut hard = hard_limits(spec, &needs(components));
    let notes = cover_in_use(
        spec,
        &in_use(existing),
        &unrendered(spec, components, existing),
        &mut hard,
    );
    let mut objects: Vec<Object> = Vec::new();

    objects.push(
        ResourceQuota {
            metadata: meta(QUOTA_NAME),
            spec: Some(ResourceQuotaSpec {
                hard: Some(
                    hard.into_iter()
                        .map(|(k, v)| (k, k8s(v.as_str())))
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
        .into(),
    );
    objects.push(
        LimitRange {
            metadata: meta("maia-defaults"),
            spec: Some(LimitRangeSpec {
                limits: vec![LimitRangeItem {
                    type_: "Container".into(),
                    default_request: Some(BTreeMap::from([
                        ("cpu".to_string(), k8s(DEFAULT_REQUESTS.0)),
                        ("memory".to_string(), k8s(DEFAULT_REQUESTS.1)),
                    ])),
                    default: Some(BTreeMap::from([
                        ("cpu".to_string(), k8s(DEFAULT_LIMITS.0)),
                        ("memory".to_string(), k8s(DEFAULT_LIMITS.1)),
                    ])),
                    ..Default::default()
                }],
            }),
        }
        .into(),
    );

    // Ingress: nothing but what is allowed below.
    let policy = |name: &str,
                  pods: BTreeMap<String, String>,
                  ingress: Option<Vec<NetworkPolicyIngressRule>>,
                  egress: Option<Vec<NetworkPolicyEgressRule>>| {
        let mut types = Vec::new();
        if ingress.is_some() {
            types.push("Ingress".to_string());
        }
        if egress.is_some() {
            types.push("Egress".to_string());
        }
        Object::from(NetworkPolicy {
            metadata: meta(name),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(selector(pods)),
                policy_types: Some(types),
                ingress,
                egress,
            }),
        })
    };
    objects.push(policy(
        "maia-default-deny-ingress",
        BTreeMap::new(),
        Some(vec![]),
        None,
    ));
    objects.push(policy(
        "maia-allow-same-namespace",
        BTreeMap::new(),
        Some(vec![NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                pod_selector: Some(LabelSelector::default()),
                ..Default::default()
            }]),
            ports: None,
        }]),
        None,
    ));
    let all: Vec<&Object> = components.iter().flat_map(|c| &c.objects).collect();
    let exposed = exposed(&all);
    let from_ingress = |ports: Option<Vec<NetworkPolicyPort>>| {
        Some(vec![NetworkPolicyIngressRule {
            from: Some(vec![namespace_peer(&tenancy.ingress_namespace)]),
            ports,
        }])
    };
    for (service, pods, ports) in exposed.behind_ingress {
        objects.push(policy(
            &format!("maia-ingress-to-{service}"),
            pods,
            from_ingress(Some(ports.into_iter().map(tcp).collect())),
            None,
        ));
    }
    for release in components.iter().flat_map(|c| &c.helm) {
        if !release.footprint.ingress_pods.is_empty() {
            objects.push(policy(
                &format!("maia-ingress-to-{}", release.release),
                release.footprint.ingress_pods.clone(),
                from_ingress(None),
                None,
            ));
        }
    }
    for (service, pods, ports) in exposed.outside {
        // Reached from outside the cluster through a node port or a load balancer:
        // any source, those ports only.
        objects.push(policy(
            &format!("maia-outside-to-{service}"),
            pods,
            Some(vec![NetworkPolicyIngressRule {
                from: None,
                ports: Some(ports.into_iter().map(tcp).collect()),
            }]),
            None,
        ));
    }
    if let Some(tenant) = all
        .iter()
        .find(|o| matches!(o, Object::Custom(c) if c.kind == "Tenant"))
    {
        objects.push(policy(
            "maia-minio-operator-to-tenant",
            BTreeMap::from([("v1.min.io/tenant".to_string(), tenant.name().to_string())]),
            Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![namespace_peer(&tenancy.minio_operator_namespace)]),
                ports: None,
            }]),
            None,
        ));
    }
    if let Egress::Restricted { allow } = &tenancy.egress {
        let dns = NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(selector(BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_string(),
                    "kube-system".to_string(),
                )]))),
                pod_selector: Some(selector(BTreeMap::from([(
                    "k8s-app".to_string(),
                    "kube-dns".to_string(),
                )]))),
                ..Default::default()
            }]),
            ports: Some(
                ["UDP", "TCP"]
                    .map(|protocol| NetworkPolicyPort {
                        port: Some(IntOrString::Int(DNS_PORT)),
                        protocol: Some(protocol.into()),
                        ..Default::default()
                    })
                    .to_vec(),
            ),
        };
        let same = NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                pod_selector: Some(LabelSelector::default()),
                ..Default::default()
            }]),
            ports: None,
        };
        let listed = NetworkPolicyEgressRule {
            to: Some(
                allow
                    .iter()
                    .map(|cidr| NetworkPolicyPeer {
                        ip_block: Some(IPBlock {
                            cidr: cidr.clone(),
                            except: None,
                        }),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ports: None,
        };
        objects.push(policy(
            "maia-restricted-egress",
            BTreeMap::new(),
            None,
            Some(vec![dns, same, listed]),
        ));
    }

    objects.push(
        Role {
            metadata: meta("maia-member"),
            rules: Some(member_rules()),
        }
        .into(),
    );
    let binding = |name: &str, group: String, kind: &str, role: &str| {
        Object::from(RoleBinding {
            metadata: meta(name),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: kind.into(),
                name: role.into(),
            },
            subjects: Some(vec![Subject {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: "Group".into(),
                name: group,
                namespace: None,
            }]),
        })
    };
    let prefix = &tenancy.oidc_groups_prefix;
    objects.push(binding(
        "maia-members",
        format!("{prefix}{}", spec.keycloak_group()),
        "Role",
        "maia-member",
    ));
    objects.push(binding(
        "maia-admins",
        format!("{prefix}MAIA:admin"),
        "ClusterRole",
        "admin",
    ));
    // What the Role cannot except: the workspace's own objects, guarded by admission.
    objects.extend(super::guard::render(spec, components));

    let level = enforce_level(spec, components);
    (
        Component {
            name: "tenancy",
            objects,
            depends_on: vec!["namespace"],
            ..Default::default()
        },
        level,
        notes,
    )
}

/// What members may do with kubectl in their namespace: run and manage their own
/// workloads, Services, ConfigMaps, claims and Jobs; create (not read) Secrets, since
/// the namespace's Secrets hold the registry's and the charts' credentials; nothing on
/// roles, bindings, quotas, limits or network policies. The workspace's own objects
/// among them are guarded by the admission policy of [`super::guard`], which sees only
/// whole objects: so no `deletecollection`, no `deployments/scale` (a Scale carries no
/// labels; `kubectl patch` scales a member's own Deployment), and ReplicaSets (their
/// Deployments' business) read-only.
pub fn member_rules() -> Vec<PolicyRule> {
    let all = [
        "get", "list", "watch", "create", "update", "patch", "delete",
    ];
    let read = ["get", "list", "watch"];
    let rule = |group: &str, resources: &[&str], verbs: &[&str]| PolicyRule {
        api_groups: Some(vec![group.to_string()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    };
    vec![
        rule(
            "",
            &["pods", "services", "configmaps", "persistentvolumeclaims"],
            &all,
        ),
        rule(
            "",
            &["pods/exec", "pods/attach", "pods/portforward"],
            &["get", "create"],
        ),
        rule(
            "",
            &["pods/log", "events", "endpoints"],
            &["get", "list", "watch"],
        ),
        rule("", &["secrets"], &["create"]),
        rule("apps", &["deployments", "statefulsets"], &all),
        rule("apps", &["replicasets"], &read),
        rule("batch", &["jobs", "cronjobs"], &all),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Bundle;
    use crate::workspace::testing::{first_bundle as bundle, variants};
    use serde_json::Value;

    fn json(o: &Object) -> Value {
        o.to_json().unwrap()
    }

    fn tenancy_objects(b: &Bundle) -> Vec<Value> {
        let c = b.components.iter().find(|c| c.name == "tenancy").unwrap();
        c.objects.iter().map(json).collect()
    }

    fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} in {objects:#?}"))
    }

    #[test]
    fn every_scenario_fits_the_quota_it_renders() {
        for (name, spec) in variants() {
            let b = bundle(&spec);
            let objects = tenancy_objects(&b);
            let hard = &named(&objects, "ResourceQuota", QUOTA_NAME)["spec"]["hard"];
            let n = needs(&b.components);
            let of = |key: &str| q(hard[key].as_str().unwrap_or_else(|| panic!("{key}")));
            assert!(n.cpu > 0 && n.cpu <= of("requests.cpu"), "{name}: {hard}");
            assert!(n.memory <= of("requests.memory"), "{name}: {hard}");
            assert!(n.storage <= of("requests.storage"), "{name}: {hard}");
            assert!(
                i128::from(n.pvcs as u32) * 1_000_000_000 <= of("persistentvolumeclaims"),
                "{name}"
            );
            assert_eq!(
                of("requests.nvidia.com/gpu"),
                i128::from(spec.gpus.unwrap_or(0))
                    * i128::try_from(spec.users.len()).unwrap()
                    * 1_000_000_000,
                "{name}: GPUs are the members' only"
            );
        }
    }

    #[test]
    fn the_quota_counts_every_pod_claim_and_member() {
        let spec = WorkspaceSpec::test();
        let b = bundle(&spec);
        let n = needs(&b.components);
        // Each member's server at its limits, and a 10Gi home each.
        let mut more = spec.clone();
        more.users.push("carol@example.org".into());
        let m = needs(&bundle(&more).components);
        assert_eq!(m.cpu - n.cpu, q("4"));
        assert_eq!(m.memory - n.memory, q("8G"));
        assert_eq!(m.storage - n.storage, q("10Gi"));
        assert_eq!(m.pvcs - n.pvcs, 1);
        // The charts' footprints say what their values set.
        let values = |release: &str| {
            b.components
                .iter()
                .flat_map(|c| &c.helm)
                .find(|h| h.release == release)
                .unwrap()
                .values
                .clone()
        };
        let hub = values("jupyterhub-brain-mri");
        assert_eq!(hub["hub"]["resources"]["requests"]["cpu"], "200m");
        assert_eq!(hub["singleuser"]["storage"]["capacity"], "10Gi");
        assert_eq!(hub["prePuller"]["hook"]["enabled"], false);
        assert_eq!(hub["scheduling"]["userScheduler"]["enabled"], false);
        let proxy = values("oauth2-proxy");
        assert_eq!(proxy["redis"]["architecture"], "standalone");
        assert_eq!(proxy["resources"]["requests"]["memory"], "128Mi");
        let ls = values("label-studio");
        assert_eq!(ls["postgresql"]["primary"]["persistence"]["size"], "8Gi");
    }

    #[test]
    fn a_quota_in_the_form_wins_field_by_field() {
        let mut spec = WorkspaceSpec::test().with_gpu(1);
        spec.quota.cpu = Some("64".parse().unwrap());
        spec.quota.gpu = Some(4);
        let objects = tenancy_objects(&bundle(&spec));
        let hard = &named(&objects, "ResourceQuota", QUOTA_NAME)["spec"]["hard"];
        assert_eq!(hard["requests.cpu"], "64");
        assert_eq!(hard["requests.nvidia.com/gpu"], "4");
        // Left out: computed, rounded up to whole MiB.
        let memory = hard["requests.memory"].as_str().unwrap();
        assert!(memory.ends_with("Mi") || memory.ends_with("Gi"), "{memory}");
    }

    fn hard_with(spec: &WorkspaceSpec, existing: &Existing) -> (Value, Vec<String>) {
        use crate::workspace::credentials::CountingSource;
        use crate::workspace::testing::first_ports;
        let b = crate::workspace::render_facts(
            spec,
            &Default::default(),
            &mut CountingSource::default(),
            &first_ports(spec),
            None,
            existing,
        )
        .unwrap();
        let objects = tenancy_objects(&b);
        let hard = named(&objects, "ResourceQuota", QUOTA_NAME)["spec"]["hard"].clone();
        (hard, b.quota_notes)
    }

    #[test]
    fn the_quota_is_raised_only_to_what_is_in_use_when_that_exceeds_it() {
        let spec = WorkspaceSpec::test();
        let own = needs(&bundle(&spec).components);
        let mut formed = spec.clone();
        // Exactly what the workspace needs; memory and the rest computed.
        formed.quota.storage = Some(Quantity::from_nanos(own.storage, true));
        formed.quota.cpu = Some(Quantity::from_nanos(own.cpu, false));
        let (base, notes) = hard_with(&formed, &Existing::default());
        assert!(notes.is_empty(), "{notes:?}");
        let pod = |name: &str, cpu: i128, memory: i128, server_of: Option<&str>| ExistingPod {
            name: name.into(),
            cpu,
            memory,
            made_by: server_of.map(|_| "jupyterhub-brain-mri".into()),
            server_of: server_of.map(Into::into),
            ..Default::default()
        };
        let claim = |name: &str, storage: i128, home_of: Option<&str>| ExistingClaim {
            name: name.into(),
            storage: Quantity::from_nanos(storage, true).to_string(),
            home_of: home_of.map(Into::into),
            made_by: None,
        };
        // A departed member's server and home, and an app, within what the quota
        // gives: nothing is raised, nothing said.
        let within = Existing {
            claims: vec![
                claim(
                    "claim-carol-40example-2eorg",
                    q("10Gi"),
                    Some("carol@example.org"),
                ),
                claim("app-data", q("1Gi"), None),
            ],
            pods: vec![
                pod(
                    "jupyter-carol-40example-2eorg",
                    q("1"),
                    q("2Gi"),
                    Some("carol@example.org"),
                ),
                pod("train-x7k2p", q("1"), q("1Gi"), None),
            ],
        };
        let (hard, notes) = hard_with(&formed, &within);
        assert_eq!(hard, base);
        assert!(notes.is_empty(), "{notes:?}");
        // More in use than that: raised exactly to what is in use, the largest named.
        let over = Existing {
            claims: vec![
                claim(
                    "claim-carol-40example-2eorg",
                    own.storage,
                    Some("carol@example.org"),
                ),
                claim("app-data", q("10Gi"), None),
            ],
            pods: vec![
                pod(
                    "jupyter-carol-40example-2eorg",
                    own.cpu,
                    own.memory,
                    Some("carol@example.org"),
                ),
                pod("train-x7k2p", q("1"), q("2Gi"), None),
            ],
        };
        let (hard, notes) = hard_with(&formed, &over);
        let at = |k: &str| q(hard[k].as_str().unwrap());
        assert_eq!(at("requests.cpu"), own.cpu + q("1"));
        // Memory is written rounded up to whole MiB, as every sum is.
        assert_eq!(
            at("requests.memory"),
            Quantity::from_nanos(own.memory + q("2Gi"), true).nanos()
        );
        assert_eq!(at("requests.storage"), own.storage + q("10Gi"));
        assert_eq!(
            hard["persistentvolumeclaims"],
            base["persistentvolumeclaims"]
        );
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].starts_with("requests.cpu is "), "{notes:?}");
        assert!(
            notes[0].contains("above the group form's quota.cpu"),
            "{notes:?}"
        );
        assert!(
            notes[0].contains("most by pod/jupyter-carol-40example-2eorg"),
            "{notes:?}"
        );
        assert!(notes[0].contains("pod/train-x7k2p (1 CPU)"), "{notes:?}");
        assert!(
            notes[1].contains("above what the workspace needs"),
            "{notes:?}"
        );
        assert!(
            notes[2].contains("above the group form's quota.storage"),
            "{notes:?}"
        );
        assert!(
            notes[2].contains("pvc/claim-carol-40example-2eorg"),
            "{notes:?}"
        );
    }

    #[test]
    fn every_rendered_pod_passes_the_level_the_namespace_enforces() {
        for (name, spec) in variants() {
            for privileged in [true, false] {
                let mut spec = spec.clone();
                spec.cluster.tenancy.privileged_workspaces = privileged;
                let b = bundle(&spec);
                let namespace = json(&b.components[0].objects[0]);
                let labels = &namespace["metadata"]["labels"];
                let enforce = labels["pod-security.kubernetes.io/enforce"]
                    .as_str()
                    .unwrap();
                assert_eq!(labels["pod-security.kubernetes.io/warn"], "restricted");
                assert_eq!(labels["pod-security.kubernetes.io/audit"], "restricted");
                let level = [Level::Privileged, Level::Baseline, Level::Restricted]
                    .into_iter()
                    .find(|l| l.label() == enforce)
                    .unwrap();
                assert_eq!(
                    level,
                    if privileged {
                        Level::Privileged
                    } else {
                        Level::Baseline
                    },
                    "{name}"
                );
                let objects: Vec<&Object> = b.components.iter().flat_map(|c| &c.objects).collect();
                for (pod, _) in pod_specs(&objects) {
                    assert_eq!(
                        pod_security::violations(&pod, level),
                        Vec::<String>::new(),
                        "{name}"
                    );
                }
                // The members' servers, as the hub's values run them.
                let hub = b
                    .components
                    .iter()
                    .flat_map(|c| &c.helm)
                    .find(|h| h.chart == "jupyterhub")
                    .unwrap();
                let context = hub.values["singleuser"]["profileList"][0]["kubespawner_override"]
                    ["container_security_context"].clone();
                let server: PodSpec = serde_json::from_value(serde_json::json!({
                    "containers": [{"name": "notebook", "securityContext": context}]}))
                .unwrap();
                assert_eq!(
                    pod_security::violations(&server, level),
                    Vec::<String>::new(),
                    "{name}"
                );
                assert_eq!(
                    hub.values["singleuser"]["cloudMetadata"]["blockWithIptables"] == false,
                    !privileged,
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn members_get_no_verb_on_access_quota_or_policy_and_cannot_read_secrets() {
        let objects = tenancy_objects(&bundle(&WorkspaceSpec::test()));
        let role = named(&objects, "Role", "maia-member");
        for rule in role["rules"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                let r = resource.as_str().unwrap();
                assert!(
                    ![
                        "roles",
                        "rolebindings",
                        "resourcequotas",
                        "limitranges",
                        "networkpolicies"
                    ]
                    .contains(&r),
                    "{r}"
                );
                if r == "secrets" {
                    assert_eq!(rule["verbs"], serde_json::json!(["create"]));
                }
            }
            assert!(
                !rule["apiGroups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g == "rbac.authorization.k8s.io")
            );
        }
        let members = named(&objects, "RoleBinding", "maia-members");
        assert_eq!(members["subjects"][0]["name"], "oidc:MAIA:Brain_MRI");
        assert_eq!(members["roleRef"]["name"], "maia-member");
        let admins = named(&objects, "RoleBinding", "maia-admins");
        assert_eq!(admins["subjects"][0]["name"], "oidc:MAIA:admin");
        assert_eq!(admins["roleRef"]["kind"], "ClusterRole");
    }

    #[test]
    fn members_get_nothing_the_admission_guard_cannot_check() {
        // The guard sees whole objects with their labels: a Scale has none, a
        // deletecollection is no one object, a debug container is a pod subresource.
        let objects = tenancy_objects(&bundle(&WorkspaceSpec::test()));
        let role = named(&objects, "Role", "maia-member");
        let rules = role["rules"].as_array().unwrap();
        let grants = |resource: &str, verb: &str| {
            rules.iter().any(|r| {
                r["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == resource)
                    && r["verbs"].as_array().unwrap().iter().any(|v| v == verb)
            })
        };
        for rule in rules {
            assert!(
                !rule["verbs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v == "deletecollection" || v == "*"),
                "{rule}"
            );
            for r in rule["resources"].as_array().unwrap() {
                let r = r.as_str().unwrap();
                assert!(
                    ![
                        "deployments/scale",
                        "statefulsets/scale",
                        "replicasets/scale",
                        "pods/ephemeralcontainers",
                        "pods/eviction",
                        "serviceaccounts",
                        "serviceaccounts/token",
                        "*"
                    ]
                    .contains(&r),
                    "{r}"
                );
            }
        }
        for verb in ["create", "update", "patch", "delete"] {
            assert!(!grants("replicasets", verb), "{verb} replicasets");
        }
        // What researchers need stays: their own apps, their shells and logs.
        for resource in [
            "pods",
            "persistentvolumeclaims",
            "services",
            "configmaps",
            "deployments",
            "jobs",
        ] {
            for verb in ["create", "update", "patch", "delete", "get", "list"] {
                assert!(grants(resource, verb), "{verb} {resource}");
            }
        }
        for resource in ["pods/exec", "pods/attach", "pods/portforward"] {
            assert!(grants(resource, "create"), "{resource}");
        }
        assert!(grants("pods/log", "get"));
    }

    #[test]
    fn ingress_is_denied_but_for_the_namespace_the_ingress_controller_and_ssh() {
        let b = bundle(&WorkspaceSpec::test());
        let objects = tenancy_objects(&b);
        let deny = named(&objects, "NetworkPolicy", "maia-default-deny-ingress");
        assert_eq!(deny["spec"]["podSelector"], serde_json::json!({}));
        assert_eq!(deny["spec"]["policyTypes"], serde_json::json!(["Ingress"]));
        // Every maia Ingress's backend (the services' proxy, Orthanc, the file browser)
        // is opened to the ingress controller only, on its target ports.
        let proxy = named(&objects, "NetworkPolicy", "maia-ingress-to-nginx");
        assert_eq!(proxy["spec"]["ingress"][0]["ports"][0]["port"], "http");
        assert!(
            !objects
                .iter()
                .any(|o| o["metadata"]["name"] == "maia-ingress-to-mlflow-v1-mkg")
        );
        assert_eq!(
            proxy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "ingress-nginx"
        );
        let hub = named(
            &objects,
            "NetworkPolicy",
            "maia-ingress-to-jupyterhub-brain-mri",
        );
        assert_eq!(
            hub["spec"]["podSelector"]["matchLabels"]["component"],
            "proxy"
        );
        // SSH from anywhere, to port 2022 of the member's server only.
        let ssh = named(
            &objects,
            "NetworkPolicy",
            "maia-outside-to-alice-40example-2eorg-ssh",
        );
        assert!(ssh["spec"]["ingress"][0].get("from").is_none());
        assert_eq!(ssh["spec"]["ingress"][0]["ports"][0]["port"], 2022);
        let operator = named(&objects, "NetworkPolicy", "maia-minio-operator-to-tenant");
        assert_eq!(
            operator["spec"]["podSelector"]["matchLabels"]["v1.min.io/tenant"],
            "brain-mri"
        );
        assert!(
            !objects
                .iter()
                .any(|o| o["metadata"]["name"] == "maia-restricted-egress")
        );
    }

    #[test]
    fn restricted_egress_allows_dns_the_namespace_and_the_listed_blocks() {
        let mut spec = WorkspaceSpec::test();
        spec.cluster.tenancy.egress = Egress::Restricted {
            allow: vec!["10.0.0.5/32".into()],
        };
        let objects = tenancy_objects(&bundle(&spec));
        let egress = named(&objects, "NetworkPolicy", "maia-restricted-egress");
        assert_eq!(egress["spec"]["policyTypes"], serde_json::json!(["Egress"]));
        let rules = egress["spec"]["egress"].as_array().unwrap();
        assert_eq!(rules[0]["ports"][0]["port"], 53);
        assert_eq!(
            rules[0]["to"][0]["podSelector"]["matchLabels"]["k8s-app"],
            "kube-dns"
        );
        assert_eq!(rules[1]["to"][0]["podSelector"], serde_json::json!({}));
        assert_eq!(rules[2]["to"][0]["ipBlock"]["cidr"], "10.0.0.5/32");
    }
}
