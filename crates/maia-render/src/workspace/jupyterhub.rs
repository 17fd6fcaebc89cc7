//! Step 12: the group's hub, from the Zero-to-JupyterHub chart (3.x values schema):
//! Keycloak login for the group, one workspace profile, the members' SSH ports,
//! MinIO/MLflow settings and the `shared` claim in every workspace.

use maia_spec::workspace::{UrlType, WorkspaceSpec, member};
use serde_json::{Map, Value, json};

use super::addons::WORKSPACE_ACCOUNT;
use super::credentials::keys::{MINIO_ACCESS_KEY, MINIO_SECRET_KEY};
use super::ingress::{certificate_annotations, hub_tls_secret, tls_values};
use super::meta::secret;
use super::{Component, Ctx, HelmRelease, Output};
use crate::app::GPU_RESOURCE;
use crate::error::RenderError;

const HOME: &str = "/home/maia-user";
/// Our Secret with the MinIO keys every workspace gets.
pub(crate) const MINIO_KEYS_SECRET: &str = "workspace-minio-keys";
/// MinIO key lengths, should the hub be the first to ask (MinIO renders first).
const MINIO_ACCESS_KEY_LEN: usize = 20;
const MINIO_SECRET_KEY_LEN: usize = 40;

pub(crate) fn release(spec: &WorkspaceSpec) -> String {
    // One definition with validation's, which holds it to helm's 53 characters.
    maia_spec::names::hub_release(spec.namespace.as_str())
}

/// `hub.baseUrl`: `/<group_subdomain>-hub` where groups share the host; a cluster
/// `base_url` overrides it (the original wrote that to `hub.base_url`, a key the
/// 3.x schema rejects).
fn base_url(spec: &WorkspaceSpec) -> Option<String> {
    spec.cluster
        .base_url
        .clone()
        .or_else(|| match spec.cluster.url_type {
            UrlType::Subdomain => None,
            UrlType::Subpath => Some(format!("/{}-hub", spec.subdomain)),
        })
}

/// The hub's public URL.
pub(crate) fn url(spec: &WorkspaceSpec) -> String {
    let base = base_url(spec).unwrap_or_default();
    format!("https://{}{}/", spec.hub_host(), base.trim_end_matches('/'))
}

/// Where JupyterHub serves its OAuth callback: the hub's own prefix is
/// `<baseUrl>/hub/`, so the callback moves with `hub.baseUrl` (subpath groups, a
/// cluster `base_url`). The original registered `https://<domain>/<sub>-hub/oauth_callback`,
/// a path the hub does not serve.
pub(crate) fn oauth_callback_url(spec: &WorkspaceSpec) -> String {
    format!("{}hub/oauth_callback", url(spec))
}

/// `SSH_PORT_<e-mail with @ → __at__>`, the variable the workspace image reads to
/// tell each member their port.
pub(crate) fn ssh_port_env_name(email: &str) -> String {
    format!("SSH_PORT_{}", email.replace('@', "__at__"))
}

/// Whether every cluster takes `name` as an environment variable: Kubernetes before
/// 1.32 (or without RelaxedEnvironmentVariableValidation) allows `[-._a-zA-Z]`
/// followed by `[-._a-zA-Z0-9]` only. Every member's pod gets every member's
/// variable, so one refused name (`+`, a non-ASCII letter) would stop all of them
/// from starting: such a member's variable is left out (their port is in the summary
/// and `maia namespace status`).
fn portable_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '_'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// The key of the hub's values under `custom` naming the members whose name is not
/// KubeSpawner's own (e-mail → name).
const MEMBER_NAMES_KEY: &str = "maiaMemberNames";

/// `hub.extraConfig` entry making KubeSpawner (6.x, z2jh 3.x) use those names: for
/// the pod, claim and volume names (its `{username}`) and the
/// `hub.jupyter.org/username` label maia's Services select. Everyone else keeps
/// KubeSpawner's escaping. KubeSpawner reads the pod name back from its state, so a
/// running server keeps its pod.
const MEMBER_NAMES_HOOK: &str = r#"# maia: members whose escaped e-mail makes no valid Kubernetes name (63 characters
# for a label, a volume or a Service) get the name maia gave their Services.
from kubespawner import KubeSpawner

_maia_member_names = get_config("custom.maiaMemberNames", {})


class MaiaKubeSpawner(KubeSpawner):
    def _expand_user_properties(self, template, *args, **kwargs):
        name = _maia_member_names.get(self.user.name)
        if name:
            template = template.replace("{username}", name)
        return super()._expand_user_properties(template, *args, **kwargs)

    def _build_common_labels(self, extra_labels):
        labels = super()._build_common_labels(extra_labels)
        name = _maia_member_names.get(self.user.name)
        if name:
            labels["hub.jupyter.org/username"] = name
        return labels


c.JupyterHub.spawner_class = MaiaKubeSpawner
"#;

/// Members (and admins, who may start a server in any group's hub) whose name on the
/// cluster is not the hub's own escaping, by e-mail.
fn shortened_names(spec: &WorkspaceSpec) -> Map<String, Value> {
    spec.users
        .iter()
        .chain(&spec.cluster.admins)
        .filter(|u| member::member_name_is_shortened(u))
        .map(|u| (u.clone(), Value::String(member::member_name(u))))
        .collect()
}

/// The hub image the original used for `private_hub` groups.
pub(crate) const PRIVATE_HUB_IMAGE: (&str, &str) =
    ("registry.maia.cloud.cbh.kth.se/jupyterhub", "1.1");

/// The hub's image: the cluster config's `hub_image`/`hub_tag`, else MAIA's private
/// hub image when the form asks for `private_hub`, else the chart's own.
fn hub_image(spec: &WorkspaceSpec) -> Option<(String, String)> {
    spec.cluster.hub_image.clone().or_else(|| {
        spec.private_hub.then(|| {
            (
                PRIVATE_HUB_IMAGE.0.to_string(),
                PRIVATE_HUB_IMAGE.1.to_string(),
            )
        })
    })
}

/// The Secret holding the hub's Keycloak client secret.
const HUB_OAUTH_SECRET: &str = "jupyterhub-oauth";

/// Requests of the hub pod (CPU, memory), set in its values so the quota knows them.
const HUB_REQUESTS: (&str, &str) = ("200m", "512Mi");
/// Requests of the proxy pod.
const PROXY_REQUESTS: (&str, &str) = ("100m", "128Mi");
/// The hub database's claim.
const HUB_DB_SIZE: &str = "1Gi";
/// Each member's home claim.
pub(crate) const HOME_SIZE: &str = "10Gi";

/// A container's `resources` from (CPU, memory) requests and limits.
pub(crate) fn resources(requests: (&str, &str), limits: (&str, &str)) -> serde_json::Value {
    json!({
        "requests": {"cpu": requests.0, "memory": requests.1},
        "limits": {"cpu": limits.0, "memory": limits.1},
    })
}

pub(crate) fn render(ctx: &mut Ctx<'_, '_>) -> Result<Component, RenderError> {
    let spec = ctx.spec;
    let keycloak = spec
        .cluster
        .keycloak
        .as_ref()
        .ok_or(RenderError::MissingSetting {
            component: "jupyterhub",
            setting: "keycloak",
        })?;
    let hub = spec.hub_host();
    let (client_id, client_secret) = super::oidc::login_client(ctx, "jupyterhub", "hub", keycloak)?;

    let callback = oauth_callback_url(spec);
    // The client secret reaches the hub from a Secret: GenericOAuthenticator reads
    // `OAUTH_CLIENT_SECRET` when `client_secret` is not configured, so the values file
    // holds no secret and can be committed.
    let oauth_secret = secret(
        spec,
        "jupyterhub",
        HUB_OAUTH_SECRET,
        [("client-secret".to_string(), client_secret)],
    );
    let mut hub_values = json!({
        "extraEnv": {"OAUTH_CLIENT_SECRET": {"valueFrom": {"secretKeyRef": {
            "name": HUB_OAUTH_SECRET, "key": "client-secret"}}}},
        "config": {
            "GenericOAuthenticator": {
                "login_service": "MAIA Account",
                "username_claim": "preferred_username",
                "scope": ["openid", "profile", "email"],
                "claim_groups_key": "groups",
                "allowed_groups": [spec.keycloak_group()],
                "admin_groups": ["MAIA:admin"],
                "client_id": client_id,
                "authorize_url": keycloak.authorize_url,
                "token_url": keycloak.token_url,
                "userdata_url": keycloak.userdata_url,
                "oauth_callback_url": callback,
            },
            "JupyterHub": {
                "admin_access": true,
                "authenticator_class": "generic-oauth",
            },
            "Authenticator": {
                "admin_users": spec.cluster.admins,
                "allowed_users": spec.users,
            },
        },
    });
    if let Some(base) = base_url(spec) {
        hub_values["baseUrl"] = json!(base);
    }
    if let Some(sc) = &spec.cluster.hub_storage_class {
        hub_values["db"] = json!({"pvc": {"storageClassName": sc}});
    }
    if let Some((name, tag)) = hub_image(spec) {
        hub_values["image"] = json!({"name": name, "tag": tag});
        // A private registry's image needs the group's pull secret.
        if spec.cluster.registry.is_some() {
            hub_values["image"]["pullSecrets"] = json!([spec.cluster.pull_secret]);
        }
    }

    let mut env = Map::new();
    fn set(env: &mut Map<String, Value>, k: &str, v: String) {
        env.insert(k.to_string(), Value::String(v));
    }
    for (k, v) in [
        ("GRANT_SUDO", "yes"),
        ("SHELL", "/usr/bin/bash"),
        ("TZ", "UTC"),
        ("SIZEW", "1920"),
        ("SIZEH", "1080"),
        ("REFRESH", "60"),
        ("DPI", "96"),
        ("CDEPTH", "24"),
        // The remote desktop's well-known login, as the original sets it; the desktop
        // is reached only through the member's JupyterHub session.
        ("PASSWD", "maia"),
        ("BASIC_AUTH_PASSWORD", "maia"),
        ("WEBRTC_ENCODER", "nvh264enc"),
        ("NOVNC_ENABLE", "true"),
        ("ssh_publickey", "NOKEY"),
        ("NB_USER", WORKSPACE_ACCOUNT),
    ] {
        set(&mut env, k, v.to_string());
    }
    set(&mut env, "HOSTNAME", spec.cluster.ssh_hostname.clone());
    set(&mut env, "NAMESPACE", spec.namespace.to_string());
    // The group's environment, installed by the workspace image when it starts.
    if let Some(file) = ctx.env_file {
        set(&mut env, file.variable(), file.text.clone());
    }
    let mut objects = vec![oauth_secret.into()];
    if !spec.minimal {
        // Minimal workspaces have no MinIO or MLflow to point at.
        let keys = [
            (
                "MINIO_ACCESS_KEY".to_string(),
                ctx.credentials
                    .get_or_draw(MINIO_ACCESS_KEY, MINIO_ACCESS_KEY_LEN),
            ),
            (
                "MINIO_SECRET_KEY".to_string(),
                ctx.credentials
                    .get_or_draw(MINIO_SECRET_KEY, MINIO_SECRET_KEY_LEN),
            ),
        ];
        // The keys reach the workspaces through a Secret, so neither the spawned
        // pods' spec nor the hub's configuration carries them.
        for (name, _) in &keys {
            env.insert(
                name.clone(),
                json!({"valueFrom": {"secretKeyRef": {"name": MINIO_KEYS_SECRET, "key": name}}}),
            );
        }
        objects.push(secret(spec, "jupyterhub", MINIO_KEYS_SECRET, keys).into());
        set(&mut env, "MLFLOW_TRACKING_URI", spec.service_url("mlflow"));
    }
    for user in &spec.users {
        let port = ctx
            .ssh_ports
            .port(user)
            .ok_or_else(|| RenderError::MissingSshPort { user: user.clone() })?;
        let name = ssh_port_env_name(user);
        if portable_env_name(&name) {
            set(&mut env, &name, port.to_string());
        }
    }
    if spec.gpus.is_none() {
        // Hides the node's GPUs from a workspace that did not ask for one (the
        // NVIDIA runtime would otherwise expose them all).
        set(&mut env, "NVIDIA_VISIBLE_DEVICES", String::new());
    }

    let mut storage = json!({
        "homeMountPath": HOME,
        "extraVolumes": [
            {"name": "shm-volume", "emptyDir": {"medium": "Memory"}},
            {"name": "jupyterhub-shared", "persistentVolumeClaim": {"claimName": "shared"}},
        ],
        "extraVolumeMounts": [
            {"name": "shm-volume", "mountPath": "/dev/shm"},
            {"name": "jupyterhub-shared", "mountPath": format!("{HOME}/shared")},
        ],
    });
    if let Some(sc) = &spec.cluster.storage_class {
        storage["dynamic"] = json!({"storageClass": sc});
    }

    let image = &spec.maia.workspace_image;
    let version = &spec.workspace_version;
    let mut image_values = json!({"name": image, "tag": version});
    if spec.cluster.registry.is_some() {
        image_values["pullSecrets"] = json!([spec.cluster.pull_secret]);
    }
    let mut extra_resource_limits = json!({});
    if let Some(gpus) = spec.gpus {
        extra_resource_limits[GPU_RESOURCE] = json!(gpus.to_string());
    }
    let r = &spec.resources;
    // Privileged workspaces (the original's) need the `privileged` Pod Security level;
    // unprivileged ones pass `baseline`, sudo still works (privilege escalation stays
    // allowed), the rest of the sandbox is the runtime's default.
    let container_security_context = if spec.cluster.tenancy.privileged_workspaces {
        json!({"privileged": true, "seccompProfile": {"type": "Unconfined"}})
    } else {
        json!({"seccompProfile": {"type": "RuntimeDefault"}})
    };
    let singleuser = json!({
        "uid": 1000,
        // The workspace runs privileged (remote desktop, sudo), which Kubernetes only
        // accepts with privilege escalation allowed; the 3.x chart defaults it off.
        "allowPrivilegeEscalation": true,
        "networkPolicy": {"enabled": false},
        "defaultUrl": "/lab/tree/Welcome.ipynb",
        "extraEnv": env,
        "storage": storage,
        "memory": {"guarantee": r.memory_guarantee.to_string(), "limit": r.memory_limit.to_string()},
        "cpu": {"guarantee": r.cpu_guarantee, "limit": r.cpu_limit},
        "image": image_values,
        "profileList": [{
            "display_name": format!("MAIA Workspace v{version}"),
            "description": "MAIA Workspace with Python, Anaconda, MatLab, RStudio, VSCode and SSH Connection",
            "default": true,
            "kubespawner_override": {
                "image": format!("{image}:{version}"),
                "start_timeout": 3600,
                "http_timeout": 3600,
                "extra_resource_limits": extra_resource_limits,
                // No `procMount` (the original's "unmasked"): a privileged container
                // already sees an unmasked /proc, and recent Kubernetes rejects
                // `Unmasked` unless the pod runs in a user namespace.
                "container_security_context": container_security_context,
            },
        }],
    });

    let mut values = json!({
        "cull": {"enabled": false},
        "ingress": {
            "enabled": true,
            "ingressClassName": spec.cluster.ingress_class(),
            "hosts": [hub],
            // This Ingress owns the hub host's certificate; the other Ingresses on the
            // host reuse its secret (see `ingress`).
            "annotations": certificate_annotations(spec),
            "tls": tls_values(spec, &hub, &hub_tls_secret(spec)),
        },
        "hub": hub_values,
        "singleuser": singleuser,
        "proxy": {"chp": {"resources": resources(PROXY_REQUESTS, ("500m", "512Mi"))}},
        // Each group's release would otherwise run image-puller DaemonSets on every
        // node and a scheduler of its own with cluster-wide rights: neither belongs in
        // a tenant's namespace, nor fits a quota that cannot know the node count.
        "prePuller": {"hook": {"enabled": false}, "continuous": {"enabled": false}},
        "scheduling": {"userScheduler": {"enabled": false}},
    });
    values["hub"]["resources"] = resources(HUB_REQUESTS, ("1", "1Gi"));
    let shortened = shortened_names(spec);
    if !shortened.is_empty() {
        values["custom"] = json!({ MEMBER_NAMES_KEY: shortened });
        values["hub"]["extraConfig"] = json!({"maia-member-names": MEMBER_NAMES_HOOK});
    }
    values["hub"]["db"]["pvc"]["storage"] = json!(HUB_DB_SIZE);
    values["singleuser"]["storage"]["capacity"] = json!(HOME_SIZE);
    if !spec.cluster.tenancy.privileged_workspaces {
        // Its init container adds NET_ADMIN and runs as root to set iptables rules,
        // which `baseline` refuses; the network policy keeps pods off other tenants.
        values["singleuser"]["cloudMetadata"] = json!({"blockWithIptables": false});
    }
    let users = spec.users.len();
    let mut pods = vec![
        (HUB_REQUESTS.0.to_string(), HUB_REQUESTS.1.to_string(), 0),
        (
            PROXY_REQUESTS.0.to_string(),
            PROXY_REQUESTS.1.to_string(),
            0,
        ),
    ];
    // A member's server may use up to its limits: the quota counts those.
    pods.extend(std::iter::repeat_n(
        (
            format!("{}", r.cpu_limit),
            r.memory_limit.to_string(),
            spec.gpus.unwrap_or(0),
        ),
        users,
    ));
    let mut claims = vec![HUB_DB_SIZE.to_string()];
    claims.extend(std::iter::repeat_n(HOME_SIZE.to_string(), users));
    let footprint = super::Footprint {
        pods,
        claims,
        ingress_pods: [
            ("release".to_string(), release(spec)),
            ("component".to_string(), "proxy".to_string()),
        ]
        .into(),
        secret_readers: vec![super::rollout::SecretReaders {
            pods: "hub",
            annotations_at: vec!["hub", "annotations"],
            secrets: vec![HUB_OAUTH_SECRET.into()],
        }],
    };

    Ok(Component {
        name: "jupyterhub",
        helm: vec![HelmRelease {
            release: release(spec),
            namespace: spec.namespace.to_string(),
            chart: "jupyterhub".into(),
            repo_name: "jupyterhub".into(),
            repo_url: "https://hub.jupyter.org/helm-chart/".into(),
            version: spec.maia.jupyterhub_chart_version.clone(),
            values,
            footprint,
        }],
        objects,
        outputs: vec![Output::new("JupyterHub", url(spec))],
        depends_on: vec!["namespace"],
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{first_ports, render_one};

    #[test]
    fn snapshots() {
        crate::snapshot_variants!(render);
    }

    fn values(spec: &WorkspaceSpec) -> Value {
        render_one(render, spec).0.helm[0].values.clone()
    }

    #[test]
    fn each_member_finds_their_ssh_port_in_the_environment() {
        assert_eq!(
            ssh_port_env_name("bob.smith@example.org"),
            "SSH_PORT_bob.smith__at__example.org"
        );
        let spec = WorkspaceSpec::test();
        let ports = first_ports(&spec);
        let env = &values(&spec)["singleuser"]["extraEnv"];
        for user in &spec.users {
            assert_eq!(
                env[ssh_port_env_name(user)],
                json!(ports.port(user).unwrap().to_string())
            );
        }
    }

    #[test]
    fn workspaces_read_the_minio_keys_from_a_secret() {
        let spec = WorkspaceSpec::test();
        let (c, creds) = render_one(render, &spec);
        let values = c.helm[0].values.to_string();
        for key in [MINIO_ACCESS_KEY, MINIO_SECRET_KEY] {
            assert!(!values.contains(creds.0[key].as_str()), "{key} in values");
        }
        let env = &c.helm[0].values["singleuser"]["extraEnv"];
        assert_eq!(
            env["MINIO_ACCESS_KEY"]["valueFrom"]["secretKeyRef"],
            json!({"name": MINIO_KEYS_SECRET, "key": "MINIO_ACCESS_KEY"})
        );
        // The Keycloak client secret's Secret, then the MinIO keys'.
        let names: Vec<&str> = c.objects.iter().map(|o| o.name()).collect();
        assert_eq!(names, [HUB_OAUTH_SECRET, MINIO_KEYS_SECRET]);
        let minimal = render_one(render, &spec.clone().minimal()).0;
        assert_eq!(minimal.objects.len(), 1);
        assert_eq!(minimal.objects[0].name(), HUB_OAUTH_SECRET);
        // The values hold neither: the hub reads the client secret from its env.
        assert!(!values.contains(&spec.cluster.keycloak.clone().unwrap().client_secret));
        assert_eq!(
            c.helm[0].values["hub"]["extraEnv"]["OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
                ["name"],
            HUB_OAUTH_SECRET
        );
    }

    #[test]
    fn a_cluster_without_keycloak_is_an_error_naming_the_component() {
        let mut spec = WorkspaceSpec::test().minimal();
        spec.cluster.keycloak = None;
        let kept = crate::workspace::Credentials::default();
        let mut source = crate::workspace::credentials::CountingSource::default();
        let mut store = crate::workspace::CredentialStore::new(&kept, &mut source);
        let ports = first_ports(&spec);
        let mut ctx = Ctx {
            spec: &spec,
            credentials: &mut store,
            ssh_ports: &ports,
            env_file: None,
        };
        let err = render(&mut ctx).unwrap_err();
        assert_eq!(
            err.to_string(),
            "jupyterhub needs `keycloak` in the cluster config"
        );
    }

    #[test]
    fn gpus_are_requested_only_when_asked_and_hidden_otherwise() {
        let without = values(&WorkspaceSpec::test());
        assert_eq!(
            without["singleuser"]["extraEnv"]["NVIDIA_VISIBLE_DEVICES"],
            json!("")
        );
        assert_eq!(
            without["singleuser"]["profileList"][0]["kubespawner_override"]["extra_resource_limits"],
            json!({})
        );
        let with = values(&WorkspaceSpec::test().with_gpu(2));
        assert!(
            with["singleuser"]["extraEnv"]
                .get("NVIDIA_VISIBLE_DEVICES")
                .is_none()
        );
        assert_eq!(
            with["singleuser"]["profileList"][0]["kubespawner_override"]["extra_resource_limits"],
            json!({"nvidia.com/gpu": "2"})
        );
    }

    #[test]
    fn the_oauth_callback_follows_the_hubs_base_url() {
        let callback = |spec: &WorkspaceSpec| {
            values(spec)["hub"]["config"]["GenericOAuthenticator"]["oauth_callback_url"].clone()
        };
        let mut spec = WorkspaceSpec::test();
        assert_eq!(
            callback(&spec),
            "https://brain-mri.maia.example.org/hub/oauth_callback"
        );
        let subpath = WorkspaceSpec::test().with_traefik_subpath_loadbalancer();
        assert_eq!(
            callback(&subpath),
            "https://maia.example.org/brain-mri-hub/hub/oauth_callback"
        );
        spec.cluster.base_url = Some("/maia/".into());
        assert_eq!(values(&spec)["hub"]["baseUrl"], "/maia/");
        assert_eq!(
            callback(&spec),
            "https://brain-mri.maia.example.org/maia/hub/oauth_callback"
        );
    }

    #[test]
    fn subpath_hub_lives_under_its_own_base_url() {
        let spec = WorkspaceSpec::test().with_traefik_subpath_loadbalancer();
        let v = values(&spec);
        assert_eq!(v["hub"]["baseUrl"], "/brain-mri-hub");
        assert_eq!(url(&spec), "https://maia.example.org/brain-mri-hub/");
        assert_eq!(
            url(&WorkspaceSpec::test()),
            "https://brain-mri.maia.example.org/"
        );
        assert!(
            values(&WorkspaceSpec::test())["hub"]
                .get("baseUrl")
                .is_none()
        );
    }

    #[test]
    fn the_groups_environment_file_becomes_conda_env_or_pip_env() {
        use crate::workspace::EnvFile;
        let spec = WorkspaceSpec::test();
        let env_of = |text: &str| {
            let file = EnvFile {
                name: "env.yml".into(),
                text: text.into(),
            };
            let (c, _) = crate::workspace::testing::render_one_with(render, &spec, Some(&file));
            c.helm[0].values["singleuser"]["extraEnv"].clone()
        };
        let conda = env_of("name: brain\ndependencies: [numpy]\n");
        assert_eq!(conda["CONDA_ENV"], "name: brain\ndependencies: [numpy]\n");
        assert!(conda.get("PIP_ENV").is_none());
        let pip = env_of("numpy==2.0\nmonai\n");
        assert_eq!(pip["PIP_ENV"], "numpy==2.0\nmonai\n");
        assert!(pip.get("CONDA_ENV").is_none());
    }

    #[test]
    fn a_private_hub_takes_maias_hub_image_unless_the_cluster_names_one() {
        let mut spec = WorkspaceSpec::test();
        spec.private_hub = true;
        assert_eq!(
            values(&spec)["hub"]["image"],
            json!({"name": "registry.maia.cloud.cbh.kth.se/jupyterhub", "tag": "1.1",
                   "pullSecrets": ["maia-docker-registry-secret"]})
        );
        spec.cluster.hub_image = Some(("registry.example.org/hub".into(), "1.2".into()));
        assert_eq!(
            values(&spec)["hub"]["image"]["name"],
            "registry.example.org/hub"
        );
        spec.cluster.hub_image = None;
        spec.private_hub = false;
        assert!(values(&spec)["hub"].get("image").is_none());
    }

    #[test]
    fn a_custom_hub_image_replaces_the_charts() {
        let mut spec = WorkspaceSpec::test();
        assert!(values(&spec)["hub"].get("image").is_none());
        spec.cluster.hub_image = Some(("registry.example.org/hub".into(), "1.2".into()));
        assert_eq!(
            values(&spec)["hub"]["image"],
            json!({"name": "registry.example.org/hub", "tag": "1.2",
                   "pullSecrets": ["maia-docker-registry-secret"]})
        );
        // Without a registry there is no pull secret to name.
        spec.cluster.registry = None;
        assert!(values(&spec)["hub"]["image"].get("pullSecrets").is_none());
    }
}
