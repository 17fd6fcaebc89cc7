//! Step 6: MLflow's database, a MySQL app (`mysql-db-v1`) rendered by the app
//! renderer exactly as `MAIA_deploy_helm_chart` would, except that its passwords come
//! from a Secret instead of literal env values.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use maia_spec::app::{
    AppSpec, SecretEnv, ServicePortSpec, ServiceSpec, ServiceType, VolumeSpec, Workload,
};

use super::credentials::keys;
use super::{Component, Ctx, Output};
use crate::error::RenderError;
use crate::labels::workspace_labels;

pub(crate) const RELEASE: &str = "mysql-db-v1";
/// The Service MLflow connects to (`MYSQL_URL`).
pub(crate) const SERVICE: &str = "mysql-db-v1-mkg";
/// The Secret with `MYSQL_ROOT_PASSWORD` and `MYSQL_PASSWORD`; MLflow reads the latter.
pub(crate) const SECRET: &str = "mysql-db-v1-mkg-credentials";
pub(crate) const PASSWORD_KEY: &str = "MYSQL_PASSWORD";
const ROOT_PASSWORD_KEY: &str = "MYSQL_ROOT_PASSWORD";
const PASSWORD_LEN: usize = 24;

/// `repo:tag` split at the tag's colon (a registry port's colon is not a tag).
pub(crate) fn split_image(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

/// A name that is valid by construction (constants and names built from the namespace).
pub(crate) fn name<T: std::str::FromStr<Err = maia_spec::Issue>>(
    text: &str,
) -> Result<T, RenderError> {
    text.parse()
        .map_err(|e: maia_spec::Issue| RenderError::InvalidName {
            name: text.to_string(),
            reason: e.message,
        })
}

/// An app spec with the settings every workspace service shares; the caller fills in the rest.
pub(crate) fn base_app(
    namespace: &str,
    release: &str,
    image: &str,
) -> Result<AppSpec, RenderError> {
    let (image_repository, image_tag) = split_image(image);
    Ok(AppSpec {
        namespace: name(namespace)?,
        release: name(release)?,
        full_name: name(&maia_spec::app::full_name(release))?,
        image: image.to_string(),
        image_repository,
        image_tag,
        clusters: Vec::new(),
        memory: Some(name("2Gi")?),
        cpu: Some(name("500m")?),
        gpus: 0,
        workload: Workload::Deployment,
        allocation_seconds: None,
        service: None,
        volumes: Vec::new(),
        existing_volumes: Vec::new(),
        mount_files: None,
        node_name: None,
        gpu_product: None,
        ingress: None,
        env: Vec::new(),
        command: None,
        args: None,
        image_pull_secret: None,
        user_secrets: Vec::new(),
        user_secret_params: Vec::new(),
        secret_env: Vec::new(),
    })
}

pub(crate) fn opaque_secret(
    namespace: &str,
    component: &str,
    secret_name: &str,
    data: &[(&str, &str)],
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(secret_name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(workspace_labels(namespace, component)),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Default::default()
    }
}

pub(crate) fn from_secret(env: &str, secret: &str, key: &str) -> SecretEnv {
    SecretEnv {
        name: env.into(),
        secret: secret.into(),
        key: key.into(),
    }
}

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let ns = spec.namespace.to_string();
    let root_password = ctx
        .credentials
        .get_or_draw(keys::MYSQL_ROOT_PASSWORD, PASSWORD_LEN);
    let password = ctx
        .credentials
        .get_or_draw(keys::MYSQL_PASSWORD, PASSWORD_LEN);

    let mut app = base_app(&ns, RELEASE, &spec.maia.mysql_image)?;
    app.service = Some(ServiceSpec {
        service_type: ServiceType::ClusterIP,
        ports: vec![ServicePortSpec {
            name: name("mysql")?,
            port: 3306,
            node_port: None,
        }],
    });
    app.volumes = vec![VolumeSpec {
        claim_name: name(&format!("{SERVICE}-claim-0"))?,
        volume_name: "hive-persistent-storage-0".into(),
        mount_path: "/var/lib/mysql".into(),
        size: name("20Gi")?,
        access_mode: "ReadWriteMany".into(),
        storage_class: spec.cluster.storage_class.clone(),
        read_only: None,
    }];
    app.secret_env = vec![
        from_secret(ROOT_PASSWORD_KEY, SECRET, ROOT_PASSWORD_KEY),
        from_secret(PASSWORD_KEY, SECRET, PASSWORD_KEY),
    ];
    app.env = vec![
        ("MYSQL_USER".into(), ns.clone()),
        ("MYSQL_DATABASE".into(), "mysql".into()),
    ];

    let mut objects = vec![
        opaque_secret(
            &ns,
            "mysql",
            SECRET,
            &[
                (ROOT_PASSWORD_KEY, &root_password),
                (PASSWORD_KEY, &password),
            ],
        )
        .into(),
    ];
    objects.extend(crate::app::render(&app, &Default::default())?);
    Ok(Component {
        name: "mysql",
        objects,
        outputs: vec![Output::internal("mysql_service", SERVICE)],
        depends_on: vec!["namespace"],
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_at_the_tag_not_at_a_registry_port() {
        assert_eq!(
            split_image("registry:5000/mlflow:1.1"),
            ("registry:5000/mlflow".into(), "1.1".into())
        );
        assert_eq!(
            split_image("registry:5000/mlflow"),
            ("registry:5000/mlflow".into(), "latest".into())
        );
    }
}
