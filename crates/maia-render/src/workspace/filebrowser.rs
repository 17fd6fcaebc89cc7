//! Step 13 (new; "coming soon" in the seed): a web file browser on the `shared`
//! claim, at `/<service path "filebrowser">` on the hub host, behind the group's OAuth2
//! proxy.
//!
//! Authentication is the OAuth2 proxy's alone: filebrowser runs with `noauth`. Its
//! own accounts would add nothing: everyone the proxy lets in (the group and the MAIA
//! admins) already reads and writes `shared` from their workspace, so per-user
//! accounts could not restrict anything, and proxy-header auth would only add a
//! second place where a header mix-up locks members out. Settings come from `FB_*`
//! variables into a fresh database on every start (an emptyDir), so the manifest is
//! the whole configuration and nothing drifts.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HTTPGetAction,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, Probe, ResourceRequirements,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ingress::{Access, Route, hub_ingress};
use super::meta::{self, single};
use super::{Component, Ctx, Output};
use crate::error::RenderError;

const NAME: &str = "filebrowser";
/// Unprivileged, so the container needs no capability to bind it.
const PORT: i32 = 8080;
/// The workspaces' uid (JupyterHub `singleuser.uid`), so files keep one owner.
const WORKSPACE_UID: i64 = 1000;

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let path = spec.service_path(NAME);
    let selector = single("app", NAME);
    let env = |name: &str, value: String| EnvVar {
        name: name.into(),
        value: Some(value),
        ..Default::default()
    };
    let container = Container {
        name: NAME.into(),
        image: Some(spec.maia.filebrowser_image.clone()),
        env: Some(vec![
            env("FB_ADDRESS", "0.0.0.0".into()),
            env("FB_PORT", PORT.to_string()),
            // The Ingress passes the path through unchanged, so filebrowser serves
            // under it.
            env("FB_BASEURL", format!("/{path}")),
            env("FB_ROOT", "/srv".into()),
            env("FB_DATABASE", "/database/filebrowser.db".into()),
            env("FB_NOAUTH", "true".into()),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some(format!("/{path}/health")),
                port: IntOrString::String("http".into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), Quantity("100m".into())),
                ("memory".to_string(), Quantity("128Mi".into())),
            ])),
            limits: Some(BTreeMap::from([(
                "memory".to_string(),
                Quantity("512Mi".into()),
            )])),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "shared".into(),
                mount_path: "/srv".into(),
                ..Default::default()
            },
            VolumeMount {
                name: "database".into(),
                mount_path: "/database".into(),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    let deployment = meta::deployment(
        spec,
        NAME,
        NAME,
        &selector,
        PodSpec {
            // No fsGroup: it would make the kubelet re-own the whole shared
            // volume on some storage drivers.
            security_context: Some(PodSecurityContext {
                run_as_user: Some(WORKSPACE_UID),
                run_as_non_root: Some(true),
                ..Default::default()
            }),
            containers: vec![container],
            volumes: Some(vec![
                Volume {
                    name: "shared".into(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: "shared".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Volume {
                    name: "database".into(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        },
    );
    let service = meta::http_service(spec, NAME, NAME, selector);
    let ingress = hub_ingress(
        spec,
        NAME,
        NAME,
        vec![Route::new(path, NAME, 80)],
        Access::OAuth2,
    );

    Ok(Component {
        name: "filebrowser",
        objects: vec![deployment.into(), service.into(), ingress.into()],
        outputs: vec![Output::new(
            "FileBrowser",
            format!("{}/", spec.service_url(NAME)),
        )],
        depends_on: vec!["namespace", "oauth2_proxy"],
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots() {
        crate::snapshot_variants!(render);
    }
}
