//! What belongs to whom: a workspace's objects are never an app's, a namespace or helm
//! release maia did not make is not taken over, one group's hosts are not served by
//! another namespace, and deletes without a terminal need `--yes`. The binary runs
//! against the in-memory API server on 127.0.0.1 with the helm/kubectl/git stand-ins,
//! and has no terminal (assert_cmd gives it none).

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use maia_testkit::fake::FakeCluster;
use maia_testkit::served;
use maia_testkit::tools::StandIns;
use serde_json::{Value, json};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workspace")
        .join(name)
}

struct Env {
    runtime: tokio::runtime::Runtime,
    fake: FakeCluster,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    tools: StandIns,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let served::Served {
            runtime,
            fake,
            addr: _,
            kubeconfig,
            tools,
        } = served::serve(dir.path());
        Env {
            runtime,
            fake,
            dir,
            kubeconfig,
            tools,
        }
    }

    fn maia(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("maia").unwrap();
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .env("PATH", self.tools.path())
            .current_dir(self.dir.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.maia(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `maia ARGS` on a pseudo-terminal (util-linux `script`), typing `input`;
    /// what the terminal showed, or `None` where `script` is not installed.
    fn on_a_terminal(&self, args: &str, input: &str) -> Option<String> {
        use std::io::Write;
        let maia = assert_cmd::cargo::cargo_bin("maia");
        let mut child = std::process::Command::new("script")
            .args(["-qec", &format!("{} {args}", maia.display()), "/dev/null"])
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .env("PATH", self.tools.path())
            .current_dir(self.dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        Some(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    fn form(&self, group: &str) -> PathBuf {
        self.form_on(group, &group.to_lowercase().replace('_', "-"))
    }

    fn form_on(&self, group: &str, sub: &str) -> PathBuf {
        let text = format!(
            "group_ID: {group}\ngroup_subdomain: {sub}\nusers:\n  - alice@example.org\nresources_limits:\n  memory: [\"4G\", \"8G\"]\n  cpu: [2.0, 4.0]\n",
        );
        let path = self.dir.path().join(format!("{group}.yaml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `maia namespace VERB` of the group's form with the nginx example cluster.
    fn workspace(&self, verb: &str, group: &str, extra: &[&str]) -> (i32, String, String) {
        self.workspace_of(verb, &self.form(group), "cluster-nginx.yaml", extra)
    }

    fn workspace_of(
        &self,
        verb: &str,
        form: &Path,
        cluster: &str,
        extra: &[&str],
    ) -> (i32, String, String) {
        let cluster = example(cluster);
        let mut args = vec![
            "namespace",
            verb,
            "--namespace-config-file",
            form.to_str().unwrap(),
            "--cluster-config-file",
            cluster.to_str().unwrap(),
            "--skip-kubeflow",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn app(&self, name: &str, config: Value) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, config.to_string()).unwrap();
        path
    }

    fn objects(&self, path: &str) -> Vec<Value> {
        self.runtime.block_on(self.fake.objects(path))
    }

    fn seed(&self, object: Value) {
        self.runtime.block_on(self.fake.seed(object));
    }

    fn names(&self, path: &str) -> Vec<String> {
        self.objects(path)
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The app config of the workspace's own MySQL, as `MAIA_deploy_helm_chart` takes it.
fn mysql_app(namespace: &str) -> Value {
    json!({
        "namespace": namespace, "chart_name": "mysql-db-v1", "docker_image": "mysql", "tag": "8.0.28",
        "memory_request": "2Gi", "cpu_request": "500m", "deployment": true,
        "ports": {"mysql": [3306]},
        "env_variables": {"MYSQL_ROOT_PASSWORD": "root", "MYSQL_PASSWORD": "pw"},
        "persistent_volume": [{"mountPath": "/var/lib/mysql", "size": "20Gi",
            "access_mode": "ReadWriteMany", "pvc_type": "local-path"}]
    })
}

fn web_app(namespace: &str, name: &str, host: &str, path: &str) -> Value {
    json!({
        "namespace": namespace, "chart_name": name, "docker_image": "nginx", "tag": "1.27",
        "memory_request": "1Gi", "cpu_request": "100m", "deployment": true,
        "ports": {"http": [80]},
        "ingress": {"host": host, "port": 80, "path": path}
    })
}

// ---------------------------------------------------------------------------------
// Item 1: a workspace's own MySQL and MLflow are never an app's.
// ---------------------------------------------------------------------------------

#[test]
fn a_workspaces_mysql_and_mlflow_are_not_apps_for_list_status_delete_plan_or_deploy() {
    let env = Env::new();
    let (code, _, err) = env.workspace("deploy", "Own_Lab", &[]);
    assert_eq!(code, 0, "{err}");
    let claims = "/api/v1/namespaces/own-lab/persistentvolumeclaims";
    let claims_before = env.names(claims);
    assert!(
        claims_before.contains(&"mysql-db-v1-mkg-claim-0".to_string()),
        "{claims_before:?}"
    );

    // A researcher's own app in the workspace's namespace is an app like any other.
    let own = env.app(
        "own.json",
        web_app(
            "own-lab",
            "notebook-v1",
            "notebook.own-lab.example.org",
            "/",
        ),
    );
    let (code, _, err) = env.run(&["app", "deploy", "-f", own.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    for args in [
        &["app", "list", "-n", "own-lab", "-o", "json"][..],
        &["app", "list", "-A", "-o", "json"][..],
    ] {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 0, "{err}");
        let apps: Value = serde_json::from_str(&out).unwrap();
        let names: Vec<&str> = apps
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["notebook-v1"], "{args:?}: {out}");
    }

    for name in ["mysql-db-v1", "mlflow-v1"] {
        let (code, _, err) = env.run(&["app", "status", name, "-n", "own-lab"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("workspace Own_Lab"), "{err}");
        assert!(err.contains("maia namespace status Own_Lab"), "{err}");
    }

    // Deleting the "app" mysql-db-v1 (or one named after the namespace, whose instance
    // label every workspace object carries) is refused: nothing is deleted.
    env.fake.clear_requests();
    for name in ["mysql-db-v1", "own-lab", "mlflow-v1"] {
        let (code, _, err) = env.run(&[
            "app",
            "delete",
            name,
            "-n",
            "own-lab",
            "--delete-volumes",
            "--yes",
        ]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains("workspace Own_Lab"), "{err}");
        assert!(err.contains("maia namespace delete"), "{err}");
    }
    assert_eq!(env.fake.writes(), [], "a refused delete wrote");
    assert_eq!(env.names(claims), claims_before);

    // Deploying (or planning) an app config of that chart_name is refused before any
    // write, also with --force-conflicts.
    let mysql = env.app("mysql.json", mysql_app("own-lab"));
    for verb in ["plan", "deploy"] {
        for extra in [&[][..], &["--force-conflicts"][..]] {
            let mut args = vec!["app", verb, "-f", mysql.to_str().unwrap()];
            args.extend_from_slice(extra);
            let (code, out, err) = env.run(&args);
            assert_eq!(code, 2, "{verb} {extra:?}: {out}{err}");
            assert!(
                err.contains("deployment/mysql-db-v1-mkg") && err.contains("workspace Own_Lab"),
                "{err}"
            );
            assert!(err.contains("chart_name"), "{err}");
        }
    }
    assert_eq!(env.fake.writes(), [], "a refused deploy wrote");
    let mysql_env = &env
        .objects("/apis/apps/v1/namespaces/own-lab/deployments")
        .into_iter()
        .find(|d| d["metadata"]["name"] == "mysql-db-v1-mkg")
        .unwrap()["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        mysql_env.to_string().contains("secretKeyRef"),
        "{mysql_env}"
    );

    // The researcher's own app is still theirs to delete.
    let (code, _, err) = env.run(&["app", "delete", "notebook-v1", "-n", "own-lab", "--yes"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn an_object_the_workspace_inventory_lists_stays_the_workspaces_without_its_labels() {
    let env = Env::new();
    let (code, _, err) = env.workspace("deploy", "Inv_Lab", &[]);
    assert_eq!(code, 0, "{err}");
    // Someone strips the workspace labels off MLflow's Service: the inventory still
    // lists it, so an app of that chart_name may not take it.
    let backend = env.fake.backend();
    env.runtime.block_on(async {
        let patch = json!({"metadata": {"labels": {
            "app.kubernetes.io/part-of": null, "app.kubernetes.io/component": null}}});
        let request = http::Request::patch("/api/v1/namespaces/inv-lab/services/mlflow-v1-mkg")
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string().into_bytes())
            .unwrap();
        let patched: Value =
            serde_json::from_str(&backend.request_text(request).await.unwrap()).unwrap();
        assert!(
            patched["metadata"]["labels"]
                .get("app.kubernetes.io/part-of")
                .is_none(),
            "{patched}"
        );
    });
    let (code, out, err) = env.run(&["app", "list", "-n", "inv-lab", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "[]", "{out}");
    let (code, _, err) = env.run(&["app", "delete", "mlflow-v1", "-n", "inv-lab", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("workspace Inv_Lab"), "{err}");
    assert!(
        env.names("/api/v1/namespaces/inv-lab/services")
            .contains(&"mlflow-v1-mkg".to_string())
    );
}

// ---------------------------------------------------------------------------------
// Item 3: deletes without a terminal need --yes.
// ---------------------------------------------------------------------------------

#[test]
fn deletes_without_a_terminal_and_without_yes_are_refused_and_delete_nothing() {
    let env = Env::new();
    let (code, _, err) = env.workspace("deploy", "Tty_Lab", &[]);
    assert_eq!(code, 0, "{err}");
    let app = env.app(
        "app.json",
        web_app("tty-lab", "viewer-v1", "viewer.tty-lab.example.org", "/"),
    );
    let (code, _, err) = env.run(&["app", "deploy", "-f", app.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    env.fake.clear_requests();
    for args in [
        &["namespace", "delete", "Tty_Lab"][..],
        &["namespace", "delete", "Tty_Lab", "--delete-data"][..],
        &["app", "delete", "viewer-v1", "-n", "tty-lab"][..],
        &[
            "app",
            "delete",
            "viewer-v1",
            "-n",
            "tty-lab",
            "--delete-volumes",
        ][..],
    ] {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains("no terminal"), "{err}");
        assert!(err.contains("--yes"), "{err}");
        assert!(err.contains("nothing was deleted"), "{err}");
    }
    assert_eq!(env.fake.writes(), [], "a refused delete wrote");
    assert!(
        env.tools
            .log("helm.log")
            .iter()
            .all(|l| !l.starts_with("uninstall"))
    );

    // On a terminal (a pseudo-terminal from `script`), --delete-data asks, naming the
    // researchers' app and every volume that would go; "n" deletes nothing.
    if let Some(asked) = env.on_a_terminal("namespace delete Tty_Lab --delete-data", "n\n") {
        assert!(
            asked.contains("the researchers' own apps and volumes there too"),
            "{asked}"
        );
        assert!(asked.contains("researchers' apps: viewer-v1"), "{asked}");
        assert!(asked.contains("mysql-db-v1-mkg-claim-0"), "{asked}");
        assert!(asked.contains("nothing deleted"), "{asked}");
        assert_eq!(env.fake.writes(), [], "answering no wrote");
    }

    let (code, _, err) = env.run(&["app", "delete", "viewer-v1", "-n", "tty-lab", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = env.run(&["namespace", "delete", "Tty_Lab", "--yes"]);
    assert_eq!(code, 0, "{err}");
}

// ---------------------------------------------------------------------------------
// Item 7: another namespace's hosts are not taken.
// ---------------------------------------------------------------------------------

#[test]
fn an_app_on_another_groups_host_is_refused_before_any_write() {
    let env = Env::new();
    let (code, _, err) = env.workspace("deploy", "Brain_MRI", &[]);
    assert_eq!(code, 0, "{err}");
    // What the JupyterHub chart creates on a real cluster (the helm stand-in creates
    // nothing): the hub on the group's host, from its root.
    env.seed(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "jupyterhub", "namespace": "brain-mri"},
        "spec": {"rules": [{"host": "brain-mri.maia.example.org", "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "proxy-public", "port": {"name": "http"}}}}]}}]}
    }));
    env.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}));

    let thief = env.app(
        "thief.json",
        web_app(
            "demo",
            "login-v1",
            "brain-mri.maia.example.org",
            "/hub/login",
        ),
    );
    env.fake.clear_requests();
    for verb in ["plan", "deploy"] {
        let (code, out, err) = env.run(&["app", verb, "-f", thief.to_str().unwrap()]);
        assert_eq!(code, 2, "{verb}: {out}{err}");
        assert!(err.contains("brain-mri.maia.example.org"), "{err}");
        assert!(err.contains("namespace brain-mri"), "{err}");
        assert!(err.contains("ingress/jupyterhub"), "{err}");
    }
    assert_eq!(env.fake.writes(), [], "a refused deploy wrote");

    // Two apps in different namespaces: the second may not take the first's host.
    env.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}));
    let first = env.app(
        "first.json",
        web_app("demo", "site-v1", "site.example.org", "/"),
    );
    let (code, _, err) = env.run(&["app", "deploy", "-f", first.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let second = env.app(
        "second.json",
        web_app("other", "site-v1", "site.example.org", "/api"),
    );
    let (code, _, err) = env.run(&["app", "deploy", "-f", second.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("site.example.org") && err.contains("namespace demo"),
        "{err}"
    );
    // The same app deployed again in its own namespace is no conflict with itself.
    let (code, _, err) = env.run(&["app", "deploy", "-f", first.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_workspace_whose_host_another_namespace_serves_is_refused_in_preflight() {
    let env = Env::new();
    env.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "squatter"}}));
    env.seed(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "grab", "namespace": "squatter"},
        "spec": {"rules": [{"host": "host-lab.maia.example.org", "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "x", "port": {"number": 80}}}}]}}]}
    }));
    for verb in ["plan", "deploy"] {
        env.fake.clear_requests();
        let (code, out, err) = env.workspace(verb, "Host_Lab", &[]);
        assert_eq!(code, 2, "{verb}: {out}{err}");
        assert!(
            err.contains("host-lab.maia.example.org")
                && err.contains("namespace squatter")
                && err.contains("ingress/grab"),
            "{err}"
        );
        assert_eq!(env.fake.writes(), [], "{verb} wrote");
    }
}

// ---------------------------------------------------------------------------------
// Item 8: a namespace or helm release maia did not make is not taken over.
// ---------------------------------------------------------------------------------

#[test]
fn a_namespace_maia_did_not_create_is_adopted_only_when_asked() {
    let env = Env::new();
    env.seed(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "adopt-lab", "labels": {"team": "someone-else"}}}));
    for verb in ["plan", "deploy"] {
        env.fake.clear_requests();
        let (code, out, err) = env.workspace(verb, "Adopt_Lab", &[]);
        assert_eq!(code, 2, "{verb}: {out}{err}");
        assert!(
            err.contains("namespace adopt-lab exists and was not created by maia"),
            "{err}"
        );
        assert!(err.contains("--adopt-namespace"), "{err}");
        assert_eq!(env.fake.writes(), [], "{verb} wrote");
    }
    // --force-conflicts takes fields over from other managers; it adopts no namespace.
    let (code, _, err) = env.workspace("deploy", "Adopt_Lab", &["--force-conflicts"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--adopt-namespace"), "{err}");
    let (code, _, err) = env.workspace("deploy", "Adopt_Lab", &["--adopt-namespace"]);
    assert_eq!(code, 0, "{err}");
    let labels = &env.fake.namespace_object("adopt-lab").unwrap()["metadata"]["labels"];
    assert_eq!(
        labels["app.kubernetes.io/part-of"], "maia-workspace",
        "{labels}"
    );
    // Adopted once, it is maia's: the next deploy needs no flag.
    let (code, _, err) = env.workspace("deploy", "Adopt_Lab", &[]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = env.run(&["namespace", "deploy", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--adopt-namespace"), "{out}");
}

#[test]
fn a_helm_release_of_another_chart_is_not_upgraded() {
    let env = Env::new();
    // Someone else's release named as the workspace's OAuth2 proxy, in its namespace.
    let state = env.tools.dir.join("state/helm-lab");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("oauth2-proxy.chart"),
        "keycloak-gatekeeper-3.3.1\n",
    )
    .unwrap();
    std::fs::write(state.join("oauth2-proxy.values"), "{}\n").unwrap();
    for verb in ["plan", "deploy"] {
        env.fake.clear_requests();
        let (code, out, err) = env.workspace(verb, "Helm_Lab", &[]);
        assert_eq!(code, 2, "{verb}: {out}{err}");
        assert!(
            err.contains("helm release oauth2-proxy in namespace helm-lab")
                && err.contains("keycloak-gatekeeper"),
            "{err}"
        );
        assert_eq!(env.fake.writes(), [], "{verb} wrote");
    }
    assert!(
        env.tools.log("upgrades.log").is_empty(),
        "{:?}",
        env.tools.log("upgrades.log")
    );
}

#[test]
fn a_second_group_on_the_first_ones_subdomain_is_refused_and_subpath_groups_share_the_domain() {
    let env = Env::new();
    let (code, _, err) = env.workspace("deploy", "First_Lab", &[]);
    assert_eq!(code, 0, "{err}");
    // Another group claiming the same group_subdomain would serve the first one's host.
    let same = env.form_on("Second_Lab", "first-lab");
    let (code, out, err) = env.workspace_of("deploy", &same, "cluster-nginx.yaml", &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("host first-lab.maia.example.org") && err.contains("namespace first-lab"),
        "{err}"
    );

    // Subpath groups share the cluster's domain by design, each under its own prefixes,
    // and the cluster's landing page at its root takes nothing from them.
    env.seed(
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "longhorn"}, "provisioner": "driver.longhorn.io"}),
    );
    env.seed(
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": "traefik"}, "spec": {"controller": "traefik.io/ingress-controller"}}),
    );
    env.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "portal"}}));
    env.seed(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "landing", "namespace": "portal"},
        "spec": {"rules": [{"host": "maia.example.org", "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "portal", "port": {"number": 80}}}}]}}]}
    }));
    for group in ["Sub_One", "Sub_Two"] {
        let form = env.form(group);
        let (code, out, err) = env.workspace_of("deploy", &form, "cluster-traefik.yaml", &[]);
        assert_eq!(code, 0, "{group}: {out}{err}");
    }
}
