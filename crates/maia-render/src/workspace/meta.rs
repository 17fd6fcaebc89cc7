//! Metadata every workspace object shares: name, namespace and the workspace labels.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::LocalObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use maia_spec::workspace::WorkspaceSpec;

use crate::labels::workspace_labels;

/// `name` in the workspace's namespace, labelled as part of `component`.
pub(crate) fn meta(spec: &WorkspaceSpec, component: &str, name: impl Into<String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(spec.namespace.to_string()),
        labels: Some(workspace_labels(spec.namespace.as_str(), component)),
        ..Default::default()
    }
}

/// Pod labels: the (immutable) selector plus the workspace labels.
pub(crate) fn pod_labels(
    spec: &WorkspaceSpec,
    component: &str,
    selector: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = workspace_labels(spec.namespace.as_str(), component);
    labels.extend(selector.clone());
    labels
}

/// The image-pull Secret, when the cluster config names a registry (the namespace
/// component only creates the Secret then).
pub(crate) fn image_pull_secrets(spec: &WorkspaceSpec) -> Option<Vec<LocalObjectReference>> {
    spec.cluster.registry.as_ref().map(|_| {
        vec![LocalObjectReference {
            name: spec.cluster.pull_secret.clone(),
        }]
    })
}

/// One-entry string map, the shape of most selectors.
pub(crate) fn single(key: &str, value: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(key.to_string(), value.to_string())])
}

/// An Opaque Secret holding `entries` (as `data`, which server-side apply compares
/// cleanly; `stringData` would show as a change on every apply).
pub(crate) fn secret(
    spec: &WorkspaceSpec,
    component: &str,
    name: &str,
    entries: impl IntoIterator<Item = (String, String)>,
) -> k8s_openapi::api::core::v1::Secret {
    k8s_openapi::api::core::v1::Secret {
        metadata: meta(spec, component, name),
        type_: Some("Opaque".into()),
        data: Some(
            entries
                .into_iter()
                .map(|(k, v)| (k, k8s_openapi::ByteString(v.into_bytes())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// A one-replica Deployment of `pod`, selected by `selector` (kept as the original
/// chart had it, so an existing Deployment can be adopted: selectors are immutable).
pub(crate) fn deployment(
    spec: &WorkspaceSpec,
    component: &str,
    name: &str,
    selector: &BTreeMap<String, String>,
    pod: k8s_openapi::api::core::v1::PodSpec,
) -> k8s_openapi::api::apps::v1::Deployment {
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
    use k8s_openapi::api::core::v1::PodTemplateSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    Deployment {
        metadata: meta(spec, component, name),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels(spec, component, selector)),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A ClusterIP Service on port 80 forwarding to the pods' port named `http`.
pub(crate) fn http_service(
    spec: &WorkspaceSpec,
    component: &str,
    name: &str,
    selector: BTreeMap<String, String>,
) -> k8s_openapi::api::core::v1::Service {
    use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    Service {
        metadata: meta(spec, component, name),
        spec: Some(ServiceSpec {
            selector: Some(selector),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                protocol: Some("TCP".into()),
                port: 80,
                target_port: Some(IntOrString::String("http".into())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A ReadWriteMany claim of `size` on `storage_class` (the cluster default when none).
pub(crate) fn shared_claim(
    spec: &WorkspaceSpec,
    component: &str,
    name: &str,
    storage_class: Option<String>,
    size: &str,
) -> k8s_openapi::api::core::v1::PersistentVolumeClaim {
    use k8s_openapi::api::core::v1::{
        PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    PersistentVolumeClaim {
        metadata: meta(spec, component, name),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteMany".into()]),
            storage_class_name: storage_class,
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.to_string()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
