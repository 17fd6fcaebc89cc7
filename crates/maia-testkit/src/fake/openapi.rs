//! The OpenAPI v3 documents kubectl reads (`/openapi/v3` and one per group version):
//! before `apply` it looks up, in the document of the object's group version, whether
//! the PATCH of that kind takes the `fieldValidation` parameter (then the server
//! checks fields, else kubectl wants the schemas to check them itself), and a
//! client-side apply reads the kind's schema to compute its patch.
//!
//! The paths and operations are those the API server publishes for each kind the fake
//! serves, with the parameters it documents for them. The schemas are Kubernetes
//! 1.33's own definitions (`shared/schemas/k8s-1.33-definitions.json`, trimmed from
//! the API server's `swagger.json`; see `crates/maia-cli/tests/schemas/README.md`),
//! read from `MAIA_SCHEMAS_DIR` or from `shared/schemas/` beside the repository; when
//! the file is not on the machine, the documents have paths and no schemas, which is
//! all a server-side apply needs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use http::Response;
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::{Map, Value, json};

use super::{ApiKind, not_served, respond};

const DEFINITIONS: &str = "k8s-1.33-definitions.json";

/// The Kubernetes definitions, with their references made OpenAPI v3's
/// (`#/components/schemas/…`); empty when the file is not here.
fn schemas() -> &'static Map<String, Value> {
    static SCHEMAS: OnceLock<Map<String, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let found = std::env::var_os("MAIA_SCHEMAS_DIR")
            .map(PathBuf::from)
            .into_iter()
            .chain([here.join("../../../shared/schemas")])
            .map(|d| d.join(DEFINITIONS))
            .find(|f| f.is_file());
        let Some(text) = found.and_then(|f| std::fs::read_to_string(f).ok()) else {
            return Map::new();
        };
        let text = text.replace("\"#/definitions/", "\"#/components/schemas/");
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(mut document)) => match document.remove("definitions") {
                Some(Value::Object(definitions)) => definitions,
                _ => Map::new(),
            },
            _ => Map::new(),
        }
    })
}

/// The group version paths (`api/v1`, `apis/apps/v1`) of the kinds served.
fn group_versions(served: &[ApiKind]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in served {
        let gv = k.group_version_path().trim_start_matches('/').to_string();
        if !out.contains(&gv) {
            out.push(gv);
        }
    }
    out
}

/// Answers `/openapi/v3` and `/openapi/v3/GROUP-VERSION`; 404 for the rest (`/openapi/v2`
/// included: kubectl then uses v3, as with any API server since 1.27).
pub(super) fn serve(served: &[ApiKind], path: &str) -> Response<Full<Bytes>> {
    let Some(rest) = path.strip_prefix("/openapi/v3") else {
        return not_served();
    };
    let rest = rest.trim_matches('/');
    let versions = group_versions(served);
    if rest.is_empty() {
        let paths: Map<String, Value> = versions
            .iter()
            .map(|gv| {
                (
                    gv.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={}", hash(served, gv))}),
                )
            })
            .collect();
        return respond(200, json!({"paths": paths}));
    }
    if !versions.iter().any(|gv| gv == rest) {
        return not_served();
    }
    respond(200, document(served, rest))
}

/// A stand-in for the hash the API server puts in the document URLs (they change when
/// the document does: here, when the kinds served change).
fn hash(served: &[ApiKind], gv: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for k in served
        .iter()
        .filter(|k| k.group_version_path().trim_start_matches('/') == gv)
    {
        for b in k.plural.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016X}")
}

/// The name Kubernetes' definitions give a kind (`io.k8s.api.apps.v1.Deployment`).
fn definition(k: &ApiKind) -> Option<&'static str> {
    let group = match k.group {
        "" => "core",
        g => g.strip_suffix(".k8s.io").unwrap_or(g),
    };
    let name = format!("io.k8s.api.{group}.{}.{}", k.version, k.kind);
    schemas().get_key_value(&name).map(|(n, _)| n.as_str())
}

fn document(served: &[ApiKind], gv: &str) -> Value {
    let mut paths = Map::new();
    for k in served
        .iter()
        .filter(|k| k.group_version_path().trim_start_matches('/') == gv)
    {
        let verbs = k.verbs();
        let gvk = json!({"group": k.group, "version": k.version, "kind": k.kind});
        let schema = definition(k)
            .map(|name| json!({"$ref": format!("#/components/schemas/{name}")}))
            .unwrap_or_else(|| json!({"type": "object"}));
        let operation = |action: &str| {
            let mut parameters = Vec::new();
            let query = |name: &str, kind: &str| json!({"name": name, "in": "query", "schema": {"type": kind, "uniqueItems": true}});
            match action {
                "post" | "put" => {
                    for p in ["dryRun", "fieldManager", "fieldValidation"] {
                        parameters.push(query(p, "string"));
                    }
                }
                "patch" => {
                    for p in ["dryRun", "fieldManager", "fieldValidation"] {
                        parameters.push(query(p, "string"));
                    }
                    parameters.push(query("force", "boolean"));
                }
                "delete" | "deletecollection" => {
                    for p in ["dryRun", "gracePeriodSeconds", "propagationPolicy"] {
                        parameters.push(query(p, "string"));
                    }
                }
                "list" => {
                    for p in [
                        "allowWatchBookmarks",
                        "continue",
                        "fieldSelector",
                        "labelSelector",
                        "limit",
                        "resourceVersion",
                        "sendInitialEvents",
                        "timeoutSeconds",
                        "watch",
                    ] {
                        parameters.push(query(p, "string"));
                    }
                }
                _ => {}
            }
            let mut op = json!({
                "operationId": format!("{action}{}", k.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": parameters,
                "responses": {"200": {"description": "OK",
                    "content": {"application/json": {"schema": schema}}}},
            });
            if action == "patch" {
                op["requestBody"] = json!({"content": {
                    "application/apply-patch+yaml": {"schema": {"type": "object"}},
                    "application/json-patch+json": {"schema": {"type": "object"}},
                    "application/merge-patch+json": {"schema": {"type": "object"}},
                    "application/strategic-merge-patch+json": {"schema": {"type": "object"}}}});
            }
            op
        };
        let has = |verb: &str| verbs.contains(&verb);
        let name_param =
            json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
        let ns_param = json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}});
        let base = if k.namespaced {
            format!("/{gv}/namespaces/{{namespace}}/{}", k.plural)
        } else {
            format!("/{gv}/{}", k.plural)
        };
        let scope = if k.namespaced {
            vec![ns_param.clone()]
        } else {
            vec![]
        };
        let mut collection = Map::new();
        if has("list") {
            collection.insert("get".into(), operation("list"));
        }
        if has("create") {
            collection.insert("post".into(), operation("post"));
        }
        if has("deletecollection") {
            collection.insert("delete".into(), operation("deletecollection"));
        }
        if !collection.is_empty() {
            collection.insert("parameters".into(), json!(scope));
            paths.insert(base.clone(), Value::Object(collection));
        }
        let mut item = Map::new();
        for (method, verb, action) in [
            ("get", "get", "get"),
            ("put", "update", "put"),
            ("patch", "patch", "patch"),
            ("delete", "delete", "delete"),
        ] {
            if has(verb) {
                item.insert(method.into(), operation(action));
            }
        }
        if !item.is_empty() {
            let mut parameters = scope.clone();
            parameters.push(name_param);
            item.insert("parameters".into(), json!(parameters));
            paths.insert(format!("{base}/{{name}}"), Value::Object(item));
        }
        if k.namespaced && has("list") {
            paths.insert(
                format!("/{gv}/{}", k.plural),
                json!({"get": operation("list")}),
            );
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas()},
    })
}
