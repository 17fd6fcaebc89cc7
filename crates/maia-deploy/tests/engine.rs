//! The deploy engine against an in-memory API server, counting the requests it sends.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use http::Method;
use maia_deploy::{ApplyOptions, Change, KubeError, PlanOptions, Step};
use maia_testkit::{FakeCluster, Kubelet};
use serde_json::json;

#[tokio::test]
async fn first_deploy_writes_each_object_once_and_a_second_writes_nothing() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let app = app(|_| {});
    let (events, result) = deploy(&cluster, &app).await;
    result.expect("first deploy");
    assert_eq!(
        lines(&events),
        [
            "created configmap/train",
            "created persistentvolumeclaim/mysql-db-v1-mkg-claim-0",
            "created service/mysql-db-v1-mkg",
            "created deployment/mysql-db-v1-mkg",
            "created ingress/mysql-db-v1-mkg-ingress",
        ]
    );
    let writes = cluster.writes();
    // One server-side apply per object, plus the inventory.
    assert_eq!(writes.len(), app.objects.len() + 1, "{writes:?}");
    assert!(
        writes
            .iter()
            .all(|w| w.method == "PATCH" && w.query.contains("fieldManager=maia"))
    );
    let inventory = get(
        &cluster,
        "/api/v1/namespaces/demo/configmaps/maia-inventory-mysql-db-v1",
    )
    .await;
    let listed = inventory.expect("inventory recorded")["data"]["objects"].clone();
    assert!(
        listed
            .as_str()
            .unwrap()
            .contains("Deployment/mysql-db-v1-mkg\n"),
        "{listed}"
    );

    cluster.clear_requests();
    let (events, result) = deploy(&cluster, &app).await;
    result.expect("second deploy");
    assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
    assert!(lines(&events).iter().all(|l| l.starts_with("unchanged ")));
    // Reads: the namespace's quotas (none here), the namespace, then one LIST per
    // kind (no GET per object), the namespace's workspace inventory (whose objects are
    // never an app's) and every Ingress (whose hosts another namespace may serve).
    let reads = cluster.requests();
    assert_eq!(reads.len(), 10, "{reads:?}");
    assert!(reads[0].path.ends_with("/resourcequotas"), "{reads:?}");
    assert!(
        reads[2..].iter().all(|r| r.query.contains("labelSelector")),
        "{reads:?}"
    );
}

#[tokio::test]
async fn quantities_normalised_by_the_server_are_not_a_change() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let app = app(|c| c["cpu_request"] = json!("5000m"));
    deploy(&cluster, &app).await.1.expect("deploy");
    // A real API server stores "5000m" as "5".
    let live = get(&cluster, DEPLOYMENT).await.unwrap();
    let mut containers = live["spec"]["template"]["spec"]["containers"].clone();
    let requests = &mut containers[0]["resources"]["requests"];
    assert_eq!(requests["cpu"], "5000m");
    requests["cpu"] = json!("5");
    edit(
        &cluster,
        DEPLOYMENT,
        json!({"spec": {"template": {"spec": {"containers": containers}}}}),
    )
    .await;
    cluster.clear_requests();
    deploy(&cluster, &app).await.1.expect("re-deploy");
    assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
}

#[tokio::test]
async fn one_changed_field_costs_one_write_and_the_plan_names_it() {
    let cluster = FakeCluster::new(&["demo"]).await;
    deploy(&cluster, &app(|_| {})).await.1.expect("deploy");
    let changed = app(|c| c["tag"] = json!("8.0.36"));
    let plan = plan(&cluster, &changed, PlanOptions::default())
        .await
        .unwrap();
    assert!(plan.has_changes());
    let updates: Vec<_> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Apply {
                object,
                change: Change::Update(fields),
                ..
            } => Some((object.to_string(), fields.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].0, "deployment/mysql-db-v1-mkg");
    assert_eq!(
        updates[0].1[0].path,
        "spec.template.spec.containers[0].image"
    );
    assert_eq!(updates[0].1[0].live, Some(json!("mysql:8.0.28")));
    assert_eq!(updates[0].1[0].desired, json!("mysql:8.0.36"));

    cluster.clear_requests();
    let (events, result) = deploy(&cluster, &changed).await;
    result.expect("deploy");
    let writes = cluster.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].path.ends_with("/deployments/mysql-db-v1-mkg"));
    assert!(lines(&events).contains(&"configured deployment/mysql-db-v1-mkg".to_string()));
    let live = get(&cluster, DEPLOYMENT).await.unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "mysql:8.0.36"
    );
}

#[tokio::test]
async fn a_field_edited_by_hand_is_put_back() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let app = app(|_| {});
    deploy(&cluster, &app).await.1.expect("deploy");
    edit(
        &cluster,
        DEPLOYMENT,
        json!({"metadata": {"labels": {"app.kubernetes.io/instance": "someone-else"}}}),
    )
    .await;
    // The edit hides it from the label selector; the inventory still names it as
    // maia's, so the labels are put back with one write.
    cluster.clear_requests();
    deploy(&cluster, &app).await.1.expect("deploy");
    assert_eq!(cluster.writes().len(), 1, "{:?}", cluster.writes());
    let live = get(&cluster, DEPLOYMENT).await.unwrap();
    assert_eq!(
        live["metadata"]["labels"]["app.kubernetes.io/instance"],
        "mysql-db-v1"
    );

    edit(&cluster, DEPLOYMENT, json!({"spec": {"replicas": 3}})).await;
    cluster.clear_requests();
    deploy(&cluster, &app).await.1.expect("deploy");
    assert_eq!(cluster.writes().len(), 1, "{:?}", cluster.writes());
    assert_eq!(
        get(&cluster, DEPLOYMENT).await.unwrap()["spec"]["replicas"],
        1
    );
}

#[tokio::test]
async fn a_removed_ingress_is_pruned_with_one_delete_and_a_removed_volume_is_kept() {
    let cluster = FakeCluster::new(&["demo"]).await;
    deploy(&cluster, &app(|_| {})).await.1.expect("deploy");
    cluster.clear_requests();
    let smaller = app(|c| {
        c.as_object_mut().unwrap().remove("ingress");
        c.as_object_mut().unwrap().remove("persistent_volume");
    });
    let (events, result) = deploy(&cluster, &smaller).await;
    result.expect("deploy");
    let deletes: Vec<_> = cluster
        .writes()
        .into_iter()
        .filter(|w| w.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(
        deletes[0]
            .path
            .ends_with("/ingresses/mysql-db-v1-mkg-ingress")
    );
    let l = lines(&events);
    assert!(
        l.contains(&"pruned ingress/mysql-db-v1-mkg-ingress".to_string()),
        "{l:?}"
    );
    assert!(
        l.contains(&"kept persistentvolumeclaim/mysql-db-v1-mkg-claim-0".to_string()),
        "{l:?}"
    );
    assert!(
        get(
            &cluster,
            "/apis/networking.k8s.io/v1/namespaces/demo/ingresses/mysql-db-v1-mkg-ingress"
        )
        .await
        .is_none()
    );
    assert!(
        get(
            &cluster,
            "/api/v1/namespaces/demo/persistentvolumeclaims/mysql-db-v1-mkg-claim-0"
        )
        .await
        .is_some()
    );

    // Removing the volume from the config changed the Deployment; a third run is quiet.
    cluster.clear_requests();
    deploy(&cluster, &smaller).await.1.expect("deploy");
    assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
}

#[tokio::test]
async fn objects_maia_did_not_make_are_never_pruned_or_overwritten() {
    let cluster = FakeCluster::new(&["demo"]).await;
    // Someone's own Service with the name maia would use.
    apply_as(&cluster, "helm", "/api/v1/namespaces/demo/services/mysql-db-v1-mkg",
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mysql-db-v1-mkg", "namespace": "demo"},
               "spec": {"ports": [{"port": 1}]}})).await;
    // And an object that copies maia's labels but is not in the inventory.
    apply_as(&cluster, "kubectl", "/api/v1/namespaces/demo/configmaps/lookalike",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lookalike", "namespace": "demo",
               "labels": {"app.kubernetes.io/managed-by": "maia", "app.kubernetes.io/instance": "mysql-db-v1"}}})).await;
    let app = app(|_| {});
    let (events, result) = deploy(&cluster, &app).await;
    let err = result.expect_err("not owned");
    assert!(
        matches!(&err, KubeError::NotOwned { object } if object == "service/mysql-db-v1-mkg"),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("--force-conflicts"));
    assert!(
        events.is_empty() && cluster.writes().is_empty(),
        "nothing written before the check"
    );

    let (_, result) = deploy_with(
        &cluster,
        &app,
        PlanOptions {
            force_conflicts: true,
            ..Default::default()
        },
        ApplyOptions {
            ..Default::default()
        },
    )
    .await;
    result.expect("adopted with --force-conflicts");
    let service = get(&cluster, "/api/v1/namespaces/demo/services/mysql-db-v1-mkg")
        .await
        .unwrap();
    assert_eq!(
        service["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "maia"
    );
    assert!(
        get(&cluster, "/api/v1/namespaces/demo/configmaps/lookalike")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn a_conflict_names_the_other_manager_and_force_takes_the_fields_over() {
    let cluster = FakeCluster::new(&["demo"]).await;
    deploy(&cluster, &app(|_| {})).await.1.expect("deploy");
    apply_as(
        &cluster,
        "kubectl-edit",
        DEPLOYMENT,
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mysql-db-v1-mkg", "namespace": "demo"},
        "spec": {"template": {"spec": {"containers": [{"name": "mkg", "image": "mysql:9"}]}}}}),
    )
    .await;
    let app = app(|_| {});
    let (events, result) = deploy(&cluster, &app).await;
    let err = result.expect_err("conflict");
    match &err {
        KubeError::Conflict {
            object, managers, ..
        } => {
            assert_eq!(object, "deployment/mysql-db-v1-mkg");
            assert_eq!(managers, "kubectl-edit");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("kubectl-edit"));
    // What was applied before the failure is on record.
    assert_eq!(
        lines(&events)[..3]
            .iter()
            .filter(|l| l.starts_with("unchanged"))
            .count(),
        3
    );

    let (_, result) = deploy_with(
        &cluster,
        &app,
        PlanOptions {
            force_conflicts: true,
            ..Default::default()
        },
        ApplyOptions::default(),
    )
    .await;
    result.expect("forced");
    let live = get(&cluster, DEPLOYMENT).await.unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "mysql:8.0.28"
    );
}

#[tokio::test]
async fn a_server_error_halfway_is_reported_and_a_rerun_converges() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let app = app(|_| {});
    cluster.fail(Method::PATCH, "/deployments/", 500, 1);
    let (events, result) = deploy(&cluster, &app).await;
    let err = result.expect_err("500");
    assert!(matches!(err, KubeError::Api { code: 500, .. }), "{err:?}");
    assert!(
        err.to_string().contains("apply deployment/mysql-db-v1-mkg"),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("re-run"));
    assert_eq!(
        lines(&events).len(),
        3,
        "configmap, volume and service went through"
    );

    cluster.clear_requests();
    let (events, result) = deploy(&cluster, &app).await;
    result.expect("re-run");
    assert_eq!(
        cluster.writes().len(),
        2,
        "deployment and ingress only: {:?}",
        cluster.writes()
    );
    assert_eq!(
        lines(&events)
            .iter()
            .filter(|l| l.starts_with("created"))
            .count(),
        2
    );
    cluster.clear_requests();
    deploy(&cluster, &app).await.1.expect("third run");
    assert!(cluster.writes().is_empty());
}

#[tokio::test]
async fn forbidden_and_conflicting_writes_say_what_was_refused() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let app = app(|_| {});
    cluster.fail(Method::GET, "/deployments", 403, 1);
    let err = deploy(&cluster, &app).await.1.expect_err("403");
    match &err {
        KubeError::Forbidden {
            verb, object, code, ..
        } => {
            assert_eq!(
                (verb.as_str(), object.as_str(), *code),
                ("list", "deployments in namespace demo", 403)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.hint().unwrap().contains("RoleBinding"));

    cluster.fail(Method::PATCH, "/services/", 409, 1);
    let err = deploy(&cluster, &app).await.1.expect_err("409");
    assert!(matches!(err, KubeError::Api { code: 409, .. }), "{err:?}");
    assert!(err.hint().unwrap().contains("re-run"));
    deploy(&cluster, &app).await.1.expect("re-run converges");
    cluster.clear_requests();
    deploy(&cluster, &app).await.1.expect("quiet");
    assert!(cluster.writes().is_empty());
}

#[tokio::test]
async fn a_missing_namespace_stops_before_any_write_unless_asked_to_create_it() {
    let cluster = FakeCluster::new(&[]).await;
    let app = app(|_| {});
    let err = deploy(&cluster, &app).await.1.expect_err("missing");
    assert!(matches!(&err, KubeError::NamespaceMissing(ns) if ns == "demo"));
    assert!(err.hint().unwrap().contains("--create-namespace"));
    assert!(cluster.writes().is_empty());

    let (events, result) = deploy_with(
        &cluster,
        &app,
        PlanOptions {
            create_namespace: true,
            ..Default::default()
        },
        ApplyOptions::default(),
    )
    .await;
    result.expect("created");
    assert_eq!(lines(&events)[0], "created namespace/demo");
    assert!(cluster.namespaces().contains("demo"));
}

#[tokio::test]
async fn a_changed_job_is_explained_and_replaced_only_when_asked() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let job = |tag: &'static str| {
        app(move |c| {
            c.as_object_mut().unwrap().remove("deployment");
            c["allocationTime"] = json!("2h");
            c["tag"] = json!(tag);
        })
    };
    deploy(&cluster, &job("1")).await.1.expect("deploy");
    cluster.clear_requests();
    let err = deploy(&cluster, &job("2")).await.1.expect_err("immutable");
    match &err {
        KubeError::JobImmutable { object, fields } => {
            assert_eq!(object, "job/mysql-db-v1-mkg");
            assert!(fields.contains("image"), "{fields}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.hint().unwrap().contains("--replace"));
    assert!(
        cluster.writes().is_empty(),
        "nothing applied: {:?}",
        cluster.writes()
    );

    let (events, result) = deploy_with(
        &cluster,
        &job("2"),
        PlanOptions {
            replace: true,
            ..Default::default()
        },
        ApplyOptions::default(),
    )
    .await;
    result.expect("replaced");
    assert!(lines(&events).contains(&"replaced job/mysql-db-v1-mkg".to_string()));
    let writes: Vec<String> = cluster.writes().iter().map(|w| w.method.clone()).collect();
    assert_eq!(writes, ["DELETE", "PATCH"]);

    // More allocation time is an in-place change (activeDeadlineSeconds is mutable).
    let longer = app(|c| {
        c.as_object_mut().unwrap().remove("deployment");
        c["allocationTime"] = json!("5h");
        c["tag"] = json!("2");
    });
    cluster.clear_requests();
    let (events, result) = deploy(&cluster, &longer).await;
    result.expect("in place");
    assert!(lines(&events).contains(&"configured job/mysql-db-v1-mkg".to_string()));
    assert_eq!(cluster.writes().len(), 1, "{:?}", cluster.writes());
}

#[tokio::test]
async fn wait_reports_ready_or_the_pods_error_or_a_timeout_with_the_last_state() {
    let ready = FakeCluster::new(&["demo"]).await;
    ready.set_kubelet(Kubelet::Ready);
    let app = app(|_| {});
    let wait = ApplyOptions {
        wait: Some(std::time::Duration::from_secs(30)),
        ..Default::default()
    };
    let (events, result) = deploy_with(&ready, &app, PlanOptions::default(), wait).await;
    result.expect("ready");
    assert_eq!(
        lines(&events).last().unwrap(),
        "ready deployment/mysql-db-v1-mkg"
    );

    let broken = FakeCluster::new(&["demo"]).await;
    broken.set_kubelet(Kubelet::ImagePullBackOff);
    let err = deploy_with(&broken, &app, PlanOptions::default(), wait)
        .await
        .1
        .expect_err("pull error");
    assert!(
        matches!(&err, KubeError::WorkloadFailed { reason, .. } if reason.contains("ImagePullBackOff")),
        "{err}"
    );

    let idle = FakeCluster::new(&["demo"]).await;
    let short = ApplyOptions {
        wait: Some(std::time::Duration::from_millis(300)),
        ..Default::default()
    };
    let (events, result) = deploy_with(&idle, &app, PlanOptions::default(), short).await;
    let err = result.expect_err("timeout");
    assert!(
        matches!(&err, KubeError::WaitTimeout { object, last, .. }
        if object == "deployment/mysql-db-v1-mkg" && last.contains("controller")),
        "{err}"
    );
    assert!(err.to_string().contains("not ready after 300ms"), "{err}");
    assert!(
        lines(&events)
            .iter()
            .any(|l| l.starts_with("waiting deployment/"))
    );
}

#[tokio::test]
async fn delete_removes_the_app_but_keeps_volumes_unless_asked() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let app = app(|_| {});
    deploy(&cluster, &app).await.1.expect("deploy");
    let mut events = Vec::new();
    let mut sink = |e| events.push(e);
    maia_deploy::delete::delete_app(
        &cluster.cluster(),
        "demo",
        "mysql-db-v1",
        false,
        Default::default(),
        &mut sink,
    )
    .await
    .expect("delete");
    assert_eq!(
        lines(&events),
        [
            "pruned ingress/mysql-db-v1-mkg-ingress",
            "pruned deployment/mysql-db-v1-mkg",
            "pruned service/mysql-db-v1-mkg",
            "kept persistentvolumeclaim/mysql-db-v1-mkg-claim-0",
            "pruned configmap/train",
        ]
    );
    assert!(get(&cluster, DEPLOYMENT).await.is_none());
    let mut events = Vec::new();
    let mut sink = |e| events.push(e);
    maia_deploy::delete::delete_app(
        &cluster.cluster(),
        "demo",
        "mysql-db-v1",
        true,
        Default::default(),
        &mut sink,
    )
    .await
    .expect("volumes");
    assert_eq!(
        lines(&events),
        ["pruned persistentvolumeclaim/mysql-db-v1-mkg-claim-0"]
    );
    assert!(
        get(
            &cluster,
            "/api/v1/namespaces/demo/configmaps/maia-inventory-mysql-db-v1"
        )
        .await
        .is_none()
    );
    let mut sink = |_| {};
    let err = maia_deploy::delete::delete_app(
        &cluster.cluster(),
        "demo",
        "mysql-db-v1",
        true,
        Default::default(),
        &mut sink,
    )
    .await
    .expect_err("gone");
    assert!(matches!(err, KubeError::AppNotFound { .. }));
}

#[tokio::test]
async fn a_setting_removed_from_the_config_is_removed_with_one_write() {
    let cluster = FakeCluster::new(&["demo"]).await;
    deploy(&cluster, &app(|c| c["node_selector"] = json!("gpu-node-1")))
        .await
        .1
        .expect("deploy");
    let without = app(|_| {});
    let plan = plan(&cluster, &without, PlanOptions::default())
        .await
        .unwrap();
    let dropped: Vec<_> = plan
        .steps
        .iter()
        .flat_map(|s| match s {
            Step::Apply { change, .. } => change.fields().to_vec(),
            _ => vec![],
        })
        .collect();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert!(
        dropped[0].path.starts_with("spec.template.spec.node"),
        "{dropped:?}"
    );
    assert_eq!(dropped[0].desired, serde_json::Value::Null);

    cluster.clear_requests();
    deploy(&cluster, &without).await.1.expect("deploy");
    assert_eq!(cluster.writes().len(), 1, "{:?}", cluster.writes());
    cluster.clear_requests();
    deploy(&cluster, &without).await.1.expect("deploy");
    assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
}

#[tokio::test]
async fn a_dry_run_sends_every_write_as_a_server_side_dry_run() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let (events, result) = deploy_with(
        &cluster,
        &app(|_| {}),
        PlanOptions::default(),
        ApplyOptions {
            dry_run: true,
            ..Default::default()
        },
    )
    .await;
    result.expect("dry run");
    let writes = cluster.writes();
    assert_eq!(writes.len(), 6);
    assert!(
        writes.iter().all(|w| w.query.contains("dryRun=All")),
        "{writes:?}"
    );
    assert!(
        events
            .iter()
            .all(|e| matches!(e, maia_deploy::Event::Applied { dry_run: true, .. }))
    );
}

#[tokio::test]
async fn a_kind_the_server_does_not_serve_and_rejected_credentials_are_explained() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let app = app(|_| {});
    cluster.fail(Method::GET, "/ingresses", 404, 1);
    let err = deploy(&cluster, &app).await.1.expect_err("404");
    assert!(
        matches!(&err, KubeError::KindMissing { kind, api_version }
        if kind == "Ingress" && api_version == "networking.k8s.io/v1"),
        "{err:?}"
    );
    assert!(err.hint().unwrap().contains("CustomResourceDefinition"));

    cluster.fail(Method::GET, "/namespaces/demo", 401, 1);
    let err = deploy(&cluster, &app).await.1.expect_err("401");
    assert!(
        matches!(&err, KubeError::Forbidden { code: 401, .. }),
        "{err:?}"
    );
    assert!(err.hint().unwrap().contains("credentials"));
    assert!(cluster.writes().is_empty());
}

#[tokio::test]
async fn volumes_of_one_phase_go_out_together_and_a_failure_among_them_is_reported_after_the_others()
 {
    let cluster = FakeCluster::new(&["demo"]).await;
    let three = app(|c| {
        let volume = c["persistent_volume"][0].clone();
        let mut list = vec![];
        for path in ["/a", "/b", "/c"] {
            let mut v = volume.clone();
            v["mountPath"] = json!(path);
            list.push(v);
        }
        c["persistent_volume"] = json!(list);
    });
    cluster.fail(Method::PATCH, "claim-1", 500, 1);
    let (events, result) = deploy(&cluster, &three).await;
    assert!(
        matches!(result, Err(KubeError::Api { code: 500, .. })),
        "{result:?}"
    );
    assert_eq!(
        lines(&events),
        [
            "created configmap/train",
            "created persistentvolumeclaim/mysql-db-v1-mkg-claim-0",
            "created persistentvolumeclaim/mysql-db-v1-mkg-claim-2",
        ]
    );
    deploy(&cluster, &three).await.1.expect("re-run");
    cluster.clear_requests();
    deploy(&cluster, &three).await.1.expect("quiet");
    assert!(cluster.writes().is_empty());
}

#[tokio::test]
async fn a_volume_grows_in_place_but_is_never_shrunk_or_recreated() {
    let cluster = FakeCluster::new(&["demo"]).await;
    deploy(&cluster, &app(|_| {})).await.1.expect("deploy");
    let bigger = app(|c| c["persistent_volume"][0]["size"] = json!("40Gi"));
    cluster.clear_requests();
    deploy(&cluster, &bigger).await.1.expect("grow");
    assert_eq!(cluster.writes().len(), 1, "{:?}", cluster.writes());

    for (what, edit) in [
        ("spec.resources.requests.storage", json!({"size": "20Gi"})),
        (
            "spec.accessModes",
            json!({"size": "40Gi", "access_mode": "ReadWriteMany"}),
        ),
    ] {
        let changed = app(|c| {
            for (k, v) in edit.as_object().unwrap() {
                c["persistent_volume"][0][k] = v.clone();
            }
        });
        cluster.clear_requests();
        let err = deploy_with(
            &cluster,
            &changed,
            PlanOptions {
                replace: true,
                ..Default::default()
            },
            ApplyOptions::default(),
        )
        .await
        .1
        .expect_err(what);
        assert!(
            matches!(&err, KubeError::VolumeImmutable { object, fields }
            if object == "persistentvolumeclaim/mysql-db-v1-mkg-claim-0" && fields.contains(what)),
            "{err:?}"
        );
        assert!(err.hint().unwrap().contains("never deletes a volume"));
        assert!(
            cluster.writes().is_empty(),
            "{what}: {:?}",
            cluster.writes()
        );
    }
}

#[tokio::test]
async fn wait_needs_each_volume_bound_or_waiting_for_its_first_consumer() {
    let claim = "persistentvolumeclaim/mysql-db-v1-mkg-claim-0";
    let app = app(|_| {});
    let wait = |ms| ApplyOptions {
        wait: Some(std::time::Duration::from_millis(ms)),
        ..Default::default()
    };

    // Workload available, claim bound: done.
    let ready = FakeCluster::new(&["demo"]).await;
    ready.set_kubelet(Kubelet::Ready);
    let (events, result) = deploy_with(&ready, &app, PlanOptions::default(), wait(30_000)).await;
    result.expect("ready");
    assert!(
        lines(&events).contains(&format!("ready {claim}")),
        "{events:?}"
    );

    // Workload available, but the provisioner never makes the volume: not done.
    let stuck = FakeCluster::new(&["demo"]).await;
    stuck.set_kubelet(Kubelet::VolumesUnprovisioned);
    let (events, result) = deploy_with(&stuck, &app, PlanOptions::default(), wait(600)).await;
    let err = result.expect_err("the claim never binds");
    assert!(
        matches!(&err, KubeError::WaitTimeout { object, last, .. }
            if object == claim && last.contains("waiting for rancher.io/local-path")),
        "{err}"
    );
    assert!(
        lines(&events).contains(&"ready deployment/mysql-db-v1-mkg".to_string()),
        "{events:?}"
    );

    // A claim whose volume is gone fails the wait at once.
    let pvc_path = "/api/v1/namespaces/demo/persistentvolumeclaims/mysql-db-v1-mkg-claim-0";
    edit(
        &ready,
        &format!("{pvc_path}/status"),
        json!({"status": {"phase": "Lost"}}),
    )
    .await;
    let err = deploy_with(&ready, &app, PlanOptions::default(), wait(30_000))
        .await
        .1
        .expect_err("lost volume");
    assert!(
        matches!(&err, KubeError::WorkloadFailed { object, reason, .. }
            if object == claim && reason.contains("is gone (phase Lost)")),
        "{err}"
    );
}

#[tokio::test]
async fn a_dry_run_into_a_missing_namespace_plans_it_and_everything_in_it_as_created() {
    let cluster = FakeCluster::new(&[]).await;
    let app = app(|_| {});
    let (events, result) = deploy_with(
        &cluster,
        &app,
        PlanOptions {
            create_namespace: true,
            ..Default::default()
        },
        ApplyOptions {
            dry_run: true,
            ..Default::default()
        },
    )
    .await;
    result.expect("dry run");
    assert_eq!(
        lines(&events),
        [
            "created namespace/demo",
            "created configmap/train",
            "created persistentvolumeclaim/mysql-db-v1-mkg-claim-0",
            "created service/mysql-db-v1-mkg",
            "created deployment/mysql-db-v1-mkg",
            "created ingress/mysql-db-v1-mkg-ingress",
        ]
    );
    assert!(
        events.iter().all(|e| matches!(
            e,
            maia_deploy::Event::Applied { dry_run: true, .. }
                | maia_deploy::Event::NamespaceCreated { dry_run: true, .. }
        )),
        "{events:?}"
    );
    let writes = cluster.writes();
    assert!(
        writes.iter().all(|w| w.query.contains("dryRun=All")),
        "{writes:?}"
    );
    assert!(cluster.namespaces().is_empty(), "a dry run creates nothing");
}

/// For every position n in the write sequence of the example app, a fault at write n
/// (500, 409, and a timeout-like 504) followed by a re-run converges to the objects of a
/// clean run, and a third run writes nothing (issue 9, proof).
#[tokio::test]
async fn a_fault_at_every_write_then_a_rerun_converges_to_a_clean_run() {
    let clean = FakeCluster::new(&["demo"]).await;
    let app = app(|_| {});
    deploy(&clean, &app).await.1.expect("clean deploy");
    let writes = clean.writes().len();
    assert!(writes >= 4, "{writes}");
    let snapshot = |c: FakeCluster| async move {
        let mut out = Vec::new();
        for path in [
            "/api/v1/namespaces/demo/configmaps",
            "/api/v1/namespaces/demo/persistentvolumeclaims",
            "/api/v1/namespaces/demo/services",
            "/apis/apps/v1/namespaces/demo/deployments",
            "/apis/networking.k8s.io/v1/namespaces/demo/ingresses",
        ] {
            for o in c.objects(path).await {
                out.push((
                    path.to_string(),
                    o["metadata"]["name"].clone(),
                    o["metadata"]["labels"].clone(),
                    o["spec"].clone(),
                    o["data"].clone(),
                ));
            }
        }
        out.sort_by_key(|o| format!("{}{}", o.0, o.1));
        out
    };
    let expected = snapshot(clean.clone()).await;
    for code in [500, 409, 504] {
        for n in 1..=writes {
            let c = FakeCluster::new(&["demo"]).await;
            c.fail_nth_write(n, code);
            let (_, first) = deploy(&c, &app).await;
            assert!(first.is_err(), "write {n} ({code}) should fail");
            deploy(&c, &app)
                .await
                .1
                .unwrap_or_else(|e| panic!("re-run after fault {n} ({code}): {e}"));
            assert_eq!(
                snapshot(c.clone()).await,
                expected,
                "after fault {n} ({code})"
            );
            c.clear_requests();
            deploy(&c, &app).await.1.expect("third run");
            assert_eq!(c.writes(), [], "converged after fault {n} ({code})");
        }
    }
}

#[tokio::test]
async fn an_app_that_does_not_fit_the_quota_is_refused_before_any_write_with_the_numbers() {
    let cluster = FakeCluster::new(&["demo"]).await;
    // A workspace namespace's quota, as the API server reports its use.
    let quota = |used_cpu: &str| {
        json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "maia-quota", "namespace": "demo"},
            "spec": {"hard": {"requests.cpu": "4", "requests.memory": "16Gi",
                "persistentvolumeclaims": "10"}},
            "status": {"hard": {"requests.cpu": "4", "requests.memory": "16Gi",
                "persistentvolumeclaims": "10"},
                "used": {"requests.cpu": used_cpu, "requests.memory": "1Gi",
                "persistentvolumeclaims": "1"}}})
    };
    cluster.seed(quota("3800m")).await;
    let app = app(|_| {});
    let err = deploy(&cluster, &app).await.1.expect_err("does not fit");
    let text = err.to_string();
    assert!(
        text.contains("asks for 500m CPU; the namespace has 200m of 4 left"),
        "{text}"
    );
    assert!(
        err.hint()
            .unwrap()
            .contains("kubectl describe resourcequota -n demo")
    );
    assert!(
        cluster
            .writes()
            .iter()
            .all(|w| w.method == "POST" && w.path.contains("resourcequotas")),
        "only the test's own seed: {:?}",
        cluster.writes()
    );
    let plan_err = plan(&cluster, &app, PlanOptions::default())
        .await
        .expect_err("plan says so too");
    assert!(plan_err.to_string().contains("500m CPU"), "{plan_err}");
}

#[tokio::test]
async fn an_app_that_fits_deploys_and_a_rerun_does_not_count_itself_twice() {
    let cluster = FakeCluster::new(&["demo"]).await;
    cluster
        .seed(json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "maia-quota", "namespace": "demo"},
            "spec": {"hard": {"requests.cpu": "1"}},
            "status": {"hard": {"requests.cpu": "1"}, "used": {"requests.cpu": "0"}}}))
        .await;
    let app = app(|_| {});
    deploy(&cluster, &app).await.1.expect("500m of 1 fits");
    // The quota controller would now count the app's 500m; a re-run asks for no more.
    edit(
        &cluster,
        "/api/v1/namespaces/demo/resourcequotas/maia-quota",
        json!({"status": {"used": {"requests.cpu": "900m"}}}),
    )
    .await;
    deploy(&cluster, &app)
        .await
        .1
        .expect("the same app again fits");
}
