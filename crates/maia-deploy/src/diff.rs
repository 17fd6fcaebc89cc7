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
    pub desired: Value,
}

/// The fields of `desired` that `live` does not hold (with the same value).
pub fn changes(desired: &Value, live: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", desired, Some(live), &mut out);
    out
}

fn walk(path: &str, desired: &Value, live: Option<&Value>, out: &mut Vec<FieldChange>) {
    let Some(live) = live else {
        // The server drops empty maps and lists; asking for one is not a change.
        if !is_empty(desired) {
            out.push(FieldChange {
                path: path.to_string(),
                live: None,
                desired: desired.clone(),
            });
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
                walk(&child, dv, l.get(key), out);
            }
        }
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
            for (i, (dv, lv)) in d.iter().zip(l).enumerate() {
                walk(&format!("{path}[{i}]"), dv, Some(lv), out);
            }
        }
        (d, l) if same_scalar(path, d, l) => {}
        (d, l) => out.push(FieldChange {
            path: path.to_string(),
            live: Some(l.clone()),
            desired: d.clone(),
        }),
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
