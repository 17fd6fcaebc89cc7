//! Step 7: MLflow (`mlflow-v1`), its login Secret `<namespace>`, tracking runs in
//! MySQL and artefacts in the group's MinIO. An app of the app renderer, as a
//! Deployment (the original ran it as a 180-day Job), with every password and key
//! taken from Secrets.

use maia_spec::app::{ServicePortSpec, ServiceSpec, ServiceType};

use super::credentials::keys;
use super::mysql::{base_app, from_secret, name, opaque_secret};
use super::{Component, Ctx, Output, minio, mysql};
use crate::error::RenderError;

pub(crate) const RELEASE: &str = "mlflow-v1";
pub(crate) const SERVICE: &str = "mlflow-v1-mkg";
/// The MinIO bucket MLflow keeps artefacts in (the MinIO setup creates it).
pub(crate) const BUCKET: &str = "mlflow";
const PASSWORD_LEN: usize = 24;

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let ns = spec.namespace.to_string();
    let password = ctx
        .credentials
        .get_or_draw(keys::MLFLOW_PASSWORD, PASSWORD_LEN);

    let mut app = base_app(&ns, RELEASE, &spec.maia.mlflow_image)?;
    app.service = Some(ServiceSpec {
        service_type: ServiceType::ClusterIP,
        ports: vec![ServicePortSpec {
            name: name("mlflow")?,
            port: 5000,
            node_port: None,
        }],
    });
    // The login Secret is named after the namespace, as the original's `user_secret`.
    app.user_secrets = vec![name(&ns)?];
    app.user_secret_params = vec!["user".into(), "password".into()];
    app.secret_env = vec![
        from_secret("MYSQL_PASSWORD", mysql::SECRET, mysql::PASSWORD_KEY),
        from_secret("AWS_ACCESS_KEY_ID", minio::USER_SECRET, minio::ACCESS_KEY),
        from_secret(
            "AWS_SECRET_ACCESS_KEY",
            minio::USER_SECRET,
            minio::SECRET_KEY,
        ),
    ];
    app.env = vec![
        ("MYSQL_URL".into(), mysql::SERVICE.into()),
        ("MYSQL_USER".into(), ns.clone()),
        ("BUCKET_NAME".into(), BUCKET.into()),
        ("BUCKET_PATH".into(), "mlflow".into()),
        ("MLFLOW_S3_ENDPOINT_URL".into(), "http://minio:80".into()),
    ];
    if spec.cluster.registry.is_some() {
        app.image_pull_secret = Some(name(&spec.cluster.pull_secret)?);
    }

    let mut objects = vec![
        opaque_secret(
            &ns,
            "mlflow",
            &ns,
            &[("user", &ns), ("password", &password)],
        )
        .into(),
    ];
    objects.extend(crate::app::render(&app, &Default::default())?);
    Ok(Component {
        name: "mlflow",
        objects,
        outputs: vec![
            Output::new("MLflow", spec.service_url("mlflow")),
            Output::internal("mlflow_service", SERVICE),
        ],
        depends_on: vec!["mysql", "minio"],
        ..Default::default()
    })
}
