//! A researcher's app (a container as a time-limited Job or a Deployment): rendered,
//! planned, deployed, read, listed and deleted (`maia app …`).

use std::path::Path;

use maia_deploy::status::AppStatus;
use maia_deploy::{ApplyOptions, Cluster, Plan, PlanOptions, Target};
use maia_kube::KubeError;
use maia_render::Object;
use maia_spec::LoadOptions;
use maia_spec::app::LoadedApp;

use crate::error::{Error, Result};
use crate::event::{Bridge, Cancel, Event, Sink, Tally};

/// Reads, checks and renders an app config; its warnings are in the loaded app.
pub fn load_and_render(path: &Path, options: LoadOptions) -> Result<(LoadedApp, Vec<Object>)> {
    let app = maia_spec::app::load(path, options)?;
    let files = app.read_mount_files_with(options.mount_files)?;
    let objects = maia_render::app::render(&app.spec, &files)?;
    Ok((app, objects))
}

/// The kubeconfig contexts an app goes to: the one asked for, else the config's
/// `clusters`, else the current context (`None`).
pub fn contexts(asked: Option<&str>, configured: &[String]) -> Vec<Option<String>> {
    match asked {
        Some(c) => vec![Some(c.to_string())],
        None if !configured.is_empty() => configured.iter().cloned().map(Some).collect(),
        None => vec![None],
    }
}

/// Checks that every named context is in the kubeconfig, before anything changes
/// anywhere.
pub fn check_contexts(kubeconfig: &maia_deploy::Target, named: &[String]) -> Result<()> {
    Ok(maia_deploy::check_contexts(kubeconfig, named)?)
}

/// What an app deploy is asked besides its objects.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeployOptions {
    /// Create the namespace, take fields over, replace a changed Job.
    pub plan: PlanOptions,
    /// Only let the API server check every write.
    pub dry_run: bool,
    /// Wait this long for the workload to be ready.
    pub wait: Option<std::time::Duration>,
}

/// What deploying the app's objects to one cluster would do.
pub async fn plan(
    cluster: &Cluster,
    app: &LoadedApp,
    objects: &[Object],
    options: PlanOptions,
) -> Result<Plan> {
    Ok(maia_deploy::plan(
        cluster,
        app.spec.namespace.as_ref(),
        app.spec.release.as_ref(),
        objects,
        options,
    )
    .await?)
}

/// Deploys the app's objects to one cluster: plan, server-side apply, prune, wait.
/// `cancel` stops it after the write in flight.
pub async fn deploy(
    cluster: &Cluster,
    app: &LoadedApp,
    objects: &[Object],
    options: DeployOptions,
    cancel: &Cancel,
    sink: &mut dyn Sink,
) -> Result<()> {
    let plan = plan(cluster, app, objects, options.plan).await?;
    let apply = ApplyOptions {
        dry_run: options.dry_run,
        wait: options.wait,
    };
    let during = format!("app deploy of {}", app.spec.release);
    let result = maia_deploy::execute(cluster, &plan, apply, &mut Bridge { sink, cancel })
        .await
        .map_err(Into::into);
    crate::event::cancelled(result, cancel, &during).await
}

/// Deploys the app to each cluster of `contexts` ([`contexts`]) in turn. Every named
/// context is checked in `kubeconfig` before anything changes anywhere. With one
/// cluster its error is returned; with several, a cluster that fails is reported
/// ([`Event::ClusterFailed`]), the others still get the app, and the run ends with
/// [`Error::Clusters`] naming those that failed.
pub async fn deploy_to_clusters(
    kubeconfig: &Target,
    contexts: &[Option<String>],
    app: &LoadedApp,
    objects: &[Object],
    options: DeployOptions,
    cancel: &Cancel,
    sink: &mut dyn Sink,
) -> Result<()> {
    let named: Vec<String> = contexts.iter().flatten().cloned().collect();
    check_contexts(kubeconfig, &named)?;
    let mut failed = Vec::new();
    for context in contexts {
        sink.emit(Event::Connecting {
            context: context.clone(),
            clusters: contexts.len(),
        });
        let target = Target {
            kubeconfig: kubeconfig.kubeconfig.clone(),
            context: context.clone(),
        };
        let result = async {
            let cluster = Cluster::connect(&target).await?;
            sink.emit(Event::Connected {
                context: cluster.context.clone(),
                url: cluster.url.clone(),
            });
            deploy(&cluster, app, objects, options, cancel, sink).await
        }
        .await;
        match result {
            Err(e) if contexts.len() == 1 => return Err(e),
            Err(e) => {
                let context = context.clone().unwrap_or_else(|| "current".into());
                sink.emit(Event::ClusterFailed {
                    context: context.clone(),
                    message: e.to_string(),
                    hint: e.hint(),
                    report: crate::text::base::error(&e),
                });
                failed.push(context);
            }
            Ok(()) => {}
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Clusters {
            failed,
            total: contexts.len(),
        })
    }
}

/// One app's status; an app that is not there is [`KubeError::AppNotFound`].
pub async fn status(cluster: &Cluster, namespace: &str, name: &str) -> Result<AppStatus> {
    let mut apps = maia_deploy::status::apps(cluster, Some(namespace), Some(name)).await?;
    if apps.is_empty() {
        return Err(KubeError::AppNotFound {
            release: name.to_string(),
            namespace: namespace.to_string(),
        }
        .into());
    }
    Ok(apps.remove(0))
}

/// The apps maia deployed in a namespace (every namespace with `None`).
pub async fn list(cluster: &Cluster, namespace: Option<&str>) -> Result<Vec<AppStatus>> {
    Ok(maia_deploy::status::apps(cluster, namespace, None).await?)
}

/// Checks that an app can be deleted (it exists and is not a workspace's), reading only.
pub async fn check_delete(cluster: &Cluster, namespace: &str, name: &str) -> Result<()> {
    maia_deploy::delete::app_objects(cluster, namespace, name).await?;
    Ok(())
}

/// Deletes an app's objects (its volumes too with `volumes`); returns those deleted.
/// With `dry_run` nothing is deleted: every DELETE is sent with `dryRun=All`, so the
/// API server checks it, and the events and the result say what would be.
pub async fn delete(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    volumes: bool,
    dry_run: bool,
    cancel: &Cancel,
    sink: &mut dyn Sink,
) -> Result<Vec<maia_deploy::ObjectRef>> {
    let during = format!("app delete of {name}");
    let mut tally = Tally::new(sink, cancel);
    let result = maia_deploy::delete::delete_app(
        cluster,
        namespace,
        name,
        volumes,
        ApplyOptions {
            dry_run,
            ..ApplyOptions::default()
        },
        &mut tally,
    )
    .await
    .map_err(Into::into);
    let deleted = tally.objects;
    crate::event::cancelled(result, cancel, &during).await?;
    Ok(deleted)
}
