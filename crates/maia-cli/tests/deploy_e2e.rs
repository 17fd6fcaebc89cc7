//! The `maia` binary against an in-memory API server served on 127.0.0.1, reached
//! through a generated kubeconfig: kubeconfig loading, contexts, output and exit codes.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use http::Method;
use maia_testkit::fake::{FakeCluster, Kubelet};
use serde_json::{Value, json};

/// Fake clusters on loopback ports, one kubeconfig context each, and a temp HOME.
struct Env {
    _runtime: tokio::runtime::Runtime,
    clusters: Vec<FakeCluster>,
    /// Where each cluster is served, for requests made behind maia's back.
    addrs: Vec<std::net::SocketAddr>,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Env {
    fn new(contexts: &[&str], namespaces: &[&str]) -> Env {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut clusters = Vec::new();
        let mut addrs = Vec::new();
        let mut config = json!({"apiVersion": "v1", "kind": "Config",
            "current-context": contexts[0], "clusters": [], "contexts": [], "users": []});
        for context in contexts {
            let (cluster, addr) = runtime.block_on(async {
                let c = FakeCluster::new(namespaces).await;
                let addr = c.serve().await.unwrap();
                (c, addr)
            });
            config["clusters"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": context, "cluster": {"server": format!("http://{addr}")}}));
            config["contexts"].as_array_mut().unwrap().push(
                json!({"name": context, "context": {"cluster": context, "user": "u", "namespace": "demo"}}),
            );
            clusters.push(cluster);
            addrs.push(addr);
        }
        config["users"] = json!([{"name": "u", "user": {"token": "not-a-secret"}}]);
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, config.to_string()).unwrap();
        Env {
            _runtime: runtime,
            clusters,
            addrs,
            dir,
            kubeconfig,
        }
    }

    /// Sends a request to the first cluster behind maia's back, as kubectl or a
    /// controller would (a merge patch when there is a body); it must succeed.
    fn request(&self, method: &str, path: &str, body: Option<Value>) {
        use std::io::{Read, Write};
        let addr = self.addrs[0];
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer not-a-secret\r\n\
             Content-Type: application/merge-patch+json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }

    fn maia(&self, args: &[&str]) -> Command {
        self.bin("maia", args)
    }

    fn bin(&self, name: &str, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin(name).unwrap();
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .current_dir(self.dir.path());
        cmd
    }

    fn app(&self, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
        let mut config = json!({
            "namespace": "demo", "chart_name": "mysql-db-v1", "docker_image": "mysql", "tag": "8.0.28",
            "memory_request": "2Gi", "cpu_request": "500m", "deployment": true,
            "ports": {"mysql": [3306]},
            "persistent_volume": [{"mountPath": "/var/lib/mysql", "size": "20Gi",
                "access_mode": "ReadWriteOnce", "pvc_type": "local-path"}]
        });
        edit(&mut config);
        let path = self.dir.path().join(name);
        std::fs::write(&path, config.to_string()).unwrap();
        path
    }
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn deploy_creates_each_object_once_and_a_second_deploy_sends_no_write() {
    let env = Env::new(&["lab"], &["demo"]);
    let app = env.app("app.json", |_| {});
    let (code, out, err) = run(&mut env.maia(&["app", "deploy", "-f", p(&app)]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "persistentvolumeclaim/mysql-db-v1-mkg-claim-0 created\n\
         service/mysql-db-v1-mkg created\n\
         deployment/mysql-db-v1-mkg created\n"
    );
    assert_eq!(
        env.clusters[0].writes().len(),
        4,
        "three objects and the inventory"
    );

    env.clusters[0].clear_requests();
    let (code, out, _) = run(&mut env.maia(&["app", "deploy", "-f", p(&app)]));
    assert_eq!(code, 0);
    assert!(out.lines().all(|l| l.ends_with(" unchanged")), "{out}");
    assert!(
        env.clusters[0].writes().is_empty(),
        "{:?}",
        env.clusters[0].writes()
    );
}

#[test]
fn plan_shows_the_changed_field_and_its_exit_code_says_whether_anything_would_change() {
    let env = Env::new(&["lab"], &["demo"]);
    let app = env.app("app.json", |_| {});
    let (code, out, _) = run(&mut env.maia(&["app", "plan", "-f", p(&app)]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("  + deployment/mysql-db-v1-mkg  create"),
        "{out}"
    );
    env.maia(&["app", "deploy", "-f", p(&app)])
        .assert()
        .success();

    let (code, out, _) = run(&mut env.maia(&["app", "plan", "-f", p(&app)]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("Plan: 0 to create, 0 to change, 0 to prune, 3 unchanged.\n"),
        "{out}"
    );

    let newer = env.app("newer.json", |c| c["tag"] = json!("8.0.36"));
    env.clusters[0].clear_requests();
    let (code, out, _) = run(&mut env.maia(&["app", "plan", "-f", p(&newer)]));
    assert_eq!(code, 1);
    assert!(out.contains("  ~ deployment/mysql-db-v1-mkg  update\n      spec.template.spec.containers[0].image: \"mysql:8.0.28\" -> \"mysql:8.0.36\"\n"), "{out}");
    assert!(env.clusters[0].writes().is_empty(), "plan writes nothing");

    let (code, out, _) = run(&mut env.maia(&["app", "plan", "-f", p(&newer), "-o", "json"]));
    assert_eq!(code, 1);
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["changes"], true);
    let update = &plan["steps"][2];
    assert_eq!(update["object"]["kind"], "Deployment");
    assert_eq!(update["change"]["action"], "update");
    assert_eq!(update["change"]["fields"][0]["desired"], "mysql:8.0.36");

    let (code, _, err) = run(&mut env.maia(&["app", "plan", "-f", "missing.json"]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn json_output_is_one_event_per_line() {
    let env = Env::new(&["lab"], &["demo"]);
    let app = env.app("app.json", |_| {});
    let (code, out, err) = run(&mut env.maia(&["app", "deploy", "-f", p(&app), "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["event"], "applied");
    assert_eq!(events[2]["kind"], "Deployment");
    assert_eq!(events[2]["name"], "mysql-db-v1-mkg");
    assert_eq!(events[2]["outcome"], "created");

    // A failure is the last line, with what changed before it.
    env.clusters[0].fail(Method::GET, "/deployments", 500, 1);
    let (code, out, _) = run(&mut env.maia(&["app", "deploy", "-f", p(&app), "-o", "json"]));
    assert_eq!(code, 1);
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "error");
    assert!(
        last["message"].as_str().unwrap().contains("HTTP 500"),
        "{last}"
    );
    assert_eq!(last["changed"], json!([]));
}

#[test]
fn a_missing_namespace_is_explained_and_created_when_asked() {
    let env = Env::new(&["lab"], &[]);
    let app = env.app("app.json", |_| {});
    let (code, _, err) = run(&mut env.maia(&["app", "deploy", "-f", p(&app)]));
    assert_eq!(code, 1);
    assert!(err.contains("namespace demo does not exist"), "{err}");
    assert!(err.contains("--create-namespace"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    let (code, out, err) =
        run(&mut env.maia(&["app", "deploy", "-f", p(&app), "--create-namespace"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("namespace/demo created\n"), "{out}");
}

#[test]
fn a_refused_write_names_the_verb_and_object_and_what_was_applied_before() {
    let env = Env::new(&["lab"], &["demo"]);
    env.clusters[0].fail(Method::PATCH, "/deployments/", 403, 1);
    let app = env.app("app.json", |_| {});
    let (code, out, err) = run(&mut env.maia(&["app", "deploy", "-f", p(&app)]));
    assert_eq!(code, 1);
    assert!(out.contains("service/mysql-db-v1-mkg created"), "{out}");
    assert!(
        err.contains("the API server refused to apply deployment/mysql-db-v1-mkg (HTTP 403)"),
        "{err}"
    );
    assert!(err.contains("note: changed before the failure: persistentvolumeclaim/mysql-db-v1-mkg-claim-0, service/mysql-db-v1-mkg"), "{err}");
    // The next run picks up where this one stopped.
    let (code, out, _) = run(&mut env.maia(&["app", "deploy", "-f", p(&app)]));
    assert_eq!(code, 0);
    assert!(out.contains("deployment/mysql-db-v1-mkg created"), "{out}");
}

#[test]
fn an_unreachable_server_is_named_by_its_url() {
    let env = Env::new(&["lab"], &["demo"]);
    let dead = env.dir.path().join("dead");
    std::fs::write(
        &dead,
        FakeCluster::kubeconfig("http://127.0.0.1:9", "dead", "demo"),
    )
    .unwrap();
    let app = env.app("app.json", |_| {});
    let (code, _, err) =
        run(&mut env.maia(&["app", "deploy", "-f", p(&app), "--kubeconfig", p(&dead)]));
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot reach the Kubernetes API server at http://127.0.0.1:9"),
        "{err}"
    );
}

#[test]
fn clusters_in_the_config_each_get_the_app_and_an_unknown_one_stops_everything() {
    let env = Env::new(&["east", "west"], &["demo"]);
    let bad = env.app("bad.json", |c| c["clusters"] = json!(["east", "north"]));
    let (code, _, err) = run(&mut env.maia(&["app", "deploy", "-f", p(&bad)]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("context \"north\" is not in the kubeconfig (it has: east, west)"),
        "{err}"
    );
    assert!(env.clusters.iter().all(|c| c.requests().is_empty()));

    let both = env.app("both.json", |c| c["clusters"] = json!(["east", "west"]));
    let (code, out, err) = run(&mut env.maia(&["app", "deploy", "-f", p(&both)]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("cluster east:\n"), "{out}");
    assert!(out.contains("cluster west:\n"), "{out}");
    for c in &env.clusters {
        assert_eq!(c.writes().len(), 4);
    }
}

#[test]
fn wait_status_list_and_delete() {
    let env = Env::new(&["lab"], &["demo"]);
    env.clusters[0].set_kubelet(Kubelet::Ready);
    let app = env.app("app.json", |c| {
        c["ingress"] = json!({"host": "db.example.org", "port": 3306})
    });
    let (code, out, err) =
        run(&mut env.maia(&["app", "deploy", "-f", p(&app), "--wait", "--timeout", "1m"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with("deployment/mysql-db-v1-mkg ready\n"), "{out}");

    let (code, out, err) = run(&mut env.maia(&["app", "status", "mysql-db-v1", "-n", "demo"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deployment/mysql-db-v1-mkg: ready"), "{out}");
    assert!(out.contains("ports: mysql 3306/TCP"), "{out}");
    assert!(out.contains("url: http://db.example.org/"), "{out}");

    let (code, out, _) = run(&mut env.maia(&["app", "list"]));
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "NAMESPACE   NAME          WORKLOAD                     READY   TIME LEFT   REASON\n\
         demo        mysql-db-v1   deployment/mysql-db-v1-mkg   yes     -           -\n"
    );

    let (code, out, _) = run(&mut env.maia(&["app", "list", "-A", "-o", "json"]));
    assert_eq!(code, 0);
    let apps: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(apps[0]["name"], "mysql-db-v1");
    assert_eq!(apps[0]["workload"]["ready"], true);

    // A dry run asks nothing (no terminal, no --yes), deletes nothing and names what the
    // delete then deletes.
    let (code, dry, err) = run(&mut env.maia(&["app", "delete", "mysql-db-v1", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&mut env.maia(&["app", "status", "mysql-db-v1", "-n", "demo"]));
    assert_eq!(code, 0, "the dry run deleted something: {out}");
    let (code, out, err) = run(&mut env.maia(&["app", "delete", "mysql-db-v1", "--yes"]));
    assert_eq!(code, 0, "{err}");
    let deleted = out.matches(" deleted\n").count();
    assert!(deleted > 0, "{out}");
    assert_eq!(
        dry,
        format!(
            "{}app mysql-db-v1 (namespace demo): dry run, nothing was deleted; {deleted} object(s) would be\n",
            out.replace(" deleted\n", " deleted (dry run)\n")
        )
    );
    assert!(out.contains("deployment/mysql-db-v1-mkg deleted"), "{out}");
    assert!(
        out.contains("persistentvolumeclaim/mysql-db-v1-mkg-claim-0 kept"),
        "{out}"
    );
    // Its volume is kept, but nothing runs: not ready.
    let (code, out, _) = run(&mut env.maia(&["app", "status", "mysql-db-v1", "-n", "demo"]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no workload found") && out.contains("volume mysql-db-v1-mkg-claim-0"),
        "{out}"
    );
    let (code, out, _) = run(&mut env.maia(&[
        "app",
        "delete",
        "mysql-db-v1",
        "--delete-volumes",
        "--dry-run",
    ]));
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "persistentvolumeclaim/mysql-db-v1-mkg-claim-0 deleted (dry run)\n\
         app mysql-db-v1 (namespace demo): dry run, nothing was deleted; 1 object(s) would be\n"
    );
    let (code, out, _) =
        run(&mut env.maia(&["app", "delete", "mysql-db-v1", "--delete-volumes", "--yes"]));
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "persistentvolumeclaim/mysql-db-v1-mkg-claim-0 deleted\n"
    );
    let (code, _, err) = run(&mut env.maia(&["app", "status", "mysql-db-v1", "-n", "demo"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("no app \"mysql-db-v1\" in namespace demo"),
        "{err}"
    );
}

#[test]
fn wait_fails_with_the_pods_image_pull_error() {
    let env = Env::new(&["lab"], &["demo"]);
    env.clusters[0].set_kubelet(Kubelet::ImagePullBackOff);
    let app = env.app("app.json", |_| {});
    let (code, out, err) = run(&mut env.maia(&["app", "deploy", "-f", p(&app), "--wait"]));
    assert_eq!(code, 1);
    assert!(out.contains("deployment/mysql-db-v1-mkg failed: pod mysql-db-v1-mkg-0: container main: ImagePullBackOff"), "{out}");
    assert!(err.contains("ImagePullBackOff"), "{err}");
}

#[test]
fn maia_deploy_helm_chart_deploys_to_the_kubeconfig_cluster() {
    let env = Env::new(&["lab"], &["demo"]);
    let app = env.app("app.json", |_| {});
    let (code, out, err) = run(&mut env.bin("MAIA_deploy_helm_chart", &["--config-file", p(&app)]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deployment/mysql-db-v1-mkg created"), "{out}");
    assert_eq!(env.clusters[0].writes().len(), 4);
}

#[test]
fn a_cluster_that_fails_does_not_stop_the_others_and_is_named_at_the_end() {
    let env = Env::new(&["east", "west"], &["demo"]);
    env.clusters[0].fail(Method::PATCH, "/services/", 500, 1);
    let both = env.app("both.json", |c| c["clusters"] = json!(["east", "west"]));
    let (code, out, err) = run(&mut env.maia(&["app", "deploy", "-f", p(&both)]));
    assert_eq!(code, 1);
    assert!(
        out.contains("cluster west:\npersistentvolumeclaim/mysql-db-v1-mkg-claim-0 created\n"),
        "{out}"
    );
    assert!(
        err.contains("cannot apply service/mysql-db-v1-mkg: the API server answered HTTP 500"),
        "{err}"
    );
    assert!(
        err.contains("deploy failed on 1 of 2 clusters: east"),
        "{err}"
    );
    assert_eq!(env.clusters[1].writes().len(), 4);
}

#[test]
fn the_kubeconfig_in_home_is_found_and_context_picks_the_cluster() {
    let env = Env::new(&["east", "west"], &["demo"]);
    let kube_dir = env.dir.path().join(".kube");
    std::fs::create_dir_all(&kube_dir).unwrap();
    std::fs::copy(&env.kubeconfig, kube_dir.join("config")).unwrap();
    let app = env.app("app.json", |_| {});
    let mut cmd = env.maia(&["app", "deploy", "-f", p(&app), "--context", "west"]);
    cmd.env_remove("KUBECONFIG");
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    assert!(env.clusters[0].requests().is_empty());
    assert_eq!(env.clusters[1].writes().len(), 4);
}

#[test]
fn status_explains_a_workload_that_is_not_ready_by_its_pod() {
    let env = Env::new(&["lab"], &["demo"]);
    env.clusters[0].set_kubelet(Kubelet::ImagePullBackOff);
    let app = env.app("app.json", |_| {});
    env.maia(&["app", "deploy", "-f", p(&app)])
        .assert()
        .success();
    let (code, out, err) = run(&mut env.maia(&["app", "status", "mysql-db-v1"]));
    assert_eq!(code, 1, "not ready: {err}");
    assert!(
        out.contains("deployment/mysql-db-v1-mkg: not ready: pod mysql-db-v1-mkg-0: container main: ImagePullBackOff"),
        "{out}"
    );
    let (_, out, _) = run(&mut env.maia(&["app", "status", "mysql-db-v1", "-o", "yaml"]));
    assert!(out.contains("state: failed"), "{out}");
}

#[test]
fn a_kubeconfig_that_does_not_exist_is_named_instead_of_trying_the_in_cluster_config() {
    let env = Env::new(&["lab"], &["demo"]);
    let app = env.app("app.json", |_| {});
    let missing = env.dir.path().join("nope").join("config");
    let also = env.dir.path().join("other");
    let list = std::env::join_paths([&missing, &also]).unwrap();
    let mut cmd = env.maia(&["app", "plan", "-f", p(&app)]);
    cmd.env("KUBECONFIG", &list)
        .env_remove("KUBERNETES_SERVICE_HOST");
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.starts_with(&format!(
            "error: kubeconfig {} named by KUBECONFIG does not exist\n",
            list.to_string_lossy()
        )),
        "{err}"
    );
    assert!(err.contains("  hint: fix the path in KUBECONFIG"), "{err}");
    assert!(!err.contains("inside a cluster"), "{err}");

    // One existing file in the list is enough, as for kubectl.
    let list = std::env::join_paths([&missing, &env.kubeconfig]).unwrap();
    let mut cmd = env.maia(&["app", "plan", "-f", p(&app)]);
    cmd.env("KUBECONFIG", &list);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 1, "changes planned: {out}{err}");

    let (code, _, err) =
        run(&mut env.maia(&["app", "deploy", "-f", p(&app), "--kubeconfig", p(&missing)]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "kubeconfig {} named by --kubeconfig does not exist",
            missing.display()
        )),
        "{err}"
    );
    assert!(env.clusters[0].writes().is_empty());
}

#[test]
fn a_dry_run_with_create_namespace_reports_the_namespace_and_what_it_would_hold() {
    let env = Env::new(&["lab"], &[]);
    let app = env.app("app.json", |_| {});
    let (code, out, err) = run(&mut env.maia(&[
        "app",
        "deploy",
        "-f",
        p(&app),
        "--dry-run",
        "--create-namespace",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "namespace/demo created (dry run)\n\
         persistentvolumeclaim/mysql-db-v1-mkg-claim-0 created (dry run)\n\
         service/mysql-db-v1-mkg created (dry run)\n\
         deployment/mysql-db-v1-mkg created (dry run)\n"
    );
    assert!(env.clusters[0].namespaces().is_empty());
    assert!(
        env.clusters[0]
            .writes()
            .iter()
            .all(|w| w.query.contains("dryRun=All"))
    );
}

#[test]
fn status_tells_a_bound_volume_from_one_waiting_for_its_first_consumer() {
    let env = Env::new(&["lab"], &["demo"]);
    let app = env.app("app.json", |_| {});
    env.maia(&["app", "deploy", "-f", p(&app)])
        .assert()
        .success();
    let (code, out, err) = run(&mut env.maia(&["app", "status", "mysql-db-v1"]));
    // No kubelet: the Deployment never becomes available.
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("  volume mysql-db-v1-mkg-claim-0: pending, waiting for its first consumer\n"),
        "{out}"
    );

    let bound = Env::new(&["lab"], &["demo"]);
    bound.clusters[0].set_kubelet(Kubelet::Ready);
    let app = bound.app("app.json", |_| {});
    bound
        .maia(&["app", "deploy", "-f", p(&app)])
        .assert()
        .success();
    let (code, out, _) = run(&mut bound.maia(&["app", "status", "mysql-db-v1"]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("  volume mysql-db-v1-mkg-claim-0: bound\n"),
        "{out}"
    );
}

/// Exit 0 means the app serves: every object of its inventory is there and ready
/// (issue 16: status said 0 for an app whose workload was not ready or gone).
#[test]
fn status_exits_0_only_when_every_object_the_app_owns_is_there_and_ready() {
    let env = Env::new(&["lab"], &["demo"]);
    env.clusters[0].set_kubelet(Kubelet::Ready);
    let app = env.app("app.json", |c| {
        c["ingress"] = json!({"host": "db.example.org", "port": 3306})
    });
    env.maia(&["app", "deploy", "-f", p(&app)])
        .assert()
        .success();
    let status = || run(&mut env.maia(&["app", "status", "mysql-db-v1"]));
    let (code, out, err) = status();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("app mysql-db-v1 in namespace demo: ready\n"),
        "{out}"
    );

    // Someone deletes its Service: the pod runs, but nobody reaches it.
    env.request(
        "DELETE",
        "/api/v1/namespaces/demo/services/mysql-db-v1-mkg",
        None,
    );
    let (code, out, _) = status();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("app mysql-db-v1 in namespace demo: not ready\n"),
        "{out}"
    );
    assert!(
        out.contains("  service/mysql-db-v1-mkg is missing\n"),
        "{out}"
    );
    let (code, out, _) = run(&mut env.maia(&["app", "status", "mysql-db-v1", "-o", "json"]));
    assert_eq!(code, 1);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["ready"], false, "{shown}");
    assert_eq!(shown["workload"]["ready"], true, "{shown}");
    let (code, out, _) = run(&mut env.maia(&["app", "list"]));
    assert_eq!(code, 0, "list lists: {out}");
    assert_eq!(
        out,
        "NAMESPACE   NAME          WORKLOAD                     READY   TIME LEFT   REASON\n\
         demo        mysql-db-v1   deployment/mysql-db-v1-mkg   no      -           service/mysql-db-v1-mkg is missing\n"
    );

    // A second deploy puts it back.
    env.maia(&["app", "deploy", "-f", p(&app)])
        .assert()
        .success();
    assert_eq!(status().0, 0);

    // Its workload deleted behind maia's back: gone, not ready.
    env.request(
        "DELETE",
        "/apis/apps/v1/namespaces/demo/deployments/mysql-db-v1-mkg",
        None,
    );
    let (code, out, _) = status();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("deployment/mysql-db-v1-mkg is missing"),
        "{out}"
    );
    let (_, out, _) = run(&mut env.maia(&["app", "list"]));
    let row = out.lines().nth(1).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..5], ["demo", "mysql-db-v1", "-", "no", "-"], "{out}");
    assert!(
        row.ends_with("   deployment/mysql-db-v1-mkg is missing"),
        "{out}"
    );
}

/// 1 says the app is not ready or not there; a cluster that cannot be asked is an
/// error, 2, so a script never takes one for the other.
#[test]
fn status_of_an_app_on_a_cluster_that_cannot_be_reached_exits_2() {
    let env = Env::new(&["lab"], &["demo"]);
    let (code, _, err) = run(&mut env.maia(&["app", "status", "nothing-here"]));
    assert_eq!(code, 1, "no such app: {err}");
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let kubeconfig = env.dir.path().join("unreachable");
    std::fs::write(
        &kubeconfig,
        FakeCluster::kubeconfig(&format!("http://{addr}"), "gone", "demo"),
    )
    .unwrap();
    let (code, _, err) = run(&mut env.maia(&[
        "app",
        "status",
        "mysql-db-v1",
        "--kubeconfig",
        p(&kubeconfig),
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error: "), "{err}");
}

/// A Job is a time-limited app: it is ready while its pod runs and is ready, and no
/// longer once it has finished (nothing serves) or its allocation time is over.
#[test]
fn a_time_limited_job_is_ready_while_its_pod_serves_and_not_once_it_finished() {
    let env = Env::new(&["lab"], &["demo"]);
    env.clusters[0].set_kubelet(Kubelet::Ready);
    let app = env.app("job.json", |c| {
        c["deployment"] = json!(false);
        c["allocationTime"] = json!("2h");
    });
    env.maia(&["app", "deploy", "-f", p(&app)])
        .assert()
        .success();
    let status = || run(&mut env.maia(&["app", "status", "mysql-db-v1"]));
    let (code, out, err) = status();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("job/mysql-db-v1-mkg: ready"), "{out}");

    let job = "/apis/batch/v1/namespaces/demo/jobs/mysql-db-v1-mkg/status";
    env.request(
        "PATCH",
        job,
        Some(json!({"status": {"active": 0, "ready": 0, "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True"}]}})),
    );
    let (code, out, _) = status();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("job/mysql-db-v1-mkg: not ready: finished: its pod has ended"),
        "{out}"
    );

    env.request(
        "PATCH",
        job,
        Some(
            json!({"status": {"succeeded": 0, "failed": 1, "conditions": [
            {"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}}),
        ),
    );
    let (code, out, _) = status();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("past its deadline"), "{out}");
}

/// A kubeconfig pointing at an ordinary web server: the error says so (exit 2), without
/// the page's HTML and without blaming a missing CRD (issue 9).
#[test]
fn a_web_server_instead_of_an_api_server_is_named_as_such() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Answers a bounded number of requests with an HTML 404, then stops.
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32).flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "<!DOCTYPE html><html><body><h1>Not Found</h1></body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        FakeCluster::kubeconfig(&format!("http://{addr}"), "web", "demo"),
    )
    .unwrap();
    for args in [&["app", "list"][..], &["namespace", "list"][..]] {
        let out = Command::cargo_bin("maia")
            .unwrap()
            .args(args)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("not the Kubernetes API"), "{err}");
        assert!(!err.contains("<html"), "{err}");
        assert!(!err.contains("CustomResourceDefinition"), "{err}");
    }
}

/// A server that answers with a body that never ends: maia stops reading at its
/// response limit and says so, instead of filling the memory (issue 9).
#[test]
fn an_endless_response_body_is_cut_off_at_the_limit() {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let most = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = most.clone();
    // Each request gets a JSON list whose items never end; the bytes a connection
    // took before the client hung up are recorded.
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8).flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"kind\":\"List\",\"items\":[";
            if stream.write_all(head.as_bytes()).is_err() {
                continue;
            }
            let chunk = vec![b' '; 1 << 16];
            let mut sent = 0usize;
            while stream.write_all(&chunk).is_ok() {
                sent += chunk.len();
                if sent > 1 << 30 {
                    break;
                }
            }
            seen.fetch_max(sent, Ordering::SeqCst);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        FakeCluster::kubeconfig(&format!("http://{addr}"), "endless", "demo"),
    )
    .unwrap();
    let out = Command::cargo_bin("maia")
        .unwrap()
        .args(["app", "list", "--kubeconfig"])
        .arg(&kubeconfig)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("64 MiB"), "{err}");
    // The limit plus what the sockets and the client's reader buffer (loopback buffers
    // autotune to tens of MiB on a loaded machine: 96.3 MiB was seen), not the gigabyte
    // the server would send without the limit.
    let sent = most.load(Ordering::SeqCst);
    assert!(sent < 256 << 20, "the server got {sent} bytes out");
}

/// plan, deploy and delete first say which cluster they talk to, as the kubeconfig names
/// it (context and API server URL), on stderr so stdout stays the objects' lines; -o json
/// keeps stderr free of it and stdout pure JSON.
#[test]
fn plan_deploy_and_delete_first_name_the_context_and_cluster() {
    let env = Env::new(&["east", "west"], &["demo"]);
    let app = env.app("app.json", |_| {});
    let named = |i: usize| {
        format!(
            "context {}, cluster http://{}",
            ["east", "west"][i],
            env.addrs[i]
        )
    };
    let first = |err: &str| err.lines().next().unwrap_or_default().to_string();

    // The kubeconfig's current context when none is given.
    let (code, out, err) = run(&mut env.maia(&["app", "plan", "-f", p(&app)]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(first(&err), named(0), "{err}");
    assert!(out.starts_with("Plan for app mysql-db-v1"), "{out}");

    let (code, out, err) =
        run(&mut env.maia(&["app", "deploy", "-f", p(&app), "--context", "west"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(first(&err), named(1), "{err}");
    assert!(out.starts_with("persistentvolumeclaim/"), "{out}");

    let (code, _, err) = run(&mut env.maia(&[
        "app",
        "delete",
        "mysql-db-v1",
        "-n",
        "demo",
        "--yes",
        "--context",
        "west",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(first(&err), named(1), "{err}");

    for verb in ["plan", "deploy"] {
        let (code, out, err) = run(&mut env.maia(&["app", verb, "-f", p(&app), "-o", "json"]));
        assert!(matches!(code, 0 | 1), "{err}");
        assert!(!err.contains("cluster http://"), "{verb}: {err}");
        for line in out.lines() {
            serde_json::from_str::<Value>(line).unwrap();
        }
    }
}

/// -q (--quiet) leaves out what would not change or did not: a plan shows only its
/// changes and the summary (which still counts the unchanged), a deploy only what it did.
#[test]
fn quiet_hides_the_unchanged_lines_of_plan_and_deploy() {
    let env = Env::new(&["lab"], &["demo"]);
    let app = env.app("app.json", |_| {});
    let (code, _, err) = run(&mut env.maia(&["app", "deploy", "-f", p(&app)]));
    assert_eq!(code, 0, "{err}");
    let newer = env.app("newer.json", |c| c["tag"] = json!("8.0.29"));

    let (code, full, err) = run(&mut env.maia(&["app", "plan", "-f", p(&newer)]));
    assert_eq!(code, 1, "{err}");
    assert!(
        full.contains("  = service/mysql-db-v1-mkg  unchanged\n"),
        "{full}"
    );
    let (code, out, err) = run(&mut env.maia(&["app", "plan", "-q", "-f", p(&newer)]));
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains("  = "), "{out}");
    assert!(
        out.contains("  ~ deployment/mysql-db-v1-mkg  update\n"),
        "{out}"
    );
    assert!(
        out.ends_with("Plan: 0 to create, 1 to change, 0 to prune, 2 unchanged.\n"),
        "{out}"
    );

    let (code, out, err) = run(&mut env.maia(&["app", "deploy", "--quiet", "-f", p(&newer)]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "deployment/mysql-db-v1-mkg configured\n");
    let (code, out, err) = run(&mut env.maia(&["app", "deploy", "-q", "-f", p(&newer)]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "nothing changed, nothing said");
}
