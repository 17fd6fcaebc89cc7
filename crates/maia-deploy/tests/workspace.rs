//! A whole workspace deployed against the in-memory cluster, with recording helm,
//! kubectl and git stand-ins: preflight, convergence (a second run writes nothing and
//! runs no helm upgrade), credentials kept in the cluster, SSH ports from the cluster
//! under a Lease, faults and re-runs, status and delete.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::FakeExt;
use std::time::Duration;

use maia_deploy::Event;
use maia_deploy::tools::ToolTarget;
use maia_deploy::workspace::deploy::{Request, deploy, prepare};
use maia_deploy::workspace::manage;
use maia_deploy::workspace::preflight::Needs;
use maia_deploy::{DeployError, Result};
use maia_render::workspace::credentials::CountingSource;
use maia_spec::workspace::WorkspaceSpec;
use maia_testkit::StandIns;
use maia_testkit::{FakeCluster, Kubelet};
use serde_json::{Value, json};

/// A cluster with the MinIO Operator and Traefik CRDs, the storage classes and the
/// NGINX ingress class the test spec names.
async fn cluster() -> FakeCluster {
    FakeCluster::ready_for_workspaces().await
}

fn request(spec: WorkspaceSpec, tools: &StandIns) -> Request {
    Request {
        needs: Needs {
            helm: true,
            kubeflow: !spec.minimal,
        },
        spec,
        state_namespace: "maia-system".into(),
        path: Some(tools.path()),
        tool_target: ToolTarget::default(),
        force_conflicts: false,
        file_credentials: None,
        given_credentials: Default::default(),
        lease_timeout: Duration::from_secs(30),
        holder: maia_deploy::lease::Holder::new("tester@test (pid 1)"),
        env_file: None,
        secrets_only: false,
        adopt_namespace: false,
    }
}

/// Prepares and deploys as `maia namespace deploy` does; the events even on failure.
async fn run(c: &FakeCluster, request: &Request) -> (Vec<Event>, Result<()>) {
    let cluster = c.cluster();
    let mut events = Vec::new();
    let result = async {
        let prepared = prepare(&cluster, request, &mut CountingSource::default(), true).await?;
        let mut sink = |e: Event| events.push(e);
        deploy(&cluster, request, prepared, None, &mut sink).await
    }
    .await;
    (events, result)
}

fn tools() -> (tempfile::TempDir, StandIns) {
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    (dir, tools)
}

async fn credentials(c: &FakeCluster) -> Value {
    c.objects("/api/v1/namespaces/maia-system/secrets")
        .await
        .into_iter()
        .find(|s| s["metadata"]["name"] == "maia-credentials-brain-mri")
        .map(|s| s["data"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_workspace_deploys_and_a_second_run_writes_nothing_and_upgrades_nothing() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    let (events, result) = run(&c, &request).await;
    result.unwrap();
    assert!(c.namespaces().contains("brain-mri"));
    // Every kind of object is on the cluster, the Tenant included.
    let tenants = c
        .objects("/apis/minio.min.io/v2/namespaces/brain-mri/tenants")
        .await;
    assert_eq!(tenants.len(), 1);
    let deployments = c
        .objects("/apis/apps/v1/namespaces/brain-mri/deployments")
        .await;
    assert!(deployments.len() >= 4, "{deployments:?}");
    // The namespace is a tenant: quota, container defaults, policies, member access,
    // and the Pod Security level its pods pass (privileged workspaces by default).
    for (path, at_least) in [
        ("/api/v1/namespaces/brain-mri/resourcequotas", 1),
        ("/api/v1/namespaces/brain-mri/limitranges", 1),
        (
            "/apis/networking.k8s.io/v1/namespaces/brain-mri/networkpolicies",
            5,
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/brain-mri/roles",
            1,
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/brain-mri/rolebindings",
            2,
        ),
    ] {
        let found = c.objects(path).await;
        assert!(found.len() >= at_least, "{path}: {found:?}");
    }
    let namespace = c
        .objects("/api/v1/namespaces")
        .await
        .into_iter()
        .find(|n| n["metadata"]["name"] == "brain-mri")
        .unwrap();
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    // The three charts went through helm, each values file private to its owner.
    let upgrades = tools.log("upgrades.log");
    assert_eq!(
        upgrades,
        ["oauth2-proxy", "label-studio", "jupyterhub-brain-mri"]
    );
    assert!(tools.log("modes.log").iter().all(|m| m == "600"));
    // No secret on any command line: the Keycloak client secret is in the values only.
    let argv = tools.log("helm.log").join("\n");
    assert!(!argv.contains("change-me"), "{argv}");
    // KubeFlow through kubectl apply -k, both kustomizations.
    let kubectl = tools.log("kubectl.log");
    assert!(
        kubectl
            .iter()
            .any(|l| l.starts_with("apply --server-side") && l.contains("cluster-scoped-resources"))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Helm { outcome, .. } if outcome == "installed"))
    );
    // Credentials are kept in maia's namespace.
    let kept = credentials(&c).await;
    assert!(kept.get("mysql.password").is_some(), "{kept}");

    c.clear_requests();
    let (events, result) = run(&c, &request).await;
    result.unwrap();
    assert_eq!(c.object_writes(), [], "a second deploy writes nothing");
    assert_eq!(tools.log("upgrades.log").len(), 3, "and upgrades no chart");
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Helm { .. }))
            .all(|e| matches!(e, Event::Helm { outcome, .. } if outcome == "unchanged"))
    );
    assert_eq!(credentials(&c).await, kept, "the credentials survive");
    // Reads: one LIST per kind (fourteen namespaced kinds), not one GET per object.
    let lists = c
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/namespaces/brain-mri/"))
        .count();
    assert!(lists <= 17, "{lists} reads in the namespace");
}

/// A deploy whose plan finds nothing of the group's to change writes nothing, not even
/// the group's Lease (KubeFlow Pipelines, which every group shares and the kubectl
/// stand-in never installs, is applied again: the group's Lease never guarded it). One
/// whose plan finds a change (an object someone deleted, as a concurrent run might; a
/// chart to repair) takes the Lease and reads everything again under it before it
/// writes: nothing read before the Lease decides what is written.
#[tokio::test]
async fn only_a_deploy_with_something_to_change_takes_the_lease_and_it_reads_again_under_it() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    run(&c, &request).await.1.unwrap();

    c.clear_requests();
    run(&c, &request).await.1.unwrap();
    assert_eq!(c.writes(), [], "nothing to change: nothing written");

    let policies = "/apis/networking.k8s.io/v1/namespaces/brain-mri/networkpolicies";
    let gone = c.objects(policies).await[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    c.remove(&format!("{policies}/{gone}")).await;
    c.clear_requests();
    run(&c, &request).await.1.unwrap();
    let requests = c.requests();
    let shown: Vec<String> = requests.iter().map(ToString::to_string).collect();
    let lease = "/apis/coordination.k8s.io/v1/namespaces/maia-system/leases";
    let taken = requests
        .iter()
        .position(|r| r.method == "POST" && r.path == lease)
        .unwrap_or_else(|| panic!("the group's Lease was taken: {shown:#?}"));
    let restored = requests
        .iter()
        .position(|r| r.method == "PATCH" && r.path == format!("{policies}/{gone}"))
        .unwrap_or_else(|| panic!("the policy was applied again: {shown:#?}"));
    assert!(taken < restored, "under the Lease: {shown:#?}");
    // Everything the plan decides on is read again after the Lease was taken: the
    // credentials, the cluster's Services (ports), and every kind's LIST, the
    // Ingresses included (the hosts check listed them before the Lease).
    let after: Vec<&String> = shown[taken..restored].iter().collect();
    for read in [
        "GET /api/v1/namespaces/maia-system/secrets/maia-credentials-brain-mri".to_string(),
        "GET /api/v1/services".to_string(),
        "GET /apis/networking.k8s.io/v1/namespaces/brain-mri/ingresses".to_string(),
        format!("GET {policies}"),
        "GET /api/v1/namespaces/brain-mri/persistentvolumeclaims".to_string(),
    ] {
        assert!(after.contains(&&read), "{read} under the Lease: {shown:#?}");
    }
    assert!(
        c.objects(lease).await.is_empty(),
        "the Lease was given back"
    );

    // A release helm reports failed is repaired under the Lease too.
    std::fs::write(
        tools.dir.join("state/brain-mri/oauth2-proxy.status"),
        "failed",
    )
    .unwrap();
    c.clear_requests();
    run(&c, &request).await.1.unwrap();
    assert!(
        c.writes()
            .iter()
            .any(|w| w.method == "POST" && w.path == lease),
        "{:?}",
        c.writes()
    );
    assert_eq!(
        tools.log("upgrades.log").last().map(String::as_str),
        Some("oauth2-proxy")
    );
}

/// Permissions are asked once per namespace (a SelfSubjectRulesReview); where the
/// server says its rules are incomplete (another authorizer may allow more), each is
/// asked on its own. Either way the same refusals are found, and nothing is written.
#[tokio::test]
async fn refused_permissions_are_found_from_the_rules_or_one_by_one() {
    let mut found = Vec::new();
    for incomplete in [false, true] {
        let c = cluster().await;
        c.deny("patch", "apps", "deployments");
        c.deny("create", "", "secrets");
        c.deny("delete", "admissionregistration.k8s.io", "*");
        if incomplete {
            c.rules_incomplete();
        }
        let (_dir, tools) = tools();
        let (_, result) = run(&c, &request(WorkspaceSpec::test(), &tools)).await;
        let Err(DeployError::Preflight { problems }) = result else {
            panic!("expected a permission problem, got {result:?}");
        };
        let denied = problems.iter().find(|p| p.check == "permission").unwrap();
        let reviews = |kind: &str| {
            c.requests()
                .iter()
                .filter(|r| r.path.ends_with(kind))
                .count()
        };
        assert_eq!(reviews("selfsubjectrulesreviews"), 2, "one per namespace");
        // Complete rules leave only the cluster-scoped checks to access reviews.
        assert_eq!(reviews("selfsubjectaccessreviews") > 20, incomplete);
        assert_eq!(c.writes(), []);
        found.push(denied.message.clone());
    }
    assert_eq!(
        found[0],
        "you may not create secrets in maia-system, create secrets in brain-mri, patch deployments.apps in brain-mri, delete validatingadmissionpolicies.admissionregistration.k8s.io, delete validatingadmissionpolicybindings.admissionregistration.k8s.io"
    );
    assert_eq!(found[0], found[1]);
}

/// Discovery takes two requests where the server aggregates it (Kubernetes 1.26 and
/// later), and one per group-version where it does not; the deploy is the same.
#[tokio::test]
async fn discovery_is_aggregated_where_the_server_can_and_per_group_where_not() {
    let mut plans = Vec::new();
    for aggregated in [true, false] {
        let c = cluster().await;
        if !aggregated {
            c.without_aggregated_discovery();
        }
        let (_dir, tools) = tools();
        let (_, result) = run(&c, &request(WorkspaceSpec::test(), &tools)).await;
        result.unwrap();
        c.clear_requests();
        let (_, result) = run(&c, &request(WorkspaceSpec::test(), &tools)).await;
        result.unwrap();
        let discovery: Vec<String> = c
            .requests()
            .iter()
            .filter(|r| {
                r.method == "GET"
                    && (r.path == "/api"
                        || r.path == "/apis"
                        || r.path == "/api/v1"
                        || r.path.split('/').count() == 4 && r.path.starts_with("/apis/"))
            })
            .map(|r| r.path.clone())
            .collect();
        if aggregated {
            assert_eq!(discovery, ["/api", "/apis"]);
        } else {
            assert!(
                discovery.contains(&"/apis/apps/v1".to_string()),
                "{discovery:?}"
            );
            assert!(discovery.len() > 2, "{discovery:?}");
        }
        assert_eq!(c.object_writes(), [], "a second deploy writes nothing");
        plans.push(
            c.objects("/api/v1/namespaces/brain-mri/services")
                .await
                .len(),
        );
    }
    assert_eq!(plans[0], plans[1]);
}

#[tokio::test]
async fn preflight_reports_every_problem_at_once_and_changes_nothing() {
    // No MinIO Operator, no storage classes, no ingress class, no helm.
    let c = FakeCluster::new(&[]).await;
    c.deny("create", "", "namespaces");
    let empty = tempfile::tempdir().unwrap();
    let mut request = request(
        WorkspaceSpec::test(),
        &StandIns::write(empty.path()).unwrap(),
    );
    request.path = Some(std::ffi::OsString::from("/nonexistent"));
    let (_, result) = run(&c, &request).await;
    let Err(DeployError::Preflight { problems }) = result else {
        panic!("expected preflight problems, got {result:?}");
    };
    let checks: Vec<&str> = problems.iter().map(|p| p.check).collect();
    for wanted in [
        "crd",
        "permission",
        "storage-class",
        "ingress-class",
        "tool",
    ] {
        assert!(
            checks.contains(&wanted),
            "{wanted} missing from {problems:#?}"
        );
    }
    let tenant = problems.iter().find(|p| p.check == "crd").unwrap();
    assert!(tenant.hint.contains("MinIO Operator"), "{tenant:?}");
    assert_eq!(c.writes(), [], "nothing was changed");
}

#[tokio::test]
async fn a_namespace_held_by_another_group_or_reserved_is_refused() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    c.seed(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "brain-mri",
        "annotations": {"maia.cloud/group-id": "brain.mri"}}}),
    )
    .await;
    let (_, result) = run(&c, &request(WorkspaceSpec::test(), &tools)).await;
    let Err(DeployError::Preflight { problems }) = result else {
        panic!("expected a refusal, got {result:?}");
    };
    assert!(
        problems
            .iter()
            .any(|p| p.bad_input && p.message.contains("brain.mri"))
    );
    assert!(DeployError::Preflight { problems }.is_bad_input());
    assert_eq!(c.writes(), []);
}

#[tokio::test]
async fn ssh_ports_avoid_node_ports_of_other_namespaces_and_users_keep_theirs() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    c.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}))
        .await;
    c.seed(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x", "namespace": "other"},
        "spec": {"type": "NodePort", "ports": [{"port": 22, "nodePort": 30100}]}}))
        .await;
    let spec = WorkspaceSpec::test();
    let (_, result) = run(&c, &request(spec.clone(), &tools)).await;
    result.unwrap();
    let ports = |services: Vec<Value>| -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = services
            .into_iter()
            .filter(|s| s["metadata"]["name"].as_str().unwrap().ends_with("-ssh"))
            .map(|s| {
                (
                    s["metadata"]["name"].as_str().unwrap().to_string(),
                    s["spec"]["ports"][0]["nodePort"].as_i64().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let first = ports(c.objects("/api/v1/namespaces/brain-mri/services").await);
    assert!(!first.is_empty());
    assert!(first.iter().all(|(_, p)| *p != 30100), "{first:?}");
    // The Lease was given back.
    assert_eq!(
        c.objects("/apis/coordination.k8s.io/v1/namespaces/maia-system/leases")
            .await
            .len(),
        0
    );

    // A user added: only that user's Services and the JupyterHub release change.
    let mut more = spec.clone();
    more.users.push("carol@example.org".into());
    c.clear_requests();
    let (events, result) = run(&c, &request(more, &tools)).await;
    result.unwrap();
    let second = ports(c.objects("/api/v1/namespaces/brain-mri/services").await);
    for (name, port) in &first {
        assert!(second.contains(&(name.clone(), *port)), "{name} moved");
    }
    assert_eq!(second.len(), first.len() + 1);
    let changed: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Applied {
                object, outcome, ..
            } if outcome.as_str() != "unchanged" => Some(object.to_string()),
            Event::Helm {
                release, outcome, ..
            } if outcome != "unchanged" => Some(format!("helm/{release}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        changed,
        [
            // The workspace's record lists the new member (for status).
            "configmap/maia-workspace-record",
            "service/carol-40example-2eorg-ssh",
            // The quota grows by a member's server and home; SSH opens for them.
            "resourcequota/maia-quota",
            "networkpolicy/maia-outside-to-carol-40example-2eorg-ssh",
            // The guard learns their server's and home's names.
            "validatingadmissionpolicy/maia-workspace-guard-brain-mri",
            "service/jupyter-carol-40example-2eorg",
            "helm/jupyterhub-brain-mri",
        ],
        "only the new member's Services, their SSH policy and guard, the quota and the hub change"
    );
}

#[tokio::test]
async fn concurrent_deploys_of_two_groups_get_distinct_ports() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let a = WorkspaceSpec::test();
    let mut b = WorkspaceSpec::test();
    b.group_id = "Lung_CT".into();
    b.namespace = "lung-ct".parse().unwrap();
    b.subdomain = "lung-ct".parse().unwrap();
    let (ra, rb) = (request(a, &tools), request(b, &tools));
    let ((_, x), (_, y)) = tokio::join!(run(&c, &ra), run(&c, &rb));
    x.unwrap();
    y.unwrap();
    let mut all: Vec<i64> = Vec::new();
    for ns in ["brain-mri", "lung-ct"] {
        for s in c
            .objects(&format!("/api/v1/namespaces/{ns}/services"))
            .await
        {
            if let Some(p) = s["spec"]["ports"][0]["nodePort"].as_i64() {
                all.push(p);
            }
        }
    }
    let unique: std::collections::BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "ports collide: {all:?}");
}

#[tokio::test]
async fn a_fault_at_any_write_then_a_rerun_converges_with_the_same_credentials() {
    // A clean run, for comparison.
    let clean = cluster().await;
    let (_d0, t0) = tools();
    run(&clean, &request(WorkspaceSpec::test(), &t0))
        .await
        .1
        .unwrap();
    let clean_writes = clean.writes();
    let writes = clean_writes.len();
    assert!(writes > 20);

    for n in 1..=writes {
        let c = cluster().await;
        let (_dir, tools) = tools();
        let request = request(WorkspaceSpec::test(), &tools);
        // Fail the n-th write (PATCH or POST) with a 500.
        c.fail_nth_write(n, 500);
        let (_, first) = run(&c, &request).await;
        // A Lease renewed or given back despite one failed request (it is retried, or
        // still ours for its duration) does not fail the deploy.
        if !clean_writes[n - 1].path.contains("/leases") {
            assert!(first.is_err(), "write {n} should have failed");
        }
        let kept = credentials(&c).await;
        let (_, again) = run(&c, &request).await;
        again.unwrap();
        if !kept.is_null() {
            assert_eq!(
                credentials(&c).await,
                kept,
                "credentials changed after fault {n}"
            );
        }
        for path in [
            "/api/v1/namespaces/brain-mri/secrets",
            "/apis/apps/v1/namespaces/brain-mri/deployments",
            "/api/v1/namespaces/brain-mri/services",
            "/apis/networking.k8s.io/v1/namespaces/brain-mri/ingresses",
        ] {
            let names = |v: Vec<Value>| -> Vec<String> {
                let mut n: Vec<String> = v
                    .iter()
                    .map(|o| {
                        o["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect();
                n.sort();
                n
            };
            assert_eq!(
                names(c.objects(path).await),
                names(clean.objects(path).await),
                "{path} after fault at write {n}"
            );
        }
        c.clear_requests();
        run(&c, &request).await.1.unwrap();
        assert_eq!(c.object_writes(), [], "converged after fault {n}");
    }
}

#[tokio::test]
async fn status_list_and_delete_see_the_workspace_from_the_cluster_alone() {
    let c = cluster().await;
    c.set_kubelet(Kubelet::Ready);
    let (_dir, tools) = tools();
    run(&c, &request(WorkspaceSpec::test(), &tools))
        .await
        .1
        .unwrap();
    let cluster = c.cluster();
    let list = manage::list(&cluster).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].group_id, "Brain_MRI");
    let entry = manage::find(&cluster, "Brain_MRI").await.unwrap();
    let helm = maia_deploy::tools::Helm::new(tools.helm(), ToolTarget::default());
    let status = manage::status(&cluster, &entry, Some(&helm)).await.unwrap();
    let names: Vec<&str> = status
        .components
        .iter()
        .map(|c| c.component.as_str())
        .collect();
    for wanted in ["minio", "mysql", "mlflow", "addons", "jupyterhub"] {
        assert!(names.contains(&wanted), "{wanted} not in {names:?}");
    }
    assert!(
        status.components.iter().all(|c| c.status.is_ready()),
        "{:#?}",
        status.components
    );
    assert_eq!(status.users.len(), WorkspaceSpec::test().users.len());
    assert!(status.users.iter().all(|u| u.ssh_port.is_some()));
    // Quota use next to the components (the fake runs no quota controller: use 0).
    let cpu = status
        .quota
        .iter()
        .find(|q| q.resource == "requests.cpu")
        .expect("the workspace's quota");
    assert_eq!((cpu.quota.as_str(), cpu.used.as_str()), ("maia-quota", "0"));
    assert!(
        status
            .quota
            .iter()
            .any(|q| q.resource == "requests.nvidia.com/gpu" && q.hard == "0")
    );

    let mut events = Vec::new();
    let mut sink = |e: Event| events.push(e);
    manage::delete(
        &cluster,
        &entry,
        Some(&helm),
        "maia-system",
        false,
        &maia_deploy::lease::Holder::new("tester@test (pid 1)"),
        &mut sink,
    )
    .await
    .unwrap();
    assert_eq!(
        tools
            .log("helm.log")
            .iter()
            .filter(|l| l.starts_with("uninstall"))
            .count(),
        3
    );
    // Volumes, namespace and credentials stay.
    assert!(c.namespaces().contains("brain-mri"));
    assert!(
        !c.objects("/api/v1/namespaces/brain-mri/persistentvolumeclaims")
            .await
            .is_empty()
    );
    assert!(
        c.objects("/apis/apps/v1/namespaces/brain-mri/deployments")
            .await
            .is_empty()
    );
    assert!(!credentials(&c).await.is_null());
    // --delete-data takes the namespace and the credentials too.
    manage::delete(
        &cluster,
        &entry,
        Some(&helm),
        "maia-system",
        true,
        &maia_deploy::lease::Holder::new("tester@test (pid 1)"),
        &mut |_e: Event| {},
    )
    .await
    .unwrap();
    assert!(!c.namespaces().contains("brain-mri"));
    assert!(credentials(&c).await.is_null());
}

#[tokio::test]
async fn delete_removes_what_the_workspace_owns_and_nothing_else() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    run(&c, &request(WorkspaceSpec::test(), &tools))
        .await
        .1
        .unwrap();
    // A researcher's app deployed by maia into the group's namespace, and a ConfigMap
    // someone made by hand: neither is the workspace's.
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.json");
    std::fs::write(
        &app,
        json!({"namespace": "brain-mri", "chart_name": "trainer", "docker_image": "busybox",
            "tag": "1.36", "deployment": true})
        .to_string(),
    )
    .unwrap();
    let loaded = maia_spec::app::load(&app, Default::default()).unwrap();
    let objects = maia_render::app::render(&loaded.spec, &Default::default()).unwrap();
    let cluster = c.cluster();
    let plan = maia_deploy::plan(
        &cluster,
        "brain-mri",
        "trainer",
        &objects,
        Default::default(),
    )
    .await
    .unwrap();
    maia_deploy::execute(&cluster, &plan, Default::default(), &mut |_e: Event| {})
        .await
        .unwrap();
    c.seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "notes", "namespace": "brain-mri"}, "data": {"a": "b"}}))
        .await;

    let entry = manage::find(&cluster, "brain-mri").await.unwrap();
    manage::delete(
        &cluster,
        &entry,
        None,
        "maia-system",
        false,
        &maia_deploy::lease::Holder::new("tester@test (pid 1)"),
        &mut |_e: Event| {},
    )
    .await
    .unwrap();
    let deployments: Vec<String> = c
        .objects("/apis/apps/v1/namespaces/brain-mri/deployments")
        .await
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        deployments,
        ["trainer-mkg"],
        "only the app's Deployment is left"
    );
    let config_maps: Vec<String> = c
        .objects("/api/v1/namespaces/brain-mri/configmaps")
        .await
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        config_maps.contains(&"notes".to_string()),
        "{config_maps:?}"
    );
    assert!(config_maps.contains(&"maia-inventory-trainer".to_string()));
}

#[tokio::test]
async fn a_failing_chart_stops_at_its_component_and_a_rerun_converges() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    tools.fail_helm("upgrade");
    let (events, result) = run(&c, &request).await;
    let err = result.unwrap_err();
    assert!(matches!(err, DeployError::ToolFailed { .. }), "{err:?}");
    assert!(
        events.iter().any(
            |e| matches!(e, Event::ComponentFailed { component, .. } if component == "oauth2_proxy")
        ),
        "{events:?}"
    );
    // Nothing after the failing component was applied.
    assert!(
        c.objects("/apis/minio.min.io/v2/namespaces/brain-mri/tenants")
            .await
            .is_empty()
    );
    let kept = credentials(&c).await;
    assert!(
        !kept.is_null(),
        "credentials are kept before the first object"
    );

    tools.heal_helm();
    run(&c, &request).await.1.unwrap();
    assert_eq!(credentials(&c).await, kept);
    assert_eq!(tools.log("upgrades.log").len(), 3);
    c.clear_requests();
    run(&c, &request).await.1.unwrap();
    assert_eq!(c.object_writes(), []);
}

#[tokio::test]
async fn wait_goes_component_by_component_and_names_what_failed() {
    let c = cluster().await;
    c.set_kubelet(Kubelet::Ready);
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    let cluster = c.cluster();
    let mut events = Vec::new();
    let prepared = prepare(&cluster, &request, &mut CountingSource::default(), true)
        .await
        .unwrap();
    deploy(
        &cluster,
        &request,
        prepared,
        Some(Duration::from_secs(20)),
        &mut |e: Event| events.push(e),
    )
    .await
    .unwrap();
    let ready: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::ComponentReady { component } => Some(component.clone()),
            _ => None,
        })
        .collect();
    let at = |name: &str| ready.iter().position(|c| c == name).unwrap();
    // MinIO and MySQL before MLflow, the OAuth2 proxy before the addons' ingresses.
    assert!(
        at("minio") < at("mlflow") && at("mysql") < at("mlflow"),
        "{ready:?}"
    );
    assert!(at("oauth2_proxy") < at("addons"), "{ready:?}");

    // A pod that cannot pull its image fails the wait, naming the component.
    let broken = FakeCluster::ready_for_workspaces().await;
    broken.set_kubelet(Kubelet::ImagePullBackOff);
    let cluster = broken.cluster();
    let prepared = prepare(&cluster, &request, &mut CountingSource::default(), true)
        .await
        .unwrap();
    let mut events = Vec::new();
    let err = deploy(
        &cluster,
        &request,
        prepared,
        Some(Duration::from_secs(20)),
        &mut |e: Event| events.push(e),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("ImagePullBackOff"), "{text}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ComponentFailed { .. })),
        "{events:?}"
    );
}

/// `--secrets-only`, the GitOps hand-over: the Namespace and the Secrets are applied and
/// nothing else is touched, on a fresh cluster and after a whole deploy; a second run
/// writes nothing.
#[tokio::test]
async fn secrets_only_applies_the_secrets_and_never_prunes_what_another_tool_owns() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    // Asked for helm and KubeFlow as a whole deploy is: --secrets-only runs neither.
    let secrets_only = Request {
        secrets_only: true,
        ..request(WorkspaceSpec::test(), &tools)
    };
    let (events, result) = run(&c, &secrets_only).await;
    result.unwrap();
    let kinds: std::collections::BTreeSet<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Applied { object, .. } => Some(object.kind.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        ["Namespace", "Secret"].map(String::from).into(),
        "{events:?}"
    );
    let secrets = c.objects("/api/v1/namespaces/brain-mri/secrets").await;
    assert!(secrets.len() >= 4, "{secrets:?}");
    assert!(
        c.objects("/apis/apps/v1/namespaces/brain-mri/deployments")
            .await
            .is_empty()
    );
    assert!(tools.log("helm.log").is_empty());
    assert!(tools.log("kubectl.log").is_empty());
    // The credentials are kept in the cluster as by a whole deploy.
    assert!(credentials(&c).await.is_object());

    // Again: nothing is written.
    let (events, result) = run(&c, &secrets_only).await;
    result.unwrap();
    assert!(
        events.iter().all(|e| matches!(
            e,
            Event::Applied {
                outcome: maia_deploy::Outcome::Unchanged,
                ..
            }
        )),
        "{events:?}"
    );

    // After a whole deploy, the Deployments (Argo CD's, in a hand-over) stay.
    let whole = request(WorkspaceSpec::test(), &tools);
    run(&c, &whole).await.1.unwrap();
    let before = c
        .objects("/apis/apps/v1/namespaces/brain-mri/deployments")
        .await
        .len();
    assert!(before >= 4);
    let (events, result) = run(&c, &secrets_only).await;
    result.unwrap();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Pruned { .. })),
        "{events:?}"
    );
    assert_eq!(
        c.objects("/apis/apps/v1/namespaces/brain-mri/deployments")
            .await
            .len(),
        before
    );
    // And a whole deploy after it still has nothing to do.
    let (events, result) = run(&c, &whole).await;
    result.unwrap();
    assert!(
        !events.iter().any(|e| matches!(
            e,
            Event::Pruned { .. }
                | Event::Applied {
                    outcome: maia_deploy::Outcome::Created,
                    ..
                }
        )),
        "{events:?}"
    );
}

/// Deletes an object straight from the fake API server (as `kubectl delete` would).
async fn delete_secret(c: &FakeCluster, namespace: &str, name: &str) {
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(c.backend(), namespace);
    api.delete(name, &Default::default()).await.unwrap();
}

/// The workspace's own Secrets, by name, as the cluster holds them.
async fn workspace_secrets(c: &FakeCluster) -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = c
        .objects("/api/v1/namespaces/brain-mri/secrets")
        .await
        .into_iter()
        .map(|s| {
            (
                s["metadata"]["name"].as_str().unwrap().to_string(),
                s["data"].clone(),
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[tokio::test]
async fn a_deleted_credentials_secret_is_recovered_from_the_workspace_and_nothing_is_redrawn() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    run(&c, &request).await.1.unwrap();
    let kept = credentials(&c).await;
    let secrets = workspace_secrets(&c).await;

    // The whole store Secret goes (a careless `kubectl delete`).
    delete_secret(&c, "maia-system", "maia-credentials-brain-mri").await;
    let cluster_ = c.cluster();
    let prepared = prepare(&cluster_, &request, &mut CountingSource::default(), false)
        .await
        .unwrap();
    assert!(
        prepared.new_credentials.is_empty(),
        "{:?}",
        prepared.new_credentials
    );
    assert!(
        prepared
            .recovered_credentials
            .contains(&"mysql.password".to_string())
    );
    drop(prepared);
    run(&c, &request).await.1.unwrap();
    assert_eq!(
        credentials(&c).await,
        kept,
        "the store holds the old values again"
    );
    assert_eq!(
        workspace_secrets(&c).await,
        secrets,
        "no password was redrawn"
    );

    // One key removed from the store: the same.
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(c.backend(), "maia-system");
    let mut store = api.get("maia-credentials-brain-mri").await.unwrap();
    store.data.as_mut().unwrap().remove("minio.root_password");
    store.metadata.managed_fields = None;
    api.replace("maia-credentials-brain-mri", &Default::default(), &store)
        .await
        .unwrap();
    run(&c, &request).await.1.unwrap();
    assert_eq!(credentials(&c).await, kept);
    assert_eq!(workspace_secrets(&c).await, secrets);
}

#[tokio::test]
async fn credentials_lost_everywhere_over_existing_data_stop_the_deploy_before_any_write() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    run(&c, &request).await.1.unwrap();
    let secrets = workspace_secrets(&c).await;
    delete_secret(&c, "maia-system", "maia-credentials-brain-mri").await;
    // MySQL's Secret is gone too: its password is nowhere but in MySQL's volume.
    let mysql = secrets
        .iter()
        .map(|(n, _)| n.clone())
        .find(|n| n.starts_with("mysql"))
        .unwrap();
    delete_secret(&c, "brain-mri", &mysql).await;

    c.clear_requests();
    let (_, result) = run(&c, &request).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, DeployError::CredentialsLost { keys, .. } if keys.iter().any(|k| k.starts_with("mysql."))),
        "{err:?}"
    );
    assert!(err.is_bad_input(), "exit code 2");
    let message = err.to_string();
    assert!(message.contains("maia-credentials-brain-mri"), "{message}");
    assert!(err.hint().unwrap().contains("backup"));
    assert_eq!(c.writes(), [], "nothing was written");
    assert!(credentials(&c).await.is_null());
}

#[tokio::test]
async fn a_first_deploy_draws_its_credentials_but_never_the_configured_ones() {
    // Into a namespace that holds nothing of a workspace (one adopted on purpose).
    let c = cluster().await;
    c.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "brain-mri"}}))
        .await;
    let (_dir, tools) = tools();
    let mut request = request(WorkspaceSpec::test(), &tools);
    request.adopt_namespace = true;
    let cluster_ = c.cluster();
    let prepared = prepare(&cluster_, &request, &mut CountingSource::default(), false)
        .await
        .unwrap();
    assert!(
        prepared
            .new_credentials
            .contains(&"mysql.password".to_string())
    );
    assert!(prepared.recovered_credentials.is_empty());
    // Configured in the cluster config, never drawn: not "to generate".
    assert!(request.spec.cluster.registry.is_some());
    for configured in ["keycloak.client_secret", "registry.password"] {
        assert!(
            !prepared.new_credentials.iter().any(|k| k == configured),
            "{configured} listed as drawn: {:?}",
            prepared.new_credentials
        );
    }
}

#[tokio::test]
async fn a_credential_whose_secret_was_never_applied_is_drawn_over_an_existing_workspace() {
    // As when a newer maia adds a component: its Secret is neither live nor in the
    // inventory, so no data can depend on its password.
    let c = cluster().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    run(&c, &request).await.1.unwrap();
    let store: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(c.backend(), "maia-system");
    let mut kept = store.get("maia-credentials-brain-mri").await.unwrap();
    kept.data.as_mut().unwrap().remove("label_studio.password");
    kept.metadata.managed_fields = None;
    store
        .replace("maia-credentials-brain-mri", &Default::default(), &kept)
        .await
        .unwrap();
    delete_secret(&c, "brain-mri", "label-studio-credentials").await;
    let maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(c.backend(), "brain-mri");
    let mut inventory = maps.get("maia-workspace-inventory").await.unwrap();
    let objects = inventory.data.as_mut().unwrap().get_mut("objects").unwrap();
    assert!(objects.contains("Secret/label-studio-credentials\n"));
    *objects = objects.replace("Secret/label-studio-credentials\n", "");
    inventory.metadata.managed_fields = None;
    maps.replace("maia-workspace-inventory", &Default::default(), &inventory)
        .await
        .unwrap();

    let cluster_ = c.cluster();
    let prepared = prepare(&cluster_, &request, &mut CountingSource::default(), false)
        .await
        .unwrap();
    assert_eq!(prepared.new_credentials, ["label_studio.password"]);
}

#[tokio::test]
async fn a_rotated_keycloak_client_secret_rolls_the_pods_that_read_it_and_the_plan_says_so() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let spec = WorkspaceSpec::test();
    run(&c, &request(spec.clone(), &tools)).await.1.unwrap();
    assert_eq!(tools.log("upgrades.log").len(), 3);

    let mut rotated = spec.clone();
    rotated.cluster.keycloak.as_mut().unwrap().client_secret = "a-new-client-secret".into();
    let request = request(rotated, &tools);
    let cluster_ = c.cluster();
    let prepared = prepare(&cluster_, &request, &mut CountingSource::default(), false)
        .await
        .unwrap();
    let rolls: Vec<(String, Vec<String>)> = prepared
        .plan
        .rollouts
        .iter()
        .map(|r| (r.workload.clone(), r.secrets.clone()))
        .collect();
    assert_eq!(
        rolls,
        [
            (
                "helm release oauth2-proxy (proxy pods)".to_string(),
                vec!["secret/oauth2-proxy-credentials".to_string()]
            ),
            (
                "helm release jupyterhub-brain-mri (hub pods)".to_string(),
                vec!["secret/jupyterhub-oauth".to_string()]
            ),
        ]
    );
    assert!(prepared.new_credentials.is_empty());
    drop(prepared);

    run(&c, &request).await.1.unwrap();
    // The two charts whose pods read the secret are upgraded (their pod annotations
    // changed), so helm rolls those pods; Label Studio is left alone.
    let upgrades = tools.log("upgrades.log");
    assert_eq!(
        upgrades[3..],
        ["oauth2-proxy", "jupyterhub-brain-mri"],
        "{upgrades:?}"
    );
    c.clear_requests();
    run(&c, &request).await.1.unwrap();
    assert_eq!(c.object_writes(), [], "and then it has converged");
}

/// The workspace quota's hard limits, as the cluster holds them.
async fn quota(c: &FakeCluster) -> Value {
    c.objects("/api/v1/namespaces/brain-mri/resourcequotas")
        .await
        .into_iter()
        .find(|q| q["metadata"]["name"] == "maia-quota")
        .map(|q| q["spec"]["hard"].clone())
        .unwrap()
}

/// The storage every volume claim of the namespace requests, as a quantity.
async fn claimed(c: &FakeCluster) -> String {
    let sum: i128 = c
        .objects("/api/v1/namespaces/brain-mri/persistentvolumeclaims")
        .await
        .iter()
        .map(|claim| {
            let size = claim["spec"]["resources"]["requests"]["storage"].as_str();
            maia_spec::quantity::nanos(size.unwrap()).unwrap()
        })
        .sum();
    maia_spec::quantity::Quantity::from_nanos(sum, true).to_string()
}

/// A member's home claim as JupyterHub's KubeSpawner makes it.
fn home_claim(user: &str, name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name, "namespace": "brain-mri",
            "labels": {"app": "jupyterhub", "component": "singleuser-storage",
                       "release": "jupyterhub-brain-mri", "heritage": "jupyterhub"},
            "annotations": {"hub.jupyter.org/username": user},
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
    })
}

#[tokio::test]
async fn removing_a_member_keeps_their_home_in_the_quota_while_the_claim_stays() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let spec = WorkspaceSpec::test();
    run(&c, &request(spec.clone(), &tools)).await.1.unwrap();
    let first = quota(&c).await;
    c.seed(home_claim(
        "alice@example.org",
        "claim-alice-40example-2eorg",
    ))
    .await;
    // Bob's home was grown well past its size: more is claimed than the workspace needs.
    let mut bobs = home_claim("bob.smith@example.org", "claim-bob-2esmith-40example-2eorg");
    bobs["spec"]["resources"]["requests"]["storage"] = json!("300Gi");
    c.seed(bobs).await;
    // A researcher's own app keeps a claim of its own in the namespace too.
    c.seed(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "scratch", "namespace": "brain-mri",
                     "labels": {"app.kubernetes.io/managed-by": "maia",
                                "app.kubernetes.io/instance": "train-v1"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
    }))
    .await;
    run(&c, &request(spec.clone(), &tools)).await.1.unwrap();
    let with_both = quota(&c).await;
    // Storage is raised to exactly what is claimed; the app's claim, within the room
    // the claim count leaves, does not raise that.
    assert_eq!(with_both["requests.storage"], claimed(&c).await.as_str());
    assert_eq!(
        with_both["persistentvolumeclaims"], first["persistentvolumeclaims"],
        "{first} -> {with_both}"
    );

    // Bob leaves; his home claim is kept (maia never deletes a volume).
    let mut without_bob = spec.clone();
    without_bob.users.retain(|u| u.starts_with("alice"));
    let request = request(without_bob, &tools);
    let cluster_ = c.cluster();
    let prepared = prepare(&cluster_, &request, &mut CountingSource::default(), false)
        .await
        .unwrap();
    let planned = prepared
        .bundle
        .objects()
        .find(|o| o.kind() == "ResourceQuota")
        .map(|o| serde_json::to_value(o).unwrap()["spec"]["hard"].clone())
        .unwrap();
    assert_eq!(
        planned["requests.storage"], with_both["requests.storage"],
        "at plan time"
    );
    let said = prepared.bundle.quota_notes.join("\n");
    assert!(
        said.contains("most by pvc/claim-bob-2esmith-40example-2eorg (300Gi)"),
        "{said}"
    );
    drop(prepared);
    run(&c, &request).await.1.unwrap();
    let after = quota(&c).await;
    assert_eq!(after["requests.storage"], with_both["requests.storage"]);

    // Once the claim is gone, its room goes too.
    let claims: kube::Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        kube::Api::namespaced(c.backend(), "brain-mri");
    claims
        .delete("claim-bob-2esmith-40example-2eorg", &Default::default())
        .await
        .unwrap();
    run(&c, &request).await.1.unwrap();
    let reclaimed = quota(&c).await;
    assert_ne!(reclaimed["requests.storage"], with_both["requests.storage"]);
}

#[tokio::test]
async fn a_home_grown_past_its_size_is_covered_by_the_quota() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    run(&c, &request).await.1.unwrap();
    let before = quota(&c).await;
    // Alice's home, expanded by an admin from 10Gi to 500Gi: more than the workspace
    // needs in all.
    let mut home = home_claim("alice@example.org", "claim-alice-40example-2eorg");
    home["spec"]["resources"]["requests"]["storage"] = json!("500Gi");
    c.seed(home).await;
    run(&c, &request).await.1.unwrap();
    let after = quota(&c).await;
    assert_eq!(
        after["requests.storage"],
        claimed(&c).await.as_str(),
        "{before} -> {after}"
    );
    assert_ne!(after["requests.storage"], before["requests.storage"]);
    assert_eq!(
        after["persistentvolumeclaims"],
        before["persistentvolumeclaims"]
    );
}

/// The names of the admission guards (policies and bindings) on the cluster.
async fn guards(c: &FakeCluster) -> (Vec<String>, Vec<String>) {
    let names = |list: Vec<Value>| {
        let mut names: Vec<String> = list
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    (
        names(
            c.objects("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies")
                .await,
        ),
        names(
            c.objects("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings")
                .await,
        ),
    )
}

#[tokio::test]
async fn each_workspace_owns_its_admission_guard_and_takes_it_away_with_it() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let a = WorkspaceSpec::test();
    let mut b = WorkspaceSpec::test();
    b.group_id = "Lung_CT".into();
    b.namespace = "lung-ct".parse().unwrap();
    b.subdomain = "lung-ct".parse().unwrap();
    run(&c, &request(a.clone(), &tools)).await.1.unwrap();
    run(&c, &request(b, &tools)).await.1.unwrap();
    let both = vec![
        "maia-workspace-guard-brain-mri".to_string(),
        "maia-workspace-guard-lung-ct".to_string(),
    ];
    assert_eq!(guards(&c).await, (both.clone(), both));
    let inventory = c
        .objects("/api/v1/namespaces/brain-mri/configmaps")
        .await
        .into_iter()
        .find(|m| m["metadata"]["name"] == "maia-workspace-inventory")
        .unwrap();
    let entries = inventory["data"].to_string();
    assert!(
        entries.contains("ValidatingAdmissionPolicy/maia-workspace-guard-brain-mri")
            && entries.contains("ValidatingAdmissionPolicyBinding/maia-workspace-guard-brain-mri"),
        "{entries}"
    );

    // The other group's guard, listed cluster-wide with the same labels, is neither
    // planned as this workspace's nor pruned by it; its own is found again.
    c.clear_requests();
    run(&c, &request(a, &tools)).await.1.unwrap();
    assert_eq!(c.object_writes(), [], "a second deploy writes nothing");

    let cluster = c.cluster();
    let entry = manage::find(&cluster, "brain-mri").await.unwrap();
    manage::delete(
        &cluster,
        &entry,
        None,
        "maia-system",
        false,
        &maia_deploy::lease::Holder::new("tester@test (pid 1)"),
        &mut |_e: Event| {},
    )
    .await
    .unwrap();
    let lung = vec!["maia-workspace-guard-lung-ct".to_string()];
    assert_eq!(
        guards(&c).await,
        (lung.clone(), lung),
        "only brain-mri's guard goes"
    );
}

#[tokio::test]
async fn preflight_says_when_the_cluster_cannot_guard_the_workspace() {
    let c = cluster().await;
    c.withdraw(
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
    );
    let (_dir, tools) = tools();
    let (_, result) = run(&c, &request(WorkspaceSpec::test(), &tools)).await;
    let Err(DeployError::Preflight { problems }) = result else {
        panic!("expected preflight problems, got {result:?}");
    };
    let problem = problems
        .iter()
        .find(|p| p.message.contains("ValidatingAdmissionPolicy"))
        .unwrap_or_else(|| panic!("{problems:#?}"));
    assert_eq!(problem.check, "api");
    assert!(
        problem.message.contains("admissionregistration.k8s.io/v1"),
        "{problem:?}"
    );
    assert!(problem.message.contains("members"), "{problem:?}");
    assert!(problem.hint.contains("1.30"), "{problem:?}");
    assert_eq!(c.writes(), [], "nothing was changed");
}

/// Two groups with one group_subdomain would serve every Ingress of both on one host:
/// the second is refused before anything is written, naming the first's namespace.
#[tokio::test]
async fn a_group_subdomain_another_workspace_serves_is_refused() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    run(&c, &request(WorkspaceSpec::test(), &tools))
        .await
        .1
        .unwrap();
    let mut lung = WorkspaceSpec::test();
    lung.group_id = "Lung_CT".into();
    lung.namespace = "lung-ct".parse().unwrap();
    lung.users = vec!["carol@example.org".into()];
    assert_eq!(lung.hub_host(), WorkspaceSpec::test().hub_host());
    c.clear_requests();
    let (_, result) = run(&c, &request(lung.clone(), &tools)).await;
    let Err(DeployError::Preflight { problems }) = result else {
        panic!("expected a refusal, got {result:?}");
    };
    // The ownership check on the rendered workspace finds the host taken.
    let problem = problems.iter().find(|p| p.check == "host").unwrap();
    assert!(problem.bad_input);
    assert!(problem.message.contains(&lung.hub_host()), "{problem:?}");
    assert!(problem.message.contains("brain-mri"), "{problem:?}");
    assert!(problem.hint.contains("group_subdomain"), "{problem:?}");
    assert_eq!(c.writes(), [], "nothing was written");

    // With its own subdomain it deploys.
    lung.subdomain = "lung-ct".parse().unwrap();
    run(&c, &request(lung, &tools)).await.1.unwrap();
}

/// A changed port_range renumbers nobody: members keep the ports their SSH configs
/// name, and the deploy says which lie outside the new range.
#[tokio::test]
async fn members_keep_their_ports_when_port_range_changes_and_are_told() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let spec = WorkspaceSpec::test();
    run(&c, &request(spec.clone(), &tools)).await.1.unwrap();
    let cluster = c.cluster();
    let before = prepare(
        &cluster,
        &request(spec.clone(), &tools),
        &mut CountingSource::default(),
        false,
    )
    .await
    .unwrap()
    .bundle
    .ssh_ports;
    let mut moved = spec.clone();
    moved.cluster.port_range = (31000, 31100);
    let prepared = prepare(
        &cluster,
        &request(moved, &tools),
        &mut CountingSource::default(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(prepared.bundle.ssh_ports, before, "nobody is renumbered");
    assert_eq!(
        prepared.notes.len(),
        spec.users.len(),
        "{:?}",
        prepared.notes
    );
    assert!(
        prepared.notes[0].contains("outside port_range 31000-31100"),
        "{:?}",
        prepared.notes
    );
}

/// A running pod of the namespace asking `cpu` and `memory`.
fn pod(
    name: &str,
    labels: Value,
    annotations: Value,
    cpu: &str,
    memory: &str,
    phase: &str,
) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "brain-mri", "labels": labels,
                     "annotations": annotations},
        "spec": {"containers": [{"name": "main", "image": "busybox",
            "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
        "status": {"phase": phase},
    })
}

/// The quota's hard limits `prepare` renders, and its notes (what `plan` prints).
async fn planned_quota(c: &FakeCluster, request: &Request) -> (Value, Vec<String>) {
    let cluster_ = c.cluster();
    let prepared = prepare(&cluster_, request, &mut CountingSource::default(), false)
        .await
        .unwrap();
    let hard = prepared
        .bundle
        .objects()
        .find(|o| o.kind() == "ResourceQuota")
        .map(|o| serde_json::to_value(o).unwrap()["spec"]["hard"].clone())
        .unwrap();
    (hard, prepared.bundle.quota_notes.clone())
}

fn nanos(v: &Value, key: &str) -> i128 {
    maia_spec::quantity::nanos(v[key].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn removing_a_member_whose_server_runs_raises_the_quota_to_what_is_in_use() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let spec = WorkspaceSpec::test();
    run(&c, &request(spec.clone(), &tools)).await.1.unwrap();
    let mut without_bob = spec.clone();
    without_bob.users.retain(|u| u.starts_with("alice"));
    let request = request(without_bob.clone(), &tools);
    let (before, notes) = planned_quota(&c, &request).await;
    assert_eq!(notes, Vec::<String>::new(), "nothing runs yet");

    let server = |user: &str, name: &str, cpu: &str| {
        pod(
            name,
            json!({"app": "jupyterhub", "component": "singleuser-server",
                   "release": "jupyterhub-brain-mri"}),
            json!({"hub.jupyter.org/username": user}),
            cpu,
            "2Gi",
            "Running",
        )
    };
    // Both members' servers run; Bob's, a large one, keeps running after he leaves.
    c.seed(server(
        "alice@example.org",
        "jupyter-alice-40example-2eorg",
        "1",
    ))
    .await;
    c.seed(server(
        "bob.smith@example.org",
        "jupyter-bob-2esmith-40example-2eorg",
        "40",
    ))
    .await;
    // A researcher's app (maia app deploy) runs a Job's pod; another one finished.
    let app = json!({"app.kubernetes.io/managed-by": "maia",
                     "app.kubernetes.io/instance": "train-v1"});
    c.seed(pod(
        "train-v1-x7k2p",
        app.clone(),
        json!({}),
        "2",
        "4Gi",
        "Running",
    ))
    .await;
    c.seed(pod(
        "train-v0-a1b2c",
        app,
        json!({}),
        "8",
        "16Gi",
        "Succeeded",
    ))
    .await;
    // A pod of one of maia's own Deployments.
    let cluster_ = c.cluster();
    let own = prepare(&cluster_, &request, &mut CountingSource::default(), false)
        .await
        .unwrap()
        .bundle
        .objects()
        .find(|o| o.kind() == "Deployment")
        .map(|o| serde_json::to_value(o).unwrap()["spec"]["template"]["metadata"]["labels"].clone())
        .unwrap();
    let mut own_labels = own.clone();
    own_labels["pod-template-hash"] = json!("5d9c7");
    c.seed(pod(
        "own-5d9c7-abcde",
        own_labels,
        json!({}),
        "3",
        "3Gi",
        "Running",
    ))
    .await;

    let (after, notes) = planned_quota(&c, &request).await;
    // 1 + 40 + 2 + 3 CPUs run (the finished pod's do not): more than the workspace
    // without Bob needs, so the quota is exactly that; memory in use is below.
    assert!(nanos(&before, "requests.cpu") < 46_000_000_000, "{before}");
    assert_eq!(after["requests.cpu"], "46", "{before} -> {after}");
    assert_eq!(after["requests.memory"], before["requests.memory"]);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let said = &notes[0];
    assert!(
        said.starts_with("requests.cpu is 46 CPU, above what the workspace needs"),
        "{said}"
    );
    // The largest of what the workspace does not render first.
    assert!(
        said.contains(
            "most by pod/jupyter-bob-2esmith-40example-2eorg (40 CPU), pod/train-v1-x7k2p (2 CPU)"
        ),
        "{said}"
    );
    for counted in ["jupyter-alice", "train-v0", "own-5d9c7"] {
        assert!(!said.contains(counted), "{counted}: {said}");
    }
    run(&c, &request).await.1.unwrap();
    assert_eq!(quota(&c).await, after, "deploy applies what plan shows");

    // A form quota above what the workspace needs but below what is in use is raised
    // to it, and the plan says why.
    let mut formed = without_bob.clone();
    formed.quota.cpu = Some(maia_spec::quantity::Quantity::from_nanos(
        nanos(&before, "requests.cpu") + 1_000_000_000,
        false,
    ));
    let formed = Request {
        spec: formed,
        ..request.clone()
    };
    let (hard, notes) = planned_quota(&c, &formed).await;
    assert_eq!(hard["requests.cpu"], "46");
    let said = notes.join("\n");
    assert!(said.contains("above the group form's quota.cpu"), "{said}");
    // One above what is in use is kept as it is, and nothing said.
    let mut roomy = without_bob;
    roomy.quota.cpu = Some("64".parse().unwrap());
    let roomy = Request {
        spec: roomy,
        ..request
    };
    let (hard, notes) = planned_quota(&c, &roomy).await;
    assert_eq!(hard["requests.cpu"], "64");
    assert_eq!(notes, Vec::<String>::new());
}

#[tokio::test]
async fn redeploying_while_apps_run_within_the_room_leaves_the_quota_as_it_is() {
    let c = cluster().await;
    let (_dir, tools) = tools();
    let spec = WorkspaceSpec::test();
    let computed = request(spec.clone(), &tools);
    run(&c, &computed).await.1.unwrap();
    let first = quota(&c).await;
    // Researchers' apps run within the room the quota leaves, one more each time.
    let app = |n: u32| {
        pod(
            &format!("train-v{n}-x7k2p"),
            json!({"app.kubernetes.io/managed-by": "maia",
                   "app.kubernetes.io/instance": format!("train-v{n}")}),
            json!({}),
            "1",
            "1Gi",
            "Running",
        )
    };
    c.seed(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "scratch", "namespace": "brain-mri",
                     "labels": {"app.kubernetes.io/managed-by": "maia",
                                "app.kubernetes.io/instance": "train-v1"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }))
    .await;
    for n in 1..=3 {
        c.seed(app(n)).await;
        let (planned, notes) = planned_quota(&c, &computed).await;
        assert_eq!(notes, Vec::<String>::new(), "deploy {n}");
        run(&c, &computed).await.1.unwrap();
        assert_eq!(quota(&c).await, first, "deploy {n}");
        assert_eq!(planned, first, "plan {n}");
    }

    // The same with the form's quota: room of 4 CPUs and 1 claim beyond the needs.
    let mut formed = spec;
    formed.quota.cpu = Some(maia_spec::quantity::Quantity::from_nanos(
        nanos(&first, "requests.cpu") + 4_000_000_000,
        false,
    ));
    formed.quota.storage = Some(first["requests.storage"].as_str().unwrap().parse().unwrap());
    formed.quota.pvcs = Some(
        first["persistentvolumeclaims"]
            .as_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
            + 1,
    );
    let formed = Request {
        spec: formed,
        ..computed
    };
    run(&c, &formed).await.1.unwrap();
    let form_first = quota(&c).await;
    for n in 4..=5 {
        c.seed(app(n)).await;
        run(&c, &formed).await.1.unwrap();
        assert_eq!(quota(&c).await, form_first, "deploy {n}");
    }
    assert_eq!(
        nanos(&form_first, "requests.cpu"),
        nanos(&first, "requests.cpu") + 4_000_000_000
    );
}
