//! `maia namespace render` and the compatibility entry points, end to end: the binary
//! run in a temporary folder on the shipped examples.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine as _;

mod files;
use files::{tree, walk};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workspace")
        .join(name)
}

fn maia() -> Command {
    Command::cargo_bin("maia").unwrap()
}

/// Runs `maia namespace render` and returns (stdout, stderr).
fn render(group: &Path, cluster: &Path, folder: &Path, extra: &[&str]) -> (String, String) {
    let out = maia()
        .args(["namespace", "render", "--namespace-config-file"])
        .arg(group)
        .arg("--cluster-config-file")
        .arg(cluster)
        .arg("--config-folder")
        .arg(folder)
        .args(extra)
        .assert()
        .success();
    let o = out.get_output();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn credentials(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("credentials.yaml")).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

#[test]
fn the_example_renders_a_complete_bundle_and_a_second_run_rewrites_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (stdout, _) = render(
        &example("group.yaml"),
        &example("cluster-nginx.yaml"),
        tmp.path(),
        &[],
    );
    let dir = tmp.path().join("Brain_MRI");
    let first = tree(&dir);
    for f in [
        "deploy.sh",
        "credentials.yaml",
        "summary.md",
        "summary.json",
        "manifests/01-namespace.yaml",
        "manifests/02-tenancy.yaml",
        "manifests/03-oauth2_proxy.yaml",
        "manifests/04-minio.yaml",
        "manifests/05-mysql.yaml",
        "manifests/06-mlflow.yaml",
        "helm/oauth2-proxy.values.yaml",
        "helm/oauth2-proxy.chart.yaml",
    ] {
        assert!(
            first.contains_key(Path::new(f)),
            "{f} missing: {:?}",
            first.keys()
        );
    }
    assert_eq!(first[Path::new("deploy.sh")].1, 0o755);
    assert_eq!(first[Path::new("credentials.yaml")].1, 0o600);
    assert_eq!(first[Path::new("summary.md")].1, 0o644);
    assert!(stdout.contains("deploy.sh"), "{stdout}");

    let deploy = String::from_utf8(first[Path::new("deploy.sh")].0.clone()).unwrap();
    let apply = "kubectl apply --server-side --field-manager=maia -f manifests/01-namespace.yaml";
    let helm = "helm upgrade --install oauth2-proxy oauth2-proxy/oauth2-proxy -n brain-mri --version 7.7.1 --values helm/oauth2-proxy.values.yaml";
    let mlflow = "-f manifests/06-mlflow.yaml";
    assert!(
        deploy.find(apply).unwrap() < deploy.find(helm).unwrap(),
        "{deploy}"
    );
    assert!(
        deploy.find(helm).unwrap() < deploy.find(mlflow).unwrap(),
        "{deploy}"
    );
    assert!(deploy.contains(
        "helm repo add --force-update oauth2-proxy https://oauth2-proxy.github.io/manifests"
    ));

    let summary = String::from_utf8(first[Path::new("summary.md")].0.clone()).unwrap();
    assert!(
        summary.contains("https://brain-mri.maia.example.org/mlflow"),
        "{summary}"
    );
    assert!(
        summary.contains("https://brain-mri.maia.example.org/minio-console"),
        "{summary}"
    );
    assert!(
        summary.contains("`ssh -p 30101 maia-user@ssh.maia.example.org`"),
        "{summary}"
    );
    assert!(
        summary.contains("`bob-2esmith-40example-2eorg`"),
        "{summary}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&first[Path::new("summary.json")].0).unwrap();
    assert_eq!(json["hub_url"], "https://brain-mri.maia.example.org/");
    assert_eq!(json["users"][0]["ssh_port"], 30100);

    let modified = |p: &str| std::fs::metadata(dir.join(p)).unwrap().modified().unwrap();
    let before = modified("credentials.yaml");
    let (stdout, _) = render(
        &example("group.yaml"),
        &example("cluster-nginx.yaml"),
        tmp.path(),
        &[],
    );
    assert_eq!(first, tree(&dir), "the second run changed the bundle");
    // Nothing was rewritten at all.
    assert!(!stdout.contains("wrote"), "{stdout}");
    assert!(
        stdout.contains(&format!("{} file(s)", first.len())),
        "{stdout}"
    );
    assert_eq!(modified("credentials.yaml"), before);
}

#[test]
fn the_traefik_loadbalancer_subpath_example_renders() {
    let tmp = tempfile::tempdir().unwrap();
    render(
        &example("group.yaml"),
        &example("cluster-traefik.yaml"),
        tmp.path(),
        &["--maia-config-file", example("maia.yaml").to_str().unwrap()],
    );
    let dir = tmp.path().join("Brain_MRI");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["hub_url"], "https://maia.example.org/brain-mri-hub/");
    assert_eq!(
        json["users"][0]["ssh_command"],
        "ssh -p 2022 maia-user@ssh.maia.example.org"
    );
    let values = std::fs::read_to_string(dir.join("helm/oauth2-proxy.values.yaml")).unwrap();
    let values: serde_json::Value = yaml_serde::from_str(&values).unwrap();
    assert_eq!(
        values["ingress"]["annotations"]["traefik.ingress.kubernetes.io/router.tls.certresolver"],
        "letsencrypt"
    );
    assert_eq!(values["ingress"]["path"], "/oauth2-brain-mri");
    // Helm reads YAML 1.1, where a plain `yes` is true: the hub's GRANT_SUDO must stay a string.
    let hub = std::fs::read_to_string(dir.join("helm/jupyterhub-brain-mri.values.yaml")).unwrap();
    assert!(
        hub.contains("\"GRANT_SUDO\": \"yes\"") || hub.contains("GRANT_SUDO: \"yes\""),
        "{hub}"
    );
}

#[test]
fn users_keep_their_ports_a_new_user_gets_a_free_one_and_a_removed_user_frees_theirs() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = example("cluster-nginx.yaml");
    let group = tmp.path().join("group.yaml");
    let text = std::fs::read_to_string(example("group.yaml")).unwrap();
    std::fs::write(&group, &text).unwrap();
    let folder = tmp.path().join("out");
    render(&group, &cluster, &folder, &[]);
    let dir = folder.join("Brain_MRI");
    let before = credentials(&dir);
    assert_eq!(before["ssh_ports"]["alice@example.org"], 30100);
    assert_eq!(before["ssh_ports"]["bob.smith@example.org"], 30101);

    // carol joins first: bob keeps 30101, carol gets the lowest free port.
    let with_carol = text.replace(
        "  - bob.smith@example.org\n",
        "  - bob.smith@example.org\n  - carol@example.org\n",
    );
    std::fs::write(&group, &with_carol).unwrap();
    render(&group, &cluster, &folder, &[]);
    let after = credentials(&dir);
    assert_eq!(after["ssh_ports"]["alice@example.org"], 30100);
    assert_eq!(after["ssh_ports"]["bob.smith@example.org"], 30101);
    assert_eq!(after["ssh_ports"]["carol@example.org"], 30102);
    // Nothing else was drawn again.
    assert_eq!(after["credentials"], before["credentials"]);

    // alice leaves: her port is free for the next newcomer; the others keep theirs.
    let without_alice = with_carol.replace("  - alice@example.org\n", "");
    std::fs::write(&group, &without_alice).unwrap();
    render(&group, &cluster, &folder, &[]);
    let after = credentials(&dir);
    assert!(after["ssh_ports"].get("alice@example.org").is_none());
    assert_eq!(after["ssh_ports"]["bob.smith@example.org"], 30101);
    assert_eq!(after["ssh_ports"]["carol@example.org"], 30102);
    let dave = without_alice.replace(
        "  - carol@example.org\n",
        "  - carol@example.org\n  - dave@example.org\n",
    );
    std::fs::write(&group, &dave).unwrap();
    render(&group, &cluster, &folder, &[]);
    assert_eq!(credentials(&dir)["ssh_ports"]["dave@example.org"], 30100);
}

/// Every secret of the bundle: generated ones from credentials.yaml and configured ones.
fn secrets(dir: &Path) -> Vec<String> {
    let creds = credentials(dir);
    let mut out: Vec<String> = creds["credentials"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    out.push("change-me-registry-password".into());
    out.push("change-me-keycloak-client-secret".into());
    out
}

#[test]
fn secrets_appear_only_in_private_files_and_never_on_the_console() {
    for cluster in ["cluster-nginx.yaml", "cluster-traefik.yaml"] {
        let tmp = tempfile::tempdir().unwrap();
        let (stdout, stderr) = render(&example("group.yaml"), &example(cluster), tmp.path(), &[]);
        let dir = tmp.path().join("Brain_MRI");
        let secrets = secrets(&dir);
        assert!(secrets.len() >= 10, "{secrets:?}");
        let b64 = base64::engine::general_purpose::STANDARD;
        for secret in &secrets {
            let encoded = b64.encode(secret);
            assert!(!stdout.contains(secret) && !stderr.contains(secret));
            for (path, (bytes, mode)) in tree(&dir) {
                let text = String::from_utf8_lossy(&bytes);
                if !(text.contains(secret.as_str()) || text.contains(&encoded)) {
                    continue;
                }
                let name = path.to_string_lossy();
                let allowed = name == "credentials.yaml"
                    || (name.starts_with("manifests/") && text.contains("kind: Secret"))
                    || (name.starts_with("helm/") && name.ends_with(".values.yaml"));
                assert!(allowed, "a secret is in {name} ({cluster})");
                assert_eq!(mode, 0o600, "{name} holds a secret but is mode {mode:o}");
            }
        }
    }
}

#[test]
fn minimal_renders_less_and_removes_what_is_no_longer_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let (g, c) = (example("group.yaml"), example("cluster-nginx.yaml"));
    render(&g, &c, tmp.path(), &[]);
    let (stdout, _) = render(&g, &c, tmp.path(), &["--minimal"]);
    let dir = tmp.path().join("Brain_MRI");
    assert!(!dir.join("manifests/04-minio.yaml").exists());
    assert!(!dir.join("helm/oauth2-proxy.values.yaml").exists());
    assert!(stdout.contains("removed"), "{stdout}");
    let deploy = std::fs::read_to_string(dir.join("deploy.sh")).unwrap();
    assert!(
        !deploy.contains("minio") && !deploy.contains("oauth2-proxy"),
        "{deploy}"
    );
    // The credentials of the full install are kept for when it comes back.
    assert!(credentials(&dir)["credentials"]["minio.root_password"].is_string());
}

#[test]
fn bad_input_is_reported_with_file_line_and_field_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = tmp.path().join("cluster.yaml");
    let text = std::fs::read_to_string(example("cluster-nginx.yaml")).unwrap();
    std::fs::write(&cluster, text.replace("[30100, 30199]", "[30199, 30100]")).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("port_range"))
        .unwrap()
        + 1;
    let out = maia()
        .args(["namespace", "render", "--namespace-config-file"])
        .arg(example("group.yaml"))
        .arg("--cluster-config-file")
        .arg(&cluster)
        .arg("--config-folder")
        .arg(tmp.path().join("out"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!(
            "cluster.yaml:{line}:14: port_range[0]: the range starts at 30199"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("hint: write [30100, 30199]"), "{stderr}");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn config_validate_and_schema_cover_the_workspace_files() {
    for (file, kind) in [
        ("group.yaml", "group form"),
        ("cluster-nginx.yaml", "cluster config"),
        ("maia.yaml", "MAIA config"),
    ] {
        let out = maia()
            .args(["config", "validate"])
            .arg(example(file))
            .assert()
            .success();
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(stdout.contains(&format!("valid {kind}")), "{stdout}");
    }
    for (kind, field) in [
        ("group", "group_ID"),
        ("cluster", "keycloack"),
        ("maia", "mysql_image"),
    ] {
        let out = maia().args(["config", "schema", kind]).assert().success();
        let schema: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        assert!(schema["properties"][field].is_object(), "{kind}: {field}");
    }
}

#[test]
fn maia_deploy_maia_namespace_writes_the_bundle_and_the_namespace_script() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = Command::cargo_bin("MAIA_deploy_MAIA_namespace").unwrap();
        cmd.arg("--namespace-config-file")
            .arg(example("group.yaml"))
            .arg("--cluster-config-file")
            .arg(example("cluster-nginx.yaml"))
            .arg("--maia-config-file")
            .arg(example("maia.yaml"))
            .arg("--config-folder")
            .arg(tmp.path())
            .args(extra)
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("HOME", tmp.path());
        cmd.assert()
    };
    // Without --create-script it deploys; with no cluster to talk to it says so.
    let refused = run(&[]).code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(stderr.contains("no cluster to talk to"), "{stderr}");
    assert!(!tmp.path().join("Brain_MRI").exists());
    run(&["--create-script"]).success();
    let script = tmp.path().join("Brain_MRI_namespace.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("Brain_MRI/deploy.sh"), "{text}");
    assert_eq!(
        std::fs::metadata(&script).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert!(tmp.path().join("Brain_MRI/deploy.sh").exists());
    run(&["--create-script", "--minimal"]).success();
    assert!(
        !tmp.path()
            .join("Brain_MRI/manifests/04-minio.yaml")
            .exists()
    );
}

/// The JupyterHub and addons releases come from components rendered on another branch;
/// with them the commands are printed, without them the tool says what is missing.
#[test]
fn maia_create_jupyterhub_and_addons_config_print_install_commands() {
    for (bin, component_file, expected) in [
        (
            "MAIA_create_JupyterHub_config",
            "helm/jupyterhub-brain-mri.values.yaml",
            "helm upgrade --install jupyterhub-brain-mri jupyterhub/jupyterhub -n brain-mri",
        ),
        ("MAIA_create_MAIA_Addons_config", "", "addons"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = Command::cargo_bin(bin)
            .unwrap()
            .arg("--form")
            .arg(example("group.yaml"))
            .arg("--cluster-config-file")
            .arg(example("cluster-nginx.yaml"))
            .arg("--config-folder")
            .arg(tmp.path())
            .assert();
        let o = out.get_output();
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        let dir = tmp.path().join("Brain_MRI");
        assert!(dir.join("credentials.yaml").exists());
        for secret in secrets(&dir) {
            assert!(
                !stdout.contains(&secret) && !stderr.contains(&secret),
                "{bin} printed a secret"
            );
        }
        let rendered = if component_file.is_empty() {
            std::fs::read_dir(dir.join("manifests"))
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().contains("addons"))
                || dir.join("helm/addons.values.yaml").exists()
        } else {
            dir.join(component_file).exists()
        };
        if rendered {
            assert_eq!(o.status.code(), Some(0), "{bin}: {stderr}");
            assert!(stdout.contains(expected), "{bin}: {stdout}");
        } else {
            assert_eq!(o.status.code(), Some(2), "{bin}: {stderr}");
            assert!(
                stderr.contains("this build of maia renders no"),
                "{bin}: {stderr}"
            );
        }
    }
}

#[test]
fn groups_rendered_under_one_folder_never_share_an_ssh_port() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = example("cluster-nginx.yaml");
    let text = std::fs::read_to_string(example("group.yaml")).unwrap();
    let other = tmp.path().join("other.yaml");
    std::fs::write(
        &other,
        text.replace("group_ID: Brain_MRI", "group_ID: Lung_CT")
            .replace("group_subdomain: brain-mri", "group_subdomain: lung-ct")
            .replace("alice@", "carol@"),
    )
    .unwrap();
    let folder = tmp.path().join("out");
    render(&example("group.yaml"), &cluster, &folder, &[]);
    render(&other, &cluster, &folder, &[]);
    let brain = credentials(&folder.join("Brain_MRI"));
    let lung = credentials(&folder.join("Lung_CT"));
    assert_eq!(lung["ssh_ports"]["carol@example.org"], 30102);
    // bob is in both groups: each of his workspaces has its own Service and port.
    assert_eq!(brain["ssh_ports"]["bob.smith@example.org"], 30101);
    assert_eq!(lung["ssh_ports"]["bob.smith@example.org"], 30103);
    // Rendering the first group again moves nobody.
    render(&example("group.yaml"), &cluster, &folder, &[]);
    assert_eq!(credentials(&folder.join("Brain_MRI")), brain);

    // The folder's ledger lists both groups; without it, it is rebuilt from the groups.
    let ledger_path = folder.join(".maia/ssh-ports.json");
    let ledger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ledger_path).unwrap()).unwrap();
    assert_eq!(ledger["groups"]["Lung_CT"], lung["ssh_ports"]);
    assert_eq!(ledger["groups"]["Brain_MRI"], brain["ssh_ports"]);
    std::fs::remove_file(&ledger_path).unwrap();
    let heart = tmp.path().join("heart.yaml");
    std::fs::write(
        &heart,
        text.replace("group_ID: Brain_MRI", "group_ID: Heart")
            .replace("group_subdomain: brain-mri", "group_subdomain: heart")
            .replace("alice@", "dave@")
            .replace("  - bob.smith@example.org\n", ""),
    )
    .unwrap();
    render(&heart, &cluster, &folder, &[]);
    assert_eq!(
        credentials(&folder.join("Heart"))["ssh_ports"]["dave@example.org"],
        30104
    );
}

#[test]
fn lenient_turns_unknown_fields_into_warnings_and_still_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let group = tmp.path().join("group.yaml");
    let text = std::fs::read_to_string(example("group.yaml")).unwrap();
    std::fs::write(&group, format!("{text}argocd_destination: in-cluster\n")).unwrap();
    let folder = tmp.path().join("out");
    let strict = maia()
        .args(["namespace", "render", "--namespace-config-file"])
        .arg(&group)
        .arg("--cluster-config-file")
        .arg(example("cluster-nginx.yaml"))
        .arg("--config-folder")
        .arg(&folder)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&strict.get_output().stderr).into_owned();
    assert!(
        stderr.contains("unknown field \"argocd_destination\""),
        "{stderr}"
    );
    let (_, stderr) = render(
        &group,
        &example("cluster-nginx.yaml"),
        &folder,
        &["--lenient"],
    );
    assert!(
        stderr.contains("warning:") && stderr.contains("argocd_destination"),
        "{stderr}"
    );
    assert!(folder.join("Brain_MRI/deploy.sh").exists());
}

#[test]
fn a_damaged_credentials_file_is_refused_without_showing_its_contents() {
    let tmp = tempfile::tempdir().unwrap();
    let (g, c) = (example("group.yaml"), example("cluster-nginx.yaml"));
    render(&g, &c, tmp.path(), &[]);
    let path = tmp.path().join("Brain_MRI/credentials.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let password = credentials(&tmp.path().join("Brain_MRI"))["credentials"]["mysql.password"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&path, text.replace("ssh_ports:", "ssh_ports: [")).unwrap();
    let out = maia()
        .args(["namespace", "render", "--namespace-config-file"])
        .arg(&g)
        .arg("--cluster-config-file")
        .arg(&c)
        .arg("--config-folder")
        .arg(tmp.path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("credentials.yaml is damaged: it does not parse (line"),
        "{stderr}"
    );
    assert!(stderr.contains("restore it from a backup"), "{stderr}");
    assert!(!stderr.contains(&password), "{stderr}");
    // Nothing was overwritten: the damaged file is still there for the admin to repair.
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("ssh_ports: [")
    );
}

/// Runs the generated deploy.sh against stand-ins for kubectl and helm that record
/// their arguments and check that every file they are given exists.
#[test]
fn deploy_sh_runs_every_step_in_order_with_no_secret_on_a_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    render(
        &example("group.yaml"),
        &example("cluster-nginx.yaml"),
        tmp.path(),
        &[],
    );
    let dir = tmp.path().join("Brain_MRI");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = tmp.path().join("calls.log");
    let fake = format!(
        "#!/usr/bin/env bash\n\
         echo \"$(basename \"$0\") $*\" >> {log}\n\
         prev=\n\
         for a in \"$@\"; do\n\
           if [ \"$prev\" = -f ] || [ \"$prev\" = --values ]; then [ -f \"$a\" ] || {{ echo \"missing $a\" >&2; exit 3; }}; fi\n\
           prev=$a\n\
         done\n",
        log = log.display()
    );
    for tool in ["kubectl", "helm"] {
        let path = bin.join(tool);
        std::fs::write(&path, &fake).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let status = std::process::Command::new(dir.join("deploy.sh"))
        .env("PATH", path)
        .current_dir(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let calls = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    let first = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no call with {needle}:\n{calls}"))
    };
    assert!(first("manifests/01-namespace.yaml") < first("manifests/02-tenancy.yaml"));
    assert!(first("manifests/02-tenancy.yaml") < first("manifests/03-oauth2_proxy.yaml"));
    assert!(first("manifests/03-oauth2_proxy.yaml") < first("upgrade --install oauth2-proxy"));
    assert!(first("upgrade --install oauth2-proxy") < first("manifests/04-minio.yaml"));
    assert!(first("manifests/04-minio.yaml") < first("manifests/06-mlflow.yaml"));
    // maia's own objects are applied server-side; only KubeFlow's remote bases use -k
    // (server-side too).
    for l in lines.iter().filter(|l| l.starts_with("kubectl apply")) {
        assert!(
            l.starts_with("kubectl apply --server-side --field-manager=maia -f manifests/")
                || l.starts_with("kubectl apply --server-side -k github.com/kubeflow/pipelines/"),
            "{l}"
        );
    }
    // The MinIO Operator is checked for before the Tenant is applied.
    assert!(first("get crd tenants.minio.min.io") < first("manifests/04-minio.yaml"));
    for secret in secrets(&dir) {
        assert!(!calls.contains(&secret), "a secret reached a command line");
    }
}

/// The workspace guide's names for the compat entry points work like the toolkit's,
/// and without --config-folder they write under the current directory, as the original.
#[test]
fn the_guides_maiakubegate_names_work_and_write_under_the_current_directory() {
    for (bin, expected) in [
        (
            "MAIAKubeGate_create_jupyterHub_config",
            "helm upgrade --install jupyterhub-brain-mri jupyterhub/jupyterhub -n brain-mri",
        ),
        (
            "MAIAKubeGate_create_MAIA_Addons_config",
            "kubectl apply --server-side --field-manager=maia -f",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = Command::cargo_bin(bin)
            .unwrap()
            .current_dir(tmp.path())
            .arg("--form")
            .arg(example("group.yaml"))
            .arg("--cluster-config-file")
            .arg(example("cluster-nginx.yaml"))
            .assert()
            .success();
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(stdout.contains(expected), "{bin}: {stdout}");
        assert!(
            tmp.path().join("Brain_MRI/credentials.yaml").exists(),
            "{bin}"
        );
        let help = Command::cargo_bin(bin)
            .unwrap()
            .arg("--help")
            .assert()
            .success();
        let help = String::from_utf8_lossy(&help.get_output().stdout).into_owned();
        assert!(help.contains(&format!("Usage: {bin}")), "{help}");
    }
}

/// maia's own files live under `.maia/`, which no group_ID can name: a group called
/// `ssh-ports.json` renders like any other and later renders keep working (issue 9).
/// Two groups mapping to one namespace are refused.
#[test]
fn maias_files_are_out_of_the_groups_way_and_namespace_collisions_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = example("cluster-nginx.yaml");
    let text = std::fs::read_to_string(example("group.yaml")).unwrap();
    let folder = tmp.path().join("out");
    let odd = tmp.path().join("odd.yaml");
    std::fs::write(
        &odd,
        text.replace("group_ID: Brain_MRI", "group_ID: ssh-ports.json")
            .replace("group_subdomain: brain-mri", "group_subdomain: odd"),
    )
    .unwrap();
    render(&odd, &cluster, &folder, &[]);
    render(&example("group.yaml"), &cluster, &folder, &[]);
    render(&odd, &cluster, &folder, &[]);
    assert!(folder.join("ssh-ports.json/credentials.yaml").is_file());
    assert!(folder.join(".maia/ssh-ports.json").is_file());

    for clash in ["brain_mri", "Brain.MRI", "brain-mri"] {
        let other = tmp.path().join("clash.yaml");
        std::fs::write(
            &other,
            text.replace("group_ID: Brain_MRI", &format!("group_ID: {clash}")),
        )
        .unwrap();
        let out = maia()
            .args(["namespace", "render", "--namespace-config-file"])
            .arg(&other)
            .arg("--cluster-config-file")
            .arg(&cluster)
            .arg("--config-folder")
            .arg(&folder)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.contains("maps to namespace brain-mri, which group Brain_MRI"),
            "{clash}: {stderr}"
        );
        assert!(!folder.join(clash).exists());
    }
}

/// A credentials.yaml that lacks a key the bundle needs stops the run, naming the key
/// and the flag that draws it on purpose.
#[test]
fn a_missing_credential_needs_regenerate() {
    let tmp = tempfile::tempdir().unwrap();
    let (g, c) = (example("group.yaml"), example("cluster-nginx.yaml"));
    render(&g, &c, tmp.path(), &[]);
    let path = tmp.path().join("Brain_MRI/credentials.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("mysql.password:"))
        .collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    let run = |extra: &[&str]| {
        maia()
            .args(["namespace", "render", "--namespace-config-file"])
            .arg(&g)
            .arg("--cluster-config-file")
            .arg(&c)
            .arg("--config-folder")
            .arg(tmp.path())
            .args(extra)
            .assert()
    };
    let out = run(&[]).code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("it lacks \"mysql.password\""), "{stderr}");
    assert!(stderr.contains("--regenerate mysql.password"), "{stderr}");
    run(&["--regenerate", "mysql.password"]).success();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("mysql.password:")
    );
}

/// Two renders of two groups into one folder at the same time never hand out the same
/// port, both succeed and leave no temporary file (issue 9: 20 of 20 pairs collided).
#[test]
fn concurrent_renders_into_one_folder_take_turns() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = example("cluster-nginx.yaml");
    let text = std::fs::read_to_string(example("group.yaml")).unwrap();
    let lung = tmp.path().join("lung.yaml");
    std::fs::write(
        &lung,
        text.replace("group_ID: Brain_MRI", "group_ID: Lung_CT")
            .replace("group_subdomain: brain-mri", "group_subdomain: lung-ct"),
    )
    .unwrap();
    let spawn = |form: &Path, folder: &Path| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("maia"))
            .args(["namespace", "render", "--namespace-config-file"])
            .arg(form)
            .arg("--cluster-config-file")
            .arg(&cluster)
            .arg("--config-folder")
            .arg(folder)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    for round in 0..10 {
        let folder = tmp.path().join(format!("out-{round}"));
        let a = spawn(&example("group.yaml"), &folder);
        let b = spawn(&lung, &folder);
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let ports = |group: &str| -> Vec<u64> {
            credentials(&folder.join(group))["ssh_ports"]
                .as_object()
                .unwrap()
                .values()
                .map(|p| p.as_u64().unwrap())
                .collect()
        };
        let (x, y) = (ports("Brain_MRI"), ports("Lung_CT"));
        assert!(
            x.iter().all(|p| !y.contains(p)),
            "round {round}: {x:?} {y:?}"
        );
        let leftovers: Vec<_> = walk(&folder)
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".maia-tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

/// A loopback S3 endpoint serving one object to presigned GETs, for a bounded number
/// of requests; it records the request lines.
fn s3_server(
    body: &'static str,
    max: usize,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max).flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let line = request.lines().next().unwrap_or_default().to_string();
            let signed = line.contains("X-Amz-Signature=")
                && line.contains("X-Amz-Credential=central-reader");
            let found = line.starts_with("GET /envs/brain/environment.yml?");
            log.lock().unwrap().push(line);
            let (status, text) = if signed && found {
                ("200 OK", body)
            } else {
                ("403 Forbidden", "<Error><Code>AccessDenied</Code></Error>")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (addr, seen)
}

/// `minio_env_name` names an environment file in the central MinIO: fetched once with
/// a presigned GET, kept in the bundle (so re-renders are offline and identical),
/// fetched again with --refresh-env; a conda file becomes CONDA_ENV, pip requirements
/// PIP_ENV; a local path works too (issue 8, item 1).
#[test]
fn the_groups_environment_file_is_fetched_once_and_kept_in_the_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let (addr, seen) = s3_server("name: brain\ndependencies:\n  - monai\n", 1);
    let cluster = tmp.path().join("cluster.yaml");
    std::fs::write(
        &cluster,
        std::fs::read_to_string(example("cluster-nginx.yaml")).unwrap()
            + &format!(
                "minio_url: http://{addr}\nminio_access_key: central-reader\nminio_secret_key: central-secret-value\nbucket_name: envs\n"
            ),
    )
    .unwrap();
    let group = tmp.path().join("group.yaml");
    std::fs::write(
        &group,
        std::fs::read_to_string(example("group.yaml")).unwrap()
            + "minio_env_name: brain/environment.yml\n",
    )
    .unwrap();
    let folder = tmp.path().join("out");
    let render = |extra: &[&str]| {
        maia()
            .args(["namespace", "render", "--namespace-config-file"])
            .arg(&group)
            .arg("--cluster-config-file")
            .arg(&cluster)
            .arg("--config-folder")
            .arg(&folder)
            .args(extra)
            .assert()
    };
    let first = render(&[]).success();
    let err = String::from_utf8_lossy(&first.get_output().stderr).into_owned();
    assert!(!err.contains("central-secret-value"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    let dir = folder.join("Brain_MRI");
    let kept = dir.join("env/brain__environment.yml");
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "name: brain\ndependencies:\n  - monai\n"
    );
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let values =
        std::fs::read_to_string(dir.join("helm/jupyterhub-brain-mri.values.yaml")).unwrap();
    assert!(values.contains("CONDA_ENV"), "{values}");
    assert!(!values.contains("PIP_ENV"));

    // The server is gone: the re-render uses the bundle's copy and changes nothing.
    let again = render(&[]).success();
    let out = String::from_utf8_lossy(&again.get_output().stdout).into_owned();
    assert!(!out.contains("wrote"), "{out}");
    // --refresh-env asks the server again (and fails clearly when it cannot).
    let refused = render(&["--refresh-env"]).failure();
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("brain/environment.yml"), "{err}");
    let (addr2, _) = s3_server("monai==1.3\nnumpy\n", 1);
    std::fs::write(
        &cluster,
        std::fs::read_to_string(&cluster)
            .unwrap()
            .replace(&addr.to_string(), &addr2.to_string()),
    )
    .unwrap();
    render(&["--refresh-env"]).success();
    let values =
        std::fs::read_to_string(dir.join("helm/jupyterhub-brain-mri.values.yaml")).unwrap();
    assert!(values.contains("PIP_ENV"), "{values}");

    // A local path next to the form needs no central MinIO.
    std::fs::write(tmp.path().join("local-env.txt"), "scipy\n").unwrap();
    std::fs::write(
        &group,
        std::fs::read_to_string(example("group.yaml")).unwrap() + "minio_env_name: local-env.txt\n",
    )
    .unwrap();
    render(&[]).success();
    assert_eq!(
        std::fs::read_to_string(dir.join("env/local-env.txt")).unwrap(),
        "scipy\n"
    );
    assert!(!kept.exists(), "the old environment file is removed");
}

/// A member's kubeconfig: the admin's API server and CA, none of the admin's
/// credentials, and a Keycloak login through kubelogin into the group's namespace.
#[test]
fn namespace_kubeconfig_gives_members_a_keycloak_login_into_their_namespace() {
    // The group's workspace must be on the cluster (the loopback fake): its namespace
    // is the one maia labelled.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(async {
        let c = maia_testkit::fake::FakeCluster::new(&[]).await;
        c.seed(
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": "brain-mri",
            "labels": {"app.kubernetes.io/managed-by": "maia",
                       "app.kubernetes.io/part-of": "maia-workspace"},
            "annotations": {"maia.cloud/group-id": "Brain_MRI"}}}),
        )
        .await;
        c.serve().await.unwrap()
    });
    let server = format!("http://{addr}");
    // A real certificate, so that the client can be built; it is copied, not used.
    let ca =
        base64::engine::general_purpose::STANDARD.encode(include_str!("tls/server.crt").as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let admin = dir.path().join("admin.kubeconfig");
    std::fs::write(
        &admin,
        format!("apiVersion: v1\nkind: Config\ncurrent-context: prod\n\
         clusters:\n- name: prod\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         contexts:\n- name: prod\n  context:\n    cluster: prod\n    user: admin\n\
         users:\n- name: admin\n  user:\n    token: admin-secret-token\n"),
    )
    .unwrap();
    let out = maia()
        .args([
            "namespace",
            "kubeconfig",
            "Brain_MRI",
            "--cluster-config-file",
        ])
        .arg(example("cluster-nginx.yaml"))
        .arg("--kubeconfig")
        .arg(&admin)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("admin-secret-token"), "{stdout}");
    let config: serde_json::Value = yaml_serde::from_str(&stdout).unwrap();
    assert_eq!(config["clusters"][0]["cluster"]["server"], server.as_str());
    assert_eq!(
        config["clusters"][0]["cluster"]["certificate-authority-data"],
        ca.as_str()
    );
    assert_eq!(config["contexts"][0]["context"]["namespace"], "brain-mri");
    let args = &config["users"][0]["user"]["exec"]["args"];
    assert_eq!(args[0], "oidc-login");
    assert!(
        args.as_array().unwrap().iter().any(|a| a
            .as_str()
            .unwrap()
            .starts_with("--oidc-issuer-url=https://")),
        "{args}"
    );
    assert!(
        args.as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().starts_with("--oidc-client-id="))
    );
    // Without an API server to name: exit 2 with the context's problem.
    let out = maia()
        .args([
            "namespace",
            "kubeconfig",
            "Brain_MRI",
            "--cluster-config-file",
        ])
        .arg(example("cluster-nginx.yaml"))
        .arg("--kubeconfig")
        .arg(&admin)
        .args(["--context", "staging"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
