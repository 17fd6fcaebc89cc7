//! The Kubernetes objects maia renders, as one typed enum, and their serialisations.

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, PersistentVolumeClaim, ResourceQuota, Secret, Service,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};
use serde::Serialize;

use crate::error::RenderError;

macro_rules! objects {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// One rendered object. Serialises exactly as the API server expects it,
        /// `apiVersion` and `kind` included.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Object {
            $(#[doc = concat!("A `", stringify!($variant), "`.")] $variant($ty),)*
            /// A custom resource (e.g. a MinIO `Tenant`), kept as JSON.
            Custom(CustomObject),
        }

        impl Object {
            /// The object's `apiVersion`, e.g. `apps/v1`.
            pub fn api_version(&self) -> &str {
                match self {
                    $(Object::$variant(_) => <$ty as Resource>::API_VERSION,)*
                    Object::Custom(c) => &c.api_version,
                }
            }

            /// The object's `kind`, e.g. `Deployment`.
            pub fn kind(&self) -> &str {
                match self {
                    $(Object::$variant(_) => <$ty as Resource>::KIND,)*
                    Object::Custom(c) => &c.kind,
                }
            }

            /// The object's metadata.
            pub(crate) fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(Object::$variant(o) => o.metadata(),)*
                    Object::Custom(c) => &c.metadata,
                }
            }

            /// The object's metadata, to change.
            pub(crate) fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self {
                    $(Object::$variant(o) => o.metadata_mut(),)*
                    Object::Custom(c) => &mut c.metadata,
                }
            }
        }

        $(impl From<$ty> for Object {
            fn from(o: $ty) -> Self {
                Object::$variant(o)
            }
        })*
    };
}

objects! {
    Namespace(Namespace),
    Secret(Secret),
    ConfigMap(ConfigMap),
    PersistentVolumeClaim(PersistentVolumeClaim),
    Service(Service),
    Deployment(Deployment),
    Job(Job),
    Ingress(Ingress),
    ResourceQuota(ResourceQuota),
    LimitRange(LimitRange),
    NetworkPolicy(NetworkPolicy),
    Role(Role),
    RoleBinding(RoleBinding),
    ValidatingAdmissionPolicy(ValidatingAdmissionPolicy),
    ValidatingAdmissionPolicyBinding(ValidatingAdmissionPolicyBinding),
}

/// A custom resource: type information, metadata and the rest of its body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomObject {
    /// The resource's `apiVersion` (`minio.min.io/v2`).
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// The resource's `kind` (`Tenant`).
    pub kind: String,
    /// Name, namespace, labels and annotations.
    pub metadata: ObjectMeta,
    /// Every other top-level field (`spec`, …), written beside the three above.
    #[serde(flatten)]
    pub body: serde_json::Map<String, serde_json::Value>,
}

impl Object {
    /// The object's name (empty if it has none, which maia never renders).
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// The object's namespace; `None` for a cluster-scoped object (a Namespace, a
    /// workspace's admission policy).
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// `kind/name`, as kubectl prints it.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind().to_ascii_lowercase(), self.name())
    }

    /// The object as the JSON the API server takes.
    pub fn to_json(&self) -> Result<serde_json::Value, RenderError> {
        serde_json::to_value(self).map_err(|source| RenderError::Serialize {
            object: self.reference(),
            source,
        })
    }

    /// File name for `--out DIR`: apply order, kind and name.
    pub fn file_name(&self, index: usize) -> String {
        format!(
            "{:02}-{}-{}.yaml",
            index + 1,
            self.kind().to_ascii_lowercase(),
            self.name()
        )
    }
}

/// Objects as a multi-document YAML stream (`---` between documents), as
/// `kubectl apply -f` reads it.
pub fn to_yaml_stream(objects: &[Object]) -> Result<String, RenderError> {
    let mut out = String::with_capacity(4096 * objects.len().min(8));
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        // Written in place when the direct writer can (see `block_yaml`).
        if !crate::block_yaml::append(&mut out, o) {
            out.push_str(&to_yaml(o)?);
        }
    }
    Ok(out)
}

/// One object as a YAML document.
pub fn to_yaml(object: &Object) -> Result<String, RenderError> {
    // The same bytes, written directly when the object allows (see `block_yaml`).
    if let Some(text) = crate::block_yaml::to_string(object) {
        return Ok(text);
    }
    yaml_serde::to_string(object).map_err(|source| RenderError::Yaml {
        object: object.reference(),
        source,
    })
}

/// Objects as a `v1` `List`, as `kubectl get -o json` prints several objects.
pub fn to_json_list(objects: &[Object]) -> Result<serde_json::Value, RenderError> {
    let items = objects
        .iter()
        .map(Object::to_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}))
}
