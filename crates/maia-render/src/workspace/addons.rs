//! Step 11, the original's `maia-addons` chart: per member an SSH Service and a
//! Service for the workspace's remote desktop and Jupyter ports; and (full install)
//! the nginx proxy that gives MinIO, MLflow, Label Studio and KubeFlow a path on the
//! hub host, with its Ingresses.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, PodSpec, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use maia_spec::workspace::{SshExposure, WorkspaceSpec, member_name};

use super::ingress::{Access, Route, auth_middleware, hub_ingress, own_host_ingress};
use super::meta::{self, deployment, image_pull_secrets, meta, single};
use super::{Component, Ctx, Output};
use crate::error::RenderError;
use crate::object::Object;

const COMPONENT: &str = "addons";
/// The label kubespawner puts on a member's workspace pod.
const USERNAME_LABEL: &str = "hub.jupyter.org/username";
/// Port the workspace image's sshd listens on.
const WORKSPACE_SSH_PORT: i32 = 2022;
/// The only login account inside every workspace (JupyterHub's `NB_USER`).
pub(crate) const WORKSPACE_ACCOUNT: &str = "maia-user";
const NGINX: &str = "nginx";
/// Services the nginx proxy reaches, named by the components that create them.
const MLFLOW_SERVICE: &str = "mlflow-v1-mkg";

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let mut objects: Vec<Object> = Vec::new();
    let mut outputs = Vec::new();

    for user in &spec.users {
        // Valid for every e-mail, and the label the hub gives the member's pod (told
        // to it by the JupyterHub component where it is not the hub's own escaping).
        let jh_user = member_name(user);
        let port = ctx
            .ssh_ports
            .port(user)
            .ok_or_else(|| RenderError::MissingSshPort { user: user.clone() })?;
        objects.push(ssh_service(spec, &jh_user, port).into());
        objects.push(jupyter_service(spec, &jh_user).into());
        outputs.push(Output::new(format!("JupyterHub user {user}"), &jh_user));
        outputs.push(Output::new(format!("SSH {user}"), ssh_command(spec, port)));
    }

    let mut depends_on = vec!["namespace"];
    if !spec.minimal {
        // nginx resolves its upstreams when it starts, so the Services it proxies to
        // must exist first; the OAuth2 proxy guards its paths.
        depends_on.extend([
            "oauth2_proxy",
            "minio",
            "mlflow",
            "label_studio",
            "kubeflow",
        ]);
        // The original's addons chart carried the Traefik auth Middleware too; every
        // component guarded by OAuth2 on Traefik refers to it.
        objects.extend(auth_middleware(spec, COMPONENT));
        objects.push(nginx_proxy(spec).into());
        objects.push(nginx_service(spec).into());
        objects.extend(proxy_ingresses(spec).into_iter().map(Object::from));
    }

    Ok(Component {
        name: "addons",
        objects,
        outputs,
        depends_on,
        ..Default::default()
    })
}

/// How a member reaches their workspace: the summary, the addons' outputs and
/// `maia namespace status` all print this.
pub fn ssh_command_for(host: &str, port: u16) -> String {
    format!("ssh -p {port} {WORKSPACE_ACCOUNT}@{host}")
}

fn ssh_command(spec: &WorkspaceSpec, port: u16) -> String {
    ssh_command_for(&spec.cluster.ssh_hostname, port)
}

/// `<jhuser>-ssh`: the member's sshd, on their own port.
pub(crate) fn ssh_service(spec: &WorkspaceSpec, jh_user: &str, port: u16) -> Service {
    let mut metadata = meta(spec, COMPONENT, format!("{jh_user}-ssh"));
    let mut service_spec = ServiceSpec {
        selector: Some(single(USERNAME_LABEL, jh_user)),
        ports: Some(vec![ServicePort {
            name: Some("ssh".into()),
            protocol: Some("TCP".into()),
            port: i32::from(port),
            target_port: Some(IntOrString::Int(WORKSPACE_SSH_PORT)),
            ..Default::default()
        }]),
        ..Default::default()
    };
    match &spec.cluster.ssh {
        SshExposure::NodePort => {
            service_spec.type_ = Some("NodePort".into());
            // The port users connect to is the node port; pinning it is what makes
            // the allocation (and the SSH command we print) hold.
            if let Some(p) = service_spec.ports.as_mut().and_then(|p| p.first_mut()) {
                p.node_port = Some(i32::from(port));
            }
        }
        SshExposure::LoadBalancer {
            ip,
            pool,
            shared_ip,
        } => {
            service_spec.type_ = Some("LoadBalancer".into());
            service_spec.load_balancer_ip = Some(ip.clone());
            let mut annotations = BTreeMap::new();
            if let Some(key) = shared_ip {
                annotations.insert("metallb.universe.tf/allow-shared-ip".into(), key.clone());
            }
            if let Some(pool) = pool {
                annotations.insert(
                    "metallb.universe.tf/ip-allocated-from-pool".into(),
                    pool.clone(),
                );
            }
            metadata.annotations = (!annotations.is_empty()).then_some(annotations);
        }
    }
    Service {
        metadata,
        spec: Some(service_spec),
        ..Default::default()
    }
}

/// `jupyter-<jhuser>`: the workspace's remote desktop (80) and Jupyter (8888) ports.
pub(crate) fn jupyter_service(spec: &WorkspaceSpec, jh_user: &str) -> Service {
    let port = |name: &str, port: i32| ServicePort {
        name: Some(name.into()),
        protocol: Some("TCP".into()),
        port,
        target_port: Some(IntOrString::Int(port)),
        ..Default::default()
    };
    Service {
        metadata: meta(spec, COMPONENT, format!("jupyter-{jh_user}")),
        spec: Some(ServiceSpec {
            selector: Some(single(USERNAME_LABEL, jh_user)),
            ports: Some(vec![
                port("remote-desktop-port", 80),
                port("jupyter-port", 8888),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The nginx proxy's environment: where each service is and under which path.
fn proxy_env(spec: &WorkspaceSpec) -> Vec<EnvVar> {
    [
        ("MINIO_CONSOLE", format!("{}-console", spec.namespace)),
        ("MINIO_CONSOLE_PATH", spec.service_path("minio-console")),
        ("MLFLOW", MLFLOW_SERVICE.to_string()),
        ("MLFLOW_PATH", spec.service_path("mlflow")),
        ("LABEL_STUDIO_PATH", spec.service_path("label-studio")),
        ("KUBEFLOW_PATH", spec.service_path("kubeflow")),
        ("MINIO_PATH", spec.service_path("minio")),
    ]
    .into_iter()
    .map(|(name, value)| EnvVar {
        name: name.into(),
        value: Some(value),
        ..Default::default()
    })
    .collect()
}

fn nginx_proxy(spec: &WorkspaceSpec) -> Deployment {
    // The selector of the original chart's Deployment, so it can be adopted.
    let selector = single("app", NGINX);
    deployment(
        spec,
        COMPONENT,
        NGINX,
        &selector,
        PodSpec {
            containers: vec![Container {
                name: NGINX.into(),
                image: Some(spec.maia.nginx_proxy_image.clone()),
                env: Some(proxy_env(spec)),
                ports: Some(vec![ContainerPort {
                    name: Some("http".into()),
                    container_port: 80,
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            image_pull_secrets: image_pull_secrets(spec),
            ..Default::default()
        },
    )
}

fn nginx_service(spec: &WorkspaceSpec) -> Service {
    meta::http_service(spec, COMPONENT, NGINX, single("app", NGINX))
}

/// One Ingress per proxied service, named as the original's. MLflow, KubeFlow and
/// the MinIO console go behind OAuth2 (the first two have no login at all; the
/// console keeps its own Keycloak login behind it). The S3 API (`minio`) and Label
/// Studio stay open: S3 clients sign their requests and cannot follow an OAuth2
/// redirect, and Label Studio has its own accounts and API tokens.
fn proxy_ingresses(spec: &WorkspaceSpec) -> Vec<k8s_openapi::api::networking::v1::Ingress> {
    let mut ingresses: Vec<_> = [
        ("minio-console", Access::OAuth2),
        ("minio", Access::Public),
        ("mlflow", Access::OAuth2),
        ("label-studio", Access::Public),
        ("kubeflow", Access::OAuth2),
    ]
    .into_iter()
    .map(|(service, access)| {
        hub_ingress(
            spec,
            COMPONENT,
            service,
            vec![Route::new(spec.service_path(service), NGINX, 80)],
            access,
        )
    })
    .collect();
    // S3 clients need the API at a host's root: `minio.<hub>` → the tenant's `minio`
    // Service, as the original published it. Where groups share the domain (subpath),
    // `minio.<domain>` would be every group's host (each group's Ingress serving it):
    // there it is `<namespace>-minio.<domain>`, as Label Studio's is.
    ingresses.push(own_host_ingress(
        spec,
        COMPONENT,
        S3_INGRESS,
        format!("{}.{}", spec.service_path("minio"), spec.hub_host()),
        "minio",
        80,
    ));
    ingresses
}

/// The Ingress of the S3 API on its own host.
pub(crate) const S3_INGRESS: &str = "minio-s3";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::render_one;

    #[test]
    fn snapshots() {
        crate::snapshot_variants!(render);
    }

    fn json(s: &Service) -> serde_json::Value {
        serde_json::to_value(s).unwrap()
    }

    #[test]
    fn nodeport_ssh_pins_the_node_port_to_the_allocated_port() {
        let spec = WorkspaceSpec::test();
        let v = json(&ssh_service(&spec, "alice-40example-2eorg", 30105));
        assert_eq!(v["metadata"]["name"], "alice-40example-2eorg-ssh");
        assert_eq!(v["spec"]["type"], "NodePort");
        assert_eq!(v["spec"]["ports"][0]["port"], 30105);
        assert_eq!(v["spec"]["ports"][0]["nodePort"], 30105);
        assert_eq!(v["spec"]["ports"][0]["targetPort"], 2022);
        assert_eq!(
            v["spec"]["selector"]["hub.jupyter.org/username"],
            "alice-40example-2eorg"
        );
        assert!(v["spec"].get("loadBalancerIP").is_none());
        assert!(v["metadata"].get("annotations").is_none());
    }

    #[test]
    fn loadbalancer_ssh_shares_the_metallb_address() {
        let spec = WorkspaceSpec::test().with_traefik_subpath_loadbalancer();
        let v = json(&ssh_service(&spec, "alice-40example-2eorg", 2022));
        assert_eq!(v["spec"]["type"], "LoadBalancer");
        assert_eq!(v["spec"]["loadBalancerIP"], "192.0.2.10");
        assert_eq!(v["spec"]["ports"][0]["port"], 2022);
        assert!(v["spec"]["ports"][0].get("nodePort").is_none());
        let a = &v["metadata"]["annotations"];
        assert_eq!(a["metallb.universe.tf/allow-shared-ip"], "maia-ssh");
        assert_eq!(a["metallb.universe.tf/ip-allocated-from-pool"], "maia-pool");
    }

    #[test]
    fn every_member_gets_their_port_and_ssh_command() {
        let spec = WorkspaceSpec::test();
        let (c, _) = render_one(render, &spec);
        let ports = crate::workspace::testing::first_ports(&spec);
        for user in &spec.users {
            let port = ports.port(user).unwrap();
            let ssh = c
                .outputs
                .iter()
                .find(|o| o.label == format!("SSH {user}"))
                .unwrap();
            assert_eq!(
                ssh.value,
                format!("ssh -p {port} maia-user@ssh.maia.example.org")
            );
            let svc = c
                .objects
                .iter()
                .find(|o| o.name() == format!("{}-ssh", member_name(user)))
                .unwrap();
            assert_eq!(svc.to_json().unwrap()["spec"]["ports"][0]["port"], port);
        }
    }

    #[test]
    fn minimal_keeps_only_the_members_services() {
        let (c, _) = render_one(render, &WorkspaceSpec::test().minimal());
        assert!(c.objects.iter().all(|o| o.kind() == "Service"));
        assert_eq!(c.objects.len(), 4);
    }

    /// Issue 16: an address whose escaped form is too long for a Service name (60
    /// characters here) is a member all the same.
    #[test]
    fn a_long_address_gets_a_shortened_name_for_both_services() {
        let mut spec = WorkspaceSpec::test().minimal();
        spec.users = vec!["anna-karin.lindqvist-johansson@sll.karolinska.se".into()];
        let (c, _) = render_one(render, &spec);
        let name = member_name(&spec.users[0]);
        assert!(name.len() <= maia_spec::workspace::member::MEMBER_NAME_MAX);
        let names: Vec<String> = c.objects.iter().map(|o| o.name().to_string()).collect();
        assert_eq!(names, [format!("{name}-ssh"), format!("jupyter-{name}")]);
    }

    #[test]
    fn a_member_without_a_port_is_an_error_not_a_panic() {
        let spec = WorkspaceSpec::test();
        let kept = crate::workspace::Credentials::default();
        let mut source = crate::workspace::credentials::CountingSource::default();
        let mut store = crate::workspace::CredentialStore::new(&kept, &mut source);
        let none = crate::workspace::SshPorts::default();
        let mut ctx = Ctx {
            spec: &spec,
            credentials: &mut store,
            ssh_ports: &none,
            env_file: None,
        };
        assert!(matches!(
            render(&mut ctx),
            Err(RenderError::MissingSshPort { .. })
        ));
    }
}
