//! The parts of Keycloak's admin representations maia reads and writes (Keycloak 26:
//! `UserRepresentation`, `GroupRepresentation`, `ClientRepresentation`,
//! `ProtocolMapperRepresentation`, `CredentialRepresentation`). Fields maia does not
//! manage are kept as they came (`rest`), so an update sends back what it read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user account.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Keycloak's ID (absent on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The login name; maia uses the e-mail.
    #[serde(default)]
    pub username: String,
    /// The e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the account may log in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Whether the e-mail was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// What the user must still do (`VERIFY_EMAIL`, `UPDATE_PASSWORD`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_actions: Vec<String>,
}

impl User {
    /// The user has not finished the invitation: actions are pending or the e-mail is
    /// not verified.
    pub fn invited(&self) -> bool {
        !self.required_actions.is_empty() || self.email_verified == Some(false)
    }
}

/// A group.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Keycloak's ID (absent on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name (`MAIA:<group_ID>`).
    #[serde(default)]
    pub name: String,
    /// The path (`/MAIA:<group_ID>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// An OpenID Connect client.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    /// Keycloak's ID of the client (absent on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The client ID applications log in with.
    #[serde(default)]
    pub client_id: String,
    /// Shown on the login page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether it may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `openid-connect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// false: confidential (has a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_client: Option<bool>,
    /// The authorization code flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_flow_enabled: Option<bool>,
    /// The implicit flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implicit_flow_enabled: Option<bool>,
    /// Password grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_access_grants_enabled: Option<bool>,
    /// A service account of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_accounts_enabled: Option<bool>,
    /// The application's root URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_url: Option<String>,
    /// Where a login may return to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// CORS origins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_origins: Option<Vec<String>>,
    /// Settings as strings (`post.logout.redirect.uris`, `##`-separated).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Claims the client's tokens carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_mappers: Option<Vec<ProtocolMapper>>,
    /// Everything else, sent back as it came.
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

/// A claim mapper of a client.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolMapper {
    /// Keycloak's ID (absent on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The mapper's name.
    #[serde(default)]
    pub name: String,
    /// `openid-connect`.
    #[serde(default)]
    pub protocol: String,
    /// The mapper type (`oidc-group-membership-mapper`).
    #[serde(default)]
    pub protocol_mapper: String,
    /// Its settings, as strings.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// A client secret (`CredentialRepresentation`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Secret {
    /// `secret`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The secret.
    #[serde(default)]
    pub value: Option<String>,
}
