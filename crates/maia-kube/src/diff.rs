//! Is the live object what maia would apply? Only the fields maia sets are compared
//! (the desired JSON must be a subset of the live one): the API server adds defaults
//! and status, and other controllers may own other fields.

use serde::Serialize;
use serde_json::Value;

/// One field that differs between what maia would apply and what is live.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// JSON path, e.g. `spec.template.spec.containers[0].image`.
    pub path: String,
    /// `None` when the field is absent from the live object.
    pub live: Option<Value>,
    /// The value maia would apply: `null` when maia no longer sets the field, and
    /// `"(hidden)"` for a secret-looking value.
    pub desired: Value,
}

/// The fields of `desired` that `live` does not hold (with the same value).
pub fn changes(desired: &Value, live: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    match desired.as_object() {
        // A Secret's values are shown as "(hidden)", whatever their names.
        Some(fields) if is_secret(desired) => {
            for (key, dv) in fields {
                let hidden = SECRET_FIELDS.contains(&key.as_str());
                walk_in(key, dv, live.get(key), hidden, &mut out);
            }
        }
        _ => walk_in("", desired, Some(live), false, &mut out),
    }
    out
}

/// The fields of a Secret that hold its values.
const SECRET_FIELDS: [&str; 2] = ["data", "stringData"];

fn is_secret(object: &Value) -> bool {
    object["kind"] == "Secret"
}

fn walk_in(
    path: &str,
    desired: &Value,
    live: Option<&Value>,
    hidden: bool,
    out: &mut Vec<FieldChange>,
) {
    let Some(live) = live else {
        // The API server leaves out empty values (Go's `omitempty`: "", 0, false, empty
        // maps and lists); asking for one is not a change.
        if !is_empty(desired) && !is_zero(desired) {
            out.push(shown(path, None, desired, hidden));
        }
        return;
    };
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            for (key, dv) in d {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk_in(&child, dv, l.get(key), hidden, out);
            }
        }
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
            for (i, (dv, lv)) in d.iter().zip(l).enumerate() {
                let hide = hidden || is_secret_entry(dv);
                walk_in(&format!("{path}[{i}]"), dv, Some(lv), hide, out);
            }
        }
        (d, l) if same_scalar(path, d, l) => {}
        (d, l) => out.push(shown(path, Some(l), d, hidden)),
    }
}

/// A change as it may be shown: values of secret-looking variables (a password in
/// `env_variables`) are hidden, since plans end up in terminals and CI logs.
fn shown(path: &str, live: Option<&Value>, desired: &Value, hidden: bool) -> FieldChange {
    let mask = |v: &Value| if hidden { hide_all(v) } else { redact(v) };
    FieldChange {
        path: path.to_string(),
        live: live.map(mask),
        desired: if desired.is_null() {
            Value::Null
        } else {
            mask(desired)
        },
    }
}

const SECRET_WORDS: [&str; 7] = [
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "PRIVATE",
];

/// An `env` entry (`{name, value}`) whose name says it holds a secret.
fn is_secret_entry(v: &Value) -> bool {
    v.get("value").is_some()
        && v["name"].as_str().is_some_and(|n| {
            SECRET_WORDS
                .iter()
                .any(|w| n.to_ascii_uppercase().contains(w))
        })
}

/// A copy of `v` with every scalar replaced by "(hidden)" (keys stay: they say what changed).
fn hide_all(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), hide_all(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(hide_all).collect()),
        _ => Value::String("(hidden)".into()),
    }
}

/// A copy of `v` with the values of secret-looking env entries hidden.
fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut copy: serde_json::Map<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), redact(v))).collect();
            if is_secret_entry(v) {
                copy.insert("value".into(), Value::String("(hidden)".into()));
            }
            Value::Object(copy)
        }
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Fields maia applied last time (its entry in `metadata.managedFields`) that the
/// desired object no longer sets. Server-side apply removes them, so they are changes
/// even though the desired object is still a subset of the live one (a removed label,
/// node selector or annotation).
pub fn dropped(desired: &Value, live: &Value, manager: &str) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let entries = live["metadata"]["managedFields"].as_array();
    let owned = entries.into_iter().flatten().find(|e| {
        e["manager"] == manager
            && e["operation"] == "Apply"
            && e["subresource"].as_str().unwrap_or_default().is_empty()
    });
    if let Some(fields) = owned {
        if is_secret(desired) || is_secret(live) {
            for key in SECRET_FIELDS {
                let sub = &fields["fieldsV1"][format!("f:{key}")];
                walk_owned_in(key, sub, desired.get(key), live.get(key), true, &mut out);
            }
            let mut rest = fields["fieldsV1"].clone();
            if let Some(m) = rest.as_object_mut() {
                m.remove("f:data");
                m.remove("f:stringData");
            }
            walk_owned("", &rest, Some(desired), Some(live), &mut out);
        } else {
            walk_owned("", &fields["fieldsV1"], Some(desired), Some(live), &mut out);
        }
    }
    out
}

fn walk_owned(
    path: &str,
    fields: &Value,
    desired: Option<&Value>,
    live: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    walk_owned_in(path, fields, desired, live, false, out)
}

fn walk_owned_in(
    path: &str,
    fields: &Value,
    desired: Option<&Value>,
    live: Option<&Value>,
    hidden: bool,
    out: &mut Vec<FieldChange>,
) {
    let Some(fields) = fields.as_object() else {
        return;
    };
    for (segment, sub) in fields {
        let (child_path, d, l) = if let Some(key) = segment.strip_prefix("f:") {
            let child = if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            };
            (
                child,
                desired.and_then(|d| d.get(key)),
                live.and_then(|l| l.get(key)),
            )
        } else if let Some(key) = segment.strip_prefix("k:") {
            let Ok(Value::Object(key)) = serde_json::from_str::<Value>(key) else {
                continue;
            };
            // Key fields the server defaults (a port's protocol) may be absent from
            // what maia sends.
            let matches = |e: &&Value| {
                key.iter()
                    .all(|(k, v)| e.get(k).is_none_or(|found| found == v))
            };
            (
                format!("{path}[{}]", Value::Object(key.clone())),
                find_keyed(desired, &matches),
                find_keyed(live, &matches),
            )
        } else if let Some(value) = segment.strip_prefix("v:") {
            let Ok(value) = serde_json::from_str::<Value>(value) else {
                continue;
            };
            let has = |list: Option<&Value>| {
                list.and_then(Value::as_array)
                    .is_some_and(|items| items.contains(&value))
            };
            if !has(desired) && has(live) {
                out.push(FieldChange {
                    path: format!("{path}[{value}]"),
                    live: Some(value),
                    desired: Value::Null,
                });
            }
            continue;
        } else {
            // "." (the node itself) and "i:" (positions) say nothing maia could drop.
            continue;
        };
        let hide = hidden || l.is_some_and(is_secret_entry);
        match (d, l) {
            (None, Some(l)) if !is_empty(l) => {
                out.push(shown(&child_path, Some(l), &Value::Null, hide))
            }
            (Some(_), Some(_)) => walk_owned_in(&child_path, sub, d, l, hide, out),
            _ => {}
        }
    }
}

fn find_keyed<'a>(
    list: Option<&'a Value>,
    matches: &impl Fn(&&Value) -> bool,
) -> Option<&'a Value> {
    list.and_then(Value::as_array)
        .and_then(|items| items.iter().find(|e| matches(e)))
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn same_scalar(path: &str, desired: &Value, live: &Value) -> bool {
    if desired == live {
        return true;
    }
    // API servers normalise quantities ("5000m" comes back as "5").
    if is_quantity_path(path) {
        let as_text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        if let (Some(d), Some(l)) = (as_text(desired), as_text(live)) {
            return crate::quantity::same(&d, &l);
        }
    }
    false
}

fn is_quantity_path(path: &str) -> bool {
    path.contains("resources.requests.")
        || path.contains("resources.limits.")
        || path.contains(".sizeLimit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_secrets_values_are_never_shown_whatever_their_names() {
        let live = json!({"kind": "Secret", "data": {"config.env": "b2xk", "old": "eA=="},
            "metadata": {"labels": {"a": "1"}, "managedFields": [{"manager": "maia", "operation": "Apply",
                "fieldsV1": {"f:data": {"f:config.env": {}, "f:old": {}}}}]}});
        let desired = json!({"kind": "Secret", "data": {"config.env": "bmV3", "added": "eQ=="},
            "metadata": {"labels": {"a": "2"}}});
        let mut all = changes(&desired, &live);
        all.extend(dropped(&desired, &live, "maia"));
        let text = serde_json::to_string(&all).unwrap();
        for value in ["b2xk", "bmV3", "eQ==", "eA=="] {
            assert!(!text.contains(value), "{value} shown in {text}");
        }
        let paths: Vec<&str> = all.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "data.added",
                "data.config.env",
                "metadata.labels.a",
                "data.old"
            ]
        );
        // Labels are not secret.
        assert_eq!(all[2].desired, json!("2"));
    }

    #[test]
    fn fields_maia_applied_before_and_no_longer_sets_are_dropped() {
        // As a real API server records them: maps as f:, keyed lists as k:.
        let live = json!({
            "metadata": {"labels": {"a": "1", "b": "2"}, "managedFields": [
                {"manager": "maia", "operation": "Apply", "fieldsV1": {
                    "f:metadata": {"f:labels": {".": {}, "f:a": {}, "f:b": {}}},
                    "f:spec": {"f:nodeSelector": {}, "f:ports": {
                        "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:name": {}}}}}},
                {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
            ]},
            "spec": {"nodeSelector": {"x": "y"}, "replicas": 2, "ports": [{"port": 80, "protocol": "TCP", "name": "web"}]}
        });
        let desired =
            json!({"metadata": {"labels": {"a": "1"}}, "spec": {"ports": [{"port": 80}]}});
        let paths: Vec<String> = dropped(&desired, &live, "maia")
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(
            paths,
            [
                "metadata.labels.b",
                "spec.nodeSelector",
                r#"spec.ports[{"port":80,"protocol":"TCP"}].name"#
            ]
        );
        let same = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"nodeSelector": {"x": "y"}, "ports": [{"port": 80, "name": "web"}]}});
        assert!(dropped(&same, &live, "maia").is_empty());
        assert!(dropped(&desired, &live, "someone-else").is_empty());
    }

    #[test]
    fn secret_looking_variables_are_compared_but_never_shown() {
        let live = json!({"env": [{"name": "DB_PASSWORD", "value": "old-pw"}, {"name": "MODE", "value": "a"}]});
        let desired = json!({"env": [{"name": "DB_PASSWORD", "value": "new-pw"}, {"name": "MODE", "value": "b"}]});
        let found = changes(&desired, &live);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].path, "env[0].value");
        assert_eq!(found[0].live, Some(json!("(hidden)")));
        assert_eq!(found[0].desired, json!("(hidden)"));
        assert_eq!(found[1].desired, json!("b"));
        // A whole list shown at once hides them too.
        let longer = json!({"env": [{"name": "API_TOKEN", "value": "t0ps3cret"}]});
        let text = serde_json::to_string(&changes(&longer, &live)).unwrap();
        assert!(
            !text.contains("t0ps3cret") && !text.contains("old-pw"),
            "{text}"
        );
    }

    #[test]
    fn values_the_server_leaves_out_when_empty_are_not_changes() {
        let desired = json!({"env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": ""}],
            "volumeMounts": [{"mountPath": "/data", "readOnly": false}], "hostPID": false});
        let live = json!({"env": [{"name": "NVIDIA_VISIBLE_DEVICES"}],
            "volumeMounts": [{"mountPath": "/data"}]});
        assert!(changes(&desired, &live).is_empty());
        let set = json!({"env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "0"}]});
        assert_eq!(changes(&set, &live).len(), 1);
    }

    #[test]
    fn server_defaults_and_status_are_not_changes() {
        let desired = json!({"spec": {"ports": [{"port": 80}]}});
        let live = json!({"spec": {"ports": [{"port": 80, "protocol": "TCP"}], "clusterIP": "10.0.0.1"}, "status": {}});
        assert!(changes(&desired, &live).is_empty());
    }

    #[test]
    fn a_changed_scalar_is_reported_with_its_path_and_both_values() {
        let desired = json!({"spec": {"containers": [{"image": "b"}]}});
        let live = json!({"spec": {"containers": [{"image": "a"}]}});
        assert_eq!(
            changes(&desired, &live),
            vec![FieldChange {
                path: "spec.containers[0].image".into(),
                live: Some(json!("a")),
                desired: json!("b"),
            }]
        );
    }

    #[test]
    fn normalised_quantities_compare_equal_but_different_ones_do_not() {
        let live = json!({"resources": {"requests": {"cpu": "5", "memory": "4Gi"}}});
        let same = json!({"resources": {"requests": {"cpu": "5000m", "memory": "4096Mi"}}});
        let other = json!({"resources": {"requests": {"cpu": "4500m", "memory": "4Gi"}}});
        assert!(changes(&same, &live).is_empty());
        assert_eq!(changes(&other, &live).len(), 1);
    }

    #[test]
    fn quantity_lookalikes_outside_resources_compare_as_text() {
        let desired = json!({"data": {"x": "5000m"}});
        let live = json!({"data": {"x": "5"}});
        assert_eq!(changes(&desired, &live).len(), 1);
    }

    #[test]
    fn a_list_of_another_length_is_one_change_and_missing_fields_are_changes() {
        let desired = json!({"args": ["a", "b"], "labels": {"x": "1"}, "empty": {}});
        let live = json!({"args": ["a"]});
        let found = changes(&desired, &live);
        assert_eq!(
            found.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
            ["args", "labels"]
        );
        assert_eq!(found[1].live, None);
    }
}
