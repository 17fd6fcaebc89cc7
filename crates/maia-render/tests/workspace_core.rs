//! Golden tests of the core workspace components (OAuth2 proxy, MinIO, MySQL, MLflow)
//! and of their composition, rendered from the spec fixtures.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use maia_render::Object;
use maia_render::workspace::credentials::{CountingSource, keys};
use maia_render::workspace::{Bundle, Component, Credentials, ports, render};
use maia_spec::workspace::WorkspaceSpec;

fn bundle(spec: &WorkspaceSpec, kept: &Credentials) -> Bundle {
    let ports = ports::allocate(
        &spec.users,
        &Default::default(),
        &BTreeSet::new(),
        spec.cluster.port_range,
    )
    .unwrap();
    render(spec, kept, &mut CountingSource::default(), &ports).unwrap()
}

fn component<'a>(b: &'a Bundle, name: &str) -> &'a Component {
    b.components
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

fn yaml(c: &Component) -> String {
    maia_render::to_yaml_stream(&c.objects).unwrap()
}

fn env_of<'a>(objects: &'a [Object], deployment: &str) -> &'a [k8s_openapi::api::core::v1::EnvVar] {
    objects
        .iter()
        .find_map(|o| match o {
            Object::Deployment(d) if o.name() == deployment => {
                d.spec.as_ref()?.template.spec.as_ref()?.containers[0]
                    .env
                    .as_deref()
            }
            _ => None,
        })
        .unwrap()
}

#[test]
fn minio_nginx_subdomain() {
    let b = bundle(&WorkspaceSpec::test(), &Credentials::default());
    insta::assert_snapshot!(yaml(component(&b, "minio")));
}

#[test]
fn minio_console_moves_under_the_namespace_for_subpath() {
    let b = bundle(
        &WorkspaceSpec::test().with_traefik_subpath_loadbalancer(),
        &Credentials::default(),
    );
    let c = component(&b, "minio");
    let tenant = c.objects.iter().find(|o| o.kind() == "Tenant").unwrap();
    assert_eq!(
        tenant.to_json().unwrap()["spec"]["features"]["domains"]["console"],
        "https://maia.example.org/brain-mri-minio-console"
    );
}

#[test]
fn mysql_is_the_seeds_app_with_passwords_from_a_secret() {
    let b = bundle(&WorkspaceSpec::test(), &Credentials::default());
    let c = component(&b, "mysql");
    insta::assert_snapshot!(yaml(c));
    let env = env_of(&c.objects, "mysql-db-v1-mkg");
    // No password is a literal value.
    for e in env.iter().filter(|e| e.name.contains("PASSWORD")) {
        assert!(e.value.is_none(), "{e:?}");
        assert!(e.value_from.as_ref().unwrap().secret_key_ref.is_some());
    }
}

#[test]
fn mlflow_reads_mysql_and_minio_credentials_from_their_secrets() {
    let b = bundle(&WorkspaceSpec::test(), &Credentials::default());
    let c = component(&b, "mlflow");
    insta::assert_snapshot!(yaml(c));
    let env = env_of(&c.objects, "mlflow-v1-mkg");
    let from = |name: &str| {
        let e = env.iter().find(|e| e.name == name).unwrap();
        let r = e
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap();
        (r.name.clone(), r.key.clone())
    };
    assert_eq!(
        from("MYSQL_PASSWORD"),
        (
            "mysql-db-v1-mkg-credentials".into(),
            "MYSQL_PASSWORD".into()
        )
    );
    assert_eq!(
        from("AWS_ACCESS_KEY_ID"),
        ("minio-user".into(), "CONSOLE_ACCESS_KEY".into())
    );
    assert_eq!(from("password"), ("brain-mri".into(), "password".into()));
    // The Secrets they point at are rendered, with those keys.
    for (secret, key) in [
        from("MYSQL_PASSWORD"),
        from("AWS_SECRET_ACCESS_KEY"),
        from("user"),
    ] {
        let found = b.objects().any(|o| match o {
            Object::Secret(s) => {
                o.name() == secret && s.data.as_ref().is_some_and(|d| d.contains_key(&key))
            }
            _ => false,
        });
        assert!(found, "no Secret {secret} with key {key}");
    }
}

#[test]
fn mysql_and_mlflow_agree_on_the_password_across_runs() {
    let first = bundle(&WorkspaceSpec::test(), &Credentials::default());
    let again = bundle(&WorkspaceSpec::test(), &first.credentials);
    assert_eq!(first, again);
    // A credential that was lost is drawn anew, and only that one.
    let mut partial = first.credentials.clone();
    partial.0.remove(keys::MLFLOW_PASSWORD);
    let third = bundle(&WorkspaceSpec::test(), &partial);
    assert_eq!(
        third.credentials.0.get(keys::MYSQL_PASSWORD),
        first.credentials.0.get(keys::MYSQL_PASSWORD)
    );
    assert_ne!(
        third.credentials.0.get(keys::MLFLOW_PASSWORD),
        first.credentials.0.get(keys::MLFLOW_PASSWORD)
    );
}

#[test]
fn oauth2_proxy_chart_is_pinned_and_reads_its_secrets_from_a_secret() {
    let b = bundle(&WorkspaceSpec::test(), &Credentials::default());
    let r = &component(&b, "oauth2_proxy").helm[0];
    assert_eq!(
        (
            r.release.as_str(),
            r.chart.as_str(),
            r.repo_url.as_str(),
            r.version.as_str()
        ),
        (
            "oauth2-proxy",
            "oauth2-proxy",
            "https://oauth2-proxy.github.io/manifests",
            "7.7.1"
        )
    );
    // The chart's existingSecret: the values name it, maia applies it.
    assert_eq!(
        r.values["config"]["existingSecret"],
        "oauth2-proxy-credentials"
    );
    assert!(r.values["config"].get("cookieSecret").is_none());
    assert!(r.values["config"].get("clientSecret").is_none());
    let secret = component(&b, "oauth2_proxy")
        .objects
        .iter()
        .find(|o| o.kind() == "Secret" && o.name() == "oauth2-proxy-credentials")
        .expect("the credentials Secret")
        .to_json()
        .unwrap();
    let data = &secret["data"];
    assert!(data.get("client-id").is_some() && data.get("client-secret").is_some());
    use base64::Engine as _;
    let cookie = base64::engine::general_purpose::STANDARD
        .decode(data["cookie-secret"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        Some(String::from_utf8(cookie).unwrap().as_str()),
        b.credentials
            .0
            .get(keys::OAUTH2_COOKIE_SECRET)
            .map(String::as_str)
    );
}

#[test]
fn core_components_come_in_apply_order_and_minimal_leaves_them_out() {
    let b = bundle(&WorkspaceSpec::test(), &Credentials::default());
    let names: Vec<_> = b.components.iter().map(|c| c.name).collect();
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("namespace") < pos("oauth2_proxy"));
    assert!(pos("oauth2_proxy") < pos("minio"));
    assert!(pos("minio") < pos("mysql"));
    assert!(pos("mysql") < pos("mlflow"));
    let m = bundle(&WorkspaceSpec::test().minimal(), &Credentials::default());
    for gone in ["oauth2_proxy", "minio", "mysql", "mlflow"] {
        assert!(
            m.components.iter().all(|c| c.name != gone),
            "{gone} in minimal"
        );
    }
    assert!(!m.credentials.0.contains_key(keys::MINIO_ROOT_PASSWORD));
}

#[test]
fn every_dependency_is_a_component_applied_earlier() {
    for spec in [
        WorkspaceSpec::test(),
        WorkspaceSpec::test().with_traefik_subpath_loadbalancer(),
        WorkspaceSpec::test().minimal(),
    ] {
        let b = bundle(&spec, &Credentials::default());
        for (i, c) in b.components.iter().enumerate() {
            for dep in &c.depends_on {
                assert!(
                    b.components[..i].iter().any(|earlier| earlier.name == *dep),
                    "{} depends on {dep}, which is not applied before it (minimal: {})",
                    c.name,
                    spec.minimal
                );
            }
        }
    }
}

/// The MinIO setup Job runs again exactly when what it acts on changes: its pod
/// template carries a digest of the script, policy and keys.
#[test]
fn the_minio_setup_job_changes_only_when_its_inputs_change() {
    let spec = WorkspaceSpec::test();
    let first = bundle(&spec, &Credentials::default());
    let digest = |b: &Bundle| -> String {
        component(b, "minio")
            .objects
            .iter()
            .find_map(|o| match o {
                Object::Job(j) => j
                    .spec
                    .as_ref()?
                    .template
                    .metadata
                    .as_ref()?
                    .annotations
                    .as_ref()?
                    .get("maia.cloud/setup-inputs")
                    .cloned(),
                _ => None,
            })
            .expect("the setup Job carries its inputs' digest")
    };
    let kept = first.credentials.clone();
    assert_eq!(digest(&bundle(&spec, &kept)), digest(&first), "same inputs");
    let mut rotated = kept.clone();
    rotated.0.insert(
        keys::MINIO_SECRET_KEY.into(),
        "another-secret-key-of-40-chars".into(),
    );
    let changed = digest(&bundle(&spec, &rotated));
    assert_ne!(changed, digest(&first), "a new key runs the Job again");
    assert!(
        changed.starts_with("sha256:") && changed.len() == 23,
        "{changed}"
    );
    // The digest never shows a key itself.
    assert!(!changed.contains("another-secret"));
}

fn setup(
    b: &Bundle,
) -> (
    &k8s_openapi::api::core::v1::ConfigMap,
    &k8s_openapi::api::batch::v1::Job,
) {
    let objects = &component(b, "minio").objects;
    let cm = objects
        .iter()
        .find_map(|o| match o {
            Object::ConfigMap(c) if o.name() == "minio-setup" => Some(c),
            _ => None,
        })
        .expect("setup ConfigMap");
    let job = objects
        .iter()
        .find_map(|o| match o {
            Object::Job(j) => Some(j),
            _ => None,
        })
        .expect("setup Job");
    (cm, job)
}

/// `MAIA:<group>` reads and writes every bucket; `MAIA:admin` also administers the
/// tenant (`admin:*`) and its keys (`kms:*`), as the original's admin policy did.
#[test]
fn the_admin_policy_keeps_minio_admin_rights_and_the_group_policy_has_none() {
    let b = bundle(&WorkspaceSpec::test(), &Credentials::default());
    let (cm, _) = setup(&b);
    let data = cm.data.as_ref().unwrap();
    let actions = |file: &str| -> Vec<String> {
        let policy: serde_json::Value = serde_json::from_str(&data[file]).unwrap();
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(actions("group-policy.json"), ["s3:*"]);
    assert_eq!(actions("admin-policy.json"), ["s3:*", "admin:*", "kms:*"]);
    assert!(data["setup.sh"].contains("\"$ADMIN_POLICY\" /setup/admin-policy.json"));
    assert!(data["setup.sh"].contains("\"$GROUP_POLICY\" /setup/group-policy.json"));
}

/// Every bucket a service is pointed at is created by the MinIO setup.
#[test]
fn the_minio_setup_creates_every_bucket_the_workspace_uses() {
    let b = bundle(&WorkspaceSpec::test(), &Credentials::default());
    let (_, job) = setup(&b);
    let env = job
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .env
        .as_ref()
        .unwrap();
    let created: Vec<String> = env
        .iter()
        .find(|e| e.name == "BUCKETS")
        .and_then(|e| e.value.clone())
        .unwrap()
        .split(' ')
        .map(str::to_string)
        .collect();
    // Buckets named by the services: MLflow's env, Label Studio's chart values.
    let mlflow = env_of(&component(&b, "mlflow").objects, "mlflow-v1-mkg")
        .iter()
        .find(|e| e.name == "BUCKET_NAME")
        .and_then(|e| e.value.clone())
        .unwrap();
    let label_studio =
        serde_json::to_string(&component(&b, "label_studio").helm[0].values).unwrap();
    assert!(created.contains(&mlflow), "{created:?}");
    assert!(
        label_studio.contains("\"MINIO_STORAGE_BUCKET_NAME\""),
        "{label_studio}"
    );
    for bucket in &created {
        assert!(!bucket.is_empty());
    }
    assert!(
        created
            .iter()
            .any(|b| label_studio.contains(&format!("\"{b}\""))),
        "{created:?}"
    );
}

/// Every Ingress names its IngressClass (a cluster without a default class ignores one
/// that does not), and so do the charts' ingress values; `ingress_class` overrides the
/// controller's usual class.
#[test]
fn every_ingress_and_chart_ingress_names_its_class() {
    let mut traefik = WorkspaceSpec::test().with_traefik_subpath_loadbalancer();
    traefik.cluster.ingress_class = Some("public-traefik".into());
    for (spec, class) in [
        (WorkspaceSpec::test(), "nginx"),
        (traefik, "public-traefik"),
    ] {
        let b = bundle(&spec, &Credentials::default());
        let mut ingresses = 0;
        for object in b.objects() {
            if let Object::Ingress(i) = object {
                ingresses += 1;
                assert_eq!(
                    i.spec.as_ref().unwrap().ingress_class_name.as_deref(),
                    Some(class),
                    "{}",
                    object.name()
                );
            }
        }
        assert!(ingresses >= 6);
        for c in &b.components {
            for release in &c.helm {
                let v = &release.values;
                let named = [
                    &v["ingress"]["className"],
                    &v["ingress"]["ingressClassName"],
                    &v["app"]["ingress"]["className"],
                ]
                .iter()
                .any(|n| n.as_str() == Some(class));
                assert!(named, "{}: {}", release.release, v["ingress"]);
            }
        }
    }
}

/// The S3 API is published at the root of its own host, `minio.<hub>`, with its own
/// certificate and no login in front (S3 clients sign their requests).
#[test]
fn the_s3_api_has_its_own_host() {
    let b = bundle(&WorkspaceSpec::test(), &Credentials::default());
    let ingress = b
        .objects()
        .find_map(|o| match o {
            Object::Ingress(i) if o.name() == "minio-s3" => Some(i),
            _ => None,
        })
        .expect("an Ingress for the S3 API");
    let spec = ingress.spec.as_ref().unwrap();
    let rule = &spec.rules.as_ref().unwrap()[0];
    assert_eq!(
        rule.host.as_deref(),
        Some("minio.brain-mri.maia.example.org")
    );
    let path = &rule.http.as_ref().unwrap().paths[0];
    assert_eq!(path.path.as_deref(), Some("/"));
    let backend = path.backend.service.as_ref().unwrap();
    assert_eq!(backend.name, "minio");
    assert_eq!(backend.port.as_ref().unwrap().number, Some(80));
    let annotations = ingress.metadata.annotations.as_ref().unwrap();
    assert!(annotations.contains_key("cert-manager.io/cluster-issuer"));
    assert!(!annotations.keys().any(|k| k.contains("auth-url")));
}

/// The secrets-checksum annotation of each pod template (Deployments) and of each chart
/// release's annotated pods, by name.
fn rollout_digests(b: &Bundle) -> std::collections::BTreeMap<String, String> {
    use maia_render::workspace::rollout::SECRETS_ANNOTATION;
    let mut out = std::collections::BTreeMap::new();
    for o in b.objects() {
        if let Object::Deployment(d) = o
            && let Some(v) = d
                .spec
                .as_ref()
                .and_then(|s| s.template.metadata.as_ref())
                .and_then(|m| m.annotations.as_ref())
                .and_then(|a| a.get(SECRETS_ANNOTATION))
        {
            out.insert(format!("deployment/{}", o.name()), v.clone());
        }
    }
    for c in &b.components {
        for r in &c.helm {
            for reader in &r.footprint.secret_readers {
                let mut at = &r.values;
                for k in &reader.annotations_at {
                    at = &at[*k];
                }
                if let Some(v) = at[SECRETS_ANNOTATION].as_str() {
                    out.insert(format!("helm/{}/{}", r.release, reader.pods), v.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn a_rotated_secret_changes_the_pod_templates_that_read_it_and_only_those() {
    let spec = WorkspaceSpec::test();
    let first = bundle(&spec, &Credentials::default());
    let before = rollout_digests(&first);
    // The proxy and the hub read the Keycloak client secret; Label Studio its password;
    // MySQL and MLflow theirs.
    for reader in [
        "helm/oauth2-proxy/proxy",
        "helm/label-studio/app",
        &format!("helm/jupyterhub-{}/hub", spec.namespace),
    ] {
        assert!(
            before.contains_key(reader),
            "{reader} not annotated: {before:?}"
        );
    }
    assert!(
        before
            .keys()
            .filter(|k| k.starts_with("deployment/"))
            .count()
            >= 2,
        "{before:?}"
    );
    // The digest tells nothing of the values.
    for (k, v) in &before {
        assert!(v.starts_with("sha256:") && v.len() == 23, "{k}: {v}");
        for secret in first.credentials.0.values() {
            assert!(!v.contains(secret.as_str()));
        }
    }

    // Same inputs, same digests.
    assert_eq!(rollout_digests(&bundle(&spec, &first.credentials)), before);

    // A new Keycloak client secret rolls exactly the pods that read it.
    let mut rotated = spec.clone();
    rotated.cluster.keycloak.as_mut().unwrap().client_secret = "rotated-client-secret".into();
    let after = rollout_digests(&bundle(&rotated, &first.credentials));
    let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(
        changed,
        [
            &"helm/jupyterhub-brain-mri/hub".to_string(),
            &"helm/oauth2-proxy/proxy".to_string()
        ]
    );

    // A new MySQL password rolls the Deployments reading MySQL's Secret.
    let mut kept = first.credentials.clone();
    kept.0
        .insert(keys::MYSQL_PASSWORD.into(), "another-password".into());
    let after = rollout_digests(&bundle(&spec, &kept));
    let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert!(!changed.is_empty());
    assert!(
        changed.iter().all(|k| k.starts_with("deployment/")),
        "{changed:?}"
    );
}
