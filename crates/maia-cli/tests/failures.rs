//! Clear failures of the `maia` binary (issue 16, items 14 and 18): a closed pipe, a
//! missing file, every error of a file at once, what a failing deploy says it wrote,
//! and the hints a workspace admin can follow. Cluster cases run against the
//! in-memory API server on 127.0.0.1.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use assert_cmd::Command;
use maia_testkit::fake::FakeCluster;
use maia_testkit::served;
use serde_json::json;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The fake API server on loopback, a kubeconfig for it, helm/kubectl stand-ins.
struct Env {
    _runtime: tokio::runtime::Runtime,
    fake: FakeCluster,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    path: std::ffi::OsString,
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
        let path = tools.path();
        Env {
            _runtime: runtime,
            fake,
            dir,
            kubeconfig,
            path,
        }
    }

    fn maia(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("maia").unwrap();
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .env("PATH", &self.path)
            .current_dir(self.dir.path());
        cmd
    }

    fn seed(&self, object: serde_json::Value) {
        self._runtime.block_on(self.fake.seed(object));
    }

    /// A namespace as maia labels a workspace's.
    fn seed_workspace(&self, group: &str, namespace: &str) {
        self.seed(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": namespace,
            "labels": {"app.kubernetes.io/managed-by": "maia",
                       "app.kubernetes.io/part-of": "maia-workspace"},
            "annotations": {"maia.cloud/group-id": group}}}),
        );
    }

    fn deploy(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "namespace",
            "deploy",
            "--namespace-config-file",
            example_str("workspace/group.yaml"),
            "--cluster-config-file",
            example_str("workspace/cluster-nginx.yaml"),
            "--skip-kubeflow",
        ];
        args.extend_from_slice(extra);
        self.maia(&args).output().unwrap()
    }
}

fn example_str(name: &str) -> &'static str {
    Box::leak(example(name).display().to_string().into_boxed_str())
}

/// Runs maia with a stdout whose reader is already gone, as `maia … | head` ends.
fn with_closed_stdout(env: &Env, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(assert_cmd::cargo::cargo_bin("maia"))
        .args(args)
        .env("KUBECONFIG", &env.kubeconfig)
        .env("HOME", env.dir.path())
        .env("PATH", &env.path)
        .current_dir(env.dir.path())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let env = Env::new();
    env.seed_workspace("Brain_MRI", "brain-mri");
    let app = example("app/jupyterlab.json");
    let app = app.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["config", "schema", "app"],
        vec!["config", "validate", app],
        vec!["app", "render", "-f", app],
        vec!["namespace", "status", "Brain_MRI"],
        vec!["namespace", "status", "Brain_MRI", "-o", "json"],
        vec!["namespace", "list"],
    ];
    for args in commands {
        // The command's own exit code, as when its output is read (status: 1, the
        // seeded workspace holds nothing).
        let read = env.maia(&args).output().unwrap();
        assert!(!read.stdout.is_empty(), "{args:?} prints something");
        let out = with_closed_stdout(&env, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), read.status.code(), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

#[test]
fn a_config_file_that_does_not_exist_is_named_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["nope.yaml", "nope"] {
        let missing = dir.path().join(name);
        let out = Command::cargo_bin("maia")
            .unwrap()
            .args(["config", "validate"])
            .arg(&missing)
            .output()
            .unwrap();
        let err = text(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("does not exist"), "{err}");
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(!err.contains("cannot tell what kind"), "{err}");
    }
}

#[test]
fn every_error_of_a_file_is_reported_together_with_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    // The README's example: a bad quantity and an unknown field.
    let app = dir.path().join("app.json");
    std::fs::write(
        &app,
        r#"{
  "namespace": "demo",
  "chart_name": "jupyterlab-1-v1",
  "docker_image": "jupyter/base",
  "tag": "latest",
  "memory_request": "4GB",
  "gpu_requst": "1",
  "deployment": true
}"#,
    )
    .unwrap();
    let out = Command::cargo_bin("maia")
        .unwrap()
        .args(["config", "validate"])
        .arg(&app)
        .output()
        .unwrap();
    let err = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("app.json:6:21: memory_request"),
        "the bad quantity is reported too: {err}"
    );
    assert!(err.contains("gpu_requst: unknown field"), "{err}");
    assert!(err.contains("2 errors"), "{err}");

    // A misspelt required key: its absence gets a "did you mean".
    std::fs::write(
        &app,
        r#"{
  "namespace": "demo",
  "chart_nmae": "jupyterlab-1-v1",
  "docker_image": "jupyter/base",
  "tag": "latest"
}"#,
    )
    .unwrap();
    let out = Command::cargo_bin("maia")
        .unwrap()
        .args(["config", "validate"])
        .arg(&app)
        .output()
        .unwrap();
    let err = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("chart_name: required field is missing"),
        "{err}"
    );
    assert!(err.contains("\"chart_nmae\""), "{err}");
    assert!(err.contains("did you mean"), "{err}");
}

#[test]
fn namespace_kubeconfig_of_a_group_not_on_the_cluster_fails_naming_it() {
    let env = Env::new();
    env.seed_workspace("Brain_MRI", "brain-mri");
    let cluster = example("workspace/cluster-nginx.yaml");
    let cluster = cluster.to_str().unwrap();
    let out = env
        .maia(&[
            "namespace",
            "kubeconfig",
            "No_Such_Group",
            "--cluster-config-file",
            cluster,
        ])
        .output()
        .unwrap();
    let err = text(&out);
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "exit {:?}: {err}",
        out.status.code()
    );
    assert!(out.stdout.is_empty(), "no kubeconfig is printed: {err}");
    assert!(err.contains("No_Such_Group"), "{err}");
    // The group that is there still gets its kubeconfig, for its namespace.
    let out = env
        .maia(&[
            "namespace",
            "kubeconfig",
            "Brain_MRI",
            "--cluster-config-file",
            cluster,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let config: serde_json::Value = yaml_serde::from_slice(&out.stdout).unwrap();
    assert_eq!(config["contexts"][0]["context"]["namespace"], "brain-mri");
}

#[test]
fn plan_help_lists_no_deploy_only_flag() {
    for (plan, deploy) in [
        (["namespace", "plan"], ["namespace", "deploy"]),
        (["fleet", "plan"], ["fleet", "deploy"]),
        (["app", "plan"], ["app", "deploy"]),
    ] {
        let help = |args: [&str; 2]| {
            let out = Command::cargo_bin("maia")
                .unwrap()
                .args(args)
                .arg("--help")
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let plan_help = help(plan);
        let deploy_help = help(deploy);
        for flag in ["--wait", "--timeout"] {
            assert!(
                deploy_help.contains(flag),
                "{deploy:?} --help: {deploy_help}"
            );
            assert!(!plan_help.contains(flag), "{plan:?} --help: {plan_help}");
        }
        // And a plan refuses them rather than ignoring them.
        let out = Command::cargo_bin("maia")
            .unwrap()
            .args(plan)
            .arg("--wait")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{plan:?} --wait");
    }
}

/// Whether this process runs as root, whom file modes do not stop.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A config folder the bundle cannot be written to is found before the cluster is
/// changed, not after a successful deploy.
#[test]
fn an_unwritable_config_folder_is_refused_before_the_cluster_is_changed() {
    let env = Env::new();
    // maia's state folder in it is a file: the lock, the ports ledger cannot be
    // written (even by root).
    let folder = env.dir.path().join("out");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join(".maia"), "not a folder").unwrap();
    let out = env.deploy(&["--config-folder", folder.to_str().unwrap()]);
    let said = text(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(said.contains(".maia"), "{said}");
    assert_eq!(env.fake.writes(), [], "the cluster was not changed: {said}");

    // A read-only folder (file modes stop everyone but root).
    if !is_root() {
        use std::os::unix::fs::PermissionsExt;
        let folder = env.dir.path().join("read-only");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
        let out = env.deploy(&["--config-folder", folder.to_str().unwrap()]);
        let said = text(&out);
        assert_ne!(out.status.code(), Some(0), "{said}");
        assert!(said.contains("cannot write the config folder"), "{said}");
        assert_eq!(env.fake.writes(), [], "the cluster was not changed: {said}");
    }
    // A folder that can be written: the deploy goes ahead and writes the bundle.
    let good = env.dir.path().join("good");
    let out = env.deploy(&["--config-folder", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(good.join("Brain_MRI/credentials.yaml").exists());
}

/// A TLS server on 127.0.0.1 presenting the self-signed test certificate; it answers
/// nothing (the client gives up at the handshake).
fn untrusted_tls_server() -> std::net::SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(include_bytes!("tls/server.crt"))
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("tls/server.key")).unwrap();
    let config = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                while conn.is_handshaking() {
                    if conn.complete_io(&mut stream).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// A server whose certificate the kubeconfig's CA did not sign: maia says the
/// certificate is not trusted, names the server and points at the kubeconfig's CA,
/// instead of "cannot reach the API server".
#[test]
fn an_untrusted_server_certificate_is_named_as_such() {
    let addr = untrusted_tls_server();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        FakeCluster::kubeconfig(&format!("https://{addr}"), "tls", "demo"),
    )
    .unwrap();
    let out = Command::cargo_bin("maia")
        .unwrap()
        .args(["namespace", "list", "--kubeconfig"])
        .arg(&kubeconfig)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
    assert!(err.contains("not trusted"), "{err}");
    assert!(err.contains(&format!("https://{addr}")), "{err}");
    assert!(
        err.contains("certificate-authority"),
        "the hint names the CA: {err}"
    );
}

/// A kubeconfig whose user runs an exec credential plugin (a stand-in script).
fn exec_kubeconfig(dir: &Path, server: &str, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let plugin = dir.join("get-token");
    std::fs::write(&plugin, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: exec\n\
             clusters:\n- name: exec\n  cluster:\n    server: {server}\n\
             contexts:\n- name: exec\n  context:\n    cluster: exec\n    user: exec\n\
             users:\n- name: exec\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n      args: [\"--cluster\", \"lab\"]\n      interactiveMode: Never\n      env:\n      - name: PLUGIN_SECRET\n        value: hunter2-do-not-print\n",
            plugin.display()
        ),
    )
    .unwrap();
    kubeconfig
}

/// An exec plugin that hangs is stopped after a bound and named; one that fails is
/// named with its exit status and stderr, and the values of its environment never
/// appear.
#[test]
fn an_exec_credential_plugin_that_hangs_or_fails_is_bounded_and_named() {
    let env = Env::new();
    let server = format!(
        "http://{}",
        std::fs::read_to_string(&env.kubeconfig)
            .unwrap()
            .split("server: http://")
            .nth(1)
            .unwrap()
            .lines()
            .next()
            .unwrap()
    );
    let dir = tempfile::tempdir().unwrap();

    // `exec`: the stopped plugin is the sleeping process itself, none is left behind.
    let hangs = exec_kubeconfig(dir.path(), &server, "exec sleep 300");
    let started = std::time::Instant::now();
    let out = Command::cargo_bin("maia")
        .unwrap()
        .args(["namespace", "list", "--kubeconfig"])
        .arg(&hangs)
        .env("MAIA_EXEC_PLUGIN_TIMEOUT", "2")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = text(&out);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "bounded: {err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("get-token --cluster lab"),
        "the plugin is named: {err}"
    );
    assert!(err.contains("2s"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    let fails = exec_kubeconfig(
        dir.path(),
        &server,
        "echo 'token expired, run login' >&2; exit 3",
    );
    let out = Command::cargo_bin("maia")
        .unwrap()
        .args(["namespace", "list", "--kubeconfig"])
        .arg(&fails)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("get-token --cluster lab"), "{err}");
    assert!(err.contains("token expired, run login"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    // A plugin that works: the command goes through.
    let works = exec_kubeconfig(
        dir.path(),
        &server,
        r#"echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t0k3n"}}'"#,
    );
    let out = Command::cargo_bin("maia")
        .unwrap()
        .args(["namespace", "list", "--kubeconfig"])
        .arg(&works)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// A form `quota` below what the workspace itself requests: render and deploy refuse
/// it (exit 2), naming the field and both numbers, and the cluster is not changed.
#[test]
fn a_form_quota_below_what_the_workspace_needs_is_refused() {
    let env = Env::new();
    let form = env.dir.path().join("group.yaml");
    std::fs::write(
        &form,
        std::fs::read_to_string(example("workspace/group.yaml")).unwrap()
            + "quota:\n  cpu: 1\n  memory: 64Gi\n",
    )
    .unwrap();
    let cluster = example("workspace/cluster-nginx.yaml");
    let out = env
        .maia(&[
            "namespace",
            "render",
            "--namespace-config-file",
            form.to_str().unwrap(),
            "--cluster-config-file",
            cluster.to_str().unwrap(),
            "--config-folder",
            env.dir.path().join("out").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("quota.cpu: 1 is below"), "{said}");
    // Placed at the field, as validation's errors are: the form ends with the quota.
    let lines = std::fs::read_to_string(&form).unwrap().lines().count();
    assert!(
        said.contains(&format!("group.yaml:{}:3: quota.cpu", lines - 1)),
        "{said}"
    );
    assert!(!said.contains("quota.memory"), "memory fits: {said}");
    assert!(!said.contains("bug in maia"), "{said}");
    assert!(!env.dir.path().join("out/Brain_MRI").exists(), "{said}");

    let out = env
        .maia(&[
            "namespace",
            "deploy",
            "--namespace-config-file",
            form.to_str().unwrap(),
            "--cluster-config-file",
            cluster.to_str().unwrap(),
            "--skip-kubeflow",
        ])
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("quota.cpu: 1 is below"), "{said}");
    let writes = env.fake.writes();
    assert!(
        writes
            .iter()
            .all(|w| w.path.contains("/leases") || w.path == "/api/v1/namespaces/maia-system"),
        "nothing of the workspace was written: {writes:?}"
    );
}
