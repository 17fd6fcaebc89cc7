//! A connection to one realm's admin API: the service account's token (fetched with
//! the client-credentials grant, fetched again when it expires or Keycloak says it
//! has), and calls that turn Keycloak's answers into typed results or errors naming
//! the missing role.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use maia_spec::workspace::KeycloakAdmin;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{KeycloakError, Result};

/// What a call does, and the realm-management role that allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Finding users and reading a group's members.
    ViewUsers,
    /// Creating users, changing their groups, sending invitations, creating and
    /// deleting groups.
    ManageUsers,
    /// Searching groups.
    QueryGroups,
    /// Reading, creating, changing and deleting clients.
    ManageClients,
}

impl Access {
    pub(crate) fn role(self) -> &'static str {
        match self {
            Access::ViewUsers => "view-users",
            Access::ManageUsers => "manage-users",
            Access::QueryGroups => "query-groups",
            Access::ManageClients => "manage-clients",
        }
    }
}

/// An answer of the admin API.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// The `Location` of a created resource.
    pub(crate) location: Option<String>,
    pub(crate) body: String,
}

impl Answer {
    /// The ID a create's `Location` ends with.
    pub(crate) fn created_id(&self) -> Option<String> {
        self.location
            .as_deref()
            .and_then(|l| l.rsplit('/').next())
            .filter(|id| !id.is_empty())
            .map(str::to_string)
    }
}

/// One realm's admin API, as maia's admin client.
pub struct Admin {
    base: String,
    realm: String,
    client_id: String,
    secret: String,
    agent: ureq::Agent,
    token: Mutex<Option<(String, Instant)>>,
    /// The realm-management roles the token carries, when it is a JWT that says.
    roles: Mutex<Option<BTreeSet<String>>>,
    requests: AtomicUsize,
    writes: AtomicUsize,
}

impl std::fmt::Debug for Admin {
    // The secret and the token are left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("url", &self.base)
            .field("realm", &self.realm)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Reads the admin client's secret: from `keycloak_admin.client_secret_file` (which
/// must not be readable by other users), else from `env` (the value of
/// `MAIA_KEYCLOAK_ADMIN_SECRET`, passed in by the front end).
pub fn read_secret(settings: &KeycloakAdmin, env: Option<String>) -> Result<String> {
    match &settings.client_secret_file {
        Some(path) => {
            let secret_error = |source| KeycloakError::SecretFile {
                path: path.clone(),
                source,
            };
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)
                    .map_err(secret_error)?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(KeycloakError::SecretFileOpen {
                        path: path.clone(),
                        mode: mode & 0o777,
                    });
                }
            }
            let text = std::fs::read_to_string(path).map_err(secret_error)?;
            Ok(text.trim().to_string())
        }
        None => env
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| KeycloakError::NoSecret {
                client_id: settings.client_id.clone(),
            }),
    }
}

impl Admin {
    /// A connection (nothing is sent until the first call).
    pub fn new(settings: &KeycloakAdmin, secret: String) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        Admin {
            base: settings.url.trim_end_matches('/').to_string(),
            realm: settings.realm.clone(),
            client_id: settings.client_id.clone(),
            secret,
            agent,
            token: Mutex::new(None),
            roles: Mutex::new(None),
            requests: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// How many admin API calls were sent, and how many of them were writes (tokens
    /// are not counted).
    pub fn counts(&self) -> (usize, usize) {
        (
            self.requests.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }

    /// A valid token: the one kept, unless it expires within 10 s or `again`.
    fn token(&self, again: bool) -> Result<String> {
        let mut kept = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if !again
            && let Some((token, until)) = kept.as_ref()
            && Instant::now() + Duration::from_secs(10) < *until
        {
            return Ok(token.clone());
        }
        let url = format!(
            "{}/realms/{}/protocol/openid-connect/token",
            self.base, self.realm
        );
        let mut response = self
            .agent
            .post(&url)
            .send_form([
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.secret.as_str()),
            ])
            .map_err(|source| KeycloakError::Unreachable {
                url: url.clone(),
                source: Box::new(source),
            })?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        if status != 200 {
            return Err(KeycloakError::Login {
                client_id: self.client_id.clone(),
                realm: self.realm.clone(),
                status,
                message: message(&body),
            });
        }
        let value: Value = serde_json::from_str(&body).map_err(|e| KeycloakError::Decode {
            method: "POST",
            path: "token".into(),
            message: e.to_string(),
        })?;
        let token = value["access_token"]
            .as_str()
            .ok_or_else(|| KeycloakError::Decode {
                method: "POST",
                path: "token".into(),
                message: "no access_token".into(),
            })?
            .to_string();
        let lifetime = value["expires_in"].as_u64().unwrap_or(60);
        *kept = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        ));
        *self.roles.lock().unwrap_or_else(|e| e.into_inner()) = token_roles(&token);
        Ok(token)
    }

    /// Fails with the role's name, before any write, when the token says the service
    /// account lacks what `access` needs (a token that does not say is let through:
    /// Keycloak's 403 then names it).
    pub(crate) fn require(&self, access: Access, action: &str) -> Result<()> {
        self.token(false)?;
        let roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
        match roles.as_ref() {
            Some(roles) if !roles.contains(access.role()) && !roles.contains("realm-admin") => {
                Err(KeycloakError::Forbidden {
                    client_id: self.client_id.clone(),
                    realm: self.realm.clone(),
                    action: action.to_string(),
                    role: access.role(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Sends one call to `/admin/realms/<realm><path>`; a 401 fetches a new token and
    /// tries once more, a 403 names the role `access` needs. Any other status is the
    /// caller's to judge.
    pub(crate) fn call(
        &self,
        method: &'static str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        access: Access,
    ) -> Result<Answer> {
        let url = format!("{}/admin/realms/{}{path}", self.base, self.realm);
        let mut again = false;
        loop {
            let token = self.token(again)?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            if method != "GET" {
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            let auth = format!("Bearer {token}");
            let sent = match method {
                "GET" | "DELETE" => {
                    let mut request = if method == "GET" {
                        self.agent.get(&url)
                    } else {
                        self.agent.delete(&url)
                    };
                    request = request.header("Authorization", &auth);
                    for (k, v) in query {
                        request = request.query(*k, *v);
                    }
                    request.call()
                }
                _ => {
                    let mut request = if method == "POST" {
                        self.agent.post(&url)
                    } else {
                        self.agent.put(&url)
                    };
                    request = request.header("Authorization", &auth);
                    for (k, v) in query {
                        request = request.query(*k, *v);
                    }
                    match body {
                        Some(b) => request
                            .header("Content-Type", "application/json")
                            .send(b.to_string()),
                        None => request.send_empty(),
                    }
                }
            };
            let mut response = sent.map_err(|source| KeycloakError::Unreachable {
                url: url.clone(),
                source: Box::new(source),
            })?;
            let status = response.status().as_u16();
            if status == 401 && !again {
                again = true;
                continue;
            }
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_string);
            let body = response.body_mut().read_to_string().unwrap_or_default();
            if status == 403 {
                return Err(KeycloakError::Forbidden {
                    client_id: self.client_id.clone(),
                    realm: self.realm.clone(),
                    action: format!("{method} {path}"),
                    role: access.role(),
                });
            }
            return Ok(Answer {
                status,
                location,
                body,
            });
        }
    }

    /// A GET whose 200 answer is `T`; `None` on 404.
    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        access: Access,
    ) -> Result<Option<T>> {
        let answer = self.call("GET", path, query, None, access)?;
        match answer.status {
            200 => {
                serde_json::from_str(&answer.body)
                    .map(Some)
                    .map_err(|e| KeycloakError::Decode {
                        method: "GET",
                        path: path.to_string(),
                        message: e.to_string(),
                    })
            }
            404 => Ok(None),
            status => Err(unexpected("GET", path, status, &answer.body)),
        }
    }

    /// Every page of a listing (`first`, `max`), until a short page.
    pub(crate) fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        access: Access,
    ) -> Result<Vec<T>> {
        const PAGE: usize = 100;
        let mut all = Vec::new();
        loop {
            let first = all.len().to_string();
            let max = PAGE.to_string();
            let mut q = query.to_vec();
            q.push(("first", &first));
            q.push(("max", &max));
            let page: Vec<T> = self.get(path, &q, access)?.unwrap_or_default();
            let n = page.len();
            all.extend(page);
            if n < PAGE {
                return Ok(all);
            }
        }
    }
}

/// The realm-management roles of an access token, when it is a JWT carrying them
/// (`resource_access.realm-management.roles`, as Keycloak issues them, composite roles
/// expanded). Only read to stop before a write that would be refused: the token is not
/// verified, Keycloak checks it on every call.
fn token_roles(token: &str) -> Option<BTreeSet<String>> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let roles = claims["resource_access"]["realm-management"]["roles"].as_array();
    Some(
        roles
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect(),
    )
}

/// Keycloak's own words from an error body: `errorMessage`, `error_description` or
/// `error`, else the body's start.
pub(crate) fn message(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    for key in ["errorMessage", "error_description", "error"] {
        if let Some(m) = value[key].as_str() {
            return m.to_string();
        }
    }
    body.chars().take(200).collect()
}

/// An answer the caller did not expect.
pub(crate) fn unexpected(
    method: &'static str,
    path: &str,
    status: u16,
    body: &str,
) -> KeycloakError {
    KeycloakError::Status {
        method,
        path: path.to_string(),
        status,
        message: message(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(file: Option<std::path::PathBuf>) -> KeycloakAdmin {
        KeycloakAdmin {
            url: "https://iam.example.org".into(),
            realm: "maia".into(),
            client_id: "maia-admin".into(),
            client_secret_file: file,
            invite_lifespan: 3600,
            per_workspace_clients: true,
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_secret_comes_from_a_private_file_else_the_environment() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("admin.secret");
        std::fs::write(&file, "s3cret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_secret(&settings(Some(file.clone())), None).unwrap_err();
        assert!(
            matches!(err, KeycloakError::SecretFileOpen { mode: 0o644, .. }),
            "{err}"
        );
        assert_eq!(err.hint().unwrap(), format!("chmod 600 {}", file.display()));
        assert!(!err.to_string().contains("s3cret"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        // The file wins over the environment, trimmed.
        assert_eq!(
            read_secret(&settings(Some(file)), Some("other".into())).unwrap(),
            "s3cret"
        );
        assert_eq!(
            read_secret(&settings(None), Some(" env \n".into())).unwrap(),
            "env"
        );
        assert!(matches!(
            read_secret(&settings(None), Some(String::new())),
            Err(KeycloakError::NoSecret { .. })
        ));
        let missing = read_secret(&settings(Some(dir.path().join("gone"))), None).unwrap_err();
        assert!(
            matches!(missing, KeycloakError::SecretFile { .. }),
            "{missing}"
        );
    }

    #[test]
    fn the_roles_are_read_from_a_keycloak_access_token() {
        use base64::Engine as _;
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let token = format!(
            "{}.{}.sig",
            b64(serde_json::json!({"alg": "RS256"})),
            b64(
                serde_json::json!({"resource_access": {"realm-management": {"roles": ["manage-users", "view-users"]}, "account": {"roles": ["x"]}}})
            )
        );
        let roles = token_roles(&token).unwrap();
        assert_eq!(
            roles.into_iter().collect::<Vec<_>>(),
            ["manage-users", "view-users"]
        );
        // No roles claim: none. Not a JWT: unknown.
        let bare = format!(
            "{}.{}.sig",
            b64(serde_json::json!({})),
            b64(serde_json::json!({}))
        );
        assert_eq!(token_roles(&bare), Some(BTreeSet::new()));
        assert_eq!(token_roles("opaque"), None);
    }

    #[test]
    fn the_connection_never_shows_its_secret() {
        let admin = Admin::new(&settings(None), "s3cret".into());
        assert!(!format!("{admin:?}").contains("s3cret"));
    }

    #[test]
    fn keycloaks_own_words_are_taken_from_its_error_bodies() {
        assert_eq!(
            message(r#"{"errorMessage":"User exists with same username"}"#),
            "User exists with same username"
        );
        assert_eq!(
            message(
                r#"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#
            ),
            "Invalid client or Invalid client credentials"
        );
        assert_eq!(message("plain"), "plain");
    }
}
