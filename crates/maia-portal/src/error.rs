//! The portal's errors.

/// What can go wrong serving the portal or rendering its manifests.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address given.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped on an I/O error.
    #[error("the portal's server failed")]
    Serve(#[source] std::io::Error),
    /// A manifest could not be written as YAML.
    #[error("cannot write the portal's manifests as YAML")]
    Yaml(#[source] yaml_serde::Error),
    /// A manifest could not be turned into JSON.
    #[error("cannot serialise the portal's manifests")]
    Json(#[source] serde_json::Error),
}
