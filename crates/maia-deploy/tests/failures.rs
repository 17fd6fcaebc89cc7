//! Clear failures of a workspace deploy (issue 16, item 14): what can be checked is
//! checked before the first write, every problem is reported at once with a hint a
//! workspace admin can follow, and a failure after writes says what was written.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::FakeExt;
use std::time::Duration;

use maia_deploy::tools::ToolTarget;
use maia_deploy::workspace::deploy::{Request, deploy, prepare};
use maia_deploy::workspace::preflight::Needs;
use maia_deploy::{DeployError, Event, KubeError, Result};
use maia_render::workspace::credentials::CountingSource;
use maia_spec::workspace::WorkspaceSpec;
use maia_testkit::StandIns;
use maia_testkit::{FakeCluster, Kubelet};
use serde_json::{Value, json};

fn request(spec: WorkspaceSpec, tools: &StandIns) -> Request {
    Request {
        needs: Needs {
            helm: true,
            kubeflow: false,
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

fn tools() -> (tempfile::TempDir, StandIns) {
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    (dir, tools)
}

async fn run(
    c: &FakeCluster,
    request: &Request,
    wait: Option<Duration>,
) -> (Vec<Event>, Result<()>) {
    let cluster = c.cluster();
    let mut events = Vec::new();
    let result = async {
        let prepared = prepare(&cluster, request, &mut CountingSource::default(), true).await?;
        let mut sink = |e: Event| events.push(e);
        deploy(&cluster, request, prepared, wait, &mut sink).await
    }
    .await;
    (events, result)
}

/// A namespace being deleted refuses every write with 403: preflight says it is being
/// deleted and what holds it, instead of a permission problem half-way.
#[tokio::test]
async fn a_namespace_stuck_terminating_is_named_before_any_write() {
    let c = FakeCluster::ready_for_workspaces().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    // Deployed once, then deleted by hand; a finalizer of a custom resource holds it.
    run(&c, &request, None).await.1.unwrap();
    c.terminate_namespace(
        "brain-mri",
        &[],
        json!([{"type": "NamespaceFinalizersRemaining", "status": "True",
                "reason": "SomeFinalizersRemain",
                "message": "Some content in the namespace has finalizers remaining: minio.min.io/tenant-finalizer in 1 resource instances"}]),
    );
    c.clear_requests();
    let (_, result) = run(&c, &request, None).await;
    let err = result.unwrap_err();
    let DeployError::Preflight { problems } = &err else {
        panic!("expected a preflight problem, got {err:?}");
    };
    let text = format!("{problems:?}");
    assert!(
        problems.iter().any(|p| p.check == "namespace"
            && p.message.contains("brain-mri")
            && p.message.contains("being deleted")),
        "{text}"
    );
    assert!(
        text.contains("minio.min.io/tenant-finalizer"),
        "what blocks it is named: {text}"
    );
    assert!(!problems.iter().any(|p| p.check == "permission"), "{text}");
    assert_eq!(c.writes(), [], "nothing was changed");
}

/// Two objects of the workspace's names that maia did not create: both are reported in
/// one run, before anything is written (not even the credentials Secret), with a hint
/// for a workspace (not an app's chart_name).
#[tokio::test]
async fn every_foreign_object_in_the_way_is_reported_at_once_before_any_write() {
    // The names a workspace uses, from a deploy on another cluster.
    let scratch = FakeCluster::ready_for_workspaces().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    run(&scratch, &request, None).await.1.unwrap();
    let mut taken: Vec<Value> = Vec::new();
    for path in [
        "/api/v1/namespaces/brain-mri/configmaps",
        "/api/v1/namespaces/brain-mri/services",
    ] {
        let found = scratch
            .objects(path)
            .await
            .into_iter()
            .find(|o| {
                o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "maia"
                    && o["metadata"]["name"] != "maia-workspace-inventory"
            })
            .unwrap();
        taken.push(found);
    }

    let c = FakeCluster::ready_for_workspaces().await;
    // The namespace is the workspace's (an earlier deploy made it); two objects in it
    // are someone else's.
    c.seed(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "brain-mri",
        "labels": {"app.kubernetes.io/managed-by": "maia",
                   "app.kubernetes.io/part-of": "maia-workspace"},
        "annotations": {"maia.cloud/group-id": "Brain_MRI"}}}),
    )
    .await;
    let mut names = Vec::new();
    for o in &taken {
        let kind = o["kind"]
            .as_str()
            .unwrap_or(if o["spec"]["ports"].is_null() {
                "ConfigMap"
            } else {
                "Service"
            });
        let name = o["metadata"]["name"].as_str().unwrap().to_string();
        let mut foreign = json!({"apiVersion": "v1", "kind": kind,
            "metadata": {"name": name, "namespace": "brain-mri"}});
        if kind == "Service" {
            foreign["spec"] = json!({"ports": [{"port": 80}]});
        }
        c.seed(foreign).await;
        names.push(name);
    }
    c.clear_requests();
    let (events, result) = run(&c, &request, None).await;
    let err = result.unwrap_err();
    let DeployError::Preflight { problems } = &err else {
        panic!("expected both collisions at once, got {err:?}");
    };
    let text = format!("{problems:?}");
    for name in &names {
        assert!(text.contains(name.as_str()), "{name} missing: {text}");
    }
    assert!(!text.contains("chart_name"), "an app's hint: {text}");
    assert!(text.contains("--force-conflicts"), "{text}");
    // Only the ports Lease was taken and given back (new users get their SSH ports
    // under it): nothing of the workspace, no credentials Secret.
    let writes = c.writes();
    assert!(
        writes
            .iter()
            .all(|w| w.path.contains("/leases") || w.path == "/api/v1/namespaces/maia-system"),
        "{writes:?}"
    );
    assert!(events.is_empty(), "{events:?}");
}

/// A failure after the credentials were kept says so: the credentials Secret is among
/// what was changed (maia-system itself is made by the ports Lease, before).
#[tokio::test]
async fn a_failure_after_writes_counts_the_credentials_secret_as_written() {
    let c = FakeCluster::ready_for_workspaces().await;
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    // The first write into the workspace's namespace fails.
    c.fail(http::Method::PATCH, "/namespaces/brain-mri/", 500, 5);
    let (events, result) = run(&c, &request, None).await;
    assert!(result.is_err());
    let written: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Applied { object, .. } => Some(format!(
                "{}/{} in {}",
                object.kind, object.name, object.namespace
            )),
            Event::NamespaceCreated { namespace, .. } => Some(format!("namespace/{namespace}")),
            _ => None,
        })
        .collect();
    assert!(
        written
            .iter()
            .any(|w| w == "Secret/maia-credentials-brain-mri in maia-system"),
        "{written:?}"
    );
}

/// `--wait` of a workspace that does not become ready: the hint names the workspace's
/// status command, not an app's.
#[tokio::test]
async fn a_workspace_wait_timeout_hints_at_namespace_status() {
    let c = FakeCluster::ready_for_workspaces().await;
    c.set_kubelet(Kubelet::Idle);
    let (_dir, tools) = tools();
    let request = request(WorkspaceSpec::test(), &tools);
    let (_, result) = run(&c, &request, Some(Duration::from_secs(1))).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, DeployError::Kube(KubeError::WaitTimeout { .. })),
        "{err:?}"
    );
    let hint = err.hint().unwrap();
    assert!(hint.contains("maia namespace status brain-mri"), "{hint}");
    assert!(!hint.contains("maia app status"), "{hint}");

    let broken = FakeCluster::ready_for_workspaces().await;
    broken.set_kubelet(Kubelet::ImagePullBackOff);
    let (_, result) = run(&broken, &request, Some(Duration::from_secs(20))).await;
    let err = result.unwrap_err();
    let hint = err.hint().unwrap();
    assert!(hint.contains("maia namespace status brain-mri"), "{hint}");
    assert!(!hint.contains("maia app status"), "{hint}");
}

/// A namespace deleted while an app is deployed into it: the API server's 403 is not
/// a missing permission, and the hint says so.
#[tokio::test]
async fn a_write_refused_because_the_namespace_is_terminating_is_not_called_rbac() {
    let c = FakeCluster::new(&["demo"]).await;
    c.terminate_namespace("demo", &["kubernetes"], json!([]));
    let spec = maia_spec::app::load_str(
        "app.json",
        r#"{"namespace": "demo", "chart_name": "web", "docker_image": "nginx", "deployment": true}"#,
        maia_spec::LoadOptions::default(),
    )
    .unwrap();
    let objects = maia_render::app::render(&spec.spec, &Default::default()).unwrap();
    let cluster = c.cluster();
    let plan = maia_deploy::plan(&cluster, "demo", "web", &objects, Default::default())
        .await
        .unwrap();
    let err = maia_deploy::execute(&cluster, &plan, Default::default(), &mut |_: Event| {})
        .await
        .unwrap_err();
    let hint = err.hint().unwrap();
    assert!(err.to_string().contains("being terminated"), "{err}");
    assert!(hint.contains("being deleted"), "{hint}");
    assert!(!hint.contains("ask a cluster admin"), "{hint}");
}

/// An app whose names two foreign objects hold: both are named in one run.
#[tokio::test]
async fn every_object_in_an_apps_way_is_named_at_once() {
    let c = FakeCluster::new(&["demo"]).await;
    let spec = maia_spec::app::load_str(
        "app.json",
        r#"{"namespace": "demo", "chart_name": "web", "docker_image": "nginx", "deployment": true,
            "ports": {"http": [80]},
            "persistent_volume": [{"mountPath": "/data", "size": "1Gi", "access_mode": "ReadWriteOnce"}]}"#,
        maia_spec::LoadOptions::default(),
    )
    .unwrap();
    let objects = maia_render::app::render(&spec.spec, &Default::default()).unwrap();
    c.seed(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web-mkg", "namespace": "demo"}, "spec": {"ports": [{"port": 1}]}}))
        .await;
    c.seed(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "web-mkg-claim-0", "namespace": "demo"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}))
        .await;
    let cluster = c.cluster();
    let plan = maia_deploy::plan(&cluster, "demo", "web", &objects, Default::default())
        .await
        .unwrap();
    let err = maia_deploy::execute(&cluster, &plan, Default::default(), &mut |_: Event| {})
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("service/web-mkg"), "{text}");
    assert!(
        text.contains("persistentvolumeclaim/web-mkg-claim-0"),
        "{text}"
    );
    assert_eq!(c.writes(), []);
}
