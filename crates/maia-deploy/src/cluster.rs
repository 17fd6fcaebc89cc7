//! Finding the cluster as kubectl does: `--kubeconfig`, then `KUBECONFIG`, then
//! `~/.kube/config`, then the in-cluster service account; `--context` picks a context.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::{DeployError, Result};

/// Where to find the cluster, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A connected client and how to name its cluster in messages.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    /// The API server URL, for "cannot reach …" messages.
    pub url: String,
    /// The kubeconfig context used, when there was one.
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
        let config = match load_kubeconfig(target.kubeconfig.as_deref())? {
            Some((kubeconfig, path)) => {
                if let Some(context) = &target.context {
                    check_context(&kubeconfig, context)?;
                }
                let options = KubeConfigOptions {
                    context: target.context.clone(),
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|source| DeployError::Kubeconfig {
                        path,
                        source: Box::new(source),
                    })?
            }
            None => {
                if let Some(context) = &target.context {
                    return Err(DeployError::UnknownContext {
                        context: context.clone(),
                        known: "no kubeconfig found".into(),
                    });
                }
                kube::Config::incluster().map_err(|source| DeployError::NoCluster {
                    source: Box::new(source),
                })?
            }
        };
        let mut config = config;
        // kube's defaults wait minutes on a silent server; a deploy should say so sooner.
        config.connect_timeout = Some(std::time::Duration::from_secs(10));
        config.read_timeout = Some(std::time::Duration::from_secs(60));
        let url = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|source| DeployError::Client {
            url: url.clone(),
            source: Box::new(source),
        })?;
        Ok(Cluster {
            client,
            url: url.trim_end_matches('/').to_string(),
            context: target.context.clone(),
        })
    }
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
        None => Err(DeployError::UnknownContext {
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
    Err(DeployError::UnknownContext {
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
        Kubeconfig::read_from(path).map_err(|source| DeployError::Kubeconfig {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    };
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(DeployError::KubeconfigMissing {
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
                Some(m) => m.merge(next).map_err(|source| DeployError::Kubeconfig {
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
            None => Err(DeployError::KubeconfigMissing {
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
