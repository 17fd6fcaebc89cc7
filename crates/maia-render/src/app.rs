//! A custom application: ConfigMap (mount files), PersistentVolumeClaims, Service,
//! the Job or Deployment, and the Ingress — in that (apply) order. Also the Helm
//! values the original toolkit wrote for its `mkg` chart.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    LocalObjectReference, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, ResourceRequirements,
    SecretKeySelector, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use maia_spec::app::{
    AppSpec, IngressFlavour, MountFileContents, ServiceType, Workload, user_secret_env,
};
use serde_json::{Value, json};

use crate::error::RenderError;
use crate::labels::{app_labels, app_selector};
use crate::object::Object;

/// Label that NVIDIA GPU feature discovery puts on nodes, naming the GPU model.
pub(crate) const GPU_PRODUCT_LABEL: &str = "nvidia.com/gpu.product";
/// The extended resource of NVIDIA GPUs.
pub(crate) const GPU_RESOURCE: &str = "nvidia.com/gpu";

/// The container's name, as the mkg chart has it.
pub(crate) const CONTAINER: &str = "mkg";

/// Renders an application. `files` holds the contents of every mount file, keyed by
/// file name (see `LoadedApp::read_mount_files`).
pub fn render(spec: &AppSpec, files: &MountFileContents) -> Result<Vec<Object>, RenderError> {
    let mut objects = Vec::new();
    if let Some(cm) = config_map(spec, files)? {
        objects.push(cm.into());
    }
    objects.extend(spec.volumes.iter().map(|v| Object::from(claim(spec, v))));
    if let Some(svc) = service(spec) {
        objects.push(svc.into());
    }
    let mut workload = workload(spec);
    if let (Object::Deployment(d), Some(Object::ConfigMap(cm))) = (&mut workload, objects.first())
        && let Some(template) = d.spec.as_mut().map(|s| &mut s.template)
    {
        // The mount files are mounted with subPath, which the kubelet never refreshes:
        // a changed file must change the pod template for the Deployment to roll. (A
        // Job's template cannot change; it reads the files it started with.)
        template
            .metadata
            .get_or_insert_default()
            .annotations
            .get_or_insert_default()
            .insert(CONFIG_CHECKSUM.into(), files_digest(cm));
    }
    objects.push(workload);
    if let Some(ing) = ingress(spec) {
        objects.push(ing.into());
    }
    Ok(objects)
}

/// On an app Deployment's pod template: a digest of its mount files' ConfigMap.
pub const CONFIG_CHECKSUM: &str = "maia.cloud/config-checksum";

/// `sha256:` and 16 hex digits of the ConfigMap's data (names and contents).
fn files_digest(cm: &ConfigMap) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let text = cm.data.iter().flatten().map(|(k, v)| (k, v.as_bytes()));
    let binary = cm
        .binary_data
        .iter()
        .flatten()
        .map(|(k, v)| (k, v.0.as_slice()));
    for (name, content) in text.chain(binary) {
        hasher.update((name.len() as u64).to_be_bytes());
        hasher.update(name.as_bytes());
        hasher.update((content.len() as u64).to_be_bytes());
        hasher.update(content);
    }
    let digest = hasher.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn meta(spec: &AppSpec, name: impl Into<String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(spec.namespace.to_string()),
        labels: Some(app_labels(spec.release.as_str())),
        ..Default::default()
    }
}

fn config_map(spec: &AppSpec, files: &MountFileContents) -> Result<Option<ConfigMap>, RenderError> {
    let Some(mf) = &spec.mount_files else {
        return Ok(None);
    };
    let mut data = BTreeMap::new();
    let mut binary = BTreeMap::new();
    for f in &mf.files {
        let bytes = files
            .get(&f.file_name)
            .ok_or_else(|| RenderError::MissingMountFile {
                file: f.local_path.clone(),
            })?;
        match std::str::from_utf8(bytes) {
            Ok(text) => data.insert(f.file_name.clone(), text.to_string()),
            Err(_) => binary
                .insert(f.file_name.clone(), ByteString(bytes.clone()))
                .map(|_| String::new()),
        };
    }
    Ok(Some(ConfigMap {
        metadata: meta(spec, mf.config_map.as_str()),
        data: (!data.is_empty()).then_some(data),
        binary_data: (!binary.is_empty()).then_some(binary),
        ..Default::default()
    }))
}

fn claim(spec: &AppSpec, v: &maia_spec::app::VolumeSpec) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: meta(spec, v.claim_name.as_str()),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![v.access_mode.clone()]),
            storage_class_name: v.storage_class.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(v.size.to_string()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn service(spec: &AppSpec) -> Option<Service> {
    let svc = spec.service.as_ref()?;
    let ports = svc
        .ports
        .iter()
        .map(|p| ServicePort {
            name: Some(p.name.to_string()),
            port: p.port.into(),
            target_port: Some(IntOrString::Int(p.port.into())),
            node_port: p
                .node_port
                .filter(|_| svc.service_type != ServiceType::ClusterIP)
                .map(i32::from),
            ..Default::default()
        })
        .collect();
    Some(Service {
        metadata: meta(spec, spec.full_name.as_str()),
        spec: Some(ServiceSpec {
            type_: Some(svc.service_type.as_str().to_string()),
            selector: Some(app_selector(spec.release.as_str())),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn env(spec: &AppSpec) -> Vec<EnvVar> {
    let mut env = Vec::new();
    let secret_ref = |secret: &str, key: &str| {
        Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_string(),
                key: key.to_string(),
                optional: None,
            }),
            ..Default::default()
        })
    };
    if !spec.user_secrets.is_empty() {
        env.push(EnvVar {
            name: "n_users".into(),
            value: Some(spec.user_secrets.len().to_string()),
            value_from: None,
        });
        for (name, secret, key) in user_secret_env(&spec.user_secrets, &spec.user_secret_params) {
            env.push(EnvVar {
                name,
                value: None,
                value_from: secret_ref(secret, key),
            });
        }
    }
    env.extend(spec.secret_env.iter().map(|e| EnvVar {
        name: e.name.clone(),
        value: None,
        value_from: secret_ref(&e.secret, &e.key),
    }));
    env.extend(spec.env.iter().map(|(k, v)| EnvVar {
        name: k.clone(),
        value: Some(v.clone()),
        value_from: None,
    }));
    // Without a GPU request the NVIDIA runtime would otherwise expose every GPU of the node.
    if spec.gpus == 0 && !env.iter().any(|e| e.name == "NVIDIA_VISIBLE_DEVICES") {
        env.push(EnvVar {
            name: "NVIDIA_VISIBLE_DEVICES".into(),
            value: Some(String::new()),
            value_from: None,
        });
    }
    env
}

fn resources(spec: &AppSpec) -> Option<ResourceRequirements> {
    let mut requests = BTreeMap::new();
    if let Some(m) = &spec.memory {
        requests.insert("memory".to_string(), Quantity(m.to_string()));
    }
    if let Some(c) = &spec.cpu {
        requests.insert("cpu".to_string(), Quantity(c.to_string()));
    }
    let mut limits = requests.clone();
    if spec.gpus > 0 {
        limits.insert(GPU_RESOURCE.to_string(), Quantity(spec.gpus.to_string()));
    }
    if limits.is_empty() {
        return None;
    }
    Some(ResourceRequirements {
        requests: (!requests.is_empty()).then_some(requests),
        limits: Some(limits),
        ..Default::default()
    })
}

fn pod_spec(spec: &AppSpec, restart_never: bool) -> PodSpec {
    let mut mounts = vec![VolumeMount {
        name: "dshm".into(),
        mount_path: "/dev/shm".into(),
        ..Default::default()
    }];
    let mut volumes = vec![Volume {
        name: "dshm".into(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            ..Default::default()
        }),
        ..Default::default()
    }];
    // New claims and existing ones are mounted alike.
    let claims = spec
        .volumes
        .iter()
        .map(|v| {
            (
                &v.volume_name,
                &v.mount_path,
                v.read_only,
                v.claim_name.as_str(),
            )
        })
        .chain(spec.existing_volumes.iter().map(|v| {
            (
                &v.volume_name,
                &v.mount_path,
                v.read_only,
                v.claim_name.as_str(),
            )
        }));
    for (volume_name, mount_path, read_only, claim_name) in claims {
        mounts.push(VolumeMount {
            name: volume_name.clone(),
            mount_path: mount_path.clone(),
            read_only: read_only.filter(|r| *r),
            ..Default::default()
        });
        volumes.push(Volume {
            name: volume_name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name.to_string(),
                read_only: None,
            }),
            ..Default::default()
        });
    }
    if let Some(mf) = &spec.mount_files {
        // One volume for the ConfigMap; each file mounted at its own path.
        volumes.push(Volume {
            name: mf.config_map.to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: mf.config_map.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        });
        for f in &mf.files {
            mounts.push(VolumeMount {
                name: mf.config_map.to_string(),
                mount_path: f.mount_path.clone(),
                sub_path: Some(f.file_name.clone()),
                read_only: f.read_only.then_some(true),
                ..Default::default()
            });
        }
    }
    let mut node_selector = BTreeMap::new();
    if let Some(node) = &spec.node_name {
        node_selector.insert("kubernetes.io/hostname".to_string(), node.clone());
    }
    if let Some(product) = &spec.gpu_product {
        node_selector.insert(GPU_PRODUCT_LABEL.to_string(), product.clone());
    }
    PodSpec {
        containers: vec![Container {
            // The mkg chart names its container after itself (`.Chart.Name`); the same
            // name lets maia adopt a Deployment the old chart made without a restart.
            name: CONTAINER.to_string(),
            image: Some(spec.image.clone()),
            command: spec.command.clone(),
            args: spec.args.clone(),
            env: Some(env(spec)),
            resources: resources(spec),
            volume_mounts: Some(mounts),
            ..Default::default()
        }],
        volumes: Some(volumes),
        node_selector: (!node_selector.is_empty()).then_some(node_selector),
        image_pull_secrets: spec.image_pull_secret.as_ref().map(|s| {
            vec![LocalObjectReference {
                name: s.to_string(),
            }]
        }),
        restart_policy: restart_never.then(|| "Never".to_string()),
        ..Default::default()
    }
}

fn workload(spec: &AppSpec) -> Object {
    let template_meta = ObjectMeta {
        labels: Some(app_selector(spec.release.as_str())),
        ..Default::default()
    };
    match spec.workload {
        Workload::Deployment => Deployment {
            metadata: meta(spec, spec.full_name.as_str()),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                selector: LabelSelector {
                    match_labels: Some(app_selector(spec.release.as_str())),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(template_meta),
                    spec: Some(pod_spec(spec, false)),
                },
                ..Default::default()
            }),
            ..Default::default()
        }
        .into(),
        Workload::Job {
            active_deadline_seconds,
        } => Job {
            metadata: meta(spec, spec.full_name.as_str()),
            spec: Some(JobSpec {
                active_deadline_seconds: Some(active_deadline_seconds),
                backoff_limit: Some(0),
                ttl_seconds_after_finished: Some(0),
                template: PodTemplateSpec {
                    metadata: Some(template_meta),
                    spec: Some(pod_spec(spec, true)),
                },
                ..Default::default()
            }),
            ..Default::default()
        }
        .into(),
    }
}

fn ingress(spec: &AppSpec) -> Option<Ingress> {
    let ing = spec.ingress.as_ref()?;
    let name = format!("{}-ingress", spec.full_name);
    let mut annotations = BTreeMap::new();
    let mut tls = IngressTLS {
        hosts: Some(vec![ing.host.clone()]),
        secret_name: None,
    };
    let tls = match &ing.flavour {
        IngressFlavour::Nginx { issuer, oauth_url } => {
            annotations.insert("cert-manager.io/cluster-issuer".to_string(), issuer.clone());
            annotations.insert(
                "nginx.ingress.kubernetes.io/proxy-body-size".to_string(),
                "500m".to_string(),
            );
            annotations.insert(
                "nginx.ingress.kubernetes.io/enable-cors".to_string(),
                "true".to_string(),
            );
            if let Some(oauth) = oauth_url {
                annotations.insert(
                    "nginx.ingress.kubernetes.io/auth-signin".to_string(),
                    format!("https://{oauth}/oauth2/start?rd=https://$host$uri"),
                );
                annotations.insert(
                    "nginx.ingress.kubernetes.io/auth-url".to_string(),
                    format!(
                        "http://oauth2-proxy.{}.svc.cluster.local:80/oauth2/auth",
                        spec.namespace
                    ),
                );
            }
            tls.secret_name = Some(format!("{name}-tls"));
            Some(tls)
        }
        IngressFlavour::Traefik {
            resolver,
            middleware,
        } => {
            annotations.insert(
                "traefik.ingress.kubernetes.io/router.entrypoints".to_string(),
                "websecure".to_string(),
            );
            annotations.insert(
                "traefik.ingress.kubernetes.io/router.tls".to_string(),
                "true".to_string(),
            );
            if let Some(r) = resolver {
                annotations.insert(
                    "traefik.ingress.kubernetes.io/router.tls.certresolver".to_string(),
                    r.clone(),
                );
            }
            if let Some(m) = middleware {
                // A reference that already names its provider (`auth@file`) is kept as written.
                let reference = if m.contains('@') {
                    m.clone()
                } else {
                    format!("{m}@kubernetescrd")
                };
                annotations.insert(
                    "traefik.ingress.kubernetes.io/router.middlewares".to_string(),
                    reference,
                );
            }
            Some(tls)
        }
        IngressFlavour::Plain => None,
    };
    let mut metadata = meta(spec, name);
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            rules: Some(vec![IngressRule {
                host: Some(ing.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some(ing.path.clone()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: spec.full_name.to_string(),
                                port: Some(ServiceBackendPort {
                                    number: Some(ing.port.into()),
                                    name: None,
                                }),
                            }),
                            resource: None,
                        },
                    }],
                }),
            }]),
            tls: tls.map(|t| vec![t]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The Helm values the original `MAIA_deploy_helm_chart --print-helm-values-only`
/// writes for the `mkg` chart, with our deliberate fixes (hours of 3600 s, every
/// mount file, ports as numbers, one leading `/` once the chart adds its own).
pub fn helm_values(spec: &AppSpec) -> Value {
    let mut v = serde_json::Map::new();
    v.insert(
        "image".into(),
        json!({"repository": spec.image_repository, "tag": spec.image_tag}),
    );

    let mut mounts = vec![json!({"name": "dshm", "mountPath": "/dev/shm"})];
    let mut requests = serde_json::Map::new();
    if let Some(m) = &spec.memory {
        requests.insert("memory".into(), json!(m.as_str()));
    }
    if let Some(c) = &spec.cpu {
        requests.insert("cpu".into(), json!(c.as_str()));
    }
    let mut resources = serde_json::Map::new();
    if !requests.is_empty() {
        resources.insert("requests".into(), Value::Object(requests.clone()));
        resources.insert("limits".into(), Value::Object(requests));
    }
    v.insert(
        "allocatedTime".into(),
        json!(spec.allocation_seconds.unwrap_or(0)),
    );
    if spec.gpus > 0 {
        let limits = resources.entry("limits").or_insert_with(|| json!({}));
        limits[GPU_RESOURCE] = json!(spec.gpus);
        v.insert("gpus".into(), json!(spec.gpus));
    }
    if !resources.is_empty() {
        v.insert("resources".into(), Value::Object(resources));
    }
    if !spec.volumes.is_empty() {
        let pvs: Vec<Value> = spec
            .volumes
            .iter()
            .map(|p| {
                let mut o = json!({"mountPath": p.mount_path, "size": p.size.as_str(), "access_mode": p.access_mode});
                if let Some(sc) = &p.storage_class {
                    o["pvc_type"] = json!(sc);
                }
                if let Some(ro) = p.read_only {
                    o["readOnly"] = json!(ro);
                }
                o
            })
            .collect();
        v.insert("persistentVolume".into(), Value::Array(pvs));
    }
    if !spec.existing_volumes.is_empty() {
        let evs: Vec<Value> = spec
            .existing_volumes
            .iter()
            .map(|p| {
                let mut o = json!({"name": p.claim_name.as_str(), "mountPath": p.mount_path});
                if let Some(ro) = p.read_only {
                    o["readOnly"] = json!(ro);
                }
                o
            })
            .collect();
        v.insert("existingPersistentVolume".into(), Value::Array(evs));
    }
    let mut extra_env: Vec<Value> = Vec::new();
    if !spec.user_secrets.is_empty() {
        extra_env.push(json!({"name": "n_users", "value": spec.user_secrets.len().to_string()}));
        v.insert(
            "user_secrets".into(),
            json!(
                spec.user_secrets
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
            ),
        );
        for (name, secret, key) in user_secret_env(&spec.user_secrets, &spec.user_secret_params) {
            extra_env.push(
                json!({"name": name, "valueFrom": {"secretKeyRef": {"key": key, "name": secret}}}),
            );
        }
    }
    extra_env.extend(spec.secret_env.iter().map(|e| {
        json!({"name": e.name, "valueFrom": {"secretKeyRef": {"key": e.key, "name": e.secret}}})
    }));
    if let Some(mf) = &spec.mount_files {
        let mut cm_volumes = Vec::new();
        for f in &mf.files {
            mounts.push(
                json!({"name": f.volume_name, "mountPath": f.mount_path, "readOnly": f.read_only}),
            );
            cm_volumes.push(json!({
                "name": f.volume_name,
                "configMapName": mf.config_map.as_str(),
                "configMapFile": f.file_name,
                "configMapPath": f.file_name,
            }));
        }
        v.insert("extraConfigMapVolumes".into(), Value::Array(cm_volumes));
    }
    v.insert("extraVolumeMounts".into(), Value::Array(mounts));
    extra_env.extend(
        spec.env
            .iter()
            .map(|(k, val)| json!({"name": k, "value": val})),
    );
    if !extra_env.is_empty() {
        v.insert("extraEnv".into(), Value::Array(extra_env));
    }
    if let Some(svc) = &spec.service {
        v.insert("serviceEnabled".into(), json!("True"));
        let ports: Vec<Value> = svc
            .ports
            .iter()
            .map(|p| {
                let mut o = json!({"port": p.port, "targetPort": p.port, "name": p.name.as_str()});
                if let (Some(np), true) = (p.node_port, svc.service_type != ServiceType::ClusterIP)
                {
                    o["nodePort"] = json!(np);
                }
                o
            })
            .collect();
        v.insert(
            "service".into(),
            json!({"type": svc.service_type.as_str(), "ports": ports}),
        );
    }
    if let Some(ing) = &spec.ingress {
        let mut o = json!({"host": ing.host, "port": ing.port});
        // The chart writes `/{{ path }}`; giving it the path without its slash yields one.
        let path = ing.path.trim_start_matches('/');
        if !path.is_empty() {
            o["path"] = json!(path);
        }
        // The mkg chart renders its Ingress only when the flavour's `enabled` is true
        // (both default to false).
        match &ing.flavour {
            IngressFlavour::Nginx { issuer, oauth_url } => {
                o["nginx"] = json!({"enabled": true});
                o["nginx_issuer"] = json!(issuer);
                if let Some(u) = oauth_url {
                    o["oauth_url"] = json!(u);
                }
            }
            IngressFlavour::Traefik {
                resolver,
                middleware,
            } => {
                o["traefik"] = json!({"enabled": true});
                if let Some(r) = resolver {
                    o["traefik_resolver"] = json!(r);
                }
                if let Some(m) = middleware {
                    o["traefik_middleware"] = json!(m);
                }
            }
            IngressFlavour::Plain => {}
        }
        v.insert("ingress".into(), o);
    }
    if let Some(node) = &spec.node_name {
        v.insert("nodeSelected".into(), json!(node));
    }
    if let Some(product) = &spec.gpu_product {
        v.insert("gpuSelected".into(), json!({"product": product}));
    }
    if spec.workload == Workload::Deployment {
        v.insert("deploy_as_job".into(), json!(false));
    }
    if let Some(cmd) = &spec.command {
        v.insert("command".into(), json!(cmd));
    }
    if let Some(s) = &spec.image_pull_secret {
        v.insert("imagePullSecrets".into(), json!([{"name": s.as_str()}]));
    }
    Value::Object(v)
}
