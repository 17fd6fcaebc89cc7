//! Apps: the plan, one app's status, the list.

use std::time::Duration;

use maia_deploy::diff::FieldChange;
use maia_deploy::status::AppStatus;
use maia_deploy::{Change, Plan, Step};
use serde_json::Value;

use super::base::table;

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 100 {
        format!("{}…", text.chars().take(100).collect::<String>())
    } else {
        text
    }
}

fn fields_text(out: &mut String, fields: &[FieldChange]) {
    for f in fields {
        let live = f.live.as_ref().map_or("(unset)".to_string(), short);
        out.push_str(&format!(
            "      {}: {live} -> {}\n",
            f.path,
            short(&f.desired)
        ));
    }
}

/// The plan as a person reads it: one line per object, changed fields below it.
pub fn plan(plan: &Plan, context: Option<&str>) -> String {
    let mut out = format!(
        "Plan for app {} in namespace {}{}:\n",
        plan.release,
        plan.namespace,
        context
            .map(|c| format!(" (context {c})"))
            .unwrap_or_default()
    );
    if plan.create_namespace {
        out.push_str(&format!("  + namespace/{}  create\n", plan.namespace));
    }
    let (mut create, mut change, mut prune, mut same) = (0, 0, 0, 0);
    for step in &plan.steps {
        match step {
            Step::Apply {
                object,
                change: c,
                kind,
                ..
            } => {
                let (mark, what) = match c {
                    Change::Create => {
                        create += 1;
                        ("+", "create".to_string())
                    }
                    Change::Unchanged => {
                        same += 1;
                        ("=", "unchanged".to_string())
                    }
                    Change::Update(_) => {
                        change += 1;
                        ("~", "update".to_string())
                    }
                    Change::Adopt(_) => {
                        change += 1;
                        ("~", "adopt (--force-conflicts)".to_string())
                    }
                    Change::Replace(_) => {
                        change += 1;
                        ("-/+", "replace (delete and create again)".to_string())
                    }
                    Change::Blocked(_) if kind.kind == "PersistentVolumeClaim" => (
                        "!",
                        "blocked: a volume claim can only grow; maia never recreates a volume"
                            .to_string(),
                    ),
                    Change::Blocked(_) => (
                        "!",
                        "blocked: a Job's pod template cannot change; deploy with --replace to recreate it"
                            .to_string(),
                    ),
                    Change::NotOwned => (
                        "!",
                        "blocked: exists and was not created by maia (--force-conflicts adopts it)"
                            .to_string(),
                    ),
                };
                out.push_str(&format!("  {mark} {object}  {what}\n"));
                fields_text(&mut out, c.fields());
            }
            Step::Prune { object, .. } => {
                prune += 1;
                out.push_str(&format!("  - {object}  prune (no longer in the config)\n"));
            }
            Step::KeepVolume { object } => out.push_str(&format!(
                "  ! {object}  keep (no longer in the config; volumes are never deleted by deploy)\n"
            )),
        }
    }
    out.push_str(&format!(
        "Plan: {create} to create, {change} to change, {prune} to prune, {same} unchanged.\n"
    ));
    out
}

/// `maia app list`'s table: one app a row, READY its verdict, REASON the first thing
/// that keeps it from serving.
pub fn apps_table(apps: &[AppStatus]) -> String {
    let mut rows = vec![[
        "NAMESPACE".to_string(),
        "NAME".into(),
        "WORKLOAD".into(),
        "READY".into(),
        "TIME LEFT".into(),
        "REASON".into(),
    ]];
    for a in apps {
        // READY is the app's verdict (every object there and ready), REASON
        // the first thing that keeps it from serving.
        let (workload, left) = match &a.workload {
            Some(w) => (
                format!("{}/{}", w.kind.to_ascii_lowercase(), w.name),
                w.seconds_left.map(left_text).unwrap_or_else(|| "-".into()),
            ),
            None => ("-".into(), "-".into()),
        };
        rows.push([
            a.namespace.clone(),
            a.name.clone(),
            workload,
            if a.ready { "yes" } else { "no" }.into(),
            left,
            a.problems.first().cloned().unwrap_or_else(|| "-".into()),
        ]);
    }
    table(&rows)
}

fn left_text(secs: i64) -> String {
    maia_deploy::error::human(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// `maia app status`'s text: the verdict, what is missing, the workload, ports, URLs and
/// volumes.
pub fn app_status(a: &AppStatus) -> String {
    let mut out = format!(
        "app {} in namespace {}: {}\n",
        a.name,
        a.namespace,
        if a.ready { "ready" } else { "not ready" }
    );
    // What is gone (or cannot be told) first; the workload's and volumes' own reasons
    // are on their lines below.
    let own_line = |p: &str| {
        let mut prefixes = a
            .volumes
            .iter()
            .map(|v| format!("persistentvolumeclaim/{}: ", v.name))
            .chain(
                a.workload
                    .iter()
                    .map(|w| format!("{}/{}: ", w.kind.to_ascii_lowercase(), w.name)),
            );
        prefixes.any(|prefix| p.starts_with(&prefix))
    };
    for p in a.problems.iter().filter(|p| !own_line(p)) {
        out.push_str(&format!("  {p}\n"));
    }
    match &a.workload {
        Some(w) => {
            let state = match w.status.reason() {
                None => "ready".to_string(),
                Some(r) if w.ready => format!("ready ({r})"),
                Some(r) => format!("not ready: {r}"),
            };
            out.push_str(&format!(
                "  {}/{}: {state}\n",
                w.kind.to_ascii_lowercase(),
                w.name
            ));
            if let Some(left) = w.seconds_left {
                out.push_str(&format!("  time left: {}\n", left_text(left)));
            }
        }
        None => out.push_str("  no workload found\n"),
    }
    if !a.ports.is_empty() {
        out.push_str(&format!("  ports: {}\n", a.ports.join(", ")));
    }
    for url in &a.urls {
        out.push_str(&format!("  url: {url}\n"));
    }
    for v in &a.volumes {
        let state = match v.status.reason() {
            Some(reason) => reason,
            None if v.phase == "Bound" => "bound",
            None => "pending, waiting for its first consumer",
        };
        out.push_str(&format!("  volume {}: {state}\n", v.name));
    }
    out
}
