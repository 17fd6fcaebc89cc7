//! Shared by the engine tests: apps written as the user writes them, rendered as the
//! CLI renders them, deployed against the in-memory cluster.

#![allow(dead_code)]

use maia_deploy::{ApplyOptions, Event, KubeError, Plan, PlanOptions};
use maia_render::Object;
use maia_testkit::FakeCluster;
use serde_json::{Value, json};

/// What the engine returns.
pub type Result<T> = std::result::Result<T, KubeError>;

/// The in-memory cluster as maia-deploy's [`Cluster`](maia_deploy::Cluster), as if at
/// `https://fake.invalid` (the testkit knows nothing of maia-deploy's types).
pub trait FakeExt {
    fn cluster(&self) -> maia_deploy::Cluster;
}

impl FakeExt for FakeCluster {
    fn cluster(&self) -> maia_deploy::Cluster {
        maia_deploy::Cluster::from_client(self.client(), "https://fake.invalid")
    }
}

pub struct App {
    pub namespace: String,
    pub release: String,
    pub objects: Vec<Object>,
}

/// A Deployment with a Service, a volume, mounted files and an Ingress; `edit` changes
/// the config JSON before it is read.
pub fn app(edit: impl FnOnce(&mut Value)) -> App {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("train.yaml"), "epochs: 3\n").expect("write");
    let mut config = json!({
        "namespace": "demo",
        "chart_name": "mysql-db-v1",
        "docker_image": "mysql",
        "tag": "8.0.28",
        "memory_request": "2Gi",
        "cpu_request": "500m",
        "deployment": true,
        "ports": {"mysql": [3306]},
        "persistent_volume": [{"mountPath": "/var/lib/mysql", "size": "20Gi",
            "access_mode": "ReadWriteOnce", "pvc_type": "local-path"}],
        "mount_files": {"train": ["train.yaml", "/etc/app/train.yaml"]},
        "ingress": {"host": "db.demo.example.org", "port": 3306, "path": "/"}
    });
    edit(&mut config);
    load(dir.path(), &config)
}

pub fn load(dir: &std::path::Path, config: &Value) -> App {
    let path = dir.join("app.json");
    std::fs::write(&path, config.to_string()).expect("write");
    let loaded =
        maia_spec::app::load(&path, maia_spec::LoadOptions::default()).expect("a valid app");
    let files = loaded.read_mount_files().expect("mount files");
    let objects = maia_render::app::render(&loaded.spec, &files).expect("renders");
    App {
        namespace: loaded.spec.namespace.to_string(),
        release: loaded.spec.release.to_string(),
        objects,
    }
}

pub async fn plan(cluster: &FakeCluster, app: &App, options: PlanOptions) -> Result<Plan> {
    maia_deploy::plan(
        &cluster.cluster(),
        &app.namespace,
        &app.release,
        &app.objects,
        options,
    )
    .await
}

/// Plans and runs a deploy as `maia app deploy` does; returns the events even on failure.
pub async fn deploy_with(
    cluster: &FakeCluster,
    app: &App,
    plan_options: PlanOptions,
    options: ApplyOptions,
) -> (Vec<Event>, Result<()>) {
    let mut events = Vec::new();
    let result = async {
        let plan = plan(cluster, app, plan_options).await?;
        let mut sink = |e: Event| events.push(e);
        maia_deploy::execute(&cluster.cluster(), &plan, options, &mut sink).await
    }
    .await;
    (events, result)
}

pub async fn deploy(cluster: &FakeCluster, app: &App) -> (Vec<Event>, Result<()>) {
    deploy_with(
        cluster,
        app,
        PlanOptions::default(),
        ApplyOptions::default(),
    )
    .await
}

/// `created deployment/x`-style lines, as a person reads them.
pub fn lines(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::Applied {
                object, outcome, ..
            } => format!("{} {object}", outcome.as_str()),
            Event::Pruned { object, .. } => format!("pruned {object}"),
            Event::VolumeKept { object } => format!("kept {object}"),
            Event::NamespaceCreated { namespace, .. } => format!("created namespace/{namespace}"),
            Event::Waiting { object, reason } => format!("waiting {object}: {reason}"),
            Event::Ready { object } => format!("ready {object}"),
            Event::Failed { object, reason } => format!("failed {object}: {reason}"),
            Event::Helm {
                release, outcome, ..
            } => format!("{outcome} helm/{release}"),
            Event::Kustomization { url, outcome } => format!("{outcome} {url}"),
            Event::ComponentReady { component } => format!("ready component {component}"),
            Event::ComponentFailed { component, reason } => {
                format!("failed component {component}: {reason}")
            }
            Event::Notice { message } => format!("note: {message}"),
            Event::Running { step } => format!("running {step}"),
        })
        .collect()
}

/// A live object read straight from the fake API server (not counted).
pub async fn get(cluster: &FakeCluster, path: &str) -> Option<Value> {
    let req = http::Request::get(path)
        .body(kube::client::Body::from(Vec::new()))
        .expect("request");
    let res = cluster.backend().send(req).await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    use http_body_util::BodyExt;
    let bytes = res.into_body().collect().await.ok()?.to_bytes();
    serde_json::from_slice(&bytes).ok()
}

/// Changes a live object behind maia's back, as `kubectl edit` would.
pub async fn edit(cluster: &FakeCluster, path: &str, merge_patch: Value) {
    let req = http::Request::patch(path)
        .header("content-type", "application/merge-patch+json")
        .body(kube::client::Body::from(
            merge_patch.to_string().into_bytes(),
        ))
        .expect("request");
    let res = cluster.backend().send(req).await.expect("patch sent");
    assert!(res.status().is_success(), "edit {path}: {}", res.status());
}

/// Server-side applies as another field manager.
pub async fn apply_as(cluster: &FakeCluster, manager: &str, path: &str, body: Value) {
    let req = http::Request::patch(format!("{path}?fieldManager={manager}&force=true"))
        .header("content-type", "application/apply-patch+yaml")
        .body(kube::client::Body::from(body.to_string().into_bytes()))
        .expect("request");
    let res = cluster.backend().send(req).await.expect("apply sent");
    assert!(res.status().is_success(), "apply {path}: {}", res.status());
}

pub const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/demo/deployments/mysql-db-v1-mkg";
