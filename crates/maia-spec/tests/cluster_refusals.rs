//! What the API server or helm would refuse half-way through a deploy is refused by
//! validation instead (issue 16, item 15): each an error naming the file, line, field
//! and what to do, found by `maia config validate` and by every render.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maia_spec::app::load_str as load_app;
use maia_spec::workspace::load::{WorkspaceTexts, load_str as load_workspace};
use maia_spec::{Diagnostic, LoadOptions, Severity, SpecError};

const GROUP: &str = include_str!("../../../examples/workspace/group.yaml");
const NGINX: &str = include_str!("../../../examples/workspace/cluster-nginx.yaml");

fn errors(result: Result<impl std::fmt::Debug, SpecError>) -> Vec<Diagnostic> {
    match result {
        Ok(v) => panic!("expected errors, got {v:?}"),
        Err(e) => e
            .diagnostics()
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .cloned()
            .collect(),
    }
}

fn app_errors(json: &str) -> Vec<Diagnostic> {
    errors(load_app("app.json", json, LoadOptions::default()).map(|_| ()))
}

fn group_errors(group: &str) -> Vec<Diagnostic> {
    errors(
        load_workspace(
            WorkspaceTexts {
                group: ("group.yaml", group),
                cluster: ("cluster.yaml", NGINX),
                maia: None,
            },
            false,
            LoadOptions::default(),
        )
        .map(|_| ()),
    )
}

/// The one error, as the user sees it; it must have a line and a hint.
fn one(errors: Vec<Diagnostic>) -> String {
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    let e = &errors[0];
    assert!(e.location.is_some(), "no line: {e}");
    assert!(e.hint.is_some(), "no hint: {e}");
    e.to_string()
}

const APP: &str = r#"{
  "namespace": "demo",
  "chart_name": "app",
  "docker_image": "busybox",
  "deployment": true"#;

fn app(more: &str) -> String {
    format!("{APP},\n{more}\n}}\n")
}

#[test]
fn a_memory_guarantee_above_its_limit_is_refused() {
    let group = GROUP.replace("- \"4G\"", "- \"16G\"");
    assert_ne!(group, GROUP);
    let e = one(group_errors(&group));
    assert!(e.contains("group.yaml:"), "{e}");
    assert!(e.contains("resources_limits.memory"), "{e}");
    assert!(e.contains("16G") && e.contains("8G"), "{e}");
    // 8Gi is more than 8G: binary and decimal units are compared as numbers.
    let group = GROUP.replace("- \"4G\"", "- \"8Gi\"");
    let e = one(group_errors(&group));
    assert!(e.contains("resources_limits.memory"), "{e}");
}

#[test]
fn a_namespace_whose_hub_release_passes_helms_53_characters_is_refused() {
    // 42 characters give jupyterhub-<42> = 53: fine; 43 do not.
    let fits = format!("G{}", "a".repeat(41));
    let group = GROUP.replace("group_ID: Brain_MRI", &format!("group_ID: {fits}"));
    load_workspace(
        WorkspaceTexts {
            group: ("group.yaml", &group),
            cluster: ("cluster.yaml", NGINX),
            maia: None,
        },
        false,
        LoadOptions::default(),
    )
    .unwrap();
    for len in [43, 54, 63] {
        let id = format!("G{}", "a".repeat(len - 1));
        let group = GROUP.replace("group_ID: Brain_MRI", &format!("group_ID: {id}"));
        let e = one(group_errors(&group));
        assert!(e.contains("group_ID"), "{e}");
        assert!(e.contains("jupyterhub-"), "the release is named: {e}");
        assert!(e.contains("53"), "{e}");
    }
}

#[test]
fn two_volumes_on_one_mount_path_are_refused() {
    let e = one(app_errors(&app(r#"  "persistent_volume": [
    {"mountPath": "/data", "size": "1Gi", "access_mode": "ReadWriteOnce"},
    {"mountPath": "/data/", "size": "2Gi", "access_mode": "ReadWriteOnce"}
  ]"#)));
    assert!(e.contains("persistent_volume[1].mountPath"), "{e}");
    assert!(e.contains("/data"), "{e}");
    let e = one(app_errors(&app(
        r#"  "persistent_volume": [{"mountPath": "/data", "size": "1Gi", "access_mode": "ReadWriteOnce"}],
  "existing_persistent_volume": [{"name": "shared", "mountPath": "/data"}]"#,
    )));
    assert!(e.contains("existing_persistent_volume[0].mountPath"), "{e}");
}

#[test]
fn a_volume_on_dev_shm_is_refused() {
    let e = one(app_errors(&app(
        r#"  "persistent_volume": [{"mountPath": "/dev/shm", "size": "1Gi", "access_mode": "ReadWriteOnce"}]"#,
    )));
    assert!(e.contains("persistent_volume[0].mountPath"), "{e}");
    assert!(e.contains("/dev/shm"), "{e}");
}

#[test]
fn two_service_ports_with_one_number_are_refused() {
    let e = one(app_errors(&app(
        r#"  "ports": {"http": [8080], "web": [8080]}"#,
    )));
    assert!(e.contains("ports.web"), "{e}");
    assert!(e.contains("8080"), "{e}");
}

#[test]
fn a_nul_in_a_command_or_argument_is_refused() {
    let e = one(app_errors(&app(r#"  "command": ["sh", "-c\u0000x"]"#)));
    assert!(e.contains("command[1]"), "{e}");
    let e = one(app_errors(&app(r#"  "args": ["ok", "\u0000"]"#)));
    assert!(e.contains("args[1]"), "{e}");
}

#[test]
fn a_node_selector_that_is_no_label_value_is_refused() {
    for bad in [
        r#""node-1\nnode-2""#,
        r#""node 1""#,
        &format!("\"{}\"", "n".repeat(64)),
    ] {
        let e = one(app_errors(&app(&format!("  \"node_selector\": {bad}"))));
        assert!(e.contains("node_selector"), "{e}");
    }
    let e = one(app_errors(&app(
        r#"  "gpu_request": 1, "gpu_selector": {"product": "NVIDIA A100\n"}"#,
    )));
    assert!(e.contains("gpu_selector.product"), "{e}");
}

#[test]
fn env_variable_names_the_api_server_refuses_are_refused() {
    let e = one(app_errors(&app(r#"  "env_variables": {"BAD\nNAME": "x"}"#)));
    assert!(e.contains("env_variables"), "{e}");
}

#[test]
fn a_volume_of_no_storage_is_refused() {
    let e = one(app_errors(&app(
        r#"  "persistent_volume": [{"mountPath": "/data", "size": "0Gi", "access_mode": "ReadWriteOnce"}]"#,
    )));
    assert!(e.contains("persistent_volume[0].size"), "{e}");
}
