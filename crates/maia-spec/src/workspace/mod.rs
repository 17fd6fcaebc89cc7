//! A MAIA workspace: the group form, the cluster config and the MAIA config, checked
//! and combined into one [`WorkspaceSpec`] that the render layer turns into a bundle.
//!
//! The raw serde models of the three files and their validation live in
//! `workspace/{group,cluster,maia}.rs`; this module holds the validated types every
//! component renders from.

use crate::names::DnsLabel;
use crate::quantity::Quantity;

pub mod cluster;
pub mod group;
pub mod load;
pub mod maia;

pub use load::{LoadedWorkspace, load};

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
    pub resources: ResourceLimits,
    /// GPUs per user workspace (`gpu_request`), when the group asks for them.
    pub gpus: Option<u32>,
    /// MAIA workspace image tag (form's `maia_workspace_version`, else the MAIA config's).
    pub workspace_version: String,
    /// `private_hub` in the form.
    pub private_hub: bool,
    /// `minio_env_name` in the form: an environment file (a conda `environment.yml` or pip
    /// requirements) in the central MinIO's bucket, or a local path.
    pub minio_env_name: Option<String>,
    pub cluster: ClusterSpec,
    pub maia: MaiaSettings,
    /// Only namespace, pull secret, shared PVC, SSH Services and JupyterHub.
    pub minimal: bool,
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

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceLimits {
    pub memory_guarantee: Quantity,
    pub memory_limit: Quantity,
    pub cpu_guarantee: f64,
    pub cpu_limit: f64,
}

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
    Nginx { cluster_issuer: String },
    /// Traefik with an ACME resolver (`traefik_resolver`).
    Traefik { resolver: String },
}

/// How users reach their workspace over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshExposure {
    NodePort,
    LoadBalancer {
        /// `maia_metallb_ip`: the address every SSH Service shares.
        ip: String,
        /// `metallb_ip_pool`
        pool: Option<String>,
        /// `metallb_shared_ip`: the sharing key (`metallb.universe.tf/allow-shared-ip`).
        shared_ip: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub server: String,
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keycloak {
    pub client_id: String,
    pub client_secret: String,
    pub issuer_url: String,
    pub authorize_url: String,
    pub token_url: String,
    pub userdata_url: String,
    /// `insecure_skip_verify`: the OAuth2 proxy does not check Keycloak's certificate.
    pub insecure_skip_verify: bool,
}

/// The cluster config, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    pub registry: Option<Registry>,
    /// Name of the image-pull Secret (`imagePullSecrets`).
    pub pull_secret: String,
    pub storage_class: Option<String>,
    /// `shared_storage_class`, else `storage_class`.
    pub shared_storage_class: Option<String>,
    /// `hub_storage_class`, else `storage_class`.
    pub hub_storage_class: Option<String>,
    pub ingress: IngressController,
    /// `ingress_class`, when the cluster config names one (see [`ClusterSpec::ingress_class`]).
    pub ingress_class: Option<String>,
    pub url_type: UrlType,
    pub domain: String,
    pub admins: Vec<String>,
    pub ssh: SshExposure,
    pub ssh_hostname: String,
    /// Inclusive range SSH ports are drawn from.
    pub port_range: (u16, u16),
    /// Required by every component but the minimal set's SSH Services.
    pub keycloak: Option<Keycloak>,
    /// Custom JupyterHub image (`hub_image`, `hub_tag`).
    pub hub_image: Option<(String, String)>,
    pub base_url: Option<String>,
    /// The central MinIO of environment files (`minio_url`, keys, `bucket_name`).
    pub env_store: Option<EnvStore>,
}

/// Where groups' environment files are kept (a bucket of a central MinIO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvStore {
    /// `http(s)://host[:port]`, without a trailing '/'.
    pub url: String,
    pub access_key: String,
    pub secret_key: String,
    pub bucket: String,
}

/// Images and chart versions (the MAIA config); built-in defaults, overridable by file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaiaSettings {
    pub workspace_image: String,
    pub workspace_version: String,
    pub nginx_proxy_image: String,
    pub orthanc_ohif_image: String,
    pub orthanc_ohif_tag: String,
    pub filebrowser_image: String,
    pub jupyterhub_chart_version: String,
    pub oauth2_proxy_chart_version: String,
    pub label_studio_chart_version: String,
    pub kubeflow_pipelines_version: String,
    pub minio_setup_image: String,
    pub mysql_image: String,
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

/// JupyterHub's escaping of a user name (kubespawner "safe" escaping as MAIA uses it):
/// `-` → `-2d`, `@` → `-40`, `.` → `-2e`.
pub fn jupyterhub_user(email: &str) -> String {
    let mut out = String::with_capacity(email.len() + 8);
    for c in email.chars() {
        match c {
            '-' => out.push_str("-2d"),
            '@' => out.push_str("-40"),
            '.' => out.push_str("-2e"),
            c => out.push(c),
        }
    }
    out
}

/// Test and example fixtures: small builders for specs.
pub mod fixtures {
    use super::*;

    impl WorkspaceSpec {
        /// A full workspace on an NGINX cluster with subdomain URLs and NodePort SSH.
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

        pub fn with_gpu(mut self, gpus: u32) -> Self {
            self.gpus = Some(gpus);
            self
        }

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
    fn jupyterhub_escapes_like_kubespawner() {
        assert_eq!(
            jupyterhub_user("bob.smith-x@example.org"),
            "bob-2esmith-2dx-40example-2eorg"
        );
    }

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
