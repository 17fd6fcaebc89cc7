//! Workspaces: the plan, the status, the hand-over, the list.

use crate::workspace::{
    HandOver, HelmChange, KubeflowChange, Planned, WorkspaceEntry, WorkspaceStatus,
};

use super::base::table;

/// What the admin sends the group once it is deployed: every URL and each member's SSH
/// command. Read from the workspace's record (the one the deploy applied, which
/// `namespace status` reads back) and the SSH ports the deploy used, so both agree.
pub fn hand_over(hand_over: &HandOver) -> String {
    let mut urls = vec![["COMPONENT".to_string(), "URL".into()]];
    urls.extend(hand_over.urls.iter().map(|(c, u)| [c.clone(), u.clone()]));
    let mut users = vec![["USER".to_string(), "SSH".into()]];
    for (email, ssh) in &hand_over.members {
        users.push([email.clone(), ssh.clone().unwrap_or_else(|| "-".into())]);
    }
    let mut out = String::from("\nfor the group (also `maia namespace status`):\n");
    out.push_str(&table(&urls));
    if users.len() > 1 {
        out.push('\n');
        out.push_str(&table(&users));
    }
    out
}

/// `maia namespace plan`'s text: the objects (as an app's plan), then each chart,
/// KubeFlow, credentials to draw, quota notes and rollouts, then one summary line.
pub fn plan(prepared: &Planned) -> String {
    let plan = &prepared.plan;
    let objects = super::app::plan(&plan.objects, None).replacen(
        &format!("Plan for app {}", plan.objects.release),
        &format!("Plan for workspace {}", plan.group_id),
        1,
    );
    // The objects' own summary line closes the whole plan, after the charts.
    let (body, summary) = objects
        .trim_end()
        .rsplit_once('\n')
        .unwrap_or((objects.as_str(), ""));
    let mut out = format!("{body}\n");
    let (mut install, mut upgrade) = (0, 0);
    for segment in &plan.segments {
        for h in &segment.helm {
            match &h.change {
                HelmChange::Install => install += 1,
                HelmChange::Upgrade { .. } | HelmChange::Repair { .. } => upgrade += 1,
                HelmChange::Unchanged | HelmChange::Skipped => {}
            }
            let what = match &h.change {
                HelmChange::Install => {
                    format!("  + helm {}  install {} {}", h.release, h.chart, h.version)
                }
                HelmChange::Upgrade { from_version, keys } => format!(
                    "  ~ helm {}  upgrade {} {from_version} -> {}{}",
                    h.release,
                    h.chart,
                    h.version,
                    if keys.is_empty() {
                        String::new()
                    } else {
                        format!("; values changed: {}", keys.join(", "))
                    }
                ),
                HelmChange::Repair { status } => {
                    format!(
                        "  ~ helm {}  upgrade again (release is {status})",
                        h.release
                    )
                }
                HelmChange::Unchanged => format!("  = helm {}  unchanged", h.release),
                HelmChange::Skipped => format!("  ! helm {}  skipped (--skip-helm)", h.release),
            };
            out.push_str(&what);
            out.push('\n');
        }
        match &segment.kubeflow {
            Some(KubeflowChange::Install { version }) => out.push_str(&format!(
                "  + kubeflow pipelines {version}  install (kubectl apply -k)\n"
            )),
            Some(KubeflowChange::Installed { version }) => out.push_str(&format!(
                "  = kubeflow pipelines {version}  already installed\n"
            )),
            Some(KubeflowChange::Skipped) => {
                out.push_str("  ! kubeflow pipelines  skipped (--skip-kubeflow)\n")
            }
            None => {}
        }
    }
    if !prepared.new_credentials.is_empty() {
        out.push_str(&format!(
            "  + credentials  {} to generate ({})\n",
            prepared.new_credentials.len(),
            prepared.new_credentials.join(", ")
        ));
    }
    // Why the quota is above the form's (or the workspace's own needs): more is in use
    // in the namespace now, largely what the workspace does not render.
    for note in &prepared.bundle.quota_notes {
        out.push_str(&format!("  ! quota  {note}\n"));
    }
    for rollout in &plan.rollouts {
        out.push_str(&format!(
            "  ~ rolls {} because {} changed\n",
            rollout.workload,
            rollout.secrets.join(", ")
        ));
    }
    if !prepared.recovered_credentials.is_empty() {
        out.push_str(&format!(
            "  ~ credentials  {} missing from maia's store, recovered from the workspace's Secrets and kept again ({})\n",
            prepared.recovered_credentials.len(),
            prepared.recovered_credentials.join(", ")
        ));
    }
    // Keycloak's part (with keycloak_admin): its lines, each marked as Keycloak's.
    let mut keycloak = String::new();
    if let Some(k) = &prepared.keycloak {
        let text = super::keycloak::plan(k);
        let lines: Vec<&str> = text.lines().collect();
        for line in lines.iter().skip(1).take(lines.len().saturating_sub(2)) {
            if let Some((mark, rest)) = line.trim_start().split_once(' ') {
                out.push_str(&format!("  {mark} keycloak {rest}\n"));
            }
        }
        keycloak = if k.has_changes() {
            " Keycloak would change.".into()
        } else {
            " Keycloak in sync.".into()
        };
    }
    out.push_str(&format!(
        "{} Charts: {install} to install, {upgrade} to upgrade.{keycloak}\n",
        summary.trim_end_matches('.').to_string() + "."
    ));
    out
}

/// `maia namespace status`'s text: components with every URL, members by e-mail with
/// their SSH command, quota use.
pub fn workspace_status(status: &WorkspaceStatus) -> String {
    let mut out = format!(
        "workspace {} in namespace {}: {}\n\n",
        status.group_id,
        status.namespace,
        if status.ready { "ready" } else { "not ready" }
    );
    let mut rows = vec![[
        "COMPONENT".to_string(),
        "STATUS".into(),
        "REASON".into(),
        "URL".into(),
    ]];
    for c in &status.components {
        let state = match &c.status {
            maia_deploy::Status::Ready => "ready",
            maia_deploy::Status::InProgress(_) => "progressing",
            maia_deploy::Status::Failed(_) => "failed",
        };
        let mut urls = c.urls.iter();
        rows.push([
            c.component.clone(),
            state.into(),
            c.status.reason().unwrap_or("-").into(),
            urls.next().cloned().unwrap_or_else(|| "-".into()),
        ]);
        // Every URL, one per line under its component.
        rows.extend(urls.map(|u| [String::new(), String::new(), String::new(), u.clone()]));
    }
    out.push_str(&table(&rows));
    if !status.users.is_empty() {
        let mut rows = vec![["USER".to_string(), "SSH".into(), "SERVER".into()]];
        for u in &status.users {
            rows.push([
                u.email.clone(),
                u.ssh_command
                    .clone()
                    .or_else(|| u.ssh_port.map(|p| format!("port {p}")))
                    .unwrap_or_else(|| "-".into()),
                if u.server_running {
                    "running"
                } else {
                    "stopped"
                }
                .into(),
            ]);
        }
        out.push('\n');
        out.push_str(&table(&rows));
    }
    if !status.quota.is_empty() {
        let mut rows = vec![["QUOTA".to_string(), "USED".into(), "HARD".into()]];
        for q in &status.quota {
            rows.push([q.resource.clone(), q.used.clone(), q.hard.clone()]);
        }
        out.push('\n');
        out.push_str(&table(&rows));
    }
    out
}

/// `maia namespace list`'s table.
pub fn workspaces_table(list: &[WorkspaceEntry]) -> String {
    let mut rows = vec![["GROUP".to_string(), "NAMESPACE".into(), "CREATED".into()]];
    for w in list {
        rows.push([
            w.group_id.clone(),
            w.namespace.clone(),
            w.created.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    table(&rows)
}
