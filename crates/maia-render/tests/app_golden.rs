//! Golden tests of custom-application rendering: every row of spec/app.md, both
//! workloads, every ingress flavour and Service type, and the seeds' own configs.
//! A snapshot is the exact YAML `maia app render` prints.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maia_render::{Object, app, to_yaml_stream};
use maia_spec::LoadOptions;
use maia_spec::app::{AppSpec, MountFileContents};

fn spec(json: &str) -> AppSpec {
    match maia_spec::app::load_str("app.json", json, LoadOptions::default()) {
        Ok(app) => app.spec,
        Err(e) => panic!("{e}: {:#?}", e.diagnostics()),
    }
}

fn render(json: &str, files: &[(&str, &[u8])]) -> Vec<Object> {
    let files: MountFileContents = files
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
    app::render(&spec(json), &files).expect("renders")
}

fn yaml(json: &str) -> String {
    to_yaml_stream(&render(json, &[])).expect("serialises")
}

fn example(name: &str) -> String {
    let path = format!("{}/../../examples/app/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn kinds(objects: &[Object]) -> Vec<String> {
    objects
        .iter()
        .map(|o| format!("{}/{}", o.kind(), o.name()))
        .collect()
}

#[test]
fn readme_example_is_a_job_with_a_claim_and_a_service() {
    let objects = render(&example("jupyterlab.json"), &[]);
    assert_eq!(
        kinds(&objects),
        [
            "PersistentVolumeClaim/jupyterlab-1-v1-mkg-claim-0",
            "Service/jupyterlab-1-v1-mkg",
            "Job/jupyterlab-1-v1-mkg"
        ]
    );
    assert!(objects.iter().all(|o| o.namespace() == Some("demo")));
    insta::assert_snapshot!("readme_example", to_yaml_stream(&objects).unwrap());
}

#[test]
fn seed_mysql_is_a_deployment() {
    insta::assert_snapshot!("seed_mysql", yaml(&example("mysql.json")));
}

#[test]
fn seed_mlflow_reads_its_user_secret() {
    insta::assert_snapshot!("seed_mlflow", yaml(&example("mlflow.json")));
}

#[test]
fn every_option_at_once() {
    let objects = render(
        &example("gpu-service.json"),
        &[
            ("train.yaml", b"epochs: 100\n"),
            ("labels.json", b"{\"1\": \"liver\"}\n"),
        ],
    );
    assert_eq!(
        kinds(&objects),
        [
            "ConfigMap/train-config",
            "Service/monai-train-mkg",
            "Job/monai-train-mkg",
            "Ingress/monai-train-mkg-ingress"
        ]
    );
    insta::assert_snapshot!(
        "gpu_nodeport_nginx_mount_files",
        to_yaml_stream(&objects).unwrap()
    );
}

const BASE: &str =
    r#""namespace": "lab", "chart_name": "web", "docker_image": "nginx", "deployment": true"#;

#[test]
fn traefik_ingress_with_middleware_and_resolver() {
    insta::assert_snapshot!(
        "traefik_loadbalancer",
        yaml(&format!(
            r#"{{ {BASE}, "service_type": "LoadBalancer", "ports": {{"http": [80, 30080]}},
              "ingress": {{"host": "web.lab.example.org", "port": "80", "path": "app",
                          "traefik_middleware": "lab-oauth2", "traefik_resolver": "letsencrypt"}} }}"#
        ))
    );
}

#[test]
fn traefik_middleware_with_a_provider_is_kept() {
    let out = yaml(&format!(
        r#"{{ {BASE}, "ports": {{"http": [80]}},
          "ingress": {{"host": "w.example.org", "port": 80, "traefik_middleware": "auth@file"}} }}"#
    ));
    assert!(out.contains("router.middlewares: auth@file\n"), "{out}");
}

#[test]
fn nginx_ingress_without_oauth_and_plain_ingress() {
    let nginx = yaml(&format!(
        r#"{{ {BASE}, "ports": {{"http": [80]}},
          "ingress": {{"host": "web.example.org", "port": 80, "path": "//docs/", "nginx_issuer": "letsencrypt"}} }}"#
    ));
    insta::assert_snapshot!("nginx_no_oauth", nginx);
    let plain = yaml(&format!(
        r#"{{ {BASE}, "ports": {{"http": [80]}}, "ingress": {{"host": "web.example.org", "port": 80}} }}"#
    ));
    insta::assert_snapshot!("plain_ingress", plain);
}

#[test]
fn cluster_ip_service_drops_node_ports_and_keeps_port_order() {
    let out = yaml(&format!(
        r#"{{ {BASE}, "ports": {{"zeta": ["9000", 30900], "alpha": [8000]}} }}"#
    ));
    assert!(!out.contains("nodePort"), "{out}");
    let zeta = out.find("name: zeta").unwrap();
    let alpha = out.find("name: alpha").unwrap();
    assert!(zeta < alpha, "ports keep file order:\n{out}");
    insta::assert_snapshot!("cluster_ip_ports", out);
}

#[test]
fn volumes_read_only_and_existing_claims() {
    insta::assert_snapshot!(
        "volumes",
        yaml(&format!(
            r#"{{ {BASE},
              "persistent_volume": [
                {{"mountPath": "/data", "size": "10Gi", "access_mode": "ReadWriteMany", "pvc_type": "nfs", "readOnly": "true"}},
                {{"mountPath": "/scratch", "size": 1000000000, "access_mode": "ReadWriteOnce"}}
              ],
              "existing_persistent_volume": [{{"name": "shared", "mountPath": "/shared"}}] }}"#
        ))
    );
}

#[test]
fn several_user_secrets_get_indexed_env_names() {
    let out = yaml(&format!(
        r#"{{ {BASE}, "user_secret": ["alice-secret", "bob-secret"], "user_secret_params": ["user", "password"],
          "env_variables": {{"A": "1"}} }}"#
    ));
    insta::assert_snapshot!("user_secrets_several", out);
}

#[test]
fn allocation_time_units_become_the_job_deadline() {
    let deadline = |t: &str| {
        let objects = render(
            &format!(
                r#"{{"namespace": "a", "chart_name": "b", "docker_image": "c", "allocationTime": {t}}}"#
            ),
            &[],
        );
        let job = objects.iter().find_map(|o| match o {
            Object::Job(j) => Some(j.clone()),
            _ => None,
        });
        job.and_then(|j| j.spec)
            .and_then(|s| s.active_deadline_seconds)
            .unwrap()
    };
    assert_eq!(deadline("\"2\""), 172_800);
    assert_eq!(deadline("2"), 172_800);
    assert_eq!(
        deadline("\"12h\""),
        43_200,
        "an hour is 3600 s (the original used 1440)"
    );
    assert_eq!(deadline("\"30m\""), 1_800);
    assert_eq!(deadline("\"45s\""), 45);
    assert_eq!(deadline("\"180d\""), 15_552_000);
}

#[test]
fn deployment_flag_accepts_booleans_and_strings() {
    let kind = |v: &str| {
        let objects = render(
            &format!(
                r#"{{"namespace": "a", "chart_name": "b", "docker_image": "c", "allocationTime": "1", "deployment": {v}}}"#
            ),
            &[],
        );
        objects.last().unwrap().kind().to_string()
    };
    assert_eq!(kind("true"), "Deployment");
    assert_eq!(kind("\"true\""), "Deployment");
    assert_eq!(kind("false"), "Job");
    assert_eq!(kind("\"false\""), "Job");
}

#[test]
fn gpu_request_sets_the_limit_and_no_gpu_hides_the_devices() {
    let gpu = yaml(
        r#"{"namespace": "a", "chart_name": "b", "docker_image": "c", "deployment": true, "gpu_request": 1}"#,
    );
    assert!(gpu.contains("nvidia.com/gpu: '1'"), "{gpu}");
    assert!(!gpu.contains("NVIDIA_VISIBLE_DEVICES"), "{gpu}");
    let none = yaml(
        r#"{"namespace": "a", "chart_name": "b", "docker_image": "c", "deployment": true, "gpu_request": "0"}"#,
    );
    assert!(!none.contains("nvidia.com/gpu"), "{none}");
    assert!(
        none.contains("name: NVIDIA_VISIBLE_DEVICES\n          value: ''"),
        "{none}"
    );
}

#[test]
fn chart_names_with_mkg_keep_their_name() {
    let out = render(
        r#"{"namespace": "a", "chart_name": "my-mkg", "docker_image": "c", "deployment": true, "ports": {"x": [1]}}"#,
        &[],
    );
    assert_eq!(kinds(&out), ["Service/my-mkg", "Deployment/my-mkg"]);
}

#[test]
fn binary_mount_files_go_to_binary_data() {
    let json = r#"{"namespace": "a", "chart_name": "b", "docker_image": "c", "deployment": true,
                   "mount_files": {"Model_Weights": ["w.bin", "/models/w.bin"], "cfg": ["c.txt", "/etc/c.txt"]}}"#;
    let objects = render(json, &[("w.bin", &[0xff, 0x00, 0x10]), ("c.txt", b"hello")]);
    let Object::ConfigMap(cm) = &objects[0] else {
        panic!("first object is the ConfigMap")
    };
    assert_eq!(cm.metadata.name.as_deref(), Some("model-weights"));
    assert_eq!(
        cm.binary_data.as_ref().unwrap()["w.bin"].0,
        vec![0xff, 0x00, 0x10]
    );
    assert_eq!(cm.data.as_ref().unwrap()["c.txt"], "hello");
}

#[test]
fn rendering_is_deterministic() {
    let json = example("mlflow.json");
    assert_eq!(yaml(&json), yaml(&json));
    let files: &[(&str, &[u8])] = &[("train.yaml", b"x"), ("labels.json", b"y")];
    let g = example("gpu-service.json");
    assert_eq!(
        to_yaml_stream(&render(&g, files)).unwrap(),
        to_yaml_stream(&render(&g, files)).unwrap()
    );
}

/// The old mkg chart renders an Ingress only when `ingress.nginx.enabled` or
/// `ingress.traefik.enabled` is true (both default to false): the compat values set
/// the flag of the flavour given, and only that one.
#[test]
fn compat_values_switch_on_the_charts_ingress_of_the_flavour_given() {
    let traefik = app::helm_values(&spec(&format!(
        r#"{{ {BASE}, "ports": {{"http": [80]}},
          "ingress": {{"host": "w.example.org", "port": 80, "traefik_resolver": "le"}} }}"#
    )));
    assert_eq!(traefik["ingress"]["traefik"]["enabled"], true);
    assert!(traefik["ingress"].get("nginx").is_none());
    let nginx = app::helm_values(&spec(&format!(
        r#"{{ {BASE}, "ports": {{"http": [80]}},
          "ingress": {{"host": "w.example.org", "port": 80, "nginx_issuer": "ca"}} }}"#
    )));
    assert_eq!(nginx["ingress"]["nginx"]["enabled"], true);
    assert!(nginx["ingress"].get("traefik").is_none());
}

#[test]
fn a_changed_mount_file_rolls_the_deployment_that_mounts_it() {
    // The files are mounted with subPath, which the kubelet never refreshes: only a
    // changed pod template brings the new content.
    let json = r#"{"namespace": "a", "chart_name": "b", "docker_image": "c", "deployment": true,
                   "mount_files": {"cfg": ["c.txt", "/etc/c.txt"]}}"#;
    let checksum = |content: &[u8]| {
        render(json, &[("c.txt", content)])
            .iter()
            .find_map(|o| match o {
                Object::Deployment(d) => d
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.metadata.as_ref())
                    .and_then(|m| m.annotations.as_ref())
                    .and_then(|a| a.get("maia.cloud/config-checksum"))
                    .cloned(),
                _ => None,
            })
    };
    let first = checksum(b"hello").expect("the Deployment carries the files' digest");
    assert_eq!(checksum(b"hello").unwrap(), first);
    assert_ne!(checksum(b"hello, again").unwrap(), first);
    assert!(!first.contains("hello"));
}
