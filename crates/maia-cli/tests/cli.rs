//! The `maia` and `MAIA_deploy_helm_chart` binaries end to end: what a user types,
//! what they see, and the exit codes scripts rely on.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde::Deserialize;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/app")
}

fn maia() -> Command {
    let mut cmd = Command::cargo_bin("maia").unwrap();
    // No cluster is involved in anything here.
    cmd.env("KUBECONFIG", "/nonexistent/kubeconfig");
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn yaml_docs(text: &str) -> Vec<yaml_serde::Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|d| yaml_serde::Value::deserialize(d).unwrap())
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn render_prints_namespaced_yaml_in_apply_order() {
    let (code, out, err) = run(maia()
        .args(["app", "render", "--config-file"])
        .arg(examples().join("gpu-service.json")));
    assert_eq!(code, 0, "{err}");
    let docs = yaml_docs(&out);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "Service", "Job", "Ingress"]);
    assert!(
        docs.iter()
            .all(|d| d["metadata"]["namespace"].as_str() == Some("brain-mri"))
    );
    // The mount files were read relative to the config's folder.
    assert_eq!(
        docs[0]["data"]["train.yaml"].as_str(),
        Some("epochs: 100\nlr: 0.0001\n")
    );
}

#[test]
fn render_json_is_a_v1_list() {
    let (code, out, _) = run(maia()
        .args(["app", "render", "-o", "json", "-f"])
        .arg(examples().join("jupyterlab.json")));
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[2]["kind"], "Job");
    assert_eq!(items[2]["spec"]["activeDeadlineSeconds"], 172_800);
}

#[test]
fn render_to_a_folder_writes_one_file_per_object_and_flags_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifests");
    let (code, stdout, _) = run(maia()
        .args(["app", "render", "-f"])
        .arg(examples().join("jupyterlab.json"))
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "01-persistentvolumeclaim-jupyterlab-1-v1-mkg-claim-0.yaml",
            "02-service-jupyterlab-1-v1-mkg.yaml",
            "03-job-jupyterlab-1-v1-mkg.yaml"
        ]
    );
    assert!(stdout.contains("wrote "), "{stdout}");
    let job =
        yaml_docs(&std::fs::read_to_string(out.join("03-job-jupyterlab-1-v1-mkg.yaml")).unwrap());
    assert_eq!(job.len(), 1);
    assert_eq!(job[0]["kind"].as_str(), Some("Job"));

    // A later render without the PVC reports the left-over file.
    let cfg = std::fs::read_to_string(examples().join("jupyterlab.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    v.as_object_mut().unwrap().remove("persistent_volume");
    let smaller = write(dir.path(), "small.json", &v.to_string());
    let (code, _, err) = run(maia()
        .args(["app", "render", "-f"])
        .arg(&smaller)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0);
    assert!(
        err.contains("03-job-jupyterlab-1-v1-mkg.yaml is left from an earlier render"),
        "{err}"
    );
}

#[test]
fn render_of_a_bad_file_exits_2_with_located_errors_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "app.json",
        "{\"namespace\": \"demo\", \"chart_name\": \"a\", \"docker_image\": \"b\",\n \"allocationTime\": \"1\", \"memory_request\": \"4GB\"}\n",
    );
    let (code, out, err) = run(maia().args(["app", "render", "-f"]).arg(&bad));
    assert_eq!(code, 2);
    assert!(out.is_empty(), "nothing rendered: {out}");
    assert!(
        err.contains("app.json:2:43: memory_request: \"4GB\" is not a Kubernetes quantity"),
        "{err}"
    );
    assert!(
        err.contains("hint: use 4G (powers of 1000) or 4Gi (powers of 1024)"),
        "{err}"
    );
    assert!(err.contains("is not a valid app config: 1 error"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn missing_file_exits_2_and_says_which() {
    let (code, _, err) = run(maia().args(["app", "render", "-f", "/nonexistent/app.json"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("error: cannot read app config file /nonexistent/app.json"),
        "{err}"
    );
    assert!(
        err.contains("caused by: No such file or directory"),
        "{err}"
    );
}

#[test]
fn validate_reports_valid_invalid_and_lenient() {
    let (code, out, _) = run(maia()
        .args(["config", "validate"])
        .arg(examples().join("mysql.json")));
    assert_eq!(code, 0);
    assert!(out.contains("mysql.json: valid app config"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let typo = write(
        dir.path(),
        "legacy.json",
        "{\"namespace\": \"demo\", \"chart_name\": \"a\", \"docker_image\": \"b\", \"deployment\": true, \"gpu_requst\": 1}",
    );
    let (code, _, err) = run(maia().args(["config", "validate"]).arg(&typo));
    assert_eq!(code, 2);
    assert!(
        err.contains("gpu_requst: unknown field \"gpu_requst\""),
        "{err}"
    );
    assert!(err.contains("did you mean \"gpu_request\"?"), "{err}");

    let (code, out, err) = run(maia().args(["config", "validate", "--lenient"]).arg(&typo));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: "), "{err}");
    assert!(out.contains("valid app config (1 warning)"), "{out}");
}

#[test]
fn validate_checks_mount_files_exist() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "app.json",
        "{\"namespace\": \"demo\", \"chart_name\": \"a\", \"docker_image\": \"b\", \"deployment\": true, \"mount_files\": {\"x\": [\"gone.txt\", \"/x\"]}}",
    );
    let (code, _, err) = run(maia().args(["config", "validate"]).arg(&cfg));
    assert_eq!(code, 2);
    assert!(
        err.contains("mount_files.x[0]: cannot read \"gone.txt\""),
        "{err}"
    );
}

#[test]
fn schema_describes_the_app_config() {
    let (code, out, _) = run(maia().args(["config", "schema", "app"]));
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["namespace", "chart_name", "docker_image"]);
    for field in [
        "allocationTime",
        "ports",
        "mount_files",
        "ingress",
        "gpu_selector",
        "deployment",
    ] {
        assert!(
            schema["properties"].get(field).is_some(),
            "{field} missing from schema"
        );
    }
    let (code, _, err) = run(maia().args(["config", "schema", "nonsense"]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_cluster_schema_describes_keycloak_admin_without_a_place_for_its_secret() {
    let (code, out, _) = run(maia().args(["config", "schema", "cluster"]));
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    let admin = &schema["properties"]["keycloak_admin"];
    assert!(admin.is_object(), "{out}");
    // The section's own fields, through its definition.
    let reference = admin["anyOf"][0]["$ref"]
        .as_str()
        .or(admin["$ref"].as_str())
        .unwrap_or_else(|| panic!("{admin}"));
    let name = reference.rsplit('/').next().unwrap();
    let fields = &schema["$defs"][name]["properties"];
    for field in [
        "url",
        "realm",
        "client_id",
        "client_secret_file",
        "invite_lifespan",
        "per_workspace_clients",
    ] {
        assert!(fields.get(field).is_some(), "{field} missing: {fields}");
    }
    assert!(fields.get("client_secret").is_none(), "{fields}");
}

#[test]
fn the_cluster_schema_describes_portal_without_a_place_for_its_secret() {
    let (code, out, _) = run(maia().args(["config", "schema", "cluster"]));
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    let portal = &schema["properties"]["portal"];
    let reference = portal["anyOf"][0]["$ref"]
        .as_str()
        .or(portal["$ref"].as_str())
        .unwrap_or_else(|| panic!("{portal}"));
    let name = reference.rsplit('/').next().unwrap();
    let fields = &schema["$defs"][name]["properties"];
    for field in ["url", "client_id", "client_secret_file"] {
        assert!(fields.get(field).is_some(), "{field} missing: {fields}");
    }
    assert!(fields.get("client_secret").is_none(), "{fields}");
}

#[test]
fn help_teaches_with_examples() {
    let (code, out, _) = run(maia().args(["app", "render", "--help"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("maia app render --config-file app.json --out manifests/"),
        "{out}"
    );
    let (code, _, err) = run(&mut maia());
    assert_eq!(code, 2, "no subcommand is a usage error");
    assert!(err.contains("Usage: maia"), "{err}");
}

fn compat(name: &str) -> (yaml_serde::Value, yaml_serde::Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("values.yaml");
    let mut cmd = Command::cargo_bin("MAIA_deploy_helm_chart").unwrap();
    cmd.env_remove("KUBECONFIG").env("HOME", dir.path());
    let (code, stdout, err) = run(cmd
        .arg("--config-file")
        .arg(examples().join(format!("{name}.json")))
        .arg("--print-helm-values-only")
        .arg(&out));
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.is_empty(),
        "values go to the file, not stdout: {stdout}"
    );
    let got: yaml_serde::Value =
        yaml_serde::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/compat/{name}.values.yaml"));
    let expected: yaml_serde::Value =
        yaml_serde::from_str(&std::fs::read_to_string(expected_path).unwrap()).unwrap();
    (got, expected)
}

#[test]
fn helm_values_match_the_original_for_the_readme_example() {
    let (got, expected) = compat("jupyterlab");
    assert_eq!(got, expected);
}

#[test]
fn helm_values_match_the_original_for_the_seed_mysql_and_mlflow() {
    let (got, expected) = compat("mysql");
    assert_eq!(got, expected);
    let (got, expected) = compat("mlflow");
    assert_eq!(got, expected);
}

#[test]
fn helm_values_carry_the_deliberate_fixes() {
    let (got, expected) = compat("gpu-service");
    assert_eq!(got, expected);
}

#[test]
fn compat_entry_point_validates_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "app.json", "{\"namespace\": \"demo\"}");
    let mut cmd = Command::cargo_bin("MAIA_deploy_helm_chart").unwrap();
    let (code, _, err) = run(cmd
        .arg("--config-file")
        .arg(&bad)
        .arg("--print-helm-values-only")
        .arg(dir.path().join("v.yaml")));
    assert_eq!(code, 2);
    assert!(
        err.contains("chart_name: required field is missing"),
        "{err}"
    );
    assert!(
        !dir.path().join("v.yaml").exists(),
        "no values written for a bad config"
    );
}

#[test]
fn helm_values_keep_yaml_1_1_booleans_as_strings() {
    // Helm parses YAML 1.1: an unquoted `yes` would reach the container as `true`.
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "app.json",
        "{\"namespace\": \"demo\", \"chart_name\": \"a\", \"docker_image\": \"b\", \"deployment\": true, \"env_variables\": {\"GRANT_SUDO\": \"yes\", \"DEBUG\": \"on\"}}",
    );
    let out = dir.path().join("values.yaml");
    let mut cmd = Command::cargo_bin("MAIA_deploy_helm_chart").unwrap();
    let (code, _, err) = run(cmd
        .arg("--config-file")
        .arg(&cfg)
        .arg("--print-helm-values-only")
        .arg(&out));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("value: \"yes\"") || text.contains("value: 'yes'"),
        "{text}"
    );
    assert!(
        text.contains("value: \"on\"") || text.contains("value: 'on'"),
        "{text}"
    );
}

/// A file nested 20 000 deep is a clear error (exit 2, the file named), never a stack
/// overflow, for every command that reads a config (issue 9: it aborted with 134).
#[test]
fn deeply_nested_files_are_refused_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 20_000;
    let objects = write(
        dir.path(),
        "objects.json",
        &format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)),
    );
    let arrays = write(
        dir.path(),
        "arrays.json",
        &format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
    );
    let group = write(
        dir.path(),
        "group.json",
        &format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
    );
    let out = dir.path().join("v.yaml");
    let cases: Vec<(Command, &PathBuf)> = vec![
        (
            {
                let mut c = maia();
                c.args(["config", "validate"]).arg(&objects);
                c
            },
            &objects,
        ),
        (
            {
                let mut c = maia();
                c.args(["app", "render", "--config-file"]).arg(&arrays);
                c
            },
            &arrays,
        ),
        (
            {
                let mut c = Command::cargo_bin("MAIA_deploy_helm_chart").unwrap();
                c.arg("--config-file")
                    .arg(&arrays)
                    .arg("--print-helm-values-only")
                    .arg(&out);
                c
            },
            &arrays,
        ),
        (
            {
                let mut c = maia();
                c.args(["namespace", "render", "--namespace-config-file"])
                    .arg(&group)
                    .arg("--cluster-config-file")
                    .arg(examples().join("../workspace/cluster-nginx.yaml"))
                    .arg("--config-folder")
                    .arg(dir.path().join("out"));
                c
            },
            &group,
        ),
    ];
    for (mut cmd, file) in cases {
        let (code, _, err) = run(&mut cmd);
        assert_eq!(code, 2, "{err}");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(err.contains(&name), "{err}");
    }
    assert!(!out.exists());
    assert!(!dir.path().join("out").exists());
}

/// YAML flow collections nested 200 000 deep (found by fuzzing: the YAML parser takes
/// quadratic time on them, 90 s here) are refused at once, with their position.
#[test]
fn deep_yaml_flow_nesting_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let deep = write(
        dir.path(),
        "deep.yaml",
        &format!("namespace: {}", "[".repeat(200_000)),
    );
    for kind in ["app", "group", "cluster", "maia"] {
        let (code, _, err) = run(maia()
            .args(["config", "validate", "--kind", kind])
            .arg(&deep));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("deep.yaml:1:"), "{err}");
        assert!(err.contains("nested more than 64 levels deep"), "{err}");
    }
}

/// Thousands of errors are all counted, the first 50 printed, and the rest summed up.
#[test]
fn many_errors_are_counted_and_the_printout_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = serde_json::json!({"namespace": "demo", "chart_name": "x", "docker_image": "nginx",
            "deployment": true});
    for i in 0..10_000 {
        config[format!("unknown_{i}")] = serde_json::json!(i);
    }
    let file = write(dir.path(), "app.json", &config.to_string());
    let (code, _, err) = run(maia().args(["config", "validate"]).arg(&file));
    assert_eq!(code, 2);
    assert_eq!(
        err.matches(": unknown field").count(),
        50,
        "{}",
        &err[..500]
    );
    assert!(
        err.contains("… and 9950 more (the first 50 are shown)"),
        "{}",
        &err[err.len() - 300..]
    );
    assert!(err.contains("10000 errors"), "{}", &err[err.len() - 300..]);
}

/// An absurd timeout is a usage error (exit 2), not an overflow panic.
#[test]
fn absurd_timeouts_are_refused() {
    for timeout in [
        "18446744073709551615",
        "99999999999999999999h",
        "8d",
        "200h",
    ] {
        let (code, _, err) = run(maia().args([
            "app",
            "deploy",
            "--config-file",
            "missing.json",
            "--timeout",
            timeout,
        ]));
        assert_eq!(code, 2, "{timeout}: {err}");
        assert!(err.contains("--timeout"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// mount_files reads only regular files inside the config file's folder, at most 1 MiB
/// in all: a file elsewhere (by path, `..` or a symlink), a device, a FIFO or a
/// directory is refused with its field, before anything is read (issue 9: /etc/shadow
/// ended up in a ConfigMap, /dev/zero grew to 18 GB, a FIFO blocked forever).
#[test]
fn mount_files_stay_inside_the_config_folder_and_under_the_configmap_limit() {
    let root = tempfile::tempdir().unwrap();
    let config_dir = root.path().join("app");
    std::fs::create_dir(&config_dir).unwrap();
    let outside = write(root.path(), "secret.txt", "not for the group\n");
    write(&config_dir, "ok.yaml", "epochs: 3\n");
    std::os::unix::fs::symlink(&outside, config_dir.join("link.txt")).unwrap();
    std::fs::create_dir(config_dir.join("adir")).unwrap();
    write(&config_dir, "big.bin", &"x".repeat(1024 * 1024 + 1));
    let fifo = config_dir.join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let app = |file: &str| {
        write(
            &config_dir,
            "app.json",
            &serde_json::json!({"namespace": "demo", "chart_name": "x", "docker_image": "busybox",
                "deployment": true, "mount_files": {"f": [file, "/etc/app/f"]}})
            .to_string(),
        )
    };
    let outside_path = outside.to_string_lossy().into_owned();
    for (file, wanted) in [
        (outside_path.as_str(), "outside the config file's folder"),
        ("../secret.txt", "outside the config file's folder"),
        ("link.txt", "outside the config file's folder"),
        ("/dev/zero", "outside the config file's folder"),
        ("adir", "not a regular file"),
        ("pipe", "not a regular file"),
        ("big.bin", "1024 KiB"),
    ] {
        let config = app(file);
        let (code, out, err) = run(maia().args(["app", "render", "--config-file"]).arg(&config));
        assert_eq!(code, 2, "{file}: {err}");
        assert!(err.contains("mount_files.f[0]"), "{file}: {err}");
        assert!(err.contains(wanted), "{file}: {err}");
        assert!(!out.contains("not for the group"));
    }
    // A device is refused even when files outside are allowed.
    let config = app("/dev/zero");
    let (code, _, err) = run(maia()
        .args(["app", "render", "--allow-outside-files", "--config-file"])
        .arg(&config));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    // Inside the folder, or outside with the flag, it is read.
    let config = app("ok.yaml");
    let (code, out, err) = run(maia().args(["app", "render", "--config-file"]).arg(&config));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("epochs: 3"), "{out}");
    let config = app(&outside_path);
    let (code, out, err) = run(maia()
        .args(["app", "render", "--allow-outside-files", "--config-file"])
        .arg(&config));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("not for the group"), "{out}");

    // The config file itself: a device or FIFO is refused at once, exit 2.
    for config in ["/dev/zero".into(), fifo] {
        let (code, _, err) = run(maia()
            .args(["config", "validate", "--kind", "app"])
            .arg(&config));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("not a regular file"), "{err}");
    }
}

/// An output folder that is a file is a wrong argument: exit 2, nothing written.
#[test]
fn an_output_folder_that_is_a_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "afile", "x");
    let (code, _, err) = run(maia()
        .args(["app", "render", "--config-file"])
        .arg(examples().join("jupyterlab.json"))
        .arg("--out")
        .arg(&file));
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(maia()
        .args(["namespace", "render", "--namespace-config-file"])
        .arg(examples().join("../workspace/group.yaml"))
        .arg("--cluster-config-file")
        .arg(examples().join("../workspace/cluster-nginx.yaml"))
        .arg("--config-folder")
        .arg(&file));
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

/// Every class of bad input file, through the commands that read them: a clear message
/// naming the file, exit 2, and nothing written (issue 9's table).
#[test]
fn every_bad_input_class_is_exit_2_naming_the_file_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let app_ok =
        r#"{"namespace": "demo", "chart_name": "x", "docker_image": "busybox", "deployment": true"#;
    let mut cases: Vec<(&str, PathBuf)> = vec![
        (
            "wrong-type.json",
            write(
                d,
                "wrong-type.json",
                r#"{"namespace": 5, "chart_name": "x", "docker_image": "b", "deployment": true}"#,
            ),
        ),
        (
            "huge.json",
            write(
                d,
                "huge.json",
                &format!("{app_ok}, \"memory_request\": \"1e400\"}}"),
            ),
        ),
        (
            "deep.json",
            write(
                d,
                "deep.json",
                &format!("{}1{}", "[".repeat(20_000), "]".repeat(20_000)),
            ),
        ),
        (
            "duplicate.json",
            write(
                d,
                "duplicate.json",
                &format!("{app_ok}, \"namespace\": \"other\"}}"),
            ),
        ),
        ("empty.json", write(d, "empty.json", "")),
        ("truncated.json", write(d, "truncated.json", &app_ok[..40])),
    ];
    let non_utf8 = d.join("non-utf8.json");
    std::fs::write(&non_utf8, b"{\"namespace\": \"\xff\xfe\"}").unwrap();
    cases.push(("non-utf8.json", non_utf8));
    let folder = d.join("a-folder.json");
    std::fs::create_dir(&folder).unwrap();
    cases.push(("a-folder.json", folder));
    let fifo = d.join("fifo.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    cases.push(("fifo.json", fifo));
    let link = d.join("link.json");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    cases.push(("link.json", link));
    for (name, file) in &cases {
        let out = d.join(format!("out-{name}"));
        let (code, stdout, err) = run(maia()
            .args(["app", "render", "--config-file"])
            .arg(file)
            .arg("--out")
            .arg(&out));
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: the message names the file: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(stdout.is_empty(), "{name}: {stdout}");
        assert!(!out.exists(), "{name}: something was written");
    }

    // YAML: an alias bomb and a non-mapping group form, through namespace render.
    let bomb = write(
        d,
        "bomb.yaml",
        &format!(
            "a: &a [x, x, x, x, x, x, x, x, x]\n{}group_ID: *i\n",
            (0..9)
                .map(|i| {
                    let prev = if i == 0 { "a".to_string() } else { format!("l{}", i - 1) };
                    format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n")
                })
                .collect::<String>()
                .replace("l8: &l8", "i: &i")
        ),
    );
    let list = write(d, "list.yaml", "- just\n- a list\n");
    for (name, form) in [("bomb.yaml", bomb), ("list.yaml", list)] {
        let out = d.join(format!("folder-{name}"));
        let (code, _, err) = run(maia()
            .args(["namespace", "render", "--namespace-config-file"])
            .arg(&form)
            .arg("--cluster-config-file")
            .arg(examples().join("../workspace/cluster-nginx.yaml"))
            .arg("--config-folder")
            .arg(&out));
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
        assert!(!out.exists(), "{name}: something was written");
    }
}

/// A MAIA config that only pins versions or images (the file that pins the hub's chart)
/// is told apart without --kind, and checked as one.
#[test]
fn a_maia_config_that_only_pins_versions_is_recognised() {
    let dir = tempfile::tempdir().unwrap();
    for key in [
        "jupyterhub_chart_version: 3.1.0",
        "oauth2_proxy_chart_version: 7.7.1",
        "label_studio_chart_version: 1.4.0",
        "kubeflow_pipelines_version: 2.2.0",
        "mysql_image: mysql:8.0.28",
    ] {
        let file = write(dir.path(), "versions.yaml", &format!("{key}\n"));
        let (code, out, err) = run(maia().args(["config", "validate"]).arg(&file));
        assert_eq!(code, 0, "{key}: {err}");
        assert!(out.contains("valid MAIA config"), "{key}: {out}");
    }
    let file = write(
        dir.path(),
        "versions.yaml",
        "jupyterhub_chart_version: 4.0.0\n",
    );
    let (code, _, err) = run(maia().args(["config", "validate"]).arg(&file));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("versions.yaml:1:27: jupyterhub_chart_version"),
        "{err}"
    );
}

/// `maia completion SHELL` prints a script for that shell naming every command, down
/// to a nested one and its flags, as `kubectl completion` and `helm completion` do.
#[test]
fn completion_prints_a_script_for_each_shell_naming_the_commands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef maia"),
        ("fish", "complete -c maia"),
    ] {
        let (code, out, err) = run(maia().args(["completion", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell}: {out}");
        for word in [
            "app",
            "config",
            "namespace",
            "fleet",
            "completion",
            "version",
            "kubeconfig",
            "namespace-config-file",
        ] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    // An unknown shell is a usage error naming the ones there are.
    let (code, out, err) = run(maia().args(["completion", "tcsh"]));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("bash") && err.contains("zsh") && err.contains("fish"),
        "{err}"
    );
}

/// The commit this checkout is at, as the build script reads it ("unknown" outside git).
fn checkout_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// `maia version` and `maia --version` say which maia this is: the crate's version
/// and the commit it was built from, so a bug report can name both.
#[test]
fn version_names_the_release_and_the_commit() {
    let line = format!(
        "maia {} (commit {})\n",
        env!("CARGO_PKG_VERSION"),
        checkout_commit()
    );
    for args in [&["version"][..], &["--version"], &["-V"]] {
        let (code, out, err) = run(maia().args(args));
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(out, line, "{args:?}");
    }
    let (code, out, err) = run(maia().args(["version", "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["commit"], checkout_commit());
}

/// The toolkit's entry points, installed with maia, say which maia they are too.
#[test]
fn the_compatibility_entry_points_name_the_release_and_the_commit() {
    for name in [
        "MAIA_deploy_helm_chart",
        "MAIA_deploy_MAIA_namespace",
        "MAIA_create_JupyterHub_config",
        "MAIA_create_MAIA_Addons_config",
        "MAIAKubeGate_create_jupyterHub_config",
        "MAIAKubeGate_create_MAIA_Addons_config",
    ] {
        let (code, out, err) = run(Command::cargo_bin(name).unwrap().arg("--version"));
        assert_eq!(code, 0, "{name}: {err}");
        assert_eq!(
            out,
            format!(
                "{name} {} (commit {})\n",
                env!("CARGO_PKG_VERSION"),
                checkout_commit()
            )
        );
    }
}
