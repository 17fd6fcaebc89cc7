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
    namespace_client_id(spec.namespace.as_str(), service)
}

/// Every service that may have a client of its own, as [`clients`] makes them.
pub const SERVICES: [&str; 3] = ["hub", "proxy", "minio"];

/// The client ID of the workspace in `namespace` for `service` (for callers that have
/// a deployed workspace's namespace, not its spec).
pub fn namespace_client_id(namespace: &str, service: &str) -> String {
    format!("maia-{namespace}-{service}")
}

/// The credentials key of the secret of the workspace's client for `service`.
pub fn secret_key(service: &str) -> String {
    format!("keycloak.{service}.client_secret")
}

/// The client `component` logs people in with, as `(client ID, secret)`: the
/// workspace's own for `service` (with `keycloak_admin.per_workspace_clients`; its
/// secret, made by Keycloak, must be kept already), else the cluster config's shared
/// one.
pub(crate) fn login_client(
    ctx: &mut super::Ctx<'_, '_>,
    component: &'static str,
    service: &str,
    shared: &maia_spec::workspace::Keycloak,
) -> Result<(String, String), crate::RenderError> {
    let spec = ctx.spec;
    if spec
        .cluster
        .keycloak_admin
        .as_ref()
        .is_some_and(|k| k.per_workspace_clients)
    {
        let client_id = client_id(spec, service);
        return match ctx.credentials.kept(&secret_key(service)) {
            Some(secret) => Ok((client_id, secret)),
            None => Err(crate::RenderError::ClientSecretUnknown {
                component,
                client_id,
            }),
        };
    }
    // The OAuth2 proxy and MinIO list the shared client's secret among the bundle's
    // credentials (as they always have); the hub does not.
    if component != "jupyterhub" {
        ctx.credentials.record(
            super::credentials::keys::KEYCLOAK_CLIENT_SECRET,
            &shared.client_secret,
        );
    }
    Ok((shared.client_id.clone(), shared.client_secret.clone()))
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

#[cfg(test)]
mod login {
    use maia_spec::workspace::{KeycloakAdmin, WorkspaceSpec};

    use crate::RenderError;
    use crate::workspace::credentials::{CountingSource, Credentials};
    use crate::workspace::{Bundle, render};

    fn own_clients() -> WorkspaceSpec {
        let mut spec = WorkspaceSpec::test();
        spec.cluster.keycloak_admin = Some(KeycloakAdmin {
            url: "https://iam.example.org".into(),
            realm: "maia".into(),
            client_id: "maia-admin".into(),
            client_secret_file: None,
            invite_lifespan: 3600,
            per_workspace_clients: true,
        });
        spec
    }

    fn rendered(spec: &WorkspaceSpec, kept: &Credentials) -> Result<Bundle, RenderError> {
        let ports = crate::workspace::testing::first_ports(spec);
        render(spec, kept, &mut CountingSource::default(), &ports)
    }

    /// Every string of the bundle's objects and values.
    fn text(bundle: &Bundle) -> String {
        let mut out = String::new();
        for c in &bundle.components {
            for o in &c.objects {
                let json = o.to_json().unwrap();
                out.push_str(&json.to_string());
                // A Secret's values, decoded.
                if json["kind"] == "Secret" {
                    let secret: k8s_openapi::api::core::v1::Secret =
                        serde_json::from_value(json).unwrap();
                    for v in secret.data.unwrap_or_default().values() {
                        out.push_str(&String::from_utf8_lossy(&v.0));
                        out.push('\n');
                    }
                }
            }
            for h in &c.helm {
                out.push_str(&h.values.to_string());
            }
        }
        out
    }

    #[test]
    fn each_component_logs_in_with_its_own_client_and_the_secret_keycloak_made() {
        let spec = own_clients();
        let kept = Credentials(
            ["hub", "proxy", "minio"]
                .into_iter()
                .map(|s| (super::secret_key(s), format!("made-by-keycloak-for-{s}")))
                .collect(),
        );
        let bundle = rendered(&spec, &kept).unwrap();
        let text = text(&bundle);
        for service in ["hub", "proxy", "minio"] {
            assert!(
                text.contains(&format!("maia-brain-mri-{service}")),
                "{service}"
            );
        }
        // The shared client is used by nobody.
        let hub = bundle
            .components
            .iter()
            .flat_map(|c| &c.helm)
            .find(|h| h.values["hub"].is_object())
            .unwrap();
        assert_eq!(
            hub.values["hub"]["config"]["GenericOAuthenticator"]["client_id"],
            "maia-brain-mri-hub"
        );
        assert!(
            text.contains("MINIO_IDENTITY_OPENID_CLIENT_ID=\"maia-brain-mri-minio\""),
            "{text}"
        );
        let shared = spec.cluster.keycloak.as_ref().unwrap();
        assert!(!text.contains(&shared.client_secret));
        assert!(
            !bundle
                .credentials
                .0
                .values()
                .any(|v| *v == shared.client_secret)
        );
        // The secrets are kept with the workspace's credentials (and so re-rendered).
        assert_eq!(
            bundle.credentials.0[&super::secret_key("proxy")],
            "made-by-keycloak-for-proxy"
        );
    }

    #[test]
    fn without_the_secret_keycloak_made_the_render_says_how_to_get_it() {
        let err = rendered(&own_clients(), &Credentials::default()).unwrap_err();
        assert!(
            matches!(&err, RenderError::ClientSecretUnknown { client_id, .. } if client_id.starts_with("maia-brain-mri-")),
            "{err}"
        );
        assert!(err.is_bad_input());
    }
}
