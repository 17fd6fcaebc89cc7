//! What can go wrong talking to Keycloak, each with what to do about it.

use std::path::PathBuf;

/// A Keycloak call that failed.
#[derive(Debug, thiserror::Error)]
pub enum KeycloakError {
    /// No answer from Keycloak at all.
    #[error("cannot reach Keycloak at {url}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// Why.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The token endpoint refused the admin client's credentials.
    #[error(
        "Keycloak refused maia's admin client {client_id} in realm {realm} (HTTP {status}): {message}"
    )]
    Login {
        /// The admin client.
        client_id: String,
        /// The realm.
        realm: String,
        /// The HTTP status.
        status: u16,
        /// Keycloak's words.
        message: String,
    },
    /// The admin client's service account lacks a realm-management role.
    #[error(
        "Keycloak's admin client {client_id} may not {action} in realm {realm}: its service account lacks the realm-management role {role}"
    )]
    Forbidden {
        /// The admin client.
        client_id: String,
        /// The realm.
        realm: String,
        /// What maia tried (`search users`, `create clients`, …).
        action: String,
        /// The role that allows it.
        role: &'static str,
    },
    /// Any other answer maia did not expect.
    #[error("Keycloak answered HTTP {status} to {method} {path}: {message}")]
    Status {
        /// The method.
        method: &'static str,
        /// The path below the realm's admin API.
        path: String,
        /// The HTTP status.
        status: u16,
        /// Keycloak's `errorMessage` or `error`, or the start of the body.
        message: String,
    },
    /// An answer that is not the JSON Keycloak documents.
    #[error("Keycloak's answer to {method} {path} is not what its admin API documents: {message}")]
    Decode {
        /// The method.
        method: &'static str,
        /// The path.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// The admin client's secret could not be read.
    #[error("cannot read the Keycloak admin client's secret from {}", path.display())]
    SecretFile {
        /// The file named by `keycloak_admin.client_secret_file`.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The secret file can be read by other users.
    #[error("the Keycloak admin client's secret file {} can be read by other users (mode {mode:o})", path.display())]
    SecretFileOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The runtime shut down while a call was in flight.
    #[error("stopped while talking to Keycloak")]
    Stopped,
    /// Neither a secret file nor the environment variable.
    #[error(
        "no secret for Keycloak's admin client {client_id}: keycloak_admin names no client_secret_file and MAIA_KEYCLOAK_ADMIN_SECRET is not set"
    )]
    NoSecret {
        /// The admin client.
        client_id: String,
    },
}

impl KeycloakError {
    /// What the admin should try next.
    pub fn hint(&self) -> Option<String> {
        match self {
            KeycloakError::Unreachable { .. } => Some(
                "check keycloak_admin.url in the cluster config and that this machine reaches it".into(),
            ),
            KeycloakError::Login { client_id, .. } => Some(format!(
                "check that {client_id} is a confidential client with \"Service accounts roles\" on, and that its secret (Credentials tab) is the one in client_secret_file"
            )),
            KeycloakError::Forbidden {
                client_id,
                realm,
                role,
                ..
            } => Some(format!(
                "grant it: kcadm.sh add-roles -r {realm} --uusername service-account-{client_id} --cclientid realm-management --rolename {role} (or in the console: Clients → {client_id} → Service accounts roles → Assign role → realm-management {role})"
            )),
            KeycloakError::SecretFileOpen { path, .. } => {
                Some(format!("chmod 600 {}", path.display()))
            }
            KeycloakError::NoSecret { .. } => Some(
                "put the secret in a file only you can read and name it in keycloak_admin.client_secret_file, or export MAIA_KEYCLOAK_ADMIN_SECRET".into(),
            ),
            _ => None,
        }
    }
}

/// Results of this crate.
pub type Result<T, E = KeycloakError> = std::result::Result<T, E>;
