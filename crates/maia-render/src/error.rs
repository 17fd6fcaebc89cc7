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
    /// The spec lacks a setting a component needs (validation normally catches this).
    #[error("{component} needs the cluster config's {setting}")]
    MissingSetting {
        component: &'static str,
        setting: &'static str,
    },
    #[error("{name:?} is not a valid name: {reason}")]
    InvalidName { name: String, reason: String },
}
