//! The OpenID clients a workspace logs people in with, when it has its own
//! (`keycloak_admin.per_workspace_clients`): one per service with a login of its own,
//! each with exact redirect and post-logout URIs, so no client of one workspace can
//! send a login to another's host.
//!
//! - the hub: JupyterHub's GenericOAuthenticator (`…/hub/oauth_callback`);
//! - the OAuth2 proxy in front of MLflow, Orthanc/OHIF, Label Studio, the file browser
//!   and KubeFlow (`<proxy prefix>/callback`);
//! - the MinIO console's "Login with SSO" (`<console>/oauth_callback`).
//!
//! Separate clients keep each service's token audience its own (a hub token is no
//! proxy token) and let one be rotated or disabled without the others. With
//! `--minimal` only the hub is installed, so only its client is made.

use maia_spec::workspace::WorkspaceSpec;
use serde::Serialize;

/// One confidential client of a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OidcClient {
    /// Which service uses it: `hub`, `proxy` or `minio`.
    pub service: &'static str,
    /// Its client ID: `maia-<namespace>-<service>`.
    pub client_id: String,
    /// Shown on Keycloak's login page.
    pub name: String,
    /// The service's root URL.
    pub root_url: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// CORS origins.
    pub web_origins: Vec<String>,
}

/// The client ID of a workspace's client for `service`.
pub fn client_id(spec: &WorkspaceSpec, service: &str) -> String {
    format!("maia-{}-{service}", spec.namespace)
}

/// The workspace's clients.
pub fn clients(spec: &WorkspaceSpec) -> Vec<OidcClient> {
    let origin = format!("https://{}", spec.hub_host());
    let hub = super::jupyterhub::url(spec);
    let mut out = vec![OidcClient {
        service: "hub",
        client_id: client_id(spec, "hub"),
        name: format!("{} JupyterHub", spec.group_id),
        root_url: hub.clone(),
        redirect_uris: vec![super::jupyterhub::oauth_callback_url(spec)],
        post_logout_redirect_uris: vec![hub.clone()],
        web_origins: vec![origin.clone()],
    }];
    if spec.minimal {
        return out;
    }
    let prefix = super::ingress::oauth2_prefix(spec);
    out.push(OidcClient {
        service: "proxy",
        client_id: client_id(spec, "proxy"),
        name: format!("{} services", spec.group_id),
        root_url: format!("{origin}/"),
        redirect_uris: vec![format!("{origin}{prefix}/callback")],
        post_logout_redirect_uris: vec![format!("{origin}/")],
        web_origins: vec![origin.clone()],
    });
    let console = spec.service_url("minio-console");
    let console = console.trim_end_matches('/');
    out.push(OidcClient {
        service: "minio",
        client_id: client_id(spec, "minio"),
        name: format!("{} MinIO console", spec.group_id),
        root_url: format!("{console}/"),
        redirect_uris: vec![format!("{console}/oauth_callback")],
        post_logout_redirect_uris: vec![format!("{console}/")],
        web_origins: vec![origin],
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_has_its_own_client_with_exact_callbacks_on_its_own_host() {
        let spec = WorkspaceSpec::test();
        let clients = clients(&spec);
        let ids: Vec<&str> = clients.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "maia-brain-mri-hub",
                "maia-brain-mri-proxy",
                "maia-brain-mri-minio"
            ]
        );
        assert_eq!(
            clients[0].redirect_uris,
            ["https://brain-mri.maia.example.org/hub/oauth_callback"]
        );
        assert_eq!(
            clients[1].redirect_uris,
            ["https://brain-mri.maia.example.org/oauth2/callback"]
        );
        for c in &clients {
            for uri in c.redirect_uris.iter().chain(&c.post_logout_redirect_uris) {
                assert!(!uri.contains('*'), "{uri}");
                assert!(
                    uri.starts_with("https://brain-mri.maia.example.org/"),
                    "{uri}"
                );
            }
        }
        let minimal = WorkspaceSpec::test().minimal();
        assert_eq!(super::clients(&minimal).len(), 1);
    }

    #[test]
    fn on_a_shared_host_the_callbacks_carry_the_groups_own_paths() {
        let spec = WorkspaceSpec::test().with_traefik_subpath_loadbalancer();
        let clients = clients(&spec);
        assert_eq!(
            clients[0].redirect_uris,
            ["https://maia.example.org/brain-mri-hub/hub/oauth_callback"]
        );
        assert_eq!(
            clients[1].redirect_uris,
            ["https://maia.example.org/oauth2-brain-mri/callback"]
        );
    }
}
