//! maia's Keycloak sync against the fake Keycloak (maia-testkit), which answers as
//! Keycloak 26 does: what a first sync creates, that a second writes nothing, members
//! leaving and joining, invitations, clients, tokens, roles and conflicts.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maia_keycloak::sync::{self, ClientChange, MemberChange, Workspace};
use maia_keycloak::{Admin, KeycloakError};
use maia_spec::workspace::{KeycloakAdmin, WorkspaceSpec};
use maia_testkit::keycloak::{ADMIN_CLIENT_ID, FakeKeycloak, REALM, SeedUser};

fn settings(kc: &FakeKeycloak) -> KeycloakAdmin {
    KeycloakAdmin {
        url: kc.url(),
        realm: REALM.into(),
        client_id: ADMIN_CLIENT_ID.into(),
        client_secret_file: None,
        invite_lifespan: 172_800,
        per_workspace_clients: true,
    }
}

fn admin(kc: &FakeKeycloak) -> Admin {
    Admin::new(&settings(kc), kc.admin_secret())
}

fn workspace(kc: &FakeKeycloak) -> Workspace {
    Workspace::of(&WorkspaceSpec::test(), &settings(kc))
}

/// Observes, plans and applies, as `maia keycloak sync` does.
fn sync_once(admin: &Admin, ws: &Workspace) -> Result<(sync::Plan, sync::Synced), KeycloakError> {
    let observed = sync::observe(admin, ws)?;
    let plan = sync::diff(ws, &observed);
    let synced = sync::apply(admin, ws, &plan, &observed)?;
    Ok((plan, synced))
}

#[test]
fn a_first_sync_creates_the_group_invites_the_members_and_makes_the_clients() {
    let kc = FakeKeycloak::start();
    let admin = admin(&kc);
    let ws = workspace(&kc);
    let (plan, synced) = sync_once(&admin, &ws).unwrap();
    assert!(plan.create_group);
    assert_eq!(synced.invited, ws.members);
    // Every member is in the group, with no password, asked to verify and choose one.
    assert_eq!(kc.members(&ws.group).unwrap(), ws.members);
    for email in &ws.members {
        let user = kc.user(email).unwrap();
        assert_eq!(user["enabled"], true, "{user}");
        assert!(user.get("credentials").is_none(), "{user}");
        assert_eq!(
            kc.required_actions(email).unwrap(),
            ["VERIFY_EMAIL", "UPDATE_PASSWORD"]
        );
    }
    // Keycloak sent its own invitation, valid as long as configured.
    let mails = kc.mails();
    assert_eq!(mails.len(), 2);
    assert!(
        mails
            .iter()
            .all(|m| m.lifespan == 172_800 && m.actions == ["VERIFY_EMAIL", "UPDATE_PASSWORD"])
    );
    // Each client: exact callbacks, the groups claim without the path, Keycloak's secret.
    for client in &ws.clients {
        assert_eq!(kc.redirect_uris(&client.client_id), client.redirect_uris);
        let mappers = kc.mappers(&client.client_id);
        let groups = mappers.iter().find(|m| m["name"] == "groups").unwrap();
        assert_eq!(groups["protocolMapper"], "oidc-group-membership-mapper");
        assert_eq!(groups["config"]["full.path"], "false");
        assert_eq!(groups["config"]["claim.name"], "groups");
        let live = kc.client(&client.client_id).unwrap();
        assert_eq!(live["publicClient"], false);
        assert_eq!(
            synced.secrets[&client.client_id],
            kc.client_secret(&client.client_id).unwrap()
        );
    }
}

#[test]
fn a_second_sync_of_the_same_form_only_reads() {
    let kc = FakeKeycloak::start();
    let ws = workspace(&kc);
    sync_once(&admin(&kc), &ws).unwrap();
    kc.clear_requests();
    let admin = admin(&kc);
    let (plan, synced) = sync_once(&admin, &ws).unwrap();
    assert!(!plan.has_changes(), "{plan:#?}");
    assert_eq!(kc.writes(), [], "a re-sync wrote");
    assert_eq!(admin.counts().1, 0);
    assert!(synced.invited.is_empty() && synced.added.is_empty());
    // Its secrets are still known, for the render.
    assert_eq!(synced.secrets.len(), 3);
    // Exact searches only: no request lists every user or group.
    for r in kc.requests().iter().filter(|r| !r.is_token()) {
        let listing = (r.path.ends_with("/users") && !r.query.contains("email="))
            || (r.path.ends_with("/groups") && !r.query.contains("search="));
        assert!(!listing, "{r:?}");
    }
}

#[test]
fn a_member_who_leaves_is_taken_out_of_the_group_and_keeps_the_account() {
    let kc = FakeKeycloak::start();
    let mut ws = workspace(&kc);
    sync_once(&admin(&kc), &ws).unwrap();
    let leaving = ws.members.remove(1);
    // Someone with an account already is added, and not invited again.
    kc.add_user(SeedUser::active("carol@example.org"));
    ws.members.push("carol@example.org".into());
    let mails = kc.mails().len();
    let (plan, synced) = sync_once(&admin(&kc), &ws).unwrap();
    assert!(plan.members.contains(&MemberChange::Remove {
        email: leaving.clone(),
        id: kc.user(&leaving).unwrap()["id"].as_str().unwrap().into(),
    }));
    assert_eq!(synced.removed, std::slice::from_ref(&leaving));
    assert_eq!(synced.added, ["carol@example.org"]);
    assert!(synced.invited.is_empty());
    assert_eq!(
        kc.mails().len(),
        mails,
        "an existing account is not invited"
    );
    assert!(kc.user(&leaving).is_some(), "accounts are never deleted");
    assert_eq!(
        kc.members(&ws.group).unwrap(),
        [ws.members[0].clone(), "carol@example.org".into()]
    );
}

#[test]
fn a_client_maia_did_not_make_is_left_alone() {
    let kc = FakeKeycloak::start();
    let ws = workspace(&kc);
    kc.add_client(serde_json::json!({
        "clientId": ws.clients[0].client_id,
        "redirectUris": ["*"],
    }));
    let observed = sync::observe(&admin(&kc), &ws).unwrap();
    let plan = sync::diff(&ws, &observed);
    assert_eq!(plan.not_owned(), [ws.clients[0].client_id.as_str()]);
    assert!(matches!(plan.clients[0], ClientChange::NotOwned { .. }));
    assert_eq!(kc.writes(), []);
}

#[test]
fn an_expired_token_is_fetched_again() {
    let kc = FakeKeycloak::start();
    let admin = admin(&kc);
    let ws = workspace(&kc);
    sync::observe(&admin, &ws).unwrap();
    kc.expire_tokens();
    sync_once(&admin, &ws).unwrap();
    assert_eq!(kc.members(&ws.group).unwrap(), ws.members);
}

#[test]
fn a_missing_role_is_named_with_how_to_grant_it() {
    let kc = FakeKeycloak::start();
    kc.remove_admin_role("manage-users");
    kc.remove_admin_role("realm-admin");
    let err = sync_once(&admin(&kc), &workspace(&kc)).unwrap_err();
    match &err {
        KeycloakError::Forbidden { role, .. } => assert_eq!(*role, "manage-users"),
        other => panic!("{other}"),
    }
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("--uusername service-account-maia-admin --cclientid realm-management --rolename manage-users"),
        "{hint}"
    );
    assert_eq!(kc.writes().iter().filter(|w| w.status < 300).count(), 0);
}

#[test]
fn an_account_made_meanwhile_is_used_not_duplicated() {
    let kc = FakeKeycloak::start();
    let admin = admin(&kc);
    let ws = workspace(&kc);
    let observed = sync::observe(&admin, &ws).unwrap();
    let plan = sync::diff(&ws, &observed);
    // Another admin creates the account between the plan and the sync: a 409.
    kc.add_user(SeedUser::active(&ws.members[0]));
    let synced = sync::apply(&admin, &ws, &plan, &observed).unwrap();
    assert_eq!(synced.invited, [ws.members[1].clone()]);
    assert_eq!(kc.members(&ws.group).unwrap(), ws.members);
    assert_eq!(
        kc.usernames()
            .iter()
            .filter(|u| **u == ws.members[0])
            .count(),
        1
    );
}

#[test]
fn remove_deletes_maias_clients_and_with_data_the_group_never_an_account() {
    let kc = FakeKeycloak::start();
    let admin = admin(&kc);
    let ws = workspace(&kc);
    sync_once(&admin, &ws).unwrap();
    let removed = sync::remove(&admin, &ws, false).unwrap();
    assert_eq!(removed.clients.len(), 3);
    assert!(!removed.group);
    assert!(kc.group_id(&ws.group).is_some());
    let removed = sync::remove(&admin, &ws, true).unwrap();
    assert!(removed.group && removed.clients.is_empty());
    assert!(kc.group_id(&ws.group).is_none());
    for email in &ws.members {
        assert!(kc.user(email).is_some());
    }
}

#[test]
fn a_role_the_token_lacks_stops_the_sync_before_its_first_write() {
    let kc = FakeKeycloak::start();
    // Users may be managed, clients not: the group and members would be written
    // before the clients, so the whole sync must stop before any write.
    kc.remove_admin_role("manage-clients");
    kc.remove_admin_role("realm-admin");
    let err = sync_once(&admin(&kc), &workspace(&kc)).unwrap_err();
    match &err {
        KeycloakError::Forbidden { role, .. } => assert_eq!(*role, "manage-clients"),
        other => panic!("{other}"),
    }
    assert_eq!(kc.writes(), [], "a write was sent");
    assert!(kc.group_names().iter().all(|g| g != "MAIA:Brain_MRI"));
    assert!(kc.mails().is_empty());
}
