//! A workspace in Keycloak: what it should be ([`Workspace`]), what is there
//! ([`observe`], exact searches only), the difference ([`diff`], pure) and making it
//! so ([`apply`]); also [`status`] and [`remove`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::admin::{Access, Admin, unexpected};
use crate::error::{KeycloakError, Result};
use crate::model::{Client, Group, ProtocolMapper, Secret, User};

/// The client attribute that marks a client maia made (and so may change or delete).
pub const MANAGED_BY: &str = "maia.managed-by";
/// The required actions of a new account: verify the e-mail, choose a password.
pub const INVITE_ACTIONS: [&str; 2] = ["VERIFY_EMAIL", "UPDATE_PASSWORD"];
/// The name of the groups claim mapper maia gives its clients.
pub const GROUPS_MAPPER: &str = "groups";

/// A workspace as Keycloak should hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// The group (`MAIA:<group_ID>`).
    pub group: String,
    /// Members' e-mails, lower case.
    pub members: Vec<String>,
    /// The workspace's own clients (none with the shared client).
    pub clients: Vec<ClientSpec>,
    /// How long an invitation link is valid, in seconds.
    pub invite_lifespan: u64,
}

pub use maia_render::workspace::oidc::OidcClient as ClientSpec;

impl Workspace {
    /// What Keycloak should hold of a checked workspace: its group, its members and,
    /// with `per_workspace_clients`, its own clients.
    pub fn of(
        spec: &maia_spec::workspace::WorkspaceSpec,
        settings: &maia_spec::workspace::KeycloakAdmin,
    ) -> Self {
        Workspace {
            group: spec.keycloak_group(),
            members: spec.users.iter().map(|u| u.to_lowercase()).collect(),
            clients: if settings.per_workspace_clients {
                maia_render::workspace::oidc::clients(spec)
            } else {
                Vec::new()
            },
            invite_lifespan: settings.invite_lifespan,
        }
    }
}

/// What Keycloak holds of a workspace, read with exact searches.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The group, if it exists.
    pub group: Option<Group>,
    /// Its members.
    pub members: Vec<User>,
    /// Form members not in the group: their account, if one has the e-mail.
    pub accounts: BTreeMap<String, Option<User>>,
    /// The workspace's clients by client ID, if they exist.
    pub clients: BTreeMap<String, Option<Client>>,
}

/// What happens to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum MemberChange {
    /// In the group already (`invited`: the invitation is not finished).
    Keep {
        /// The e-mail.
        email: String,
        /// Has not finished the invitation.
        invited: bool,
    },
    /// Has an account: added to the group.
    Add {
        /// The e-mail.
        email: String,
        /// The account's ID.
        #[serde(skip)]
        id: String,
    },
    /// No account: one is created (no password), invited by Keycloak's e-mail, added.
    Invite {
        /// The e-mail.
        email: String,
    },
    /// No longer in the form: taken out of the group (the account stays).
    Remove {
        /// The e-mail (or user name).
        email: String,
        /// The account's ID.
        #[serde(skip)]
        id: String,
    },
}

/// What happens to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum ClientChange {
    /// Created with a secret Keycloak generates.
    Create {
        /// The client ID.
        client_id: String,
    },
    /// Settings differ: set again (the secret stays).
    Update {
        /// The client ID.
        client_id: String,
        /// The settings that differ.
        fields: Vec<String>,
    },
    /// As it should be.
    Unchanged {
        /// The client ID.
        client_id: String,
    },
    /// A client of that ID exists and maia did not make it: left alone, and the
    /// deploy stops before any change.
    NotOwned {
        /// The client ID.
        client_id: String,
    },
}

/// What a sync would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The group.
    pub group: String,
    /// It is created.
    pub create_group: bool,
    /// Each member of the form and each one leaving.
    pub members: Vec<MemberChange>,
    /// Each client of the workspace.
    pub clients: Vec<ClientChange>,
}

impl Plan {
    /// Something would be written.
    pub fn has_changes(&self) -> bool {
        self.create_group
            || self
                .members
                .iter()
                .any(|m| !matches!(m, MemberChange::Keep { .. }))
            || self
                .clients
                .iter()
                .any(|c| matches!(c, ClientChange::Create { .. } | ClientChange::Update { .. }))
    }

    /// Clients that exist and are not maia's.
    pub fn not_owned(&self) -> Vec<&str> {
        self.clients
            .iter()
            .filter_map(|c| match c {
                ClientChange::NotOwned { client_id } => Some(client_id.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// The lower-case e-mail (else user name) a member is known by.
fn email_of(user: &User) -> String {
    user.email
        .clone()
        .unwrap_or_else(|| user.username.clone())
        .to_lowercase()
}

/// Finds the group by its exact name.
pub fn find_group(admin: &Admin, name: &str) -> Result<Option<Group>> {
    let found: Vec<Group> = admin
        .get(
            "/groups",
            &[
                ("search", name),
                ("exact", "true"),
                ("briefRepresentation", "true"),
            ],
            Access::QueryGroups,
        )?
        .unwrap_or_default();
    Ok(found.into_iter().find(|g| g.name == name))
}

/// Finds the account with exactly this e-mail.
pub fn find_user(admin: &Admin, email: &str) -> Result<Option<User>> {
    let found: Vec<User> = admin
        .get(
            "/users",
            &[("email", email), ("exact", "true")],
            Access::ViewUsers,
        )?
        .unwrap_or_default();
    Ok(found.into_iter().find(|u| {
        u.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
    }))
}

/// Finds the client with exactly this client ID.
pub fn find_client(admin: &Admin, client_id: &str) -> Result<Option<Client>> {
    let found: Vec<Client> = admin
        .get(
            "/clients",
            &[("clientId", client_id), ("search", "false")],
            Access::ManageClients,
        )?
        .unwrap_or_default();
    Ok(found.into_iter().find(|c| c.client_id == client_id))
}

fn group_members(admin: &Admin, group: &Group) -> Result<Vec<User>> {
    let Some(id) = &group.id else {
        return Ok(Vec::new());
    };
    admin.get_all(
        &format!("/groups/{id}/members"),
        &[("briefRepresentation", "false")],
        Access::ViewUsers,
    )
}

/// Reads what Keycloak holds of `ws`: one group search, its members page by page, one
/// exact e-mail search per form member not in the group, one search per client.
pub fn observe(admin: &Admin, ws: &Workspace) -> Result<Observed> {
    let group = find_group(admin, &ws.group)?;
    let members = match &group {
        Some(g) => group_members(admin, g)?,
        None => Vec::new(),
    };
    let in_group: BTreeSet<String> = members.iter().map(email_of).collect();
    let mut accounts = BTreeMap::new();
    for email in &ws.members {
        if !in_group.contains(email) {
            accounts.insert(email.clone(), find_user(admin, email)?);
        }
    }
    let mut clients = BTreeMap::new();
    for c in &ws.clients {
        clients.insert(c.client_id.clone(), find_client(admin, &c.client_id)?);
    }
    Ok(Observed {
        group,
        members,
        accounts,
        clients,
    })
}

/// The groups mapper maia's clients carry: group names (no full path) in the ID,
/// access and user-info tokens' `groups` claim.
pub fn groups_mapper() -> ProtocolMapper {
    ProtocolMapper {
        id: None,
        name: GROUPS_MAPPER.into(),
        protocol: "openid-connect".into(),
        protocol_mapper: "oidc-group-membership-mapper".into(),
        config: [
            ("claim.name", "groups"),
            ("full.path", "false"),
            ("id.token.claim", "true"),
            ("access.token.claim", "true"),
            ("userinfo.token.claim", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    }
}

const POST_LOGOUT: &str = "post.logout.redirect.uris";

/// The client carries maia's mark ([`MANAGED_BY`]): maia made it and may change it.
fn made_by_maia(client: &Client) -> bool {
    client.attributes.get(MANAGED_BY).map(String::as_str) == Some("maia")
}

/// A client's groups mapper, if it has one.
fn live_groups_mapper(client: &Client) -> Option<&ProtocolMapper> {
    client
        .protocol_mappers
        .iter()
        .flatten()
        .find(|m| m.name == GROUPS_MAPPER)
}

/// The mapper is not the groups mapper maia gives its clients.
fn mapper_differs(live: &ProtocolMapper, want: &ProtocolMapper) -> bool {
    live.protocol_mapper != want.protocol_mapper
        || want
            .config
            .iter()
            .any(|(k, v)| live.config.get(k) != Some(v))
}

/// `client` with every setting maia manages set as `spec` says (what it does not
/// manage kept).
fn desired_client(spec: &ClientSpec, client: Option<&Client>) -> Client {
    let mut c = client.cloned().unwrap_or_default();
    c.client_id = spec.client_id.clone();
    c.name = Some(spec.name.clone());
    c.enabled = Some(true);
    c.protocol = Some("openid-connect".into());
    c.public_client = Some(false);
    c.standard_flow_enabled = Some(true);
    c.implicit_flow_enabled = Some(false);
    c.direct_access_grants_enabled = Some(false);
    c.service_accounts_enabled = Some(false);
    c.root_url = Some(spec.root_url.clone());
    c.redirect_uris = Some(spec.redirect_uris.clone());
    c.web_origins = Some(spec.web_origins.clone());
    c.attributes.insert(
        POST_LOGOUT.into(),
        spec.post_logout_redirect_uris.join("##"),
    );
    c.attributes.insert(MANAGED_BY.into(), "maia".into());
    c
}

/// The settings of `live` that differ from `spec`'s.
fn client_fields(spec: &ClientSpec, live: &Client) -> Vec<String> {
    let want = desired_client(spec, Some(live));
    let set =
        |v: &Option<Vec<String>>| -> BTreeSet<String> { v.iter().flatten().cloned().collect() };
    let mut fields = Vec::new();
    let mut differs = |name: &str, d: bool| {
        if d {
            fields.push(name.to_string());
        }
    };
    differs("name", want.name != live.name);
    differs("enabled", live.enabled != Some(true));
    differs("protocol", want.protocol != live.protocol);
    differs("publicClient", live.public_client != Some(false));
    differs(
        "standardFlowEnabled",
        live.standard_flow_enabled != Some(true),
    );
    differs(
        "implicitFlowEnabled",
        live.implicit_flow_enabled == Some(true),
    );
    differs(
        "directAccessGrantsEnabled",
        live.direct_access_grants_enabled == Some(true),
    );
    differs(
        "serviceAccountsEnabled",
        live.service_accounts_enabled == Some(true),
    );
    differs("rootUrl", want.root_url != live.root_url);
    differs(
        "redirectUris",
        set(&want.redirect_uris) != set(&live.redirect_uris),
    );
    differs(
        "webOrigins",
        set(&want.web_origins) != set(&live.web_origins),
    );
    let split = |c: &Client| -> BTreeSet<String> {
        c.attributes
            .get(POST_LOGOUT)
            .map(|v| {
                v.split("##")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    differs("post.logout.redirect.uris", split(&want) != split(live));
    let mapper = groups_mapper();
    differs(
        "protocolMappers.groups",
        live_groups_mapper(live).is_none_or(|m| mapper_differs(m, &mapper)),
    );
    fields
}

/// The difference between `ws` and what Keycloak holds: pure.
pub fn diff(ws: &Workspace, observed: &Observed) -> Plan {
    let wanted: BTreeSet<&str> = ws.members.iter().map(String::as_str).collect();
    let mut members = Vec::new();
    let in_group: BTreeMap<String, &User> =
        observed.members.iter().map(|u| (email_of(u), u)).collect();
    for email in &ws.members {
        members.push(match in_group.get(email) {
            Some(u) => MemberChange::Keep {
                email: email.clone(),
                invited: u.invited(),
            },
            None => match observed.accounts.get(email).cloned().flatten() {
                Some(User { id: Some(id), .. }) => MemberChange::Add {
                    email: email.clone(),
                    id,
                },
                _ => MemberChange::Invite {
                    email: email.clone(),
                },
            },
        });
    }
    for (email, user) in &in_group {
        if !wanted.contains(email.as_str())
            && let Some(id) = &user.id
        {
            members.push(MemberChange::Remove {
                email: email.clone(),
                id: id.clone(),
            });
        }
    }
    let clients = ws
        .clients
        .iter()
        .map(|spec| {
            let client_id = spec.client_id.clone();
            match observed.clients.get(&spec.client_id).cloned().flatten() {
                None => ClientChange::Create { client_id },
                Some(live) if !made_by_maia(&live) => ClientChange::NotOwned { client_id },
                Some(live) => {
                    let fields = client_fields(spec, &live);
                    if fields.is_empty() {
                        ClientChange::Unchanged { client_id }
                    } else {
                        ClientChange::Update { client_id, fields }
                    }
                }
            }
        })
        .collect();
    Plan {
        group: ws.group.clone(),
        create_group: observed.group.is_none(),
        members,
        clients,
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// Accounts created and invited.
    pub invited: Vec<String>,
    /// Members added to the group (invited ones too).
    pub added: Vec<String>,
    /// Members taken out of the group.
    pub removed: Vec<String>,
    /// Each client's secret, by client ID (generated by Keycloak; never printed).
    pub secrets: BTreeMap<String, String>,
}

/// Creates the group; an existing one of that name (a 409) is used.
fn create_group(admin: &Admin, name: &str) -> Result<String> {
    let answer = admin.call(
        "POST",
        "/groups",
        &[],
        Some(&json!({"name": name})),
        Access::ManageUsers,
    )?;
    match answer.status {
        201 => answer.created_id().ok_or_else(|| KeycloakError::Decode {
            method: "POST",
            path: "/groups".into(),
            message: "no Location on the created group".into(),
        }),
        409 => find_group(admin, name)?
            .and_then(|g| g.id)
            .ok_or_else(|| unexpected("POST", "/groups", 409, &answer.body)),
        status => Err(unexpected("POST", "/groups", status, &answer.body)),
    }
}

/// Creates an account (user name = e-mail, no password, must verify the e-mail and
/// choose a password); an account that appeared meanwhile (a 409) is used, and `true`
/// says it was created here.
fn create_user(admin: &Admin, email: &str) -> Result<(String, bool)> {
    let body = json!({
        "username": email,
        "email": email,
        "enabled": true,
        "emailVerified": false,
        "requiredActions": INVITE_ACTIONS,
    });
    let answer = admin.call("POST", "/users", &[], Some(&body), Access::ManageUsers)?;
    match answer.status {
        201 => Ok((
            answer.created_id().ok_or_else(|| KeycloakError::Decode {
                method: "POST",
                path: "/users".into(),
                message: "no Location on the created user".into(),
            })?,
            true,
        )),
        409 => {
            let by_name: Vec<User> = admin
                .get(
                    "/users",
                    &[("username", email), ("exact", "true")],
                    Access::ViewUsers,
                )?
                .unwrap_or_default();
            let found = find_user(admin, email)?
                .or_else(|| by_name.into_iter().next())
                .and_then(|u| u.id);
            found
                .map(|id| (id, false))
                .ok_or_else(|| unexpected("POST", "/users", 409, &answer.body))
        }
        status => Err(unexpected("POST", "/users", status, &answer.body)),
    }
}

fn expect(
    answer: crate::admin::Answer,
    method: &'static str,
    path: &str,
    ok: &[u16],
) -> Result<crate::admin::Answer> {
    if ok.contains(&answer.status) {
        Ok(answer)
    } else {
        Err(unexpected(method, path, answer.status, &answer.body))
    }
}

/// Makes Keycloak hold `ws` as `plan` says. Stops before any write when a client is not
/// maia's. Each step is idempotent: a run stopped part-way is finished by the next.
pub fn apply(admin: &Admin, ws: &Workspace, plan: &Plan, observed: &Observed) -> Result<Synced> {
    // Every role the writes need, checked before the first of them.
    if plan.create_group
        || plan
            .members
            .iter()
            .any(|m| !matches!(m, MemberChange::Keep { .. }))
    {
        admin.require(
            Access::ManageUsers,
            "create the group or change its members",
        )?;
    }
    if plan
        .clients
        .iter()
        .any(|c| matches!(c, ClientChange::Create { .. } | ClientChange::Update { .. }))
    {
        admin.require(
            Access::ManageClients,
            "create or change the workspace's clients",
        )?;
    }
    let mut synced = Synced::default();
    let group_id = match observed.group.as_ref().and_then(|g| g.id.clone()) {
        Some(id) => id,
        None => create_group(admin, &ws.group)?,
    };
    for change in &plan.members {
        match change {
            MemberChange::Keep { .. } => {}
            MemberChange::Add { email, id } => {
                let path = format!("/users/{id}/groups/{group_id}");
                expect(
                    admin.call("PUT", &path, &[], None, Access::ManageUsers)?,
                    "PUT",
                    &path,
                    &[204],
                )?;
                synced.added.push(email.clone());
            }
            MemberChange::Invite { email } => {
                let (id, created) = create_user(admin, email)?;
                let path = format!("/users/{id}/groups/{group_id}");
                expect(
                    admin.call("PUT", &path, &[], None, Access::ManageUsers)?,
                    "PUT",
                    &path,
                    &[204],
                )?;
                synced.added.push(email.clone());
                if created {
                    let path = format!("/users/{id}/execute-actions-email");
                    let lifespan = ws.invite_lifespan.to_string();
                    let actions = json!(INVITE_ACTIONS);
                    expect(
                        admin.call(
                            "PUT",
                            &path,
                            &[("lifespan", &lifespan)],
                            Some(&actions),
                            Access::ManageUsers,
                        )?,
                        "PUT",
                        &path,
                        &[204],
                    )?;
                    synced.invited.push(email.clone());
                }
            }
            MemberChange::Remove { email, id } => {
                let path = format!("/users/{id}/groups/{group_id}");
                expect(
                    admin.call("DELETE", &path, &[], None, Access::ManageUsers)?,
                    "DELETE",
                    &path,
                    &[204, 404],
                )?;
                synced.removed.push(email.clone());
            }
        }
    }
    for (spec, change) in ws.clients.iter().zip(&plan.clients) {
        let live = observed.clients.get(&spec.client_id).cloned().flatten();
        let id = match change {
            ClientChange::NotOwned { .. } => continue,
            ClientChange::Create { .. } => create_client(admin, spec)?,
            ClientChange::Update { .. } => {
                let live = live.ok_or_else(|| unexpected("PUT", "/clients", 404, ""))?;
                update_client(admin, spec, &live)?
            }
            ClientChange::Unchanged { .. } => live.and_then(|c| c.id).unwrap_or_default(),
        };
        let path = format!("/clients/{id}/client-secret");
        let secret: Option<Secret> = admin.get(&path, &[], Access::ManageClients)?;
        if let Some(value) = secret.and_then(|s| s.value) {
            synced.secrets.insert(spec.client_id.clone(), value);
        }
    }
    Ok(synced)
}

/// Creates a client (with its groups mapper); a 409 (made meanwhile) is updated instead.
fn create_client(admin: &Admin, spec: &ClientSpec) -> Result<String> {
    let mut client = desired_client(spec, None);
    client.protocol_mappers = Some(vec![groups_mapper()]);
    let body = serde_json::to_value(&client).unwrap_or(Value::Null);
    let answer = admin.call("POST", "/clients", &[], Some(&body), Access::ManageClients)?;
    match answer.status {
        201 => answer.created_id().ok_or_else(|| KeycloakError::Decode {
            method: "POST",
            path: "/clients".into(),
            message: "no Location on the created client".into(),
        }),
        409 => match find_client(admin, &spec.client_id)? {
            Some(live) if made_by_maia(&live) => update_client(admin, spec, &live),
            _ => Err(unexpected("POST", "/clients", 409, &answer.body)),
        },
        status => Err(unexpected("POST", "/clients", status, &answer.body)),
    }
}

/// Sets a client's managed settings again, and its groups mapper.
fn update_client(admin: &Admin, spec: &ClientSpec, live: &Client) -> Result<String> {
    let id = live.id.clone().unwrap_or_default();
    let mut client = desired_client(spec, Some(live));
    // Mappers have their own endpoints; the client's PUT leaves them.
    client.protocol_mappers = None;
    let path = format!("/clients/{id}");
    let body = serde_json::to_value(&client).unwrap_or(Value::Null);
    expect(
        admin.call("PUT", &path, &[], Some(&body), Access::ManageClients)?,
        "PUT",
        &path,
        &[204],
    )?;
    let mapper = groups_mapper();
    let models = format!("/clients/{id}/protocol-mappers/models");
    match live_groups_mapper(live) {
        None => {
            let body = serde_json::to_value(&mapper).unwrap_or(Value::Null);
            expect(
                admin.call("POST", &models, &[], Some(&body), Access::ManageClients)?,
                "POST",
                &models,
                &[201, 409],
            )?;
        }
        Some(m) if mapper_differs(m, &mapper) => {
            let mid = m.id.clone().unwrap_or_default();
            let path = format!("{models}/{mid}");
            let body = serde_json::to_value(ProtocolMapper {
                id: Some(mid),
                ..mapper
            })
            .unwrap_or(Value::Null);
            expect(
                admin.call("PUT", &path, &[], Some(&body), Access::ManageClients)?,
                "PUT",
                &path,
                &[204],
            )?;
        }
        Some(_) => {}
    }
    Ok(id)
}

/// One member as `status` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberStatus {
    /// The e-mail.
    pub email: String,
    /// `active`, `invited` (the invitation is not finished), `missing` (in the form,
    /// not in the group) or `extra` (in the group, not in the form).
    pub state: &'static str,
}

/// A workspace's group and members as Keycloak holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The group.
    pub group: String,
    /// It exists.
    pub group_exists: bool,
    /// Each member.
    pub members: Vec<MemberStatus>,
    /// The workspace's clients that exist.
    pub clients: Vec<String>,
}

/// The group and members of a deployed workspace, and its clients by ID (for a status
/// read from the cluster, without the group form): only what [`status`] reads.
pub fn named(group: &str, members: &[String], client_ids: &[String]) -> Workspace {
    Workspace {
        group: group.to_string(),
        members: members.iter().map(|m| m.to_lowercase()).collect(),
        clients: client_ids
            .iter()
            .map(|id| ClientSpec {
                service: "",
                client_id: id.clone(),
                name: String::new(),
                root_url: String::new(),
                redirect_uris: Vec::new(),
                post_logout_redirect_uris: Vec::new(),
                web_origins: Vec::new(),
            })
            .collect(),
        invite_lifespan: 0,
    }
}

/// What Keycloak holds of `ws`, read only.
pub fn status(admin: &Admin, ws: &Workspace) -> Result<Status> {
    let observed = observe(admin, ws)?;
    let plan = diff(ws, &observed);
    let members = plan
        .members
        .iter()
        .map(|m| match m {
            MemberChange::Keep { email, invited } => MemberStatus {
                email: email.clone(),
                state: if *invited { "invited" } else { "active" },
            },
            MemberChange::Add { email, .. } | MemberChange::Invite { email } => MemberStatus {
                email: email.clone(),
                state: "missing",
            },
            MemberChange::Remove { email, .. } => MemberStatus {
                email: email.clone(),
                state: "extra",
            },
        })
        .collect();
    Ok(Status {
        group: ws.group.clone(),
        group_exists: observed.group.is_some(),
        members,
        clients: observed
            .clients
            .iter()
            .filter(|(_, c)| c.is_some())
            .map(|(id, _)| id.clone())
            .collect(),
    })
}

/// What [`remove`] took away.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// Clients deleted.
    pub clients: Vec<String>,
    /// The group was deleted.
    pub group: bool,
}

/// Deletes the workspace's clients maia made and, with `group`, its group. Accounts
/// are never deleted.
pub fn remove(admin: &Admin, ws: &Workspace, group: bool) -> Result<Removed> {
    let client_ids: Vec<String> = ws.clients.iter().map(|c| c.client_id.clone()).collect();
    remove_named(admin, &ws.group, &client_ids, group, false)
}

/// [`remove`] by names: the group and the client IDs (those maia did not make are
/// left alone). With `dry_run`, only finds what would go.
pub fn remove_named(
    admin: &Admin,
    group_name: &str,
    client_ids: &[String],
    group: bool,
    dry_run: bool,
) -> Result<Removed> {
    let mut clients = Vec::new();
    for client_id in client_ids {
        if let Some(live) = find_client(admin, client_id)?
            && made_by_maia(&live)
            && let Some(id) = live.id
        {
            clients.push((client_id.clone(), id));
        }
    }
    let group_id = match group {
        true => find_group(admin, group_name)?.and_then(|g| g.id),
        false => None,
    };
    if !dry_run {
        // Every role the deletes need, checked before the first of them.
        if !clients.is_empty() {
            admin.require(Access::ManageClients, "delete the workspace's clients")?;
        }
        if group_id.is_some() {
            admin.require(Access::ManageUsers, "delete the workspace's group")?;
        }
        for (_, id) in &clients {
            let path = format!("/clients/{id}");
            expect(
                admin.call("DELETE", &path, &[], None, Access::ManageClients)?,
                "DELETE",
                &path,
                &[204, 404],
            )?;
        }
        if let Some(id) = &group_id {
            let path = format!("/groups/{id}");
            expect(
                admin.call("DELETE", &path, &[], None, Access::ManageUsers)?,
                "DELETE",
                &path,
                &[204, 404],
            )?;
        }
    }
    Ok(Removed {
        clients: clients.into_iter().map(|(c, _)| c).collect(),
        group: group_id.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> Workspace {
        Workspace {
            group: "MAIA:Brain_MRI".into(),
            members: vec!["ana@uni.org".into(), "bo@uni.org".into()],
            clients: vec![ClientSpec {
                service: "hub",
                client_id: "maia-brain-mri-hub".into(),
                name: "Brain_MRI hub".into(),
                root_url: "https://brain-mri.maia.org".into(),
                redirect_uris: vec!["https://brain-mri.maia.org/hub/oauth_callback".into()],
                post_logout_redirect_uris: vec!["https://brain-mri.maia.org/".into()],
                web_origins: vec!["https://brain-mri.maia.org".into()],
            }],
            invite_lifespan: 604_800,
        }
    }

    fn user(id: &str, email: &str, invited: bool) -> User {
        User {
            id: Some(id.into()),
            username: email.into(),
            email: Some(email.into()),
            enabled: Some(true),
            email_verified: Some(!invited),
            required_actions: if invited {
                vec!["UPDATE_PASSWORD".into()]
            } else {
                vec![]
            },
        }
    }

    /// Keycloak holding `ws` exactly, as a sync leaves it.
    fn synced(ws: &Workspace) -> Observed {
        let mut client = desired_client(&ws.clients[0], None);
        client.id = Some("c1".into());
        client.protocol_mappers = Some(vec![ProtocolMapper {
            id: Some("m1".into()),
            ..groups_mapper()
        }]);
        Observed {
            group: Some(Group {
                id: Some("g1".into()),
                name: ws.group.clone(),
                path: Some(format!("/{}", ws.group)),
            }),
            members: vec![
                user("u1", "Ana@Uni.org", false),
                user("u2", "bo@uni.org", true),
            ],
            accounts: BTreeMap::new(),
            clients: [("maia-brain-mri-hub".to_string(), Some(client))].into(),
        }
    }

    #[test]
    fn a_new_workspace_creates_the_group_invites_everyone_and_makes_its_clients() {
        let ws = ws();
        let observed = Observed {
            accounts: ws.members.iter().map(|m| (m.clone(), None)).collect(),
            clients: [("maia-brain-mri-hub".to_string(), None)].into(),
            ..Observed::default()
        };
        let plan = diff(&ws, &observed);
        assert!(plan.create_group && plan.has_changes());
        assert_eq!(
            plan.members,
            [
                MemberChange::Invite {
                    email: "ana@uni.org".into()
                },
                MemberChange::Invite {
                    email: "bo@uni.org".into()
                },
            ]
        );
        assert_eq!(
            plan.clients,
            [ClientChange::Create {
                client_id: "maia-brain-mri-hub".into()
            }]
        );
    }

    #[test]
    fn what_a_sync_left_is_unchanged_and_e_mails_match_in_any_case() {
        let ws = ws();
        let plan = diff(&ws, &synced(&ws));
        assert!(!plan.has_changes(), "{plan:#?}");
        assert_eq!(
            plan.members,
            [
                MemberChange::Keep {
                    email: "ana@uni.org".into(),
                    invited: false
                },
                MemberChange::Keep {
                    email: "bo@uni.org".into(),
                    invited: true
                },
            ]
        );
    }

    #[test]
    fn a_member_who_left_is_removed_and_one_with_an_account_is_added() {
        let mut ws = ws();
        ws.members = vec!["ana@uni.org".into(), "cy@uni.org".into()];
        let mut observed = synced(&ws);
        observed
            .accounts
            .insert("cy@uni.org".into(), Some(user("u3", "cy@uni.org", false)));
        let plan = diff(&ws, &observed);
        assert_eq!(
            plan.members,
            [
                MemberChange::Keep {
                    email: "ana@uni.org".into(),
                    invited: false
                },
                MemberChange::Add {
                    email: "cy@uni.org".into(),
                    id: "u3".into()
                },
                MemberChange::Remove {
                    email: "bo@uni.org".into(),
                    id: "u2".into()
                },
            ]
        );
    }

    #[test]
    fn a_changed_client_is_updated_field_by_field_and_anothers_is_not_touched() {
        let ws = ws();
        let mut observed = synced(&ws);
        {
            let live = observed
                .clients
                .values_mut()
                .next()
                .unwrap()
                .as_mut()
                .unwrap();
            live.redirect_uris = Some(vec!["*".into()]);
            live.protocol_mappers = None;
        }
        assert_eq!(
            diff(&ws, &observed).clients,
            [ClientChange::Update {
                client_id: "maia-brain-mri-hub".into(),
                fields: vec!["redirectUris".into(), "protocolMappers.groups".into()],
            }]
        );
        observed
            .clients
            .values_mut()
            .next()
            .unwrap()
            .as_mut()
            .unwrap()
            .attributes
            .remove(MANAGED_BY);
        let plan = diff(&ws, &observed);
        assert_eq!(plan.not_owned(), ["maia-brain-mri-hub"]);
        assert!(!plan.has_changes());
    }

    #[test]
    fn a_client_keeps_what_maia_does_not_manage() {
        let ws = ws();
        let mut live = desired_client(&ws.clients[0], None);
        live.rest.insert("description".into(), json!("kept"));
        let again = desired_client(&ws.clients[0], Some(&live));
        assert_eq!(again.rest["description"], "kept");
        assert_eq!(again.attributes[POST_LOGOUT], "https://brain-mri.maia.org/");
        // Confidential, code flow only.
        assert_eq!(
            (
                again.public_client,
                again.standard_flow_enabled,
                again.implicit_flow_enabled,
                again.direct_access_grants_enabled
            ),
            (Some(false), Some(true), Some(false), Some(false))
        );
    }
}

#[cfg(test)]
mod of_spec {
    use super::*;
    use maia_spec::workspace::{KeycloakAdmin, WorkspaceSpec};

    #[test]
    fn a_workspace_asks_for_its_group_its_members_and_its_own_clients_only_when_configured() {
        let spec = WorkspaceSpec::test();
        let mut settings = KeycloakAdmin {
            url: "https://iam.example.org".into(),
            realm: "maia".into(),
            client_id: "maia-admin".into(),
            client_secret_file: None,
            invite_lifespan: 3600,
            per_workspace_clients: false,
        };
        let shared = Workspace::of(&spec, &settings);
        assert_eq!(shared.group, spec.keycloak_group());
        assert_eq!(shared.members, spec.users);
        assert!(shared.clients.is_empty());
        assert_eq!(shared.invite_lifespan, 3600);
        settings.per_workspace_clients = true;
        assert_eq!(Workspace::of(&spec, &settings).clients.len(), 3);
    }
}
