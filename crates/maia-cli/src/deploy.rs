//! `maia app deploy|plan|status|list|delete`: arguments to `maia::app` calls, events
//! and results to lines. Also what every cluster command shares: the runtime, signal
//! handling, the event printer and tables.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use maia::{Cancel, Cluster, Target};
use maia_deploy::status::AppStatus;
use maia_deploy::{DeployError, Event, PlanOptions};
use maia_spec::LoadOptions;
use serde_json::Value;

use crate::cli::{
    ClusterArgs, DeleteArgs, DeployArgs, EventFormat, ListArgs, PlanArgs, StatusArgs, StatusFormat,
};
use crate::error::{CliError, Result};
use crate::report;

/// Makes sure exactly one rustls crypto provider is in use (the test fake brings a
/// second one into the build).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// One runtime per process: a kube client's background worker lives on the runtime
/// that created it, so connecting and using must share it. Built on first use.
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let built = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Runtime { source })?;
    Ok(RUNTIME.get_or_init(|| built))
}

/// Runs a cluster operation to completion on the process's [`runtime`].
pub(crate) fn block_on<T>(future: impl std::future::Future<Output = maia::Result<T>>) -> Result<T> {
    Ok(runtime()?.block_on(future)?)
}

/// How long programs maia runs (helm, kubectl) get to end after SIGTERM, when maia is
/// interrupted, before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs a long cluster operation on the process's [`runtime`], stopping it cleanly on
/// SIGINT (Ctrl-C) or SIGTERM: `cancel` is set (the operation stops before its next
/// write), the programs it runs get SIGTERM (their whole process group), and the
/// operation is driven for a grace period so that it sees them end and removes their
/// temporary folders; then anything left is killed, the operation dropped, its Leases
/// given back, and [`CliError::Interrupted`] says what was in progress (exit 130 or 143).
pub(crate) fn interruptible<T>(
    during: &str,
    cancel: &Cancel,
    future: impl Future<Output = T>,
) -> Result<T> {
    use tokio::signal::unix::{SignalKind, signal};
    runtime()?.block_on(async {
        let mut future = Box::pin(future);
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            // No handler: the default action (the process ends) is all there is.
            return Ok(future.await);
        };
        // Once registered, tokio keeps these handlers for the rest of the process: a
        // signal after this operation is not handled (the commands using this end soon
        // after it, writing files atomically).
        let (signal, code) = tokio::select! {
            out = &mut future => {
                // A Lease an error path dropped without giving it back.
                let _ = maia_deploy::lease::release_abandoned().await;
                return Ok(out);
            }
            _ = int.recv() => ("SIGINT", 130),
            _ = term.recv() => ("SIGTERM", 143),
        };
        cancel.cancel();
        let stopped = maia_deploy::tools::stop_children();
        // The operation finishes the write in flight and stops; a second signal skips
        // the grace.
        tokio::select! {
            _ = tokio::time::timeout(STOP_GRACE, &mut future) => {}
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        maia_deploy::tools::kill_children();
        drop(future);
        let released = maia_deploy::lease::release_abandoned().await;
        Err(CliError::Interrupted {
            signal,
            code,
            during: during.to_string(),
            stopped,
            released,
        })
    })
}

/// What `deploy` was asked to do besides applying.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeploySettings {
    /// Whether to create the namespace, take fields over and replace changed Jobs.
    pub plan: PlanOptions,
    /// Wait this long for the workload to be ready (`--wait --timeout`).
    pub wait: Option<Duration>,
    /// Only let the API server check every write (`--dry-run`).
    pub dry_run: bool,
    /// How events are printed.
    pub format: EventFormat,
    /// Leave out the lines of unchanged objects (`-q`).
    pub quiet: bool,
}

/// `maia app deploy`.
pub(crate) fn deploy(args: &DeployArgs) -> Result<()> {
    let settings = DeploySettings {
        plan: PlanOptions {
            create_namespace: args.create_namespace,
            force_conflicts: args.force_conflicts,
            replace: args.replace,
        },
        wait: args.wait.then_some(args.timeout),
        dry_run: args.dry_run,
        format: args.output,
        quiet: args.quiet,
    };
    deploy_file(
        &args.config_file,
        args.mount_files.options(args.strictness),
        &args.cluster,
        settings,
    )
}

pub(crate) fn target(cluster: &ClusterArgs, context: Option<String>) -> Target {
    Target {
        kubeconfig: cluster.kubeconfig.clone(),
        context,
    }
}

/// Loads and renders an app config, printing its warnings.
pub fn load_and_render(
    path: &Path,
    options: LoadOptions,
) -> Result<(maia_spec::app::LoadedApp, Vec<maia_render::Object>)> {
    let (app, objects) = maia::app::load_and_render(path, options)?;
    report::diagnostics(&app.warnings);
    Ok((app, objects))
}

/// Renders the app and deploys it to each of its clusters, one report per cluster.
pub fn deploy_file(
    path: &Path,
    options: LoadOptions,
    cluster: &ClusterArgs,
    settings: DeploySettings,
) -> Result<()> {
    let (app, objects) = load_and_render(path, options)?;
    let contexts = maia::app::contexts(cluster.context.as_deref(), &app.spec.clusters);
    let options = maia::app::DeployOptions {
        plan: settings.plan,
        dry_run: settings.dry_run,
        wait: settings.wait,
    };
    let mut printer = Printer::new(settings.format, None);
    printer.quiet = settings.quiet;
    let cancel = Cancel::new();
    let result = interruptible(
        &format!("app deploy of {}", app.spec.release),
        &cancel,
        maia::app::deploy_to_clusters(
            &target(cluster, None),
            &contexts,
            &app,
            &objects,
            options,
            &cancel,
            &mut printer,
        ),
    );
    printer.finish();
    match result {
        Err(e) => {
            printer.report_partial();
            Err(e)
        }
        // One cluster's failure (several clusters' are reported as each fails).
        Ok(Err(e)) if !matches!(e, maia::Error::Clusters { .. }) => {
            if printer.started {
                printer.report_partial();
                if settings.format == EventFormat::Json {
                    printer.error_event(&e.to_string(), e.hint());
                }
            }
            Err(e.into())
        }
        Ok(result) => Ok(result?),
    }
}

/// Prints engine events as they come: human lines (and a spinner while waiting on a
/// terminal), or one JSON object per line.
pub(crate) struct Printer {
    format: EventFormat,
    cluster: Option<String>,
    /// "pruned" during a deploy, "deleted" for `maia app delete`.
    pub(crate) removed: &'static str,
    /// Text output leaves out what was unchanged (`-q`).
    pub(crate) quiet: bool,
    /// Says when the preflight passed (text output of one workspace).
    pub(crate) preflight: bool,
    /// Prints a line per file written.
    pub(crate) wrote: bool,
    spinner: Option<ProgressBar>,
    changed: Vec<String>,
    /// A cluster was turned to (an error before that, such as an unknown context,
    /// was found before anything could change).
    pub(crate) started: bool,
}

impl Printer {
    pub(crate) fn new(format: EventFormat, cluster: Option<String>) -> Self {
        Printer {
            format,
            cluster,
            removed: "pruned",
            quiet: false,
            preflight: true,
            wrote: true,
            spinner: None,
            changed: Vec::new(),
            started: false,
        }
    }

    fn line(&mut self, text: String) {
        match &self.spinner {
            Some(s) => s.println(text),
            None => println!("{text}"),
        }
    }

    /// The spinner (on stderr, a terminal's) says `message`, with the time elapsed.
    fn spin(&mut self, message: String) {
        let spinner = self.spinner.get_or_insert_with(|| {
            let s = ProgressBar::new_spinner();
            s.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            s.enable_steady_tick(Duration::from_millis(120));
            s
        });
        spinner.set_message(message);
    }

    pub(crate) fn finish(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
    }

    /// The failure as the last JSON line, so a script reading stdout sees it too.
    pub(crate) fn error_event(&self, message: &str, hint: Option<String>) {
        let mut value = serde_json::json!({
            "event": "error",
            "message": message,
            "hint": hint,
            "changed": self.changed,
        });
        if let Some(c) = &self.cluster {
            value["cluster"] = Value::String(c.clone());
        }
        println!("{value}");
    }

    /// After a failure: what had already changed on the cluster.
    pub(crate) fn report_partial(&self) {
        let mut err = std::io::stderr().lock();
        let _ = if self.changed.is_empty() {
            writeln!(err, "note: nothing was changed on the cluster")
        } else {
            writeln!(
                err,
                "note: changed before the failure: {}",
                self.changed.join(", ")
            )
        };
    }
}

impl maia::Sink for Printer {
    fn emit(&mut self, event: maia::Event) {
        let event = match event {
            maia::Event::Cluster(event) => event,
            maia::Event::Diagnostics(diagnostics) => {
                self.finish();
                return report::diagnostics(&diagnostics);
            }
            maia::Event::PreflightPassed {
                group_id,
                namespace,
            } => {
                if self.format == EventFormat::Text && self.preflight {
                    eprintln!("preflight passed for workspace {group_id} (namespace {namespace})");
                }
                return;
            }
            maia::Event::Warning { message } => {
                self.finish();
                return eprintln!("warning: {message}");
            }
            maia::Event::Note { message } => {
                self.finish();
                return eprintln!("note: {message}");
            }
            maia::Event::Wrote { path } => {
                if self.wrote {
                    self.line(format!("wrote {}", path.display()));
                }
                return;
            }
            maia::Event::Keycloak { change } => {
                self.finish();
                if self.format == EventFormat::Json {
                    println!(
                        "{}",
                        serde_json::json!({"event": "keycloak", "change": change})
                    );
                } else {
                    self.line(format!("keycloak: {change}"));
                }
                return;
            }
            maia::Event::Connecting { context, clusters } => {
                self.finish();
                if clusters > 1 && self.format == EventFormat::Text {
                    println!("cluster {}:", context.as_deref().unwrap_or("current"));
                }
                self.cluster = context;
                self.changed.clear();
                self.started = true;
                return;
            }
            maia::Event::Connected { context, url } => {
                return announce_text(context.as_deref(), &url, self.format == EventFormat::Text);
            }
            maia::Event::ClusterFailed {
                message,
                hint,
                report,
                ..
            } => {
                self.finish();
                self.report_partial();
                if self.format == EventFormat::Json {
                    self.error_event(&message, hint);
                }
                return eprintln!("{}", report.join("\n"));
            }
        };
        self.cluster_event(event);
    }
}

impl Printer {
    fn cluster_event(&mut self, event: Event) {
        self.changed.extend(maia::text::changed(&event));
        if self.format == EventFormat::Json {
            let mut value = serde_json::to_value(&event).unwrap_or(Value::Null);
            if let (Some(c), Some(map)) = (&self.cluster, value.as_object_mut()) {
                map.insert("cluster".into(), Value::String(c.clone()));
            }
            println!("{value}");
            return;
        }
        if self.quiet && maia::text::unchanged(&event) {
            return;
        }
        let terminal = std::io::stderr().is_terminal();
        let line = maia::text::event_line(&event, self.removed);
        match &event {
            // On a terminal a spinner says what is awaited or runs, and for how long;
            // in a log, waiting has its line and a run's outcome follows soon enough.
            Event::Waiting { object, reason } if terminal => {
                self.spin(format!("waiting for {object}: {reason}"))
            }
            Event::Running { step } if terminal => self.spin(format!("running {step}")),
            Event::Running { .. } => {}
            Event::Notice { .. } => {
                self.finish();
                eprintln!("{line}");
            }
            Event::NamespaceCreated { .. }
            | Event::Applied { .. }
            | Event::Pruned { .. }
            | Event::VolumeKept { .. }
            | Event::Waiting { .. } => self.line(line),
            _ => {
                self.finish();
                self.line(line)
            }
        }
    }
}

/// `maia app plan`: exit 0 when nothing would change, 1 when something would, 2 on error.
pub(crate) fn plan(args: &PlanArgs) -> ExitCode {
    report::plan_exit(plan_inner(args))
}

fn plan_inner(args: &PlanArgs) -> Result<bool> {
    let (app, objects) =
        load_and_render(&args.config_file, args.mount_files.options(args.strictness))?;
    let contexts = maia::app::contexts(args.cluster.context.as_deref(), &app.spec.clusters);
    let named: Vec<String> = contexts.iter().flatten().cloned().collect();
    maia::app::check_contexts(&target(&args.cluster, None), &named)?;
    let options = PlanOptions {
        create_namespace: args.create_namespace,
        force_conflicts: args.force_conflicts,
        replace: args.replace,
    };
    let mut changes = false;
    for context in contexts {
        let plan = block_on(async {
            let cluster = maia::connect(&target(&args.cluster, context.clone())).await?;
            announce(&cluster, args.output == EventFormat::Text);
            maia::app::plan(&cluster, &app, &objects, options).await
        })?;
        changes |= plan.has_changes();
        match args.output {
            EventFormat::Json => {
                println!("{}", maia::text::json::app_plan(&plan, context.as_deref()))
            }
            EventFormat::Text => print!(
                "{}",
                maia::text::changes_only(
                    maia::text::app_plan(&plan, context.as_deref()),
                    args.quiet
                )
            ),
        }
    }
    Ok(changes)
}

pub(crate) fn connect(cluster: &ClusterArgs) -> Result<Cluster> {
    block_on(maia::connect(&target(cluster, cluster.context.clone())))
}

/// For text output, names the cluster a command is about to change or read, before
/// anything else it says about it, as the kubeconfig names it: the context and the API
/// server. On stderr, so stdout stays the objects' lines; -o json leaves it out (each
/// JSON line names a non-default context itself).
pub(crate) fn announce(cluster: &Cluster, text: bool) {
    announce_text(cluster.context.as_deref(), &cluster.url, text)
}

fn announce_text(context: Option<&str>, url: &str, text: bool) {
    if !text {
        return;
    }
    match context {
        Some(context) => eprintln!("context {context}, cluster {url}"),
        None => eprintln!("cluster {url}"),
    }
}

fn print_statuses(apps: &[AppStatus], format: StatusFormat, single: bool) -> Result<()> {
    match format {
        StatusFormat::Json if single => crate::output::json(&apps[0]),
        StatusFormat::Json => crate::output::json(&apps),
        StatusFormat::Yaml if single => crate::output::yaml(&apps[0]),
        StatusFormat::Yaml => crate::output::yaml(&apps),
        StatusFormat::Text if single => print!("{}", maia::text::app_status(&apps[0])),
        StatusFormat::Text => print!("{}", maia::text::apps_table(apps)),
    }
    Ok(())
}

/// `maia app status`: exit 0 when the app is ready, 1 when it is not (or is not
/// there at all), 2 for bad input.
pub(crate) fn status(args: &StatusArgs) -> ExitCode {
    match show_status(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            report::error(&e);
            // An app that is not there is not ready; any other failure (the cluster
            // cannot be reached, access denied) says nothing of the app: 2, so a
            // script can tell the two apart.
            match e {
                CliError::Maia(maia::Error::Deploy(DeployError::Kube(
                    maia_kube::KubeError::AppNotFound { .. },
                ))) => ExitCode::from(1),
                _ => ExitCode::from(2),
            }
        }
    }
}

/// Prints an app's status; true when it is ready.
fn show_status(args: &StatusArgs) -> Result<bool> {
    let cluster = connect(&args.cluster)?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.client.default_namespace().to_string());
    let app = block_on(maia::app::status(&cluster, &namespace, &args.name))?;
    let ready = app.ready;
    print_statuses(&[app], args.output, true)?;
    Ok(ready)
}

/// `maia app list`.
pub(crate) fn list(args: &ListArgs) -> Result<()> {
    let cluster = connect(&args.cluster)?;
    let namespace = match (&args.namespace, args.all_namespaces) {
        (_, true) => None,
        (Some(ns), false) => Some(ns.clone()),
        (None, false) => Some(cluster.client.default_namespace().to_string()),
    };
    let apps = block_on(maia::app::list(&cluster, namespace.as_deref()))?;
    if apps.is_empty() && args.output == StatusFormat::Text {
        eprintln!(
            "no apps deployed by maia {}",
            namespace.map_or("in any namespace".into(), |n| format!("in namespace {n}"))
        );
        return Ok(());
    }
    print_statuses(&apps, args.output, false)
}

/// `maia app delete`.
pub(crate) fn delete(args: &DeleteArgs) -> Result<()> {
    let cluster = connect(&args.cluster)?;
    announce(&cluster, true);
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.client.default_namespace().to_string());
    // A dry run deletes nothing: nothing to confirm.
    if !args.yes && !args.dry_run {
        // Nothing to ask about when there is no such app, or it is a workspace's.
        block_on(maia::app::check_delete(&cluster, &namespace, &args.name))?;
        let volumes = if args.delete_volumes {
            "including its volumes and their data"
        } else {
            "keeping its volumes"
        };
        let question = format!(
            "Delete app {} in namespace {namespace}, {volumes}? [y/N] ",
            args.name
        );
        if !confirm(&question, &format!("deleting app {}", args.name))? {
            return Ok(());
        }
    }
    let mut printer = Printer::new(EventFormat::Text, None);
    printer.removed = "deleted";
    let cancel = Cancel::new();
    let result = interruptible(
        &format!("app delete of {}", args.name),
        &cancel,
        maia::app::delete(
            &cluster,
            &namespace,
            &args.name,
            args.delete_volumes,
            args.dry_run,
            &cancel,
            &mut printer,
        ),
    );
    printer.finish();
    let result = result.and_then(|r| r.map_err(CliError::from));
    match result {
        Ok(deleted) if args.dry_run => {
            println!(
                "app {} (namespace {namespace}): dry run, nothing was deleted; {} object(s) would be",
                args.name,
                deleted.len()
            );
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => {
            printer.report_partial();
            Err(e)
        }
    }
}

/// Asks `question` on the terminal; true when the answer is yes. Without a terminal
/// there is no one to ask: `what` is refused (exit 2) rather than done unasked, since
/// `--yes` is how a script says it means it.
pub(crate) fn confirm(question: &str, what: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            format!(
                "{what} needs confirmation, and there is no terminal to ask on; nothing was deleted"
            ),
            "add --yes to delete without being asked (as scripts do)",
        ));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(true)
    } else {
        eprintln!("nothing deleted");
        Ok(false)
    }
}
