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

/// An app is judged by its inventory: what it lists must be there, and without it
/// maia cannot vouch for the app.
#[test]
fn an_app_is_ready_only_when_every_object_its_inventory_lists_is_there_and_ready() {
    let meta = |name: &str| json!({"name": name, "namespace": "demo", "labels": labels("lab")});
    let inventory = |entries: &str| {
        (
            kinds::CONFIG_MAP,
            json!({"kind": "ConfigMap", "metadata": {"name": "maia-inventory-lab", "namespace": "demo",
                "labels": {"app.kubernetes.io/managed-by": "maia", "app.kubernetes.io/instance": "lab",
                    "app.kubernetes.io/component": "inventory"}},
                "data": {"objects": entries}}),
        )
    };
    let deployment = (
        kinds::DEPLOYMENT,
        json!({"kind": "Deployment", "metadata": meta("lab-mkg"),
        "spec": {"replicas": 1}, "status": {"availableReplicas": 1, "updatedReplicas": 1,
            "conditions": [{"type": "Available", "status": "True"}]}}),
    );
    let service = (
        kinds::SERVICE,
        json!({"kind": "Service", "metadata": meta("lab-mkg"), "spec": {"ports": []}}),
    );
    let listed = "Deployment/lab-mkg\nNamespace/demo\nService/lab-mkg\n";
    let now = Timestamp::UNIX_EPOCH;

    let apps = summarise(
        &[deployment.clone(), service.clone(), inventory(listed)],
        now,
    );
    assert_eq!(apps.len(), 1, "the inventory is no app of its own");
    assert!(apps[0].ready, "{:?}", apps[0].problems);

    let apps = summarise(&[deployment.clone(), inventory(listed)], now);
    assert!(!apps[0].ready);
    assert_eq!(apps[0].problems, ["service/lab-mkg is missing"]);

    // Only the inventory left (its objects deleted behind maia's back).
    let apps = summarise(&[inventory(listed)], now);
    assert_eq!(
        apps[0].problems,
        [
            "deployment/lab-mkg is missing",
            "service/lab-mkg is missing"
        ]
    );

    let apps = summarise(&[deployment, service], now);
    assert!(!apps[0].ready);
    assert!(
        apps[0].problems[0].contains("ConfigMap maia-inventory-lab) is missing"),
        "{:?}",
        apps[0].problems
    );

    // A workspace's ConfigMap (no mkg name label, no app inventory) is no app.
    let other = (
        kinds::CONFIG_MAP,
        json!({"kind": "ConfigMap", "metadata": {"name": "maia-workspace-record", "namespace": "brain-mri",
            "labels": {"app.kubernetes.io/managed-by": "maia", "app.kubernetes.io/instance": "brain-mri"}}}),
    );
    assert!(summarise(&[other], now).is_empty());
}
