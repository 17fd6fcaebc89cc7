//! Step 9: Label Studio, from the heartex chart, on its own host with its own login
//! (the first member is its admin), storing its files on the `shared` claim.

use maia_spec::workspace::{UrlType, WorkspaceSpec};
use serde_json::{Map, Value, json};

use super::credentials::keys::{LABEL_STUDIO_PASSWORD, MINIO_ACCESS_KEY, MINIO_SECRET_KEY};
use super::ingress::{certificate_annotations, tls_values};
use super::{Component, Ctx, HelmRelease, Output};
use crate::error::RenderError;

pub const RELEASE: &str = "label-studio";
/// MinIO bucket Label Studio stores tasks in (the MinIO setup creates it).
pub const BUCKET: &str = "label-studio";
const PASSWORD_LEN: usize = 24;
/// MinIO key lengths, should Label Studio be the first to ask (MinIO renders first).
const MINIO_ACCESS_KEY_LEN: usize = 20;
const MINIO_SECRET_KEY_LEN: usize = 40;

/// Label Studio's host: `label-studio.<hub host>`. Where groups share the domain
/// (`subpath`) that name would be the same for every group, so there it is
/// `<namespace>-label-studio.<domain>` (covered by the same `*.<domain>` DNS record).
pub fn host(spec: &WorkspaceSpec) -> String {
    match spec.cluster.url_type {
        UrlType::Subdomain => format!("label-studio.{}", spec.hub_host()),
        UrlType::Subpath => format!(
            "{}.{}",
            spec.service_path("label-studio"),
            spec.cluster.domain
        ),
    }
}

pub fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let host = host(spec);
    let url = format!("https://{host}");

    let mut env = Map::new();
    let mut set = |k: &str, v: Value| {
        env.insert(k.to_string(), v);
    };
    set("LABEL_STUDIO_HOST", json!(&url));
    set("LOCAL_FILES_SERVING_ENABLED", json!("true"));
    // The chart mounts the claim at /label-studio/data; members' files live in the
    // `LabelStudio` folder of `shared`, where their workspaces see them too.
    set(
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT",
        json!("/label-studio/data/LabelStudio"),
    );
    if let Some(first) = spec.users.first() {
        set("LABEL_STUDIO_USERNAME", json!(first));
        set(
            "LABEL_STUDIO_PASSWORD",
            json!(
                ctx.credentials
                    .get_or_draw(LABEL_STUDIO_PASSWORD, PASSWORD_LEN)
            ),
        );
    }
    set(
        "MINIO_STORAGE_ACCESS_KEY",
        json!(
            ctx.credentials
                .get_or_draw(MINIO_ACCESS_KEY, MINIO_ACCESS_KEY_LEN)
        ),
    );
    set(
        "MINIO_STORAGE_SECRET_KEY",
        json!(
            ctx.credentials
                .get_or_draw(MINIO_SECRET_KEY, MINIO_SECRET_KEY_LEN)
        ),
    );
    set("MINIO_STORAGE_BUCKET_NAME", json!(BUCKET));
    // The MinIO tenant's in-cluster S3 Service, as MLflow reaches it.
    set("MINIO_STORAGE_ENDPOINT", json!("http://minio:80"));

    let mut postgres_persistence = json!({});
    if let Some(sc) = &spec.cluster.storage_class {
        postgres_persistence["storageClass"] = json!(sc);
    }
    let values = json!({
        "global": {
            "extraEnvironmentVars": env,
            // `existingClaim` makes the chart use `shared` instead of creating a claim,
            // so a storage class here would be ignored.
            "persistence": {
                "enabled": true,
                "type": "volume",
                "config": {"volume": {"existingClaim": "shared"}},
            },
        },
        "app": {
            "ingress": {
                "enabled": true,
                "host": host,
                "path": "/",
                "annotations": certificate_annotations(spec),
                "tls": tls_values(spec, &host, &format!("label-studio-{}-tls", spec.namespace)),
            },
        },
        "postgresql": {"primary": {"persistence": postgres_persistence}},
    });

    Ok(Component {
        name: "label_studio",
        helm: vec![HelmRelease {
            release: RELEASE.into(),
            namespace: spec.namespace.to_string(),
            chart: "label-studio".into(),
            repo_name: "heartex".into(),
            repo_url: "https://charts.heartex.com/".into(),
            version: spec.maia.label_studio_chart_version.clone(),
            values,
            values_hold_secrets: true,
        }],
        outputs: vec![Output::new("Label Studio", url)],
        depends_on: vec!["namespace", "minio"],
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
    fn hosts_do_not_collide_between_groups_sharing_a_domain() {
        assert_eq!(
            host(&WorkspaceSpec::test()),
            "label-studio.brain-mri.maia.example.org"
        );
        let subpath = WorkspaceSpec::test().with_traefik_subpath_loadbalancer();
        assert_eq!(host(&subpath), "brain-mri-label-studio.maia.example.org");
    }
}
