//! A fake Keycloak on loopback: the parts of Keycloak 26's admin REST API and OIDC
//! token endpoint that maia's Keycloak integration uses, for tests in-process (async or
//! not) and of the `maia` binary alike ([`FakeKeycloak::start`] serves it on
//! 127.0.0.1, an ephemeral port, from its own thread and runtime).
//!
//! Written from Keycloak 26's sources (`UsersResource`, `UserResource`,
//! `GroupsResource`, `GroupResource`, `ClientsResource`, `ClientResource`,
//! `ProtocolMappersResource`, `RealmAdminResource.getGroupByPath`, the client
//! credentials grant, `KeycloakErrorHandler`, `ErrorResponse`); status codes and
//! bodies were then checked against answers recorded from a live Keycloak 26.7.1
//! (the conformance goldens of the Go reimplementation `ekalinin/gloak`), and the
//! whole against the official admin client, `@keycloak/keycloak-admin-client` 26.4.7
//! (`tests/keycloak-client/`, run by `tests/keycloak.rs`).
//!
//! # Faithful
//!
//! - **Token endpoint** `POST /realms/{realm}/protocol/openid-connect/token`,
//!   form-encoded, `grant_type=client_credentials` with the client's id and secret in
//!   the form or as HTTP Basic (each part form-URL-decoded, RFC 6749 §2.3.1). Answers
//!   `access_token`, `expires_in`, `refresh_expires_in` 0, `token_type` `Bearer`,
//!   `not-before-policy`, `scope`; no refresh token (Keycloak issues none for this
//!   grant). A wrong secret is 401 `{"error":"unauthorized_client","error_description":
//!   "Invalid client or Invalid client credentials"}`, an unknown client 401
//!   `invalid_client` with the same description, a client without service account 401
//!   `unauthorized_client` "Client not enabled to retrieve service account", no
//!   `grant_type` 400 `invalid_request` "Missing form parameter: grant_type", another
//!   grant 400 `unsupported_grant_type`; an unknown realm 404 `{"error":"Realm does not
//!   exist"}`. The lifetime is [configurable](FakeKeycloak::set_token_lifespan) (300 s,
//!   Keycloak's default for a new realm); [`FakeKeycloak::expire_tokens`] ends every
//!   token now. An expired or an unknown bearer on the admin API is 401
//!   `{"error":"HTTP 401 Unauthorized"}`.
//! - **Roles**: the service account's realm-management roles are read when the token
//!   is issued (they are in the token), as in Keycloak: change them
//!   ([`FakeKeycloak::set_admin_roles`], [`FakeKeycloak::remove_admin_role`]) before
//!   the token is taken, or expire the tokens. Which role each endpoint needs follows
//!   Keycloak's `UserPermissions`, `GroupPermissions` and `ClientPermissions`:
//!   `manage-users` implies `view-users` implies `query-users`; listing and counting
//!   groups takes `query-groups` or `view-users`; viewing a group (by id or path) or
//!   its members takes `view-users`; creating, changing and deleting groups and
//!   memberships and sending execute-actions e-mails take `manage-users`;
//!   `manage-clients` implies `view-clients` implies `query-clients` (reading a client
//!   secret or protocol mappers is `view-clients`, changing them `manage-clients`);
//!   `realm-admin` implies all. Without the role: 403 `{"error":"HTTP 403 Forbidden"}`
//!   (Keycloak 26.7; Keycloak 21 to 23 answered `{"error":"unknown_error"}`, so a
//!   client should go by the status). As in Keycloak without fine-grained
//!   permissions, `query-users` alone lists no user (and counts 0) and `query-clients`
//!   alone lists no client; an unknown user or client id is 404 to who may query them
//!   and 403 to who may not.
//! - **Errors**: 404 `{"error":"User not found"}`, `"Could not find group by id"`,
//!   `"Group not found"` (a membership), `"Could not find client"`, `"Model not found"`
//!   (a protocol mapper), `"ProtocolMapper provider not found"` (an unknown
//!   `protocolMapper` type), `"Group path does not exist"`, `"Realm not found."`; 409
//!   `{"errorMessage":"User exists with same username"}`, `"User exists with same
//!   email"`, `"Top level group named 'NAME' already exists."`, `"Client CLIENT_ID
//!   already exists"`, `"Protocol mapper exists with same name"`; 400
//!   `{"errorMessage":"User name is missing"}`, `"Group name is missing"`; a body that
//!   is not JSON 400 `{"error":"invalid_request","error_description":"Cannot parse the
//!   JSON"}`, no body at all 500 `unknown_error`. A wrong method on a known path, and
//!   a malformed `first`/`max`, are 404 `{"error":"HTTP 404 Not Found"}`; an unknown
//!   path 404 `{"error":"Unable to find matching target resource method"}`.
//!   Successful admin answers are `application/json;charset=UTF-8` with
//!   `Cache-Control: no-cache`, errors and token answers plain `application/json`.
//! - **Creates** answer 201 with an empty body and a `Location` of the new resource
//!   (`…/admin/realms/{realm}/users/{id}`, `…/groups/{id}`, `…/clients/{id}`,
//!   `…/protocol-mappers/models/{id}`); updates and deletes answer 204. A trailing
//!   slash on a path is ignored, as by JAX-RS.
//! - **Users**: `GET /users` with `search` (whitespace-separated terms, each a
//!   case-insensitive prefix of username, e-mail, first or last name, `*` a wildcard,
//!   `"…"` exact; `id:ID`), `username`, `email`, `firstName`, `lastName` (infix, or
//!   equal with `exact=true`; case-insensitive), `enabled`, `emailVerified`, `first`
//!   (default 0), `max` (default 100, -1 for all), `briefRepresentation` (a listing's
//!   `access` is `{"manage":…}` only, brief or not); sorted by username. `GET /users/count`,
//!   `POST /users` (username and e-mail lowercased; `enabled` false unless given, as in
//!   Keycloak), `GET/PUT/DELETE /users/{id}` (a PUT replaces `requiredActions` and
//!   `attributes` when given; the username is not editable, the realm default),
//!   `GET /users/{id}/groups` (`search`, `first`, `max`, `briefRepresentation` default
//!   true: `id`, `name`, `path`, `subGroups`), `GET /users/{id}/groups/count`,
//!   `PUT/DELETE /users/{id}/groups/{groupId}` (204, also when already a member or not
//!   one), `PUT /users/{id}/execute-actions-email` (`lifespan` in seconds, default
//!   43200; `client_id` default `account`; `redirect_uri` checked against the client's
//!   redirect URIs, 400 "Client id missing" without `client_id`; 400 "User email
//!   missing", "User is disabled", "Client doesn't exist", "Invalid redirect uri.",
//!   "Provided invalid required actions"; the sent mail is
//!   [recorded](FakeKeycloak::mails); [without SMTP](Smtp::Missing) 500
//!   `{"errorMessage":"Failed to send execute actions email: Invalid sender address
//!   'null'. …"}`, [SMTP unreachable](Smtp::Unreachable) 500 `"Failed to send execute
//!   actions email: Error when attempting to send the email to the server. …"`).
//! - **Groups**: `GET /groups` (`search` infix and case-insensitive, or equal with
//!   `exact=true`; `q=key:value …` on attributes; `first`, `max` with no default limit;
//!   `briefRepresentation` default true), `GET /groups/count` (`{"count":N}`; `search`,
//!   `top`), `POST /groups`, `GET/PUT/DELETE /groups/{id}`, `GET /groups/{id}/members`
//!   (`first` default 0, `max` default 100, `briefRepresentation` default false; no
//!   `access`; sorted by username), `GET /group-by-path/{path}`.
//! - **Clients**: `GET /clients` (`clientId` exact, or infix with `search=true`;
//!   `first`, `max` with no default limit), `POST /clients` (Keycloak's defaults filled
//!   in, attributes `realm_client` and `client.secret.creation.time`,
//!   `protocolMappers` kept with new ids, a secret generated for a confidential client
//!   that brings none), `GET/PUT/DELETE /clients/{id}` (a PUT updates the fields it
//!   carries and merges `attributes`; `secret` shown for a confidential client only),
//!   `GET/POST /clients/{id}/client-secret` (`{"type":"secret","value":…}`, no `value`
//!   when there is none; POST regenerates), `GET/POST
//!   /clients/{id}/protocol-mappers/models`, `GET/PUT/DELETE
//!   /clients/{id}/protocol-mappers/models/{id}` (a PUT changes the name and config).
//!   A realm starts with Keycloak's built-in clients (`account`, `account-console`,
//!   `admin-cli`, `broker`, `realm-management`, `security-admin-console`) and the admin
//!   client.
//!
//! # Not faithful
//!
//! - Tokens are opaque random strings, not signed JWTs; there is no refresh token,
//!   no other grant, no userinfo, no logout, no well-known document.
//! - One realm with its admin client; [`FakeKeycloak::add_realm`] adds more (empty but
//!   for the built-in clients and the same admin client), seeded and inspected only
//!   through HTTP. A token is good for its own realm only (403 elsewhere).
//! - Groups are top-level only (no `children`, no `subGroups` beyond an empty list,
//!   `subGroupCount` 0); names are not escaped in paths.
//! - No user profile validation (e-mail syntax, attributes, unknown fields), no
//!   credentials, no role mappings, no client scopes beyond their names in a client,
//!   no fine-grained admin permissions, no events, no service-account users among the
//!   users, no brute-force detection.
//! - `PUT /users/{id}` with an e-mail another user has answers 409 "User exists with
//!   same email"; Keycloak 26 words it through user-profile validation.
//! - JSON keys come out in alphabetical order, not Keycloak's; the five security
//!   headers Keycloak adds (`X-Frame-Options`, …) are not sent.
//! - The OIDC mapper types known are Keycloak's built-in ones; SAML mappers are not
//!   checked.

// Test support: a poisoned lock or a port that cannot be bound means a broken test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Map, Value, json};

/// The realm [`FakeKeycloak::start`] makes.
pub const REALM: &str = "maia";
/// The confidential client with a service account that the admin API is called as.
pub const ADMIN_CLIENT_ID: &str = "maia-admin";
/// The service-account roles the admin client starts with: all that maia needs.
pub const DEFAULT_ADMIN_ROLES: &[&str] = &[
    "manage-users",
    "view-users",
    "query-users",
    "query-groups",
    "manage-clients",
    "view-clients",
    "query-clients",
];

/// Keycloak's `Constants.DEFAULT_MAX_RESULTS`.
const DEFAULT_MAX: usize = 100;
/// A realm's default `actionTokenGeneratedByAdminLifespan`, in seconds.
const DEFAULT_ACTION_LIFESPAN: u64 = 43_200;
/// What Keycloak's e-mail sender says when the realm has no working SMTP server.
/// What Keycloak 26 answers when the realm has no SMTP server configured.
const NO_SMTP: &str = "Failed to send execute actions email: Invalid sender address 'null'. If the address contains UTF-8 characters in the local part please ensure the SMTP server supports the SMTPUTF8 extension and enable 'Allow UTF-8' in the email realm configuration.";
/// What Keycloak 26 answers when the realm's SMTP server cannot be reached.
const SMTP_UNREACHABLE: &str = "Failed to send execute actions email: Error when attempting to send the email to the server. More information is available in the server log.";

/// The realm's mail server, as execute-actions e-mails find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Smtp {
    /// Configured and reachable: mails are sent (and [recorded](FakeKeycloak::mails)).
    #[default]
    Working,
    /// Not configured (a realm's default): 500, "Invalid sender address 'null'".
    Missing,
    /// Configured but unreachable: 500, "Error when attempting to send the email".
    Unreachable,
}
/// The required actions a realm has (Keycloak 26's built-in providers).
const REQUIRED_ACTIONS: &[&str] = &[
    "VERIFY_EMAIL",
    "UPDATE_PASSWORD",
    "UPDATE_PROFILE",
    "CONFIGURE_TOTP",
    "TERMS_AND_CONDITIONS",
    "UPDATE_EMAIL",
    "delete_account",
    "delete_credential",
    "webauthn-register",
    "webauthn-register-passwordless",
    "update_user_locale",
    "CONFIGURE_RECOVERY_AUTHN_CODES",
    "VERIFY_PROFILE",
];

/// The OpenID Connect protocol mapper types of a Keycloak 26 server (`protocolMapper`).
const OIDC_MAPPERS: &[&str] = &[
    "oidc-acr-mapper",
    "oidc-address-mapper",
    "oidc-allowed-origins-mapper",
    "oidc-audience-mapper",
    "oidc-audience-resolve-mapper",
    "oidc-claims-param-token-mapper",
    "oidc-full-name-mapper",
    "oidc-group-membership-mapper",
    "oidc-hardcoded-claim-mapper",
    "oidc-hardcoded-role-mapper",
    "oidc-nonce-backwards-compatible-mapper",
    "oidc-organization-membership-mapper",
    "oidc-role-name-mapper",
    "oidc-sha256-pairwise-sub-mapper",
    "oidc-sub-mapper",
    "oidc-usermodel-attribute-mapper",
    "oidc-usermodel-client-role-mapper",
    "oidc-usermodel-property-mapper",
    "oidc-usermodel-realm-role-mapper",
    "oidc-usersessionmodel-note-mapper",
    "oidc-user-session-note-mapper",
    "oidc-amr-mapper",
];

/// One request as the fake answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KcRequest {
    /// The HTTP method.
    pub method: String,
    /// The path, still URL-encoded, without the query.
    pub path: String,
    /// The query string, still URL-encoded (empty when there is none).
    pub query: String,
    /// The status it was answered with.
    pub status: u16,
}

impl KcRequest {
    /// Whether it may have changed Keycloak: anything but a GET on the admin API (a
    /// token request changes nothing).
    pub fn is_write(&self) -> bool {
        self.method != "GET" && self.path.starts_with("/admin/")
    }

    /// Whether it asked for a token.
    pub fn is_token(&self) -> bool {
        self.path.ends_with("/protocol/openid-connect/token")
    }
}

/// An execute-actions e-mail the fake "sent".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The realm.
    pub realm: String,
    /// The user's id.
    pub user_id: String,
    /// The address it went to.
    pub to: String,
    /// The actions the link asks for, in the order given.
    pub actions: Vec<String>,
    /// How long the link lasts, in seconds.
    pub lifespan: u64,
    /// The client the link returns to.
    pub client_id: String,
    /// Where the user lands afterwards, when given.
    pub redirect_uri: Option<String>,
}

/// A user to [seed](FakeKeycloak::add_user).
#[derive(Debug, Clone, Default)]
pub struct SeedUser {
    /// The username (lowercased, as Keycloak stores it).
    pub username: String,
    /// The e-mail address (lowercased).
    pub email: Option<String>,
    /// Whether the account is enabled.
    pub enabled: bool,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// Required actions still pending (`VERIFY_EMAIL`, `UPDATE_PASSWORD`, …).
    pub required_actions: Vec<String>,
}

impl SeedUser {
    /// An enabled user whose username is its e-mail address, verified, no action
    /// pending: someone who finished an invitation.
    pub fn active(email: &str) -> Self {
        SeedUser {
            username: email.to_string(),
            email: Some(email.to_string()),
            enabled: true,
            email_verified: true,
            required_actions: Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------------
// State.
// ---------------------------------------------------------------------------------

struct User {
    id: String,
    username: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    enabled: bool,
    email_verified: bool,
    required_actions: Vec<String>,
    attributes: Map<String, Value>,
    created: u64,
    groups: BTreeSet<String>,
}

struct Group {
    id: String,
    name: String,
    description: Option<String>,
    attributes: Map<String, Value>,
}

struct Client {
    id: String,
    /// The representation without `id`, `secret`, `protocolMappers` and `access`.
    rep: Map<String, Value>,
    secret: Option<String>,
    mappers: Vec<Map<String, Value>>,
    /// Its service account's realm-management roles.
    roles: BTreeSet<String>,
}

impl Client {
    fn client_id(&self) -> &str {
        self.rep
            .get("clientId")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
    fn flag(&self, name: &str) -> bool {
        self.rep.get(name).and_then(Value::as_bool).unwrap_or(false)
    }
}

struct Realm {
    users: Vec<User>,
    groups: Vec<Group>,
    clients: Vec<Client>,
}

struct Token {
    realm: String,
    roles: BTreeSet<String>,
    expires: Instant,
}

struct State {
    realms: BTreeMap<String, Realm>,
    tokens: HashMap<String, Token>,
    token_lifespan: u64,
    smtp: Smtp,
    mails: Vec<Mail>,
    log: Vec<KcRequest>,
    admin_secret: String,
    random: RandomState,
    counter: u64,
}

impl State {
    fn random_u64(&mut self) -> u64 {
        self.counter += 1;
        self.random.hash_one((self.counter, SystemTime::now()))
    }

    fn new_id(&mut self) -> String {
        let a = self.random_u64();
        let b = self.random_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn new_secret(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(32);
        while out.len() < 32 {
            let mut r = self.random_u64();
            for _ in 0..8 {
                out.push(ALPHABET[(r % ALPHABET.len() as u64) as usize] as char);
                r /= ALPHABET.len() as u64;
            }
        }
        out.truncate(32);
        out
    }

    fn new_realm(&mut self) -> Realm {
        let mut realm = Realm {
            users: Vec::new(),
            groups: Vec::new(),
            clients: Vec::new(),
        };
        for (client_id, public, bearer) in [
            ("account", true, false),
            ("account-console", true, false),
            ("admin-cli", true, false),
            ("broker", false, true),
            ("realm-management", false, true),
            ("security-admin-console", true, false),
        ] {
            let rep = json!({"clientId": client_id, "publicClient": public, "bearerOnly": bearer});
            let client = self.client_from(as_object(rep));
            realm.clients.push(client);
        }
        let admin = json!({
            "clientId": ADMIN_CLIENT_ID,
            "publicClient": false,
            "serviceAccountsEnabled": true,
            "standardFlowEnabled": false,
            "secret": self.admin_secret.clone(),
        });
        let mut admin = self.client_from(as_object(admin));
        admin.roles = DEFAULT_ADMIN_ROLES.iter().map(|r| r.to_string()).collect();
        realm.clients.push(admin);
        realm
    }

    /// A client as `POST /clients` makes it from a representation.
    fn client_from(&mut self, mut rep: Map<String, Value>) -> Client {
        let id = match rep.remove("id") {
            Some(Value::String(id)) if !id.is_empty() => id,
            _ => self.new_id(),
        };
        rep.remove("access");
        let given_secret = rep
            .remove("secret")
            .and_then(|s| s.as_str().map(String::from));
        let mappers = match rep.remove("protocolMappers") {
            Some(Value::Array(ms)) => ms
                .into_iter()
                .filter_map(|m| match m {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
                .map(|m| self.mapper_from(m))
                .collect(),
            _ => Vec::new(),
        };
        let defaults = json!({
            "surrogateAuthRequired": false,
            "enabled": true,
            "alwaysDisplayInConsole": false,
            "clientAuthenticatorType": "client-secret",
            "redirectUris": [],
            "webOrigins": [],
            "notBefore": 0,
            "bearerOnly": false,
            "consentRequired": false,
            "standardFlowEnabled": true,
            "implicitFlowEnabled": false,
            "directAccessGrantsEnabled": false,
            "serviceAccountsEnabled": false,
            "publicClient": false,
            "frontchannelLogout": false,
            "protocol": "openid-connect",
            "attributes": {},
            "authenticationFlowBindingOverrides": {},
            "fullScopeAllowed": true,
            "nodeReRegistrationTimeout": -1,
            "defaultClientScopes": ["acr", "basic", "email", "profile", "roles", "web-origins"],
            "optionalClientScopes": ["address", "microprofile-jwt", "offline_access", "organization", "phone"],
        });
        for (k, v) in as_object(defaults) {
            if rep.get(&k).is_none_or(Value::is_null) {
                rep.insert(k, v);
            }
        }
        let mut client = Client {
            id,
            rep,
            secret: None,
            mappers,
            roles: BTreeSet::new(),
        };
        client.secret = match given_secret {
            Some(s) => Some(s),
            None if !client.flag("publicClient") => Some(self.new_secret()),
            None => None,
        };
        if let Some(Value::Object(attrs)) = client.rep.get_mut("attributes") {
            attrs
                .entry("realm_client")
                .or_insert_with(|| json!("false"));
            if client.secret.is_some() {
                attrs.insert(
                    "client.secret.creation.time".into(),
                    json!((now_millis() / 1000).to_string()),
                );
            }
        }
        client
    }

    fn mapper_from(&mut self, mut m: Map<String, Value>) -> Map<String, Value> {
        m.insert("id".into(), Value::String(self.new_id()));
        if m.get("protocol").is_none_or(Value::is_null) {
            m.insert("protocol".into(), json!("openid-connect"));
        }
        if m.get("config").is_none_or(Value::is_null) {
            m.insert("config".into(), json!({}));
        }
        m
    }
}

fn as_object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------
// The handle.
// ---------------------------------------------------------------------------------

/// A fake Keycloak served on 127.0.0.1 until dropped. See the [module](self) for what
/// it does and does not do like Keycloak.
pub struct FakeKeycloak {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeKeycloak {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl FakeKeycloak {
    /// Starts a fake with realm [`REALM`], Keycloak's built-in clients and the admin
    /// client [`ADMIN_CLIENT_ID`] (a service account with [`DEFAULT_ADMIN_ROLES`] and a
    /// random [secret](FakeKeycloak::admin_secret)), on its own thread.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound or no thread started.
    pub fn start() -> FakeKeycloak {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut state = State {
            realms: BTreeMap::new(),
            tokens: HashMap::new(),
            token_lifespan: 300,
            smtp: Smtp::Working,
            mails: Vec::new(),
            log: Vec::new(),
            admin_secret: String::new(),
            random: RandomState::new(),
            counter: 0,
        };
        state.admin_secret = state.new_secret();
        let realm = state.new_realm();
        state.realms.insert(REALM.to_string(), realm);
        let state = Arc::new(Mutex::new(state));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("fake-keycloak".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    tokio::spawn(accept(listener, shared, addr));
                    let _ = stopped.await;
                });
            })
            .unwrap();
        FakeKeycloak {
            state,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn with_realm<T>(&self, f: impl FnOnce(&mut Realm) -> T) -> T {
        let mut state = self.lock();
        f(state.realms.get_mut(REALM).unwrap())
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:PORT` (what maia's `keycloak_admin.url` is).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The admin client's secret (random per fake).
    pub fn admin_secret(&self) -> String {
        self.lock().admin_secret.clone()
    }

    /// Adds another realm, with the built-in clients and the same admin client.
    pub fn add_realm(&self, name: &str) {
        let mut state = self.lock();
        let realm = state.new_realm();
        state.realms.insert(name.to_string(), realm);
    }

    /// Sets the lifetime of the tokens issued from now on, in seconds.
    pub fn set_token_lifespan(&self, seconds: u64) {
        self.lock().token_lifespan = seconds;
    }

    /// Expires every token issued so far: their next use is 401.
    pub fn expire_tokens(&self) {
        let mut state = self.lock();
        let past = Instant::now() - Duration::from_secs(1);
        for token in state.tokens.values_mut() {
            token.expires = past;
        }
    }

    /// Sets the admin client's service-account roles (realm-management client roles
    /// such as `manage-users`), for the tokens issued from now on.
    pub fn set_admin_roles(&self, roles: &[&str]) {
        self.with_realm(|realm| {
            if let Some(c) = realm
                .clients
                .iter_mut()
                .find(|c| c.client_id() == ADMIN_CLIENT_ID)
            {
                c.roles = roles.iter().map(|r| r.to_string()).collect();
            }
        });
    }

    /// Removes one of the admin client's service-account roles, for the tokens issued
    /// from now on.
    pub fn remove_admin_role(&self, role: &str) {
        self.with_realm(|realm| {
            if let Some(c) = realm
                .clients
                .iter_mut()
                .find(|c| c.client_id() == ADMIN_CLIENT_ID)
            {
                c.roles.remove(role);
            }
        });
    }

    /// The admin client's service-account roles.
    pub fn admin_roles(&self) -> Vec<String> {
        self.with_realm(|realm| {
            realm
                .clients
                .iter()
                .find(|c| c.client_id() == ADMIN_CLIENT_ID)
                .map(|c| c.roles.iter().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Sets the realm's mail server (see [`Smtp`]).
    pub fn set_smtp(&self, smtp: Smtp) {
        self.lock().smtp = smtp;
    }

    /// Makes execute-actions e-mails fail as in a realm without SMTP ([`Smtp::Missing`]),
    /// or succeed again.
    pub fn fail_emails(&self, fail: bool) {
        self.set_smtp(if fail { Smtp::Missing } else { Smtp::Working });
    }

    /// Adds a user; returns its id.
    pub fn add_user(&self, user: SeedUser) -> String {
        let mut state = self.lock();
        let id = state.new_id();
        state.realms.get_mut(REALM).unwrap().users.push(User {
            id: id.clone(),
            username: user.username.to_lowercase(),
            email: user.email.map(|e| e.to_lowercase()),
            first_name: None,
            last_name: None,
            enabled: user.enabled,
            email_verified: user.email_verified,
            required_actions: user.required_actions,
            attributes: Map::new(),
            created: now_millis(),
            groups: BTreeSet::new(),
        });
        id
    }

    /// Adds a top-level group; returns its id.
    pub fn add_group(&self, name: &str) -> String {
        let mut state = self.lock();
        let id = state.new_id();
        state.realms.get_mut(REALM).unwrap().groups.push(Group {
            id: id.clone(),
            name: name.to_string(),
            description: None,
            attributes: Map::new(),
        });
        id
    }

    /// Puts a user (by id) in a group (by id).
    pub fn add_member(&self, group_id: &str, user_id: &str) {
        self.with_realm(|realm| {
            if let Some(u) = realm.users.iter_mut().find(|u| u.id == user_id) {
                u.groups.insert(group_id.to_string());
            }
        });
    }

    /// Adds a client from a ClientRepresentation (as `POST /clients` would); returns
    /// its id.
    pub fn add_client(&self, rep: Value) -> String {
        let mut state = self.lock();
        let client = state.client_from(as_object(rep));
        let id = client.id.clone();
        state.realms.get_mut(REALM).unwrap().clients.push(client);
        id
    }

    /// A user's representation (as `GET /users/{id}` answers it), found by username.
    pub fn user(&self, username: &str) -> Option<Value> {
        let username = username.to_lowercase();
        self.with_realm(|realm| {
            realm
                .users
                .iter()
                .find(|u| u.username == username)
                .map(|u| user_rep(u, false, Access::Full(&all_roles())))
        })
    }

    /// The usernames, sorted.
    pub fn usernames(&self) -> Vec<String> {
        self.with_realm(|realm| {
            let mut names: Vec<String> = realm.users.iter().map(|u| u.username.clone()).collect();
            names.sort();
            names
        })
    }

    /// A user's pending required actions, found by username.
    pub fn required_actions(&self, username: &str) -> Option<Vec<String>> {
        let username = username.to_lowercase();
        self.with_realm(|realm| {
            realm
                .users
                .iter()
                .find(|u| u.username == username)
                .map(|u| u.required_actions.clone())
        })
    }

    /// The names of the groups, sorted.
    pub fn group_names(&self) -> Vec<String> {
        self.with_realm(|realm| {
            let mut names: Vec<String> = realm.groups.iter().map(|g| g.name.clone()).collect();
            names.sort();
            names
        })
    }

    /// The id of the group with this name.
    pub fn group_id(&self, name: &str) -> Option<String> {
        self.with_realm(|realm| {
            realm
                .groups
                .iter()
                .find(|g| g.name == name)
                .map(|g| g.id.clone())
        })
    }

    /// The usernames of a group's members (by group name), sorted; `None` without
    /// such a group.
    pub fn members(&self, group: &str) -> Option<Vec<String>> {
        self.with_realm(|realm| {
            let group = realm.groups.iter().find(|g| g.name == group)?;
            let mut names: Vec<String> = realm
                .users
                .iter()
                .filter(|u| u.groups.contains(&group.id))
                .map(|u| u.username.clone())
                .collect();
            names.sort();
            Some(names)
        })
    }

    /// The execute-actions e-mails sent so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.lock().mails.clone()
    }

    /// The clientIds of the realm's clients (built-in ones included), sorted.
    pub fn client_ids(&self) -> Vec<String> {
        self.with_realm(|realm| {
            let mut ids: Vec<String> = realm
                .clients
                .iter()
                .map(|c| c.client_id().to_string())
                .collect();
            ids.sort();
            ids
        })
    }

    /// A client's full representation (secret and protocol mappers included), found
    /// by clientId.
    pub fn client(&self, client_id: &str) -> Option<Value> {
        self.with_realm(|realm| {
            realm
                .clients
                .iter()
                .find(|c| c.client_id() == client_id)
                .map(|c| client_rep(c, &all_roles()))
        })
    }

    /// A client's secret, found by clientId.
    pub fn client_secret(&self, client_id: &str) -> Option<String> {
        self.with_realm(|realm| {
            realm
                .clients
                .iter()
                .find(|c| c.client_id() == client_id)
                .and_then(|c| c.secret.clone())
        })
    }

    /// A client's redirect URIs, found by clientId (empty without such a client).
    pub fn redirect_uris(&self, client_id: &str) -> Vec<String> {
        self.client(client_id)
            .and_then(|c| {
                c["redirectUris"].as_array().map(|uris| {
                    uris.iter()
                        .filter_map(|u| u.as_str().map(String::from))
                        .collect()
                })
            })
            .unwrap_or_default()
    }

    /// A client's protocol mappers (ProtocolMapperRepresentations), found by clientId.
    pub fn mappers(&self, client_id: &str) -> Vec<Value> {
        self.with_realm(|realm| {
            realm
                .clients
                .iter()
                .find(|c| c.client_id() == client_id)
                .map(|c| c.mappers.iter().cloned().map(Value::Object).collect())
                .unwrap_or_default()
        })
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<KcRequest> {
        self.lock().log.clone()
    }

    /// The [writes](KcRequest::is_write) so far, in order.
    pub fn writes(&self) -> Vec<KcRequest> {
        self.requests()
            .into_iter()
            .filter(KcRequest::is_write)
            .collect()
    }

    /// Forgets the requests so far (not the mails).
    pub fn clear_requests(&self) {
        self.lock().log.clear();
    }
}

// ---------------------------------------------------------------------------------
// Serving.
// ---------------------------------------------------------------------------------

async fn accept(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>, addr: SocketAddr) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let state = state.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let reply = {
                        let mut state = state.lock().unwrap();
                        let reply = handle(&mut state, &parts, &body, addr);
                        state.log.push(KcRequest {
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_string(),
                            query: parts.uri.query().unwrap_or_default().to_string(),
                            status: reply.status,
                        });
                        reply
                    };
                    let admin = parts.uri.path().starts_with("/admin/");
                    Ok::<_, Infallible>(reply.into_response(admin))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// An answer before it is an HTTP response.
struct Reply {
    status: u16,
    location: Option<String>,
    body: Option<Value>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            location: None,
            body: Some(body),
        }
    }
    fn ok(body: Value) -> Reply {
        Reply::json(200, body)
    }
    fn no_content() -> Reply {
        Reply {
            status: 204,
            location: None,
            body: None,
        }
    }
    fn created(location: String) -> Reply {
        Reply {
            status: 201,
            location: Some(location),
            body: None,
        }
    }
    /// What Keycloak's error handler makes of a `WebApplicationException`.
    fn error(status: u16, error: &str) -> Reply {
        Reply::json(status, json!({ "error": error }))
    }
    /// What Keycloak's `ErrorResponse.error`/`exists` answer.
    fn message(status: u16, message: &str) -> Reply {
        Reply::json(status, json!({ "errorMessage": message }))
    }
    /// Keycloak 26's answer to a caller without the role (Keycloak 21 to 23 said
    /// `{"error":"unknown_error"}`).
    fn forbidden() -> Reply {
        Reply::error(403, "HTTP 403 Forbidden")
    }
    /// What a server error looks like (an empty body where JSON was expected).
    fn server_error() -> Reply {
        Reply::oauth(
            500,
            "unknown_error",
            "For more on this error consult the server log.",
        )
    }
    fn oauth(status: u16, error: &str, description: &str) -> Reply {
        Reply::json(
            status,
            json!({ "error": error, "error_description": description }),
        )
    }

    /// The response; `admin` for the admin API, whose successful answers carry a
    /// charset (its errors and the token endpoint's answers do not).
    fn into_response(self, admin: bool) -> Response<Full<Bytes>> {
        let ok = (200..300).contains(&self.status);
        let mut builder = Response::builder()
            .status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        if ok && admin {
            builder = builder.header("cache-control", "no-cache");
        }
        if let Some(location) = self.location {
            builder = builder.header("location", location);
        }
        let content_type = if ok && admin {
            "application/json;charset=UTF-8"
        } else {
            "application/json"
        };
        match self.body {
            Some(body) => builder
                .header("content-type", content_type)
                .body(Full::new(Bytes::from(body.to_string()))),
            None => builder.body(Full::new(Bytes::new())),
        }
        .expect("a response with a valid status and headers")
    }
}

/// Decodes `%XX` (and `+` as a space when `plus` is set).
fn decode(s: &str, plus: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The pairs of a form or query string, decoded.
fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k, true), decode(v, true)),
            None => (decode(p, true), String::new()),
        })
        .collect()
}

struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// A boolean as JAX-RS reads it: `true` (any case) is true, anything else false.
    fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v.eq_ignore_ascii_case("true"))
    }
    fn number(&self, key: &str) -> Result<Option<i64>, Reply> {
        match self.get(key) {
            None => Ok(None),
            // JAX-RS cannot convert it: no resource method runs.
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Reply::error(404, "HTTP 404 Not Found")),
        }
    }
}

/// Keycloak's pagination: a negative or absent `first` starts at 0, an absent (or
/// negative) `max` takes `default` (`None`: everything).
fn page<T>(items: Vec<T>, first: Option<i64>, max: Option<i64>, default: Option<usize>) -> Vec<T> {
    let first = first.filter(|f| *f >= 0).unwrap_or(0) as usize;
    let max = match max {
        Some(m) if m >= 0 => Some(m as usize),
        Some(_) => None,
        None => default,
    };
    let rest = items.into_iter().skip(first);
    match max {
        Some(m) => rest.take(m).collect(),
        None => rest.collect(),
    }
}

/// Roles a token carries.
type Roles = BTreeSet<String>;

fn all_roles() -> Roles {
    ["realm-admin".to_string()].into_iter().collect()
}

fn has(roles: &Roles, any: &[&str]) -> bool {
    roles.contains("realm-admin") || any.iter().any(|r| roles.contains(*r))
}

const QUERY_USERS: &[&str] = &["query-users", "view-users", "manage-users"];
const VIEW_USERS: &[&str] = &["view-users", "manage-users"];
const MANAGE_USERS: &[&str] = &["manage-users"];
const LIST_GROUPS: &[&str] = &["query-groups", "view-users", "manage-users"];
const QUERY_CLIENTS: &[&str] = &["query-clients", "view-clients", "manage-clients"];
const VIEW_CLIENTS: &[&str] = &["view-clients", "manage-clients"];
const MANAGE_CLIENTS: &[&str] = &["manage-clients"];

fn require(roles: &Roles, any: &[&str]) -> Result<(), Reply> {
    if has(roles, any) {
        Ok(())
    } else {
        Err(Reply::forbidden())
    }
}

fn handle(state: &mut State, parts: &http::request::Parts, body: &[u8], addr: SocketAddr) -> Reply {
    // JAX-RS matches a path with or without a trailing slash alike.
    let raw: Vec<&str> = parts
        .uri
        .path()
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .collect();
    let segs: Vec<String> = raw.iter().map(|s| decode(s, false)).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let query = Query(pairs(parts.uri.query().unwrap_or_default()));
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(String::from)
        .unwrap_or_else(|| addr.to_string());
    let base = format!("http://{host}");
    match segs.as_slice() {
        ["realms", realm, "protocol", "openid-connect", "token"] => {
            if parts.method != Method::POST {
                return Reply::error(405, "HTTP 405 Method Not Allowed");
            }
            token(state, realm, &parts.headers, body)
        }
        ["admin", "realms", realm, rest @ ..] => {
            let roles = match bearer(state, &parts.headers) {
                Some((token_realm, roles)) => {
                    if !state.realms.contains_key(*realm) {
                        return Reply::error(404, "Realm not found.");
                    }
                    if token_realm != *realm {
                        return Reply::forbidden();
                    }
                    roles
                }
                None => return Reply::error(401, "HTTP 401 Unauthorized"),
            };
            let here = format!("{base}{}", parts.uri.path().trim_end_matches('/'));
            let smtp = state.smtp;
            let realm_name = realm.to_string();
            let result = admin(
                state,
                &realm_name,
                rest,
                &parts.method,
                &query,
                body,
                &roles,
                &here,
                smtp,
            );
            result.unwrap_or_else(|reply| reply)
        }
        _ => Reply::error(404, "Unable to find matching target resource method"),
    }
}

/// The token's realm and roles, when it is known and alive.
fn bearer(state: &mut State, headers: &http::HeaderMap) -> Option<(String, Roles)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = state.tokens.get(token.trim())?;
    (token.expires > Instant::now()).then(|| (token.realm.clone(), token.roles.clone()))
}

fn token(state: &mut State, realm: &str, headers: &http::HeaderMap, body: &[u8]) -> Reply {
    if !state.realms.contains_key(realm) {
        return Reply::error(404, "Realm does not exist");
    }
    let form = Query(pairs(&String::from_utf8_lossy(body)));
    let basic = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| base64_decode(b64.trim()))
        .and_then(|raw| {
            let raw = String::from_utf8(raw).ok()?;
            let (id, secret) = raw.split_once(':')?;
            Some((decode(id, true), decode(secret, true)))
        });
    let Some(grant) = form.get("grant_type") else {
        return Reply::oauth(400, "invalid_request", "Missing form parameter: grant_type");
    };
    let (client_id, secret) = match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            form.get("client_id").map(String::from),
            form.get("client_secret").map(String::from),
        ),
    };
    let Some(client_id) = client_id else {
        return Reply::oauth(400, "invalid_client", "Missing client_id parameter");
    };
    let lifespan = state.token_lifespan;
    let r = state.realms.get(realm).unwrap();
    let Some(client) = r.clients.iter().find(|c| c.client_id() == client_id) else {
        return Reply::oauth(
            401,
            "invalid_client",
            "Invalid client or Invalid client credentials",
        );
    };
    if !client.flag("enabled") {
        return Reply::oauth(
            401,
            "invalid_client",
            "Invalid client or Invalid client credentials",
        );
    }
    if !client.flag("publicClient") && (secret.is_none() || secret != client.secret) {
        return Reply::oauth(
            401,
            "unauthorized_client",
            "Invalid client or Invalid client credentials",
        );
    }
    if grant != "client_credentials" {
        return Reply::oauth(400, "unsupported_grant_type", "Unsupported grant_type");
    }
    if client.flag("publicClient") {
        return Reply::oauth(
            401,
            "unauthorized_client",
            "Public client not allowed to retrieve service account",
        );
    }
    if !client.flag("serviceAccountsEnabled") {
        return Reply::oauth(
            401,
            "unauthorized_client",
            "Client not enabled to retrieve service account",
        );
    }
    let roles = client.roles.clone();
    // Shaped as Keycloak's: a JWT whose claims carry the service account's
    // realm-management roles (unsigned here: the fake looks its tokens up).
    let claims = json!({
        "exp": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + lifespan,
        "azp": client_id,
        "resource_access": {"realm-management": {"roles": roles.iter().collect::<Vec<_>>()}},
    });
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let access = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims),
        state.new_secret()
    );
    state.tokens.insert(
        access.clone(),
        Token {
            realm: realm.to_string(),
            roles,
            expires: Instant::now() + Duration::from_secs(lifespan),
        },
    );
    Reply::ok(json!({
        "access_token": access,
        "expires_in": lifespan,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": "profile email",
    }))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn parse_body(body: &[u8]) -> Result<Value, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        // Keycloak hands the resource a null representation, which it does not expect.
        return Err(Reply::server_error());
    }
    serde_json::from_slice(body)
        .map_err(|_| Reply::oauth(400, "invalid_request", "Cannot parse the JSON"))
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    match parse_body(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(Reply::oauth(
            400,
            "invalid_request",
            "Cannot parse the JSON",
        )),
    }
}

fn str_field(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(String::from)
}

/// A known path with a method it does not serve: Keycloak's router answers 404.
fn not_allowed() -> Reply {
    Reply::error(404, "HTTP 404 Not Found")
}

/// A path no resource serves.
fn no_route() -> Reply {
    Reply::error(404, "Unable to find matching target resource method")
}

#[allow(clippy::too_many_arguments)]
fn admin(
    state: &mut State,
    realm_name: &str,
    rest: &[&str],
    method: &Method,
    query: &Query,
    body: &[u8],
    roles: &Roles,
    here: &str,
    smtp: Smtp,
) -> Result<Reply, Reply> {
    let get = *method == Method::GET;
    match rest {
        ["users"] if get => users_list(state.realms.get(realm_name).unwrap(), query, roles),
        ["users"] if *method == Method::POST => {
            require(roles, MANAGE_USERS)?;
            let rep = parse_object(body)?;
            let id = state.new_id();
            let realm = state.realms.get_mut(realm_name).unwrap();
            create_user(realm, id.clone(), rep)?;
            Ok(Reply::created(format!("{here}/{id}")))
        }
        ["users"] => Err(not_allowed()),
        ["users", "count"] if get => {
            require(roles, QUERY_USERS)?;
            let realm = state.realms.get(realm_name).unwrap();
            if !has(roles, VIEW_USERS) {
                return Ok(Reply::ok(json!(0)));
            }
            let found = filter_users(realm, query, false)?;
            Ok(Reply::ok(json!(found.len())))
        }
        ["users", id, tail @ ..] => {
            let realm = state.realms.get(realm_name).unwrap();
            let Some(ui) = realm.users.iter().position(|u| u.id == *id) else {
                return Err(if has(roles, QUERY_USERS) {
                    Reply::error(404, "User not found")
                } else {
                    Reply::forbidden()
                });
            };
            user_routes(
                state, realm_name, ui, tail, method, query, body, roles, smtp,
            )
        }
        ["groups"] if get => {
            require(roles, LIST_GROUPS)?;
            let realm = state.realms.get(realm_name).unwrap();
            let found = filter_groups(realm, query);
            let brief = query.flag("briefRepresentation").unwrap_or(true);
            let found = page(found, query.number("first")?, query.number("max")?, None);
            Ok(Reply::ok(Value::Array(
                found.iter().map(|g| group_rep(g, brief, roles)).collect(),
            )))
        }
        ["groups"] if *method == Method::POST => {
            require(roles, MANAGE_USERS)?;
            let rep = parse_object(body)?;
            let realm = state.realms.get(realm_name).unwrap();
            if let Some(id) = str_field(&rep, "id") {
                // Moving an existing group to the top level, where it already is.
                return if realm.groups.iter().any(|g| g.id == id) {
                    Ok(Reply::no_content())
                } else {
                    Err(Reply::error(404, "Could not find child by id"))
                };
            }
            let name = str_field(&rep, "name").unwrap_or_default();
            if name.trim().is_empty() {
                return Err(Reply::message(400, "Group name is missing"));
            }
            if realm.groups.iter().any(|g| g.name == name) {
                return Err(Reply::message(
                    409,
                    &format!("Top level group named '{name}' already exists."),
                ));
            }
            let id = state.new_id();
            let realm = state.realms.get_mut(realm_name).unwrap();
            realm.groups.push(Group {
                id: id.clone(),
                name,
                description: str_field(&rep, "description"),
                attributes: rep
                    .get("attributes")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            });
            Ok(Reply::created(format!("{here}/{id}")))
        }
        ["groups"] => Err(not_allowed()),
        ["groups", "count"] if get => {
            require(roles, LIST_GROUPS)?;
            let realm = state.realms.get(realm_name).unwrap();
            let n = match query.get("search") {
                Some(s) => {
                    let s = s.to_lowercase();
                    realm
                        .groups
                        .iter()
                        .filter(|g| g.name.to_lowercase().contains(&s))
                        .count()
                }
                None => realm.groups.len(),
            };
            Ok(Reply::ok(json!({ "count": n })))
        }
        ["groups", id, tail @ ..] => {
            let realm = state.realms.get(realm_name).unwrap();
            let Some(gi) = realm.groups.iter().position(|g| g.id == *id) else {
                return Err(Reply::error(404, "Could not find group by id"));
            };
            group_routes(
                state.realms.get_mut(realm_name).unwrap(),
                gi,
                tail,
                method,
                query,
                body,
                roles,
            )
        }
        ["group-by-path", path @ ..] if get && !path.is_empty() => {
            let path = path.join("/");
            let name = path.trim_start_matches('/');
            let realm = state.realms.get(realm_name).unwrap();
            let Some(group) = realm.groups.iter().find(|g| g.name == name) else {
                return Err(Reply::error(404, "Group path does not exist"));
            };
            require(roles, VIEW_USERS)?;
            Ok(Reply::ok(group_rep(group, false, roles)))
        }
        ["clients"] if get => {
            require(roles, QUERY_CLIENTS)?;
            let realm = state.realms.get(realm_name).unwrap();
            let mut found: Vec<&Client> =
                match query.get("clientId").filter(|c| !c.trim().is_empty()) {
                    None => realm.clients.iter().collect(),
                    Some(c) if query.flag("search").unwrap_or(false) => {
                        let c = c.to_lowercase();
                        realm
                            .clients
                            .iter()
                            .filter(|x| x.client_id().to_lowercase().contains(&c))
                            .collect()
                    }
                    Some(c) => realm
                        .clients
                        .iter()
                        .filter(|x| x.client_id() == c)
                        .collect(),
                };
            found.sort_by(|a, b| a.client_id().cmp(b.client_id()));
            let found = page(found, query.number("first")?, query.number("max")?, None);
            if !has(roles, VIEW_CLIENTS) {
                // As Keycloak 26 without fine-grained permissions: listed, then
                // filtered to the clients the caller may view, which are none.
                return Ok(Reply::ok(json!([])));
            }
            Ok(Reply::ok(Value::Array(
                found.iter().map(|c| client_rep(c, roles)).collect(),
            )))
        }
        ["clients"] if *method == Method::POST => {
            require(roles, MANAGE_CLIENTS)?;
            let rep = parse_object(body)?;
            let client_id = str_field(&rep, "clientId").unwrap_or_default();
            if client_id.trim().is_empty() {
                return Err(Reply::message(400, "Client id is missing"));
            }
            let realm = state.realms.get(realm_name).unwrap();
            if realm.clients.iter().any(|c| c.client_id() == client_id) {
                return Err(Reply::message(
                    409,
                    &format!("Client {client_id} already exists"),
                ));
            }
            let client = state.client_from(rep);
            let id = client.id.clone();
            state
                .realms
                .get_mut(realm_name)
                .unwrap()
                .clients
                .push(client);
            Ok(Reply::created(format!("{here}/{id}")))
        }
        ["clients"] => Err(not_allowed()),
        ["clients", id, tail @ ..] => {
            let realm = state.realms.get(realm_name).unwrap();
            let Some(ci) = realm.clients.iter().position(|c| c.id == *id) else {
                return Err(if has(roles, QUERY_CLIENTS) {
                    Reply::error(404, "Could not find client")
                } else {
                    Reply::forbidden()
                });
            };
            client_routes(state, realm_name, ci, tail, method, body, roles, here)
        }
        _ => Err(no_route()),
    }
}

// ---------------------------------------------------------------------------------
// Users.
// ---------------------------------------------------------------------------------

fn user_access(roles: &Roles) -> Value {
    let manage = has(roles, MANAGE_USERS);
    json!({
        "manageGroupMembership": manage,
        "resetPassword": manage,
        "view": has(roles, VIEW_USERS),
        "mapRoles": manage,
        "impersonate": has(roles, &["impersonation"]),
        "manage": manage,
    })
}

/// Which `access` a UserRepresentation carries.
enum Access<'a> {
    /// None (a group's member list).
    None,
    /// `{"manage":…}` only (a user listing, brief or not).
    Listed(&'a Roles),
    /// Every entry (one user read by id).
    Full(&'a Roles),
}

/// A UserRepresentation: brief (`briefRepresentation=true`) or full.
fn user_rep(u: &User, brief: bool, access: Access<'_>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id));
    m.insert("username".into(), json!(u.username));
    if let Some(v) = &u.first_name {
        m.insert("firstName".into(), json!(v));
    }
    if let Some(v) = &u.last_name {
        m.insert("lastName".into(), json!(v));
    }
    if let Some(v) = &u.email {
        m.insert("email".into(), json!(v));
    }
    m.insert("emailVerified".into(), json!(u.email_verified));
    if !u.attributes.is_empty() {
        m.insert("attributes".into(), Value::Object(u.attributes.clone()));
    }
    m.insert("enabled".into(), json!(u.enabled));
    m.insert("createdTimestamp".into(), json!(u.created));
    if !brief {
        m.insert("totp".into(), json!(false));
        m.insert("disableableCredentialTypes".into(), json!([]));
        m.insert("requiredActions".into(), json!(u.required_actions));
        m.insert("notBefore".into(), json!(0));
    }
    match access {
        Access::None => {}
        Access::Listed(roles) => {
            m.insert(
                "access".into(),
                json!({ "manage": has(roles, MANAGE_USERS) }),
            );
        }
        Access::Full(roles) => {
            m.insert("access".into(), user_access(roles));
        }
    }
    Value::Object(m)
}

/// Whether `value` (lowercase) matches a SQL LIKE `pattern` whose only wildcard is `%`.
fn like(value: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('%').collect();
    if parts.len() == 1 {
        return value == pattern;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || value.len() < first.len() + last.len() || !value.ends_with(last)
    {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// One term of `search`, as Keycloak 26's JPA provider matches it.
fn search_term_matches(u: &User, term: &str) -> bool {
    let term = term.to_lowercase();
    let fields = [
        Some(u.username.clone()),
        u.email.clone(),
        u.first_name.as_ref().map(|s| s.to_lowercase()),
        u.last_name.as_ref().map(|s| s.to_lowercase()),
    ];
    if term.len() >= 2 && term.starts_with('"') && term.ends_with('"') {
        let exact = &term[1..term.len() - 1];
        return fields.iter().flatten().any(|f| f == exact);
    }
    let mut pattern = term.replace('*', "%");
    if !pattern.ends_with('%') {
        pattern.push('%');
    }
    fields.iter().flatten().any(|f| like(f, &pattern))
}

fn filter_users<'a>(
    realm: &'a Realm,
    query: &Query,
    use_exact: bool,
) -> Result<Vec<&'a User>, Reply> {
    let mut found: Vec<&User> = if let Some(search) = query.get("search") {
        let search = search.trim();
        if let Some(id) = search.strip_prefix("id:") {
            realm.users.iter().filter(|u| u.id == id.trim()).collect()
        } else {
            realm
                .users
                .iter()
                .filter(|u| {
                    search == "*" || search.split_whitespace().all(|t| search_term_matches(u, t))
                })
                .collect()
        }
    } else {
        let exact = use_exact && query.flag("exact").unwrap_or(false);
        let field = |u: &User, key: &str| -> Option<String> {
            match key {
                "username" => Some(u.username.clone()),
                "email" => u.email.clone(),
                "firstName" => u.first_name.as_ref().map(|s| s.to_lowercase()),
                _ => u.last_name.as_ref().map(|s| s.to_lowercase()),
            }
        };
        realm
            .users
            .iter()
            .filter(|u| {
                ["username", "email", "firstName", "lastName"]
                    .iter()
                    .all(|key| match query.get(key) {
                        None => true,
                        Some(want) => {
                            let want = want.to_lowercase();
                            field(u, key).is_some_and(|have| {
                                if exact {
                                    have == want
                                } else {
                                    have.contains(&want)
                                }
                            })
                        }
                    })
                    && query.flag("enabled").is_none_or(|e| e == u.enabled)
                    && query
                        .flag("emailVerified")
                        .is_none_or(|e| e == u.email_verified)
            })
            .collect()
    };
    found.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(found)
}

fn users_list(realm: &Realm, query: &Query, roles: &Roles) -> Result<Reply, Reply> {
    require(roles, QUERY_USERS)?;
    let first = query.number("first")?;
    let max = query.number("max")?;
    if !has(roles, VIEW_USERS) {
        return Ok(Reply::ok(json!([])));
    }
    let found = filter_users(realm, query, true)?;
    let brief = query.flag("briefRepresentation").unwrap_or(false);
    let found = page(found, first, max, Some(DEFAULT_MAX));
    Ok(Reply::ok(Value::Array(
        found
            .iter()
            .map(|u| user_rep(u, brief, Access::Listed(roles)))
            .collect(),
    )))
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect()
    })
}

fn create_user(realm: &mut Realm, id: String, rep: Map<String, Value>) -> Result<(), Reply> {
    let username = str_field(&rep, "username")
        .unwrap_or_default()
        .to_lowercase();
    if username.trim().is_empty() {
        return Err(Reply::message(400, "User name is missing"));
    }
    if realm.users.iter().any(|u| u.username == username) {
        return Err(Reply::message(409, "User exists with same username"));
    }
    let email = str_field(&rep, "email").map(|e| e.to_lowercase());
    if let Some(email) = &email
        && realm.users.iter().any(|u| u.email.as_ref() == Some(email))
    {
        return Err(Reply::message(409, "User exists with same email"));
    }
    let mut groups = BTreeSet::new();
    for path in string_list(rep.get("groups")).unwrap_or_default() {
        let name = path.trim_start_matches('/');
        match realm.groups.iter().find(|g| g.name == name) {
            Some(g) => {
                groups.insert(g.id.clone());
            }
            None => return Err(Reply::message(400, &format!("Group {path} not found"))),
        }
    }
    realm.users.push(User {
        id,
        username,
        email,
        first_name: str_field(&rep, "firstName"),
        last_name: str_field(&rep, "lastName"),
        enabled: rep.get("enabled").and_then(Value::as_bool).unwrap_or(false),
        email_verified: rep
            .get("emailVerified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        required_actions: string_list(rep.get("requiredActions")).unwrap_or_default(),
        attributes: rep
            .get("attributes")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        created: now_millis(),
        groups,
    });
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn user_routes(
    state: &mut State,
    realm_name: &str,
    ui: usize,
    tail: &[&str],
    method: &Method,
    query: &Query,
    body: &[u8],
    roles: &Roles,
    smtp: Smtp,
) -> Result<Reply, Reply> {
    let realm = state.realms.get_mut(realm_name).unwrap();
    match (tail, method.clone()) {
        ([], Method::GET) => {
            require(roles, VIEW_USERS)?;
            Ok(Reply::ok(user_rep(
                &realm.users[ui],
                false,
                Access::Full(roles),
            )))
        }
        ([], Method::PUT) => {
            require(roles, MANAGE_USERS)?;
            let rep = parse_object(body)?;
            if let Some(email) = str_field(&rep, "email").map(|e| e.to_lowercase()) {
                let me = &realm.users[ui].id;
                if realm
                    .users
                    .iter()
                    .any(|u| &u.id != me && u.email.as_ref() == Some(&email))
                {
                    return Err(Reply::message(409, "User exists with same email"));
                }
                realm.users[ui].email = if email.is_empty() { None } else { Some(email) };
            }
            let u = &mut realm.users[ui];
            if let Some(v) = str_field(&rep, "firstName") {
                u.first_name = Some(v);
            }
            if let Some(v) = str_field(&rep, "lastName") {
                u.last_name = Some(v);
            }
            if let Some(v) = rep.get("enabled").and_then(Value::as_bool) {
                u.enabled = v;
            }
            if let Some(v) = rep.get("emailVerified").and_then(Value::as_bool) {
                u.email_verified = v;
            }
            if let Some(actions) = string_list(rep.get("requiredActions")) {
                u.required_actions = actions;
            }
            if let Some(attrs) = rep.get("attributes").and_then(Value::as_object) {
                u.attributes = attrs.clone();
            }
            Ok(Reply::no_content())
        }
        ([], Method::DELETE) => {
            require(roles, MANAGE_USERS)?;
            realm.users.remove(ui);
            Ok(Reply::no_content())
        }
        ([], _) => Err(not_allowed()),
        (["groups"], Method::GET) => {
            require(roles, VIEW_USERS)?;
            let u = &realm.users[ui];
            let search = query.get("search").map(str::to_lowercase);
            let mut groups: Vec<&Group> = realm
                .groups
                .iter()
                .filter(|g| u.groups.contains(&g.id))
                .filter(|g| {
                    search
                        .as_ref()
                        .is_none_or(|s| g.name.to_lowercase().contains(s))
                })
                .collect();
            groups.sort_by(|a, b| a.name.cmp(&b.name));
            let brief = query.flag("briefRepresentation").unwrap_or(true);
            let groups = page(groups, query.number("first")?, query.number("max")?, None);
            Ok(Reply::ok(Value::Array(
                groups.iter().map(|g| membership_rep(g, brief)).collect(),
            )))
        }
        (["groups", "count"], Method::GET) => {
            require(roles, VIEW_USERS)?;
            Ok(Reply::ok(json!({ "count": realm.users[ui].groups.len() })))
        }
        (["groups", gid], Method::PUT | Method::DELETE) => {
            require(roles, MANAGE_USERS)?;
            if !realm.groups.iter().any(|g| g.id == *gid) {
                return Err(Reply::error(404, "Group not found"));
            }
            let u = &mut realm.users[ui];
            if *method == Method::PUT {
                u.groups.insert(gid.to_string());
            } else {
                u.groups.remove(*gid);
            }
            Ok(Reply::no_content())
        }
        (["execute-actions-email"], Method::PUT) => {
            require(roles, MANAGE_USERS)?;
            let actions: Vec<String> = match body.iter().all(u8::is_ascii_whitespace) {
                true => Vec::new(),
                false => match parse_body(body)? {
                    Value::Array(a) => a
                        .into_iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect(),
                    _ => {
                        return Err(Reply::oauth(
                            400,
                            "invalid_request",
                            "Cannot parse the JSON",
                        ));
                    }
                },
            };
            let u = &realm.users[ui];
            let Some(to) = u.email.clone() else {
                return Err(Reply::message(400, "User email missing"));
            };
            if !u.enabled {
                return Err(Reply::message(400, "User is disabled"));
            }
            let redirect_uri = query.get("redirect_uri").map(String::from);
            if redirect_uri.is_some() && query.get("client_id").is_none() {
                return Err(Reply::message(400, "Client id missing"));
            }
            let client_id = query.get("client_id").unwrap_or("account").to_string();
            let Some(client) = realm.clients.iter().find(|c| c.client_id() == client_id) else {
                return Err(Reply::message(400, "Client doesn't exist"));
            };
            if !client.flag("enabled") {
                return Err(Reply::message(400, "Client is not enabled"));
            }
            if let Some(uri) = &redirect_uri {
                let allowed = string_list(client.rep.get("redirectUris")).unwrap_or_default();
                let ok = allowed.iter().any(|a| match a.strip_suffix('*') {
                    Some(prefix) => uri.starts_with(prefix),
                    None => a == uri,
                });
                if !ok {
                    return Err(Reply::message(400, "Invalid redirect uri."));
                }
            }
            if actions
                .iter()
                .any(|a| !REQUIRED_ACTIONS.contains(&a.as_str()))
            {
                return Err(Reply::message(400, "Provided invalid required actions"));
            }
            let lifespan = match query.number("lifespan")? {
                Some(l) => l.max(0) as u64,
                None => DEFAULT_ACTION_LIFESPAN,
            };
            match smtp {
                Smtp::Working => {}
                Smtp::Missing => return Err(Reply::message(500, NO_SMTP)),
                Smtp::Unreachable => return Err(Reply::message(500, SMTP_UNREACHABLE)),
            }
            let mail = Mail {
                realm: realm_name.to_string(),
                user_id: u.id.clone(),
                to,
                actions,
                lifespan,
                client_id,
                redirect_uri,
            };
            state.mails.push(mail);
            Ok(Reply::no_content())
        }
        _ => Err(no_route()),
    }
}

// ---------------------------------------------------------------------------------
// Groups.
// ---------------------------------------------------------------------------------

fn group_rep(g: &Group, brief: bool, roles: &Roles) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(g.id));
    m.insert("name".into(), json!(g.name));
    if let Some(d) = &g.description {
        m.insert("description".into(), json!(d));
    }
    m.insert("path".into(), json!(format!("/{}", g.name)));
    m.insert("subGroupCount".into(), json!(0));
    m.insert("subGroups".into(), json!([]));
    if !brief {
        m.insert("attributes".into(), Value::Object(g.attributes.clone()));
        m.insert("realmRoles".into(), json!([]));
        m.insert("clientRoles".into(), json!({}));
    }
    let manage = has(roles, MANAGE_USERS);
    m.insert(
        "access".into(),
        json!({
            "view": has(roles, VIEW_USERS),
            "viewMembers": has(roles, VIEW_USERS),
            "manageMembers": manage,
            "manage": manage,
            "manageMembership": manage,
        }),
    );
    Value::Object(m)
}

/// A group as a user's group list shows it: no counts, no `access`.
fn membership_rep(g: &Group, brief: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(g.id));
    m.insert("name".into(), json!(g.name));
    if let Some(d) = &g.description {
        m.insert("description".into(), json!(d));
    }
    m.insert("path".into(), json!(format!("/{}", g.name)));
    m.insert("subGroups".into(), json!([]));
    if !brief {
        m.insert("attributes".into(), Value::Object(g.attributes.clone()));
        m.insert("realmRoles".into(), json!([]));
        m.insert("clientRoles".into(), json!({}));
    }
    Value::Object(m)
}

fn filter_groups<'a>(realm: &'a Realm, query: &Query) -> Vec<&'a Group> {
    let mut found: Vec<&Group> = if let Some(q) = query.get("q") {
        let wanted: Vec<(&str, &str)> = q
            .split_whitespace()
            .filter_map(|kv| kv.split_once(':'))
            .collect();
        realm
            .groups
            .iter()
            .filter(|g| {
                wanted.iter().all(|(k, v)| {
                    g.attributes
                        .get(*k)
                        .and_then(Value::as_array)
                        .is_some_and(|vs| vs.iter().any(|x| x.as_str() == Some(*v)))
                })
            })
            .collect()
    } else if let Some(search) = query.get("search") {
        let search = search.trim();
        if query.flag("exact").unwrap_or(false) {
            realm.groups.iter().filter(|g| g.name == search).collect()
        } else {
            let s = search.to_lowercase();
            realm
                .groups
                .iter()
                .filter(|g| g.name.to_lowercase().contains(&s))
                .collect()
        }
    } else {
        realm.groups.iter().collect()
    };
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn group_routes(
    realm: &mut Realm,
    gi: usize,
    tail: &[&str],
    method: &Method,
    query: &Query,
    body: &[u8],
    roles: &Roles,
) -> Result<Reply, Reply> {
    match (tail, method.clone()) {
        ([], Method::GET) => {
            require(roles, VIEW_USERS)?;
            Ok(Reply::ok(group_rep(&realm.groups[gi], false, roles)))
        }
        ([], Method::PUT) => {
            require(roles, MANAGE_USERS)?;
            let rep = parse_object(body)?;
            if let Some(name) = str_field(&rep, "name") {
                if name.trim().is_empty() {
                    return Err(Reply::message(400, "Group name is missing"));
                }
                let me = realm.groups[gi].id.clone();
                if realm.groups.iter().any(|g| g.id != me && g.name == name) {
                    return Err(Reply::message(
                        409,
                        &format!("Top level group named '{name}' already exists."),
                    ));
                }
                realm.groups[gi].name = name;
            }
            let g = &mut realm.groups[gi];
            if let Some(d) = str_field(&rep, "description") {
                g.description = Some(d);
            }
            if let Some(attrs) = rep.get("attributes").and_then(Value::as_object) {
                g.attributes = attrs.clone();
            }
            Ok(Reply::no_content())
        }
        ([], Method::DELETE) => {
            require(roles, MANAGE_USERS)?;
            let g = realm.groups.remove(gi);
            for u in &mut realm.users {
                u.groups.remove(&g.id);
            }
            Ok(Reply::no_content())
        }
        ([], _) => Err(not_allowed()),
        (["members"], Method::GET) => {
            require(roles, VIEW_USERS)?;
            let gid = &realm.groups[gi].id;
            let mut members: Vec<&User> = realm
                .users
                .iter()
                .filter(|u| u.groups.contains(gid))
                .collect();
            members.sort_by(|a, b| a.username.cmp(&b.username));
            let brief = query.flag("briefRepresentation").unwrap_or(false);
            let members = page(
                members,
                query.number("first")?,
                query.number("max")?,
                Some(DEFAULT_MAX),
            );
            Ok(Reply::ok(Value::Array(
                members
                    .iter()
                    .map(|u| user_rep(u, brief, Access::None))
                    .collect(),
            )))
        }
        _ => Err(no_route()),
    }
}

// ---------------------------------------------------------------------------------
// Clients.
// ---------------------------------------------------------------------------------

fn client_rep(c: &Client, roles: &Roles) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id));
    for (k, v) in &c.rep {
        m.insert(k.clone(), v.clone());
    }
    // Keycloak shows the secret of a confidential client only, whatever is stored.
    if let Some(secret) = c.secret.as_ref().filter(|_| !c.flag("publicClient")) {
        m.insert("secret".into(), json!(secret));
    }
    if !c.mappers.is_empty() {
        m.insert(
            "protocolMappers".into(),
            Value::Array(c.mappers.iter().cloned().map(Value::Object).collect()),
        );
    }
    let manage = has(roles, MANAGE_CLIENTS);
    m.insert(
        "access".into(),
        json!({ "view": has(roles, VIEW_CLIENTS), "configure": manage, "manage": manage }),
    );
    Value::Object(m)
}

#[allow(clippy::too_many_arguments)]
fn client_routes(
    state: &mut State,
    realm_name: &str,
    ci: usize,
    tail: &[&str],
    method: &Method,
    body: &[u8],
    roles: &Roles,
    here: &str,
) -> Result<Reply, Reply> {
    match (tail, method.clone()) {
        ([], Method::GET) => {
            require(roles, VIEW_CLIENTS)?;
            let realm = state.realms.get(realm_name).unwrap();
            Ok(Reply::ok(client_rep(&realm.clients[ci], roles)))
        }
        ([], Method::PUT) => {
            require(roles, MANAGE_CLIENTS)?;
            let mut rep = parse_object(body)?;
            let realm = state.realms.get_mut(realm_name).unwrap();
            if let Some(client_id) = str_field(&rep, "clientId") {
                let me = realm.clients[ci].id.clone();
                if realm
                    .clients
                    .iter()
                    .any(|c| c.id != me && c.client_id() == client_id)
                {
                    return Err(Reply::message(409, "Client already exists"));
                }
            }
            let c = &mut realm.clients[ci];
            rep.remove("id");
            rep.remove("access");
            rep.remove("protocolMappers");
            if let Some(secret) = rep
                .remove("secret")
                .and_then(|s| s.as_str().map(String::from))
            {
                c.secret = Some(secret);
            }
            if let Some(Value::Object(attrs)) = rep.remove("attributes") {
                let mine = c.rep.entry("attributes").or_insert_with(|| json!({}));
                if let Value::Object(mine) = mine {
                    for (k, v) in attrs {
                        mine.insert(k, v);
                    }
                }
            }
            for (k, v) in rep {
                if !v.is_null() {
                    c.rep.insert(k, v);
                }
            }
            Ok(Reply::no_content())
        }
        ([], Method::DELETE) => {
            require(roles, MANAGE_CLIENTS)?;
            state.realms.get_mut(realm_name).unwrap().clients.remove(ci);
            Ok(Reply::no_content())
        }
        ([], _) => Err(not_allowed()),
        (["client-secret"], Method::GET) => {
            require(roles, VIEW_CLIENTS)?;
            let realm = state.realms.get(realm_name).unwrap();
            Ok(Reply::ok(match &realm.clients[ci].secret {
                Some(secret) => json!({ "type": "secret", "value": secret }),
                None => json!({ "type": "secret" }),
            }))
        }
        (["client-secret"], Method::POST) => {
            require(roles, MANAGE_CLIENTS)?;
            let secret = state.new_secret();
            let realm = state.realms.get_mut(realm_name).unwrap();
            realm.clients[ci].secret = Some(secret.clone());
            Ok(Reply::ok(json!({ "type": "secret", "value": secret })))
        }
        (["protocol-mappers", "models"], Method::GET) => {
            require(roles, VIEW_CLIENTS)?;
            let realm = state.realms.get(realm_name).unwrap();
            Ok(Reply::ok(Value::Array(
                realm.clients[ci]
                    .mappers
                    .iter()
                    .cloned()
                    .map(Value::Object)
                    .collect(),
            )))
        }
        (["protocol-mappers", "models"], Method::POST) => {
            require(roles, MANAGE_CLIENTS)?;
            let rep = parse_object(body)?;
            let protocol = str_field(&rep, "protocol").unwrap_or_else(|| "openid-connect".into());
            let kind = str_field(&rep, "protocolMapper").unwrap_or_default();
            if protocol == "openid-connect" && !OIDC_MAPPERS.contains(&kind.as_str()) {
                return Err(Reply::error(404, "ProtocolMapper provider not found"));
            }
            let mapper = state.mapper_from(rep);
            let id = str_field(&mapper, "id").unwrap_or_default();
            let realm = state.realms.get_mut(realm_name).unwrap();
            let c = &mut realm.clients[ci];
            let same = |m: &Map<String, Value>| {
                m.get("name") == mapper.get("name") && m.get("protocol") == mapper.get("protocol")
            };
            if c.mappers.iter().any(same) {
                return Err(Reply::message(409, "Protocol mapper exists with same name"));
            }
            c.mappers.push(mapper);
            Ok(Reply::created(format!("{here}/{id}")))
        }
        (["protocol-mappers", "models", mid], _) => {
            let realm = state.realms.get_mut(realm_name).unwrap();
            let c = &mut realm.clients[ci];
            let Some(mi) = c
                .mappers
                .iter()
                .position(|m| m.get("id").and_then(Value::as_str) == Some(*mid))
            else {
                return Err(Reply::error(404, "Model not found"));
            };
            match method.clone() {
                Method::GET => {
                    require(roles, VIEW_CLIENTS)?;
                    Ok(Reply::ok(Value::Object(c.mappers[mi].clone())))
                }
                Method::PUT => {
                    require(roles, MANAGE_CLIENTS)?;
                    let rep = parse_object(body)?;
                    // Keycloak updates the name and the config; the id, protocol and
                    // mapper type stay.
                    let m = &mut c.mappers[mi];
                    if let Some(name) = rep.get("name").filter(|v| v.is_string()) {
                        m.insert("name".into(), name.clone());
                    }
                    if let Some(config) = rep.get("config").filter(|v| v.is_object()) {
                        m.insert("config".into(), config.clone());
                    }
                    Ok(Reply::no_content())
                }
                Method::DELETE => {
                    require(roles, MANAGE_CLIENTS)?;
                    c.mappers.remove(mi);
                    Ok(Reply::no_content())
                }
                _ => Err(not_allowed()),
            }
        }
        _ => Err(no_route()),
    }
}
