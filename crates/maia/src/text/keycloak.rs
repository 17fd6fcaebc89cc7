//! Keycloak: a sync's plan, the status of a workspace's group.

use maia_keycloak::sync::{ClientChange, MemberChange, Plan, Status};

use super::base::table;

/// `maia keycloak plan`'s text: the group, each member, each client.
pub fn plan(plan: &Plan) -> String {
    let mut out = format!("Plan for Keycloak group {}:\n", plan.group);
    if plan.create_group {
        out.push_str(&format!("  + group {}  create\n", plan.group));
    }
    for m in &plan.members {
        out.push_str(&match m {
            MemberChange::Keep {
                email,
                invited: true,
            } => {
                format!("  = {email}  member (invited, has not finished)\n")
            }
            MemberChange::Keep { email, .. } => format!("  = {email}  member\n"),
            MemberChange::Add { email, .. } => format!("  + {email}  add (has an account)\n"),
            MemberChange::Invite { email } => {
                format!("  + {email}  create the account and send Keycloak's invitation\n")
            }
            MemberChange::Remove { email, .. } => {
                format!("  - {email}  remove from the group (the account stays)\n")
            }
        });
    }
    for c in &plan.clients {
        out.push_str(&match c {
            ClientChange::Create { client_id } => format!("  + client {client_id}  create\n"),
            ClientChange::Update { client_id, fields } => {
                format!("  ~ client {client_id}  update: {}\n", fields.join(", "))
            }
            ClientChange::Unchanged { client_id } => format!("  = client {client_id}  unchanged\n"),
            ClientChange::NotOwned { client_id } => {
                format!("  ! client {client_id}  blocked: exists and was not made by maia\n")
            }
        });
    }
    out.push_str(if plan.has_changes() {
        "Keycloak would change.\n"
    } else {
        "Keycloak is in sync.\n"
    });
    out
}

/// `maia keycloak status`'s text: the group, a table of members, the clients.
pub fn status(status: &Status) -> String {
    let mut out = format!(
        "Keycloak group {}: {}\n",
        status.group,
        if status.group_exists {
            "exists"
        } else {
            "missing"
        }
    );
    let mut rows = vec![["MEMBER".to_string(), "STATE".into()]];
    rows.extend(
        status
            .members
            .iter()
            .map(|m| [m.email.clone(), m.state.to_string()]),
    );
    out.push_str(&table(&rows));
    if !status.clients.is_empty() {
        out.push_str(&format!("clients: {}\n", status.clients.join(", ")));
    }
    out
}
