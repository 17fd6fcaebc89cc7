//! `maia namespace deploy | plan | status | list | delete` end to end: the binary
//! against the in-memory API server on 127.0.0.1 (with recording helm/kubectl/git
//! stand-ins on PATH), or against a real cluster when `MAIA_E2E_KUBECONFIG` names a
//! kubeconfig (then the real helm and kubectl on PATH are used; see the README).
//! Every assertion reads the cluster through maia's own commands, so both targets
//! run the same scenarios.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use maia_testkit::fake::FakeCluster;
use maia_testkit::served;
use serde_json::Value;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workspace")
        .join(name)
}

/// The cluster under test: the loopback fake (default) or a real one.
struct Env {
    _runtime: Option<tokio::runtime::Runtime>,
    fake: Option<FakeCluster>,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    path: std::ffi::OsString,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        if let Some(real) = std::env::var_os("MAIA_E2E_KUBECONFIG") {
            return Env {
                _runtime: None,
                fake: None,
                kubeconfig: PathBuf::from(real),
                path: std::env::var_os("PATH").unwrap_or_default(),
                dir,
            };
        }
        let served::Served {
            runtime,
            fake,
            kubeconfig,
            tools,
            ..
        } = served::serve(dir.path());
        let path = tools.path();
        Env {
            _runtime: Some(runtime),
            fake: Some(fake),
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

    /// A group form: the example's, with `group_ID`/`users` changed as asked.
    fn form(&self, name: &str, group: &str, users: &[&str]) -> PathBuf {
        let text = format!(
            "group_ID: {group}\ngroup_subdomain: {sub}\nusers:\n{users}resources_limits:\n  memory: [\"4G\", \"8G\"]\n  cpu: [2.0, 4.0]\n",
            sub = group.to_lowercase().replace('_', "-"),
            users = users
                .iter()
                .map(|u| format!("  - {u}\n"))
                .collect::<String>()
        );
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn deploy_args(form: &Path) -> Vec<String> {
        vec![
            "--namespace-config-file".into(),
            form.display().to_string(),
            "--cluster-config-file".into(),
            example("cluster-nginx.yaml").display().to_string(),
            "--skip-kubeflow".into(),
        ]
    }

    fn run(&self, verb: &str, form: &Path, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["namespace".to_string(), verb.to_string()];
        args.extend(Self::deploy_args(form));
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.maia(&refs).output().unwrap()
    }

    fn status(&self, group: &str) -> Value {
        let out = self
            .maia(&["namespace", "status", group, "-o", "json"])
            .output()
            .unwrap();
        // 0 ready, 1 not ready yet (the fake runs no workloads): both show it.
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ports(status: &Value) -> Vec<u64> {
    status["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["ssh_port"].as_u64())
        .collect()
}

#[test]
fn deploy_plan_status_and_delete_a_workspace() {
    let env = Env::new();
    let form = env.form(
        "group.yaml",
        "E2e_Brain",
        &["alice@example.org", "bob@example.org"],
    );

    let first = env.run("deploy", &form, &[]);
    assert!(first.status.success(), "{}", text(&first));
    let out = text(&first);
    assert!(
        out.contains("deployed: hub https://e2e-brain.maia.example.org/"),
        "{out}"
    );
    assert!(
        out.contains("helm release jupyterhub-e2e-brain installed"),
        "{out}"
    );
    // No secret from the cluster config reaches the terminal.
    assert!(!out.contains("change-me"), "{out}");

    // Nothing to do the second time: plan says so with exit 0.
    let plan = env.run("plan", &form, &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    if let Some(fake) = &env.fake {
        fake.clear_requests();
        let again = env.run("deploy", &form, &[]);
        assert!(again.status.success(), "{}", text(&again));
        assert_eq!(fake.object_writes(), [], "a second deploy writes nothing");
    }

    // A member added: plan shows their Services and the JupyterHub values, exit 1.
    let more = env.form(
        "group2.yaml",
        "E2e_Brain",
        &["alice@example.org", "bob@example.org", "carol@example.org"],
    );
    let plan = env.run("plan", &more, &[]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let shown = text(&plan);
    assert!(
        shown.contains("carol-40example-2eorg-ssh  create"),
        "{shown}"
    );
    assert!(
        shown.contains("~ helm jupyterhub-e2e-brain  upgrade"),
        "{shown}"
    );
    assert!(!shown.contains("change-me"), "{shown}");
    // The members' guard learns the new member's server and home.
    assert!(
        shown.contains("~ validatingadmissionpolicy/maia-workspace-guard-e2e-brain  update"),
        "{shown}"
    );
    assert!(
        // The plan on stdout closes with it (stderr names the cluster).
        String::from_utf8_lossy(&plan.stdout)
            .trim_end()
            // The quota, the workspace record (its members) and the guard change.
            .ends_with("Plan: 3 to create, 3 to change, 0 to prune, 54 unchanged. Charts: 0 to install, 1 to upgrade."),
        "{shown}"
    );

    let status = env.status("E2e_Brain");
    assert_eq!(status["namespace"], "e2e-brain");
    // One row per component, named as the bundle names them.
    let components: Vec<&str> = status["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["component"].as_str().unwrap())
        .collect();
    for wanted in [
        "label_studio",
        "orthanc_ohif",
        "oauth2_proxy",
        "jupyterhub",
        "minio",
    ] {
        assert_eq!(
            components.iter().filter(|c| **c == wanted).count(),
            1,
            "{wanted} in {components:?}"
        );
    }
    assert!(
        !components.iter().any(|c| c.contains('-')),
        "{components:?}"
    );
    assert_eq!(ports(&status).len(), 2);
    let list = env.maia(&["namespace", "list"]).output().unwrap();
    assert!(text(&list).contains("E2e_Brain"), "{}", text(&list));

    let gone = env
        .maia(&["namespace", "delete", "e2e-brain", "--delete-data", "--yes"])
        .output()
        .unwrap();
    assert!(gone.status.success(), "{}", text(&gone));
    let list = env
        .maia(&["namespace", "list", "-o", "json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["group_id"] == "E2e_Brain"),
        "{list}"
    );
}

#[test]
fn two_groups_deployed_at_once_get_distinct_ssh_ports() {
    let env = Env::new();
    let a = env.form("a.yaml", "E2e_A", &["alice@example.org", "bob@example.org"]);
    let b = env.form("b.yaml", "E2e_B", &["carol@example.org", "dan@example.org"]);
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| env.run("deploy", &a, &[]));
        let y = s.spawn(|| env.run("deploy", &b, &[]));
        (x.join().unwrap(), y.join().unwrap())
    });
    assert!(x.status.success(), "{}", text(&x));
    assert!(y.status.success(), "{}", text(&y));
    let mut all = ports(&env.status("E2e_A"));
    all.extend(ports(&env.status("E2e_B")));
    let unique: std::collections::BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), 4);
    assert_eq!(unique.len(), 4, "ports collide: {all:?}");
    for group in ["E2e_A", "E2e_B"] {
        let out = env
            .maia(&["namespace", "delete", group, "--delete-data", "--yes"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
}

#[test]
fn preflight_problems_are_listed_and_nothing_is_written() {
    let env = Env::new();
    let Some(fake) = env.fake.as_ref() else {
        return; // needs a cluster without the storage class named below
    };
    let form = env.form("group.yaml", "E2e_Pre", &["alice@example.org"]);
    let cluster = std::fs::read_to_string(example("cluster-nginx.yaml"))
        .unwrap()
        .replace("storage_class: local-path", "storage_class: fast-ssd");
    let cluster_file = env.dir.path().join("cluster.yaml");
    std::fs::write(&cluster_file, cluster).unwrap();
    let out = env
        .maia(&[
            "namespace",
            "deploy",
            "--namespace-config-file",
            form.to_str().unwrap(),
            "--cluster-config-file",
            cluster_file.to_str().unwrap(),
            "--skip-kubeflow",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains(
            "preflight: the cluster config's storage_class names storage class \"fast-ssd\""
        ),
        "{shown}"
    );
    assert!(shown.contains("nothing was changed"), "{shown}");
    assert_eq!(fake.writes(), []);

    // A group whose namespace is the cluster's own is refused by validation, exit 2.
    let system = env.form("system.yaml", "Kube_System", &["alice@example.org"]);
    let out = env.run("deploy", &system, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("reserved for the cluster"),
        "{}",
        text(&out)
    );
    assert_eq!(fake.writes(), []);
}

/// Two groups are two tenants: each namespace has its quota and policies (status shows
/// them); on a real cluster whose CNI enforces NetworkPolicy, a pod of group A cannot
/// open group B's MySQL or MinIO, while it still reaches its own group's MySQL.
#[test]
fn two_groups_are_isolated_from_each_other() {
    let env = Env::new();
    let a = env.form("a.yaml", "E2e_Iso_A", &["alice@example.org"]);
    let b = env.form("b.yaml", "E2e_Iso_B", &["carol@example.org"]);
    // On a real cluster, wait until the probe's targets run.
    let wait: &[&str] = if env.fake.is_none() {
        &["--wait", "--timeout", "20m"]
    } else {
        &[]
    };
    for form in [&a, &b] {
        let out = env.run("deploy", form, wait);
        assert!(out.status.success(), "{}", text(&out));
    }
    for group in ["E2e_Iso_A", "E2e_Iso_B"] {
        let status = env.status(group);
        let components: Vec<&str> = status["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["component"].as_str().unwrap())
            .collect();
        assert!(components.contains(&"tenancy"), "{components:?}");
        let quota: Vec<&str> = status["quota"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["resource"].as_str().unwrap())
            .collect();
        for resource in ["requests.cpu", "requests.memory", "requests.nvidia.com/gpu"] {
            assert!(quota.contains(&resource), "{group}: {quota:?}");
        }
    }
    if env.fake.is_none() {
        // A probe pod in A: B's MySQL and MinIO are closed, A's own MySQL is open.
        let probe = |target: &str, port: &str| {
            std::process::Command::new("kubectl")
                .env("KUBECONFIG", &env.kubeconfig)
                .args([
                    "-n",
                    "e2e-iso-a",
                    "run",
                    "maia-probe",
                    "--rm",
                    "-i",
                    "--restart=Never",
                ])
                .args([
                    "--image=busybox:1.36",
                    "--",
                    "nc",
                    "-z",
                    "-w",
                    "5",
                    target,
                    port,
                ])
                .status()
                .unwrap()
                .success()
        };
        assert!(probe("mysql-db-v1-mkg.e2e-iso-a.svc.cluster.local", "3306"));
        assert!(!probe(
            "mysql-db-v1-mkg.e2e-iso-b.svc.cluster.local",
            "3306"
        ));
        assert!(!probe("minio.e2e-iso-b.svc.cluster.local", "80"));
    }
    for group in ["E2e_Iso_A", "E2e_Iso_B"] {
        let out = env
            .maia(&["namespace", "delete", group, "--delete-data", "--yes"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
}

/// Secret hygiene: no generated or configured secret reaches stdout or stderr of any
/// workspace command, in any output format, nor the command line of any program maia
/// runs (helm, kubectl and git stand-ins log their argv). Fake cluster only: the
/// stand-ins' logs are the witness.
#[test]
fn no_secret_reaches_a_terminal_or_a_command_line() {
    use base64::Engine as _;
    let env = Env::new();
    let Some(fake) = &env.fake else {
        return;
    };
    let form = env.form("h.yaml", "E2e_Hygiene", &["alice@example.org"]);
    let folder = env.dir.path().join("bundle");
    let folder_arg = folder.display().to_string();
    let mut outputs = Vec::new();
    let mut run = |out: std::process::Output| {
        outputs.push(text(&out));
        out
    };
    for extra in [
        &[][..],
        &["-o", "json"],
        &["--config-folder", &folder_arg],
        &["--skip-helm"],
    ] {
        run(env.run("deploy", &form, extra));
    }
    for extra in [&[][..], &["-o", "json"]] {
        run(env.run("plan", &form, extra));
    }
    for format in ["text", "json", "yaml"] {
        run(env
            .maia(&["namespace", "status", "E2e_Hygiene", "-o", format])
            .output()
            .unwrap());
        run(env
            .maia(&["namespace", "list", "-o", format])
            .output()
            .unwrap());
    }
    // What must never show: every value maia generated (kept in the cluster) and the
    // cluster config's registry password and Keycloak client secret.
    let runtime = env._runtime.as_ref().unwrap();
    let kept = runtime
        .block_on(fake.objects("/api/v1/namespaces/maia-system/secrets"))
        .into_iter()
        .find(|s| s["metadata"]["name"] == "maia-credentials-e2e-hygiene")
        .expect("credentials kept in the cluster");
    let mut secrets: Vec<String> = kept["data"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| !key.contains("port") && !key.ends_with("access_key"))
        .map(|(_, v)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .filter(|s| s.len() >= 8)
        .collect();
    assert!(secrets.len() >= 5, "{secrets:?}");
    secrets.extend([
        "change-me-registry-password".to_string(),
        "change-me-keycloak-client-secret".to_string(),
    ]);
    // One run must have done real work with the secrets, or the test proves nothing.
    assert!(
        outputs.iter().any(|o| o.contains("created")),
        "{outputs:#?}"
    );
    let bin = env.dir.path().join("bin");
    let argv: Vec<String> = ["helm.log", "kubectl.log", "git.log"]
        .iter()
        .map(|log| std::fs::read_to_string(bin.join(log)).unwrap_or_default())
        .collect();
    assert!(
        argv[0].contains("upgrade --install"),
        "helm ran: {}",
        argv[0]
    );
    for secret in &secrets {
        for (i, out) in outputs.iter().enumerate() {
            assert!(
                !out.contains(secret.as_str()),
                "output {i} shows a secret:\n{out}"
            );
        }
        for log in &argv {
            assert!(
                !log.contains(secret.as_str()),
                "a command line holds a secret:\n{log}"
            );
        }
    }
}

impl Env {
    /// `maia fleet VERB --forms DIR --cluster-config-file <example> …`.
    fn fleet(&self, verb: &str, forms: &Path, extra: &[&str]) -> std::process::Output {
        let mut args = vec![
            "fleet".to_string(),
            verb.to_string(),
            "--forms".into(),
            forms.display().to_string(),
            "--cluster-config-file".into(),
            example("cluster-nginx.yaml").display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.maia(&refs).output().unwrap()
    }

    /// A folder of group forms.
    fn forms(&self, folder: &str, groups: &[(&str, &[&str])]) -> PathBuf {
        let dir = self.dir.path().join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for (group, users) in groups {
            let form = self.form(&format!("{group}.yaml"), group, users);
            std::fs::rename(&form, dir.join(format!("{group}.yaml"))).unwrap();
        }
        dir
    }
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

/// `maia fleet plan | deploy | status` over a folder of forms: a few groups at a time,
/// a line per group as it ends, a table, and exit codes that say whether every group
/// converged; one bad form does not stop the others.
#[test]
fn a_fleet_is_planned_deployed_and_observed_group_by_group() {
    let env = Env::new();
    let forms = env.forms(
        "forms",
        &[
            ("Fleet_A", &["alice@example.org"]),
            ("Fleet_B", &["bob@example.org", "carol@example.org"]),
            ("Fleet_C", &["dan@example.org"]),
        ],
    );
    let plan = env.fleet("plan", &forms, &["--skip-kubeflow", "-o", "json"]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let v = json_of(&plan);
    assert_eq!(v["groups"].as_array().unwrap().len(), 3);
    for g in v["groups"].as_array().unwrap() {
        assert_eq!(g["changes"], true, "{g:#}");
        assert!(g["plan"]["create"].as_u64().unwrap() > 20, "{g:#}");
    }

    let deploy = env.fleet("deploy", &forms, &["--skip-kubeflow", "--concurrency", "2"]);
    let out = text(&deploy);
    assert_eq!(deploy.status.code(), Some(0), "{out}");
    // A line per group on stderr as it ends, then the table and the totals.
    let stderr = String::from_utf8_lossy(&deploy.stderr);
    for group in ["Fleet_A", "Fleet_B", "Fleet_C"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("deployed") && l.contains(group)),
            "{stderr}"
        );
    }
    let stdout = String::from_utf8_lossy(&deploy.stdout);
    assert!(stdout.starts_with("GROUP"), "{stdout}");
    assert!(
        stdout.contains("3 group(s): 3 deployed, 0 failed"),
        "{stdout}"
    );
    assert!(!out.contains("change-me"), "{out}");

    // Converged: nothing to plan, and the users of all three groups hold distinct ports.
    let plan = env.fleet("plan", &forms, &["--skip-kubeflow"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let mut all_ports = Vec::new();
    for group in ["Fleet_A", "Fleet_B", "Fleet_C"] {
        all_ports.extend(ports(&env.status(group)));
    }
    all_ports.sort_unstable();
    all_ports.dedup();
    assert_eq!(all_ports.len(), 4, "{all_ports:?}");

    // Status: every group found, by form or by the cluster's own list.
    let status = env.fleet("status", &forms, &["-o", "json"]);
    let v = json_of(&status);
    assert_eq!(v["totals"]["groups"], 3, "{v:#}");
    for g in v["groups"].as_array().unwrap() {
        assert_ne!(g["status"], "absent", "{g:#}");
        assert!(g["workspace"]["components"].as_array().unwrap().len() > 5);
    }
    let ready = v["totals"]["ready"].as_u64().unwrap();
    assert_eq!(status.status.code(), Some(if ready == 3 { 0 } else { 1 }));
    let all = env.maia(&["fleet", "status"]).output().unwrap();
    let listed = String::from_utf8_lossy(&all.stdout);
    for group in ["Fleet_A", "Fleet_B", "Fleet_C"] {
        assert!(listed.contains(group), "{listed}");
    }

    // A bad form and a new group: the bad one is named, the new one deployed.
    let forms = env.forms("forms", &[("Fleet_D", &["erin@example.org"])]);
    std::fs::write(forms.join("broken.yaml"), "group_ID: Fleet_E\nusers: 7\n").unwrap();
    let deploy = env.fleet("deploy", &forms, &["--skip-kubeflow", "-o", "json"]);
    assert_eq!(deploy.status.code(), Some(2), "{}", text(&deploy));
    let v = json_of(&deploy);
    let by_form = |name: &str| {
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["form"].as_str().unwrap().ends_with(name))
            .cloned()
            .unwrap()
    };
    assert_eq!(by_form("Fleet_D.yaml")["status"], "deployed");
    assert_eq!(by_form("Fleet_A.yaml")["objects"]["created"], 0);
    let broken = by_form("broken.yaml");
    assert_eq!(broken["status"], "error");
    assert_eq!(
        broken["error"]["diagnostics"][0]["path"], "users",
        "{broken:#}"
    );
    assert!(String::from_utf8_lossy(&deploy.stderr).contains("broken.yaml"));

    // A group no longer deployed shows as absent, and status says not all are ready.
    let gone = env
        .maia(&["namespace", "delete", "Fleet_D", "--yes"])
        .output()
        .unwrap();
    assert!(gone.status.success(), "{}", text(&gone));
    std::fs::remove_file(forms.join("broken.yaml")).unwrap();
    let status = env.fleet("status", &forms, &["-o", "json"]);
    assert_eq!(status.status.code(), Some(1));
    let v = json_of(&status);
    let d = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group_ID"] == "Fleet_D")
        .unwrap();
    assert_eq!(d["status"], "absent", "{d:#}");
}

/// The GitOps hand-over: `fleet render --gitops argocd` writes the tree, and
/// `fleet deploy --secrets-only` applies only what the tree leaves out: each group's
/// Namespace and Secrets, with the credentials of the config folder. What Argo CD
/// would apply is still to create; a second run changes nothing.
#[test]
fn secrets_only_applies_what_the_gitops_tree_leaves_out() {
    let env = Env::new();
    let forms = env.forms(
        "forms",
        &[
            ("Ops_A", &["alice@example.org"]),
            ("Ops_B", &["bob@example.org"]),
        ],
    );
    let folder = env.dir.path().join("out");
    let folder_arg = folder.display().to_string();
    let render = env
        .maia(&[
            "fleet",
            "render",
            "--forms",
            &forms.display().to_string(),
            "--cluster-config-file",
            &example("cluster-nginx.yaml").display().to_string(),
            "--config-folder",
            &folder_arg,
            "--gitops",
            "argocd",
            "--repo-url",
            "https://git.example.org/maia/fleet.git",
        ])
        .output()
        .unwrap();
    assert!(render.status.success(), "{}", text(&render));
    assert!(folder.join("gitops/Ops_A/application.yaml").is_file());

    let args = ["--config-folder", folder_arg.as_str(), "--secrets-only"];
    let deploy = env.fleet("deploy", &forms, &[&args[..], &["-o", "json"]].concat());
    assert_eq!(deploy.status.code(), Some(0), "{}", text(&deploy));
    let v = json_of(&deploy);
    assert_eq!(v["secrets_only"], true);
    for g in v["groups"].as_array().unwrap() {
        assert_eq!(g["status"], "deployed", "{g:#}");
        assert!(g["objects"]["created"].as_u64().unwrap() >= 3, "{g:#}");
    }
    assert!(!text(&deploy).contains("change-me"));

    // The Secrets hold the config folder's credentials: a plan of the whole workspace
    // finds them unchanged and nothing generated, and the rest still to create.
    let plan = env.run(
        "plan",
        &forms.join("Ops_A.yaml"),
        &["--config-folder", &folder_arg, "-o", "json"],
    );
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let v = json_of(&plan);
    assert_eq!(v["new_credentials"], serde_json::json!([]), "{v:#}");
    let steps = v["objects"]["steps"].as_array().unwrap();
    for s in steps {
        let kind = s["object"]["kind"].as_str().unwrap_or_default();
        let action = s["change"]["action"].as_str().unwrap_or_default();
        if kind == "Secret" || kind == "Namespace" {
            assert_eq!(action, "unchanged", "{s:#}");
        }
        if kind == "Deployment" {
            assert_eq!(action, "create", "{s:#}");
        }
    }
    if let Some(fake) = &env.fake {
        fake.clear_requests();
        let again = env.fleet("deploy", &forms, &args);
        assert!(again.status.success(), "{}", text(&again));
        assert_eq!(
            fake.object_writes(),
            [],
            "a second --secrets-only writes nothing"
        );
    }
}

#[test]
fn a_render_for_a_deployed_group_takes_its_credentials_and_ports_from_the_cluster() {
    use maia_deploy::workspace::folder::read_credentials;
    let env = Env::new();
    let form = env.form(
        "group.yaml",
        "E2e_Render",
        &["alice@example.org", "bob@example.org"],
    );
    let deployed = env.dir.path().join("deployed");
    let out = env.run(
        "deploy",
        &form,
        &["--config-folder", deployed.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let kept = read_credentials(&deployed.join("E2e_Render"))
        .unwrap()
        .unwrap();
    let live_ports = ports(&env.status("E2e_Render"));
    assert_eq!(live_ports.len(), 2);

    let render = |folder: &str, extra: &[&str]| {
        let mut args = vec![
            "namespace",
            "render",
            "--namespace-config-file",
            form.to_str().unwrap(),
            "--cluster-config-file",
        ];
        let cluster = example("cluster-nginx.yaml");
        let cluster = cluster.to_str().unwrap().to_string();
        let mut args: Vec<String> = args.drain(..).map(str::to_string).collect();
        args.push(cluster);
        args.push("--config-folder".into());
        args.push(folder.into());
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        env.maia(&refs).output().unwrap()
    };

    // Into a new folder without a cluster: new passwords, and maia says so loudly.
    let offline = render("offline", &[]);
    assert!(offline.status.success(), "{}", text(&offline));
    let said = String::from_utf8_lossy(&offline.stderr);
    assert!(said.contains("NEW workspace"), "{said}");
    let dir = env.dir.path().join("offline/E2e_Render");
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("this bundle is for a NEW workspace"),
        "{summary}"
    );
    let drawn = read_credentials(&dir).unwrap().unwrap();
    assert_ne!(
        drawn.credentials.0.get("minio.secret_key"),
        kept.credentials.0.get("minio.secret_key")
    );

    // With the cluster: its credentials and its members' ports, no warning.
    let kubeconfig = env.kubeconfig.to_str().unwrap().to_string();
    let online = render("online", &["--kubeconfig", &kubeconfig]);
    assert!(online.status.success(), "{}", text(&online));
    assert!(
        !text(&online).contains("NEW workspace"),
        "{}",
        text(&online)
    );
    let dir = env.dir.path().join("online/E2e_Render");
    let taken = read_credentials(&dir).unwrap().unwrap();
    assert_eq!(taken.credentials, kept.credentials);
    let mut ports_taken: Vec<u64> = taken.ssh_ports.0.values().map(|p| u64::from(*p)).collect();
    let mut live = live_ports.clone();
    ports_taken.sort();
    live.sort();
    assert_eq!(ports_taken, live);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(!summary.contains("NEW workspace"), "{summary}");
    // The bundle is the deployed one: the very files the deploy wrote.
    fn files(dir: &Path, under: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, under, out);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.strip_prefix(under).unwrap().to_path_buf(), text));
            }
        }
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    files(
        &deployed.join("E2e_Render"),
        &deployed.join("E2e_Render"),
        &mut a,
    );
    files(&dir, &dir, &mut b);
    a.sort();
    b.sort();
    assert!(a.len() > 5);
    assert_eq!(a, b);

    // The toolkit's entry point likewise (the cluster of KUBECONFIG with --from-cluster).
    let mut compat = Command::cargo_bin("MAIA_create_JupyterHub_config").unwrap();
    let out = compat
        .args([
            "--form",
            form.to_str().unwrap(),
            "--cluster-config-file",
            example("cluster-nginx.yaml").to_str().unwrap(),
            "--config-folder",
            "compat",
            "--from-cluster",
        ])
        .env("KUBECONFIG", &env.kubeconfig)
        .env("HOME", env.dir.path())
        .env("PATH", &env.path)
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let compat = read_credentials(&env.dir.path().join("compat/E2e_Render"))
        .unwrap()
        .unwrap();
    assert_eq!(compat.credentials, kept.credentials);
}

#[test]
fn plan_names_what_rolls_when_a_configured_secret_is_rotated() {
    let env = Env::new();
    let form = env.form("group.yaml", "E2e_Rotate", &["alice@example.org"]);
    // A first plan: the configured secrets are not "to generate".
    let plan = env.run("plan", &form, &[]);
    let shown = text(&plan);
    assert!(shown.contains("to generate"), "{shown}");
    assert!(!shown.contains("keycloak.client_secret"), "{shown}");
    assert!(!shown.contains("registry.password"), "{shown}");
    let out = env.run("deploy", &form, &[]);
    assert!(out.status.success(), "{}", text(&out));

    // The Keycloak client secret and the registry password are rotated.
    let rotated = env.dir.path().join("cluster-rotated.yaml");
    let config = std::fs::read_to_string(example("cluster-nginx.yaml"))
        .unwrap()
        .replace("change-me-keycloak-client-secret", "rotated-client-secret")
        .replace("change-me-registry-password", "rotated-registry-password");
    std::fs::write(&rotated, config).unwrap();
    let args = |verb: &str| {
        vec![
            "namespace".to_string(),
            verb.into(),
            "--namespace-config-file".into(),
            form.display().to_string(),
            "--cluster-config-file".into(),
            rotated.display().to_string(),
            "--skip-kubeflow".into(),
        ]
    };
    let plan_args = args("plan");
    let refs: Vec<&str> = plan_args.iter().map(String::as_str).collect();
    let plan = env.maia(&refs).output().unwrap();
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let shown = text(&plan);
    assert!(
        shown.contains(
            "~ rolls helm release oauth2-proxy (proxy pods) because secret/oauth2-proxy-credentials changed"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "~ rolls helm release jupyterhub-e2e-rotate (hub pods) because secret/jupyterhub-oauth changed"
        ),
        "{shown}"
    );
    assert!(!shown.contains("to generate"), "{shown}");
    assert!(
        !shown.contains("rotated-"),
        "no secret in the plan: {shown}"
    );
    let deploy_args = args("deploy");
    let refs: Vec<&str> = deploy_args.iter().map(String::as_str).collect();
    let out = env.maia(&refs).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("rolled helm release oauth2-proxy (proxy pods)"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_lost_credentials_secret_is_recovered_or_the_deploy_stops_with_exit_2() {
    let env = Env::new();
    let Some(fake) = &env.fake else {
        return; // Deleting maia's state on a real cluster is not this suite's to do.
    };
    let runtime = env._runtime.as_ref().unwrap();
    let form = env.form("group.yaml", "E2e_Lost", &["alice@example.org"]);
    let out = env.run("deploy", &form, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let store = "/api/v1/namespaces/maia-system/secrets/maia-credentials-e2e-lost";
    runtime.block_on(fake.remove(store));

    // The plan says what it recovers, and the deploy keeps it again.
    let plan = env.run("plan", &form, &[]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    assert!(
        text(&plan).contains("missing from maia's store, recovered from the workspace's Secrets"),
        "{}",
        text(&plan)
    );
    assert!(!text(&plan).contains("to generate"), "{}", text(&plan));
    let out = env.run("deploy", &form, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("recovered from the workspace's Secrets"),
        "{}",
        text(&out)
    );
    let plan = env.run("plan", &form, &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    // Lost everywhere (MySQL's Secret too): exit 2 before any write, saying how.
    runtime.block_on(fake.remove(store));
    let mysql = runtime
        .block_on(fake.objects("/api/v1/namespaces/e2e-lost/secrets"))
        .into_iter()
        .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_string))
        .find(|n| n.starts_with("mysql"))
        .unwrap();
    runtime.block_on(fake.remove(&format!("/api/v1/namespaces/e2e-lost/secrets/{mysql}")));
    fake.clear_requests();
    let out = env.run("deploy", &form, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("workspace E2e_Lost already exists"), "{said}");
    assert!(said.contains("mysql."), "{said}");
    assert!(
        said.contains("restore secret/maia-credentials-e2e-lost"),
        "{said}"
    );
    assert_eq!(fake.writes(), [], "nothing was written");
}

/// namespace deploy, plan and delete first say which cluster they talk to (context and
/// API server URL), on stderr; with -o json, stderr does not carry it.
#[test]
fn deploy_plan_and_delete_first_name_the_context_and_cluster() {
    let env = Env::new();
    if env.fake.is_none() {
        return; // a real cluster's names are not known here
    }
    let kubeconfig = std::fs::read_to_string(&env.kubeconfig).unwrap();
    let url = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap();
    let named = format!("context fake, cluster {url}");
    let first = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let form = env.form("group.yaml", "Named_Ctx", &["alice@example.org"]);

    let plan = env.run("plan", &form, &[]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    assert_eq!(first(&plan), named, "{}", text(&plan));
    let deploy = env.run("deploy", &form, &[]);
    assert!(deploy.status.success(), "{}", text(&deploy));
    assert_eq!(first(&deploy), named, "{}", text(&deploy));

    let json = env.run("plan", &form, &["-o", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let err = String::from_utf8_lossy(&json.stderr);
    assert!(!err.contains(&named), "{err}");
    serde_json::from_slice::<Value>(&json.stdout).unwrap();

    let delete = env
        .maia(&["namespace", "delete", "Named_Ctx", "--yes"])
        .output()
        .unwrap();
    assert!(delete.status.success(), "{}", text(&delete));
    assert_eq!(first(&delete), named, "{}", text(&delete));
}

/// plan and deploy say when the preflight has passed, before anything changes (stderr,
/// after the cluster's line; not with -o json); a failed preflight does not say it.
#[test]
fn plan_and_deploy_say_the_preflight_passed() {
    let env = Env::new();
    let form = env.form("group.yaml", "Pre_Ok", &["alice@example.org"]);
    let passed = "preflight passed for workspace Pre_Ok (namespace pre-ok)";
    let lines = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for verb in ["plan", "deploy"] {
        let out = env.run(verb, &form, &[]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
        let err = lines(&out);
        assert_eq!(
            err.get(1).map(String::as_str),
            Some(passed),
            "{verb}: {err:?}"
        );
        let json = env.run(verb, &form, &["-o", "json"]);
        assert!(matches!(json.status.code(), Some(0 | 1)), "{}", text(&json));
        assert!(!text(&json).contains("preflight passed"), "{}", text(&json));
    }

    if env.fake.is_none() {
        return; // needs a cluster without the storage class named below
    }
    let cluster = std::fs::read_to_string(example("cluster-nginx.yaml"))
        .unwrap()
        .replace("storage_class: local-path", "storage_class: fast-ssd");
    let cluster_file = env.dir.path().join("cluster.yaml");
    std::fs::write(&cluster_file, cluster).unwrap();
    for verb in ["plan", "deploy"] {
        let out = env
            .maia(&[
                "namespace",
                verb,
                "--namespace-config-file",
                form.to_str().unwrap(),
                "--cluster-config-file",
                cluster_file.to_str().unwrap(),
                "--skip-kubeflow",
            ])
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "{}", text(&out));
        assert!(text(&out).contains("fast-ssd"), "{}", text(&out));
        assert!(!text(&out).contains("preflight passed"), "{}", text(&out));
    }
}

/// -q (--quiet) leaves the unchanged objects and charts out of a workspace's plan and
/// deploy; the summary still counts them and the deploy still ends with the workspace.
#[test]
fn quiet_hides_the_unchanged_lines_of_a_workspace_plan_and_deploy() {
    let env = Env::new();
    let form = env.form("group.yaml", "Quiet_Lab", &["alice@example.org"]);
    let first = env.run("deploy", &form, &[]);
    assert!(first.status.success(), "{}", text(&first));

    let again = env.run("deploy", &form, &[]);
    assert!(again.status.success(), "{}", text(&again));
    let full = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(full.lines().any(|l| l.ends_with(" unchanged")), "{full}");
    let quiet = env.run("deploy", &form, &["-q"]);
    assert!(quiet.status.success(), "{}", text(&quiet));
    let out = String::from_utf8_lossy(&quiet.stdout);
    assert!(!out.lines().any(|l| l.ends_with(" unchanged")), "{out}");
    assert!(out.contains("deployed: hub https://quiet-lab."), "{out}");

    let plan = env.run("plan", &form, &["--quiet"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let out = String::from_utf8_lossy(&plan.stdout);
    assert!(!out.contains("  = "), "{out}");
    assert!(out.starts_with("Plan for workspace Quiet_Lab"), "{out}");
    assert!(
        out.contains(" to create, 0 to change, 0 to prune, "),
        "{out}"
    );
    let full = env.run("plan", &form, &[]);
    assert!(
        String::from_utf8_lossy(&full.stdout).contains("  = helm jupyterhub-quiet-lab  unchanged"),
        "{}",
        text(&full)
    );
}

/// A deploy ends with what the admin sends the group: every URL of the workspace and
/// each member's SSH command, the same `namespace status` shows.
#[test]
fn deploy_ends_with_every_url_and_each_members_ssh_command() {
    let env = Env::new();
    let form = env.form(
        "group.yaml",
        "Hand_Over",
        &["alice@example.org", "bob@example.org"],
    );
    let out = env.run("deploy", &form, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let tail = stdout
        .split_once("deployed: hub ")
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("{stdout}"));
    let status = env.status("Hand_Over");
    let urls: Vec<&str> = status["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["urls"].as_array().unwrap())
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(urls.len() > 1, "{status}");
    for url in urls {
        assert!(tail.contains(url), "{url} missing from\n{tail}");
    }
    let users = status["users"].as_array().unwrap();
    assert_eq!(users.len(), 2, "{status}");
    for u in users {
        let email = u["email"].as_str().unwrap();
        let ssh = u["ssh_command"].as_str().unwrap();
        assert!(
            tail.lines().any(|l| l.contains(email) && l.contains(ssh)),
            "{email}: {ssh} missing from\n{tail}"
        );
    }
    // -o json is the events alone.
    let json = env.run("deploy", &form, &["-o", "json"]);
    assert!(json.status.success(), "{}", text(&json));
    for line in String::from_utf8_lossy(&json.stdout).lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
}

/// `maia fleet render --from-cluster` takes each deployed group's credentials and
/// members' ports from the cluster, as `namespace render --from-cluster` does; a group
/// not deployed yet gets ports no deployed group holds.
#[test]
fn a_fleet_render_from_the_cluster_matches_the_deployed_groups() {
    use maia_deploy::workspace::folder::read_credentials;
    let env = Env::new();
    let forms = env.forms(
        "forms",
        &[
            ("Fr_Late_A", &["alice@example.org", "bob@example.org"]),
            ("Fr_Late_B", &["carol@example.org"]),
        ],
    );
    let deployed = env.dir.path().join("deployed");
    let mut live_ports = Vec::new();
    for group in ["Fr_Late_A", "Fr_Late_B"] {
        let form = forms.join(format!("{group}.yaml"));
        let out = env.run(
            "deploy",
            &form,
            &["--config-folder", deployed.to_str().unwrap()],
        );
        assert!(out.status.success(), "{}", text(&out));
        live_ports.extend(ports(&env.status(group)));
    }
    // A group not deployed yet, rendered first (its ID sorts first).
    let early = env.form("Fr_Early.yaml", "Fr_Early", &["dan@example.org"]);
    std::fs::rename(&early, forms.join("Fr_Early.yaml")).unwrap();

    // Without a cluster: new credentials, and maia says so.
    let offline = env.fleet("render", &forms, &["--config-folder", "offline"]);
    assert!(offline.status.success(), "{}", text(&offline));
    let said = String::from_utf8_lossy(&offline.stderr);
    assert!(said.contains("NEW workspaces"), "{said}");
    let kept = read_credentials(&deployed.join("Fr_Late_A"))
        .unwrap()
        .unwrap();
    let drawn = read_credentials(&env.dir.path().join("offline/Fr_Late_A"))
        .unwrap()
        .unwrap();
    assert_ne!(
        drawn.credentials.0.get("minio.secret_key"),
        kept.credentials.0.get("minio.secret_key")
    );

    // From the cluster (KUBECONFIG's): the deployed groups' credentials and ports.
    let online = env.fleet(
        "render",
        &forms,
        &["--config-folder", "online", "--from-cluster"],
    );
    assert!(online.status.success(), "{}", text(&online));
    assert!(
        !text(&online).contains("NEW workspace"),
        "{}",
        text(&online)
    );
    let mut rendered_ports = Vec::new();
    for group in ["Fr_Late_A", "Fr_Late_B"] {
        let kept = read_credentials(&deployed.join(group)).unwrap().unwrap();
        let taken = read_credentials(&env.dir.path().join("online").join(group))
            .unwrap()
            .unwrap();
        assert_eq!(taken.credentials, kept.credentials, "{group}");
        assert_eq!(taken.ssh_ports, kept.ssh_ports, "{group}");
        rendered_ports.extend(taken.ssh_ports.0.values().map(|p| u64::from(*p)));
    }
    rendered_ports.sort_unstable();
    live_ports.sort_unstable();
    assert_eq!(rendered_ports, live_ports);
    let early = read_credentials(&env.dir.path().join("online/Fr_Early"))
        .unwrap()
        .unwrap();
    let port = u64::from(early.ssh_ports.0["dan@example.org"]);
    assert!(
        !live_ports.contains(&port),
        "{port} is held: {live_ports:?}"
    );
}

/// `--dry-run`, as kubectl's: each object checked by the API server, nothing stored;
/// for a workspace that does not exist yet, exit 2 before anything is sent.
#[test]
fn a_dry_run_checks_every_object_and_changes_nothing() {
    let env = Env::new();
    let form = env.form("group.yaml", "Dry_Lab", &["alice@example.org"]);
    let refused = env.run("deploy", &form, &["--dry-run"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("namespace plan"),
        "{}",
        text(&refused)
    );
    let first = env.run("deploy", &form, &[]);
    assert!(first.status.success(), "{}", text(&first));

    let form = env.form(
        "group.yaml",
        "Dry_Lab",
        &["alice@example.org", "bob@example.org"],
    );
    let dry = env.run("deploy", &form, &["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        out.lines()
            .any(|l| l.contains("bob") && l.ends_with(" created (dry run)")),
        "{out}"
    );
    assert!(out.contains("dry run, nothing was changed"), "{out}");
    assert!(!out.contains("deployed: hub"), "{out}");
    // The change is still to be made.
    let plan = env.run("plan", &form, &[]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
}

/// What a delete's output says it deleted (or would have): its object and helm
/// release lines (not its closing line), with any " (dry run)" taken off, sorted.
fn deleted_lines(out: &std::process::Output, dry_run: bool) -> Vec<String> {
    let suffix = if dry_run { " (dry run)" } else { "" };
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(suffix))
        .filter(|l| !l.starts_with("workspace "))
        .filter(|l| l.ends_with(" deleted") || l.ends_with(" uninstalled"))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn a_delete_dry_run_names_what_the_delete_then_removes_and_removes_nothing() {
    let env = Env::new();
    let form = env.form("group.yaml", "Del_Dry", &["alice@example.org"]);
    let first = env.run("deploy", &form, &[]);
    assert!(first.status.success(), "{}", text(&first));
    let listed = |group: &str| {
        let out = env
            .maia(&["namespace", "list", "-o", "json"])
            .output()
            .unwrap();
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .any(|w| w["group_id"] == group)
    };
    if let Some(fake) = &env.fake {
        fake.clear_requests();
    }

    // Without --delete-data: the volumes, namespace and credentials are not named.
    let dry = env
        .maia(&["namespace", "delete", "Del_Dry", "--dry-run"])
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", text(&dry));
    let kept = deleted_lines(&dry, true);
    assert!(!kept.is_empty(), "{}", text(&dry));
    assert!(
        kept.iter().all(|l| !l.starts_with("persistentvolumeclaim/")
            && !l.starts_with("namespace/")
            && !l.starts_with("secret/maia-credentials-")),
        "{kept:?}"
    );

    // With --delete-data: no question is asked (no terminal, no --yes), exit 0.
    let dry = env
        .maia(&[
            "namespace",
            "delete",
            "Del_Dry",
            "--delete-data",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", text(&dry));
    let shown = String::from_utf8_lossy(&dry.stdout);
    let would = deleted_lines(&dry, true);
    assert!(
        shown.contains(&format!(
            "workspace Del_Dry (namespace del-dry): dry run, nothing was deleted; {} object(s) and 3 helm release(s) would be",
            would.len() - 3
        )),
        "{shown}"
    );
    for wanted in [
        "namespace/del-dry deleted",
        "secret/maia-credentials-del-dry deleted",
        "helm release jupyterhub-del-dry uninstalled",
    ] {
        assert!(would.iter().any(|l| l == wanted), "{wanted} in {would:?}");
    }
    assert!(
        would
            .iter()
            .any(|l| l.starts_with("persistentvolumeclaim/")),
        "{would:?}"
    );
    assert!(
        text(&dry).contains("namespace del-dry would go with everything in it"),
        "{}",
        text(&dry)
    );
    assert!(listed("Del_Dry"), "a dry run deleted the workspace");
    if let Some(fake) = &env.fake {
        assert!(
            fake.writes()
                .iter()
                .all(|w| !w.path.starts_with("/apis/coordination.k8s.io/")),
            "a dry run took a Lease: {:?}",
            fake.writes()
        );
        assert!(fake.namespaces().contains("del-dry"));
    }

    // The delete then removes exactly what the dry run named: had the dry run removed
    // an object or uninstalled a release, the delete would not find it again.
    let gone = env
        .maia(&["namespace", "delete", "Del_Dry", "--delete-data", "--yes"])
        .output()
        .unwrap();
    assert!(gone.status.success(), "{}", text(&gone));
    assert_eq!(deleted_lines(&gone, false), would);
    assert!(!listed("Del_Dry"));

    // A group that is not there: the dry run fails as the delete does.
    let real = env
        .maia(&["namespace", "delete", "Del_Dry", "--yes"])
        .output()
        .unwrap();
    let dry = env
        .maia(&["namespace", "delete", "Del_Dry", "--dry-run"])
        .output()
        .unwrap();
    assert_ne!(real.status.code(), Some(0), "{}", text(&real));
    assert_eq!(dry.status.code(), real.status.code(), "{}", text(&dry));
    assert_eq!(
        String::from_utf8_lossy(&dry.stderr),
        String::from_utf8_lossy(&real.stderr)
    );
}

/// With keycloak_admin (the fake Keycloak, per-workspace clients), through the binary:
/// deploy creates the group, the accounts (invited by Keycloak) and the clients; a
/// re-deploy sends Keycloak no write; a member who leaves the form leaves the group
/// only; delete removes the clients and, with --delete-data, the group; no admin or
/// client secret reaches a terminal, a command line or a bundle file other than
/// credentials.yaml. Fake cluster only.
#[test]
fn keycloak_is_kept_by_deploy_and_delete_and_its_secrets_never_shown() {
    use maia_testkit::keycloak::{ADMIN_CLIENT_ID, FakeKeycloak, REALM};
    let env = Env::new();
    if env.fake.is_none() {
        return;
    }
    let kc = FakeKeycloak::start();
    let secret_file = env.dir.path().join("kc-admin.secret");
    std::fs::write(&secret_file, kc.admin_secret()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let cluster = env.dir.path().join("cluster-kc.yaml");
    std::fs::write(
        &cluster,
        format!(
            "{}\nkeycloak_admin:\n  url: {}\n  realm: {REALM}\n  client_id: {ADMIN_CLIENT_ID}\n  client_secret_file: {}\n  per_workspace_clients: true\n",
            std::fs::read_to_string(example("cluster-nginx.yaml")).unwrap(),
            kc.url(),
            secret_file.display()
        ),
    )
    .unwrap();
    let cluster_arg = cluster.display().to_string();
    let folder = env.dir.path().join("kc-bundle");
    let folder_arg = folder.display().to_string();
    let members = ["alice@example.org", "bob@example.org"];
    let form = env.form("kc.yaml", "E2e_Kc", &members);
    let mut outputs = Vec::new();
    let mut deploy = |form: &Path| {
        let args = [
            "namespace",
            "deploy",
            "--namespace-config-file",
            form.to_str().unwrap(),
            "--cluster-config-file",
            &cluster_arg,
            "--skip-kubeflow",
            "--config-folder",
            &folder_arg,
        ];
        let out = env.maia(&args).output().unwrap();
        outputs.push(text(&out));
        out
    };

    let out = deploy(&form);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("keycloak: group MAIA:E2e_Kc created"),
        "{said}"
    );
    assert!(
        said.contains("keycloak: client maia-e2e-kc-hub created"),
        "{said}"
    );
    assert_eq!(kc.members("MAIA:E2e_Kc").unwrap(), members);
    assert_eq!(kc.mails().len(), 2);

    // Again: Keycloak is only read.
    let writes = kc.writes().len();
    let out = deploy(&form);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(kc.writes().len(), writes, "a re-deploy wrote to Keycloak");

    // Bob leaves the form: out of the group, the account stays.
    let form = env.form("kc.yaml", "E2e_Kc", &members[..1]);
    let out = deploy(&form);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("bob@example.org: removed from MAIA:E2e_Kc (the account stays)"));
    assert_eq!(kc.members("MAIA:E2e_Kc").unwrap(), members[..1]);
    assert!(kc.user("bob@example.org").is_some());

    // No secret anywhere it should not be.
    let mut secrets = vec![kc.admin_secret()];
    for s in ["hub", "proxy", "minio"] {
        secrets.push(kc.client_secret(&format!("maia-e2e-kc-{s}")).unwrap());
    }
    let bin = env.dir.path().join("bin");
    let argv: Vec<String> = ["helm.log", "kubectl.log"]
        .iter()
        .map(|log| std::fs::read_to_string(bin.join(log)).unwrap_or_default())
        .collect();
    let mut files = Vec::new();
    let mut pending = vec![folder.join("E2e_Kc")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if !path.ends_with("credentials.yaml") {
                files.push((
                    path.clone(),
                    std::fs::read_to_string(&path).unwrap_or_default(),
                ));
            }
        }
    }
    assert!(files.len() > 5);
    let credentials = std::fs::read_to_string(folder.join("E2e_Kc/credentials.yaml")).unwrap();
    for secret in &secrets[1..] {
        assert!(
            credentials.contains(secret.as_str()),
            "a client secret is not kept"
        );
    }
    for secret in &secrets {
        for out in outputs.iter().chain(&argv) {
            assert!(!out.contains(secret.as_str()), "shown:\n{out}");
        }
        for (path, text) in &files {
            assert!(
                !text.contains(secret.as_str()),
                "{} holds a secret",
                path.display()
            );
        }
    }

    // Status shows Keycloak too: the member has not finished the invitation.
    let out = env
        .maia(&[
            "namespace",
            "status",
            "E2e_Kc",
            "--cluster-config-file",
            &cluster_arg,
        ])
        .output()
        .unwrap();
    let said = text(&out);
    assert!(
        said.contains("Keycloak group MAIA:E2e_Kc: exists"),
        "{said}"
    );
    assert!(
        said.lines()
            .any(|l| l.starts_with("alice@example.org") && l.ends_with("invited")),
        "{said}"
    );
    let out = env
        .maia(&[
            "namespace",
            "status",
            "E2e_Kc",
            "--cluster-config-file",
            &cluster_arg,
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["keycloak"]["members"][0]["state"], "invited");
    assert_eq!(status["keycloak"]["clients"].as_array().unwrap().len(), 3);

    // Delete: the clients go, then with --delete-data the group; accounts stay.
    let out = env
        .maia(&[
            "namespace",
            "delete",
            "E2e_Kc",
            "--yes",
            "--delete-data",
            "--cluster-config-file",
            &cluster_arg,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("keycloak: client maia-e2e-kc-hub deleted"),
        "{}",
        text(&out)
    );
    assert!(
        kc.client_ids()
            .iter()
            .all(|c| !c.starts_with("maia-e2e-kc-"))
    );
    assert!(kc.group_id("MAIA:E2e_Kc").is_none());
    assert!(kc.user("alice@example.org").is_some());
}

/// A role the Keycloak admin client lacks stops a first deploy before anything is
/// written anywhere: exit 1, the role named, no namespace, no Keycloak change.
#[test]
fn a_missing_keycloak_role_stops_a_deploy_before_any_write() {
    use maia_testkit::keycloak::{ADMIN_CLIENT_ID, FakeKeycloak, REALM};
    let env = Env::new();
    let Some(fake) = &env.fake else {
        return;
    };
    let kc = FakeKeycloak::start();
    kc.remove_admin_role("manage-clients");
    let cluster = env.dir.path().join("cluster-kc.yaml");
    std::fs::write(
        &cluster,
        format!(
            "{}\nkeycloak_admin:\n  url: {}\n  realm: {REALM}\n  client_id: {ADMIN_CLIENT_ID}\n  per_workspace_clients: true\n",
            std::fs::read_to_string(example("cluster-nginx.yaml")).unwrap(),
            kc.url(),
        ),
    )
    .unwrap();
    let form = env.form("kc.yaml", "E2e_Kc_Role", &["alice@example.org"]);
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
        .env("MAIA_KEYCLOAK_ADMIN_SECRET", kc.admin_secret())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("lacks the realm-management role manage-clients"),
        "{}",
        text(&out)
    );
    assert_eq!(kc.writes(), []);
    assert!(!fake.namespaces().contains("e2e-kc-role"));
}
