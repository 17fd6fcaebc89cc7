//! Step 10: KubeFlow Pipelines, from the upstream kustomizations as the seed applies
//! them: the cluster-scoped resources (CRDs) first, then, once the Application CRD is
//! established, the `env/dev` deployment. Both are remote bases pinned to a release
//! tag; they install into the `kubeflow` namespace, which every group on the cluster
//! shares, so applying them again for another group changes nothing.

use super::{Component, Ctx, Kustomization, Output};
use crate::error::RenderError;

const MANIFESTS: &str = "github.com/kubeflow/pipelines/manifests/kustomize";

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let version = &spec.maia.kubeflow_pipelines_version;
    Ok(Component {
        name: "kubeflow",
        kustomizations: vec![
            Kustomization {
                url: format!("{MANIFESTS}/cluster-scoped-resources?ref={version}"),
                wait: Some(
                    "--for condition=established --timeout=60s crd/applications.app.k8s.io".into(),
                ),
            },
            Kustomization {
                url: format!("{MANIFESTS}/env/dev?ref={version}"),
                wait: None,
            },
        ],
        // Reached through the group's nginx proxy (see `addons`), behind OAuth2.
        outputs: vec![Output::new(
            "KubeFlow Pipelines",
            spec.service_url("kubeflow"),
        )],
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
