//! Step 5: the group's object store, a MinIO Operator `Tenant` logging users in with
//! Keycloak, and a Job that sets up the group's user, policies and the `mlflow`
//! bucket from inside the cluster (the original ran `mc` from the admin's machine,
//! which needed the MinIO service to be reachable from there).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EnvVar, EnvVarSource, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Secret, SecretKeySelector, Volume,
    VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use maia_spec::workspace::WorkspaceSpec;
use serde::Serialize;
use serde_json::json;

use super::credentials::keys;
use super::{Component, Ctx, Output};
use crate::error::RenderError;
use crate::labels::workspace_labels;
use crate::object::{CustomObject, Object};

/// The Secret holding the group's MinIO user (`CONSOLE_ACCESS_KEY`, `CONSOLE_SECRET_KEY`);
/// MLflow reads its S3 keys from it too.
pub(crate) const USER_SECRET: &str = "minio-user";
pub(crate) const ACCESS_KEY: &str = "CONSOLE_ACCESS_KEY";
pub(crate) const SECRET_KEY: &str = "CONSOLE_SECRET_KEY";
const ROOT_USER: &str = "MINIO_ROOT_USER";
const ROOT_PASSWORD: &str = "MINIO_ROOT_PASSWORD";
const SETUP: &str = "minio-setup";
/// On the setup Job's pod template: a digest of everything the Job acts on.
pub(crate) const SETUP_INPUTS_ANNOTATION: &str = "maia.cloud/setup-inputs";

/// `sha256:` and the first 16 hex digits of the SHA-256 of the parts, each
/// length-prefixed (so moving text from one part to the next changes the digest).
fn inputs_digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
const KEY_LEN: usize = 20;
const SECRET_LEN: usize = 40;

/// The MinIO env-configuration Secret the operator reads: `<ns>-env-configuration`.
/// (The form's `minio_env_name` names an environment file, not this Secret.)
pub(crate) fn env_secret_name(spec: &WorkspaceSpec) -> String {
    format!("{}-env-configuration", spec.namespace)
}

/// The parts of the `minio.min.io/v2` Tenant CRD maia sets.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TenantSpec {
    /// The Secret with `config.env`.
    configuration: NameRef,
    features: TenantFeatures,
    pools: Vec<Pool>,
    mount_path: &'static str,
    /// TLS ends at the ingress; in-cluster clients use `http://minio:80`.
    request_auto_cert: bool,
}

#[derive(Debug, Serialize)]
struct NameRef {
    name: String,
}

#[derive(Debug, Serialize)]
struct TenantFeatures {
    domains: TenantDomains,
}

#[derive(Debug, Serialize)]
struct TenantDomains {
    /// The console's public URL, so its links and OIDC redirects point there.
    console: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Pool {
    name: &'static str,
    servers: u32,
    volumes_per_server: u32,
    volume_claim_template: PersistentVolumeClaim,
}

/// Creates or updates everything; each step leaves what is already right alone, so a
/// re-applied (re-run) Job converges. Parameters come from the environment only.
const SETUP_SCRIPT: &str = r#"#!/bin/sh
set -eu
until mc alias set maia "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1; do
  echo "waiting for MinIO at $MINIO_URL"
  sleep 5
done
# `user add` of an existing user only resets its secret key to the same value.
mc admin user add maia "$ACCESS_KEY" "$SECRET_KEY" >/dev/null
if ! mc admin user info maia "$ACCESS_KEY" | grep -q readwrite; then
  mc admin policy attach maia readwrite --user "$ACCESS_KEY"
fi
# Keycloak's `groups` claim names the policies a member gets: members read and write
# every bucket; MAIA admins may also administer the tenant and its keys.
mc admin policy create maia "$GROUP_POLICY" /setup/group-policy.json
mc admin policy create maia "$ADMIN_POLICY" /setup/admin-policy.json
for bucket in $BUCKETS; do
  mc mb --ignore-existing "maia/$bucket"
done
echo "MinIO is set up"
"#;

/// Every bucket the workspace's services use; the setup Job creates each.
pub(crate) const BUCKETS: [&str; 2] = [super::mlflow::BUCKET, super::label_studio::BUCKET];

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let Some(keycloak) = &spec.cluster.keycloak else {
        return Err(RenderError::MissingSetting {
            component: "minio",
            setting: "keycloack",
        });
    };
    let ns = spec.namespace.to_string();
    let tenant = ns.clone();
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(ns.clone()),
        labels: Some(workspace_labels(&ns, "minio")),
        ..Default::default()
    };
    let root_user = ctx.credentials.get_or_draw(keys::MINIO_ROOT_USER, KEY_LEN);
    let root_password = ctx
        .credentials
        .get_or_draw(keys::MINIO_ROOT_PASSWORD, SECRET_LEN);
    let access_key = ctx.credentials.get_or_draw(keys::MINIO_ACCESS_KEY, KEY_LEN);
    let secret_key = ctx
        .credentials
        .get_or_draw(keys::MINIO_SECRET_KEY, SECRET_LEN);
    let (client_id, client_secret) = super::oidc::login_client(ctx, "minio", "minio", keycloak)?;
    let console_url = spec.service_url("minio-console");

    // The operator reads `config.env`; the root keys are repeated as plain keys so the
    // setup Job can take them with secretKeyRef.
    let env_secret = env_secret_name(spec);
    let quote = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let config_env: String = [
        ("MINIO_BROWSER", "on".to_string()),
        (ROOT_USER, root_user.clone()),
        (ROOT_PASSWORD, root_password.clone()),
        (
            "MINIO_IDENTITY_OPENID_CONFIG_URL",
            format!(
                "{}/.well-known/openid-configuration",
                keycloak.issuer_url.trim_end_matches('/')
            ),
        ),
        ("MINIO_IDENTITY_OPENID_CLIENT_ID", client_id),
        ("MINIO_IDENTITY_OPENID_CLIENT_SECRET", client_secret),
        ("MINIO_IDENTITY_OPENID_CLAIM_NAME", "groups".into()),
        (
            "MINIO_IDENTITY_OPENID_SCOPES",
            "email,openid,profile".into(),
        ),
        ("MINIO_IDENTITY_OPENID_DISPLAY_NAME", "MAIA".into()),
    ]
    .iter()
    .map(|(k, v)| format!("export {k}={}\n", quote(v)))
    .collect();
    let secret = |name: &str, data: Vec<(&str, &str)>| -> Object {
        Secret {
            metadata: meta(name),
            type_: Some("Opaque".into()),
            data: Some(
                data.into_iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        }
        .into()
    };
    let mut objects = vec![
        secret(
            &env_secret,
            vec![
                ("config.env", &config_env),
                (ROOT_USER, &root_user),
                (ROOT_PASSWORD, &root_password),
            ],
        ),
        secret(
            USER_SECRET,
            vec![(ACCESS_KEY, &access_key), (SECRET_KEY, &secret_key)],
        ),
    ];

    let tenant_spec = TenantSpec {
        configuration: NameRef {
            name: env_secret.clone(),
        },
        features: TenantFeatures {
            domains: TenantDomains {
                console: console_url.clone(),
            },
        },
        pools: vec![Pool {
            name: "pool-0",
            servers: 1,
            volumes_per_server: 1,
            volume_claim_template: PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some("data".into()),
                    ..Default::default()
                },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".into()]),
                    storage_class_name: spec.cluster.storage_class.clone(),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "storage".to_string(),
                            Quantity("100Gi".into()),
                        )])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        }],
        mount_path: "/export",
        request_auto_cert: false,
    };
    let body = serde_json::to_value(&tenant_spec).map_err(|source| RenderError::Serialize {
        object: format!("tenant/{tenant}"),
        source,
    })?;
    objects.push(Object::Custom(CustomObject {
        api_version: "minio.min.io/v2".into(),
        kind: "Tenant".into(),
        metadata: meta(&tenant),
        body: serde_json::Map::from_iter([("spec".to_string(), body)]),
    }));

    // Members get read-write access to every bucket of their tenant; MAIA admins, as
    // in the original's admin policy, also `admin:*` and `kms:*`.
    let policy = |actions: &[&str]| -> Result<String, RenderError> {
        let statement: Vec<serde_json::Value> = actions
            .iter()
            .map(|action| {
                let resource = if action.starts_with("s3:") {
                    json!(["arn:aws:s3:::*"])
                } else {
                    json!(["arn:minio:*"])
                };
                json!({"Effect": "Allow", "Action": [action], "Resource": resource})
            })
            .collect();
        serde_json::to_string_pretty(&json!({"Version": "2012-10-17", "Statement": statement}))
            .map_err(|source| RenderError::Serialize {
                object: format!("configmap/{SETUP}"),
                source,
            })
    };
    let group_policy = policy(&["s3:*"])?;
    let admin_policy = policy(&["s3:*", "admin:*", "kms:*"])?;
    objects.push(
        ConfigMap {
            metadata: meta(SETUP),
            data: Some(BTreeMap::from([
                ("setup.sh".to_string(), SETUP_SCRIPT.to_string()),
                ("group-policy.json".to_string(), group_policy.clone()),
                ("admin-policy.json".to_string(), admin_policy.clone()),
            ])),
            ..Default::default()
        }
        .into(),
    );
    let from_secret = |name: &str, secret: &str, key: &str| EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: None,
            }),
            ..Default::default()
        }),
    };
    let plain = |name: &str, value: String| EnvVar {
        name: name.into(),
        value: Some(value),
        value_from: None,
    };
    objects.push(
        Job {
            metadata: meta(SETUP),
            spec: Some(JobSpec {
                backoff_limit: Some(4),
                // Long enough for the operator to start the tenant on a fresh cluster.
                active_deadline_seconds: Some(1800),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(workspace_labels(&ns, "minio")),
                        // What the Job acts on, digested: when the script, the policy or
                        // the keys change, its pod template changes and the Job runs again.
                        annotations: Some(BTreeMap::from([(
                            SETUP_INPUTS_ANNOTATION.to_string(),
                            inputs_digest(&[
                                SETUP_SCRIPT,
                                &group_policy,
                                &admin_policy,
                                &BUCKETS.join(" "),
                                &access_key,
                                &secret_key,
                                &root_user,
                                &root_password,
                            ]),
                        )])),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        restart_policy: Some("OnFailure".into()),
                        containers: vec![Container {
                            name: "mc".into(),
                            image: Some(spec.maia.minio_setup_image.clone()),
                            command: Some(vec!["/bin/sh".into(), "/setup/setup.sh".into()]),
                            env: Some(vec![
                                plain(
                                    "MINIO_URL",
                                    format!("http://minio.{ns}.svc.cluster.local:80"),
                                ),
                                plain("MC_CONFIG_DIR", "/tmp/.mc".into()),
                                plain("GROUP_POLICY", spec.keycloak_group()),
                                plain("ADMIN_POLICY", "MAIA:admin".into()),
                                plain("BUCKETS", BUCKETS.join(" ")),
                                from_secret(ROOT_USER, &env_secret, ROOT_USER),
                                from_secret(ROOT_PASSWORD, &env_secret, ROOT_PASSWORD),
                                from_secret("ACCESS_KEY", USER_SECRET, ACCESS_KEY),
                                from_secret("SECRET_KEY", USER_SECRET, SECRET_KEY),
                            ]),
                            volume_mounts: Some(vec![VolumeMount {
                                name: "setup".into(),
                                mount_path: "/setup".into(),
                                read_only: Some(true),
                                ..Default::default()
                            }]),
                            ..Default::default()
                        }],
                        volumes: Some(vec![Volume {
                            name: "setup".into(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: SETUP.into(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        }
        .into(),
    );

    Ok(Component {
        name: "minio",
        objects,
        outputs: vec![
            Output::new("MinIO console", console_url),
            Output::internal("minio_console_service", format!("{tenant}-console")),
        ],
        depends_on: vec!["namespace"],
        ..Default::default()
    })
}
