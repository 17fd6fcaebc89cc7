//! The helm/kubectl runner against recording stand-ins: a `#!/bin/sh` script that logs
//! its argv, copies a `-f` values file (content and mode) aside, and answers with
//! canned stdout/stderr/exit status. No network, no real helm or kubectl.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use maia_deploy::DeployError;
use maia_deploy::tools::{
    DeployedRelease, Helm, Kubectl, ToolTarget, find_program, probe, values_differ,
};
use maia_render::workspace::HelmRelease;
use serde_json::json;

/// One script for every stand-in; each test links to it from its own directory, where
/// the script finds its canned answers (`NAME.SUBCOMMAND.out|err|rc`) and writes its
/// log (`NAME.log`, one line of argv per call). Linking rather than writing a script
/// per test keeps an executable from being open for writing while another test's
/// thread forks (which makes exec fail with "text file busy").
const STAND_IN: &str = r#"#!/bin/sh
dir=$(dirname "$0")
name=$(basename "$0")
printf '%s\n' "$*" >> "$dir/$name.log"
prev=""
for arg in "$@"; do
  if [ "$prev" = "-f" ]; then
    printf '%s\n' "$arg" > "$dir/values.path"
    stat -c %a "$arg" > "$dir/values.mode"
    stat -c %a "$(dirname "$arg")" > "$dir/values.dirmode"
    cat "$arg" > "$dir/values.copy"
  fi
  prev=$arg
done
key="$dir/$name.$1"
if [ -f "$key.out" ]; then cat "$key.out"; fi
if [ -f "$key.err" ]; then cat "$key.err" >&2; fi
if [ -f "$key.rc" ]; then exit "$(cat "$key.rc")"; fi
exit 0
"#;

fn stand_in_script() -> &'static Path {
    static SCRIPT: OnceLock<PathBuf> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("maia-tools-stand-in.sh");
        std::fs::write(&path, STAND_IN).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    })
}

/// A directory of stand-ins for one test.
struct StandIns {
    dir: tempfile::TempDir,
}

impl StandIns {
    fn new() -> Self {
        StandIns {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Puts a stand-in called `name` in the directory and returns its path.
    fn program(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if !path.exists() {
            std::os::unix::fs::symlink(stand_in_script(), &path).unwrap();
        }
        path
    }

    /// What `NAME SUBCOMMAND …` prints and how it exits.
    fn answer(&self, name: &str, subcommand: &str, stdout: &str, stderr: &str, rc: i32) {
        let file = |ext: &str| self.dir.path().join(format!("{name}.{subcommand}.{ext}"));
        std::fs::write(file("out"), stdout).unwrap();
        std::fs::write(file("err"), stderr).unwrap();
        std::fs::write(file("rc"), rc.to_string()).unwrap();
    }

    /// Every call of `name`, one argv per call.
    fn calls(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn recorded(&self, what: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(what))
            .unwrap()
            .trim_end()
            .to_string()
    }

    fn path_var(&self) -> OsString {
        std::env::join_paths([Path::new("/nonexistent/bin"), self.dir.path()]).unwrap()
    }

    fn helm(&self, target: ToolTarget) -> Helm {
        Helm::new(self.program("helm"), target)
    }

    fn kubectl(&self, target: ToolTarget) -> Kubectl {
        Kubectl::new(self.program("kubectl"), target)
    }
}

fn target() -> ToolTarget {
    ToolTarget {
        kubeconfig: Some(PathBuf::from("/home/ana/.kube/lab.yaml")),
        context: Some("lab-admin".into()),
    }
}

fn oauth2_proxy() -> HelmRelease {
    HelmRelease {
        release: "oauth2-proxy".into(),
        namespace: "group-a".into(),
        chart: "oauth2-proxy".into(),
        repo_name: "oauth2-proxy".into(),
        repo_url: "https://oauth2-proxy.github.io/manifests".into(),
        version: "7.7.1".into(),
        values: json!({
            "config": {"clientID": "group-a", "clientSecret": "s3cret-value"},
            "extraArgs": ["--provider=oidc", "--skip-provider-button"],
            "replicaCount": 1,
        }),
        footprint: Default::default(),
    }
}

#[tokio::test]
async fn upgrade_adds_the_repo_then_installs_with_values_in_a_private_file() {
    let tools = StandIns::new();
    let helm = tools.helm(target());
    let release = oauth2_proxy();

    helm.upgrade(&release, Some(Duration::from_secs(300)))
        .await
        .unwrap();

    let calls = tools.calls("helm");
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(
        calls[0],
        "repo add --force-update oauth2-proxy https://oauth2-proxy.github.io/manifests"
    );
    let values_path = tools.recorded("values.path");
    assert_eq!(
        calls[1],
        format!(
            "upgrade --install oauth2-proxy oauth2-proxy/oauth2-proxy -n group-a --version 7.7.1 \
             --kubeconfig /home/ana/.kube/lab.yaml --kube-context lab-admin \
             -f {values_path} --wait --timeout 300s"
        )
    );
    for call in &calls {
        assert!(
            !call.contains("s3cret-value"),
            "a secret on a command line: {call}"
        );
    }

    assert_eq!(tools.recorded("values.mode"), "600");
    assert_eq!(tools.recorded("values.dirmode"), "700");
    let written: serde_json::Value = serde_json::from_str(&tools.recorded("values.copy")).unwrap();
    assert_eq!(written, release.values);

    let values_path = Path::new(&values_path);
    assert!(!values_path.exists(), "values file left behind");
    assert!(
        !values_path.parent().unwrap().exists(),
        "values directory left behind"
    );
}

#[tokio::test]
async fn upgrade_without_wait_or_target_passes_neither() {
    let tools = StandIns::new();
    let helm = tools.helm(ToolTarget::default());

    helm.upgrade(&oauth2_proxy(), None).await.unwrap();

    let upgrade = &tools.calls("helm")[1];
    assert!(
        upgrade.starts_with("upgrade --install oauth2-proxy "),
        "{upgrade}"
    );
    for flag in ["--wait", "--timeout", "--kubeconfig", "--kube-context"] {
        assert!(!upgrade.contains(flag), "{flag} in {upgrade}");
    }
}

#[tokio::test]
async fn a_failed_upgrade_names_the_command_carries_stderr_and_removes_the_values() {
    let tools = StandIns::new();
    tools.answer(
        "helm",
        "upgrade",
        "",
        "Error: UPGRADE FAILED: context deadline exceeded\n",
        1,
    );
    let helm = tools.helm(target());

    let err = helm.upgrade(&oauth2_proxy(), None).await.unwrap_err();

    match &err {
        DeployError::ToolFailed {
            tool,
            command,
            status,
            stderr,
        } => {
            assert_eq!(*tool, "helm");
            assert_eq!(command, "helm upgrade --install oauth2-proxy");
            assert_eq!(status, "exit status 1");
            assert_eq!(stderr, "Error: UPGRADE FAILED: context deadline exceeded");
        }
        other => panic!("expected ToolFailed, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("helm upgrade --install oauth2-proxy"),
        "{message}"
    );
    assert!(message.contains("context deadline exceeded"), "{message}");
    assert!(!message.contains("s3cret-value"));
    assert!(err.hint().unwrap().contains("--timeout"));

    let values_path = PathBuf::from(tools.recorded("values.path"));
    assert!(
        !values_path.exists(),
        "values file left behind after a failure"
    );
    assert!(!values_path.parent().unwrap().exists());
}

#[tokio::test]
async fn a_failed_repo_add_stops_before_the_upgrade() {
    let tools = StandIns::new();
    tools.answer(
        "helm",
        "repo",
        "",
        "Error: looks like \"https://example.invalid\" is not a valid chart repository\n",
        1,
    );
    let helm = tools.helm(target());

    let err = helm.upgrade(&oauth2_proxy(), None).await.unwrap_err();

    assert!(
        matches!(&err, DeployError::ToolFailed { command, stderr, .. }
            if command == "helm repo add oauth2-proxy" && stderr.contains("not a valid chart repository")),
        "{err:?}"
    );
    assert_eq!(tools.calls("helm").len(), 1);
}

#[tokio::test]
async fn stderr_is_cut_to_its_last_lines() {
    let tools = StandIns::new();
    let noise: String = (1..=50).map(|i| format!("warning {i}\n")).collect();
    tools.answer("kubectl", "wait", "", &noise, 1);

    let err = tools
        .kubectl(target())
        .wait("--for condition=established --timeout=60s crd/applications.app.k8s.io")
        .await
        .unwrap_err();

    let DeployError::ToolFailed { stderr, .. } = err else {
        panic!("expected ToolFailed, got {err:?}");
    };
    assert_eq!(stderr.lines().count(), 20);
    assert!(stderr.starts_with("warning 31\n"));
    assert!(stderr.ends_with("warning 50"));
}

#[tokio::test]
async fn deployed_reads_chart_version_status_and_values() {
    let tools = StandIns::new();
    tools.answer(
        "helm",
        "list",
        r#"[{"name":"oauth2-proxy","namespace":"group-a","revision":"3","updated":"2025-01-02 10:00:00.1 +0000 UTC","status":"deployed","chart":"oauth2-proxy-7.7.1","app_version":"7.6.0"}]"#,
        "",
        0,
    );
    tools.answer(
        "helm",
        "get",
        r#"{"config":{"clientID":"group-a"},"replicaCount":1}"#,
        "",
        0,
    );
    let helm = tools.helm(target());

    let deployed = helm.deployed("oauth2-proxy", "group-a").await.unwrap();

    assert_eq!(
        deployed,
        Some(DeployedRelease {
            name: "oauth2-proxy".into(),
            chart: "oauth2-proxy".into(),
            version: "7.7.1".into(),
            app_version: "7.6.0".into(),
            status: "deployed".into(),
            values: json!({"config": {"clientID": "group-a"}, "replicaCount": 1}),
        })
    );
    assert_eq!(
        tools.calls("helm"),
        [
            "list -n group-a -a -o json --filter ^oauth2-proxy$ \
             --kubeconfig /home/ana/.kube/lab.yaml --kube-context lab-admin",
            "get values oauth2-proxy -n group-a -o json \
             --kubeconfig /home/ana/.kube/lab.yaml --kube-context lab-admin",
        ]
    );
}

#[tokio::test]
async fn deployed_without_user_values_has_an_empty_object() {
    let tools = StandIns::new();
    tools.answer(
        "helm",
        "list",
        r#"[{"name":"jupyterhub","namespace":"group-a","revision":"1","status":"failed","chart":"jupyterhub-4.0.0-0.dev.git.6707.h4d19d8a4","app_version":"5.2.1"}]"#,
        "",
        0,
    );
    tools.answer("helm", "get", "null\n", "", 0);

    let deployed = tools
        .helm(target())
        .deployed("jupyterhub", "group-a")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(deployed.chart, "jupyterhub");
    assert_eq!(deployed.version, "4.0.0-0.dev.git.6707.h4d19d8a4");
    assert_eq!(deployed.status, "failed");
    assert_eq!(deployed.values, json!({}));
}

#[tokio::test]
async fn deployed_is_none_when_helm_lists_nothing() {
    let tools = StandIns::new();
    tools.answer("helm", "list", "[]\n", "", 0);

    let deployed = tools
        .helm(target())
        .deployed("label-studio", "group-a")
        .await
        .unwrap();

    assert_eq!(deployed, None);
    assert_eq!(
        tools.calls("helm").len(),
        1,
        "no `get values` for a missing release"
    );
}

#[tokio::test]
async fn unparsable_list_output_is_a_tool_output_error() {
    let tools = StandIns::new();
    tools.answer("helm", "list", "NAME\tNAMESPACE\n", "", 0);

    let err = tools.helm(target()).list("group-a").await.unwrap_err();

    assert!(
        matches!(&err, DeployError::ToolOutput { tool: "helm", command, .. } if command == "helm list"),
        "{err:?}"
    );
    assert!(err.hint().is_some());
}

#[tokio::test]
async fn list_returns_every_release_without_values() {
    let tools = StandIns::new();
    tools.answer(
        "helm",
        "list",
        r#"[{"name":"oauth2-proxy","namespace":"group-a","revision":"1","status":"deployed","chart":"oauth2-proxy-7.7.1","app_version":"7.6.0"},
            {"name":"label-studio","namespace":"group-a","revision":"2","status":"pending-upgrade","chart":"label-studio-1.4.0","app_version":"1.13.1"}]"#,
        "",
        0,
    );

    let releases = tools
        .helm(ToolTarget::default())
        .list("group-a")
        .await
        .unwrap();

    let summary: Vec<(&str, &str, &str, &str)> = releases
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.chart.as_str(),
                r.version.as_str(),
                r.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("oauth2-proxy", "oauth2-proxy", "7.7.1", "deployed"),
            ("label-studio", "label-studio", "1.4.0", "pending-upgrade"),
        ]
    );
    assert!(releases.iter().all(|r| r.values.is_null()));
    assert_eq!(tools.calls("helm"), ["list -n group-a -a -o json"]);
}

#[tokio::test]
async fn uninstall_reports_whether_there_was_a_release() {
    let tools = StandIns::new();
    let helm = tools.helm(target());

    assert!(helm.uninstall("oauth2-proxy", "group-a").await.unwrap());
    assert_eq!(
        tools.calls("helm"),
        [
            "uninstall oauth2-proxy -n group-a --kubeconfig /home/ana/.kube/lab.yaml --kube-context lab-admin"
        ]
    );

    tools.answer(
        "helm",
        "uninstall",
        "",
        "Error: uninstall: Release not loaded: oauth2-proxy: release: not found\n",
        1,
    );
    assert!(!helm.uninstall("oauth2-proxy", "group-a").await.unwrap());

    tools.answer(
        "helm",
        "uninstall",
        "",
        "Error: Kubernetes cluster unreachable: connection refused\n",
        1,
    );
    let err = helm.uninstall("oauth2-proxy", "group-a").await.unwrap_err();
    assert!(
        matches!(&err, DeployError::ToolFailed { command, stderr, .. }
            if command == "helm uninstall oauth2-proxy" && stderr.contains("cluster unreachable")),
        "{err:?}"
    );
}

#[tokio::test]
async fn kubectl_applies_a_kustomization_server_side_and_waits() {
    let tools = StandIns::new();
    let kubectl = tools.kubectl(target());
    let url =
        "github.com/kubeflow/pipelines/manifests/kustomize/cluster-scoped-resources?ref=2.3.0";

    kubectl.apply_kustomization(url).await.unwrap();
    kubectl
        .wait("--for condition=established   --timeout=60s\tcrd/applications.app.k8s.io")
        .await
        .unwrap();

    assert_eq!(
        tools.calls("kubectl"),
        [
            format!(
                "apply --server-side --field-manager=maia -k {url} \
                 --kubeconfig /home/ana/.kube/lab.yaml --context lab-admin"
            ),
            "wait --for condition=established --timeout=60s crd/applications.app.k8s.io \
             --kubeconfig /home/ana/.kube/lab.yaml --context lab-admin"
                .to_string(),
        ]
    );
}

#[tokio::test]
async fn a_failed_kubectl_apply_names_the_url_and_hints_at_git() {
    let tools = StandIns::new();
    tools.answer(
        "kubectl",
        "apply",
        "",
        "error: accumulating resources: exec: \"git\": executable file not found in $PATH\n",
        1,
    );
    let url = "github.com/kubeflow/pipelines/manifests/kustomize/env/dev?ref=2.3.0";

    let err = tools
        .kubectl(ToolTarget::default())
        .apply_kustomization(url)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, DeployError::ToolFailed { tool: "kubectl", command, status, .. }
            if *command == format!("kubectl apply -k {url}") && status == "exit status 1"),
        "{err:?}"
    );
    assert!(err.hint().unwrap().contains("install git"));
}

#[tokio::test]
async fn find_program_looks_only_where_path_says() {
    let tools = StandIns::new();
    let helm = tools.program("helm");
    let not_executable = tools.dir.path().join("kubectl");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644)).unwrap();

    let path = tools.path_var();
    assert_eq!(find_program("helm", Some(&path)), Some(helm.clone()));
    assert_eq!(find_program("kubectl", Some(&path)), None);
    assert_eq!(find_program("git", Some(&path)), None);
    assert_eq!(
        find_program("helm", Some("/nonexistent/bin".as_ref())),
        None
    );
    assert_eq!(find_program("helm", None), None);
    assert_eq!(find_program("", Some(&path)), None);
    // A name with a slash is a path, not looked up.
    assert_eq!(find_program(helm.to_str().unwrap(), None), Some(helm));
}

#[tokio::test]
async fn probe_reports_each_tools_version() {
    let tools = StandIns::new();
    tools.program("helm");
    tools.program("kubectl");
    tools.program("git");
    tools.answer("helm", "version", "v3.16.2+g13654a5\n", "", 0);
    tools.answer(
        "kubectl",
        "version",
        r#"{"clientVersion":{"major":"1","minor":"31","gitVersion":"v1.31.0","platform":"linux/amd64"},"kustomizeVersion":"v5.4.2"}"#,
        "",
        0,
    );
    tools.answer("git", "--version", "git version 2.47.3\n", "", 0);
    let path = tools.path_var();

    let helm = probe("helm", Some(&path)).await.unwrap();
    let kubectl = probe("kubectl", Some(&path)).await.unwrap();
    let git = probe("git", Some(&path)).await.unwrap();

    assert_eq!(
        (helm.name, helm.version.as_str()),
        ("helm", "v3.16.2+g13654a5")
    );
    assert_eq!(helm.path, tools.dir.path().join("helm"));
    assert_eq!(kubectl.version, "v1.31.0");
    assert_eq!(git.version, "git version 2.47.3");
    assert_eq!(tools.calls("helm"), ["version --short"]);
    assert_eq!(tools.calls("kubectl"), ["version --client -o json"]);
    assert_eq!(tools.calls("git"), ["--version"]);
}

#[tokio::test]
async fn probe_of_a_missing_tool_says_what_it_is_for() {
    let empty = tempfile::tempdir().unwrap();

    let err = probe("helm", Some(empty.path().as_os_str()))
        .await
        .unwrap_err();

    assert!(
        matches!(err, DeployError::ToolMissing { tool: "helm", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("JupyterHub"), "{err}");
    assert!(err.hint().unwrap().contains("--skip-helm"));
    let err = probe("git", Some(empty.path().as_os_str()))
        .await
        .unwrap_err();
    assert!(err.hint().unwrap().contains("--skip-kubeflow"));
}

#[test]
fn values_differ_lists_changed_added_and_removed_paths() {
    let deployed = json!({
        "config": {"clientID": "a", "clientSecret": "old", "cookieName": "c"},
        "extraArgs": ["--x", "--y"],
        "image": {"tag": "v7.6.0"},
        "replicaCount": 1,
        "gone": true,
    });
    let desired = json!({
        "config": {"clientID": "a", "clientSecret": "new", "cookieName": "c"},
        "extraArgs": ["--x", "--z"],
        "image": "quay.io/oauth2-proxy/oauth2-proxy:v7.7.1",
        "replicaCount": 1.0,
        "ingress": {"enabled": true},
    });

    assert_eq!(
        values_differ(&deployed, &desired),
        [
            "config.clientSecret",
            "extraArgs",
            "gone",
            "image",
            "ingress"
        ]
    );
}

#[test]
fn values_differ_of_equal_values_is_empty() {
    let values = oauth2_proxy().values;
    assert!(values_differ(&values, &values).is_empty());
    assert!(values_differ(&json!(null), &json!({})).is_empty());
    assert!(values_differ(&json!({"a": [1, {"b": 2}]}), &json!({"a": [1.0, {"b": 2}]})).is_empty());
}

#[test]
fn values_differ_quotes_keys_with_dots_and_never_shows_values() {
    let deployed =
        json!({"ingress": {"annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"}}});
    let desired =
        json!({"ingress": {"annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "2g"}}});

    let paths = values_differ(&deployed, &desired);

    assert_eq!(
        paths,
        [r#"ingress.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]"#]
    );
    assert!(paths.iter().all(|p| !p.contains("8m") && !p.contains("2g")));
    assert_eq!(values_differ(&json!({}), &json!({"hub": null})), ["hub"]);
    assert_eq!(values_differ(&json!([1]), &json!([2])), ["."]);
    assert_eq!(values_differ(&json!(null), &json!({"a": 1})), ["a"]);
}
