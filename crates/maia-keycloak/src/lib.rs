//! maia's side of Keycloak: with the cluster config's `keycloak_admin`, a workspace's
//! group `MAIA:<group_ID>`, its members and (with `per_workspace_clients`) its own
//! OpenID clients are kept in Keycloak by its admin REST API (Keycloak 26).
//!
//! - Reads are exact searches (a group by name, a user by e-mail, a client by client
//!   ID) and one group's members page by page; never a listing of every user or group.
//! - A missing account is created with no password and the required actions
//!   VERIFY_EMAIL and UPDATE_PASSWORD, and Keycloak sends its own execute-actions
//!   e-mail: maia never sets, sees or mails a password.
//! - Members who left the form are taken out of the group; accounts are never deleted.
//! - Clients are confidential, with exact redirect and post-logout URIs, a `groups`
//!   claim (group names, no full path) and a secret Keycloak generates; maia marks the
//!   clients it makes ([`sync::MANAGED_BY`]) and never changes or deletes another.
//! - A 409 on create means "already there" and is reconciled; an expired token is
//!   fetched again; a 403 names the realm-management role that is missing.
//!
//! Calls block (ureq); [`blocking`] runs one on tokio's blocking pool for async
//! callers.

mod admin;
mod error;
pub mod model;
pub mod sync;

pub use admin::{Admin, read_secret};
pub use error::{KeycloakError, Result};

/// Runs blocking Keycloak calls on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(KeycloakError::Stopped),
        },
    }
}
