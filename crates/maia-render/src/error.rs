/// Why rendering failed. Rendering is pure, so these are rare: a serialisation that
/// cannot be written, or a fact the caller did not supply.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// An object or file could not be written as JSON.
    #[error("cannot serialise {object} as JSON")]
    Serialize {
        /// What was being written (`kind/name`, or a file name).
        object: String,
        /// serde_json's reason.
        #[source]
        source: serde_json::Error,
    },
    /// An object or file could not be written as YAML.
    #[error("cannot serialise {object} as YAML")]
    Yaml {
        /// What was being written (`kind/name`, or a file name).
        object: String,
        /// The YAML serialiser's reason.
        #[source]
        source: yaml_serde::Error,
    },
    /// The caller did not supply the contents of an app's mount file.
    #[error("the contents of mount file {file:?} were not supplied")]
    MissingMountFile {
        /// The file's path as written in the app config.
        file: String,
    },
    /// A configuration file (oauth2-proxy's `configFile`) could not be written as TOML.
    #[error("cannot serialise {object} as TOML")]
    Toml {
        /// What was being written.
        object: String,
        /// The TOML serialiser's reason.
        #[source]
        source: toml::ser::Error,
    },
    /// The caller's SSH ports have none for a member (see [`crate::workspace::ports::allocate`]).
    #[error("no SSH port was allocated for {user}")]
    MissingSshPort {
        /// The member's e-mail.
        user: String,
    },
    /// The spec lacks a setting a component needs (validation normally catches this).
    #[error("{component} needs `{setting}` in the cluster config")]
    MissingSetting {
        /// The component that needs it.
        component: &'static str,
        /// The cluster config's field.
        setting: &'static str,
    },
    /// The workspace logs people in with its own Keycloak clients, and the secret of
    /// one is not kept yet: Keycloak makes it when the client is created.
    #[error(
        "{component} logs in with the workspace's own Keycloak client {client_id}, whose secret is not known yet"
    )]
    ClientSecretUnknown {
        /// The component.
        component: &'static str,
        /// The client.
        client_id: String,
    },
    /// The group form's `quota` is below what the workspace itself requests: its pods
    /// would be refused by the namespace's own quota.
    #[error("the group form's quota is too small for the workspace: {}", short.iter().map(|s| format!("quota.{}: {}", s.field, s.message)).collect::<Vec<_>>().join("; "))]
    QuotaTooSmall {
        /// Each field of `quota` that is short, with the quota and the need.
        short: Vec<QuotaShort>,
    },
    /// A name built from the spec is not a valid Kubernetes name.
    #[error("{name:?} is not a valid name: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why it is not valid.
        reason: String,
    },
}

/// One field of the group form's `quota` below what the workspace requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaShort {
    /// The field under `quota` (`cpu`, `memory`, `gpu`, `storage`, `pvcs`).
    pub field: &'static str,
    /// The quota and the need, as a sentence (without the field).
    pub message: String,
}

impl RenderError {
    /// True when the input asks for something that cannot work (not a bug in maia).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            RenderError::QuotaTooSmall { .. } | RenderError::ClientSecretUnknown { .. }
        )
    }
}
