//! `maia serve`: the self-service portal of MAIA workspaces, as a library the CLI calls.
//!
//! What exists now is its skeleton: an [`axum`] router of server-rendered pages
//! ([`router`]), the server with graceful shutdown ([`serve`]), and the Kubernetes
//! objects that run it in a cluster ([`manifests`]). Sign-in (OpenID Connect with the
//! cluster config's `portal` client) and the portal's own store come next: the router
//! takes a [`Portal`] state so that they fit without changing its callers.

mod error;
pub mod manifests;
mod pages;

pub use error::PortalError;
pub use manifests::{ManifestOptions, Manifests, manifests};

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest request body the portal reads; a larger one is answered 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The Content-Security-Policy of every response: only the portal's own assets, no
/// inline script or style, never framed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// What every request handler may read: the checked `portal` section of the cluster
/// config (the OIDC client sign-in will use) and, later, the session store.
#[derive(Debug, Clone)]
pub struct Portal {
    /// The cluster config's `portal` section; `None` when it has none (then sign-in
    /// is not available).
    pub config: Option<maia_spec::workspace::Portal>,
}

/// The portal's routes, with the security headers and the body limit on every one
/// (unknown routes included).
pub fn router(portal: Portal) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(pages::healthz))
        .route("/login", get(pages::login))
        .route("/static/maia.css", get(pages::stylesheet))
        .fallback(pages::not_found)
        .with_state(Arc::new(portal))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
}

/// Serves the portal on `listener` until `shutdown` completes, then finishes the
/// requests under way and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    portal: Portal,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), PortalError> {
    axum::serve(listener, router(portal))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(PortalError::Serve)
}

/// Binds `addr` (`127.0.0.1:8080`; port 0 takes a free one).
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, PortalError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| PortalError::Bind {
            addr: addr.to_string(),
            source,
        })
}
