//! `maia namespace status` as a script sees it (issue 16, item 17): exit 0 only when
//! the workspace is ready, 1 when an object is missing, a rollout is in progress or
//! the workspace was deleted; every URL, the hub's included; members by e-mail with
//! their SSH command. The binary runs against the in-memory API server on 127.0.0.1
//! with the recording helm/kubectl stand-ins on PATH.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use std::io::{Read, Write};
use std::net::SocketAddr;

use maia_testkit::fake::{FakeCluster, Kubelet};
use maia_testkit::served;
use serde_json::Value;

struct Env {
    runtime: tokio::runtime::Runtime,
    fake: FakeCluster,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    path: std::ffi::OsString,
}

impl Env {
    fn new(kubelet: Kubelet) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let served::Served {
            runtime,
            fake,
            addr,
            kubeconfig,
            tools,
        } = served::serve(dir.path());
        fake.set_kubelet(kubelet);
        let path = tools.path();
        Env {
            runtime,
            fake,
            addr,
            dir,
            kubeconfig,
            path,
        }
    }

    /// Deletes an object behind maia's back, as `kubectl delete` would.
    fn delete(&self, path: &str) {
        let mut stream = std::net::TcpStream::connect(self.addr).unwrap();
        write!(
            stream,
            "DELETE {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer not-a-secret\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }

    fn maia(&self, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("maia")
            .unwrap()
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .env("PATH", &self.path)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    fn deploy(&self) {
        let example = |f: &str| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/workspace")
                .join(f)
                .display()
                .to_string()
        };
        let out = self.maia(&[
            "namespace",
            "deploy",
            "--namespace-config-file",
            &example("group.yaml"),
            "--cluster-config-file",
            &example("cluster-nginx.yaml"),
            "--skip-kubeflow",
        ]);
        assert!(out.status.success(), "{}", text(&out));
    }

    /// `namespace status` in text and in JSON; both exit with the same code.
    fn status(&self) -> (Option<i32>, String, Value) {
        let shown = self.maia(&["namespace", "status", "Brain_MRI"]);
        let json = self.maia(&["namespace", "status", "Brain_MRI", "-o", "json"]);
        assert_eq!(shown.status.code(), json.status.code(), "{}", text(&json));
        (
            shown.status.code(),
            text(&shown),
            serde_json::from_slice(&json.stdout).unwrap(),
        )
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn status_exits_0_only_for_a_ready_workspace_and_shows_every_url_and_ssh_command() {
    let env = Env::new(Kubelet::Ready);
    env.deploy();
    let (code, shown, json) = env.status();
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(json["ready"], true);
    assert!(
        shown.starts_with("workspace Brain_MRI in namespace brain-mri: ready"),
        "{shown}"
    );
    // The hub's URL, and both of the viewer's (not only the first of a component).
    for url in [
        "https://brain-mri.maia.example.org/",
        "https://brain-mri.maia.example.org/brain-mri/",
        "https://brain-mri.maia.example.org/brain-mri-monai-label/",
    ] {
        assert!(shown.contains(url), "{url} not in {shown}");
    }
    let users = json["users"].as_array().unwrap();
    assert_eq!(users[0]["email"], "alice@example.org");
    let port = users[0]["ssh_port"].as_u64().unwrap();
    let command = format!("ssh -p {port} maia-user@ssh.maia.example.org");
    assert_eq!(users[0]["ssh_command"], command.as_str());
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("alice@example.org") && l.contains(&command)),
        "{shown}"
    );

    // The MySQL Deployment deleted behind maia's back: mysql failed, exit 1.
    env.delete("/apis/apps/v1/namespaces/brain-mri/deployments/mysql-db-v1-mkg");
    let (code, shown, json) = env.status();
    assert_eq!(code, Some(1), "{shown}");
    assert_eq!(json["ready"], false);
    let mysql = json["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "mysql")
        .unwrap();
    assert!(
        mysql["status"]
            .to_string()
            .contains("Deployment/mysql-db-v1-mkg is missing"),
        "{mysql}"
    );

    // After `namespace delete`, nothing is called ready.
    let out = env.maia(&["namespace", "delete", "Brain_MRI", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    let (code, shown, json) = env.status();
    assert_eq!(code, Some(1), "{shown}");
    assert_eq!(json["ready"], false);
    assert!(shown.contains("deleted"), "{shown}");
    assert!(!shown.contains(" ready "), "{shown}");
}

#[test]
fn a_workspace_still_rolling_out_exits_1() {
    let env = Env::new(Kubelet::Idle);
    env.deploy();
    let (code, shown, json) = env.status();
    assert_eq!(code, Some(1), "{shown}");
    assert_eq!(json["ready"], false);
    assert!(shown.contains("progressing"), "{shown}");
}

#[test]
fn status_help_documents_its_exit_codes() {
    let out = Command::cargo_bin("maia")
        .unwrap()
        .args(["namespace", "status", "--help"])
        .output()
        .unwrap();
    let help = text(&out);
    assert!(
        help.contains("Exit codes: 0 ready, 1 not ready (or deleted), 2 error."),
        "{help}"
    );
}

/// 1 says the workspace is not ready or not there; a cluster that cannot be asked is
/// an error, 2, as the help says (it was 1: a script took an outage for "not ready").
#[test]
fn status_exits_1_for_a_workspace_that_is_not_there_and_2_when_the_cluster_cannot_be_asked() {
    let env = Env::new(Kubelet::Ready);
    let out = env.maia(&["namespace", "status", "No_Such_Group"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let kubeconfig = env.dir.path().join("unreachable");
    std::fs::write(
        &kubeconfig,
        FakeCluster::kubeconfig(&format!("http://{addr}"), "gone", "default"),
    )
    .unwrap();
    let out = env.maia(&[
        "namespace",
        "status",
        "Brain_MRI",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

fn example(f: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workspace")
        .join(f)
        .display()
        .to_string()
}

/// A GitOps-managed workspace (`--gitops argocd` tree, `--secrets-only` deploy, the
/// rest applied by Argo CD) is judged from the record the tree carries, and its charts,
/// which Argo CD renders rather than helm installs, by the Argo CD Application (issue
/// 16: it had no record, so status called it not deployed whatever its state).
#[test]
fn a_gitops_managed_workspace_is_judged_by_the_record_in_its_tree_and_argo_cd() {
    let env = Env::new(Kubelet::Ready);
    let folder = env.dir.path().join("out");
    let folder_arg = folder.display().to_string();
    let files = [
        "--namespace-config-file".to_string(),
        example("group.yaml"),
        "--cluster-config-file".into(),
        example("cluster-nginx.yaml"),
        "--config-folder".into(),
        folder_arg.clone(),
    ];
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let render = env.maia(
        &[
            &["namespace", "render"][..],
            &files,
            &[
                "--gitops",
                "argocd",
                "--repo-url",
                "https://git.example.org/maia/fleet.git",
            ],
        ]
        .concat(),
    );
    assert!(render.status.success(), "{}", text(&render));
    let deploy = env.maia(&[&["namespace", "deploy"][..], &files, &["--secrets-only"]].concat());
    assert!(deploy.status.success(), "{}", text(&deploy));

    // Argo CD applies the tree; the cluster's controllers make everything ready.
    let manifests = folder.join("gitops/Brain_MRI/manifests");
    let mut applied = 0;
    for file in std::fs::read_dir(&manifests).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        for doc in text.split("\n---\n") {
            let mut object: Value = yaml_serde::from_str(doc).unwrap();
            let status = match object["kind"].as_str().unwrap() {
                "Namespace" => continue,
                "Deployment" => serde_json::json!({"observedGeneration": 100,
                    "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
                    "conditions": [{"type": "Available", "status": "True"}]}),
                "Job" => serde_json::json!({"succeeded": 1,
                    "conditions": [{"type": "Complete", "status": "True"}]}),
                "PersistentVolumeClaim" => serde_json::json!({"phase": "Bound"}),
                "Tenant" => serde_json::json!({"currentState": "Initialized"}),
                _ => Value::Null,
            };
            if !status.is_null() {
                object["status"] = status;
            }
            env.runtime.block_on(env.fake.seed(object));
            applied += 1;
        }
    }
    assert!(applied > 10, "{applied} objects in the tree");

    // No Application (yet): the charts cannot be vouched for, and status says why.
    let (code, shown, json) = env.status();
    assert_eq!(code, Some(1), "{shown}");
    assert!(!shown.contains("inventory of it is missing"), "{shown}");
    assert!(!shown.contains("no record"), "{shown}");
    assert!(
        shown.contains("Argo CD Application argocd/maia-brain-mri"),
        "{shown}"
    );
    let components = json["components"].as_array().unwrap();
    let mysql = components
        .iter()
        .find(|c| c["component"] == "mysql")
        .unwrap();
    assert_eq!(mysql["status"]["state"], "ready", "{mysql}");
    let hub = components
        .iter()
        .find(|c| c["component"] == "jupyterhub")
        .unwrap();
    assert_eq!(
        hub["urls"][0], "https://brain-mri.maia.example.org/",
        "{hub}"
    );
    assert_eq!(json["users"][0]["email"], "alice@example.org", "{json}");

    // Argo CD reports the Application synced and healthy: ready.
    let application = |health: &str, sync: &str| {
        serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "maia-brain-mri", "namespace": "argocd"},
            "spec": {"project": "default"},
            "status": {"sync": {"status": sync}, "health": {"status": health},
                "resources": [{"kind": "Deployment", "name": "hub", "namespace": "brain-mri",
                    "health": {"status": health, "message": "hub is not available"}}]}})
    };
    env.fake.install_crd("argoproj.io/v1alpha1", "Application");
    env.runtime
        .block_on(env.fake.seed(serde_json::json!({"apiVersion": "v1",
        "kind": "Namespace", "metadata": {"name": "argocd"}})));
    env.runtime
        .block_on(env.fake.seed(application("Healthy", "Synced")));
    let (code, shown, json) = env.status();
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(json["ready"], true);

    // The hub's Deployment degraded: the chart components say so, exit 1.
    env.delete("/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/maia-brain-mri");
    env.runtime
        .block_on(env.fake.seed(application("Degraded", "Synced")));
    let (code, shown, _) = env.status();
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("Deployment/hub: Degraded: hub is not available"),
        "{shown}"
    );

    // A record in the tree: a plain deploy of the same workspace writes the same one.
    let record = std::fs::read_to_string(manifests.join("01-namespace.yaml")).unwrap();
    assert!(record.contains("name: maia-workspace-record"), "{record}");
    assert!(!record.contains("kind: Secret"));
}
