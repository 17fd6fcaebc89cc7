//! The objects that run the portal in the cluster (`maia serve --print-manifests`): a
//! pure function of the checked cluster config, as typed Kubernetes objects.
//!
//! The cluster config itself holds secrets (the registry password, the shared Keycloak
//! client's secret), so it is not rendered here: the Deployment mounts it from a Secret
//! the admin creates (`kubectl -n maia-system create secret generic maia-portal-config
//! --from-file=cluster.yaml`), and takes the portal client's secret from the Secret
//! `maia-portal-oidc` (key `client-secret`) as `MAIA_PORTAL_CLIENT_SECRET`.

use std::collections::BTreeMap;

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile, SecretKeySelector,
    SecretVolumeSource, SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, Volume,
    VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use maia_spec::workspace::{ClusterSpec, IngressController, Portal};
use serde::Serialize;

use crate::PortalError;

/// The name of every object of the portal.
pub const NAME: &str = "maia-portal";
/// The port the portal listens on in its pod.
pub const PORT: i32 = 8080;
/// The Secret holding the cluster config (key `cluster.yaml`), made by the admin.
pub const CONFIG_SECRET: &str = "maia-portal-config";
/// The Secret holding the portal client's secret (key `client-secret`), made by the admin.
pub const OIDC_SECRET: &str = "maia-portal-oidc";

/// Where and from what image the portal runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestOptions {
    /// The namespace of the portal's objects (`maia-system`).
    pub namespace: String,
    /// The image of the maia binary (`ghcr.io/maia-rs/maia:0.1.0`).
    pub image: String,
}

/// The portal's objects, in the order they are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifests {
    /// The identity the portal calls the API server with.
    pub service_account: ServiceAccount,
    /// What that identity may do: see [`rules`].
    pub cluster_role: ClusterRole,
    /// The ClusterRole granted to the ServiceAccount.
    pub cluster_role_binding: ClusterRoleBinding,
    /// One replica of `maia serve` (the SQLite store is one process's).
    pub deployment: Deployment,
    /// The portal's Service.
    pub service: Service,
    /// The Ingress of `portal.url`'s host, with TLS as the cluster's other Ingresses.
    pub ingress: Ingress,
}

impl Manifests {
    /// Each object as `(apiVersion, kind, JSON)`.
    pub fn to_json(
        &self,
    ) -> Result<Vec<(&'static str, &'static str, serde_json::Value)>, PortalError> {
        fn one<T: Resource + Serialize>(
            o: &T,
        ) -> Result<(&'static str, &'static str, serde_json::Value), PortalError> {
            let mut value = serde_json::to_value(o).map_err(PortalError::Json)?;
            if let Some(map) = value.as_object_mut() {
                map.insert("apiVersion".into(), T::API_VERSION.into());
                map.insert("kind".into(), T::KIND.into());
            }
            Ok((T::API_VERSION, T::KIND, value))
        }
        Ok(vec![
            one(&self.service_account)?,
            one(&self.cluster_role)?,
            one(&self.cluster_role_binding)?,
            one(&self.deployment)?,
            one(&self.service)?,
            one(&self.ingress)?,
        ])
    }

    /// The objects as a YAML stream (`---` between documents).
    pub fn to_yaml(&self) -> Result<String, PortalError> {
        let mut out = String::new();
        for (i, (_, _, value)) in self.to_json()?.into_iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            out.push_str(&yaml_serde::to_string(&value).map_err(PortalError::Yaml)?);
        }
        Ok(out)
    }
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), NAME.to_string()),
        ("app.kubernetes.io/part-of".to_string(), "maia".to_string()),
    ])
}

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels()),
        ..Default::default()
    }
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
    PolicyRule {
        api_groups: strings(groups),
        resources: strings(resources),
        verbs: strings(verbs).unwrap_or_default(),
        ..Default::default()
    }
}

/// Reading, applying (server-side apply is `patch`), replacing and deleting.
const WRITE: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const READ: &[&str] = &["get", "list", "watch"];

/// The ClusterRole's rules: what the engine calls to read and deploy workspaces, and
/// nothing else (no `*`, no `escalate`, `bind` or `impersonate`, no nodes, no CRDs, no
/// cluster RBAC). Workspaces are namespaces of their own, so the rules are cluster-wide.
/// The list follows the deploy's own permission preflight (maia-deploy's
/// `workspace::preflight`) and the members' Role the workspace renders
/// (`maia_render::workspace::tenancy::member_rules`): the API server lets maia grant
/// only what maia holds itself, so every verb that Role gives is here too (a test
/// checks it).
pub fn rules() -> Vec<PolicyRule> {
    vec![
        // `namespace deploy` creates the workspace's namespace (server-side apply is
        // `patch`), `list`/`status` find workspaces by label, `delete` removes one.
        rule(&[""], &["namespaces"], WRITE),
        // The workspace's objects, applied, read back for status and pruned; Secrets
        // also hold maia's state in maia-system and Helm's release records. Pods:
        // the members' Role grants them all (and the portal will list them).
        rule(
            &[""],
            &[
                "pods",
                "secrets",
                "configmaps",
                "services",
                "persistentvolumeclaims",
                "resourcequotas",
                "limitranges",
            ],
            WRITE,
        ),
        // The JupyterHub chart's own ServiceAccounts (hub, user scheduler).
        rule(&[""], &["serviceaccounts"], WRITE),
        // Held only because the members' Role grants them (kubectl exec, attach and
        // port-forward in their own namespace); maia itself never calls them.
        rule(
            &[""],
            &["pods/exec", "pods/attach", "pods/portforward"],
            &["get", "create"],
        ),
        // Status, logs (tail) and why a pod waits; the members' Role grants the same.
        rule(&[""], &["pods/log", "events", "endpoints"], READ),
        // Workloads of the workspace and the hub; StatefulSets and CronJobs because
        // the members' Role grants them; ReplicaSets read for rollout status.
        rule(&["apps"], &["deployments", "statefulsets"], WRITE),
        rule(&["apps"], &["replicasets"], READ),
        // One-off Jobs of a deploy (the MinIO environment upload); members' CronJobs.
        rule(&["batch"], &["jobs", "cronjobs"], WRITE),
        // Ingresses of every component and the workspace's NetworkPolicies.
        rule(
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
            WRITE,
        ),
        // The preflight checks that the ingress and storage classes named exist.
        rule(
            &["networking.k8s.io"],
            &["ingressclasses"],
            &["get", "list"],
        ),
        rule(&["storage.k8s.io"], &["storageclasses"], &["get", "list"]),
        // The JupyterHub chart's PodDisruptionBudgets.
        rule(&["policy"], &["poddisruptionbudgets"], WRITE),
        // The members' Role and RoleBinding in their namespace (and the chart's).
        rule(
            &["rbac.authorization.k8s.io"],
            &["roles", "rolebindings"],
            WRITE,
        ),
        // The workspace's admission guard (cluster-scoped) and its binding.
        rule(
            &["admissionregistration.k8s.io"],
            &[
                "validatingadmissionpolicies",
                "validatingadmissionpolicybindings",
            ],
            WRITE,
        ),
        // The deploy lock: a Lease per workspace in maia-system.
        rule(&["coordination.k8s.io"], &["leases"], WRITE),
        // The preflight asks the API server what maia may do.
        rule(
            &["authorization.k8s.io"],
            &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            &["create"],
        ),
        // The workspace's MinIO tenant and, on Traefik clusters, its middlewares.
        rule(&["minio.min.io"], &["tenants"], WRITE),
        rule(&["traefik.io"], &["middlewares"], WRITE),
    ]
}

/// The portal's objects for the checked cluster config and its `portal` section.
pub fn manifests(cluster: &ClusterSpec, portal: &Portal, options: &ManifestOptions) -> Manifests {
    let ns = Some(options.namespace.as_str());
    let selector = BTreeMap::from([("app.kubernetes.io/name".to_string(), NAME.to_string())]);
    let service_account = ServiceAccount {
        metadata: meta(NAME, ns),
        automount_service_account_token: Some(true),
        ..Default::default()
    };
    let cluster_role = ClusterRole {
        metadata: meta(NAME, None),
        rules: Some(rules()),
        ..Default::default()
    };
    let cluster_role_binding = ClusterRoleBinding {
        metadata: meta(NAME, None),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: NAME.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: NAME.into(),
            namespace: Some(options.namespace.clone()),
            ..Default::default()
        }]),
    };
    let probe = |period| Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".into()),
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        ..Default::default()
    };
    let container = Container {
        name: "portal".into(),
        image: Some(options.image.clone()),
        args: Some(
            [
                "serve",
                "--cluster-config-file",
                "/etc/maia/cluster.yaml",
                "--listen",
                "0.0.0.0:8080",
            ]
            .map(String::from)
            .to_vec(),
        ),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: PORT,
            ..Default::default()
        }]),
        env: Some(vec![EnvVar {
            name: "MAIA_PORTAL_CLIENT_SECRET".into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: OIDC_SECRET.into(),
                    key: "client-secret".into(),
                    optional: Some(true),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        volume_mounts: Some(vec![VolumeMount {
            name: "config".into(),
            mount_path: "/etc/maia".into(),
            read_only: Some(true),
            ..Default::default()
        }]),
        readiness_probe: Some(probe(10)),
        liveness_probe: Some(probe(30)),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let deployment = Deployment {
        metadata: meta(NAME, ns),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels()),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(NAME.into()),
                    containers: vec![container],
                    volumes: Some(vec![Volume {
                        name: "config".into(),
                        secret: Some(SecretVolumeSource {
                            secret_name: Some(CONFIG_SECRET.into()),
                            default_mode: Some(0o400),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(65_532),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let service = Service {
        metadata: meta(NAME, ns),
        spec: Some(ServiceSpec {
            selector: Some(selector),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(IntOrString::String("http".into())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut annotations = BTreeMap::new();
    let mut tls = IngressTLS {
        hosts: Some(vec![portal.host.clone()]),
        secret_name: None,
    };
    match &cluster.ingress {
        IngressController::Nginx { cluster_issuer } => {
            annotations.insert(
                "cert-manager.io/cluster-issuer".to_string(),
                cluster_issuer.clone(),
            );
            tls.secret_name = Some(format!("{NAME}-tls"));
        }
        IngressController::Traefik { resolver } => {
            for (k, v) in [
                ("router.entrypoints", "websecure"),
                ("router.tls", "true"),
                ("router.tls.certresolver", resolver.as_str()),
            ] {
                annotations.insert(format!("traefik.ingress.kubernetes.io/{k}"), v.to_string());
            }
        }
    }
    let ingress = Ingress {
        metadata: ObjectMeta {
            annotations: Some(annotations),
            ..meta(NAME, ns)
        },
        spec: Some(IngressSpec {
            ingress_class_name: Some(cluster.ingress_class().to_string()),
            tls: Some(vec![tls]),
            rules: Some(vec![IngressRule {
                host: Some(portal.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: NAME.into(),
                                port: Some(ServiceBackendPort {
                                    name: Some("http".into()),
                                    ..Default::default()
                                }),
                            }),
                            ..Default::default()
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    Manifests {
        service_account,
        cluster_role,
        cluster_role_binding,
        deployment,
        service,
        ingress,
    }
}
