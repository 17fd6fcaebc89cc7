//! Finding the cluster as kubectl does: `--kubeconfig`, then `KUBECONFIG`, then
//! `~/.kube/config`, then the in-cluster service account; `--context` picks a context.

use std::path::{Path, PathBuf};

use http_body_util::Limited;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tower::util::MapResponseLayer;

use crate::error::{KubeError, Result, exec_failure, stderr_tail};

/// The field manager maia applies as; `kubectl` shows it in `managedFields`.
pub const FIELD_MANAGER: &str = "maia";

/// The most maia reads of one API response. A list of every Service of a large
/// cluster is a few MiB; a server that streams without end is stopped here instead
/// of filling the memory.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

fn limit_body<B>(response: http::Response<B>) -> http::Response<Limited<B>> {
    response.map(|body| Limited::new(body, MAX_RESPONSE_BYTES))
}

/// Where to find the cluster, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `--kubeconfig`: the kubeconfig file, instead of `KUBECONFIG` or `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`: the kubeconfig context, instead of its current one.
    pub context: Option<String>,
}

/// A connected client and how to name its cluster in messages.
#[derive(Clone)]
pub struct Cluster {
    /// The client every request goes through (responses capped at [`MAX_RESPONSE_BYTES`]).
    pub client: kube::Client,
    /// The API server URL, for "cannot reach …" messages.
    pub url: String,
    /// The kubeconfig context used: the one asked for, else the kubeconfig's current
    /// context; none for the in-cluster config.
    pub context: Option<String>,
}

impl Cluster {
    /// Wraps an already built client (tests pass a fake).
    pub fn from_client(client: kube::Client, url: impl Into<String>) -> Self {
        Cluster {
            client,
            url: url.into(),
            context: None,
        }
    }

    /// Loads the kubeconfig (or in-cluster config) and builds a client.
    pub async fn connect(target: &Target) -> Result<Self> {
        let mut context = target.context.clone();
        let config = match load_kubeconfig(target.kubeconfig.as_deref())? {
            Some((kubeconfig, path)) => {
                if let Some(context) = &target.context {
                    check_context(&kubeconfig, context)?;
                }
                // Named so front ends can say which cluster they talk to.
                if context.is_none() {
                    context.clone_from(&kubeconfig.current_context);
                }
                let options = KubeConfigOptions {
                    context: target.context.clone(),
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|source| KubeError::Kubeconfig {
                        path,
                        source: Box::new(source),
                    })?
            }
            None => {
                if let Some(context) = &target.context {
                    return Err(KubeError::UnknownContext {
                        context: context.clone(),
                        known: "no kubeconfig found".into(),
                    });
                }
                kube::Config::incluster().map_err(|source| KubeError::NoCluster {
                    source: Box::new(source),
                })?
            }
        };
        let mut config = config;
        // kube runs an exec credential plugin while building the client, unbounded and
        // on this thread: a plugin that hangs would hang maia. It is tried first, bounded.
        if let Some(exec) = &config.auth_info.exec {
            probe_exec_plugin(exec, exec_timeout()).await?;
        }
        // kube's defaults wait minutes on a silent server; a deploy should say so sooner.
        config.connect_timeout = Some(std::time::Duration::from_secs(10));
        config.read_timeout = Some(std::time::Duration::from_secs(60));
        let url = config.cluster_url.to_string();
        let plugin = config.auth_info.exec.as_ref().map(plugin_name);
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(|source| match (plugin.clone(), exec_failure(&source)) {
                // kube's own message would show the plugin's environment values.
                (Some(plugin), Some(reason)) => KubeError::ExecPlugin { plugin, reason },
                _ => KubeError::Client {
                    url: url.clone(),
                    source: Box::new(source),
                },
            })?
            .with_layer(&MapResponseLayer::new(limit_body))
            .build();
        Ok(Cluster {
            client,
            url: url.trim_end_matches('/').to_string(),
            context,
        })
    }
}

/// How long an exec credential plugin may take: long enough for a person to log in when
/// maia runs on a terminal (an interactive plugin such as kubelogin opens a browser),
/// short in a script. `MAIA_EXEC_PLUGIN_TIMEOUT` (seconds) overrides it.
fn exec_timeout() -> std::time::Duration {
    use std::io::IsTerminal;
    if let Some(secs) = std::env::var("MAIA_EXEC_PLUGIN_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
    {
        return std::time::Duration::from_secs(secs);
    }
    if std::io::stdin().is_terminal() {
        std::time::Duration::from_secs(300)
    } else {
        std::time::Duration::from_secs(30)
    }
}

/// How a plugin is named in messages: its command and arguments, never its
/// environment (which may hold credentials).
fn plugin_name(exec: &kube::config::ExecConfig) -> String {
    let mut name = exec
        .command
        .clone()
        .unwrap_or_else(|| "(no command)".into());
    for arg in exec.args.iter().flatten() {
        name.push(' ');
        name.push_str(arg);
    }
    name
}

/// Runs the exec credential plugin once, as kube would, within `timeout`: a plugin that
/// hangs is stopped and named, and a failing one is reported with its exit status and
/// last lines of stderr (never its environment). kube then runs it again for the client
/// (plugins cache their tokens, so the second run is quick).
async fn probe_exec_plugin(
    exec: &kube::config::ExecConfig,
    timeout: std::time::Duration,
) -> Result<()> {
    use std::io::IsTerminal;
    use std::process::Stdio;
    let plugin = plugin_name(exec);
    let Some(program) = &exec.command else {
        // kube reports a missing command itself.
        return Ok(());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(exec.args.iter().flatten());
    for env in exec.env.iter().flatten() {
        if let (Some(name), Some(value)) = (env.get("name"), env.get("value")) {
            cmd.env(name, value);
        }
    }
    for name in exec.drop_env.iter().flatten() {
        cmd.env_remove(name);
    }
    let interactive = exec.interactive_mode != Some(kube::config::ExecInteractiveMode::Never)
        && std::io::stdin().is_terminal();
    let mut spec = serde_json::json!({"interactive": interactive});
    if exec.provide_cluster_info
        && let Some(cluster) = &exec.cluster
    {
        spec["cluster"] = serde_json::to_value(cluster).unwrap_or_default();
    }
    cmd.env(
        "KUBERNETES_EXEC_INFO",
        serde_json::json!({
            "apiVersion": exec.api_version.clone()
                .unwrap_or_else(|| "client.authentication.k8s.io/v1beta1".into()),
            "kind": "ExecCredential",
            "spec": spec,
        })
        .to_string(),
    );
    if interactive {
        // A login prompt must reach the person.
        cmd.stdin(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| KubeError::ExecPlugin {
        plugin: plugin.clone(),
        reason: format!("it could not be started: {e}"),
    })?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(KubeError::ExecPlugin {
                plugin,
                reason: format!("it could not be run: {e}"),
            });
        }
        // Dropping the future killed the plugin.
        Err(_) => {
            return Err(KubeError::ExecPlugin {
                plugin,
                reason: format!(
                    "it gave no credential within {} and was stopped",
                    crate::error::human(timeout)
                ),
            });
        }
    };
    if !out.status.success() {
        let said = stderr_tail(&out.stderr);
        return Err(KubeError::ExecPlugin {
            plugin,
            reason: if said.is_empty() {
                format!("it exited with {}", out.status)
            } else {
                format!("it exited with {}: {said}", out.status)
            },
        });
    }
    Ok(())
}

/// Checks that every named context exists, before anything is changed anywhere.
pub fn check_contexts(target: &Target, contexts: &[String]) -> Result<()> {
    if contexts.is_empty() {
        return Ok(());
    }
    match load_kubeconfig(target.kubeconfig.as_deref())? {
        Some((kubeconfig, _)) => contexts
            .iter()
            .try_for_each(|c| check_context(&kubeconfig, c)),
        None => Err(KubeError::UnknownContext {
            context: contexts[0].clone(),
            known: "no kubeconfig found".into(),
        }),
    }
}

fn check_context(kubeconfig: &Kubeconfig, context: &str) -> Result<()> {
    if kubeconfig.contexts.iter().any(|c| c.name == context) {
        return Ok(());
    }
    let known: Vec<&str> = kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    Err(KubeError::UnknownContext {
        context: context.into(),
        known: if known.is_empty() {
            "no contexts".into()
        } else {
            known.join(", ")
        },
    })
}

/// The kubeconfig kubectl would use, merged as kubectl merges `KUBECONFIG` lists.
/// `None` when there is none (then the in-cluster config is tried).
fn load_kubeconfig(explicit: Option<&Path>) -> Result<Option<(Kubeconfig, String)>> {
    let read = |path: &Path| {
        Kubeconfig::read_from(path).map_err(|source| KubeError::Kubeconfig {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    };
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(KubeError::KubeconfigMissing {
                paths: path.display().to_string(),
                named_by: "--kubeconfig",
            });
        }
        return Ok(Some((read(path)?, path.display().to_string())));
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let mut merged: Option<Kubeconfig> = None;
        let paths: Vec<PathBuf> = std::env::split_paths(&list).collect();
        for path in &paths {
            if !path.exists() {
                continue;
            }
            let next = read(path)?;
            merged = Some(match merged {
                None => next,
                Some(m) => m.merge(next).map_err(|source| KubeError::Kubeconfig {
                    path: path.display().to_string(),
                    source: Box::new(source),
                })?,
            });
        }
        let shown = std::env::join_paths(&paths)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Missing entries of a list are skipped, as kubectl does. Outside a cluster, a
        // list naming no existing file is a typo to report, not a reason to try the
        // in-cluster config and fail on its environment variables.
        return match merged {
            Some(k) => Ok(Some((k, shown))),
            None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => Ok(None),
            None => Err(KubeError::KubeconfigMissing {
                paths: shown,
                named_by: "KUBECONFIG",
            }),
        };
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match home.map(|h| h.join(".kube").join("config")) {
        Some(path) if path.exists() => Ok(Some((read(&path)?, path.display().to_string()))),
        _ => Ok(None),
    }
}

/// What a member's kubeconfig needs from the cluster config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLogin {
    /// The workspace's namespace (the context's default).
    pub namespace: String,
    /// The Keycloak realm's issuer URL.
    pub issuer_url: String,
    /// The OIDC client kubectl logs in with.
    pub client_id: String,
}

/// A kubeconfig for a member: the API server (address and CA) of the admin's
/// kubeconfig context, no credential of the admin's, and a user that logs in through
/// Keycloak with the kubelogin exec plugin (`kubectl oidc-login`). Holds no secret.
pub fn member_kubeconfig(target: &Target, login: &MemberLogin) -> Result<serde_json::Value> {
    let Some((kubeconfig, path)) = load_kubeconfig(target.kubeconfig.as_deref())? else {
        return Err(KubeError::KubeconfigMissing {
            paths: "~/.kube/config".into(),
            named_by: "the default location",
        });
    };
    let context_name = match &target.context {
        Some(c) => {
            check_context(&kubeconfig, c)?;
            c.clone()
        }
        None => kubeconfig
            .current_context
            .clone()
            .ok_or_else(|| KubeError::UnknownContext {
                context: "(current context)".into(),
                known: "the kubeconfig sets no current-context; pass --context".into(),
            })?,
    };
    let context = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref());
    let cluster_name = context.map(|c| c.cluster.clone()).unwrap_or_default();
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| KubeError::UnknownContext {
            context: context_name.clone(),
            known: format!("its cluster {cluster_name:?} is not in {path}"),
        })?;
    let mut entry = serde_json::json!({"server": cluster.server.clone().unwrap_or_default()});
    // The CA goes in as data, so the file works on the member's machine.
    let ca = match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        (Some(data), _) => Some(data.clone()),
        (None, Some(file)) => {
            use base64::Engine as _;
            let bytes = std::fs::read(file).map_err(|source| KubeError::Kubeconfig {
                path: file.clone(),
                source: Box::new(kube::config::KubeconfigError::ReadConfig(
                    source,
                    file.into(),
                )),
            })?;
            Some(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        (None, None) => None,
    };
    if let Some(ca) = ca {
        entry["certificate-authority-data"] = serde_json::json!(ca);
    }
    if cluster.insecure_skip_tls_verify == Some(true) {
        entry["insecure-skip-tls-verify"] = serde_json::json!(true);
    }
    let name = format!("maia-{}", login.namespace);
    Ok(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": entry}],
        "users": [{"name": "keycloak", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubectl",
            "args": [
                "oidc-login",
                "get-token",
                format!("--oidc-issuer-url={}", login.issuer_url),
                format!("--oidc-client-id={}", login.client_id),
                "--oidc-extra-scope=groups",
            ],
            "interactiveMode": "IfAvailable",
            "provideClusterInfo": false,
        }}}],
        "contexts": [{"name": name, "context": {
            "cluster": name, "user": "keycloak", "namespace": login.namespace}}],
        "current-context": name,
    }))
}
