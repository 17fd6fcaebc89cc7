//! Steps 1-3 of a workspace: the namespace, the image-pull Secret and the `shared` PVC.
//! Also the reference shape for every component module.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Component, Ctx};
use crate::error::RenderError;
use crate::labels::workspace_labels;

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let ns = spec.namespace.to_string();
    let meta = |name: &str, namespaced: bool| ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespaced.then(|| ns.clone()),
        labels: Some(workspace_labels(&ns, "namespace")),
        ..Default::default()
    };
    let mut namespace_meta = meta(&ns, false);
    // Which group holds the namespace: a deploy of another group into it is refused.
    namespace_meta.annotations = Some(BTreeMap::from([(
        crate::labels::GROUP_ID_ANNOTATION.to_string(),
        spec.group_id.clone(),
    )]));
    let mut objects = vec![
        Namespace {
            metadata: namespace_meta,
            ..Default::default()
        }
        .into(),
    ];

    if let Some(reg) = &spec.cluster.registry {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let auth = b64.encode(format!("{}:{}", reg.username, reg.password));
        let config = serde_json::json!({"auths": {reg.server.clone(): {
            "username": reg.username, "password": reg.password, "auth": auth,
        }}});
        ctx.credentials
            .record(super::credentials::keys::REGISTRY_PASSWORD, &reg.password);
        objects.push(
            Secret {
                metadata: meta(&spec.cluster.pull_secret, true),
                type_: Some("kubernetes.io/dockerconfigjson".into()),
                data: Some(BTreeMap::from([(
                    ".dockerconfigjson".to_string(),
                    ByteString(config.to_string().into_bytes()),
                )])),
                ..Default::default()
            }
            .into(),
        );
    }

    objects.push(
        super::meta::shared_claim(
            spec,
            "namespace",
            "shared",
            spec.cluster.shared_storage_class.clone(),
            "10Gi",
        )
        .into(),
    );

    Ok(Component {
        name: "namespace",
        objects,
        ..Default::default()
    })
}
