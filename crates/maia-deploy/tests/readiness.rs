//! The readiness table: object fixtures as the API server reports them.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maia_deploy::readiness::{Status, claim_status, status, workload_status};
use serde_json::{Value, json};

fn pod_waiting(reason: &str, message: &str) -> Value {
    json!({"kind": "Pod", "metadata": {"name": "app-0"}, "status": {"phase": "Pending",
        "containerStatuses": [{"name": "main", "state": {"waiting": {"reason": reason, "message": message}}}]}})
}

fn deployment(available: i64) -> Value {
    json!({"kind": "Deployment", "metadata": {"generation": 2},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 2, "updatedReplicas": 1, "availableReplicas": available,
            "conditions": [{"type": "Available", "status": if available > 0 {"True"} else {"False"}}]}})
}

fn failed(s: &Status, needle: &str) -> bool {
    matches!(s, Status::Failed(r) if r.contains(needle))
}

fn in_progress(s: &Status, needle: &str) -> bool {
    matches!(s, Status::InProgress(r) if r.contains(needle))
}

#[test]
fn an_available_deployment_is_ready_and_an_unobserved_one_is_not() {
    assert_eq!(status(&deployment(1)), Status::Ready);
    let mut stale = deployment(1);
    stale["metadata"]["generation"] = json!(3);
    assert!(in_progress(&status(&stale), "new spec"));
    assert!(in_progress(
        &status(&deployment(0)),
        "0/1 replicas available"
    ));
}

#[test]
fn image_pull_errors_fail_with_the_kubelet_message() {
    let pod = pod_waiting("ImagePullBackOff", "Back-off pulling image \"nope:latest\"");
    let s = workload_status(&deployment(0), &[pod]);
    assert!(failed(&s, "ImagePullBackOff"), "{s:?}");
    assert!(failed(&s, "nope:latest"), "{s:?}");
}

#[test]
fn a_pod_pending_for_a_gpu_is_in_progress_and_says_so() {
    let pod = json!({"kind": "Pod", "metadata": {"name": "app-0"}, "status": {"phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]}});
    let s = workload_status(&deployment(0), &[pod]);
    assert!(in_progress(&s, "waiting for a free GPU"), "{s:?}");
    assert!(in_progress(&s, "Insufficient nvidia.com/gpu"), "{s:?}");
}

#[test]
fn an_oom_killed_container_fails_and_names_the_memory_request() {
    let pod = json!({"kind": "Pod", "metadata": {"name": "app-0"}, "status": {"phase": "Running",
        "containerStatuses": [{"name": "main",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}});
    let s = status(&pod);
    assert!(failed(&s, "OOMKilled"), "{s:?}");
    assert!(failed(&s, "memory_request"), "{s:?}");
}

#[test]
fn a_job_past_its_deadline_fails_and_one_with_a_ready_pod_is_ready() {
    let late = json!({"kind": "Job", "spec": {"activeDeadlineSeconds": 7200},
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
            "message": "Job was active longer than specified deadline"}]}});
    let s = status(&late);
    assert!(failed(&s, "past its deadline"), "{s:?}");
    assert!(failed(&s, "7200s"), "{s:?}");

    let running = json!({"kind": "Job", "status": {"active": 1, "ready": 1}});
    assert_eq!(status(&running), Status::Ready);
    let starting = json!({"kind": "Job", "status": {"active": 1, "ready": 0}});
    assert!(in_progress(&status(&starting), "waiting for its pod"));
    let done =
        json!({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}});
    assert_eq!(status(&done), Status::Ready);
}

#[test]
fn crash_loops_and_missing_secrets_fail() {
    let crash = json!({"kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": "Running",
        "containerStatuses": [{"name": "main", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]}});
    assert!(failed(&status(&crash), "exit code 1"));
    let secret = pod_waiting(
        "CreateContainerConfigError",
        "secret \"hf-token\" not found",
    );
    assert!(failed(&status(&secret), "hf-token"));
}

#[test]
fn volumes_services_and_others() {
    assert_eq!(status(&json!({"kind": "Service"})), Status::Ready);
    let running = json!({"kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}]}});
    assert_eq!(status(&running), Status::Ready);
}

fn claim(phase: &str, annotations: Value) -> Value {
    json!({"kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "annotations": annotations},
        "spec": {"volumeName": "pvc-123"}, "status": {"phase": phase}})
}

fn pod_using(claim: &str) -> Value {
    json!({"kind": "Pod", "metadata": {"name": "app-0"},
        "spec": {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]},
        "status": {"phase": "Pending"}})
}

#[test]
fn a_claim_is_ready_when_bound_or_waiting_for_its_first_consumer() {
    let no_pods: &[Value] = &[];
    // (claim, pods of the app, expected state, words the reason must hold)
    let table: Vec<(Value, Vec<Value>, &str, &str)> = vec![
        (claim("Bound", json!({})), vec![], "ready", ""),
        (
            claim("Bound", json!({})),
            vec![pod_using("data")],
            "ready",
            "",
        ),
        (
            claim("Lost", json!({})),
            vec![],
            "failed",
            "pvc-123 is gone",
        ),
        // WaitForFirstConsumer and no pod yet: nothing to wait for.
        (claim("Pending", json!({})), vec![], "ready", ""),
        (
            claim("Pending", json!({})),
            vec![pod_using("other")],
            "ready",
            "",
        ),
        // A pod uses it: it must bind before that pod can start.
        (
            claim("Pending", json!({})),
            vec![pod_using("data")],
            "in_progress",
            "pod app-0 waits for it",
        ),
        (
            claim(
                "Pending",
                json!({"volume.kubernetes.io/selected-node": "gpu-1"}),
            ),
            vec![],
            "in_progress",
            "provisioned on node gpu-1",
        ),
        (
            claim(
                "Pending",
                json!({"volume.kubernetes.io/storage-provisioner": "rancher.io/local-path"}),
            ),
            vec![],
            "in_progress",
            "waiting for rancher.io/local-path",
        ),
        (
            claim(
                "Pending",
                json!({"volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"}),
            ),
            vec![],
            "in_progress",
            "waiting for ebs.csi.aws.com",
        ),
    ];
    for (object, pods, state, words) in table {
        let judged = claim_status(&object, &pods);
        let json = serde_json::to_value(&judged).unwrap();
        assert_eq!(json["state"], state, "{object} with {pods:?}: {judged:?}");
        assert!(
            judged.reason().unwrap_or_default().contains(words),
            "{judged:?}"
        );
    }
    // Without pods, `status` judges a claim the same way.
    assert_eq!(
        status(&claim("Pending", json!({}))),
        claim_status(&claim("Pending", json!({})), no_pods)
    );
    assert!(in_progress(
        &status(&claim(
            "Pending",
            json!({"volume.kubernetes.io/selected-node": "n"})
        )),
        "node n"
    ));
}
