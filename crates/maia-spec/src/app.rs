//! The custom application config (the JSON file of the original
//! `MAIA_deploy_helm_chart`) and its validated form, [`AppSpec`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, Issue, Issues};
use crate::duration::allocation_seconds;
use crate::error::SpecError;
use crate::load::{self, ConfigFile, LoadOptions, Parsed};
use crate::loose::{StringOrBool, StringOrNumber, Text};
use crate::names::{Dns1035Label, DnsLabel, DnsSubdomain, PortName, suggest_label};
use crate::path::FieldPath;
use crate::quantity::Quantity;
use crate::source::SourceFile;

/// A researcher's application: which image to run, with which resources, ports,
/// volumes and ingress. Field names are those of the original toolkit.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(title = "maia app config")]
pub(crate) struct AppConfig {
    /// Namespace to deploy into (a DNS-1123 label).
    pub namespace: String,
    /// Release name; objects are named `<chart_name>-mkg`.
    pub chart_name: String,
    /// Container image repository, without the tag.
    pub docker_image: String,
    /// Image tag (default `latest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Kubeconfig context names to deploy to; empty means the current context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    /// Memory request and limit (a Kubernetes quantity, e.g. `4Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_request: Option<StringOrNumber>,
    /// CPU request and limit (a Kubernetes quantity, e.g. `500m` or `2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_request: Option<StringOrNumber>,
    /// Number of NVIDIA GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_request: Option<StringOrNumber>,
    /// How long a Job may run: a number of days, or `45s`, `30m`, `12h`, `180d`.
    #[serde(
        rename = "allocationTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allocation_time: Option<StringOrNumber>,
    /// Service ports: `{name: [port]}` or `{name: [port, nodePort]}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub ports: IndexMap<String, Vec<StringOrNumber>>,
    /// `ClusterIP` (default), `NodePort` or `LoadBalancer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// New volumes, one PersistentVolumeClaim each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persistent_volume: Vec<PersistentVolumeConfig>,
    /// Existing PersistentVolumeClaims to mount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub existing_persistent_volume: Vec<ExistingVolumeConfig>,
    /// Local files to mount: `{key: [local_path, mount_path, "readOnly"?]}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub mount_files: IndexMap<String, Vec<String>>,
    /// Run on this node (`kubernetes.io/hostname`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<String>,
    /// Run on nodes with this GPU model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_selector: Option<GpuSelectorConfig>,
    /// Expose a port over HTTPS, behind the group's login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressConfig>,
    /// Environment variables, in file order.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env_variables: IndexMap<String, Text>,
    /// `true` runs a Deployment (1 replica); otherwise a Job limited by `allocationTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<StringOrBool>,
    /// Container command (replaces the image's entrypoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Container arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Secret holding registry credentials for a private image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secret: Option<String>,
    /// Secrets holding user accounts (`user`, `password`, `ssh_publickey`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_secret: Vec<String>,
    /// Keys read from each user secret into the environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_secret_params: Vec<String>,
}

impl ConfigFile for AppConfig {
    const KIND: &'static str = "app config";
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct PersistentVolumeConfig {
    /// Where the volume is mounted in the container.
    #[serde(rename = "mountPath")]
    pub mount_path: String,
    /// Requested size (a quantity, e.g. `100Gi`).
    pub size: StringOrNumber,
    /// `ReadWriteOnce`, `ReadOnlyMany`, `ReadWriteMany` or `ReadWriteOncePod`.
    pub access_mode: String,
    /// Storage class (`kubectl get sc`); absent = the cluster default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_type: Option<String>,
    /// Mount read-only.
    #[serde(rename = "readOnly", default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<StringOrBool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct ExistingVolumeConfig {
    /// Name of the existing PersistentVolumeClaim.
    pub name: String,
    #[serde(rename = "mountPath")]
    pub mount_path: String,
    #[serde(rename = "readOnly", default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<StringOrBool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct GpuSelectorConfig {
    /// GPU model as labelled by NVIDIA GPU feature discovery (`nvidia.com/gpu.product`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub(crate) struct IngressConfig {
    /// Public host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Service port to expose (one of `ports`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<StringOrNumber>,
    /// URL path prefix (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// NGINX: host of the group's OAuth2 proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_url: Option<String>,
    /// NGINX: cert-manager ClusterIssuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx_issuer: Option<String>,
    /// Traefik: middleware (the group's OAuth2 forward-auth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traefik_middleware: Option<String>,
    /// Traefik: certificate resolver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traefik_resolver: Option<String>,
}

// ---------------------------------------------------------------------------
// The validated spec.

/// A checked application, ready to render. Every name in it is valid for
/// Kubernetes; every field follows from the app config as the comments say.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    /// `namespace`: where every object of the app goes.
    pub namespace: DnsLabel,
    /// `chart_name`: the release, and the `app` label.
    pub release: DnsLabel,
    /// `<release>-mkg`: the name of the workload, Service and the prefix of the rest.
    pub full_name: Dns1035Label,
    /// The container image, `<docker_image>:<tag>`.
    pub image: String,
    /// `docker_image`: the repository without the tag.
    pub image_repository: String,
    /// `tag`, default `latest`.
    pub image_tag: String,
    /// `clusters`: kubeconfig context names to deploy to; empty means the current context.
    pub clusters: Vec<String>,
    /// `memory_request`: the container's memory request and limit.
    pub memory: Option<Quantity>,
    /// `cpu_request`: the container's CPU request and limit.
    pub cpu: Option<Quantity>,
    /// `gpu_request`: NVIDIA GPUs (`nvidia.com/gpu` limit); 0 when absent, and then the
    /// container sees no GPU (`NVIDIA_VISIBLE_DEVICES=""`).
    pub gpus: u64,
    /// Job or Deployment, from `deployment` and `allocationTime`.
    pub workload: Workload,
    /// Seconds from `allocationTime` (also kept for a Deployment, for the compat values).
    pub allocation_seconds: Option<i64>,
    /// The Service of `ports`; `None` when no port is listed.
    pub service: Option<ServiceSpec>,
    /// `persistent_volume`: new claims, one per entry, in file order.
    pub volumes: Vec<VolumeSpec>,
    /// `existing_persistent_volume`: claims that exist already, in file order.
    pub existing_volumes: Vec<ExistingVolumeSpec>,
    /// `mount_files`: the ConfigMap of local files and where each is mounted.
    pub mount_files: Option<MountFiles>,
    /// `node_selector`: the node (`kubernetes.io/hostname`) the pod must run on.
    pub node_name: Option<String>,
    /// `gpu_selector.product`: the GPU model (`nvidia.com/gpu.product`) the node must have.
    pub gpu_product: Option<String>,
    /// `ingress`: the port published over HTTPS.
    pub ingress: Option<IngressSpec>,
    /// `env_variables` as `(name, value)`, in file order.
    pub env: Vec<(String, String)>,
    /// `command`: replaces the image's entrypoint.
    pub command: Option<Vec<String>>,
    /// `args`: the container's arguments.
    pub args: Option<Vec<String>>,
    /// `image_pull_secret`: the Secret with the registry credentials.
    pub image_pull_secret: Option<DnsSubdomain>,
    /// `user_secret`: Secrets holding user accounts, read into the environment.
    pub user_secrets: Vec<DnsSubdomain>,
    /// `user_secret_params`: the keys read from each user secret (see [`user_secret_env`]).
    pub user_secret_params: Vec<String>,
    /// Environment variables read from Secrets (`valueFrom.secretKeyRef`). App configs
    /// cannot set these; workspace components built in code (MySQL, MLflow) use them so
    /// no password is ever a literal env value.
    pub secret_env: Vec<SecretEnv>,
}

/// An environment variable taken from a key of a Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEnv {
    /// The variable's name.
    pub name: String,
    /// The Secret it is read from, in the app's namespace.
    pub secret: String,
    /// The key of the Secret holding the value.
    pub key: String,
}

/// What runs the app's container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// A Job (no retries, removed once finished) that Kubernetes stops after
    /// `allocationTime`.
    Job {
        /// The Job's `activeDeadlineSeconds`, from `allocationTime`.
        active_deadline_seconds: i64,
    },
    /// A one-replica Deployment (`deployment: true`) that runs until it is deleted.
    Deployment,
}

/// The type of the app's Service (`service_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ServiceType {
    /// Reachable inside the cluster only (the default).
    ClusterIP,
    /// Also on every node, at each port's `nodePort`.
    NodePort,
    /// Also at an address of the cluster's load balancer.
    LoadBalancer,
}

impl ServiceType {
    /// The type as Kubernetes writes it (`ClusterIP`, `NodePort`, `LoadBalancer`).
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

/// The app's Service, named after [`AppSpec::full_name`].
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    /// `service_type`, default `ClusterIP`.
    pub service_type: ServiceType,
    /// `ports`, in file order.
    pub ports: Vec<ServicePortSpec>,
}

/// One entry of `ports`: `{name: [port]}` or `{name: [port, nodePort]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePortSpec {
    /// The port's name (the `ports` key).
    pub name: PortName,
    /// The Service port, which is also the container port it forwards to.
    pub port: u16,
    /// The node port; `None` for a `ClusterIP` Service, which has none.
    pub node_port: Option<u16>,
}

/// One entry of `persistent_volume`: a new PersistentVolumeClaim, mounted.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeSpec {
    /// `<full name>-claim-<i>`.
    pub claim_name: DnsSubdomain,
    /// The pod's volume name, `hive-persistent-storage-<i>`.
    pub volume_name: String,
    /// `mountPath`: where the volume is mounted in the container.
    pub mount_path: String,
    /// `size`: the storage requested.
    pub size: Quantity,
    /// `access_mode`: `ReadWriteOnce`, `ReadOnlyMany`, `ReadWriteMany` or `ReadWriteOncePod`.
    pub access_mode: String,
    /// `pvc_type`: the storage class; `None` means the cluster default.
    pub storage_class: Option<String>,
    /// `readOnly`: mount it read-only.
    pub read_only: Option<bool>,
}

/// One entry of `existing_persistent_volume`: a claim that exists already, mounted.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingVolumeSpec {
    /// `name`: the existing PersistentVolumeClaim.
    pub claim_name: DnsSubdomain,
    /// The pod's volume name, `hive-existing-persistent-storage-<i>`.
    pub volume_name: String,
    /// `mountPath`: where the volume is mounted in the container.
    pub mount_path: String,
    /// `readOnly`: mount it read-only.
    pub read_only: Option<bool>,
}

/// The files of `mount_files`: one ConfigMap (named after the first key) holding
/// every file under its base name.
#[derive(Debug, Clone, PartialEq)]
pub struct MountFiles {
    /// The ConfigMap's name: the first key, lower-cased with `_` and `.` → `-`.
    pub config_map: DnsSubdomain,
    /// Every file, in file order.
    pub files: Vec<MountFile>,
}

/// One entry of `mount_files`: `{key: [local_path, mount_path, "readOnly"?]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct MountFile {
    /// The `mount_files` key, lower-cased with `_` → `-` (the compat volume name).
    pub volume_name: String,
    /// Base name of the local file: its key in the ConfigMap.
    pub file_name: String,
    /// The path as written in the config.
    pub local_path: String,
    /// Where the file is mounted in the container.
    pub mount_path: String,
    /// Mounted read-only (the optional third value, `"readOnly"`).
    pub read_only: bool,
}

/// The app's Ingress, `<full name>-ingress`: one host and path to one Service port.
#[derive(Debug, Clone, PartialEq)]
pub struct IngressSpec {
    /// `host`: the public host name.
    pub host: String,
    /// `path`, normalised to exactly one leading `/` (default `/`).
    pub path: String,
    /// `port`: the Service port the path leads to (one of `ports`).
    pub port: u16,
    /// Which ingress controller the annotations are for.
    pub flavour: IngressFlavour,
}

/// The ingress controller an app's Ingress is written for, and its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum IngressFlavour {
    /// NGINX with a cert-manager certificate (`nginx_issuer`, `oauth_url`).
    Nginx {
        /// `nginx_issuer`: the cert-manager ClusterIssuer of the certificate.
        issuer: String,
        /// `oauth_url`: host of the group's OAuth2 proxy; without it there is no login.
        oauth_url: Option<String>,
    },
    /// Traefik (`traefik_resolver`, `traefik_middleware`).
    Traefik {
        /// `traefik_resolver`: the ACME certificate resolver.
        resolver: Option<String>,
        /// `traefik_middleware`: the middleware in front (the group's OAuth2
        /// forward-auth); `name@provider`, or a name in the `kubernetescrd` provider.
        middleware: Option<String>,
    },
    /// Neither NGINX nor Traefik settings: a plain Ingress (warned about).
    Plain,
}

/// The original's full name: `<chart_name>-mkg` unless the name already contains `mkg`,
/// cut to 63 characters with trailing `-` removed.
pub fn full_name(chart_name: &str) -> String {
    let name = if chart_name.contains("mkg") {
        chart_name.to_string()
    } else {
        format!("{chart_name}-mkg")
    };
    let cut: String = name.chars().take(63).collect();
    cut.trim_end_matches('-').to_string()
}

/// The variables the user secrets put in the environment, as `(name, secret, key)`,
/// named as the original chart named them: the key itself when there is one secret,
/// `<key>_<i>` for the i-th of several.
pub fn user_secret_env<'a, S: AsRef<str>>(
    secrets: &'a [S],
    params: &'a [String],
) -> impl Iterator<Item = (String, &'a str, &'a str)> + 'a {
    let single = secrets.len() == 1;
    secrets.iter().enumerate().flat_map(move |(i, secret)| {
        params.iter().map(move |param| {
            let name = if single {
                param.clone()
            } else {
                format!("{param}_{i}")
            };
            (name, secret.as_ref(), param.as_str())
        })
    })
}

/// Contents of the mount files, read by the caller (rendering does no I/O).
pub type MountFileContents = BTreeMap<String, Vec<u8>>;

/// An app config read and checked, with its warnings.
#[derive(Debug)]
pub struct LoadedApp {
    pub(crate) config: AppConfig,
    /// The checked app.
    pub spec: AppSpec,
    pub(crate) source: SourceFile,
    /// Every warning about the file, located (errors make the load fail instead).
    pub warnings: Vec<Diagnostic>,
}

impl LoadedApp {
    /// Reads every mount file, resolving relative paths against the config's folder.
    /// Only regular files inside that folder are read (see [`MountFileAccess`]), at most
    /// 1 MiB (a ConfigMap's limit) in all; anything else is an error naming the file and
    /// where it is listed, and nothing is read from a device, FIFO or directory.
    pub fn read_mount_files(&self) -> Result<MountFileContents, SpecError> {
        self.read_mount_files_with(MountFileAccess::ConfigFolder)
    }

    /// As [`LoadedApp::read_mount_files`], with the files `access` allows
    /// (`--allow-outside-files` reads [`MountFileAccess::Anywhere`]).
    pub fn read_mount_files_with(
        &self,
        access: MountFileAccess,
    ) -> Result<MountFileContents, SpecError> {
        let mut contents = MountFileContents::new();
        let mut issues = Vec::new();
        let mut total: u64 = 0;
        if let Some(mf) = &self.spec.mount_files {
            let base = self.source.base_dir();
            let canonical_base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
            for (i, file) in mf.files.iter().enumerate() {
                let key = self
                    .config
                    .mount_files
                    .get_index(i)
                    .map(|(k, _)| k.clone())
                    .unwrap_or_default();
                let at = FieldPath::root().key("mount_files").key(key).index(0);
                let resolved = resolve(base, &file.local_path);
                let shown = format!("{:?} ({})", file.local_path, resolved.display());
                match read_mount_file(
                    &resolved,
                    &shown,
                    &canonical_base,
                    access,
                    MOUNT_FILES_MAX_BYTES - total,
                ) {
                    Ok(bytes) => {
                        total += bytes.len() as u64;
                        contents.insert(file.file_name.clone(), bytes);
                    }
                    Err((message, hint)) => issues.push(Issue::error(at, message).hint(hint)),
                }
            }
        }
        load::finish(AppConfig::KIND, &self.source, Vec::new(), issues)?;
        Ok(contents)
    }
}

/// The most `mount_files` may hold in all: a ConfigMap's limit (1 MiB).
pub(crate) const MOUNT_FILES_MAX_BYTES: u64 = 1024 * 1024;

/// Which files `mount_files` may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountFileAccess {
    /// Regular files inside the config file's folder (symlinks may not lead out).
    #[default]
    ConfigFolder,
    /// Any regular file the operator can read (`--allow-outside-files`).
    Anywhere,
}

/// One mount file, read only if it is a regular file the access allows and it fits
/// in `room` bytes; the error is (what is wrong, what to do).
fn read_mount_file(
    path: &Path,
    shown: &str,
    base: &Path,
    access: MountFileAccess,
    room: u64,
) -> Result<Vec<u8>, (String, String)> {
    use std::io::Read;
    let cannot_read = |e: std::io::Error| format!("cannot read {shown}: {e}");
    let canonical = std::fs::canonicalize(path).map_err(|e| {
        (
            cannot_read(e),
            "relative paths are resolved against the folder of the config file".to_string(),
        )
    })?;
    if access == MountFileAccess::ConfigFolder && !canonical.starts_with(base) {
        return Err((
            format!(
                "{shown} is outside the config file's folder {} (it resolves to {})",
                base.display(),
                canonical.display()
            ),
            "copy the file next to the config, or pass --allow-outside-files if reading it is intended (its content goes into a ConfigMap the research group can read)".to_string(),
        ));
    }
    let meta = std::fs::metadata(&canonical).map_err(|e| (cannot_read(e), String::new()))?;
    if !meta.is_file() {
        return Err((
            "it is not a regular file (a directory, device or FIFO)".to_string(),
            "mount_files takes regular files".to_string(),
        ));
    }
    let too_big = || {
        (
            format!(
                "with {shown} the mount files come to more than {} KiB, a ConfigMap's limit",
                MOUNT_FILES_MAX_BYTES / 1024
            ),
            "mount large files from a volume (persistent_volume) instead".to_string(),
        )
    };
    if meta.len() > room {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&canonical)
        .and_then(|f| f.take(room + 1).read_to_end(&mut bytes))
        .map_err(|e| (cannot_read(e), String::new()))?;
    if bytes.len() as u64 > room {
        return Err(too_big());
    }
    Ok(bytes)
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Reads and validates an app config file.
pub fn load(path: &Path, options: LoadOptions) -> Result<LoadedApp, SpecError> {
    from_parsed(load::read::<AppConfig>(path, options)?)
}

/// Validates an app config already in memory (`name` is used in messages and decides
/// JSON or YAML by its extension).
pub fn load_str(name: &str, text: &str, options: LoadOptions) -> Result<LoadedApp, SpecError> {
    from_parsed(load::parse::<AppConfig>(
        SourceFile::new(name, text),
        options,
    )?)
}

fn from_parsed(parsed: Parsed<AppConfig>) -> Result<LoadedApp, SpecError> {
    let Parsed {
        value: config,
        source,
        warnings,
    } = parsed;
    let (spec, warnings) =
        load::finish_checked(AppConfig::KIND, &source, warnings, check(&config))?;
    Ok(LoadedApp {
        config,
        spec,
        source,
        warnings,
    })
}

fn opt_bool(issues: &mut Issues, path: FieldPath, v: &Option<StringOrBool>) -> Option<bool> {
    let v = v.as_ref()?;
    let parsed = v.parse();
    if parsed.is_none() {
        issues
            .error(path, format!("{} is not a boolean", v.shown()))
            .set_hint("write true or false");
    }
    parsed
}

fn mount_path(issues: &mut Issues, path: FieldPath, p: &str) {
    if !p.starts_with('/') {
        issues
            .error(path, format!("{p:?} is not an absolute path"))
            .set_hint("mount paths inside the container start with '/'");
    }
}

fn port_number(
    issues: &mut Issues,
    path: FieldPath,
    v: &StringOrNumber,
    what: &str,
) -> Option<u16> {
    match v.as_u64() {
        Some(n @ 1..=65535) => Some(n as u16),
        Some(n) => {
            issues.error(path, format!("{what} {n} is outside 1-65535"));
            None
        }
        None => {
            issues
                .error(path, format!("{} is not a {what} number", v.shown()))
                .set_hint("write a whole number from 1 to 65535");
            None
        }
    }
}

/// Checks a config and builds its spec. The spec is `Some` when no issue is an error.
pub(crate) fn check(c: &AppConfig) -> (Option<AppSpec>, Vec<Issue>) {
    let root = FieldPath::root();
    let mut issues = Issues::default();

    let namespace = issues.check(&root.key("namespace"), c.namespace.parse::<DnsLabel>());
    if namespace
        .as_ref()
        .is_some_and(|ns| crate::names::is_system_namespace(ns.as_str()))
    {
        issues
            .error(
                root.key("namespace"),
                format!("{:?} is the cluster's own namespace", c.namespace),
            )
            .set_hint("deploy into the research group's namespace");
    }
    let release = issues.check(&root.key("chart_name"), c.chart_name.parse::<DnsLabel>());
    let mut full = None;
    if release.is_some() {
        let raw_full = if c.chart_name.contains("mkg") {
            c.chart_name.clone()
        } else {
            format!("{}-mkg", c.chart_name)
        };
        if raw_full.len() > 63 {
            issues
                .error(
                    root.key("chart_name"),
                    format!("the full name {raw_full:?} is {} characters, over the 63 a Kubernetes name may have", raw_full.len()),
                )
                .set_hint("use a chart_name of at most 59 characters (the original silently cut the name, which can make two apps collide)");
        } else {
            full = issues.check(
                &root.key("chart_name"),
                full_name(&c.chart_name).parse::<Dns1035Label>(),
            );
        }
    }

    if c.docker_image.trim().is_empty() {
        issues
            .error(root.key("docker_image"), "the image is empty")
            .set_hint("give an image repository, e.g. \"jupyter/scipy-notebook\"");
    } else if c.docker_image.chars().any(char::is_whitespace) {
        issues.error(
            root.key("docker_image"),
            format!("{:?} contains white space", c.docker_image),
        );
    } else if let Err(e) = crate::names::check_image_reference(&c.docker_image, false) {
        issues
            .error(root.key("docker_image"), e)
            .set_hint("e.g. \"jupyter/scipy-notebook\" or \"registry.example.org:5000/group/image\" (the tag goes in \"tag\")");
    }
    let tag = c.tag.clone().unwrap_or_else(|| "latest".to_string());
    if let Err(e) = crate::names::check_image_tag(&tag) {
        issues.error(root.key("tag"), e);
    }

    let memory = c
        .memory_request
        .as_ref()
        .and_then(|m| issues.check(&root.key("memory_request"), m.text.parse::<Quantity>()));
    let cpu = c
        .cpu_request
        .as_ref()
        .and_then(|m| issues.check(&root.key("cpu_request"), m.text.parse::<Quantity>()));
    let gpus = match &c.gpu_request {
        None => 0,
        Some(g) => g.as_u64().unwrap_or_else(|| {
            issues
                .error(
                    root.key("gpu_request"),
                    format!("{} is not a number of GPUs", g.shown()),
                )
                .set_hint("write a whole number, e.g. 1");
            0
        }),
    };

    // Workload kind and allocation time.
    // `None` when `deployment` is unreadable (already reported): the kind is unknown, so
    // whether an allocation time is needed cannot be said.
    let as_deployment = match &c.deployment {
        None => Some(false),
        Some(d) => {
            let parsed = d.parse();
            if parsed.is_none() {
                issues
                    .error(root.key("deployment"), format!("{} is neither true nor false", d.shown()))
                    .set_hint("write true for a long-running Deployment, false (or leave it out) for a time-limited Job");
            }
            parsed
        }
    };
    let allocation = c
        .allocation_time
        .as_ref()
        .and_then(|t| issues.check(&root.key("allocationTime"), allocation_seconds(&t.text)));
    let workload = match (as_deployment, allocation) {
        (Some(true), _) => {
            if c.allocation_time.is_some() {
                issues.warning(
                    root.key("allocationTime"),
                    "ignored: a Deployment runs until it is deleted",
                );
            }
            Workload::Deployment
        }
        (_, Some(s)) => Workload::Job {
            active_deadline_seconds: s,
        },
        (Some(false), None) if c.allocation_time.is_none() => {
            issues
                .error(root.key("allocationTime"), "a Job needs an allocation time")
                .set_hint("add \"allocationTime\": \"2\" (days), \"12h\", …, or \"deployment\": true for a long-running service");
            Workload::Deployment
        }
        // Unreadable `deployment` or `allocationTime`: already reported.
        _ => Workload::Deployment,
    };

    // Service.
    let service_type = match c.service_type.as_deref() {
        None | Some("ClusterIP") => ServiceType::ClusterIP,
        Some("NodePort") => ServiceType::NodePort,
        Some("LoadBalancer") => ServiceType::LoadBalancer,
        Some(other) => {
            let known = ["ClusterIP", "NodePort", "LoadBalancer"].map(String::from);
            let hint = match load::did_you_mean(other, &known) {
                Some(s) => format!("did you mean {s:?}?"),
                None => "use ClusterIP, NodePort or LoadBalancer".to_string(),
            };
            issues
                .error(
                    root.key("service_type"),
                    format!("{other:?} is not a Service type"),
                )
                .set_hint(hint);
            ServiceType::ClusterIP
        }
    };
    let mut ports = Vec::new();
    for (name, values) in &c.ports {
        let p = root.key("ports").key(name);
        let port_name = issues.check(&p, name.parse::<PortName>());
        if values.is_empty() || values.len() > 2 {
            issues
                .error(
                    p.clone(),
                    format!(
                        "expected [port] or [port, nodePort], found {} values",
                        values.len()
                    ),
                )
                .set_hint("write e.g. [8888] or [8888, 30888]");
            continue;
        }
        let port = port_number(&mut issues, p.index(0), &values[0], "port");
        let node_port = values.get(1).and_then(|v| {
            let n = port_number(&mut issues, p.index(1), v, "nodePort")?;
            if service_type == ServiceType::ClusterIP {
                issues
                    .warning(p.index(1), format!("nodePort {n} is ignored: the Service type is ClusterIP"))
                    .set_hint("set \"service_type\": \"NodePort\" to expose it on every node");
                return None;
            }
            if !(30000..=32767).contains(&n) {
                issues
                    .warning(p.index(1), format!("nodePort {n} is outside the default NodePort range 30000-32767"))
                    .set_hint("the API server refuses it unless the cluster's --service-node-port-range allows it");
            }
            Some(n)
        });
        // The API server refuses a Service with one port number twice.
        if let Some(port) = port
            && let Some(other) = ports.iter().find(|o: &&ServicePortSpec| o.port == port)
        {
            issues
                .error(
                    p.index(0),
                    format!("port {port} is also the port of {:?}", other.name.as_str()),
                )
                .set_hint(
                    "a Service port number may appear once: remove one, or give it another number",
                );
        }
        if let (Some(name), Some(port)) = (port_name, port) {
            ports.push(ServicePortSpec {
                name,
                port,
                node_port,
            });
        }
    }
    let service = (!c.ports.is_empty()).then_some(ServiceSpec {
        service_type,
        ports,
    });
    if c.ports.is_empty() && c.service_type.is_some() {
        issues.warning(
            root.key("service_type"),
            "ignored: no ports are listed, so no Service is created",
        );
    }

    // Volumes.
    let fname = full.as_ref().map(|f| f.to_string()).unwrap_or_default();
    let mut volumes = Vec::new();
    for (i, v) in c.persistent_volume.iter().enumerate() {
        let p = root.key("persistent_volume").index(i);
        mount_path(&mut issues, p.key("mountPath"), &v.mount_path);
        let size = issues.check(&p.key("size"), v.size.text.parse::<Quantity>());
        // The API server refuses a claim of no storage.
        if let Some(size) = &size
            && size.nanos() <= 0
        {
            issues
                .error(p.key("size"), format!("a volume of {size} holds nothing"))
                .set_hint("give the size the app needs, e.g. \"10Gi\"");
        }
        const MODES: [&str; 4] = [
            "ReadWriteOnce",
            "ReadOnlyMany",
            "ReadWriteMany",
            "ReadWriteOncePod",
        ];
        if !MODES.contains(&v.access_mode.as_str()) {
            let known = MODES.map(String::from);
            let hint = load::did_you_mean(&v.access_mode, &known)
                .map(|s| format!("did you mean {s:?}?"))
                .unwrap_or_else(|| format!("use one of {}", MODES.join(", ")));
            issues
                .error(
                    p.key("access_mode"),
                    format!("{:?} is not an access mode", v.access_mode),
                )
                .set_hint(hint);
        }
        if let Some(sc) = &v.pvc_type {
            issues.check(&p.key("pvc_type"), sc.parse::<DnsSubdomain>());
        }
        let read_only = opt_bool(&mut issues, p.key("readOnly"), &v.read_only);
        let claim = issues.check(&p, format!("{fname}-claim-{i}").parse::<DnsSubdomain>());
        if let (Some(size), Some(claim_name)) = (size, claim) {
            volumes.push(VolumeSpec {
                claim_name,
                volume_name: format!("hive-persistent-storage-{i}"),
                mount_path: v.mount_path.clone(),
                size,
                access_mode: v.access_mode.clone(),
                storage_class: v.pvc_type.clone(),
                read_only,
            });
        }
    }
    let mut existing_volumes = Vec::new();
    for (i, v) in c.existing_persistent_volume.iter().enumerate() {
        let p = root.key("existing_persistent_volume").index(i);
        mount_path(&mut issues, p.key("mountPath"), &v.mount_path);
        let read_only = opt_bool(&mut issues, p.key("readOnly"), &v.read_only);
        if let Some(claim_name) = issues.check(&p.key("name"), v.name.parse::<DnsSubdomain>()) {
            existing_volumes.push(ExistingVolumeSpec {
                claim_name,
                volume_name: format!("hive-existing-persistent-storage-{i}"),
                mount_path: v.mount_path.clone(),
                read_only,
            });
        }
    }

    // Mount files.
    let mut mount_files = None;
    if let Some((first_key, _)) = c.mount_files.first() {
        let cm_name = suggest_label(first_key);
        let config_map = issues.check(
            &root.key("mount_files").key(first_key),
            cm_name.parse::<DnsSubdomain>(),
        );
        let mut files: Vec<MountFile> = Vec::new();
        for (key, entry) in &c.mount_files {
            let p = root.key("mount_files").key(key);
            if entry.len() < 2 || entry.len() > 3 {
                issues
                    .error(p.clone(), format!("expected [local_path, mount_path] or [local_path, mount_path, \"readOnly\"], found {} values", entry.len()));
                continue;
            }
            mount_path(&mut issues, p.index(1), &entry[1]);
            let read_only = match entry.get(2).map(String::as_str) {
                None => false,
                Some("readOnly") => true,
                Some(other) => {
                    issues
                        .error(p.index(2), format!("{other:?} is not a mount option"))
                        .set_hint("the only option is \"readOnly\"");
                    false
                }
            };
            let file_name = Path::new(&entry[0])
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if file_name.is_empty() {
                issues.error(p.index(0), format!("{:?} does not name a file", entry[0]));
                continue;
            }
            if !file_name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
            {
                issues
                    .error(
                        p.index(0),
                        format!("the file name {file_name:?} cannot be a ConfigMap key"),
                    )
                    .set_hint("rename the file to use only letters, digits, '-', '_' and '.'");
            }
            if let Some(prev) = files.iter().find(|f| f.file_name == file_name) {
                issues
                    .error(p.index(0), format!("{file_name:?} has the same file name as {:?}; both would be stored under one ConfigMap key", prev.local_path))
                    .set_hint("rename one of the files");
            }
            files.push(MountFile {
                volume_name: suggest_label(key),
                file_name,
                local_path: entry[0].clone(),
                mount_path: entry[1].clone(),
                read_only,
            });
        }
        if let Some(config_map) = config_map {
            mount_files = Some(MountFiles { config_map, files });
        }
    }

    mount_collisions(&mut issues, c);

    // GPU selection.
    let gpu_product = c.gpu_selector.as_ref().and_then(|g| g.product.clone());
    if let Some(product) = &gpu_product
        && let Err(e) = crate::names::check_label_value(product)
    {
        issues
            .error(root.key("gpu_selector").key("product"), e)
            .set_hint("write the node label's value exactly, e.g. \"NVIDIA-A100-SXM4-40GB\" (kubectl get nodes -L nvidia.com/gpu.product)");
    }
    if let Some(node) = &c.node_selector
        && let Err(e) = crate::names::check_label_value(node)
    {
        issues
            .error(root.key("node_selector"), e)
            .set_hint("write one node's name (kubectl get nodes), or leave node_selector out");
    }
    // A NUL cannot be passed to a program: the container would not start.
    for (field, list) in [("command", &c.command), ("args", &c.args)] {
        for (i, arg) in list.iter().flatten().enumerate() {
            if arg.contains('\0') {
                issues
                    .error(
                        root.key(field).index(i),
                        format!("{arg:?} holds a NUL character, which no program can be given"),
                    )
                    .set_hint("remove the \\u0000");
            }
        }
    }
    if c.gpu_selector.is_some() && gpu_product.is_none() {
        issues
            .warning(
                root.key("gpu_selector"),
                "no product given: any GPU will do",
            )
            .set_hint("add \"product\": \"<GPU model>\"");
    }
    if gpu_product.is_some() && gpus == 0 {
        issues.warning(
            root.key("gpu_selector"),
            "a GPU model is selected but gpu_request asks for no GPU",
        );
    }

    // Ingress.
    let ingress = c.ingress.as_ref().and_then(|ing| {
        let p = root.key("ingress");
        let host = ing.host.clone().filter(|h| !h.is_empty());
        if host.is_none() {
            issues.error(p.key("host"), "an ingress needs a host").set_hint("add \"host\": \"<app>.<cluster domain>\"");
        }
        if let Some(h) = &host {
            issues.check(&p.key("host"), h.parse::<DnsSubdomain>());
        }
        let port = match &ing.port {
            None => {
                issues.error(p.key("port"), "an ingress needs the Service port to expose").set_hint("add \"port\": <one of the ports>");
                None
            }
            Some(v) => port_number(&mut issues, p.key("port"), v, "port"),
        };
        if let Some(port) = port {
            if c.ports.is_empty() {
                issues.error(p.key("port"), "an ingress needs a Service, but no ports are listed").set_hint(format!("add \"ports\": {{\"http\": [{port}]}}"));
            } else if !service_ports_include(c, port) {
                issues.error(p.key("port"), format!("port {port} is not one of the Service ports")).set_hint("list it under \"ports\"");
            }
        }
        let nginx = ing.nginx_issuer.is_some() || ing.oauth_url.is_some();
        let traefik = ing.traefik_resolver.is_some() || ing.traefik_middleware.is_some();
        let flavour = match (nginx, traefik) {
            (true, true) => {
                issues
                    .error(p.clone(), "both NGINX (nginx_issuer, oauth_url) and Traefik (traefik_resolver, traefik_middleware) settings are given")
                    .set_hint("keep the settings of the ingress controller your cluster runs");
                IngressFlavour::Plain
            }
            (true, false) => match &ing.nginx_issuer {
                Some(issuer) => IngressFlavour::Nginx { issuer: issuer.clone(), oauth_url: ing.oauth_url.clone() },
                None => {
                    issues.error(p.key("nginx_issuer"), "an NGINX ingress needs a cert-manager cluster issuer").set_hint("ask the MAIA admin for the issuer name");
                    IngressFlavour::Plain
                }
            },
            (false, true) => IngressFlavour::Traefik { resolver: ing.traefik_resolver.clone(), middleware: ing.traefik_middleware.clone() },
            (false, false) => {
                issues
                    .warning(p.clone(), "neither NGINX nor Traefik settings are given: the app is exposed without login and without a certificate")
                    .set_hint("add nginx_issuer + oauth_url, or traefik_resolver + traefik_middleware");
                IngressFlavour::Plain
            }
        };
        if matches!(&flavour, IngressFlavour::Nginx { oauth_url: None, .. }) {
            issues.warning(p.clone(), "no oauth_url: the app is exposed without the group's login").set_hint("add \"oauth_url\": \"<group hub host>\"");
        }
        if matches!(&flavour, IngressFlavour::Traefik { middleware: None, .. }) {
            issues.warning(p.clone(), "no traefik_middleware: the app is exposed without the group's login");
        }
        let path = format!("/{}", ing.path.as_deref().unwrap_or("").trim_start_matches('/'));
        Some(IngressSpec { host: host?, path, port: port?, flavour })
    });

    let env: Vec<(String, String)> = c
        .env_variables
        .iter()
        .map(|(k, v)| (k.clone(), v.text.clone()))
        .collect();
    for (k, v) in &c.env_variables {
        // As the API server checks them: printable ASCII but '='.
        if k.is_empty() || k.contains('=') || !k.chars().all(|ch| (' '..='~').contains(&ch)) {
            issues
                .error(
                    root.key("env_variables").key(k),
                    format!("{k:?} is not an environment variable name"),
                )
                .set_hint(
                    "use letters, digits and '_' (e.g. DATA_DIR); no '=', no control characters",
                );
        }
        if v.text.contains('\0') {
            issues
                .error(
                    root.key("env_variables").key(k),
                    "the value holds a NUL character, which no program can be given",
                )
                .set_hint("remove the \\u0000");
        }
    }
    let image_pull_secret = c
        .image_pull_secret
        .as_ref()
        .and_then(|s| issues.check(&root.key("image_pull_secret"), s.parse::<DnsSubdomain>()));
    let user_secrets: Vec<DnsSubdomain> = c
        .user_secret
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            issues.check(&root.key("user_secret").index(i), s.parse::<DnsSubdomain>())
        })
        .collect();
    // Env names must be unique: server-side apply keys the list by name.
    for (name, _, _) in user_secret_env(&c.user_secret, &c.user_secret_params) {
        if c.env_variables.contains_key(&name) {
            issues
                .error(
                    root.key("env_variables").key(&name),
                    format!("{name:?} is also set from user_secret_params"),
                )
                .set_hint("rename the variable; the container can have only one value for it");
        }
    }
    if c.user_secret.is_empty() && !c.user_secret_params.is_empty() {
        issues.warning(
            root.key("user_secret_params"),
            "ignored: no user_secret is listed",
        );
    }
    for k in c
        .clusters
        .iter()
        .enumerate()
        .filter(|(_, s)| s.trim().is_empty())
    {
        issues.error(
            root.key("clusters").index(k.0),
            "empty cluster (kubeconfig context) name",
        );
    }

    if issues.has_errors() {
        return (None, issues.0);
    }
    let (Some(namespace), Some(release), Some(full_name)) = (namespace, release, full) else {
        return (None, issues.0);
    };
    let spec = AppSpec {
        namespace,
        release,
        full_name,
        image: format!("{}:{tag}", c.docker_image),
        image_repository: c.docker_image.clone(),
        image_tag: tag,
        clusters: c.clusters.clone(),
        memory,
        cpu,
        gpus,
        workload,
        allocation_seconds: allocation,
        service,
        volumes,
        existing_volumes,
        mount_files,
        node_name: c.node_selector.clone(),
        gpu_product,
        ingress,
        env,
        command: c.command.clone(),
        args: c.args.clone(),
        image_pull_secret,
        user_secrets,
        user_secret_params: c.user_secret_params.clone(),
        secret_env: Vec::new(),
    };
    (Some(spec), issues.0)
}

/// Every mount of the container must have its own path (the API server refuses two on
/// one), and `/dev/shm` is the shared-memory volume maia mounts itself.
fn mount_collisions(issues: &mut Issues, c: &AppConfig) {
    let root = FieldPath::root();
    // `/data/` and `/data` are one mount point.
    let normal = |p: &str| {
        let t = p.trim_end_matches('/');
        if t.is_empty() {
            "/".to_string()
        } else {
            t.to_string()
        }
    };
    let mut seen: Vec<(String, FieldPath)> = vec![("/dev/shm".into(), root.clone())];
    let mut mounts: Vec<(String, FieldPath)> = Vec::new();
    for (i, v) in c.persistent_volume.iter().enumerate() {
        mounts.push((
            v.mount_path.clone(),
            root.key("persistent_volume").index(i).key("mountPath"),
        ));
    }
    for (i, v) in c.existing_persistent_volume.iter().enumerate() {
        mounts.push((
            v.mount_path.clone(),
            root.key("existing_persistent_volume")
                .index(i)
                .key("mountPath"),
        ));
    }
    for (key, entry) in &c.mount_files {
        if let Some(path) = entry.get(1) {
            mounts.push((path.clone(), root.key("mount_files").key(key).index(1)));
        }
    }
    for (path, at) in mounts {
        if !path.starts_with('/') {
            // Reported as not absolute.
            continue;
        }
        let key = normal(&path);
        match seen.iter().find(|(p, _)| *p == key) {
            Some((_, first)) if first.is_root() => {
                issues
                    .error(at, format!("{path:?} is where maia mounts the container's shared memory"))
                    .set_hint("mount the volume elsewhere (/dev/shm is a memory-backed volume maia gives every app)");
            }
            Some((_, first)) => {
                issues
                    .error(at, format!("{path:?} is also the mount path of {first}"))
                    .set_hint("give each volume and file its own mountPath");
            }
            None => seen.push((key, at)),
        }
    }
}

fn service_ports_include(c: &AppConfig, port: u16) -> bool {
    c.ports
        .values()
        .any(|v| v.first().and_then(StringOrNumber::as_u64) == Some(port as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_name_follows_the_chart() {
        assert_eq!(full_name("jupyterlab-1-v1"), "jupyterlab-1-v1-mkg");
        assert_eq!(full_name("my-mkg-app"), "my-mkg-app");
        let long = format!("{}-", "a".repeat(62));
        assert_eq!(full_name(&format!("{long}mkg")), "a".repeat(62));
    }
}
