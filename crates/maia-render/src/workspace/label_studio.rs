//! Step 9: Label Studio, from the heartex chart, on its own host with its own login
//! (the first member is its admin), storing its files on the `shared` claim.
//! Its password and MinIO keys live in a Secret of ours that the chart's pods read.

use maia_spec::workspace::{UrlType, WorkspaceSpec};
use serde_json::{Map, Value, json};

use super::credentials::keys::{LABEL_STUDIO_PASSWORD, MINIO_ACCESS_KEY, MINIO_SECRET_KEY};
use super::ingress::{certificate_annotations, tls_values};
use super::meta::secret;
use super::{Component, Ctx, HelmRelease, Output};
use crate::error::RenderError;

pub(crate) const RELEASE: &str = "label-studio";
/// Our Secret with Label Studio's password and MinIO keys.
pub(crate) const SECRET: &str = "label-studio-credentials";
/// MinIO bucket Label Studio stores tasks in (the MinIO setup creates it).
pub(crate) const BUCKET: &str = "label-studio";
const PASSWORD_LEN: usize = 24;
/// MinIO key lengths, should Label Studio be the first to ask (MinIO renders first).
const MINIO_ACCESS_KEY_LEN: usize = 20;
const MINIO_SECRET_KEY_LEN: usize = 40;

/// Label Studio's host: `label-studio.<hub host>`. Where groups share the domain
/// (`subpath`) that name would be the same for every group, so there it is
/// `<namespace>-label-studio.<domain>` (covered by the same `*.<domain>` DNS record).
pub(crate) fn host(spec: &WorkspaceSpec) -> String {
    match spec.cluster.url_type {
        UrlType::Subdomain => format!("label-studio.{}", spec.hub_host()),
        UrlType::Subpath => format!(
            "{}.{}",
            spec.service_path("label-studio"),
            spec.cluster.domain
        ),
    }
}

/// Requests of the Label Studio app container (CPU, memory).
const APP_REQUESTS: (&str, &str) = ("250m", "512Mi");
/// Requests of its PostgreSQL.
const POSTGRES_REQUESTS: (&str, &str) = ("250m", "256Mi");
/// Its PostgreSQL's claim.
const POSTGRES_SIZE: &str = "8Gi";

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let host = host(spec);
    let url = format!("https://{host}");

    let mut env = Map::new();
    let mut set = |k: &str, v: &str| {
        env.insert(k.to_string(), json!(v));
    };
    set("LABEL_STUDIO_HOST", &url);
    set("LOCAL_FILES_SERVING_ENABLED", "true");
    // The chart mounts the claim at /label-studio/data; members' files live in the
    // `LabelStudio` folder of `shared`, where their workspaces see them too.
    set(
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT",
        "/label-studio/data/LabelStudio",
    );
    set("MINIO_STORAGE_BUCKET_NAME", BUCKET);
    // The MinIO tenant's in-cluster S3 Service, as MLflow reaches it.
    set("MINIO_STORAGE_ENDPOINT", "http://minio:80");

    // Secrets reach the pods through a Secret of ours (`extraEnvironmentSecrets`),
    // so neither the values file nor the chart's Deployment holds them.
    let mut secrets = vec![
        (
            "MINIO_STORAGE_ACCESS_KEY".to_string(),
            ctx.credentials
                .get_or_draw(MINIO_ACCESS_KEY, MINIO_ACCESS_KEY_LEN),
        ),
        (
            "MINIO_STORAGE_SECRET_KEY".to_string(),
            ctx.credentials
                .get_or_draw(MINIO_SECRET_KEY, MINIO_SECRET_KEY_LEN),
        ),
    ];
    if let Some(first) = spec.users.first() {
        set("LABEL_STUDIO_USERNAME", first);
        secrets.push((
            "LABEL_STUDIO_PASSWORD".to_string(),
            ctx.credentials
                .get_or_draw(LABEL_STUDIO_PASSWORD, PASSWORD_LEN),
        ));
    }
    let secret_env: Map<String, Value> = secrets
        .iter()
        .map(|(k, _)| (k.clone(), json!({"secretName": SECRET, "secretKey": k})))
        .collect();
    let secret = secret(spec, RELEASE, SECRET, secrets);

    let mut postgres_persistence = json!({});
    if let Some(sc) = &spec.cluster.storage_class {
        postgres_persistence["storageClass"] = json!(sc);
    }
    let values = json!({
        "global": {
            "extraEnvironmentVars": env,
            "extraEnvironmentSecrets": secret_env,
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
                "className": spec.cluster.ingress_class(),
                "host": host,
                "path": "/",
                "annotations": certificate_annotations(spec),
                "tls": tls_values(spec, &host, &format!("label-studio-{}-tls", spec.namespace)),
            },
        },
        "postgresql": {"primary": {"persistence": postgres_persistence}},
    });
    let mut values = values;
    values["app"]["resources"] = super::jupyterhub::resources(APP_REQUESTS, ("2", "4Gi"));
    values["postgresql"]["primary"]["resources"] =
        super::jupyterhub::resources(POSTGRES_REQUESTS, ("1", "1Gi"));
    values["postgresql"]["primary"]["persistence"]["size"] = json!(POSTGRES_SIZE);
    let (default_cpu, default_memory) = super::tenancy::DEFAULT_REQUESTS;
    let footprint = super::Footprint {
        pods: vec![
            (APP_REQUESTS.0.into(), APP_REQUESTS.1.into(), 0),
            // The app pod's nginx and init containers, and the chart's worker, take the
            // namespace's default requests.
            (default_cpu.into(), default_memory.into(), 0),
            (default_cpu.into(), default_memory.into(), 0),
            (POSTGRES_REQUESTS.0.into(), POSTGRES_REQUESTS.1.into(), 0),
        ],
        claims: vec![POSTGRES_SIZE.into()],
        // The chart's app pods (`ls-app.selectorLabels`), not its PostgreSQL.
        ingress_pods: [
            ("app.kubernetes.io/name".to_string(), "ls-app".to_string()),
            (
                "app.kubernetes.io/instance".to_string(),
                RELEASE.to_string(),
            ),
        ]
        .into(),
        secret_readers: vec![super::rollout::SecretReaders {
            pods: "app",
            annotations_at: vec!["app", "annotations"],
            secrets: vec![SECRET.into()],
        }],
    };

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
            footprint,
        }],
        objects: vec![secret.into()],
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
