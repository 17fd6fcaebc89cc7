//! `status` summarises live objects into one line of facts per app.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::jiff::Timestamp;
use maia_deploy::kinds;
use maia_deploy::readiness::Status;
use maia_deploy::status::summarise;
use serde_json::json;

fn labels(release: &str) -> serde_json::Value {
    json!({"app.kubernetes.io/managed-by": "maia", "app.kubernetes.io/name": "mkg", "app.kubernetes.io/instance": release})
}

#[test]
fn a_job_shows_time_left_ports_urls_and_why_it_is_not_ready() {
    let meta = |name: &str| json!({"name": name, "namespace": "demo", "labels": labels("lab")});
    let objects = vec![
        (
            kinds::JOB,
            json!({"kind": "Job", "metadata": meta("lab-mkg"),
            "spec": {"activeDeadlineSeconds": 7200},
            "status": {"startTime": "2026-01-01T10:00:00Z", "active": 1}}),
        ),
        (
            kinds::POD,
            json!({"kind": "Pod", "metadata": meta("lab-mkg-abc"), "status": {"phase": "Pending",
            "containerStatuses": [{"name": "main", "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}}]}}),
        ),
        (
            kinds::SERVICE,
            json!({"kind": "Service", "metadata": meta("lab-mkg"),
            "spec": {"ports": [{"name": "jupyter", "port": 8888, "protocol": "TCP"}, {"name": "tb", "port": 6006, "nodePort": 30606}]}}),
        ),
        (
            kinds::INGRESS,
            json!({"kind": "Ingress", "metadata": meta("lab-mkg-ingress"),
            "spec": {"tls": [{"hosts": ["lab.example.org"]}],
                     "rules": [{"host": "lab.example.org", "http": {"paths": [{"path": "/lab"}]}}]}}),
        ),
        (
            kinds::PVC,
            json!({"kind": "PersistentVolumeClaim", "metadata": meta("lab-mkg-claim-0"), "status": {"phase": "Bound"}}),
        ),
        (
            kinds::DEPLOYMENT,
            json!({"kind": "Deployment", "metadata": {"name": "db", "namespace": "other", "labels": labels("db")},
            "spec": {"replicas": 1}, "status": {"availableReplicas": 1, "updatedReplicas": 1,
                "conditions": [{"type": "Available", "status": "True"}]}}),
        ),
    ];
    let now: Timestamp = "2026-01-01T11:30:00Z".parse().unwrap();
    let apps = summarise(&objects, now);
    assert_eq!(apps.len(), 2);
    let lab = &apps[0];
    assert_eq!((lab.namespace.as_str(), lab.name.as_str()), ("demo", "lab"));
    let job = lab.workload.as_ref().unwrap();
    assert_eq!(job.seconds_left, Some(1800));
    assert!(!job.ready);
    assert!(matches!(&job.status, Status::Failed(r) if r.contains("ErrImagePull")));
    assert_eq!(lab.ports, ["jupyter 8888/TCP", "tb 6006:30606/TCP"]);
    assert_eq!(lab.urls, ["https://lab.example.org/lab"]);
    assert_eq!(lab.volumes[0].status, Status::Ready);
    let db = &apps[1];
    assert_eq!(db.namespace, "other");
    assert!(db.workload.as_ref().unwrap().ready);
    assert_eq!(db.workload.as_ref().unwrap().seconds_left, None);
}

#[test]
fn a_pending_volume_is_judged_with_the_apps_pods() {
    let meta = |name: &str| json!({"name": name, "namespace": "demo", "labels": labels("lab")});
    let claim = |name: &str| {
        (
            kinds::PVC,
            json!({"kind": "PersistentVolumeClaim", "metadata": meta(name), "status": {"phase": "Pending"}}),
        )
    };
    let objects = vec![
        claim("lab-mkg-claim-0"),
        claim("lab-mkg-claim-1"),
        (
            kinds::POD,
            json!({"kind": "Pod", "metadata": meta("lab-mkg-abc"),
            "spec": {"volumes": [{"name": "v0", "persistentVolumeClaim": {"claimName": "lab-mkg-claim-0"}}]},
            "status": {"phase": "Pending"}}),
        ),
    ];
    let apps = summarise(&objects, Timestamp::UNIX_EPOCH);
    let volumes = &apps[0].volumes;
    assert_eq!(volumes[0].phase, "Pending");
    assert_eq!(
        volumes[0].status,
        Status::InProgress("not bound yet: pod lab-mkg-abc waits for it".into())
    );
    // No pod uses the other one yet: it waits for its first consumer.
    assert_eq!(
        (volumes[1].phase.as_str(), &volumes[1].status),
        ("Pending", &Status::Ready)
    );
}
