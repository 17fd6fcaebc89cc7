//! Everything maia renders, checked against the schemas of what reads it, for every
//! golden scenario and every app example:
//!
//! - each Kubernetes object against its Kubernetes 1.33 OpenAPI definition, strictly
//!   (an unknown or misspelt field fails, as with server-side field validation
//!   `Strict`), except where Kubernetes itself allows any key (labels, annotations,
//!   data, resource maps);
//! - the custom resources (the MinIO `Tenant`, the Traefik `Middleware`) against their
//!   CRD's schema, strictly where the CRD does not keep unknown fields, and their
//!   metadata against `ObjectMeta`;
//! - each Helm release's values, merged over the chart's `values.yaml` as Helm merges
//!   them, against the chart's own values schema.
//!
//! The schemas and where they come from are in `tests/schemas/README.md`. They are
//! public data fetched from the projects that publish them, which developers do not
//! commit: the tests read them from `MAIA_SCHEMAS_DIR`, else from `shared/schemas/`
//! beside the repository, else from an uncommitted copy in `tests/schemas/`, and say
//! that they were skipped when none is there.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use maia::workspace::Rendered;
use maia_render::Object;
use maia_render::workspace::HelmRelease;
use serde_json::{Value, json};

use common::{GROUP, MAIA, NGINX, TRAEFIK};

const K8S_DEFINITIONS: &str = "k8s-1.33-definitions.json";
const TENANT_CRD: &str = "minio-operator-v6.0.4.tenants.crd.yaml";
const MIDDLEWARE_CRD: &str = "traefik-chart-v39.0.9.middlewares.crd.yaml";
const Z2JH_SCHEMA: &str = "z2jh-3.1.0.values.schema.yaml";
const Z2JH_DEFAULTS: &str = "z2jh-3.1.0.values.yaml";
const LABEL_STUDIO_SCHEMA: &str = "label-studio-1.4.0.values.schema.json";
const LABEL_STUDIO_DEFAULTS: &str = "label-studio-1.4.0.values.yaml";
const ALL: [&str; 7] = [
    K8S_DEFINITIONS,
    TENANT_CRD,
    MIDDLEWARE_CRD,
    Z2JH_SCHEMA,
    Z2JH_DEFAULTS,
    LABEL_STUDIO_SCHEMA,
    LABEL_STUDIO_DEFAULTS,
];

/// The folder holding every schema file, if there is one.
fn schema_dir() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("MAIA_SCHEMAS_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            here.join("../../../shared/schemas"),
            here.join("tests/schemas"),
        ])
        .find(|d| ALL.iter().all(|f| d.join(f).is_file()))
}

/// False (after saying so) when the schema files are not on this machine.
fn available() -> bool {
    let found = schema_dir().is_some();
    if !found {
        eprintln!(
            "skipped: the schema files are not here (set MAIA_SCHEMAS_DIR, or see tests/schemas/README.md)"
        );
    }
    found
}

/// One schema file's text.
fn data(name: &str) -> String {
    let dir = schema_dir().expect("checked by available()");
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Charts whose pinned version publishes no values schema: their values are checked by
/// nothing here (the oauth2-proxy chart 7.7.1 has no `values.schema.json`).
const CHARTS_WITHOUT_SCHEMA: &[(&str, &str)] = &[("oauth2-proxy", "7.7.1")];

/// Kinds maia renders whose definitions the shared Kubernetes 1.33 file does not hold
/// yet: its trim (tests/schemas/trim_openapi.py) gained them after the file was laid in
/// shared/, which only the steering side can refresh. Until then such an object is named
/// on stderr as unchecked; once the file has the kind, it is checked like every other.
const KINDS_AWAITING_SHARED_SCHEMA: &[(&str, &str)] = &[
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
    ),
];

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

// ---------------------------------------------------------------------------------------
// The schemas, compiled once per test run.

struct Schemas {
    /// (apiVersion, kind) → the validator of its definition.
    kinds: BTreeMap<(String, String), Validator>,
    object_meta: Validator,
    /// Custom resources: (apiVersion, kind) → the CRD's `openAPIV3Schema`.
    custom: BTreeMap<(String, String), Validator>,
    /// Chart name → its pinned version, defaults and values schema.
    charts: BTreeMap<&'static str, Chart>,
}

struct Chart {
    version: &'static str,
    defaults: Value,
    schema: Validator,
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let definitions = k8s_definitions();
        let mut kinds = BTreeMap::new();
        for (name, definition) in definitions.as_object().expect("definitions are a map") {
            for gvk in definition["x-kubernetes-group-version-kind"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let (group, version) = (gvk["group"].as_str(), gvk["version"].as_str());
                let api_version = match (group, version) {
                    (Some(""), Some(v)) => v.to_string(),
                    (Some(g), Some(v)) => format!("{g}/{v}"),
                    _ => panic!("{name}: malformed x-kubernetes-group-version-kind"),
                };
                let kind = gvk["kind"].as_str().expect("gvk kind").to_string();
                kinds.insert((api_version, kind), k8s_validator(&definitions, name));
            }
        }
        Schemas {
            kinds,
            object_meta: k8s_validator(&definitions, OBJECT_META),
            custom: BTreeMap::from([
                crd_validator(&data(TENANT_CRD), "v2"),
                crd_validator(&data(MIDDLEWARE_CRD), "v1alpha1"),
            ]),
            charts: BTreeMap::from([
                (
                    "jupyterhub",
                    chart(
                        "3.1.0",
                        &data(Z2JH_DEFAULTS),
                        yaml(&data(Z2JH_SCHEMA), "z2jh schema"),
                    ),
                ),
                (
                    "label-studio",
                    chart(
                        "1.4.0",
                        &data(LABEL_STUDIO_DEFAULTS),
                        serde_json::from_str(&data(LABEL_STUDIO_SCHEMA))
                            .expect("label-studio schema"),
                    ),
                ),
            ]),
        }
    })
}

fn yaml(text: &str, what: &str) -> Value {
    yaml_serde::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The trimmed Kubernetes definitions, adapted to JSON Schema: `IntOrString` (a
/// `string` of format `int-or-string` in OpenAPI) takes an integer or a string, and
/// every object schema is strict.
fn k8s_definitions() -> Value {
    let mut document: Value =
        serde_json::from_str(&data(K8S_DEFINITIONS)).expect("k8s definitions");
    let mut definitions = document["definitions"].take();
    definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] =
        json!({"type": ["integer", "string"]});
    strict(&mut definitions, true);
    definitions
}

fn k8s_validator(definitions: &Value, name: &str) -> Validator {
    let schema = json!({
        "allOf": [{"$ref": format!("#/definitions/{name}")}],
        "definitions": definitions,
    });
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The CRD's schema of `version`, strict where it does not keep unknown fields, with
/// OpenAPI's `nullable` written as JSON Schema's null type.
fn crd_validator(crd_text: &str, version: &str) -> ((String, String), Validator) {
    let crd = yaml(crd_text, "CRD");
    let group = crd["spec"]["group"].as_str().expect("CRD group");
    let kind = crd["spec"]["names"]["kind"].as_str().expect("CRD kind");
    let served = crd["spec"]["versions"]
        .as_array()
        .expect("CRD versions")
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("the {kind} CRD has no version {version}"));
    let mut schema = served["schema"]["openAPIV3Schema"].clone();
    assert!(schema.is_object(), "{kind} {version}: no openAPIV3Schema");
    nullable(&mut schema);
    strict(&mut schema, false);
    let validator = jsonschema::options()
        .with_draft(Draft::Draft4)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{kind} CRD: {e}"));
    ((format!("{group}/{version}"), kind.to_string()), validator)
}

fn chart(version: &'static str, defaults: &str, schema: Value) -> Chart {
    let schema = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("values schema of chart {version}: {e}"));
    Chart {
        version,
        defaults: yaml(defaults, "chart defaults"),
        schema,
    }
}

/// Makes every object schema that lists its `properties` reject other fields, as the
/// API server's strict field validation does, unless it says itself what else it takes
/// (`additionalProperties`: the free-form maps) or, in a CRD, that unknown fields are
/// kept (`x-kubernetes-preserve-unknown-fields`). `definitions` says whether `node`
/// is a map of named schemas rather than a schema.
fn strict(node: &mut Value, definitions: bool) {
    let Value::Object(map) = node else { return };
    if definitions {
        map.values_mut().for_each(|s| strict(s, false));
        return;
    }
    let preserves = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if map.contains_key("properties") && !map.contains_key("additionalProperties") && !preserves {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (keyword, value) in map.iter_mut() {
        match keyword.as_str() {
            "properties" | "definitions" | "patternProperties" => strict(value, true),
            "additionalProperties" | "items" | "not" => match value {
                Value::Array(schemas) => schemas.iter_mut().for_each(|s| strict(s, false)),
                schema => strict(schema, false),
            },
            "allOf" | "anyOf" | "oneOf" => {
                if let Value::Array(schemas) = value {
                    schemas.iter_mut().for_each(|s| strict(s, false));
                }
            }
            _ => {}
        }
    }
}

/// OpenAPI's `nullable: true` as JSON Schema: null is one of the node's types.
fn nullable(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true))
                && let Some(Value::String(ty)) = map.get("type")
            {
                let ty = json!([ty, "null"]);
                map.insert("type".into(), ty);
            }
            map.values_mut().for_each(nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable),
        _ => {}
    }
}

/// Helm's coalescing of the values given over the chart's defaults: maps merge key by
/// key, a `null` given deletes the default, anything else given replaces the default.
fn helm_merge(defaults: &Value, given: &Value) -> Value {
    match (defaults, given) {
        (Value::Object(defaults), Value::Object(given)) => {
            let mut merged = defaults.clone();
            for (key, value) in given {
                if value.is_null() {
                    merged.remove(key);
                    continue;
                }
                let value = match defaults.get(key) {
                    Some(default) => helm_merge(default, value),
                    None => value.clone(),
                };
                merged.insert(key.clone(), value);
            }
            Value::Object(merged)
        }
        (_, given) => given.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// The checks. Each returns its findings, one line each, naming the scenario, the object
// or release, the JSON path and what is wrong.

fn errors(validator: &Validator, instance: &Value, at: &str, prefix: &str) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| {
            let mut what = e.to_string();
            if what.len() > 400 {
                let cut = (0..=400)
                    .rev()
                    .find(|i| what.is_char_boundary(*i))
                    .unwrap_or(0);
                what.truncate(cut);
                what.push('…');
            }
            let path = format!("{at}{}", e.instance_path());
            let path = if path.is_empty() { "/" } else { &path };
            format!("{prefix}: at {path}: {what}")
        })
        .collect()
}

fn check_object(scenario: &str, object: &Object) -> Vec<String> {
    let schemas = schemas();
    let key = (object.api_version().to_string(), object.kind().to_string());
    let what = format!("{scenario}: {}/{}", object.kind(), object.name());
    let json = object.to_json().unwrap_or_else(|e| panic!("{what}: {e}"));
    if let Some(validator) = schemas.kinds.get(&key) {
        return errors(validator, &json, "", &what);
    }
    if let Some(validator) = schemas.custom.get(&key) {
        let mut found = errors(validator, &json, "", &what);
        found.extend(errors(
            &schemas.object_meta,
            &json["metadata"],
            "/metadata",
            &what,
        ));
        return found;
    }
    if KINDS_AWAITING_SHARED_SCHEMA.contains(&(key.0.as_str(), key.1.as_str())) {
        eprintln!(
            "unchecked: {what}: the shared Kubernetes definitions lack {} {} (regenerate them with tests/schemas/trim_openapi.py)",
            key.0, key.1
        );
        return Vec::new();
    }
    vec![format!(
        "{what}: no schema for {} {} (vendor it under tests/schemas/)",
        key.0, key.1
    )]
}

fn check_release(scenario: &str, release: &HelmRelease) -> Vec<String> {
    let what = format!(
        "{scenario}: helm release {} (chart {} {})",
        release.release, release.chart, release.version
    );
    let Some(chart) = schemas().charts.get(release.chart.as_str()) else {
        if CHARTS_WITHOUT_SCHEMA.contains(&(release.chart.as_str(), release.version.as_str())) {
            return Vec::new();
        }
        return vec![format!(
            "{what}: no values schema vendored for this chart and version"
        )];
    };
    if chart.version != release.version {
        return vec![format!(
            "{what}: the vendored values schema is of version {}; vendor the pinned one",
            chart.version
        )];
    }
    let merged = helm_merge(&chart.defaults, &release.values);
    errors(&chart.schema, &merged, "", &what)
}

/// The values file helm is given reads back as the values checked.
fn check_values_file(scenario: &str, rendered: &Rendered, release: &HelmRelease) -> Vec<String> {
    let path = PathBuf::from(format!("helm/{}.values.yaml", release.release));
    let Some(file) = rendered.files.iter().find(|f| f.path == path) else {
        return vec![format!(
            "{scenario}: helm release {}: no file {}",
            release.release,
            path.display()
        )];
    };
    match yaml_serde::from_str::<Value>(&file.text) {
        Ok(read) if read == release.values => Vec::new(),
        Ok(_) => vec![format!(
            "{scenario}: {} does not read back as the release's values",
            path.display()
        )],
        Err(e) => vec![format!("{scenario}: {}: {e}", path.display())],
    }
}

fn check_workspace(scenario: &str, rendered: &Rendered) -> Vec<String> {
    let mut findings = Vec::new();
    let mut objects = 0;
    for object in rendered.bundle.objects() {
        findings.extend(check_object(scenario, object));
        objects += 1;
    }
    assert!(objects > 0, "{scenario}: nothing rendered");
    for release in rendered.bundle.components.iter().flat_map(|c| &c.helm) {
        findings.extend(check_release(scenario, release));
        findings.extend(check_values_file(scenario, rendered, release));
    }
    findings
}

fn assert_no_findings(findings: Vec<String>) {
    assert!(
        findings.is_empty(),
        "{} schema finding(s):\n{}",
        findings.len(),
        findings.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// The golden scenarios (as in bundle_golden.rs).

#[test]
fn full_subdomain_nginx_nodeport() {
    if !available() {
        return;
    }
    let rendered = common::render(GROUP, NGINX, None, false);
    assert_no_findings(check_workspace("full_subdomain_nginx_nodeport", &rendered));
}

#[test]
fn full_subpath_traefik_loadbalancer() {
    if !available() {
        return;
    }
    let rendered = common::render(GROUP, TRAEFIK, Some(MAIA), false);
    assert_no_findings(check_workspace(
        "full_subpath_traefik_loadbalancer",
        &rendered,
    ));
}

#[test]
fn minimal() {
    if !available() {
        return;
    }
    let rendered = common::render(GROUP, NGINX, None, true);
    assert_no_findings(check_workspace("minimal", &rendered));
}

#[test]
fn gpu_group() {
    if !available() {
        return;
    }
    let rendered = common::render(&common::gpu_group(), NGINX, None, false);
    assert_no_findings(check_workspace("gpu_group", &rendered));
}

/// Members whose names the hub is told (issue 16): the hub's `custom` and
/// `hub.extraConfig` values, and their Services, pass the schemas.
#[test]
fn members_with_long_and_plus_addresses() {
    if !available() {
        return;
    }
    let group = GROUP.replace(
        "  - alice@example.org\n",
        "  - anna-karin.lindqvist-johansson@sll.karolinska.se\n  - alice+maia@example.org\n",
    );
    assert_ne!(group, GROUP);
    let rendered = common::render(&group, NGINX, None, false);
    let hub = rendered
        .bundle
        .components
        .iter()
        .flat_map(|c| &c.helm)
        .find(|h| h.chart == "jupyterhub")
        .unwrap();
    assert!(hub.values["hub"]["extraConfig"].is_object());
    assert_no_findings(check_workspace(
        "members_with_long_and_plus_addresses",
        &rendered,
    ));
}

/// Every scenario's releases, so none of the charts goes unchecked by accident.
#[test]
fn every_chart_is_checked_or_known_to_publish_no_schema() {
    if !available() {
        return;
    }
    let rendered = common::render(GROUP, TRAEFIK, Some(MAIA), false);
    let charts: Vec<(&str, &str)> = rendered
        .bundle
        .components
        .iter()
        .flat_map(|c| &c.helm)
        .map(|r| (r.chart.as_str(), r.version.as_str()))
        .collect();
    for (chart, version) in &charts {
        let checked = schemas()
            .charts
            .get(chart)
            .is_some_and(|c| c.version == *version);
        assert!(
            checked || CHARTS_WITHOUT_SCHEMA.contains(&(chart, version)),
            "chart {chart} {version} has no vendored values schema"
        );
    }
    assert!(charts.iter().any(|(c, _)| *c == "jupyterhub"));
    assert!(charts.iter().any(|(c, _)| *c == "label-studio"));
}

// ---------------------------------------------------------------------------------------
// The app examples.

fn app_examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/app");
    let mut configs = Vec::new();
    let mut mounted = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples/app") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let config: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("readable"))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for file in config["mount_files"].as_object().into_iter().flatten() {
                if let Some(name) = file.1[0].as_str() {
                    mounted.push(dir.join(name));
                }
            }
            configs.push(path);
        }
    }
    // A JSON file another example mounts (labels.json) is data, not an app config.
    configs.retain(|p| !mounted.contains(p));
    configs.sort();
    configs
}

#[test]
fn app_examples_validate() {
    if !available() {
        return;
    }
    let examples = app_examples();
    assert!(examples.len() >= 4, "{examples:?}");
    let mut findings = Vec::new();
    for path in &examples {
        let name = format!(
            "examples/app/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let loaded = maia_spec::app::load(path, maia_spec::LoadOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let files = loaded
            .read_mount_files()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let objects = maia_render::app::render(&loaded.spec, &files)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!objects.is_empty(), "{name}: nothing rendered");
        for object in &objects {
            findings.extend(check_object(&name, object));
        }
    }
    assert_no_findings(findings);
}

// ---------------------------------------------------------------------------------------
// The checks bite: a misspelt field fails, a free-form map does not.

fn first_of_kind(rendered: &Rendered, kind: &str) -> Object {
    rendered
        .bundle
        .objects()
        .find(|o| o.kind() == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
        .clone()
}

#[test]
fn strictness_rejects_unknown_fields_and_keeps_free_form_maps() {
    if !available() {
        return;
    }
    let schemas = schemas();
    let rendered = common::render(GROUP, NGINX, None, false);
    let deployment = first_of_kind(&rendered, "Deployment").to_json().unwrap();
    let validator = &schemas.kinds[&("apps/v1".to_string(), "Deployment".to_string())];
    assert!(validator.is_valid(&deployment));

    let mut misspelt = deployment.clone();
    misspelt["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = json!("Always");
    let found = errors(validator, &misspelt, "", "t");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("/spec/template/spec/containers/0")
            && found[0].contains("imagePullPolicyy"),
        "{found:?}"
    );

    // Labels, annotations and resource maps take any key.
    let mut free = deployment.clone();
    free["metadata"]["labels"]["any.example.org/key"] = json!("v");
    free["metadata"]["annotations"] = json!({"note": "x"});
    free["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["example.org/widget"] =
        json!("1");
    assert!(
        validator.is_valid(&free),
        "{:?}",
        errors(validator, &free, "", "t")
    );

    // A port given as a number where Kubernetes takes int-or-string passes; a boolean fails.
    let service = first_of_kind(&rendered, "Service").to_json().unwrap();
    let service_validator = &schemas.kinds[&("v1".to_string(), "Service".to_string())];
    let mut numeric = service.clone();
    numeric["spec"]["ports"][0]["targetPort"] = json!(8080);
    assert!(service_validator.is_valid(&numeric));
    numeric["spec"]["ports"][0]["targetPort"] = json!(true);
    assert!(!service_validator.is_valid(&numeric));

    // The Tenant: an unknown spec field fails, and so does unknown metadata.
    let tenant = first_of_kind(&rendered, "Tenant");
    assert!(check_object("t", &tenant).is_empty());
    let Object::Custom(mut custom) = tenant else {
        panic!("a Tenant is a custom object")
    };
    custom.body["spec"]["poolz"] = json!([]);
    let found = check_object("t", &Object::Custom(custom));
    assert!(
        found.len() == 1 && found[0].contains("at /spec:") && found[0].contains("poolz"),
        "{found:?}"
    );
    let metadata = json!({"name": "t", "labels": {"a": "b"}, "lables": {"a": "b"}});
    let found = errors(&schemas.object_meta, &metadata, "/metadata", "t");
    assert!(
        found.len() == 1 && found[0].contains("at /metadata:") && found[0].contains("lables"),
        "{found:?}"
    );
}

#[test]
fn chart_schemas_reject_unknown_keys_and_accept_their_own_defaults() {
    if !available() {
        return;
    }
    let schemas = schemas();
    for (name, chart) in &schemas.charts {
        let found = errors(&chart.schema, &chart.defaults, "", name);
        assert!(found.is_empty(), "{name} defaults: {found:?}");
    }
    let z2jh = &schemas.charts["jupyterhub"];
    let given = json!({"singleuser": {"extraEnvv": {"A": "b"}}, "hub": {"db": {"pvc": null}}});
    let merged = helm_merge(&z2jh.defaults, &given);
    assert!(
        merged["hub"]["db"].get("pvc").is_none(),
        "null deletes a default"
    );
    assert!(
        merged["hub"]["db"]["type"].is_string(),
        "the rest of a map is kept"
    );
    let found = errors(&z2jh.schema, &merged, "", "z2jh");
    assert!(
        found
            .iter()
            .any(|f| f.contains("/singleuser") && f.contains("extraEnvv")),
        "{found:?}"
    );
}

#[test]
fn helm_merge_merges_maps_and_replaces_the_rest() {
    let defaults = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x", "e": {"f": 1}});
    let given = json!({"a": {"c": [3]}, "d": {"g": 1}, "e": null, "h": null});
    assert_eq!(
        helm_merge(&defaults, &given),
        json!({"a": {"b": 1, "c": [3]}, "d": {"g": 1}})
    );
}

// ---------------------------------------------------------------------------------------
// The GitOps hand-over: Argo CD's own CRDs (argoproj/argo-cd v3.5.1, Apache-2.0).

const ARGO_APPLICATION_CRD: &str = "argocd-v3.5.1.application-crd.yaml";
const ARGO_APPLICATIONSET_CRD: &str = "argocd-v3.5.1.applicationset-crd.yaml";

/// The Application of every golden scenario, and the fleet's ApplicationSet, validate
/// against Argo CD's CRDs (strict where the CRDs do not keep unknown fields).
#[test]
fn argo_cd_applications_validate_against_the_argo_cd_crds() {
    let Some(dir) = schema_dir().filter(|d| {
        [ARGO_APPLICATION_CRD, ARGO_APPLICATIONSET_CRD]
            .iter()
            .all(|f| d.join(f).is_file())
    }) else {
        eprintln!("skipped: the Argo CD CRDs are not here (see tests/schemas/README.md)");
        return;
    };
    use maia_render::workspace::gitops::{GitOps, application, application_set};
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let (_, app_schema) = crd_validator(&read(ARGO_APPLICATION_CRD), "v1alpha1");
    let (_, set_schema) = crd_validator(&read(ARGO_APPLICATIONSET_CRD), "v1alpha1");
    let git = GitOps {
        repo_url: "https://git.example.org/maia/fleet.git".into(),
        repo_path: "clusters/prod".into(),
        target_revision: "main".into(),
        automated: true,
        prune: true,
        self_heal: false,
    };
    let gpu = common::gpu_group();
    let mut findings = Vec::new();
    for (name, group, cluster, maia, minimal) in [
        ("full_subdomain_nginx_nodeport", GROUP, NGINX, None, false),
        (
            "full_subpath_traefik_loadbalancer",
            GROUP,
            TRAEFIK,
            Some(MAIA),
            false,
        ),
        ("minimal", GROUP, NGINX, None, true),
        ("gpu_group", gpu.as_str(), NGINX, None, false),
    ] {
        let rendered = common::render(group, cluster, maia, minimal);
        let spec = maia_spec::workspace::load::load_str(
            maia_spec::workspace::load::WorkspaceTexts {
                group: ("group.yaml", group),
                cluster: ("cluster.yaml", cluster),
                maia: maia.map(|m| ("maia.yaml", m)),
            },
            minimal,
            maia_spec::LoadOptions::default(),
        )
        .unwrap()
        .spec;
        let app = application(&spec, &rendered.bundle, &git)
            .to_json()
            .unwrap();
        findings.extend(errors(
            &app_schema,
            &app,
            "",
            &format!("{name}: Application"),
        ));
        let set = application_set(&rendered.bundle, &git).to_json().unwrap();
        findings.extend(errors(
            &set_schema,
            &set,
            "",
            &format!("{name}: ApplicationSet"),
        ));
    }
    // The check can fail: a misspelt field is refused.
    let spec = maia_spec::workspace::load::load_str(
        maia_spec::workspace::load::WorkspaceTexts {
            group: ("group.yaml", GROUP),
            cluster: ("cluster.yaml", NGINX),
            maia: None,
        },
        false,
        maia_spec::LoadOptions::default(),
    )
    .unwrap()
    .spec;
    let rendered = common::render(GROUP, NGINX, None, false);
    let mut wrong = application(&spec, &rendered.bundle, &git)
        .to_json()
        .unwrap();
    wrong["spec"]["syncPolicy"]["automatic"] = json!({});
    assert!(!errors(&app_schema, &wrong, "", "wrong").is_empty());
    assert_no_findings(findings);
}

// ---------------------------------------------------------------------------------------
// The portal's objects (`maia serve --print-manifests`).

/// Kinds of the portal whose definitions the shared file lacks (they are in
/// trim_openapi.py's roots now): checked by their parts, which it holds (ObjectMeta,
/// PolicyRule, RoleRef, Subject), and their top-level fields, until it has them.
/// `(apiVersion, kind, its own top-level fields, (field, definition of it or its items))`.
type KindByParts = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

const PORTAL_KINDS_BY_PARTS: &[KindByParts] = &[
    (
        "v1",
        "ServiceAccount",
        &[
            "automountServiceAccountToken",
            "imagePullSecrets",
            "secrets",
        ],
        &[],
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        &["rules", "aggregationRule"],
        &[("rules", "io.k8s.api.rbac.v1.PolicyRule")],
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        &["roleRef", "subjects"],
        &[
            ("roleRef", "io.k8s.api.rbac.v1.RoleRef"),
            ("subjects", "io.k8s.api.rbac.v1.Subject"),
        ],
    ),
];

fn check_portal_object(
    definitions: &Value,
    scenario: &str,
    (api_version, kind, json): &(&str, &str, Value),
) -> Vec<String> {
    let schemas = schemas();
    let what = format!("{scenario}: {kind}/{}", json["metadata"]["name"]);
    let key = (api_version.to_string(), kind.to_string());
    if let Some(validator) = schemas.kinds.get(&key) {
        return errors(validator, json, "", &what);
    }
    let Some((_, _, fields, parts)) = PORTAL_KINDS_BY_PARTS
        .iter()
        .find(|(v, k, _, _)| v == api_version && k == kind)
    else {
        return vec![format!("{what}: no schema for {api_version} {kind}")];
    };
    let mut found = errors(&schemas.object_meta, &json["metadata"], "/metadata", &what);
    for field in json.as_object().into_iter().flat_map(|m| m.keys()) {
        if !["apiVersion", "kind", "metadata"].contains(&field.as_str())
            && !fields.contains(&field.as_str())
        {
            found.push(format!("{what}: unknown field {field}"));
        }
    }
    for (field, definition) in *parts {
        let validator = k8s_validator(definitions, definition);
        match &json[*field] {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    found.extend(errors(&validator, item, &format!("/{field}/{i}"), &what));
                }
            }
            Value::Null => found.push(format!("{what}: {field} is missing")),
            item => found.extend(errors(&validator, item, &format!("/{field}"), &what)),
        }
    }
    found
}

#[test]
fn the_portals_objects() {
    if !available() {
        return;
    }
    let definitions = k8s_definitions();
    let mut findings = Vec::new();
    let options = maia_portal::ManifestOptions {
        namespace: "maia-system".into(),
        image: "ghcr.io/maia-rs/maia:0.1.0".into(),
    };
    let mut last = None;
    for (scenario, cluster) in [("portal_nginx", NGINX), ("portal_traefik", TRAEFIK)] {
        let text = format!(
            "{cluster}\nportal:\n  url: https://maia.example.org\n  client_id: maia-portal\n"
        );
        let (spec, _) = maia_spec::workspace::load::check_cluster_text(
            ("cluster.yaml", &text),
            maia_spec::workspace::cluster::Install::Full,
            None,
            maia_spec::LoadOptions::default(),
        )
        .unwrap();
        let portal = spec.portal.clone().unwrap();
        let objects = maia_portal::manifests(&spec, &portal, &options)
            .to_json()
            .unwrap();
        assert_eq!(objects.len(), 6, "{scenario}");
        for object in &objects {
            findings.extend(check_portal_object(&definitions, scenario, object));
        }
        last = Some(objects);
    }
    assert_no_findings(findings);
    // The checks can fail: a misspelt field of a rule, or at the top, is refused.
    let mut objects = last.unwrap();
    let role = objects.iter_mut().find(|o| o.1 == "ClusterRole").unwrap();
    role.2["rules"][0]["verb"] = json!(["get"]);
    role.2["rule"] = json!([]);
    let found = check_portal_object(&definitions, "wrong", role);
    assert_eq!(found.len(), 2, "{found:#?}");
    let deployment = objects.iter_mut().find(|o| o.1 == "Deployment").unwrap();
    deployment.2["spec"]["replica"] = json!(1);
    assert!(!check_portal_object(&definitions, "wrong", deployment).is_empty());
}
