//! Label and field selectors, as the API server applies them to a LIST or a watch of
//! any kind (namespaces included), with its answers to a malformed one.

use std::collections::BTreeMap;

use serde_json::Value;

/// What a LIST or watch selects: its label and field selectors, parsed.
#[derive(Debug, Default, Clone)]
pub(super) struct Selection {
    labels: Option<String>,
    fields: Vec<(String, String, bool)>,
}

impl Selection {
    /// The selectors of a query (`labelSelector`, `fieldSelector`) for objects of
    /// `kind`, or the API server's message for a 400 Bad Request.
    pub(super) fn from_query(query: &str, kind: &str) -> Result<Selection, String> {
        let labels = super::param(query, "labelSelector").filter(|s| !s.trim().is_empty());
        if let Some(selector) = &labels {
            check_labels(selector)?;
        }
        let mut fields = Vec::new();
        if let Some(selector) = super::param(query, "fieldSelector") {
            for requirement in selector.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                let (field, value, equal) = if let Some((f, v)) = requirement.split_once("!=") {
                    (f, v, false)
                } else if let Some((f, v)) = requirement.split_once("==") {
                    (f, v, true)
                } else if let Some((f, v)) = requirement.split_once('=') {
                    (f, v, true)
                } else {
                    return Err(format!(
                        "invalid selector: '{selector}'; can't understand '{requirement}'"
                    ));
                };
                let field = field.trim();
                if !field_supported(kind, field) {
                    return Err(format!("field label not supported: {field}"));
                }
                fields.push((field.to_string(), value.trim().to_string(), equal));
            }
        }
        Ok(Selection { labels, fields })
    }

    /// Whether an object passes both selectors.
    pub(super) fn matches(&self, object: &Value) -> bool {
        if let Some(selector) = &self.labels
            && !kube_fake_client::label_selector::matches_label_selector(
                &labels_of(object),
                selector,
            )
            .unwrap_or(false)
        {
            return false;
        }
        self.fields.iter().all(|(field, wanted, equal)| {
            let actual = field.split('.').fold(object, |o, key| &o[key]);
            let actual = match actual {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (actual == *wanted) == *equal
        })
    }
}

/// The fields every kind can be selected by, and those a few kinds add (the ones the
/// API server registers for them; `status.phase` of a Pod is the one clients use).
fn field_supported(kind: &str, field: &str) -> bool {
    matches!(field, "metadata.name" | "metadata.namespace")
        || match kind {
            "Pod" => matches!(
                field,
                "status.phase"
                    | "spec.nodeName"
                    | "spec.restartPolicy"
                    | "spec.schedulerName"
                    | "spec.serviceAccountName"
                    | "status.podIP"
                    | "status.nominatedNodeName"
            ),
            "Namespace" => field == "status.phase",
            "Secret" => field == "type",
            "Event" => {
                field.starts_with("involvedObject.")
                    || matches!(field, "reason" | "type" | "source")
            }
            "Job" => field == "status.successful",
            _ => false,
        }
}

/// Refuses what the API server's label selector parser refuses: an empty key, a key or
/// value with characters a label cannot hold, a set without parentheses.
fn check_labels(selector: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("unable to parse requirement: {why}"));
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 316
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    };
    let value_ok = |s: &str| {
        s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    let mut depth = 0;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&selector[start..]);
    for part in parts.into_iter().map(str::trim) {
        if part.is_empty() {
            return bad("found '', expected: identifier");
        }
        let set = part
            .split_once(" notin ")
            .or_else(|| part.split_once(" in "));
        if let Some((key, values)) = set {
            let values = values.trim();
            let Some(inner) = values.strip_prefix('(').and_then(|v| v.strip_suffix(')')) else {
                return bad(&format!("found '{values}', expected: '('"));
            };
            if !name_ok(key.trim()) || !inner.split(',').all(|v| value_ok(v.trim())) {
                return bad(&format!("invalid requirement '{part}'"));
            }
            continue;
        }
        let (key, value) = if let Some((k, v)) = part.split_once("!=") {
            (k, Some(v))
        } else if let Some((k, v)) = part.split_once("==") {
            (k, Some(v))
        } else if let Some((k, v)) = part.split_once('=') {
            (k, Some(v))
        } else {
            (part.strip_prefix('!').unwrap_or(part), None)
        };
        if !name_ok(key.trim()) || value.is_some_and(|v| !value_ok(v.trim())) {
            return bad(&format!("invalid requirement '{part}'"));
        }
    }
    Ok(())
}

fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object["metadata"]["labels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}
