//! A MAIA workspace: the group form, the cluster config and the MAIA config, checked
//! and combined into one [`WorkspaceSpec`] that the render layer turns into a bundle.
//!
//! The raw serde models of the three files and their validation live in
//! `workspace/{group,cluster,maia}.rs`; this module holds the validated types every
//! component renders from.

use crate::names::DnsLabel;
use crate::quantity::Quantity;

pub mod cluster;
pub(crate) mod group;
pub mod load;
pub(crate) mod maia;
pub mod member;

pub use load::{LoadedWorkspace, load};
pub use member::{jupyterhub_user, member_email, member_name};

/// Everything one group gets, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceSpec {
    /// `group_ID` as written in the form (e.g. `Brain_MRI`).
    pub group_id: String,
    /// The namespace: `group_ID` lower-cased with `_` → `-`.
    pub namespace: DnsLabel,
    /// `group_subdomain` (or `namespace_hub_address`); defaults to the namespace.
    pub subdomain: DnsLabel,
    /// Members' e-mails, in form order.
    pub users: Vec<String>,
    /// Memory and CPU of each member's workspace (`resources_limits`).
    pub resources: ResourceLimits,
    /// GPUs per user workspace (`gpu_request`), when the group asks for them.
    pub gpus: Option<u32>,
    /// MAIA workspace image tag (form's `maia_workspace_version`, else the MAIA config's).
    pub workspace_version: String,
    /// `private_hub` in the form: the hub runs MAIA's private hub image, unless the
    /// cluster config names a `hub_image`.
    pub private_hub: bool,
    /// `minio_env_name` in the form: an environment file (a conda `environment.yml` or pip
    /// requirements) in the central MinIO's bucket, or a local path.
    pub minio_env_name: Option<String>,
    /// The cluster the workspace is deployed to (the cluster config).
    pub cluster: ClusterSpec,
    /// Images and chart versions (the MAIA config over the built-in defaults).
    pub maia: MaiaSettings,
    /// Only namespace, pull secret, shared PVC, SSH Services and JupyterHub.
    pub minimal: bool,
    /// The form's `quota`: what the group may use at most, per resource; a resource
    /// left out gets the default computed from what maia renders.
    pub quota: QuotaRequest,
}

/// The group form's `quota`. Each field left out is computed by the render layer
/// (the sum of the workspace's own requests), so the workspace always fits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuotaRequest {
    /// `quota.cpu`: CPUs requested by all pods together.
    pub cpu: Option<Quantity>,
    /// `quota.memory`: memory requested by all pods together.
    pub memory: Option<Quantity>,
    /// `quota.gpu`: GPUs (`nvidia.com/gpu`) requested by all pods together.
    pub gpu: Option<u32>,
    /// `quota.storage`: storage requested by all volume claims together.
    pub storage: Option<Quantity>,
    /// `quota.pvcs`: the number of volume claims.
    pub pvcs: Option<u32>,
}

/// Traffic leaving a workspace's pods (`egress` in the cluster config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Egress {
    /// Pods may reach anything (the default).
    Open,
    /// Pods may reach only their own namespace, the cluster DNS and these CIDRs
    /// (`egress_allow`: the Keycloak issuer, the registry, the API server).
    Restricted {
        /// `egress_allow`: the address blocks pods may reach, e.g. `10.0.0.5/32`.
        allow: Vec<String>,
    },
}

/// How one workspace is kept apart from the others (cluster config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenancy {
    /// `ingress_namespace`: where the ingress controller runs (default `ingress-nginx`
    /// on NGINX clusters, `traefik` on Traefik ones).
    pub ingress_namespace: String,
    /// `minio_operator_namespace`: where the MinIO Operator runs (default `minio-operator`).
    pub minio_operator_namespace: String,
    /// `egress`, default open.
    pub egress: Egress,
    /// `privileged_workspaces`, default true (as the original): members' workspaces
    /// run privileged, so the namespace can only enforce the `privileged` level.
    pub privileged_workspaces: bool,
    /// `oidc_groups_prefix`, default `oidc:`: the API server's `--oidc-groups-prefix`,
    /// put before `MAIA:<group_ID>` in the members' RoleBinding.
    pub oidc_groups_prefix: String,
    /// `kubectl_client_id`: the OIDC client members' kubectl logs in with (default the
    /// Keycloak `client_id`).
    pub kubectl_client_id: Option<String>,
}

impl WorkspaceSpec {
    /// Keycloak group of the members: `MAIA:<group_ID>`.
    pub fn keycloak_group(&self) -> String {
        format!("MAIA:{}", self.group_id)
    }

    /// Host every workspace URL lives on: `<subdomain>.<domain>`, or `<domain>` for `subpath`.
    pub fn hub_host(&self) -> String {
        match self.cluster.url_type {
            UrlType::Subdomain => format!("{}.{}", self.subdomain, self.cluster.domain),
            UrlType::Subpath => self.cluster.domain.clone(),
        }
    }

    /// Path segment of a workspace service (`mlflow`, `minio-console`, …): as is for
    /// `subdomain`, prefixed `<namespace>-` for `subpath` (where hosts are shared).
    pub fn service_path(&self, service: &str) -> String {
        match self.cluster.url_type {
            UrlType::Subdomain => service.to_string(),
            UrlType::Subpath => format!("{}-{service}", self.namespace),
        }
    }

    /// `https://<hub host>/<service path>`.
    pub fn service_url(&self, service: &str) -> String {
        format!("https://{}/{}", self.hub_host(), self.service_path(service))
    }
}

/// Memory and CPU of each member's workspace: the form's `resources_limits`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceLimits {
    /// `memory[0]`: memory the workspace is guaranteed.
    pub memory_guarantee: Quantity,
    /// `memory[1]`: memory the workspace may use at most.
    pub memory_limit: Quantity,
    /// `cpu[0]`: CPUs guaranteed (`"500m"` is 0.5); at most `cpu_limit`.
    pub cpu_guarantee: f64,
    /// `cpu[1]`: CPUs the workspace may use at most.
    pub cpu_limit: f64,
}

/// Where a group's services live (`url_type` in the cluster config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlType {
    /// Each group on its own host: `<subdomain>.<domain>`.
    Subdomain,
    /// All groups on `<domain>`, each service under `/<namespace>-<service>`.
    Subpath,
}

/// The cluster's ingress controller and how it gets certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngressController {
    /// NGINX with cert-manager (`nginx_cluster_issuer`).
    Nginx {
        /// The cert-manager ClusterIssuer of every certificate.
        cluster_issuer: String,
    },
    /// Traefik with an ACME resolver (`traefik_resolver`).
    Traefik {
        /// The ACME certificate resolver every router names.
        resolver: String,
    },
}

/// How users reach their workspace over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshExposure {
    /// Each member's SSH Service is a NodePort Service whose node port is their SSH
    /// port (the default).
    NodePort,
    /// Each member's SSH Service is a MetalLB LoadBalancer Service on their SSH port,
    /// all on one shared address (`ssh_port_type: LoadBalancer`).
    LoadBalancer {
        /// `maia_metallb_ip`: the address every SSH Service shares.
        ip: String,
        /// `metallb_ip_pool`
        pool: Option<String>,
        /// `metallb_shared_ip`: the sharing key (`metallb.universe.tf/allow-shared-ip`).
        shared_ip: Option<String>,
    },
}

/// The private registry of the MAIA images, for the image-pull Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// `docker_server`: the registry's host.
    pub server: String,
    /// `docker_username`.
    pub username: String,
    /// `docker_password`.
    pub password: String,
}

/// The Keycloak client of the MAIA realm (`keycloack` in the cluster config). A
/// setting the install does not need (`--minimal` needs only JupyterHub's) may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keycloak {
    /// OIDC client ID.
    pub client_id: String,
    /// OIDC client secret.
    pub client_secret: String,
    /// Issuer URL of the realm (the OAuth2 proxy and MinIO).
    pub issuer_url: String,
    /// Authorization endpoint (JupyterHub).
    pub authorize_url: String,
    /// Token endpoint (JupyterHub).
    pub token_url: String,
    /// User-info endpoint (JupyterHub).
    pub userdata_url: String,
    /// `insecure_skip_verify`: the OAuth2 proxy does not check Keycloak's certificate.
    pub insecure_skip_verify: bool,
}

/// `keycloak_admin`: maia's access to Keycloak's admin API (see the cluster config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeycloakAdmin {
    /// Keycloak's base URL, without a trailing '/'.
    pub url: String,
    /// The realm of the workspaces' users, groups and clients.
    pub realm: String,
    /// The admin client's ID.
    pub client_id: String,
    /// The file holding the admin client's secret; `None`: `MAIA_KEYCLOAK_ADMIN_SECRET`.
    pub client_secret_file: Option<std::path::PathBuf>,
    /// How long an invitation link is valid, in seconds.
    pub invite_lifespan: u64,
    /// Each workspace gets its own clients instead of the shared one.
    pub per_workspace_clients: bool,
}

/// `portal`: where `maia serve` is reached and its own OIDC client (see the cluster
/// config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portal {
    /// The public URL, `https://HOST[:PORT]` (plain http only for loopback), without a
    /// trailing '/'.
    pub url: String,
    /// The URL's host, lower case (the Ingress's host).
    pub host: String,
    /// The portal's OIDC client ID.
    pub client_id: String,
    /// The file holding the client's secret; `None`: `MAIA_PORTAL_CLIENT_SECRET`.
    pub client_secret_file: Option<std::path::PathBuf>,
}

/// The cluster config, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    /// `docker_server`, `docker_username`, `docker_password`; `None` when the images are
    /// public (then no image-pull Secret is made).
    pub registry: Option<Registry>,
    /// Name of the image-pull Secret (`imagePullSecrets`).
    pub pull_secret: String,
    /// `storage_class` of the volumes; `None` means the cluster default.
    pub storage_class: Option<String>,
    /// `shared_storage_class`, else `storage_class`.
    pub shared_storage_class: Option<String>,
    /// `hub_storage_class`, else `storage_class`.
    pub hub_storage_class: Option<String>,
    /// The ingress controller (`nginx_cluster_issuer` or `traefik_resolver`).
    pub ingress: IngressController,
    /// `ingress_class`, when the cluster config names one (see [`ClusterSpec::ingress_class`]).
    pub ingress_class: Option<String>,
    /// `url_type`, default `subdomain`.
    pub url_type: UrlType,
    /// `domain`: the cluster's DNS domain.
    pub domain: String,
    /// `admins`: e-mails of the hub administrators.
    pub admins: Vec<String>,
    /// `ssh_port_type`, default `NodePort`.
    pub ssh: SshExposure,
    /// `ssh_hostname`, default `domain`: the host members give `ssh`.
    pub ssh_hostname: String,
    /// Inclusive range SSH ports are drawn from.
    pub port_range: (u16, u16),
    /// Required by every component but the minimal set's SSH Services.
    pub keycloak: Option<Keycloak>,
    /// Custom JupyterHub image (`hub_image`, `hub_tag`).
    pub hub_image: Option<(String, String)>,
    /// Quotas, network policies, pod security and member access settings.
    pub tenancy: Tenancy,
    /// `base_url`: the hub's base URL path (`hub.baseUrl`), instead of the default
    /// (none for `subdomain`, `/<group_subdomain>-hub` for `subpath`).
    pub base_url: Option<String>,
    /// The central MinIO of environment files (`minio_url`, keys, `bucket_name`).
    pub env_store: Option<EnvStore>,
    /// `keycloak_admin`: maia keeps Keycloak's group, members and clients.
    pub keycloak_admin: Option<KeycloakAdmin>,
    /// `portal`: the self-service portal (`maia serve`).
    pub portal: Option<Portal>,
}

/// Where groups' environment files are kept (a bucket of a central MinIO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvStore {
    /// `http(s)://host[:port]`, without a trailing '/'.
    pub url: String,
    /// `minio_access_key`.
    pub access_key: String,
    /// `minio_secret_key`.
    pub secret_key: String,
    /// `bucket_name`: the bucket holding the environment files.
    pub bucket: String,
}

/// Images and chart versions (the MAIA config); built-in defaults, overridable by file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaiaSettings {
    /// `maia_workspace_image`: repository of the members' workspace image, without tag.
    pub workspace_image: String,
    /// `maia_workspace_version`: the workspace image's tag when the form gives none.
    pub workspace_version: String,
    /// `nginx_proxy_image`: the proxy in front of MinIO, MLflow, Label Studio and
    /// KubeFlow (with tag).
    pub nginx_proxy_image: String,
    /// `orthanc_ohif.image`: the Orthanc + OHIF + MONAI Label image, without tag.
    pub orthanc_ohif_image: String,
    /// `orthanc_ohif.tag`.
    pub orthanc_ohif_tag: String,
    /// `filebrowser_image` (with tag).
    pub filebrowser_image: String,
    /// `jupyterhub_chart_version`: version of the jupyterhub/jupyterhub chart.
    pub jupyterhub_chart_version: String,
    /// `oauth2_proxy_chart_version`: version of the oauth2-proxy/oauth2-proxy chart.
    pub oauth2_proxy_chart_version: String,
    /// `label_studio_chart_version`: version of the heartex/label-studio chart.
    pub label_studio_chart_version: String,
    /// `kubeflow_pipelines_version`: the KubeFlow Pipelines release (`?ref=`) applied.
    pub kubeflow_pipelines_version: String,
    /// `minio_setup_image`: the MinIO client (`mc`) image of the setup Job (with tag).
    pub minio_setup_image: String,
    /// `mysql_image`: MLflow's database (with tag).
    pub mysql_image: String,
    /// `mlflow_image` (with tag).
    pub mlflow_image: String,
}

impl Default for MaiaSettings {
    fn default() -> Self {
        MaiaSettings {
            workspace_image:
                "registry.maia.cloud.cbh.kth.se/maia/maia-workspace-notebook-ssh-addons".into(),
            workspace_version: "2.0".into(),
            nginx_proxy_image: "registry.maia.cloud.cbh.kth.se/maia/nginx-proxy:1.0".into(),
            orthanc_ohif_image: "registry.maia.cloud.cbh.kth.se/maia/monai-label-ohif-maia".into(),
            orthanc_ohif_tag: "1.0".into(),
            filebrowser_image: "filebrowser/filebrowser:v2.31.2".into(),
            jupyterhub_chart_version: "3.1.0".into(),
            oauth2_proxy_chart_version: "7.7.1".into(),
            label_studio_chart_version: "1.4.0".into(),
            kubeflow_pipelines_version: "2.2.0".into(),
            minio_setup_image: "quay.io/minio/mc:RELEASE.2024-06-12T14-34-03Z".into(),
            mysql_image: "mysql:8.0.28".into(),
            // The public image maia-toolkit 1.0.7 deployed: no pull secret needed.
            mlflow_image: "kthcloud/mlflow:1.1".into(),
        }
    }
}

impl ClusterSpec {
    /// The IngressClass every Ingress names: `ingress_class`, else the controller's
    /// usual class (`nginx`, `traefik`). Without one, a cluster with no default
    /// IngressClass ignores the Ingress.
    pub fn ingress_class(&self) -> &str {
        match (&self.ingress_class, &self.ingress) {
            (Some(class), _) => class,
            (None, IngressController::Nginx { .. }) => "nginx",
            (None, IngressController::Traefik { .. }) => "traefik",
        }
    }
}

/// Test fixtures: small builders for specs, for this crate's tests and, with the
/// `testing` feature, other crates' tests.
#[cfg(any(test, feature = "testing"))]
mod fixtures {
    use super::*;

    impl WorkspaceSpec {
        /// A full workspace on an NGINX cluster with subdomain URLs and NodePort SSH.
        // reason: every name and quantity parsed here is a literal that is valid; a
        // panic would be a broken fixture, and fixtures only run in tests.
        #[allow(clippy::expect_used)]
        pub fn test() -> Self {
            WorkspaceSpec {
                group_id: "Brain_MRI".into(),
                namespace: "brain-mri".parse().expect("valid"),
                subdomain: "brain-mri".parse().expect("valid"),
                users: vec!["alice@example.org".into(), "bob.smith@example.org".into()],
                resources: ResourceLimits {
                    memory_guarantee: "4G".parse().expect("valid"),
                    memory_limit: "8G".parse().expect("valid"),
                    cpu_guarantee: 4.0,
                    cpu_limit: 4.0,
                },
                gpus: None,
                workspace_version: "2.0".into(),
                private_hub: false,
                minio_env_name: None,
                quota: QuotaRequest::default(),
                cluster: ClusterSpec {
                    registry: Some(Registry {
                        server: "registry.example.org".into(),
                        username: "maia".into(),
                        password: "registry-password".into(),
                    }),
                    pull_secret: "maia-docker-registry-secret".into(),
                    storage_class: Some("local-path".into()),
                    shared_storage_class: Some("nfs-client".into()),
                    hub_storage_class: Some("local-path".into()),
                    ingress_class: None,
                    ingress: IngressController::Nginx {
                        cluster_issuer: "cluster-issuer".into(),
                    },
                    url_type: UrlType::Subdomain,
                    domain: "maia.example.org".into(),
                    admins: vec!["admin@example.org".into()],
                    ssh: SshExposure::NodePort,
                    ssh_hostname: "ssh.maia.example.org".into(),
                    port_range: (30100, 30199),
                    keycloak: Some(Keycloak {
                        client_id: "maia".into(),
                        client_secret: "keycloak-client-secret".into(),
                        issuer_url: "https://iam.example.org/realms/maia".into(),
                        authorize_url:
                            "https://iam.example.org/realms/maia/protocol/openid-connect/auth"
                                .into(),
                        token_url:
                            "https://iam.example.org/realms/maia/protocol/openid-connect/token"
                                .into(),
                        userdata_url:
                            "https://iam.example.org/realms/maia/protocol/openid-connect/userinfo"
                                .into(),
                        insecure_skip_verify: false,
                    }),
                    hub_image: None,
                    base_url: None,
                    env_store: None,
                    keycloak_admin: None,
                    portal: None,
                    tenancy: Tenancy {
                        ingress_namespace: "ingress-nginx".into(),
                        minio_operator_namespace: "minio-operator".into(),
                        egress: Egress::Open,
                        privileged_workspaces: true,
                        oidc_groups_prefix: "oidc:".into(),
                        kubectl_client_id: None,
                    },
                },
                maia: MaiaSettings::default(),
                minimal: false,
            }
        }

        /// The same group on a Traefik cluster with subpath URLs and MetalLB SSH.
        pub fn with_traefik_subpath_loadbalancer(mut self) -> Self {
            self.cluster.ingress = IngressController::Traefik {
                resolver: "letsencrypt".into(),
            };
            self.cluster.url_type = UrlType::Subpath;
            self.cluster.ssh = SshExposure::LoadBalancer {
                ip: "192.0.2.10".into(),
                pool: Some("maia-pool".into()),
                shared_ip: Some("maia-ssh".into()),
            };
            self.cluster.port_range = (2022, 2122);
            self
        }

        /// The same group asking for `gpus` GPUs per member's workspace.
        pub fn with_gpu(mut self, gpus: u32) -> Self {
            self.gpus = Some(gpus);
            self
        }

        /// The same group with the `--minimal` install (namespace, SSH and JupyterHub).
        pub fn minimal(mut self) -> Self {
            self.minimal = true;
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_url_type() {
        let s = WorkspaceSpec::test();
        assert_eq!(s.hub_host(), "brain-mri.maia.example.org");
        assert_eq!(
            s.service_url("mlflow"),
            "https://brain-mri.maia.example.org/mlflow"
        );
        let s = s.with_traefik_subpath_loadbalancer();
        assert_eq!(s.hub_host(), "maia.example.org");
        assert_eq!(
            s.service_url("mlflow"),
            "https://maia.example.org/brain-mri-mlflow"
        );
    }
}
