//! Real kubectl against the served fake: what an admin types while a test cluster
//! runs (`get`, `get -l`, `apply --server-side`, `apply --dry-run=server`, `get
//! --watch`) works, which takes the discovery and OpenAPI documents kubectl reads.
//! Skipped, saying so, when kubectl is not installed.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use maia_testkit::FakeCluster;
use serde_json::json;

/// kubectl, from `KUBECTL` or the PATH.
fn kubectl() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

struct Kubectl {
    program: PathBuf,
    dir: tempfile::TempDir,
}

impl Kubectl {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG");
        command
    }

    /// Runs kubectl to the end (off the runtime, which serves the fake) and returns
    /// its stdout; a failure is a failed test, with kubectl's stderr.
    async fn run(&self, args: &[&str]) -> String {
        let mut command = self.command(args);
        let shown = format!("kubectl {}", args.join(" "));
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{shown} failed:\n{}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

async fn setup() -> Option<(FakeCluster, Kubectl)> {
    let Some(program) = kubectl() else {
        eprintln!("skipped: kubectl is not installed (set KUBECTL, or put it on the PATH)");
        return None;
    };
    // Older kubectl reads OpenAPI v2 (protobuf), which the fake does not serve; 1.27
    // and later read v3.
    let version = Command::new(&program)
        .args(["version", "--client", "-o", "json"])
        .output()
        .ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|v| {
            v["clientVersion"]["minor"]
                .as_str()?
                .trim_end_matches('+')
                .parse::<u32>()
                .ok()
        });
    match version {
        Some(minor) if minor >= 27 => {}
        Some(minor) => {
            eprintln!(
                "skipped: {} is kubectl 1.{minor} (the test needs 1.27 or later)",
                program.display()
            );
            return None;
        }
        None => {
            eprintln!(
                "skipped: `{} version --client` did not run",
                program.display()
            );
            return None;
        }
    }
    let fake = FakeCluster::new(&["default", "demo"]).await;
    let addr = fake.serve().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kubeconfig"),
        FakeCluster::kubeconfig(&format!("http://{addr}"), "fake", "demo"),
    )
    .unwrap();
    Some((fake, Kubectl { program, dir }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_lists_by_label_and_applies() {
    let Some((fake, kubectl)) = setup().await else {
        return;
    };
    fake.seed(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team", "labels": {"owner": "alice"}}}))
        .await;
    for (name, app) in [("web-1", "x"), ("web-2", "x"), ("db-1", "y")] {
        fake.seed(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "demo", "labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Running"}}))
            .await;
    }

    let namespaces = kubectl.run(&["get", "ns"]).await;
    for name in ["default", "demo", "team"] {
        assert!(namespaces.contains(name), "{name} in:\n{namespaces}");
    }
    let labelled = kubectl
        .run(&["get", "ns", "-l", "owner=alice", "-o", "name"])
        .await;
    assert_eq!(labelled.trim(), "namespace/team");
    let pods = kubectl
        .run(&["get", "pods", "-l", "app=x", "-o", "name"])
        .await;
    assert_eq!(pods.lines().collect::<Vec<_>>(), ["pod/web-1", "pod/web-2"]);
    let table = kubectl.run(&["get", "pods", "-l", "app!=x"]).await;
    assert!(
        table.contains("db-1") && !table.contains("web-1"),
        "{table}"
    );

    // Server-side apply: stored, with kubectl as its field manager.
    let file = kubectl.file(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels: {app: x}\ndata:\n  mode: fast\n",
    );
    let out = kubectl.run(&["apply", "--server-side", "-f", &file]).await;
    assert!(
        out.contains("configmap/settings serverside-applied"),
        "{out}"
    );
    let stored = fake.objects("/api/v1/namespaces/demo/configmaps").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["data"]["mode"], "fast");
    let applied = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH" && r.path.ends_with("/configmaps/settings"))
        .expect("kubectl sent an apply patch");
    assert!(
        applied.query.contains("fieldManager=kubectl"),
        "{}",
        applied.query
    );
    // kubectl found in the fake's OpenAPI document that the server checks fields.
    assert!(
        applied.query.contains("fieldValidation=Strict"),
        "{}",
        applied.query
    );

    // A server-side dry run, of a new object and of a change: nothing stored.
    let other = kubectl.file(
        "other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  mode: slow\n",
    );
    let out = kubectl
        .run(&["apply", "--dry-run=server", "-f", &other])
        .await;
    assert!(
        out.contains("configmap/other created (server dry run)"),
        "{out}"
    );
    let changed = kubectl.file(
        "changed.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels: {app: x}\ndata:\n  mode: slow\n",
    );
    let out = kubectl
        .run(&["apply", "--server-side", "--dry-run=server", "-f", &changed])
        .await;
    assert!(
        out.contains("configmap/settings serverside-applied (server dry run)"),
        "{out}"
    );
    let stored = fake.objects("/api/v1/namespaces/demo/configmaps").await;
    assert_eq!(stored.len(), 1, "the dry run created nothing");
    assert_eq!(stored[0]["data"]["mode"], "fast", "nor changed anything");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_watches_changes() {
    let Some((fake, kubectl)) = setup().await else {
        return;
    };
    fake.seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "first", "namespace": "demo"}}))
        .await;
    let mut child = kubectl
        .command(&["get", "configmaps", "--watch", "-o", "name"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut next_line = async || {
        tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv())
            .await
            .ok()
            .flatten()
    };
    let first = next_line().await;
    if first.is_none() {
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        panic!(
            "kubectl get --watch printed nothing: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(first.as_deref(), Some("configmap/first"));
    fake.seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "second", "namespace": "demo"}}))
        .await;
    let second = next_line().await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(second.as_deref(), Some("configmap/second"));
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path == "/api/v1/namespaces/demo/configmaps"
                && r.query.contains("watch=true")),
        "kubectl watched through the fake"
    );
}
