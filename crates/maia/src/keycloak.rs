//! A workspace in Keycloak, alone (`maia keycloak plan | sync | status`): its group
//! `MAIA:<group_ID>`, its members (accounts found by e-mail or created with no
//! password and invited by Keycloak's own e-mail) and, with
//! `keycloak_admin.per_workspace_clients`, its own OpenID clients. Needs the cluster
//! config's `keycloak_admin`.

use std::sync::Arc;

use maia_keycloak::sync::{self, Observed, Plan, Status, Synced, Workspace};
use maia_keycloak::{Admin, blocking};
use maia_spec::workspace::WorkspaceSpec;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::event::{Event, Sink};

/// A plan and what it was computed from.
#[derive(Debug, Clone)]
pub struct Planned {
    /// What a sync would do.
    pub plan: Plan,
    /// What Keycloak holds now.
    pub observed: Observed,
    /// What Keycloak should hold.
    pub workspace: Workspace,
}

/// The admin connection of the cluster config's `keycloak_admin`, and what Keycloak
/// should hold of `spec`.
fn connect(spec: &WorkspaceSpec, env: &Env) -> Result<(Arc<Admin>, Workspace)> {
    let settings = spec
        .cluster
        .keycloak_admin
        .as_ref()
        .ok_or_else(|| Error::Usage {
            message: "the cluster config has no keycloak_admin section: maia does not manage Keycloak for this cluster".into(),
            hint: Some(
                "add keycloak_admin: {url, realm, client_id, client_secret_file} (see the README's Keycloak section)".into(),
            ),
        })?;
    Ok((
        Arc::new(admin(settings, env)?),
        Workspace::of(spec, settings),
    ))
}

/// The admin connection `settings` describe, with the secret from its file or `env`.
fn admin(settings: &maia_spec::workspace::KeycloakAdmin, env: &Env) -> Result<Admin> {
    let secret =
        maia_keycloak::read_secret(settings, env.keycloak_secret.as_ref().map(|s| s.0.clone()))?;
    Ok(Admin::new(settings, secret))
}

/// The client IDs a workspace in `namespace` may have.
fn client_ids(namespace: &str) -> Vec<String> {
    maia_render::workspace::oidc::SERVICES
        .iter()
        .map(|s| maia_render::workspace::oidc::namespace_client_id(namespace, s))
        .collect()
}

async fn observe(admin: &Arc<Admin>, workspace: &Workspace) -> Result<Planned> {
    let (admin, ws) = (admin.clone(), workspace.clone());
    let observed = blocking(move || sync::observe(&admin, &ws)).await?;
    let plan = sync::diff(workspace, &observed);
    Ok(Planned {
        plan,
        observed,
        workspace: workspace.clone(),
    })
}

/// What a sync would do; reads only.
pub async fn plan(spec: &WorkspaceSpec, env: &Env) -> Result<Planned> {
    let (admin, workspace) = connect(spec, env)?;
    observe(&admin, &workspace).await
}

/// Makes Keycloak hold the workspace: the group, its members, its clients. A client of
/// the workspace's client ID that maia did not make stops it before any write. An
/// unchanged workspace costs reads only. Returns the plan it carried out and what it
/// did (with the clients' secrets, which are never in an event).
pub async fn sync(spec: &WorkspaceSpec, env: &Env, sink: &mut dyn Sink) -> Result<(Plan, Synced)> {
    let (admin, workspace) = connect(spec, env)?;
    let planned = observe(&admin, &workspace).await?;
    let not_owned = planned.plan.not_owned();
    if !not_owned.is_empty() {
        return Err(Error::Usage {
            message: format!(
                "Keycloak already has client(s) {} that maia did not make: nothing was changed in Keycloak",
                not_owned.join(", ")
            ),
            hint: Some(
                "rename or delete them in Keycloak, or set keycloak_admin.per_workspace_clients: false to keep the shared client".into(),
            ),
        });
    }
    let plan = planned.plan.clone();
    let synced = {
        let (admin, ws, plan, observed) = (
            admin.clone(),
            workspace.clone(),
            planned.plan.clone(),
            planned.observed.clone(),
        );
        blocking(move || sync::apply(&admin, &ws, &plan, &observed)).await?
    };
    for line in lines(&plan, &synced) {
        sink.emit(Event::Keycloak { change: line });
    }
    Ok((plan, synced))
}

/// The group, each member (active, invited, missing, extra) and the clients; reads only.
pub async fn status(spec: &WorkspaceSpec, env: &Env) -> Result<Status> {
    let (admin, workspace) = connect(spec, env)?;
    Ok(blocking(move || sync::status(&admin, &workspace)).await?)
}

/// What a sync changed, a line each.
fn lines(plan: &Plan, synced: &Synced) -> Vec<String> {
    let mut out = Vec::new();
    if plan.create_group {
        out.push(format!("group {} created", plan.group));
    }
    for email in &synced.invited {
        out.push(format!(
            "{email}: account created, invitation sent by Keycloak"
        ));
    }
    for email in synced.added.iter().filter(|e| !synced.invited.contains(e)) {
        out.push(format!("{email}: added to {}", plan.group));
    }
    for email in &synced.removed {
        out.push(format!(
            "{email}: removed from {} (the account stays)",
            plan.group
        ));
    }
    for c in &plan.clients {
        match c {
            sync::ClientChange::Create { client_id } => {
                out.push(format!("client {client_id} created"))
            }
            sync::ClientChange::Update { client_id, fields } => out.push(format!(
                "client {client_id} updated ({})",
                fields.join(", ")
            )),
            _ => {}
        }
    }
    out
}

/// The cluster config's `keycloak_admin`, read from the cluster config alone (for the
/// commands given no group form: `namespace delete`), with the file's warnings.
pub fn admin_settings(
    cluster_config_file: &std::path::Path,
) -> Result<(
    Option<maia_spec::workspace::KeycloakAdmin>,
    Vec<maia_spec::Diagnostic>,
)> {
    let (spec, warnings) = crate::config::cluster(cluster_config_file)?;
    Ok((spec.keycloak_admin, warnings))
}

/// Removes a deleted workspace's clients (`maia-<namespace>-<service>`, those maia
/// made) and, with `group`, its group `MAIA:<group_ID>`; accounts stay. With
/// `dry_run`, only says what would go. Each removal is an event.
pub async fn remove(
    settings: &maia_spec::workspace::KeycloakAdmin,
    env: &Env,
    group_id: &str,
    namespace: &str,
    group: bool,
    dry_run: bool,
    sink: &mut dyn Sink,
) -> Result<sync::Removed> {
    let admin = admin(settings, env)?;
    let group_name = format!("MAIA:{group_id}");
    let client_ids = client_ids(namespace);
    let name = group_name.clone();
    let removed =
        blocking(move || sync::remove_named(&admin, &name, &client_ids, group, dry_run)).await?;
    let how = if dry_run { " (dry run)" } else { "" };
    for c in &removed.clients {
        sink.emit(Event::Keycloak {
            change: format!("client {c} deleted{how}"),
        });
    }
    if removed.group {
        sink.emit(Event::Keycloak {
            change: format!("group {group_name} deleted{how} (its members' accounts stay)"),
        });
    }
    Ok(removed)
}

/// What Keycloak holds of a deployed workspace (`namespace status` with a cluster
/// config): its group, each member (`members`, as the workspace's record lists them)
/// and its clients; reads only.
pub async fn workspace_status(
    settings: &maia_spec::workspace::KeycloakAdmin,
    env: &Env,
    group_id: &str,
    namespace: &str,
    members: &[String],
) -> Result<Status> {
    let admin = admin(settings, env)?;
    let ws = sync::named(&format!("MAIA:{group_id}"), members, &client_ids(namespace));
    Ok(blocking(move || sync::status(&admin, &ws)).await?)
}
