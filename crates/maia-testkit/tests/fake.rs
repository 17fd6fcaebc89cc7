//! The fake cluster itself: namespaces as objects, discovery, installable custom
//! resources, access reviews, seeding, leases and the kubelet, all through `kube::Api`.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams, PostParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use maia_testkit::fake::{FakeCluster, Kubelet, Middleware, Tenant};
use serde_json::{Value, json};

fn apply() -> PatchParams {
    PatchParams::apply("maia").force()
}

/// The status of a failed call, or a panic if it succeeded or failed otherwise.
fn api_error<T: std::fmt::Debug>(result: kube::Result<T>) -> (u16, String, String) {
    match result {
        Err(kube::Error::Api(s)) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn tenant_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("minio.min.io", "v2", "Tenant"),
        "tenants",
    )
}

fn namespace(name: &str, labels: &[(&str, &str)]) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn names<K: kube::Resource>(list: &[K]) -> Vec<String> {
    let mut names: Vec<String> = list
        .iter()
        .map(|o| o.meta().name.clone().unwrap_or_default())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn namespace_labels_survive_apply_and_select() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let api: Api<Namespace> = Api::all(cluster.client());

    let ns = namespace(
        "ws-alice",
        &[("maia.dev/workspace", "alice"), ("tier", "gpu")],
    );
    let created = api
        .patch("ws-alice", &apply(), &Patch::Apply(&ns))
        .await
        .unwrap();
    let first_version = created.metadata.resource_version.clone().unwrap();
    let uid = created.metadata.uid.clone().unwrap();

    let live = api.get("ws-alice").await.unwrap();
    let labels = live.metadata.labels.clone().unwrap();
    assert_eq!(labels["maia.dev/workspace"], "alice");
    assert_eq!(labels["tier"], "gpu");
    assert_eq!(labels["kubernetes.io/metadata.name"], "ws-alice");
    assert_eq!(live.status.unwrap().phase.as_deref(), Some("Active"));
    assert_eq!(live.metadata.uid.as_deref(), Some(uid.as_str()));

    // A second apply merges (an annotation), keeps the uid and bumps the version.
    let mut again = namespace("ws-alice", &[("maia.dev/workspace", "alice")]);
    again.metadata.annotations = Some(BTreeMap::from([("note".into(), "hi".into())]));
    let updated = api
        .patch("ws-alice", &apply(), &Patch::Apply(&again))
        .await
        .unwrap();
    assert_ne!(updated.metadata.resource_version.unwrap(), first_version);
    assert_eq!(updated.metadata.uid.unwrap(), uid);
    assert_eq!(updated.metadata.annotations.unwrap()["note"], "hi");
    assert_eq!(updated.metadata.labels.unwrap()["tier"], "gpu");

    api.patch(
        "ws-bob",
        &apply(),
        &Patch::Apply(&namespace("ws-bob", &[("maia.dev/workspace", "bob")])),
    )
    .await
    .unwrap();

    let select = |selector: &'static str| {
        let api = api.clone();
        async move {
            names(
                &api.list(&ListParams::default().labels(selector))
                    .await
                    .unwrap()
                    .items,
            )
        }
    };
    assert_eq!(select("maia.dev/workspace").await, ["ws-alice", "ws-bob"]);
    assert_eq!(select("maia.dev/workspace=alice").await, ["ws-alice"]);
    assert_eq!(
        select("maia.dev/workspace!=alice").await,
        ["demo", "ws-bob"]
    );
    assert_eq!(select("maia.dev/workspace,tier=gpu").await, ["ws-alice"]);
    assert_eq!(select("!maia.dev/workspace").await, ["demo"]);
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=ws-bob"))
        .await
        .unwrap();
    assert_eq!(names(&by_name.items), ["ws-bob"]);

    let stored = cluster.namespace_object("ws-alice").unwrap();
    assert_eq!(stored["metadata"]["labels"]["tier"], "gpu");
    assert_eq!(stored["kind"], "Namespace");
    assert_eq!(
        cluster.namespaces().into_iter().collect::<Vec<_>>(),
        ["demo", "ws-alice", "ws-bob"]
    );

    // A dry run stores nothing; a merge patch needs the namespace to exist.
    api.patch(
        "ws-dry",
        &apply().dry_run(),
        &Patch::Apply(&namespace("ws-dry", &[])),
    )
    .await
    .unwrap();
    assert!(cluster.namespace_object("ws-dry").is_none());
    let (code, _, _) = api_error(
        api.patch("ws-nope", &PatchParams::default(), &Patch::Merge(json!({})))
            .await,
    );
    assert_eq!(code, 404);

    api.delete("ws-bob", &DeleteParams::default())
        .await
        .unwrap();
    assert!(cluster.namespace_object("ws-bob").is_none());
    let (code, reason, message) = api_error(api.get("ws-bob").await);
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert_eq!(message, "namespaces \"ws-bob\" not found");
}

#[tokio::test]
async fn writes_into_missing_namespaces_fail_and_deleting_a_namespace_empties_it() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let missing: Api<ConfigMap> = Api::namespaced(cluster.client(), "absent");
    let (code, _, message) = api_error(
        missing
            .patch("settings", &apply(), &Patch::Apply(&config_map))
            .await,
    );
    assert_eq!(code, 404);
    assert_eq!(message, "namespaces \"absent\" not found");

    let demo: Api<ConfigMap> = Api::namespaced(cluster.client(), "demo");
    demo.patch("settings", &apply(), &Patch::Apply(&config_map))
        .await
        .unwrap();
    Api::<Namespace>::all(cluster.client())
        .delete("demo", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        cluster
            .objects("/api/v1/namespaces/demo/configmaps")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn discovery_lists_builtins_and_installed_crds_only() {
    let cluster = FakeCluster::new(&["demo"]).await;
    let client = cluster.client();

    let core = client.list_core_api_versions().await.unwrap();
    assert_eq!(core.versions, ["v1"]);
    let v1 = client.list_core_api_resources("v1").await.unwrap();
    assert_eq!(v1.group_version, "v1");
    let namespaces = v1
        .resources
        .iter()
        .find(|r| r.name == "namespaces")
        .unwrap();
    assert!(!namespaces.namespaced);
    assert_eq!(namespaces.kind, "Namespace");
    let pods = v1.resources.iter().find(|r| r.name == "pods").unwrap();
    assert!(pods.namespaced);
    assert_eq!(pods.singular_name, "pod");
    assert!(pods.verbs.iter().any(|v| v == "patch"));
    assert!(v1.resources.iter().any(|r| r.name == "pods/status"));

    let groups = client.list_api_groups().await.unwrap();
    let group_names: Vec<&str> = groups.groups.iter().map(|g| g.name.as_str()).collect();
    for wanted in [
        "apps",
        "batch",
        "networking.k8s.io",
        "storage.k8s.io",
        "coordination.k8s.io",
        "rbac.authorization.k8s.io",
        "authorization.k8s.io",
        "apiextensions.k8s.io",
    ] {
        assert!(group_names.contains(&wanted), "{wanted} in {group_names:?}");
    }
    assert!(!group_names.contains(&"minio.min.io"));
    let apps = groups.groups.iter().find(|g| g.name == "apps").unwrap();
    assert_eq!(
        apps.preferred_version.as_ref().unwrap().group_version,
        "apps/v1"
    );

    let ssar = client
        .list_api_group_resources("authorization.k8s.io/v1")
        .await
        .unwrap();
    let review = ssar
        .resources
        .iter()
        .find(|r| r.kind == "SelfSubjectAccessReview")
        .unwrap();
    assert_eq!(review.verbs, ["create"]);
    assert!(!review.namespaced);
    let storage = client
        .list_api_group_resources("storage.k8s.io/v1")
        .await
        .unwrap();
    assert!(
        storage
            .resources
            .iter()
            .any(|r| r.name == "storageclasses" && !r.namespaced)
    );

    // Not installed: the group version is unknown, and so are its paths.
    for gv in [
        "minio.min.io/v2",
        "traefik.io/v1alpha1",
        "traefik.containo.us/v1alpha1",
        "nothing.example.com/v1",
    ] {
        let (code, reason, _) = api_error(client.list_api_group_resources(gv).await);
        assert_eq!((code, reason.as_str()), (404, "NotFound"), "{gv}");
    }
    let tenants: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "demo", &tenant_resource());
    let (code, _, message) = api_error(tenants.list(&ListParams::default()).await);
    assert_eq!(code, 404);
    assert_eq!(message, "the server could not find the requested resource");

    cluster.install_crd("traefik.io/v1alpha1", "Middleware");
    let traefik = client
        .list_api_group_resources("traefik.io/v1alpha1")
        .await
        .unwrap();
    assert_eq!(traefik.group_version, "traefik.io/v1alpha1");
    let middlewares = &traefik.resources[0];
    assert_eq!(
        (
            middlewares.name.as_str(),
            middlewares.kind.as_str(),
            middlewares.namespaced
        ),
        ("middlewares", "Middleware", true)
    );
    // The other Traefik group, and MinIO, are still missing.
    assert!(
        client
            .list_api_group_resources("traefik.containo.us/v1alpha1")
            .await
            .is_err()
    );
    assert!(tenants.list(&ListParams::default()).await.is_err());

    // kube's own discovery agrees.
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.has_group("traefik.io"));
    assert!(!discovery.has_group("minio.min.io"));
    assert!(discovery.has_group("coordination.k8s.io"));
}

#[tokio::test]
async fn a_tenant_is_served_once_its_crd_is_installed() {
    let cluster = FakeCluster::with_workspace_crds(&["ws"]).await;
    let client = cluster.client();
    let minio = client
        .list_api_group_resources("minio.min.io/v2")
        .await
        .unwrap();
    assert!(
        minio
            .resources
            .iter()
            .any(|r| r.name == "tenants" && r.kind == "Tenant")
    );
    assert!(
        client
            .list_api_group_resources("traefik.io/v1alpha1")
            .await
            .is_ok()
    );

    let ar = tenant_resource();
    let tenants: Api<DynamicObject> = Api::namespaced_with(client.clone(), "ws", &ar);
    for (name, owner) in [("storage", "alice"), ("scratch", "bob")] {
        let mut tenant = DynamicObject::new(name, &ar).within("ws").data(json!({
            "spec": {"pools": [{"servers": 1, "volumesPerServer": 1}]}
        }));
        tenant.metadata.labels = Some(BTreeMap::from([("owner".into(), owner.into())]));
        tenants
            .patch(name, &apply(), &Patch::Apply(&tenant))
            .await
            .unwrap();
    }
    let live = tenants.get("storage").await.unwrap();
    assert_eq!(live.data["spec"]["pools"][0]["servers"], 1);
    let selected = tenants
        .list(&ListParams::default().labels("owner=bob"))
        .await
        .unwrap();
    assert_eq!(names(&selected.items), ["scratch"]);

    // The marker type works with a typed Api too.
    let typed: Api<Tenant> = Api::namespaced(client.clone(), "ws");
    let storage = typed.get("storage").await.unwrap();
    assert_eq!(storage.spec["pools"][0]["volumesPerServer"], 1);

    tenants
        .delete("storage", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_error(tenants.get("storage").await).0, 404);
    assert_eq!(
        names(
            &cluster
                .objects("/apis/minio.min.io/v2/namespaces/ws/tenants")
                .await
                .into_iter()
                .map(|o| serde_json::from_value::<DynamicObject>(o).unwrap())
                .collect::<Vec<_>>()
        ),
        ["scratch"]
    );
    // `with_workspace_crds` does not install Traefik 2's group.
    let legacy = Api::<DynamicObject>::namespaced_with(
        client,
        "ws",
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("traefik.containo.us", "v1alpha1", "Middleware"),
            "middlewares",
        ),
    );
    assert_eq!(api_error(legacy.list(&ListParams::default()).await).0, 404);
    assert_eq!(Middleware::API_VERSION, "traefik.io/v1alpha1");
}

#[tokio::test]
#[should_panic(expected = "knows no custom resource")]
async fn installing_an_unknown_crd_is_a_test_bug() {
    FakeCluster::new(&[])
        .await
        .install_crd("example.com/v1", "Widget");
}

fn access_review(verb: &str, group: &str, resource: &str) -> SelfSubjectAccessReview {
    SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                namespace: Some("ws".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn access_reviews_are_allowed_unless_denied() {
    let cluster = FakeCluster::new(&["ws"]).await;
    let reviews: Api<SelfSubjectAccessReview> = Api::all(cluster.client());
    let allowed = |verb: &'static str, group: &'static str, resource: &'static str| {
        let reviews = reviews.clone();
        async move {
            let answer = reviews
                .create(
                    &PostParams::default(),
                    &access_review(verb, group, resource),
                )
                .await
                .unwrap();
            let status = answer.status.unwrap();
            // The review comes back as posted.
            let attributes = answer.spec.resource_attributes.unwrap();
            assert_eq!(attributes.resource.as_deref(), Some(resource));
            (status.allowed, status.reason)
        }
    };
    assert_eq!(allowed("create", "", "namespaces").await, (true, None));

    cluster.deny("create", "", "namespaces");
    cluster.deny("*", "minio.min.io", "*");
    assert_eq!(
        allowed("create", "", "namespaces").await,
        (false, Some("denied by the test".into()))
    );
    assert!(allowed("delete", "", "namespaces").await.0);
    assert!(!allowed("patch", "minio.min.io", "tenants").await.0);
    assert!(allowed("patch", "apps", "deployments").await.0);

    // Reviews are requests, not writes.
    let requests = cluster.requests();
    assert_eq!(requests.len(), 5);
    assert!(requests.iter().all(|r| r.is_review() && !r.is_write()));
    assert!(cluster.writes().is_empty());
}

#[tokio::test]
async fn seeded_objects_are_listed_through_the_layer() {
    let cluster = FakeCluster::new(&["a", "b"]).await;
    cluster
        .seed(
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "local-path",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path"}),
        )
        .await;
    cluster
        .seed(json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": "traefik"}, "spec": {"controller": "traefik.io/ingress-controller"}}))
        .await;
    for (ns, port) in [("a", 30080), ("b", 30443)] {
        cluster
            .seed(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "traefik", "namespace": ns,
                    "labels": {"app.kubernetes.io/name": "traefik"}},
                "spec": {"type": "NodePort",
                    "ports": [{"name": "web", "port": 80, "nodePort": port}]}}))
            .await;
    }
    cluster
        .seed(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "other", "namespace": "a", "labels": {"app": "other"}},
            "spec": {"ports": [{"port": 80}]}}))
        .await;
    cluster
        .seed(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "worker", "namespace": "a"},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]},
            "status": {"phase": "Running"}}))
        .await;
    cluster
        .seed(
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "maia-lock", "namespace": "a"},
            "spec": {"holderIdentity": "someone"}}),
        )
        .await;
    cluster
        .seed(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "b"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}))
        .await;
    let seeded_ns = cluster
        .seed(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "ws-seeded", "labels": {"maia.dev/workspace": "seeded"}}}))
        .await;
    assert_eq!(
        seeded_ns["metadata"]["labels"]["maia.dev/workspace"],
        "seeded"
    );
    assert!(cluster.requests().is_empty(), "seeding is not counted");

    let client = cluster.client();
    let classes = Api::<StorageClass>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(names(&classes.items), ["local-path"]);
    assert_eq!(classes.items[0].provisioner, "rancher.io/local-path");
    let ingress_classes = Api::<IngressClass>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(names(&ingress_classes.items), ["traefik"]);

    // A cluster-wide LIST of services, by label.
    let services = Api::<Service>::all(client.clone())
        .list(&ListParams::default().labels("app.kubernetes.io/name=traefik"))
        .await
        .unwrap();
    let mut node_ports: Vec<(String, i32)> = services
        .items
        .iter()
        .map(|s| {
            let spec = s.spec.clone().unwrap();
            assert_eq!(spec.type_.as_deref(), Some("NodePort"));
            (
                s.metadata.namespace.clone().unwrap(),
                spec.ports.unwrap()[0].node_port.unwrap(),
            )
        })
        .collect();
    node_ports.sort();
    assert_eq!(
        node_ports,
        [("a".to_string(), 30080), ("b".to_string(), 30443)]
    );
    assert_eq!(
        Api::<Service>::all(client.clone())
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        3
    );

    let pod = Api::<Pod>::namespaced(client.clone(), "a")
        .get("worker")
        .await
        .unwrap();
    assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Running"));
    let lease = Api::<Lease>::namespaced(client.clone(), "a")
        .get("maia-lock")
        .await
        .unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some("someone")
    );
    let deployments = Api::<Deployment>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(names(&deployments.items), ["web"]);
    let workspaces = Api::<Namespace>::all(client)
        .list(&ListParams::default().labels("maia.dev/workspace"))
        .await
        .unwrap();
    assert_eq!(names(&workspaces.items), ["ws-seeded"]);

    // The uncounted LIST helper, with a selector.
    assert_eq!(cluster.objects("/api/v1/services").await.len(), 3);
    assert_eq!(
        cluster
            .objects("/api/v1/services?labelSelector=app%3Dother")
            .await
            .len(),
        1
    );
    assert_eq!(
        cluster
            .objects("/api/v1/namespaces?labelSelector=maia.dev%2Fworkspace%3Dseeded")
            .await
            .len(),
        1
    );
    assert_eq!(
        cluster.requests().len(),
        8,
        "only the layer's requests count"
    );
}

fn lease(name: &str, holder: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn leases_lock_like_leader_election() {
    let cluster = FakeCluster::new(&["ws"]).await;
    let leases: Api<Lease> = Api::namespaced(cluster.client(), "ws");

    let created = leases
        .create(&PostParams::default(), &lease("maia-lock", "alice"))
        .await
        .unwrap();
    let first = created.metadata.resource_version.clone().unwrap();
    assert_eq!(created.metadata.namespace.as_deref(), Some("ws"));
    assert!(
        cluster
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/leases"))
    );

    let (code, reason, message) = api_error(
        leases
            .create(&PostParams::default(), &lease("maia-lock", "bob"))
            .await,
    );
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));
    assert!(message.contains("already exists"), "{message}");

    // Alice renews with the version she read: fine.
    let mut renewed = created.clone();
    renewed.spec.as_mut().unwrap().lease_duration_seconds = Some(30);
    let renewed = leases
        .replace("maia-lock", &PostParams::default(), &renewed)
        .await
        .unwrap();
    assert_ne!(
        renewed.metadata.resource_version.as_deref(),
        Some(first.as_str())
    );

    // Bob takes over with the version he read before the renewal: refused.
    let mut stale = created;
    stale.spec.as_mut().unwrap().holder_identity = Some("bob".into());
    let (code, reason, message) = api_error(
        leases
            .replace("maia-lock", &PostParams::default(), &stale)
            .await,
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        message,
        "Operation cannot be fulfilled on leases.coordination.k8s.io \"maia-lock\": the object has been modified; please apply your changes to the latest version and try again"
    );

    // A replace without a namespace in the body keeps the object in its namespace.
    let mut bare = leases.get("maia-lock").await.unwrap();
    assert_eq!(
        bare.spec.as_ref().unwrap().holder_identity.as_deref(),
        Some("alice")
    );
    bare.metadata.namespace = None;
    let replaced = leases
        .replace("maia-lock", &PostParams::default(), &bare)
        .await
        .unwrap();
    assert_eq!(replaced.metadata.namespace.as_deref(), Some("ws"));
    assert_eq!(
        leases
            .get("maia-lock")
            .await
            .unwrap()
            .metadata
            .namespace
            .as_deref(),
        Some("ws")
    );

    leases
        .delete("maia-lock", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_error(leases.get("maia-lock").await).0, 404);
    // Released, it can be taken again.
    leases
        .create(&PostParams::default(), &lease("maia-lock", "bob"))
        .await
        .unwrap();
}

fn job(name: &str, template_labels: Value) -> Job {
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {
            "metadata": {"labels": template_labels},
            "spec": {"restartPolicy": "Never",
                "containers": [{"name": "main", "image": "busybox"}]}}}
    }))
    .unwrap()
}

#[tokio::test]
async fn the_kubelet_completes_workspace_jobs_and_initializes_tenants() {
    let cluster = FakeCluster::with_workspace_crds(&["ws"]).await;
    cluster.set_kubelet(Kubelet::Ready);
    let client = cluster.client();
    let jobs: Api<Job> = Api::namespaced(client.clone(), "ws");

    let setup = job(
        "setup",
        json!({"app.kubernetes.io/part-of": "maia-workspace"}),
    );
    jobs.patch("setup", &apply(), &Patch::Apply(&setup))
        .await
        .unwrap();
    let status = jobs.get("setup").await.unwrap().status.unwrap();
    assert_eq!(status.succeeded, Some(1));
    assert_eq!(status.active, None);
    let conditions = status.conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Complete" && c.status == "True")
    );

    // Any other Job keeps running.
    let other = job("batch", json!({"app": "batch"}));
    jobs.patch("batch", &apply(), &Patch::Apply(&other))
        .await
        .unwrap();
    let status = jobs.get("batch").await.unwrap().status.unwrap();
    assert_eq!((status.active, status.ready), (Some(1), Some(1)));
    assert_eq!(status.succeeded, None);

    let ar = tenant_resource();
    let tenants: Api<DynamicObject> = Api::namespaced_with(client.clone(), "ws", &ar);
    let tenant = DynamicObject::new("storage", &ar)
        .within("ws")
        .data(json!({"spec": {"pools": []}}));
    tenants
        .patch("storage", &apply(), &Patch::Apply(&tenant))
        .await
        .unwrap();
    let live = tenants.get("storage").await.unwrap();
    assert_eq!(live.data["status"]["currentState"], "Initialized");
    assert_eq!(live.data["status"]["healthStatus"], "green");
    // Re-applying the spec keeps the status.
    tenants
        .patch("storage", &apply(), &Patch::Apply(&tenant))
        .await
        .unwrap();
    assert_eq!(
        tenants.get("storage").await.unwrap().data["status"]["healthStatus"],
        "green"
    );
}

#[tokio::test]
async fn an_idle_kubelet_or_unprovisioned_volumes_leave_tenants_uninitialized() {
    for kubelet in [Kubelet::Idle, Kubelet::VolumesUnprovisioned] {
        let cluster = FakeCluster::with_workspace_crds(&["ws"]).await;
        cluster.set_kubelet(kubelet);
        let ar = tenant_resource();
        let tenants: Api<DynamicObject> = Api::namespaced_with(cluster.client(), "ws", &ar);
        let tenant = DynamicObject::new("storage", &ar).within("ws");
        tenants
            .patch("storage", &apply(), &Patch::Apply(&tenant))
            .await
            .unwrap();
        let live = tenants.get("storage").await.unwrap();
        assert!(live.data["status"].is_null(), "{kubelet:?}: {live:?}");
    }
}

/// One plain HTTP/1.1 exchange with the loopback server: the status line and body.
async fn exchange(addr: std::net::SocketAddr, request: String) -> (String, Value) {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let status_line = head.lines().next().unwrap().to_string();
        (
            status_line,
            serde_json::from_str(body.trim()).unwrap_or(Value::Null),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loopback_server_serves_discovery_and_namespaces() {
    let cluster = FakeCluster::with_workspace_crds(&["demo"]).await;
    let addr = cluster.serve().await.unwrap();
    let (status, body) = exchange(
        addr,
        "GET /apis/minio.min.io/v2 HTTP/1.1\r\nHost: fake\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(status.contains(" 200 "), "{status}");
    assert_eq!(body["resources"][0]["name"], "tenants");

    let namespace = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "ws-remote", "labels": {"maia.dev/workspace": "r"}}})
    .to_string();
    let (status, body) = exchange(
        addr,
        format!(
            "PATCH /api/v1/namespaces/ws-remote?fieldManager=maia HTTP/1.1\r\nHost: fake\r\n\
             Content-Type: application/apply-patch+yaml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{namespace}",
            namespace.len()
        ),
    )
    .await;
    assert!(status.contains(" 200 "), "{status}: {body}");
    assert_eq!(body["metadata"]["labels"]["maia.dev/workspace"], "r");
    assert_eq!(
        cluster.namespace_object("ws-remote").unwrap()["metadata"]["labels"]["maia.dev/workspace"],
        "r"
    );
}
