//! Is an object ready? A pure function of the object (and, for workloads, of their
//! pods), so it is table-tested on fixtures and shared by `--wait` and `status`.

use serde::Serialize;
use serde_json::Value;

/// Whether an object is ready, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum Status {
    /// It is ready (or, for a claim waiting for its first consumer, as ready as it gets).
    Ready,
    /// Not ready yet, and why (it may still become ready).
    InProgress(String),
    /// It will not become ready without a change, and why.
    Failed(String),
}

impl Status {
    /// True for [`Status::Ready`].
    pub fn is_ready(&self) -> bool {
        matches!(self, Status::Ready)
    }

    /// Why it is not ready; `None` when it is.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::Ready => None,
            Status::InProgress(r) | Status::Failed(r) => Some(r),
        }
    }
}

/// The readiness of one object, judged by its kind.
pub fn status(object: &Value) -> Status {
    match object["kind"].as_str().unwrap_or_default() {
        "Deployment" => deployment(object),
        "Job" => job(object),
        "Pod" => pod(object),
        "PersistentVolumeClaim" => pvc(object),
        "Tenant" => tenant(object),
        _ => Status::Ready,
    }
}

/// A workload's readiness, explained by its pods when it is not ready: a Deployment
/// reports "0/1 available", its pod says why (image pull error, no free GPU, …).
pub fn workload_status(workload: &Value, pods: &[Value]) -> Status {
    let own = status(workload);
    if !matches!(own, Status::InProgress(_)) {
        return own;
    }
    let pod_statuses: Vec<Status> = pods.iter().map(pod).collect();
    if let Some(failed) = pod_statuses.iter().find(|s| matches!(s, Status::Failed(_))) {
        return failed.clone();
    }
    if let Some(waiting) = pod_statuses
        .iter()
        .find(|s| matches!(s, Status::InProgress(_)))
    {
        return waiting.clone();
    }
    own
}

fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn is_true(condition: Option<&Value>) -> bool {
    condition.is_some_and(|c| c["status"] == "True")
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn deployment(d: &Value) -> Status {
    let generation = int(&d["metadata"]["generation"]);
    let observed = int(&d["status"]["observedGeneration"]);
    if generation > observed {
        return Status::InProgress("waiting for the controller to pick up the new spec".into());
    }
    if let Some(p) = condition(d, "Progressing")
        && p["status"] == "False"
        && p["reason"] == "ProgressDeadlineExceeded"
    {
        return Status::Failed(format!(
            "rollout stalled (ProgressDeadlineExceeded): {}",
            p["message"].as_str().unwrap_or_default()
        ));
    }
    let wanted = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let updated = int(&d["status"]["updatedReplicas"]);
    let available = int(&d["status"]["availableReplicas"]);
    if is_true(condition(d, "Available")) && updated >= wanted && available >= wanted {
        return Status::Ready;
    }
    Status::InProgress(format!("{available}/{wanted} replicas available"))
}

fn job(j: &Value) -> Status {
    if is_true(condition(j, "Complete")) {
        return Status::Ready;
    }
    for kind in ["Failed", "FailureTarget"] {
        if let Some(c) = condition(j, kind).filter(|c| c["status"] == "True") {
            return Status::Failed(match c["reason"].as_str().unwrap_or_default() {
                "DeadlineExceeded" => format!(
                    "past its deadline: the allocation time ({}s, activeDeadlineSeconds) is over and its pod was stopped",
                    int(&j["spec"]["activeDeadlineSeconds"])
                ),
                "BackoffLimitExceeded" => {
                    "its pod failed too many times (BackoffLimitExceeded)".into()
                }
                reason => format!("{reason}: {}", c["message"].as_str().unwrap_or_default()),
            });
        }
    }
    // A Job serves while its pod runs: ready pods (or a finished one) mean ready.
    if int(&j["status"]["ready"]) > 0 || int(&j["status"]["succeeded"]) > 0 {
        return Status::Ready;
    }
    Status::InProgress("waiting for its pod to run".into())
}

/// A Job that does one thing and ends (a workspace's MinIO setup): ready when it has
/// succeeded, not merely while its pod runs.
pub fn completion(j: &Value) -> Status {
    match job(j) {
        Status::Ready
            if int(&j["status"]["succeeded"]) > 0 || is_true(condition(j, "Complete")) =>
        {
            Status::Ready
        }
        Status::Ready => Status::InProgress("running".into()),
        other => other,
    }
}

/// A MinIO Operator `Tenant`: the operator reports `Initialized` once its pools run.
fn tenant(t: &Value) -> Status {
    match t["status"]["currentState"].as_str() {
        Some("Initialized") => Status::Ready,
        Some(state) => Status::InProgress(format!("the MinIO Operator reports {state:?}")),
        None => Status::InProgress("waiting for the MinIO Operator to pick it up".into()),
    }
}

const BROKEN_WAITING: [&str; 6] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

fn pod(p: &Value) -> Status {
    let phase = p["status"]["phase"].as_str().unwrap_or("Pending");
    let name = p["metadata"]["name"].as_str().unwrap_or("pod");
    let containers = p["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in &containers {
        let container = c["name"].as_str().unwrap_or("container");
        let terminated = &c["state"]["terminated"];
        let last = &c["lastState"]["terminated"];
        if terminated["reason"] == "OOMKilled" || last["reason"] == "OOMKilled" {
            return Status::Failed(format!(
                "pod {name}: container {container} was OOMKilled: it used more memory than its limit (raise memory_request)"
            ));
        }
        let waiting = &c["state"]["waiting"];
        let reason = waiting["reason"].as_str().unwrap_or_default();
        let message = waiting["message"].as_str().unwrap_or_default();
        if BROKEN_WAITING.contains(&reason) {
            return Status::Failed(format!(
                "pod {name}: container {container}: {reason}: {message}"
            ));
        }
        if reason == "CrashLoopBackOff" {
            return Status::Failed(format!(
                "pod {name}: container {container} keeps crashing (CrashLoopBackOff, last exit code {})",
                int(&last["exitCode"])
            ));
        }
    }
    match phase {
        "Succeeded" => return Status::Ready,
        "Failed" => {
            return Status::Failed(format!(
                "pod {name} failed: {} {}",
                p["status"]["reason"].as_str().unwrap_or_default(),
                p["status"]["message"].as_str().unwrap_or_default()
            ));
        }
        _ => {}
    }
    if let Some(s) = condition(p, "PodScheduled").filter(|c| c["status"] == "False") {
        let message = s["message"].as_str().unwrap_or_default();
        let hint = if message.contains("nvidia.com/gpu") {
            " (waiting for a free GPU)"
        } else {
            ""
        };
        return Status::InProgress(format!("pod {name} cannot be scheduled{hint}: {message}"));
    }
    if phase == "Running" && is_true(condition(p, "Ready")) {
        return Status::Ready;
    }
    let waiting = containers
        .iter()
        .find_map(|c| c["state"]["waiting"]["reason"].as_str());
    Status::InProgress(match waiting {
        Some(reason) => format!("pod {name}: {reason}"),
        None => format!("pod {name} is {phase}"),
    })
}

/// Set by the scheduler on a claim once a pod using it is placed: the volume is then
/// provisioned for that node.
const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// Set by the volume controller when it hands a claim to a provisioner (immediate
/// binding, or delayed binding once a node is selected).
const PROVISIONERS: [&str; 2] = [
    "volume.kubernetes.io/storage-provisioner",
    "volume.beta.kubernetes.io/storage-provisioner",
];

fn pvc(c: &Value) -> Status {
    claim_status(c, &[])
}

/// A claim's readiness, given the pods of its app. Bound is ready and Lost failed. A
/// Pending claim is in progress while something works on it: a node was selected for
/// it, a provisioner was asked to create its volume, or a pod waits for it. Nothing
/// does when its storage class binds on first use (`WaitForFirstConsumer`) and no pod
/// uses it yet: that is as ready as such a claim gets, and the pod that comes later
/// binds it. maia reads no StorageClasses or Events; an immediate-binding claim that
/// no provisioner picks up looks the same, and its pod, unschedulable, says why.
pub fn claim_status(claim: &Value, pods: &[Value]) -> Status {
    let annotations = &claim["metadata"]["annotations"];
    match claim["status"]["phase"].as_str().unwrap_or("Pending") {
        "Bound" => return Status::Ready,
        "Lost" => {
            return Status::Failed(format!(
                "its volume {} is gone (phase Lost); the claim's data may be lost",
                claim["spec"]["volumeName"].as_str().unwrap_or("(unknown)")
            ));
        }
        _ => {}
    }
    if let Some(node) = annotations[SELECTED_NODE].as_str() {
        return Status::InProgress(format!(
            "not bound yet: its volume is being provisioned on node {node}"
        ));
    }
    if let Some(provisioner) = PROVISIONERS.iter().find_map(|a| annotations[*a].as_str()) {
        return Status::InProgress(format!(
            "not bound yet: waiting for {provisioner} to provision its volume"
        ));
    }
    let name = claim["metadata"]["name"].as_str().unwrap_or_default();
    if let Some(pod) = pods.iter().find(|p| uses_claim(p, name)) {
        return Status::InProgress(format!(
            "not bound yet: pod {} waits for it",
            pod["metadata"]["name"].as_str().unwrap_or("pod")
        ));
    }
    Status::Ready
}

fn uses_claim(pod: &Value, claim: &str) -> bool {
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|v| v["persistentVolumeClaim"]["claimName"] == claim)
}
