//! Step 4: the group's OAuth2 proxy (chart oauth2-proxy/oauth2-proxy). Every other
//! web component sits behind it: only members of `MAIA:<group_ID>` and admins get in.

use maia_spec::workspace::UrlType;
use serde::Serialize;
use serde_json::{Value, json};

use super::credentials::keys;
use super::ingress::{Access, hub_annotations, hub_tls_secret, oauth2_prefix, tls_values};
use super::{Component, Ctx, HelmRelease, Output};
use crate::error::RenderError;

pub(crate) const RELEASE: &str = "oauth2-proxy";
pub(crate) const CHART: &str = "oauth2-proxy";
pub(crate) const REPO_NAME: &str = "oauth2-proxy";
pub(crate) const REPO_URL: &str = "https://oauth2-proxy.github.io/manifests";
/// oauth2-proxy only accepts cookie secrets of 16, 24 or 32 bytes.
const COOKIE_SECRET_LEN: usize = 32;

/// oauth2-proxy's `configFile` (TOML), field for field.
#[derive(Debug, Serialize)]
struct ProxyConfig {
    oidc_issuer_url: String,
    provider: &'static str,
    upstreams: Vec<&'static str>,
    http_address: &'static str,
    oidc_groups_claim: &'static str,
    oidc_email_claim: &'static str,
    allowed_groups: Vec<String>,
    scope: &'static str,
    redirect_url: String,
    email_domains: Vec<&'static str>,
    proxy_prefix: String,
    /// Lets the NGINX `auth-signin` redirect back to any host of the cluster
    /// (`label-studio.<hub>` lives on its own host).
    whitelist_domains: Vec<String>,
    /// Groups sharing one host (`subpath`) would otherwise overwrite each other's cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    cookie_name: Option<String>,
    skip_jwt_bearer_tokens: bool,
    cookie_secure: bool,
    reverse_proxy: bool,
    pass_access_token: bool,
    set_xauthrequest: bool,
    /// The member's ID token as `Authorization: Bearer …` in the auth response, which
    /// the Traefik Middleware forwards (`authResponseHeaders`).
    set_authorization_header: bool,
    /// The same header to the upstream (the proxy's own responses).
    pass_authorization_header: bool,
    /// `X-Forwarded-User`, `-Email`, `-Groups` to the upstream.
    pass_user_headers: bool,
    /// Only with the cluster config's `keycloak.insecure_skip_verify`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ssl_insecure_skip_verify: bool,
}

/// The Secret the chart reads its client and cookie secrets from.
const SECRET: &str = "oauth2-proxy-credentials";

/// Requests of the proxy container (CPU, memory).
const PROXY_REQUESTS: (&str, &str) = ("100m", "128Mi");
/// Requests of its Redis session store.
const REDIS_REQUESTS: (&str, &str) = ("100m", "128Mi");
/// The Redis claim.
const REDIS_SIZE: &str = "8Gi";

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let Some(keycloak) = &spec.cluster.keycloak else {
        return Err(RenderError::MissingSetting {
            component: "oauth2-proxy",
            setting: "keycloack",
        });
    };
    let host = spec.hub_host();
    let prefix = oauth2_prefix(spec);
    let cookie_secret = ctx
        .credentials
        .get_or_draw(keys::OAUTH2_COOKIE_SECRET, COOKIE_SECRET_LEN);
    let (client_id, client_secret) =
        super::oidc::login_client(ctx, "oauth2-proxy", "proxy", keycloak)?;

    let config = ProxyConfig {
        oidc_issuer_url: keycloak.issuer_url.clone(),
        provider: "oidc",
        upstreams: vec!["static://202"],
        http_address: "0.0.0.0:4180",
        oidc_groups_claim: "groups",
        oidc_email_claim: "email",
        allowed_groups: vec![spec.keycloak_group(), "MAIA:admin".to_string()],
        scope: "openid email profile",
        redirect_url: format!("https://{host}{prefix}/callback"),
        email_domains: vec!["*"],
        proxy_prefix: prefix.clone(),
        whitelist_domains: vec![format!(".{}", spec.cluster.domain)],
        cookie_name: (spec.cluster.url_type == UrlType::Subpath).then(|| {
            format!(
                "_oauth2_proxy_{}",
                spec.namespace.as_str().replace('-', "_")
            )
        }),
        skip_jwt_bearer_tokens: true,
        cookie_secure: true,
        reverse_proxy: true,
        pass_access_token: true,
        set_xauthrequest: true,
        set_authorization_header: true,
        pass_authorization_header: true,
        pass_user_headers: true,
        ssl_insecure_skip_verify: keycloak.insecure_skip_verify,
    };
    let config_file = toml::to_string(&config).map_err(|source| RenderError::Toml {
        object: "oauth2-proxy configFile".into(),
        source,
    })?;

    // The proxy's own paths are open (they are the login), on the hub host and its
    // certificate, which JupyterHub's Ingress has cert-manager issue.
    let annotations = json!(hub_annotations(spec, Access::Public));
    let tls = tls_values(spec, &host, &hub_tls_secret(spec));
    // One session store per group: a standalone Redis (the subchart's default is a
    // primary with three replicas), with requests and size the quota counts.
    let mut redis = json!({
        "enabled": true,
        "architecture": "standalone",
        "master": {
            "resources": super::jupyterhub::resources(REDIS_REQUESTS, ("500m", "512Mi")),
            "persistence": {"size": REDIS_SIZE},
        },
    });
    if let Some(sc) = &spec.cluster.storage_class {
        redis["global"] = json!({"storageClass": sc});
    }
    let values: Value = json!({
        // The client and cookie secrets come from a Secret maia applies (the chart's
        // `existingSecret`: keys client-id, client-secret, cookie-secret), so the
        // values file holds no secret and can be committed.
        "config": {
            "existingSecret": SECRET,
            "configFile": config_file,
        },
        "redis": redis,
        "sessionStorage": {"type": "redis"},
        "service": {"type": "ClusterIP", "portNumber": 80},
        "resources": super::jupyterhub::resources(PROXY_REQUESTS, ("500m", "256Mi")),
        "ingress": {
            "enabled": true,
            "className": spec.cluster.ingress_class(),
            "path": prefix,
            "pathType": "Prefix",
            "hosts": [host],
            "tls": tls,
            "annotations": annotations,
        },
    });

    let credentials = super::meta::secret(
        spec,
        "oauth2_proxy",
        SECRET,
        [
            ("client-id".to_string(), client_id),
            ("client-secret".to_string(), client_secret),
            ("cookie-secret".to_string(), cookie_secret),
        ],
    );
    Ok(Component {
        name: "oauth2_proxy",
        objects: vec![credentials.into()],
        helm: vec![HelmRelease {
            release: RELEASE.into(),
            namespace: spec.namespace.to_string(),
            chart: CHART.into(),
            repo_name: REPO_NAME.into(),
            repo_url: REPO_URL.into(),
            version: spec.maia.oauth2_proxy_chart_version.clone(),
            values,
            footprint: super::Footprint {
                pods: vec![
                    (PROXY_REQUESTS.0.into(), PROXY_REQUESTS.1.into(), 0),
                    (REDIS_REQUESTS.0.into(), REDIS_REQUESTS.1.into(), 0),
                ],
                claims: vec![REDIS_SIZE.into()],
                // The proxy's pods (`oauth2-proxy.selectorLabels`), not its Redis.
                ingress_pods: [
                    ("app.kubernetes.io/name".to_string(), CHART.to_string()),
                    (
                        "app.kubernetes.io/instance".to_string(),
                        RELEASE.to_string(),
                    ),
                ]
                .into(),
                // The chart hashes only a Secret of its own; ours rolls the proxy
                // through its pod annotations.
                secret_readers: vec![super::rollout::SecretReaders {
                    pods: "proxy",
                    annotations_at: vec!["podAnnotations"],
                    secrets: vec![SECRET.into()],
                }],
            },
        }],
        outputs: vec![
            Output::internal("oauth_url", host.clone()),
            Output::new("Login (OAuth2 proxy)", format!("https://{host}{prefix}")),
        ],
        depends_on: vec!["namespace"],
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::credentials::CountingSource;
    use crate::workspace::{CredentialStore, Credentials, SshPorts};
    use maia_spec::workspace::WorkspaceSpec;

    fn values(spec: &WorkspaceSpec) -> (Component, String) {
        let kept = Credentials::default();
        let mut source = CountingSource::default();
        let mut store = CredentialStore::new(&kept, &mut source);
        let ports = SshPorts::default();
        let mut ctx = Ctx {
            spec,
            credentials: &mut store,
            ssh_ports: &ports,
            env_file: None,
        };
        let c = render(&mut ctx).unwrap();
        let text = crate::helm_yaml::to_string(&c.helm[0].values);
        (c, text)
    }

    #[test]
    fn nginx_subdomain_values() {
        let (c, text) = values(&WorkspaceSpec::test());
        assert_eq!(c.helm[0].version, "7.7.1");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn traefik_subpath_values() {
        let (_, text) = values(&WorkspaceSpec::test().with_traefik_subpath_loadbalancer());
        insta::assert_snapshot!(text);
    }

    #[test]
    fn the_config_file_is_valid_toml_with_the_groups_allowed() {
        let (c, _) = values(&WorkspaceSpec::test());
        let file = c.helm[0].values["config"]["configFile"].as_str().unwrap();
        let parsed: toml::Table = file.parse().unwrap();
        assert_eq!(
            parsed["allowed_groups"].as_array().unwrap().len(),
            2,
            "{file}"
        );
        assert_eq!(
            parsed["redirect_url"].as_str(),
            Some("https://brain-mri.maia.example.org/oauth2/callback")
        );
    }

    /// The Traefik Middleware asks the proxy for an `Authorization` header: the proxy
    /// must set it (and pass user headers); TLS checks of Keycloak stay on unless the
    /// cluster config turns them off.
    #[test]
    fn header_options_are_kept_and_insecure_tls_is_opt_in() {
        let parse = |spec: &WorkspaceSpec| -> toml::Table {
            let (c, _) = values(spec);
            c.helm[0].values["config"]["configFile"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        };
        let mut spec = WorkspaceSpec::test();
        let t = parse(&spec);
        for key in [
            "set_authorization_header",
            "pass_authorization_header",
            "pass_user_headers",
        ] {
            assert_eq!(t[key].as_bool(), Some(true), "{key}");
        }
        assert!(!t.contains_key("ssl_insecure_skip_verify"));
        if let Some(k) = spec.cluster.keycloak.as_mut() {
            k.insecure_skip_verify = true;
        }
        assert_eq!(
            parse(&spec)["ssl_insecure_skip_verify"].as_bool(),
            Some(true)
        );
    }
}
