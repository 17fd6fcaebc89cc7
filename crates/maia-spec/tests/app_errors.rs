//! Every class of bad app config gets an error that names the file, line and column,
//! the field path, what was found and what is wanted — and never a panic.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maia_spec::app::{LoadedApp, load, load_str};
use maia_spec::{Diagnostic, LoadOptions, Severity, SpecError};

fn errors_of(json: &str) -> Vec<Diagnostic> {
    match load_str("app.json", json, LoadOptions::default()) {
        Ok(app) => panic!(
            "expected errors, got a valid app with warnings {:?}",
            app.warnings
        ),
        Err(SpecError::Invalid {
            diagnostics,
            file,
            kind,
        }) => {
            assert_eq!(file.to_str(), Some("app.json"));
            assert_eq!(kind, "app config");
            diagnostics
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// The one error of a config, rendered as a user sees it.
fn error(json: &str) -> String {
    let diags = errors_of(json);
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "expected one error, got {diags:#?}");
    errors[0].to_string()
}

fn ok(json: &str) -> LoadedApp {
    load_str("app.json", json, LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}: {:#?}", e.diagnostics()))
}

const HEAD: &str =
    "{\n  \"namespace\": \"demo\",\n  \"chart_name\": \"app\",\n  \"docker_image\": \"busybox\",\n";

fn with(fields: &str) -> String {
    format!("{HEAD}  \"allocationTime\": \"1\",\n{fields}\n}}\n")
}

#[test]
fn invalid_json_names_line_and_column() {
    let e = error(
        "{\n  \"namespace\": \"demo\",\n  \"chart_name\": \"app\"\n  \"docker_image\": \"x\"\n}\n",
    );
    assert!(
        e.starts_with("error: app.json:4:3: (top level): invalid JSON: expected `,` or `}`"),
        "{e}"
    );
}

#[test]
fn missing_required_field_is_named() {
    let e = error("{\n  \"namespace\": \"demo\",\n  \"chart_name\": \"app\"\n}\n");
    assert!(
        e.starts_with("error: app.json:1:1: docker_image: required field is missing"),
        "{e}"
    );
    assert!(e.contains("hint: add \"docker_image\""), "{e}");
}

#[test]
fn wrong_type_names_the_field() {
    let e = error(&with("  \"ports\": {\"web\": [true]}"));
    assert!(e.starts_with("error: app.json:6:21: ports.web[0]: invalid type: boolean `true`, expected a number or a string"), "{e}");
}

#[test]
fn unknown_field_suggests_the_known_one() {
    let e = error(&with("  \"memory_reqest\": \"4Gi\""));
    assert!(
        e.starts_with("error: app.json:6:3: memory_reqest: unknown field \"memory_reqest\""),
        "{e}"
    );
    assert!(e.contains("did you mean \"memory_request\"?"), "{e}");
    assert!(e.contains("--lenient"), "{e}");
    // Nested objects are checked too, with their own field names.
    let e = error(&with(
        "  \"ingress\": {\"hots\": \"a.example.org\", \"host\": \"a.example.org\", \"port\": 80, \"nginx_issuer\": \"x\", \"oauth_url\": \"y\"},\n  \"ports\": {\"http\": [80]}",
    ));
    assert!(e.contains("ingress.hots: unknown field \"hots\""), "{e}");
    assert!(e.contains("did you mean \"host\"?"), "{e}");
}

#[test]
fn lenient_downgrades_unknown_fields_to_warnings() {
    let json = with("  \"memory_reqest\": \"4Gi\"");
    let app = load_str(
        "app.json",
        &json,
        LoadOptions {
            lenient: true,
            ..Default::default()
        },
    )
    .expect("lenient accepts unknown fields");
    assert_eq!(app.warnings.len(), 1);
    let w = app.warnings[0].to_string();
    assert!(
        w.starts_with("warning: app.json:6:3: memory_reqest: unknown field"),
        "{w}"
    );
    assert!(w.contains("ignored because of --lenient"), "{w}");
}

#[test]
fn quantity_typo_suggests_kubernetes_units() {
    let e = error(&with("  \"memory_request\": \"4GB\""));
    assert!(
        e.starts_with("error: app.json:6:21: memory_request: \"4GB\" is not a Kubernetes quantity"),
        "{e}"
    );
    assert!(
        e.contains("hint: use 4G (powers of 1000) or 4Gi (powers of 1024)"),
        "{e}"
    );
    let e = error(&with(
        "  \"persistent_volume\": [{\"mountPath\": \"/d\", \"size\": \"10 GiB\", \"access_mode\": \"ReadWriteOnce\"}]",
    ));
    assert!(
        e.contains("persistent_volume[0].size: \"10 GiB\" is not a Kubernetes quantity"),
        "{e}"
    );
}

#[test]
fn port_out_of_range_is_an_error() {
    let e = error(&with("  \"ports\": {\"web\": [70000]}"));
    assert!(
        e.starts_with("error: app.json:6:21: ports.web[0]: port 70000 is outside 1-65535"),
        "{e}"
    );
    let e = error(&with("  \"ports\": {\"web\": [\"http\"]}"));
    assert!(
        e.contains("ports.web[0]: \"http\" is not a port number"),
        "{e}"
    );
}

#[test]
fn node_port_outside_the_default_range_is_a_warning() {
    let app = ok(&with(
        "  \"service_type\": \"NodePort\",\n  \"ports\": {\"web\": [80, 8080]}",
    ));
    let w = app
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(w.contains("warning: app.json:7:25: ports.web[1]: nodePort 8080 is outside the default NodePort range 30000-32767"), "{w}");
    assert_eq!(app.spec.service.unwrap().ports[0].node_port, Some(8080));
}

#[test]
fn unparseable_allocation_time() {
    let json = format!("{HEAD}  \"allocationTime\": \"2 weeks\"\n}}\n");
    let e = error(&json);
    assert!(
        e.starts_with(
            "error: app.json:5:21: allocationTime: \"2 weeks\" is not an allocation time"
        ),
        "{e}"
    );
    assert!(e.contains("\"12h\""), "{e}");
}

#[test]
fn job_without_allocation_time() {
    let e = error(&format!("{HEAD}  \"tag\": \"1\"\n}}\n"));
    assert!(
        e.contains("allocationTime: a Job needs an allocation time"),
        "{e}"
    );
    assert!(e.contains("\"deployment\": true"), "{e}");
    // A Deployment does not need one.
    ok(&format!("{HEAD}  \"deployment\": \"true\"\n}}\n"));
}

#[test]
fn names_must_be_dns_labels() {
    let e = error(
        "{\"namespace\": \"Demo_Group\", \"chart_name\": \"a\", \"docker_image\": \"b\", \"deployment\": true}",
    );
    assert!(
        e.starts_with(
            "error: app.json:1:15: namespace: \"Demo_Group\" is not a valid DNS-1123 label"
        ),
        "{e}"
    );
    assert!(e.contains("hint: use \"demo-group\""), "{e}");
    let e = error(
        "{\"namespace\": \"demo\", \"chart_name\": \"My.App\", \"docker_image\": \"b\", \"deployment\": true}",
    );
    assert!(
        e.contains("chart_name: \"My.App\" is not a valid DNS-1123 label"),
        "{e}"
    );
}

#[test]
fn full_name_over_63_characters() {
    let long = "a".repeat(60);
    let e = error(&format!(
        "{{\"namespace\": \"demo\", \"chart_name\": \"{long}\", \"docker_image\": \"b\", \"deployment\": true}}"
    ));
    assert!(
        e.contains(&format!(
            "chart_name: the full name \"{long}-mkg\" is 64 characters, over the 63"
        )),
        "{e}"
    );
    assert!(e.contains("at most 59"), "{e}");
}

#[test]
fn missing_mount_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.json");
    std::fs::write(
        &path,
        "{\"namespace\": \"demo\", \"chart_name\": \"a\", \"docker_image\": \"b\", \"deployment\": true,\n \"mount_files\": {\"cfg\": [\"missing.yaml\", \"/etc/cfg.yaml\"]}}\n",
    )
    .unwrap();
    let app = load(&path, LoadOptions::default()).expect("the config itself is valid");
    let err = app.read_mount_files().unwrap_err();
    let e = err.diagnostics()[0].to_string();
    assert!(
        e.contains(":2:26: mount_files.cfg[0]: cannot read \"missing.yaml\""),
        "{e}"
    );
    assert!(
        e.contains(&dir.path().join("missing.yaml").display().to_string()),
        "names the resolved path: {e}"
    );
    // Present files are read relative to the config's folder.
    std::fs::write(dir.path().join("missing.yaml"), "x: 1\n").unwrap();
    let files = app.read_mount_files().unwrap();
    assert_eq!(files["missing.yaml"], b"x: 1\n");
}

#[test]
fn ingress_needs_host_and_port() {
    let e = error(&with(
        "  \"ports\": {\"http\": [80]},\n  \"ingress\": {\"port\": 80, \"nginx_issuer\": \"x\", \"oauth_url\": \"y\"}",
    ));
    assert!(
        e.starts_with("error: app.json:7:14: ingress.host: an ingress needs a host"),
        "{e}"
    );
    let e = error(&with(
        "  \"ports\": {\"http\": [80]},\n  \"ingress\": {\"host\": \"a.example.org\", \"nginx_issuer\": \"x\", \"oauth_url\": \"y\"}",
    ));
    assert!(
        e.contains("ingress.port: an ingress needs the Service port to expose"),
        "{e}"
    );
    let e = error(&with(
        "  \"ports\": {\"http\": [80]},\n  \"ingress\": {\"host\": \"a.example.org\", \"port\": 8080, \"nginx_issuer\": \"x\", \"oauth_url\": \"y\"}",
    ));
    assert!(
        e.contains("ingress.port: port 8080 is not one of the Service ports"),
        "{e}"
    );
}

#[test]
fn ingress_with_both_nginx_and_traefik() {
    let e = error(&with(
        "  \"ports\": {\"http\": [80]},\n  \"ingress\": {\"host\": \"a.example.org\", \"port\": 80, \"nginx_issuer\": \"x\", \"traefik_resolver\": \"y\"}",
    ));
    assert!(
        e.starts_with("error: app.json:7:14: ingress: both NGINX"),
        "{e}"
    );
}

#[test]
fn bad_enumerations_suggest_the_right_spelling() {
    let e = error(&with(
        "  \"service_type\": \"Nodeport\",\n  \"ports\": {\"http\": [80]}",
    ));
    assert!(
        e.contains("service_type: \"Nodeport\" is not a Service type"),
        "{e}"
    );
    assert!(e.contains("did you mean \"NodePort\"?"), "{e}");
    let e = error(&with(
        "  \"persistent_volume\": [{\"mountPath\": \"/d\", \"size\": \"1Gi\", \"access_mode\": \"ReadWriteOne\"}]",
    ));
    assert!(e.contains("did you mean \"ReadWriteOnce\"?"), "{e}");
    let e = error(&format!("{HEAD}  \"deployment\": \"yes\"\n}}\n"));
    assert!(
        e.contains("deployment: \"yes\" is neither true nor false"),
        "{e}"
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let diags = errors_of(&with(
        "  \"memory_request\": \"4GB\",\n  \"cpu_request\": \"lots\",\n  \"ports\": {\"web\": [0]}",
    ));
    let paths: Vec<String> = diags.iter().map(|d| d.path.to_string()).collect();
    assert_eq!(paths, ["memory_request", "cpu_request", "ports.web[0]"]);
}

#[test]
fn yaml_app_configs_are_located_too() {
    let yaml = "namespace: demo\nchart_name: app\ndocker_image: busybox\ndeployment: true\npersistent_volume:\n  - mountPath: /data\n    size: 4GB\n    access_mode: ReadWriteOnce\n";
    let err = load_str("app.yaml", yaml, LoadOptions::default()).unwrap_err();
    let e = err.diagnostics()[0].to_string();
    assert!(
        e.starts_with(
            "error: app.yaml:7:11: persistent_volume[0].size: \"4GB\" is not a Kubernetes quantity"
        ),
        "{e}"
    );
}

#[test]
fn unreadable_file_is_a_read_error() {
    let err = load(
        std::path::Path::new("/nonexistent/app.json"),
        LoadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, SpecError::Read { .. }));
    assert_eq!(
        err.to_string(),
        "cannot read app config file /nonexistent/app.json"
    );
}

#[test]
fn env_set_twice_is_an_error() {
    let e = error(&with(
        "  \"user_secret\": [\"s\"],\n  \"user_secret_params\": [\"user\"],\n  \"env_variables\": {\"user\": \"x\"}",
    ));
    assert!(
        e.contains("env_variables.user: \"user\" is also set from user_secret_params"),
        "{e}"
    );
}

/// Amounts no API server accepts, and images or tags a shell would interpret, are
/// refused with their field (issue 9: they were rendered).
#[test]
fn negative_or_absurd_amounts_and_injected_images_are_refused() {
    for (fields, field, found) in [
        ("\"cpu_request\": \"-1\"", "cpu_request", "negative"),
        ("\"memory_request\": \"-4Gi\"", "memory_request", "negative"),
        ("\"cpu_request\": \"1e400\"", "cpu_request", "too large"),
        (
            "\"persistent_volume\": [{\"mountPath\": \"/d\", \"size\": \"-100Gi\", \"access_mode\": \"ReadWriteOnce\", \"pvc_type\": \"x\"}]",
            "persistent_volume[0].size",
            "negative",
        ),
        ("\"tag\": \"1.0$(reboot)\"", "tag", "'$' is not allowed"),
    ] {
        let e = error(&with(&format!("\"deployment\": true, {fields}")));
        assert!(e.contains(&format!(": {field}: ")), "{fields}: {e}");
        assert!(e.contains(found), "{fields}: {e}");
    }
    let e = error(&with("\"deployment\": true").replace("\"busybox\"", "\"busybox$(id)\""));
    assert!(e.contains("docker_image"), "{e}");
    assert!(e.contains("not an image reference"), "{e}");
}

/// An app cannot be deployed into the cluster's own namespaces.
#[test]
fn an_app_in_a_system_namespace_is_refused() {
    for ns in ["kube-system", "kube-public", "maia-system"] {
        let e = error(&with("\"deployment\": true").replace("\"demo\"", &format!("\"{ns}\"")));
        assert!(e.contains(": namespace: "), "{e}");
        assert!(e.contains("the cluster's own namespace"), "{e}");
    }
}
