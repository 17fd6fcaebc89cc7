//! maia's configuration files: serde models, validation that names the file, line,
//! column and field of every problem, and JSON Schemas for editors.
//!
//! No I/O beyond reading the files it is asked to read.

pub mod app;
mod diag;
mod duration;
mod error;
mod json_index;
mod load;
mod loose;
pub mod names;
mod path;
pub mod quantity;
mod source;
pub mod workspace;
pub mod yaml_depth;
mod yaml_locate;

pub use diag::{Diagnostic, Issue, Severity};
pub use error::SpecError;
pub use load::LoadOptions;
pub use path::FieldPath;

/// The config files maia reads, for `maia config validate|schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// A custom application (`chart_name`, `docker_image`, …; JSON or YAML).
    App,
    /// A research group's workspace request (`group_ID`, `users`, …).
    Group,
    /// The cluster the workspaces live on (`domain`, `port_range`, `keycloack`, …).
    Cluster,
    /// Images and chart versions (every field optional).
    Maia,
}

impl ConfigKind {
    /// What the file is called in messages.
    pub fn title(self) -> &'static str {
        match self {
            ConfigKind::App => <app::AppConfig as load::ConfigFile>::KIND,
            ConfigKind::Group => <workspace::group::GroupForm as load::ConfigFile>::KIND,
            ConfigKind::Cluster => <workspace::cluster::ClusterConfig as load::ConfigFile>::KIND,
            ConfigKind::Maia => <workspace::maia::MaiaConfig as load::ConfigFile>::KIND,
        }
    }

    /// Guesses the kind of a config file from its name and top-level fields.
    pub fn detect(path: &std::path::Path) -> Option<ConfigKind> {
        if source::Format::for_path(path) == source::Format::Json {
            return Some(ConfigKind::App);
        }
        let text = load::read_text(path).ok()?;
        let has = |key: &str| {
            text.lines()
                .any(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with(':'))
        };
        if has("chart_name") || has("docker_image") {
            return Some(ConfigKind::App);
        }
        if has("group_ID") || has("resources_limits") {
            return Some(ConfigKind::Group);
        }
        if has("port_range") || has("domain") || has("ssh_port_type") {
            return Some(ConfigKind::Cluster);
        }
        // Every key only a MAIA config has: one pinning only chart versions (the hub's)
        // or images is one too.
        if [
            "maia_workspace_image",
            "maia_workspace_version",
            "nginx_proxy_image",
            "orthanc_ohif",
            "maia_addons_version",
            "filebrowser_image",
            "jupyterhub_chart_version",
            "oauth2_proxy_chart_version",
            "label_studio_chart_version",
            "kubeflow_pipelines_version",
            "minio_setup_image",
            "mysql_image",
            "mlflow_image",
        ]
        .iter()
        .any(|k| has(k))
        {
            return Some(ConfigKind::Maia);
        }
        None
    }

    /// The JSON Schema of this kind of file.
    pub fn schema(self) -> serde_json::Value {
        match self {
            ConfigKind::App => load::schema_value::<app::AppConfig>(),
            ConfigKind::Group => load::schema_value::<workspace::group::GroupForm>(),
            ConfigKind::Cluster => load::schema_value::<workspace::cluster::ClusterConfig>(),
            ConfigKind::Maia => load::schema_value::<workspace::maia::MaiaConfig>(),
        }
    }
}
