//! The cluster config: how the cluster the workspaces live on is set up (registry,
//! storage, ingress, SSH exposure, Keycloak).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{Issue, Issues};
use crate::load::{self, ConfigFile};
use crate::loose::{StringOrBool, StringOrNumber, Text};
use crate::names::DnsSubdomain;
use crate::path::FieldPath;

use super::group::check_emails;
use super::{
    ClusterSpec, Egress, EnvStore, IngressController, Keycloak, KeycloakAdmin, Portal, Registry,
    SshExposure, Tenancy, UrlType,
};

/// A Kubernetes cluster that hosts MAIA workspaces. Field names are those of the original toolkit.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(title = "maia cluster config")]
pub(crate) struct ClusterConfig {
    /// Registry of the MAIA images (e.g. `registry.maia.example.org`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_server: Option<String>,
    /// Registry user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_username: Option<String>,
    /// Registry password (kept in the image-pull Secret and credentials.yaml only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_password: Option<Text>,
    /// Name of the image-pull Secret created in every namespace
    /// (default `maia-docker-registry-secret`).
    #[serde(
        rename = "imagePullSecrets",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub image_pull_secrets: Option<String>,
    /// Storage class of volumes (`kubectl get sc`); absent = the cluster default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Storage class of the ReadWriteMany `shared` volume (default `storage_class`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_storage_class: Option<String>,
    /// Storage class of the JupyterHub database (default `storage_class`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_storage_class: Option<String>,
    /// Traefik clusters: the ACME certificate resolver. Give this or `nginx_cluster_issuer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traefik_resolver: Option<String>,
    /// NGINX clusters: the cert-manager ClusterIssuer. Give this or `traefik_resolver`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx_cluster_issuer: Option<String>,
    /// The IngressClass every Ingress names (`kubectl get ingressclass`); default
    /// `nginx` on NGINX clusters, `traefik` on Traefik ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class: Option<String>,
    /// `subdomain` (each group on `<group_subdomain>.<domain>`, the default) or
    /// `subpath` (every group on `<domain>`; `path` is accepted too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_type: Option<String>,
    /// The cluster's DNS domain.
    pub domain: String,
    /// E-mails of the hub administrators.
    #[serde(default)]
    pub admins: Vec<String>,
    /// `NodePort` (default) or `LoadBalancer` (MetalLB, with `maia_metallb_ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_port_type: Option<String>,
    /// Host name users give `ssh` (default `domain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_hostname: Option<String>,
    /// `[min, max]`: SSH ports are drawn from this inclusive range (for NodePort inside
    /// the cluster's node-port range, 30000-32767 by default).
    pub port_range: Vec<StringOrNumber>,
    /// Keycloak client of the MAIA realm (the original's spelling, `keycloack`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keycloack: Option<KeycloakConfig>,
    /// Keycloak client of the MAIA realm (same as `keycloack`; use one of the two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keycloak: Option<KeycloakConfig>,
    /// LoadBalancer SSH: the address every SSH Service shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maia_metallb_ip: Option<String>,
    /// LoadBalancer SSH: the MetalLB address pool (`metallb.universe.tf/ip-allocated-from-pool`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metallb_ip_pool: Option<String>,
    /// LoadBalancer SSH: the sharing key (`metallb.universe.tf/allow-shared-ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metallb_shared_ip: Option<String>,
    /// A custom JupyterHub image (with `hub_tag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_image: Option<String>,
    /// Tag of `hub_image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_tag: Option<StringOrNumber>,
    /// Base URL of the MAIA dashboard, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The central MinIO holding groups' environment files (`minio_env_name`): its URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_url: Option<String>,
    /// Access key of the central MinIO (read-only is enough).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_access_key: Option<Text>,
    /// Secret key of the central MinIO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_secret_key: Option<Text>,
    /// The bucket the environment files are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_name: Option<String>,
    /// Namespace of the ingress controller, allowed through each workspace's network
    /// policy to the services behind an Ingress (default `ingress-nginx` on NGINX
    /// clusters, `traefik` on Traefik ones; k3s runs Traefik in `kube-system`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_namespace: Option<String>,
    /// Namespace of the MinIO Operator, allowed to reach each group's Tenant
    /// (default `minio-operator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_operator_namespace: Option<String>,
    /// `open` (default): workspace pods may reach anything. `restricted`: only their
    /// own namespace, the cluster DNS and the `egress_allow` address blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<String>,
    /// With `egress: restricted`: the CIDRs pods may reach, e.g. the Keycloak issuer's,
    /// the registry's and the API server's addresses (`10.0.0.5/32`). A network policy
    /// cannot name hosts, only addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress_allow: Vec<String>,
    /// Members' workspaces run privileged, as in the original (default true). `false`
    /// renders them unprivileged, so the namespace enforces the `baseline` Pod
    /// Security level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged_workspaces: Option<StringOrBool>,
    /// The API server's `--oidc-groups-prefix` (default `oidc:`): members' kubectl
    /// access is bound to the group `<prefix>MAIA:<group_ID>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_groups_prefix: Option<String>,
    /// The OIDC client members' kubectl logs in with (`maia namespace kubeconfig`);
    /// default the Keycloak `client_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubectl_client_id: Option<String>,
    /// maia's own access to Keycloak's admin API. With it, a deploy keeps the group
    /// `MAIA:<group_ID>` and its members in Keycloak (accounts created and invited by
    /// Keycloak's own e-mail, never with a password) and, with `per_workspace_clients`,
    /// gives each workspace its own clients. Without it, Keycloak is kept by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keycloak_admin: Option<KeycloakAdminConfig>,
    /// The self-service portal (`maia serve`): its public URL and its own OIDC client
    /// at the Keycloak realm the components log in at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<PortalConfig>,
}

/// `portal`: where `maia serve` is reached and the OIDC client it signs users in with.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub(crate) struct PortalConfig {
    /// The portal's public URL (`https://maia.example.org`); plain `http://` only for a
    /// loopback host (`localhost`, `127.0.0.1`, `[::1]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The portal's own confidential OIDC client (e.g. `maia-portal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// A file holding the portal client's secret (mode 0600); else the environment
    /// variable `MAIA_PORTAL_CLIENT_SECRET`. The secret itself is never written here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<String>,
    /// Refused: the secret is never written in the cluster config.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub client_secret: Option<serde_json::Value>,
}

/// `keycloak_admin`: a confidential client with a service account holding the
/// realm-management roles manage-users, view-users, query-groups and manage-clients.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub(crate) struct KeycloakAdminConfig {
    /// Keycloak's base URL (`https://iam.example.org`; no `/realms/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The realm the workspaces' users, groups and clients are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// The admin client's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// A file holding the admin client's secret (mode 0600); else the environment
    /// variable `MAIA_KEYCLOAK_ADMIN_SECRET`. The secret itself is never written here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<String>,
    /// How long a new member's invitation link is valid (`7d`, `48h`; default 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_lifespan: Option<StringOrNumber>,
    /// Each workspace gets its own confidential clients (hub, OAuth2 proxy, MinIO
    /// console) with exact redirect URIs, instead of the shared `keycloack` client.
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_workspace_clients: Option<StringOrBool>,
    /// Refused: the secret is never written in the cluster config.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub client_secret: Option<serde_json::Value>,
}

impl ConfigFile for ClusterConfig {
    const KIND: &'static str = "cluster config";
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub(crate) struct KeycloakConfig {
    /// OIDC client ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// OIDC client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Text>,
    /// Issuer URL of the realm (`https://iam.example.org/realms/maia`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_url: Option<String>,
    /// Authorization endpoint (`…/protocol/openid-connect/auth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    /// Token endpoint (`…/protocol/openid-connect/token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// User-info endpoint (`…/protocol/openid-connect/userinfo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userdata_url: Option<String>,
    /// Do not verify Keycloak's TLS certificate (the OAuth2 proxy's
    /// `ssl_insecure_skip_verify`). Default false. For a Keycloak behind a private CA,
    /// trusting that CA is the better fix; this is for test clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// Which Keycloak settings the chosen components need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Install {
    /// Every component: the OAuth2 proxy and MinIO need the issuer too.
    Full,
    /// `--minimal`: only JupyterHub logs in with Keycloak.
    Minimal,
}

const PULL_SECRET_DEFAULT: &str = "maia-docker-registry-secret";

/// Who needs each Keycloak setting.
fn keycloak_needs(field: &str, install: Install, own_clients: bool) -> Vec<&'static str> {
    let mut who = Vec::new();
    let full = install == Install::Full;
    match field {
        // Each workspace's own clients (keycloak_admin.per_workspace_clients) replace
        // the shared one.
        "client_id" | "client_secret" if own_clients => {}
        "client_id" | "client_secret" => {
            who.push("JupyterHub");
            if full {
                who.extend(["the OAuth2 proxy", "MinIO"]);
            }
        }
        "issuer_url" if full => who.extend(["the OAuth2 proxy", "MinIO"]),
        "authorize_url" | "token_url" | "userdata_url" => who.push("JupyterHub"),
        _ => {}
    }
    who
}

fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn url(issues: &mut Issues, path: FieldPath, value: &str) {
    if !(value.starts_with("https://") || value.starts_with("http://")) {
        issues
            .error(path, format!("{value:?} is not a URL"))
            .set_hint("write the full URL, starting with https://");
    }
}

/// The original's template leaves unused settings as `""` (`traefik_resolver: ""` on
/// an NGINX cluster): an empty optional setting means "not set".
fn blank_as_unset(mut c: ClusterConfig) -> ClusterConfig {
    let clear = |o: &mut Option<String>| {
        if o.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *o = None;
        }
    };
    for field in [
        &mut c.docker_server,
        &mut c.docker_username,
        &mut c.image_pull_secrets,
        &mut c.storage_class,
        &mut c.shared_storage_class,
        &mut c.hub_storage_class,
        &mut c.traefik_resolver,
        &mut c.nginx_cluster_issuer,
        &mut c.ingress_class,
        &mut c.url_type,
        &mut c.ssh_port_type,
        &mut c.ssh_hostname,
        &mut c.maia_metallb_ip,
        &mut c.metallb_ip_pool,
        &mut c.metallb_shared_ip,
        &mut c.hub_image,
        &mut c.base_url,
        &mut c.minio_url,
        &mut c.bucket_name,
        &mut c.ingress_namespace,
        &mut c.minio_operator_namespace,
        &mut c.egress,
        &mut c.kubectl_client_id,
    ] {
        clear(field);
    }
    if c.docker_password
        .as_ref()
        .is_some_and(|p| p.text.is_empty())
    {
        c.docker_password = None;
    }
    if c.hub_tag.as_ref().is_some_and(|t| t.text.trim().is_empty()) {
        c.hub_tag = None;
    }
    c
}

/// Checks a cluster config for an install of the given kind.
pub(crate) fn check(c: &ClusterConfig, install: Install) -> (Option<ClusterSpec>, Vec<Issue>) {
    let c = &blank_as_unset(c.clone());
    let root = FieldPath::root();
    let mut issues = Issues::default();

    // Registry: all or nothing.
    let registry = match (&c.docker_server, &c.docker_username, &c.docker_password) {
        (None, None, None) => None,
        (Some(server), Some(username), Some(password)) => Some(Registry {
            server: server.clone(),
            username: username.clone(),
            password: password.text.clone(),
        }),
        _ => {
            for (field, set) in [
                ("docker_server", c.docker_server.is_some()),
                ("docker_username", c.docker_username.is_some()),
                ("docker_password", c.docker_password.is_some()),
            ] {
                if !set {
                    issues
                        .error(
                            root.key(field),
                            format!("{field} is missing: the image-pull Secret needs docker_server, docker_username and docker_password"),
                        )
                        .set_hint("give all three, or none when the images are public");
                }
            }
            None
        }
    };
    let pull_secret = c
        .image_pull_secrets
        .clone()
        .unwrap_or_else(|| PULL_SECRET_DEFAULT.to_string());
    issues.check(
        &root.key("imagePullSecrets"),
        pull_secret.parse::<DnsSubdomain>(),
    );
    for (field, value) in [
        ("storage_class", &c.storage_class),
        ("shared_storage_class", &c.shared_storage_class),
        ("hub_storage_class", &c.hub_storage_class),
        ("ingress_class", &c.ingress_class),
    ] {
        if let Some(v) = value {
            issues.check(&root.key(field), v.parse::<DnsSubdomain>());
        }
    }

    let ingress = match (&c.nginx_cluster_issuer, &c.traefik_resolver) {
        (Some(issuer), None) => Some(IngressController::Nginx {
            cluster_issuer: issuer.clone(),
        }),
        (None, Some(resolver)) => Some(IngressController::Traefik {
            resolver: resolver.clone(),
        }),
        (Some(_), Some(_)) => {
            issues
                .error(
                    root.key("traefik_resolver"),
                    "both nginx_cluster_issuer and traefik_resolver are given",
                )
                .set_hint("keep the one of the ingress controller your cluster runs");
            None
        }
        (None, None) => {
            issues
                .error(
                    root.key("domain"),
                    "neither nginx_cluster_issuer nor traefik_resolver is given: maia cannot tell how the cluster serves HTTPS",
                )
                .set_hint("add nginx_cluster_issuer: <cert-manager ClusterIssuer> (NGINX) or traefik_resolver: <resolver> (Traefik)");
            None
        }
    };

    let url_type = match c.url_type.as_deref() {
        None | Some("subdomain") => UrlType::Subdomain,
        Some("subpath") | Some("path") => UrlType::Subpath,
        Some(other) => {
            let known = ["subdomain", "subpath"].map(String::from);
            let hint = match load::did_you_mean(other, &known) {
                Some(s) => format!("did you mean {s:?}?"),
                None => "use subdomain or subpath".to_string(),
            };
            issues
                .error(root.key("url_type"), format!("{other:?} is not a URL type"))
                .set_hint(hint);
            UrlType::Subdomain
        }
    };
    if c.domain.trim().is_empty() {
        issues
            .error(root.key("domain"), "the domain is empty")
            .set_hint("write the cluster's DNS domain, e.g. maia.example.org");
    } else {
        issues.check(&root.key("domain"), c.domain.parse::<DnsSubdomain>());
    }
    check_emails(&mut issues, &root.key("admins"), &c.admins);

    let ssh_hostname = c.ssh_hostname.clone().unwrap_or_else(|| c.domain.clone());
    if let Some(h) = &c.ssh_hostname {
        issues.check(&root.key("ssh_hostname"), h.parse::<DnsSubdomain>());
    }

    let range_path = root.key("port_range");
    let mut port = |i: usize, v: &StringOrNumber| match v.as_u64() {
        Some(n @ 1..=65535) => Some(n as u16),
        _ => {
            issues
                .error(
                    range_path.index(i),
                    format!("{} is not a port number", v.shown()),
                )
                .set_hint("write a whole number from 1 to 65535");
            None
        }
    };
    let port_range = match c.port_range.as_slice() {
        [min, max] => match (port(0, min), port(1, max)) {
            (Some(min), Some(max)) if min > max => {
                issues
                    .error(
                        range_path.index(0),
                        format!("the range starts at {min}, above its end {max}"),
                    )
                    .set_hint(format!("write [{max}, {min}]"));
                None
            }
            (Some(min), Some(max)) => Some((min, max)),
            _ => None,
        },
        other => {
            issues
                .error(
                    range_path.clone(),
                    format!("expected [min, max], found {} values", other.len()),
                )
                .set_hint("write e.g. [30100, 30199]");
            None
        }
    };

    let ssh = match c.ssh_port_type.as_deref() {
        None | Some("NodePort") => {
            if let Some((min, max)) = port_range
                && (min < 30000 || max > 32767)
            {
                issues
                    .warning(
                        range_path.clone(),
                        format!("{min}-{max} is not inside the default NodePort range 30000-32767"),
                    )
                    .set_hint("the API server refuses such node ports unless its --service-node-port-range allows them");
            }
            Some(SshExposure::NodePort)
        }
        Some("LoadBalancer") => match &c.maia_metallb_ip {
            Some(ip) => Some(SshExposure::LoadBalancer {
                ip: ip.clone(),
                pool: c.metallb_ip_pool.clone(),
                shared_ip: c.metallb_shared_ip.clone(),
            }),
            None => {
                issues
                    .error(
                        root.key("ssh_port_type"),
                        "LoadBalancer SSH needs maia_metallb_ip, the address the SSH Services share",
                    )
                    .set_hint("add maia_metallb_ip: <address from the MetalLB pool>, or use ssh_port_type: NodePort");
                None
            }
        },
        Some(other) => {
            let known = ["NodePort", "LoadBalancer"].map(String::from);
            let hint = match load::did_you_mean(other, &known) {
                Some(s) => format!("did you mean {s:?}?"),
                None => "use NodePort or LoadBalancer".to_string(),
            };
            issues
                .error(
                    root.key("ssh_port_type"),
                    format!("{other:?} is not an SSH port type"),
                )
                .set_hint(hint);
            None
        }
    };
    if let Some(ip) = &c.maia_metallb_ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        issues.error(
            root.key("maia_metallb_ip"),
            format!("{ip:?} is not an IP address"),
        );
    }

    // Keycloak, under either spelling.
    let (kc_key, kc) = match (&c.keycloack, &c.keycloak) {
        (Some(_), Some(_)) => {
            issues
                .error(
                    root.key("keycloak"),
                    "both keycloack and keycloak are given",
                )
                .set_hint("they are two spellings of the same setting; keep one");
            ("keycloak", None)
        }
        (Some(k), None) => ("keycloack", Some(k)),
        (None, Some(k)) => ("keycloak", Some(k)),
        (None, None) => ("keycloak", None),
    };
    let kc_path = root.key(kc_key);
    let own_clients = c
        .keycloak_admin
        .as_ref()
        .and_then(|k| k.per_workspace_clients.as_ref())
        .and_then(|b| b.parse())
        == Some(true);
    let keycloak = match kc {
        None if !(c.keycloack.is_some() && c.keycloak.is_some()) => {
            let who = ["JupyterHub", "the OAuth2 proxy", "MinIO"];
            let who = if install == Install::Full {
                &who[..]
            } else {
                &who[..1]
            };
            issues
                .error(
                    kc_path.clone(),
                    format!("the Keycloak settings are missing: {} log users in with Keycloak", and_list(who)),
                )
                .set_hint("add keycloack: {client_id, client_secret, issuer_url, authorize_url, token_url, userdata_url}");
            None
        }
        None => None,
        Some(k) => {
            let fields: [(&str, Option<String>); 6] = [
                ("client_id", k.client_id.clone()),
                (
                    "client_secret",
                    k.client_secret.as_ref().map(|t| t.text.clone()),
                ),
                ("issuer_url", k.issuer_url.clone()),
                ("authorize_url", k.authorize_url.clone()),
                ("token_url", k.token_url.clone()),
                ("userdata_url", k.userdata_url.clone()),
            ];
            let mut ok = true;
            for (field, value) in &fields {
                let needed_by = keycloak_needs(field, install, own_clients);
                match value.as_deref() {
                    None | Some("") if !needed_by.is_empty() => {
                        let state = if value.is_some() { "empty" } else { "missing" };
                        ok = false;
                        let hint = if install == Install::Full
                            && keycloak_needs(field, Install::Minimal, own_clients).is_empty()
                        {
                            format!(
                                "add {kc_key}.{field}, or render with --minimal (namespace, SSH and JupyterHub only)"
                            )
                        } else {
                            format!("add {kc_key}.{field}")
                        };
                        issues
                            .error(
                                kc_path.key(*field),
                                format!(
                                    "{field} is {state}: {} need{} it",
                                    and_list(&needed_by),
                                    if needed_by.len() == 1 { "s" } else { "" }
                                ),
                            )
                            .set_hint(hint);
                    }
                    Some(v) if field.ends_with("_url") => url(&mut issues, kc_path.key(*field), v),
                    _ => {}
                }
            }
            let get = |i: usize| fields[i].1.clone().unwrap_or_default();
            ok.then(|| Keycloak {
                client_id: get(0),
                client_secret: get(1),
                issuer_url: get(2),
                authorize_url: get(3),
                token_url: get(4),
                userdata_url: get(5),
                insecure_skip_verify: k.insecure_skip_verify.unwrap_or(false),
            })
        }
    };

    let hub_image = match (&c.hub_image, &c.hub_tag) {
        // The hub image carries KubeSpawner: z2jh's own of 4.x or later is KubeSpawner 7.
        (Some(image), Some(tag))
            if image.rsplit('/').next() == Some("k8s-hub")
                && super::maia::z2jh_major(&tag.text).is_some_and(|m| m >= 4) =>
        {
            issues
                .error(
                    root.key("hub_tag"),
                    format!("hub image {image}:{}: {}", tag.text, super::maia::Z2JH_4),
                )
                .set_hint(super::maia::Z2JH_HINT);
            None
        }
        (Some(image), Some(tag)) => Some((image.clone(), tag.text.clone())),
        (None, None) => None,
        (Some(_), None) => {
            issues
                .error(root.key("hub_image"), "hub_image is given without hub_tag")
                .set_hint("add hub_tag: <tag of the image>");
            None
        }
        (None, Some(_)) => {
            issues
                .error(root.key("hub_tag"), "hub_tag is given without hub_image")
                .set_hint("add hub_image: <repository of the JupyterHub image>");
            None
        }
    };

    let env_store = env_store(&mut issues, &root, c);
    let keycloak_admin = c.keycloak_admin.as_ref().and_then(|k| {
        keycloak_admin(
            &mut issues,
            &root.key("keycloak_admin"),
            k,
            keycloak.as_ref(),
        )
    });
    let portal = c
        .portal
        .as_ref()
        .and_then(|p| portal(&mut issues, &root.key("portal"), p));
    let tenancy = ingress
        .as_ref()
        .map(|ingress| tenancy(&mut issues, &root, c, ingress));

    if issues.has_errors() {
        return (None, issues.0);
    }
    let (Some(ingress), Some(ssh), Some(port_range), Some(tenancy)) =
        (ingress, ssh, port_range, tenancy)
    else {
        return (None, issues.0);
    };
    let spec = ClusterSpec {
        registry,
        pull_secret,
        storage_class: c.storage_class.clone(),
        shared_storage_class: c.shared_storage_class.clone().or(c.storage_class.clone()),
        hub_storage_class: c.hub_storage_class.clone().or(c.storage_class.clone()),
        ingress,
        ingress_class: c.ingress_class.clone(),
        url_type,
        domain: c.domain.clone(),
        // Lower case, as Keycloak and JupyterHub write user names (see check_emails).
        admins: c.admins.iter().map(|a| a.to_lowercase()).collect(),
        ssh,
        ssh_hostname,
        port_range,
        keycloak,
        hub_image,
        base_url: c.base_url.clone(),
        env_store,
        tenancy,
        keycloak_admin,
        portal,
    };
    (Some(spec), issues.0)
}

/// Checks `portal`.
fn portal(issues: &mut Issues, path: &FieldPath, p: &PortalConfig) -> Option<Portal> {
    if p.client_secret.is_some() {
        issues
            .error(
                path.key("client_secret"),
                "the portal client's secret is not written in the cluster config",
            )
            .set_hint(
                "put it in a file only maia's user reads (chmod 600) and name it in client_secret_file, or set MAIA_PORTAL_CLIENT_SECRET",
            );
    }
    let mut required =
        |field: &str, value: &Option<String>, hint: &str| match value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(v.to_string()),
            _ => {
                issues
                    .error(path.key(field), format!("portal.{field} is missing"))
                    .set_hint(hint.to_string());
                None
            }
        };
    let url_text = required(
        "url",
        &p.url,
        "add url: the portal's public URL, e.g. https://maia.example.org",
    );
    let client_id = required(
        "client_id",
        &p.client_id,
        "add client_id: the portal's confidential OIDC client (e.g. maia-portal)",
    );
    let (url, host) = match url_text.map(|u| u.trim_end_matches('/').to_string()) {
        None => (None, None),
        Some(u) => match portal_host(&u) {
            Ok(host) => (Some(u), Some(host)),
            Err((message, hint)) => {
                issues.error(path.key("url"), message).set_hint(hint);
                (None, None)
            }
        },
    };
    Some(Portal {
        url: url?,
        host: host?,
        client_id: client_id?,
        client_secret_file: p
            .client_secret_file
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(std::path::PathBuf::from),
    })
}

/// The host of the portal's URL: `https://HOST[:PORT]`, or `http://` for a loopback
/// host only (the session cookie would otherwise cross the network in clear).
fn portal_host(url: &str) -> Result<String, (String, String)> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        (
            format!("{url:?} is not a URL"),
            "write the full URL, starting with https://".to_string(),
        )
    })?;
    let authority = rest.split('/').next().unwrap_or_default();
    if rest.len() > authority.len() {
        return Err((
            format!("{url:?} has a path"),
            "the portal is served at the root of its host: give https://HOST only".to_string(),
        ));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, port)) if port.is_empty() || port.starts_with(':') => {
                format!("[{addr}]")
            }
            _ => String::new(),
        },
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_string(),
    };
    let valid = !host.is_empty()
        && !authority.contains('@')
        && (host.starts_with('[') || host.to_lowercase().parse::<DnsSubdomain>().is_ok());
    if !valid {
        return Err((
            format!("{url:?} has no valid host"),
            "write https://HOST, e.g. https://maia.example.org".to_string(),
        ));
    }
    let loopback = matches!(host.as_str(), "localhost" | "[::1]") || host.starts_with("127.");
    match scheme {
        "https" => Ok(host.to_lowercase()),
        "http" if loopback => Ok(host.to_lowercase()),
        "http" => Err((
            format!("{url:?} is plain http on a host other than this machine"),
            "serve the portal over https (plain http only for localhost or 127.0.0.1)".to_string(),
        )),
        _ => Err((
            format!("{url:?} is not an http(s) URL"),
            "write the full URL, starting with https://".to_string(),
        )),
    }
}

/// The default of `keycloak_admin.invite_lifespan`: a week.
const INVITE_LIFESPAN: u64 = 7 * 86_400;

/// Checks `keycloak_admin`.
fn keycloak_admin(
    issues: &mut Issues,
    path: &FieldPath,
    k: &KeycloakAdminConfig,
    shared: Option<&Keycloak>,
) -> Option<KeycloakAdmin> {
    if k.client_secret.is_some() {
        issues
            .error(
                path.key("client_secret"),
                "the admin client's secret is not written in the cluster config",
            )
            .set_hint(
                "put it in a file only maia's user reads (chmod 600) and name it in client_secret_file, or set MAIA_KEYCLOAK_ADMIN_SECRET",
            );
    }
    let mut required =
        |field: &str, value: &Option<String>, hint: &str| match value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(v.to_string()),
            _ => {
                issues
                    .error(
                        path.key(field),
                        format!("keycloak_admin.{field} is missing"),
                    )
                    .set_hint(hint.to_string());
                None
            }
        };
    let url_text = required(
        "url",
        &k.url,
        "add url: Keycloak's base URL, e.g. https://iam.example.org",
    );
    let realm = required(
        "realm",
        &k.realm,
        "add realm: the realm of the workspaces' users (e.g. maia)",
    );
    let client_id = required(
        "client_id",
        &k.client_id,
        "add client_id: a confidential client with a service account (see the README's Keycloak section)",
    );
    let url_text = url_text.map(|u| u.trim_end_matches('/').to_string());
    if let Some(u) = &url_text {
        url(issues, path.key("url"), u);
        if u.contains("/realms/") {
            issues
                .error(path.key("url"), format!("{u:?} names a realm"))
                .set_hint(
                    "give Keycloak's base URL (https://iam.example.org) and the realm in realm",
                );
        }
    }
    let invite_lifespan = match &k.invite_lifespan {
        None => Some(INVITE_LIFESPAN),
        Some(text) => issues
            .check(
                &path.key("invite_lifespan"),
                crate::duration::allocation_seconds(&text.text).map_err(|i| {
                    Issue::error(
                        FieldPath::root(),
                        format!("{} is not a lifespan", text.shown()),
                    )
                    .hint(i.hint.unwrap_or_default())
                }),
            )
            .map(|s| s.unsigned_abs()),
    };
    let per_workspace_clients = match &k.per_workspace_clients {
        None => Some(false),
        Some(b) => match b.parse() {
            Some(b) => Some(b),
            None => {
                issues
                    .error(
                        path.key("per_workspace_clients"),
                        format!("{} is not true or false", b.shown()),
                    )
                    .set_hint("write per_workspace_clients: true or false");
                None
            }
        },
    };
    let (url, realm, client_id, invite_lifespan, per_workspace_clients) = (
        url_text?,
        realm?,
        client_id?,
        invite_lifespan?,
        per_workspace_clients?,
    );
    // The components log in at the shared client's issuer: it should be this realm.
    let issuer = format!("{url}/realms/{realm}");
    if let Some(shared) = shared
        && !shared.issuer_url.is_empty()
        && shared.issuer_url.trim_end_matches('/') != issuer
    {
        issues
            .warning(
                path.key("realm"),
                format!(
                    "keycloak_admin manages realm {realm} at {url}, but the components log in at {}",
                    shared.issuer_url
                ),
            )
            .set_hint(format!(
                "if both are the same Keycloak, set keycloack.issuer_url to {issuer}"
            ));
    }
    Some(KeycloakAdmin {
        url,
        realm,
        client_id,
        client_secret_file: k
            .client_secret_file
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(std::path::PathBuf::from),
        invite_lifespan,
        per_workspace_clients,
    })
}

/// Quotas, network policies, pod security and member access.
fn tenancy(
    issues: &mut Issues,
    root: &FieldPath,
    c: &ClusterConfig,
    ingress: &IngressController,
) -> Tenancy {
    let default_ingress_namespace = match ingress {
        IngressController::Nginx { .. } => "ingress-nginx",
        IngressController::Traefik { .. } => "traefik",
    };
    let mut namespace = |field: &str, value: &Option<String>, default: &str| {
        let name = value.clone().unwrap_or_else(|| default.to_string());
        issues.check(&root.key(field), name.parse::<crate::names::DnsLabel>());
        name
    };
    let ingress_namespace = namespace(
        "ingress_namespace",
        &c.ingress_namespace,
        default_ingress_namespace,
    );
    let minio_operator_namespace = namespace(
        "minio_operator_namespace",
        &c.minio_operator_namespace,
        "minio-operator",
    );
    for (i, cidr) in c.egress_allow.iter().enumerate() {
        if let Err(e) = check_cidr(cidr) {
            issues
                .error(root.key("egress_allow").index(i), e)
                .set_hint("write an address block such as 10.0.0.5/32 or 2001:db8::/64");
        }
    }
    let egress = match c.egress.as_deref() {
        None | Some("open") => {
            if !c.egress_allow.is_empty() {
                issues
                    .warning(
                        root.key("egress_allow"),
                        "ignored: egress is open, so pods may reach any address",
                    )
                    .set_hint("add egress: restricted to limit pods to these addresses");
            }
            Egress::Open
        }
        Some("restricted") => {
            if c.egress_allow.is_empty() {
                issues
                    .error(
                        root.key("egress_allow"),
                        "egress: restricted needs egress_allow: the hub and the OAuth2 proxy must reach Keycloak, and the hub the API server",
                    )
                    .set_hint("list the address blocks of the Keycloak issuer and the API server, e.g. [10.0.0.5/32, 10.0.0.1/32]");
            }
            Egress::Restricted {
                allow: c.egress_allow.clone(),
            }
        }
        Some(other) => {
            let known = ["open", "restricted"].map(String::from);
            let hint = match load::did_you_mean(other, &known) {
                Some(s) => format!("did you mean {s:?}?"),
                None => "use open or restricted".to_string(),
            };
            issues
                .error(
                    root.key("egress"),
                    format!("{other:?} is not an egress mode"),
                )
                .set_hint(hint);
            Egress::Open
        }
    };
    let privileged_workspaces = match &c.privileged_workspaces {
        None => true,
        Some(b) => b.parse().unwrap_or_else(|| {
            issues
                .error(
                    root.key("privileged_workspaces"),
                    format!("{} is not a boolean", b.shown()),
                )
                .set_hint("write true or false");
            true
        }),
    };
    let oidc_groups_prefix = c
        .oidc_groups_prefix
        .clone()
        .unwrap_or_else(|| "oidc:".to_string());
    if oidc_groups_prefix
        .chars()
        .any(|ch| ch.is_whitespace() || ch.is_control())
    {
        issues
            .error(
                root.key("oidc_groups_prefix"),
                format!("{oidc_groups_prefix:?} contains white space or control characters"),
            )
            .set_hint("write the API server's --oidc-groups-prefix, e.g. \"oidc:\"");
    }
    if let Some(id) = &c.kubectl_client_id
        && id.chars().any(|ch| ch.is_whitespace() || ch.is_control())
    {
        issues.error(
            root.key("kubectl_client_id"),
            format!("{id:?} contains white space or control characters"),
        );
    }
    Tenancy {
        ingress_namespace,
        minio_operator_namespace,
        egress,
        privileged_workspaces,
        oidc_groups_prefix,
        kubectl_client_id: c.kubectl_client_id.clone(),
    }
}

/// An IPv4 or IPv6 address block: `address/prefix`, the prefix within the family's
/// width, no host bits set (the API server refuses `10.0.0.5/24`).
fn check_cidr(cidr: &str) -> Result<(), String> {
    let (address, prefix) = cidr
        .split_once('/')
        .ok_or_else(|| format!("{cidr:?} is not an address block: the /prefix is missing"))?;
    let address: std::net::IpAddr = address
        .parse()
        .map_err(|_| format!("{address:?} is not an IP address"))?;
    let width = if address.is_ipv4() { 32 } else { 128 };
    let prefix: u32 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= width)
        .ok_or_else(|| format!("{prefix:?} is not a prefix length from 0 to {width}"))?;
    let bits: u128 = match address {
        std::net::IpAddr::V4(a) => u128::from(u32::from(a)),
        std::net::IpAddr::V6(a) => u128::from(a),
    };
    let host_bits = width - prefix;
    if host_bits > 0 && bits & ((1u128 << host_bits) - 1) != 0 {
        return Err(format!(
            "{cidr:?} has host bits set: the block starts at a lower address"
        ));
    }
    Ok(())
}

/// The central MinIO of environment files: all four settings, or none.
fn env_store(issues: &mut Issues, root: &FieldPath, c: &ClusterConfig) -> Option<EnvStore> {
    let text = |t: &Option<Text>| t.as_ref().map(|t| t.text.clone()).filter(|t| !t.is_empty());
    let fields = [
        ("minio_url", c.minio_url.clone()),
        ("minio_access_key", text(&c.minio_access_key)),
        ("minio_secret_key", text(&c.minio_secret_key)),
        ("bucket_name", c.bucket_name.clone()),
    ];
    if fields.iter().all(|(_, v)| v.is_none()) {
        return None;
    }
    let mut ok = true;
    for (field, value) in &fields {
        if value.is_none() {
            ok = false;
            issues
                .error(
                    root.key(*field),
                    format!("{field} is missing: the central MinIO of environment files needs minio_url, minio_access_key, minio_secret_key and bucket_name"),
                )
                .set_hint(format!("add {field}, or remove the other three"));
        }
    }
    if let Some(u) = &c.minio_url {
        url(issues, root.key("minio_url"), u);
    }
    if let Some(b) = &c.bucket_name {
        issues.check(&root.key("bucket_name"), b.parse::<DnsSubdomain>());
    }
    let get = |i: usize| fields[i].1.clone().unwrap_or_default();
    ok.then(|| EnvStore {
        url: get(0).trim_end_matches('/').to_string(),
        access_key: get(1),
        secret_key: get(2),
        bucket: get(3),
    })
}

/// A port range too small for the group: reported on the cluster config's `port_range`.
pub(crate) fn port_range_issue(range: (u16, u16), users: usize) -> Option<Issue> {
    let size = usize::from(range.1 - range.0) + 1;
    (size < users).then(|| {
        Issue::error(
            FieldPath::root().key("port_range"),
            format!(
                "the range {}-{} has {size} ports, too few for the group's {users} users (one SSH port each)",
                range.0, range.1
            ),
        )
        .hint(format!(
            "widen it to at least [{}, {}]",
            range.0,
            u32::from(range.0) + users as u32 - 1
        ))
    })
}
