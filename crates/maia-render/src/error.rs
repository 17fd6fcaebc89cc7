/// Why rendering failed. Rendering is pure, so these are rare: a serialisation that
/// cannot be written, or a fact the caller did not supply.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot serialise {object} as JSON")]
    Serialize {
        object: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot serialise {object} as YAML")]
    Yaml {
        object: String,
        #[source]
        source: yaml_serde::Error,
    },
    #[error("the contents of mount file {file:?} were not supplied")]
    MissingMountFile { file: String },
    #[error("cannot serialise {object} as TOML")]
    Toml {
        object: String,
        #[source]
        source: toml::ser::Error,
    },
    #[error(
        "member {user} would get the Service name {name:?}, which Kubernetes rejects (a DNS-1035 label: at most 63 characters, starting with a letter)"
    )]
    UserServiceName { user: String, name: String },
    #[error("no SSH port was allocated for {user}")]
    MissingSshPort { user: String },
    /// The spec lacks a setting a component needs (validation normally catches this).
    #[error("{component} needs `{setting}` in the cluster config")]
    MissingSetting {
        component: &'static str,
        setting: &'static str,
    },
    #[error("{name:?} is not a valid name: {reason}")]
    InvalidName { name: String, reason: String },
}
