//! Step 8: Orthanc (DICOM store) with the OHIF viewer and MONAI Label, in one pod.
//! The original installed its `monai-label-ohif-maia` chart; we render the same
//! objects natively, with the chart's names and selector so its objects are adopted.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, EnvVar, PersistentVolumeClaimVolumeSource,
    PodSpec, ResourceRequirements, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ingress::{Access, Route, hub_ingress};
use super::meta::{self, image_pull_secrets, meta, single};
use super::{Component, Ctx, Output};
use crate::error::RenderError;

const COMPONENT: &str = "orthanc-ohif";
/// Service port names; the Ingress refers to them.
const MONAI_LABEL_PORT: &str = "pt-monai-label";
const ORTHANC_PORT: &str = "pt-orthanc";

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    // One release per group, named after the namespace (as the original's helm release).
    let release = spec.namespace.to_string();
    let claim = format!("{release}-pvc");
    let selector = single("app-name", &release);
    let monai_label_path = format!("{release}-monai-label");

    let pvc = meta::shared_claim(
        spec,
        COMPONENT,
        &claim,
        spec.cluster.storage_class.clone(),
        "10Gi",
    );

    let env = |name: &str, value: String| EnvVar {
        name: name.into(),
        value: Some(value),
        ..Default::default()
    };
    let resources = BTreeMap::from([
        ("cpu".to_string(), Quantity("4".into())),
        ("memory".to_string(), Quantity("16Gi".into())),
    ]);
    let container = Container {
        name: "monai-label-ohif".into(),
        image: Some(format!(
            "{}:{}",
            spec.maia.orthanc_ohif_image, spec.maia.orthanc_ohif_tag
        )),
        env: Some(vec![
            env("INGRESS_PATH", format!("/{release}")),
            env("MONAI_LABEL_INGRESS_PATH", format!("/{monai_label_path}")),
            env(
                "ORTHANC_DICOMWEB_ADDRESS",
                "http://localhost:8042/dicom-web".into(),
            ),
            // Where MONAI Label finds MLflow's models and its bundles (the chart's).
            env("MLFLOW_MODEL_PATH", "/workspace/mlflow".into()),
            env(
                "MONAI_BUNDLE_PATH",
                "/workspace/MONAILabel/monaibundle/model".into(),
            ),
        ]),
        ports: Some(vec![
            ContainerPort {
                name: Some("monai-label".into()),
                container_port: 8000,
                ..Default::default()
            },
            ContainerPort {
                name: Some("ohif".into()),
                container_port: 80,
                ..Default::default()
            },
        ]),
        resources: Some(ResourceRequirements {
            requests: Some(resources.clone()),
            limits: Some(resources),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "cache-volume".into(),
                mount_path: "/dev/shm".into(),
                ..Default::default()
            },
            VolumeMount {
                name: "orthanc".into(),
                mount_path: "/var/lib/orthanc/db".into(),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    let mut deployment = meta::deployment(
        spec,
        COMPONENT,
        &release,
        &selector,
        PodSpec {
            containers: vec![container],
            image_pull_secrets: image_pull_secrets(spec),
            volumes: Some(vec![
                Volume {
                    name: "cache-volume".into(),
                    empty_dir: Some(EmptyDirVolumeSource {
                        medium: Some("Memory".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Volume {
                    name: "orthanc".into(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: claim.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        },
    );
    if let Some(d) = deployment.spec.as_mut() {
        // The Orthanc database is a single-writer SQLite file on the claim.
        d.strategy = Some(k8s_openapi::api::apps::v1::DeploymentStrategy {
            type_: Some("Recreate".into()),
            ..Default::default()
        });
    };

    let port = |name: &str, port: i32, target: i32| ServicePort {
        name: Some(name.into()),
        protocol: Some("TCP".into()),
        port,
        target_port: Some(IntOrString::Int(target)),
        ..Default::default()
    };
    let service = Service {
        metadata: meta(spec, COMPONENT, &release),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector),
            ports: Some(vec![
                port(MONAI_LABEL_PORT, 80, 8000),
                port(ORTHANC_PORT, 81, 80),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    };

    // Both behind the OAuth2 proxy: the original left MONAI Label open to anyone, and
    // it accepts uploads and runs models. Scripted clients (3D Slicer) pass a Keycloak
    // bearer token, which the proxy accepts (`skip_jwt_bearer_tokens`).
    let ingress = hub_ingress(
        spec,
        COMPONENT,
        &release,
        vec![
            Route::named_port(release.clone(), release.clone(), ORTHANC_PORT),
            Route::named_port(monai_label_path.clone(), release.clone(), MONAI_LABEL_PORT),
        ],
        Access::OAuth2,
    );

    let base = format!("https://{}", spec.hub_host());
    Ok(Component {
        name: "orthanc_ohif",
        objects: vec![
            pvc.into(),
            deployment.into(),
            service.into(),
            ingress.into(),
        ],
        outputs: vec![
            Output::new("OHIF viewer", format!("{base}/{release}/")),
            Output::new("MONAI Label", format!("{base}/{monai_label_path}/")),
        ],
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

    #[test]
    fn monai_label_finds_mlflow_models_and_bundles() {
        let (c, _) = crate::workspace::testing::render_one(
            render,
            &maia_spec::workspace::WorkspaceSpec::test(),
        );
        let yaml = crate::to_yaml_stream(&c.objects).unwrap();
        assert!(
            yaml.contains("- name: MLFLOW_MODEL_PATH\n          value: /workspace/mlflow\n"),
            "{yaml}"
        );
        assert!(yaml.contains(
            "- name: MONAI_BUNDLE_PATH\n          value: /workspace/MONAILabel/monaibundle/model\n"
        ));
    }
}
