//! The JSON documents of `-o json`, for scripts and the portal alike.

use std::error::Error as _;

use maia_spec::{Diagnostic, SpecError};
use serde_json::{Value, json};

use crate::fleet::{Ended, Fleet, Found, Row, Status};

/// `maia fleet render -o json`.
pub fn render_report(fleet: &Fleet) -> Value {
    let groups: Vec<Value> = fleet
        .entries
        .iter()
        .map(|e| {
            let mut group = json!({ "form": e.form.display().to_string() });
            if let Some((group_id, namespace)) = e.group() {
                group["group_ID"] = json!(group_id);
                group["namespace"] = json!(namespace);
            }
            match &e.result {
                Some(Ok(d)) => {
                    group["status"] = json!(d.status.name());
                    group["folder"] = json!(d.dir.display().to_string());
                    group["files_written"] = json!(d.written);
                    group["files_removed"] = json!(d.removed);
                    group["ssh_ports"] = json!(d.ports);
                }
                Some(Err(err)) => {
                    group["status"] = json!("error");
                    group["error"] = error(err);
                }
                None => {}
            }
            group["warnings"] = e.warnings.iter().map(diagnostic).collect();
            group
        })
        .collect();
    json!({
        "config_folder": fleet.config_folder.display().to_string(),
        "groups": groups,
        "totals": {
            "groups": fleet.entries.len(),
            "new": fleet.count(Some(Status::New)),
            "changed": fleet.count(Some(Status::Changed)),
            "unchanged": fleet.count(Some(Status::Unchanged)),
            "error": fleet.count(None),
        },
        "ledger": {
            "path": fleet.ledger.display().to_string(),
            "written": fleet.ledger_written,
        },
        "gitops": fleet.tree.as_ref().map(|(folder, written)| json!({
            "folder": folder.display().to_string(),
            "application_set": folder.join(crate::fleet::APPLICATION_SET_FILE).display().to_string(),
            "application_set_written": written,
        })),
    })
}

/// One group of `fleet deploy`, `plan` or `status`.
pub fn row(row: &Row) -> Value {
    let mut v = json!({
        "form": row.form.display().to_string(),
        "status": row.word(),
        "seconds": (row.took.as_secs_f64() * 100.0).round() / 100.0,
        "warnings": row.warnings.iter().map(diagnostic).collect::<Vec<_>>(),
    });
    if row.group_id != "-" {
        v["group_ID"] = json!(row.group_id);
        v["namespace"] = json!(row.namespace);
    }
    match &row.result {
        Ended::Deployed(c, fresh) => {
            v["objects"] = json!(c);
            v["new_credentials"] = json!(fresh);
        }
        Ended::Planned(p) => {
            v["changes"] = json!(p.changes);
            v["plan"] = json!(p);
        }
        Ended::Found(Found::NotDeployed) => v["ready"] = json!(false),
        Ended::Found(f @ Found::Status(s)) => {
            v["ready"] = json!(f.ready());
            v["workspace"] = serde_json::to_value(s).unwrap_or_default();
        }
        Ended::Failed(e) => v["error"] = error(e),
    }
    v
}

/// `maia fleet deploy` and `plan -o json`: every group, the totals by result.
pub fn fleet_rows(rows: &[Row], secrets_only: bool) -> Value {
    let mut totals = serde_json::Map::new();
    totals.insert("groups".into(), json!(rows.len()));
    for r in rows {
        let n = totals.get(r.word()).and_then(Value::as_u64).unwrap_or(0);
        totals.insert(r.word().into(), json!(n + 1));
    }
    json!({
        "groups": rows.iter().map(row).collect::<Vec<_>>(),
        "totals": totals,
        "secrets_only": secrets_only,
    })
}

/// `maia fleet status -o json`: every group, how many are ready.
pub fn fleet_status(rows: &[Row]) -> Value {
    let ready = rows
        .iter()
        .filter(|r| matches!(&r.result, Ended::Found(f) if f.ready()))
        .count();
    json!({
        "groups": rows.iter().map(row).collect::<Vec<_>>(),
        "totals": {"groups": rows.len(), "ready": ready, "not_ready": rows.len() - ready},
    })
}

/// `maia namespace plan -o json`: the plan, whether anything would change, the
/// credentials to draw or recovered, the quota's notes.
pub fn workspace_plan(prepared: &crate::workspace::Planned) -> Value {
    let mut value = serde_json::to_value(&prepared.plan).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("changes".into(), Value::Bool(prepared.changes));
        map.insert("new_credentials".into(), json!(prepared.new_credentials));
        map.insert(
            "recovered_credentials".into(),
            json!(prepared.recovered_credentials),
        );
        map.insert("quota_notes".into(), json!(prepared.bundle.quota_notes));
        if let Some(k) = &prepared.keycloak {
            map.insert("keycloak".into(), json!(k));
        }
    }
    value
}

/// `maia app plan -o json` for one cluster (`context`, when not the current one).
pub fn app_plan(plan: &maia_deploy::Plan, context: Option<&str>) -> Value {
    let mut value = serde_json::to_value(plan).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("changes".into(), Value::Bool(plan.has_changes()));
        if let Some(c) = context {
            map.insert("cluster".into(), Value::String(c.to_string()));
        }
    }
    value
}

/// An error: its message, causes, hint and (for a bad form) diagnostics.
pub fn error(e: &crate::error::Error) -> Value {
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let diagnostics: Vec<Value> = match e {
        crate::error::Error::Spec(SpecError::Invalid { diagnostics, .. }) => {
            diagnostics.iter().map(diagnostic).collect()
        }
        _ => Vec::new(),
    };
    json!({
        "message": e.to_string(),
        "causes": causes,
        "hint": e.hint(),
        "diagnostics": diagnostics,
    })
}

/// One diagnostic: where (file, line, column, path), what and the hint.
pub fn diagnostic(d: &Diagnostic) -> Value {
    json!({
        "severity": d.severity,
        "file": d.file.display().to_string(),
        "line": d.location.map(|l| l.0),
        "column": d.location.map(|l| l.1),
        "path": d.path.to_string(),
        "message": d.message,
        "hint": d.hint,
    })
}
