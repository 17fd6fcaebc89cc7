//! How workspace services are published: Ingresses on the hub host, TLS, and the
//! group's OAuth2 proxy in front of the services that have no login of their own.
//!
//! Certificates: on NGINX clusters cert-manager issues one certificate per host and
//! TLS secret. Only the Ingresses that own a host's certificate (JupyterHub's for the
//! hub host, Label Studio's for its own host) carry the cluster-issuer annotation;
//! every other Ingress on the hub host reuses [`hub_tls_secret`]. One certificate per
//! host keeps the group well under the ACME duplicate-certificate limit, and avoids
//! several Ingresses fighting over one cert-manager `Certificate`. Traefik's ACME
//! resolver deduplicates by host itself, so there every router names the resolver.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use maia_spec::workspace::{IngressController, UrlType, WorkspaceSpec};
use serde_json::{Value, json};

use super::meta::meta;
use crate::object::{CustomObject, Object};

/// The oauth2-proxy chart's Service (release `oauth2-proxy`), port 80.
pub(crate) const OAUTH2_PROXY_SERVICE: &str = "oauth2-proxy";
/// The Traefik `Middleware` that sends every request through the OAuth2 proxy.
pub(crate) const AUTH_MIDDLEWARE: &str = "oauth2-proxy-auth";

/// Whether a path is open or behind the group's OAuth2 proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The service has its own login (or, like the S3 API, its own request signing).
    Public,
    /// Members of `MAIA:<group_ID>` and `MAIA:admin` only.
    OAuth2,
}

/// The OAuth2 proxy's path prefix: `/oauth2`, or `/oauth2-<group_subdomain>` where
/// groups share the host (`subpath`).
pub(crate) fn oauth2_prefix(spec: &WorkspaceSpec) -> String {
    match spec.cluster.url_type {
        UrlType::Subdomain => "/oauth2".to_string(),
        UrlType::Subpath => format!("/oauth2-{}", spec.subdomain),
    }
}

/// TLS secret of the hub host's certificate (issued through JupyterHub's Ingress).
pub(crate) fn hub_tls_secret(spec: &WorkspaceSpec) -> String {
    format!("jupyterhub-{}-tls", spec.namespace)
}

fn oauth2_service_url(spec: &WorkspaceSpec) -> String {
    format!(
        "http://{OAUTH2_PROXY_SERVICE}.{}.svc.cluster.local:80",
        spec.namespace
    )
}

fn insert(map: &mut BTreeMap<String, String>, key: &str, value: impl Into<String>) {
    map.insert(key.to_string(), value.into());
}

/// Annotations for an Ingress that owns its host's certificate: the cert-manager
/// issuer (NGINX) or the ACME resolver (Traefik). NGINX also lifts the 1 MiB body
/// limit, since notebooks, DICOM studies and model artifacts are uploaded through it.
pub(crate) fn certificate_annotations(spec: &WorkspaceSpec) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    match &spec.cluster.ingress {
        IngressController::Nginx { cluster_issuer } => {
            insert(&mut a, "cert-manager.io/cluster-issuer", cluster_issuer);
            insert(&mut a, "nginx.ingress.kubernetes.io/proxy-body-size", "2g");
        }
        IngressController::Traefik { resolver } => traefik_tls(&mut a, resolver),
    }
    a
}

fn traefik_tls(a: &mut BTreeMap<String, String>, resolver: &str) {
    insert(
        a,
        "traefik.ingress.kubernetes.io/router.entrypoints",
        "websecure",
    );
    insert(a, "traefik.ingress.kubernetes.io/router.tls", "true");
    insert(
        a,
        "traefik.ingress.kubernetes.io/router.tls.certresolver",
        resolver,
    );
}

/// Annotations for an Ingress on the hub host that reuses the hub certificate, with
/// the OAuth2 guard when `access` asks for it.
pub(crate) fn hub_annotations(spec: &WorkspaceSpec, access: Access) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    match &spec.cluster.ingress {
        IngressController::Nginx { .. } => {
            insert(&mut a, "nginx.ingress.kubernetes.io/proxy-body-size", "2g");
            if access == Access::OAuth2 {
                let prefix = oauth2_prefix(spec);
                insert(
                    &mut a,
                    "nginx.ingress.kubernetes.io/auth-url",
                    format!("{}{prefix}/auth", oauth2_service_url(spec)),
                );
                // `$escaped_request_uri` keeps the query string (the original's `$uri`
                // dropped it, so a deep link lost its parameters after login).
                insert(
                    &mut a,
                    "nginx.ingress.kubernetes.io/auth-signin",
                    format!(
                        "https://{}{prefix}/start?rd=$scheme://$host$escaped_request_uri",
                        spec.hub_host()
                    ),
                );
                insert(
                    &mut a,
                    "nginx.ingress.kubernetes.io/auth-response-headers",
                    "X-Auth-Request-User,X-Auth-Request-Email",
                );
            }
        }
        IngressController::Traefik { resolver } => {
            traefik_tls(&mut a, resolver);
            if access == Access::OAuth2 {
                insert(
                    &mut a,
                    "traefik.ingress.kubernetes.io/router.middlewares",
                    format!("{}-{AUTH_MIDDLEWARE}@kubernetescrd", spec.namespace),
                );
            }
        }
    }
    a
}

/// A TLS block for `host`: NGINX names the secret cert-manager fills, Traefik's
/// resolver needs none.
pub(crate) fn tls(spec: &WorkspaceSpec, host: &str, secret: &str) -> IngressTLS {
    IngressTLS {
        hosts: Some(vec![host.to_string()]),
        secret_name: match spec.cluster.ingress {
            IngressController::Nginx { .. } => Some(secret.to_string()),
            IngressController::Traefik { .. } => None,
        },
    }
}

/// [`tls`] as chart values (`ingress.tls` of most charts).
pub(crate) fn tls_values(spec: &WorkspaceSpec, host: &str, secret: &str) -> Value {
    let t = tls(spec, host, secret);
    let mut v = json!({ "hosts": t.hosts });
    if let Some(s) = t.secret_name {
        v["secretName"] = json!(s);
    }
    json!([v])
}

/// A path on the hub host and the Service port it leads to.
pub(crate) struct Route {
    /// Without the leading `/`, e.g. `mlflow` or `brain-mri-mlflow`.
    pub(crate) path: String,
    pub(crate) service: String,
    pub(crate) port: ServiceBackendPort,
}

impl Route {
    pub(crate) fn new(path: impl Into<String>, service: impl Into<String>, port: u16) -> Self {
        Route {
            path: path.into(),
            service: service.into(),
            port: ServiceBackendPort {
                number: Some(i32::from(port)),
                name: None,
            },
        }
    }

    pub(crate) fn named_port(
        path: impl Into<String>,
        service: impl Into<String>,
        port: impl Into<String>,
    ) -> Self {
        Route {
            path: path.into(),
            service: service.into(),
            port: ServiceBackendPort {
                number: None,
                name: Some(port.into()),
            },
        }
    }
}

/// An Ingress named `name` publishing `routes` on the hub host.
pub(crate) fn hub_ingress(
    spec: &WorkspaceSpec,
    component: &str,
    name: &str,
    routes: Vec<Route>,
    access: Access,
) -> Ingress {
    let host = spec.hub_host();
    let mut metadata = meta(spec, component, name);
    metadata.annotations = Some(hub_annotations(spec, access));
    let paths = routes
        .into_iter()
        .map(|r| HTTPIngressPath {
            path: Some(format!("/{}", r.path)),
            path_type: "Prefix".into(),
            backend: IngressBackend {
                service: Some(IngressServiceBackend {
                    name: r.service,
                    port: Some(r.port),
                }),
                ..Default::default()
            },
        })
        .collect();
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(spec.cluster.ingress_class().to_string()),
            tls: Some(vec![tls(spec, &host, &hub_tls_secret(spec))]),
            rules: Some(vec![IngressRule {
                host: Some(host),
                http: Some(HTTPIngressRuleValue { paths }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An Ingress named `name` publishing `service:port` at the root of its own `host`,
/// with its own certificate (TLS secret `<name>-<namespace>-tls`) and no login in
/// front (the S3 API: clients sign their requests and need it at a host's root).
pub(crate) fn own_host_ingress(
    spec: &WorkspaceSpec,
    component: &str,
    name: &str,
    host: String,
    service: &str,
    port: u16,
) -> Ingress {
    let mut metadata = meta(spec, component, name);
    metadata.annotations = Some(certificate_annotations(spec));
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(spec.cluster.ingress_class().to_string()),
            tls: Some(vec![tls(
                spec,
                &host,
                &format!("{name}-{}-tls", spec.namespace),
            )]),
            rules: Some(vec![IngressRule {
                host: Some(host),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: service.into(),
                                port: Some(ServiceBackendPort {
                                    number: Some(i32::from(port)),
                                    name: None,
                                }),
                            }),
                            ..Default::default()
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// On Traefik clusters, the `Middleware` that [`Access::OAuth2`] routers use: a
/// forwardAuth to the OAuth2 proxy's root, whose `static://202` upstream answers 202
/// for a signed-in member and the sign-in page (403) otherwise (oauth2-proxy's
/// "ForwardAuth with static upstreams" setup; the original pointed it at the public
/// host, a detour through the load balancer). NGINX needs no object: its auth
/// annotations do the same.
pub(crate) fn auth_middleware(spec: &WorkspaceSpec, component: &str) -> Option<Object> {
    let IngressController::Traefik { .. } = spec.cluster.ingress else {
        return None;
    };
    let mut body = serde_json::Map::new();
    body.insert(
        "spec".into(),
        json!({
            "forwardAuth": {
                "address": format!("{}/", oauth2_service_url(spec)),
                "trustForwardHeader": true,
                "authResponseHeaders": [
                    "X-Auth-Request-User",
                    "X-Auth-Request-Email",
                    "X-Auth-Request-Access-Token",
                    "Authorization",
                ],
            }
        }),
    );
    Some(Object::Custom(CustomObject {
        api_version: "traefik.io/v1alpha1".into(),
        kind: "Middleware".into(),
        metadata: meta(spec, component, AUTH_MIDDLEWARE),
        body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_guard_points_at_the_groups_proxy_and_its_prefix() {
        let spec = WorkspaceSpec::test();
        let a = hub_annotations(&spec, Access::OAuth2);
        assert_eq!(
            a["nginx.ingress.kubernetes.io/auth-url"],
            "http://oauth2-proxy.brain-mri.svc.cluster.local:80/oauth2/auth"
        );
        assert!(
            a["nginx.ingress.kubernetes.io/auth-signin"]
                .starts_with("https://brain-mri.maia.example.org/oauth2/start?rd=")
        );
        assert!(
            !hub_annotations(&spec, Access::Public)
                .contains_key("nginx.ingress.kubernetes.io/auth-url")
        );
        assert!(auth_middleware(&spec, "addons").is_none());
    }

    #[test]
    fn traefik_guard_is_a_middleware_in_the_namespace() {
        let spec = WorkspaceSpec::test().with_traefik_subpath_loadbalancer();
        assert_eq!(oauth2_prefix(&spec), "/oauth2-brain-mri");
        let a = hub_annotations(&spec, Access::OAuth2);
        assert_eq!(
            a["traefik.ingress.kubernetes.io/router.middlewares"],
            "brain-mri-oauth2-proxy-auth@kubernetescrd"
        );
        let mw = auth_middleware(&spec, "addons").expect("traefik");
        assert_eq!(mw.kind(), "Middleware");
        assert_eq!(mw.name(), AUTH_MIDDLEWARE);
        assert_eq!(tls(&spec, "h", "s").secret_name, None);
    }
}
