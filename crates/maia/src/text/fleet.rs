//! Fleets: the render report, each group's line as it ends, the tables.

use crate::fleet::{Ended, Entry, Fleet, Row, Status};

use super::base::table;

/// `maia fleet render`'s report: a line per form, then the totals, the ledger and the
/// GitOps tree.
pub fn render_report(fleet: &Fleet) -> String {
    let width = fleet
        .entries
        .iter()
        .map(|e| group_id(e).len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for e in &fleet.entries {
        let (status, detail) = match &e.result {
            Some(Ok(d)) => (
                d.status.name(),
                match (d.written, d.removed) {
                    (0, 0) => String::new(),
                    (w, 0) => format!("  {w} file(s) written"),
                    (w, r) => format!("  {w} file(s) written, {r} removed"),
                },
            ),
            _ => ("error", String::new()),
        };
        let group = match group_id(e) {
            "" => "-",
            g => g,
        };
        text.push_str(&format!(
            "{status:<9}  {group:<width$}  {}{detail}\n",
            e.form.display()
        ));
    }
    text.push_str(&format!(
        "\n{} group(s) under {}: {} new, {} changed, {} unchanged, {} error(s)",
        fleet.entries.len(),
        fleet.config_folder.display(),
        fleet.count(Some(Status::New)),
        fleet.count(Some(Status::Changed)),
        fleet.count(Some(Status::Unchanged)),
        fleet.count(None),
    ));
    if fleet.ledger_written {
        text.push_str(&format!("; wrote {}", fleet.ledger.display()));
    }
    if let Some((folder, set_written)) = &fleet.tree {
        text.push_str(&format!(
            "\nGitOps tree (no Secret in it) under {}",
            folder.display()
        ));
        if *set_written {
            text.push_str(&format!(
                "; wrote {}",
                folder.join(crate::fleet::APPLICATION_SET_FILE).display()
            ));
        }
        text.push_str(
            "\ncommit it under --repo-path, then apply the Secrets: maia fleet deploy --secrets-only",
        );
    }
    text.push('\n');
    text
}

fn group_id(entry: &Entry) -> &str {
    entry.group().map_or("", |(g, _)| g)
}

/// The line of a group that ended (`width`: the longest group ID), as `fleet deploy`,
/// `plan` and `status` say it while the others run.
pub fn row_line(row: &Row, width: usize) -> String {
    let seconds = row.took.as_secs_f64();
    match &row.result {
        Ended::Failed(_) => format!(
            "{:<9}  {:<width$}  {}",
            row.word(),
            row.group_id,
            row.form.display()
        ),
        _ => format!(
            "{:<9}  {:<width$}  {}  ({seconds:.1} s)",
            row.word(),
            row.group_id,
            row.detail()
        ),
    }
}

/// `maia fleet deploy` and `plan`'s table of every group and the totals; `done` is
/// "deployed" or "planned".
pub fn fleet_rows(rows: &[Row], done: &str, secrets_only: bool) -> String {
    let failed = rows
        .iter()
        .filter(|r| matches!(r.result, Ended::Failed(_)))
        .count();
    let mut table_rows = vec![[
        "GROUP".to_string(),
        "NAMESPACE".into(),
        "RESULT".into(),
        "TIME".into(),
        "DETAIL".into(),
    ]];
    for r in rows {
        table_rows.push([
            r.group_id.clone(),
            r.namespace.clone(),
            r.word().into(),
            if r.took.is_zero() {
                "-".into()
            } else {
                format!("{:.1}s", r.took.as_secs_f64())
            },
            r.detail(),
        ]);
    }
    format!(
        "{}\n{} group(s): {} {done}, {failed} failed{}\n",
        table(&table_rows),
        rows.len(),
        rows.len() - failed,
        if secrets_only {
            " (--secrets-only: Namespaces and Secrets only)"
        } else {
            ""
        }
    )
}

/// `maia fleet status`'s table and how many workspaces are ready.
pub fn fleet_status(rows: &[Row]) -> String {
    if rows.is_empty() {
        return "no workspaces deployed by maia\n".into();
    }
    let mut table_rows = vec![[
        "GROUP".to_string(),
        "NAMESPACE".into(),
        "STATUS".into(),
        "DETAIL".into(),
    ]];
    for r in rows {
        table_rows.push([
            r.group_id.clone(),
            r.namespace.clone(),
            r.word().into(),
            r.detail(),
        ]);
    }
    let ready = rows
        .iter()
        .filter(|r| matches!(&r.result, Ended::Found(f) if f.ready()))
        .count();
    format!(
        "{}\n{} workspace(s): {ready} ready\n",
        table(&table_rows),
        rows.len()
    )
}
