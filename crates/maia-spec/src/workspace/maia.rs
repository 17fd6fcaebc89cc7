//! The MAIA config: images and chart versions. Every field has a built-in default
//! ([`MaiaSettings::default`]); a file overrides the fields it gives.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{Issue, Issues};
use crate::load::ConfigFile;
use crate::path::FieldPath;

use super::MaiaSettings;
use super::group::VersionText;

/// Images and versions used for every workspace. All fields are optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(title = "maia MAIA config")]
pub(crate) struct MaiaConfig {
    /// Repository of the MAIA workspace image (without tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maia_workspace_image: Option<String>,
    /// Default tag of the workspace image (a group form may choose another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maia_workspace_version: Option<VersionText>,
    /// Image of the nginx proxy in front of MinIO, MLflow, Label Studio and KubeFlow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx_proxy_image: Option<String>,
    /// Orthanc + OHIF (+ MONAI Label) image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orthanc_ohif: Option<OrthancOhifConfig>,
    /// Version of the original's maia-addons chart. maia renders the addons itself; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maia_addons_version: Option<VersionText>,
    /// FileBrowser image (with tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filebrowser_image: Option<String>,
    /// Version of the jupyterhub/jupyterhub chart: 3.x (z2jh 4 and later run KubeSpawner 7,
    /// whose pod names maia's member Services do not select; refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jupyterhub_chart_version: Option<VersionText>,
    /// Version of the oauth2-proxy/oauth2-proxy chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2_proxy_chart_version: Option<VersionText>,
    /// Version of the heartex/label-studio chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_studio_chart_version: Option<VersionText>,
    /// KubeFlow Pipelines release whose kustomizations are applied (`?ref=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeflow_pipelines_version: Option<VersionText>,
    /// MinIO client (`mc`) image of the MinIO setup Job (with tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minio_setup_image: Option<String>,
    /// MySQL image of the MLflow database (with tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql_image: Option<String>,
    /// MLflow image (with tag); default the public `kthcloud/mlflow:1.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow_image: Option<String>,
}

impl ConfigFile for MaiaConfig {
    const KIND: &'static str = "MAIA config";
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub(crate) struct OrthancOhifConfig {
    /// Image repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<VersionText>,
}

fn image(issues: &mut Issues, path: FieldPath, value: &str, with_tag: bool) {
    match crate::names::check_image_reference(value, with_tag) {
        Ok(()) => {}
        Err(e) if e.ends_with("has no tag") => {
            issues
                .error(path, e)
                .set_hint(format!("pin a version, e.g. \"{value}:1.0\""));
        }
        Err(e) => {
            issues.error(path, e);
        }
    }
}

fn tag(issues: &mut Issues, path: FieldPath, value: &str) {
    if let Err(e) = crate::names::check_image_tag(value) {
        issues.error(path, e);
    }
}

/// The major version of a z2jh chart or hub image version (`4.0.0`, `v3.1.0`,
/// `4.0.0-0.dev.git.…`); `None` when it does not start with one.
pub(crate) fn z2jh_major(version: &str) -> Option<u64> {
    let digits: String = version
        .trim_start_matches('v')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Why z2jh 4 and later cannot run maia's workspaces, for the chart and the hub image.
pub(crate) const Z2JH_4: &str = "z2jh 4 and later run KubeSpawner 7, which names and labels \
    members' pods (`hub.jupyter.org/username`) another way than the names maia's member \
    Services select: members could not reach their servers";
/// The way out.
pub(crate) const Z2JH_HINT: &str =
    "use a 3.x version (KubeSpawner 6; maia is tested with the default, 3.1.0)";

/// maia names members' Services as KubeSpawner 6 (z2jh 3.x) names their pods, and
/// tells the hub the names it shortened through a KubeSpawner 6 subclass: a 4.x chart
/// is refused; a version that is not 3.x is taken with a warning.
fn jupyterhub_chart(issues: &mut Issues, path: FieldPath, version: &str) {
    match z2jh_major(version) {
        Some(3) => {}
        Some(major) if major >= 4 => {
            issues
                .error(path, format!("jupyterhub chart {version}: {Z2JH_4}"))
                .set_hint(Z2JH_HINT);
        }
        _ => {
            issues
                .warning(
                    path,
                    format!(
                        "jupyterhub chart {version} is not a version maia knows: its member \
                         names and the hub's values are made for z2jh 3.x (KubeSpawner 6)"
                    ),
                )
                .set_hint(Z2JH_HINT);
        }
    }
}

/// The built-in defaults with the file's fields laid over them.
pub(crate) fn check(c: &MaiaConfig) -> (MaiaSettings, Vec<Issue>) {
    let root = FieldPath::root();
    let mut issues = Issues::default();
    let mut s = MaiaSettings::default();

    let set_image = |issues: &mut Issues,
                     field: &str,
                     v: &Option<String>,
                     with_tag: bool,
                     into: &mut String| {
        if let Some(v) = v {
            image(issues, root.key(field), v, with_tag);
            *into = v.clone();
        }
    };
    set_image(
        &mut issues,
        "maia_workspace_image",
        &c.maia_workspace_image,
        false,
        &mut s.workspace_image,
    );
    set_image(
        &mut issues,
        "nginx_proxy_image",
        &c.nginx_proxy_image,
        true,
        &mut s.nginx_proxy_image,
    );
    set_image(
        &mut issues,
        "filebrowser_image",
        &c.filebrowser_image,
        true,
        &mut s.filebrowser_image,
    );
    set_image(
        &mut issues,
        "minio_setup_image",
        &c.minio_setup_image,
        true,
        &mut s.minio_setup_image,
    );
    set_image(
        &mut issues,
        "mysql_image",
        &c.mysql_image,
        true,
        &mut s.mysql_image,
    );
    set_image(
        &mut issues,
        "mlflow_image",
        &c.mlflow_image,
        true,
        &mut s.mlflow_image,
    );
    if let Some(o) = &c.orthanc_ohif {
        if let Some(i) = &o.image {
            image(&mut issues, root.key("orthanc_ohif").key("image"), i, false);
            s.orthanc_ohif_image = i.clone();
        }
        if let Some(t) = &o.tag {
            tag(&mut issues, root.key("orthanc_ohif").key("tag"), &t.0);
            s.orthanc_ohif_tag = t.0.clone();
        }
    }
    for (field, v, into) in [
        (
            "maia_workspace_version",
            &c.maia_workspace_version,
            &mut s.workspace_version,
        ),
        (
            "jupyterhub_chart_version",
            &c.jupyterhub_chart_version,
            &mut s.jupyterhub_chart_version,
        ),
        (
            "oauth2_proxy_chart_version",
            &c.oauth2_proxy_chart_version,
            &mut s.oauth2_proxy_chart_version,
        ),
        (
            "label_studio_chart_version",
            &c.label_studio_chart_version,
            &mut s.label_studio_chart_version,
        ),
        (
            "kubeflow_pipelines_version",
            &c.kubeflow_pipelines_version,
            &mut s.kubeflow_pipelines_version,
        ),
    ] {
        if let Some(v) = v {
            tag(&mut issues, root.key(field), &v.0);
            *into = v.0.clone();
        }
    }
    if let Some(v) = &c.jupyterhub_chart_version {
        jupyterhub_chart(&mut issues, root.key("jupyterhub_chart_version"), &v.0);
    }
    if c.maia_addons_version.is_some() {
        issues
            .warning(
                root.key("maia_addons_version"),
                "ignored: maia renders the addons (SSH and jupyter Services, nginx proxy, ingresses) itself",
            )
            .set_hint("you may remove it");
    }
    (s, issues.0)
}
