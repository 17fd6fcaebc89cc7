//! `maia namespace deploy | plan | status | list | delete`: glue between the command
//! line and `maia_deploy::workspace`. The work (preflight, facts, plan, execute) is done
//! there; this module reads files, picks the cluster, prints and sets exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use maia_deploy::DeployError;
use maia_deploy::tools::{Helm, ToolTarget};
use maia_deploy::workspace::deploy::{Prepared, Request};
use maia_deploy::workspace::preflight::Needs;
use maia_deploy::workspace::{self as ws, HelmChange, KubeflowChange, WorkspacePlan, manage};
use maia_render::workspace::Bundle;
use maia_spec::workspace::WorkspaceSpec;
use serde_json::Value;

use crate::cli::{
    EventFormat, NamespaceDeleteArgs, NamespaceDeployArgs, NamespaceKubeconfigArgs,
    NamespaceListArgs, NamespaceStatusArgs, StatusFormat,
};
use crate::deploy::{Printer, announce, block_on, connect, interruptible, table, target};
use crate::error::{CliError, Result};
use crate::namespace::{self, OsRandom, Rendered};
use crate::report;

/// The deploy request the arguments describe (credentials.yaml read when a config
/// folder is given).
pub(crate) fn request(args: &NamespaceDeployArgs, spec: WorkspaceSpec) -> Result<Request> {
    let file_credentials = match &args.config_folder {
        Some(folder) => {
            Some(namespace::read_credentials(&namespace::group_dir(folder, &spec))?.credentials)
        }
        None => None,
    };
    let env_file = namespace::env_file(
        &spec,
        &args.files.namespace_config_file,
        args.config_folder
            .as_ref()
            .map(|f| f.join(&spec.group_id))
            .as_deref(),
        false,
    )?;
    Ok(Request {
        needs: Needs {
            helm: !args.skip_helm,
            kubeflow: !args.skip_kubeflow && !spec.minimal,
        },
        secrets_only: args.secrets_only,
        adopt_namespace: args.adopt_namespace,
        spec,
        state_namespace: args.state_namespace.clone(),
        path: std::env::var_os("PATH"),
        tool_target: ToolTarget::from(&target(&args.cluster, args.cluster.context.clone())),
        force_conflicts: args.force_conflicts,
        file_credentials,
        lease_timeout: std::time::Duration::from_secs(120),
        holder: holder(),
        env_file,
    })
}

/// Who this run is, as another run finding its Lease is told: `user@host (pid N)`.
pub(crate) fn holder() -> maia_deploy::lease::Holder {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into());
    maia_deploy::lease::Holder::new(format!("{user}@{host} (pid {})", std::process::id()))
}

pub(crate) fn warn_differing(differing: &[String], args: &NamespaceDeployArgs) {
    if let (false, Some(folder)) = (differing.is_empty(), &args.config_folder) {
        eprintln!(
            "warning: credentials.yaml under {} differs from the cluster for {}; the cluster's values are used",
            folder.display(),
            differing.join(", ")
        );
    }
}

/// What one workspace deploy did.
pub(crate) struct Deployed {
    pub(crate) bundle: Bundle,
    pub(crate) plan: WorkspacePlan,
    /// How many credentials this run drew.
    pub(crate) fresh: usize,
}

/// Says that the preflight found nothing in the way: [`ws::deploy::prepare`] returns
/// only then. On stderr with the cluster's line, for text output.
fn preflight_passed(spec: &WorkspaceSpec, text: bool) {
    if text {
        eprintln!(
            "preflight passed for workspace {} (namespace {})",
            spec.group_id, spec.namespace
        );
    }
}

/// Preflight, facts, render, plan and execute for one workspace; events go to `sink`.
/// `say_preflight`: a line once the preflight passed (one workspace, text output).
pub(crate) async fn deploy_workspace(
    cluster: &maia_deploy::Cluster,
    request: &Request,
    args: &NamespaceDeployArgs,
    say_preflight: bool,
    sink: &mut dyn maia_deploy::EventSink,
) -> std::result::Result<Deployed, DeployError> {
    let prepared = ws::deploy::prepare(cluster, request, &mut OsRandom, true).await?;
    preflight_passed(&request.spec, say_preflight);
    warn_differing(&prepared.differing_credentials, args);
    for note in &prepared.notes {
        eprintln!("warning: {note}");
    }
    let bundle = prepared.bundle.clone();
    let plan = prepared.plan.clone();
    let fresh = prepared.new_credentials.len();
    if !prepared.recovered_credentials.is_empty() {
        eprintln!(
            "warning: secret/{} in {} lacked {}; recovered from the workspace's Secrets and kept again",
            ws::facts::credentials_secret(request.spec.namespace.as_str()),
            request.state_namespace,
            prepared.recovered_credentials.join(", ")
        );
    }
    for note in &prepared.bundle.quota_notes {
        eprintln!("note: quota {note}");
    }
    ws::deploy::deploy(
        cluster,
        request,
        prepared,
        args.wait.then_some(args.timeout),
        sink,
    )
    .await?;
    Ok(Deployed {
        bundle,
        plan,
        fresh,
    })
}

/// The config folder a deploy writes its bundle to after changing the cluster, checked
/// before: a folder found unwritable afterwards leaves a deployed workspace whose
/// bundle and credentials.yaml were not kept. Every folder the write would put a file
/// in is tried with a file created and removed at once.
pub(crate) fn check_writable(folder: &std::path::Path, group_id: &str) -> Result<()> {
    // The lock creates the folder and maia's state folder, as the write would.
    drop(namespace::ConfigFolder::lock(folder)?);
    let mut dirs = vec![folder.to_path_buf(), folder.join(".maia")];
    let mut pending = vec![folder.join(group_id)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            // Not there yet: created by the write, in a folder tried above.
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(entry.path());
            }
        }
        dirs.push(dir);
    }
    for dir in dirs {
        let probe = dir.join(format!(".maia-write-check-{}", std::process::id()));
        let tried = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe);
        match tried {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
            }
            Err(source) => return Err(CliError::FolderNotWritable { path: dir, source }),
        }
    }
    Ok(())
}

/// `maia namespace deploy` (and `MAIA_deploy_MAIA_namespace`).
pub fn deploy(args: &NamespaceDeployArgs) -> Result<()> {
    let loaded = namespace::load(&args.files, args.minimal, args.strictness.into())?;
    if let (Some(folder), false) = (&args.config_folder, args.secrets_only) {
        check_writable(folder, &loaded.spec.group_id)?;
    }
    let request = request(args, loaded.spec)?;
    let cluster = connect(&args.cluster)?;
    announce(&cluster, args.output == EventFormat::Text);
    let mut printer = Printer::new(args.output, None);
    printer.quiet = args.quiet;
    let during = format!("namespace deploy of {}", request.spec.group_id);
    let result = interruptible(
        &during,
        deploy_workspace(
            &cluster,
            &request,
            args,
            args.output == EventFormat::Text,
            &mut printer,
        ),
    );
    printer.finish();
    let result = match result {
        Ok(result) => result,
        Err(e) => {
            printer.report_partial();
            return Err(e);
        }
    };
    let Deployed {
        bundle,
        plan,
        fresh,
    } = match result {
        Ok(done) => done,
        Err(e) => {
            printer.report_partial();
            if args.output == EventFormat::Json {
                printer.error_event(&e);
            }
            return Err(e.into());
        }
    };
    let spec = &request.spec;
    if args.secrets_only {
        if args.output == EventFormat::Text {
            let secrets = bundle.objects().filter(|o| o.kind() == "Secret").count();
            println!(
                "\nworkspace {} (namespace {}): the namespace and its {secrets} Secret(s) applied; \
                 nothing else was touched (--secrets-only)",
                spec.group_id, spec.namespace
            );
        }
        return Ok(());
    }
    if let Some(folder) = &args.config_folder {
        for p in write_bundle(spec, &bundle, folder)?.written {
            println!("wrote {}", p.display());
        }
    }
    if args.output == EventFormat::Text {
        for rollout in &plan.rollouts {
            println!(
                "rolled {} because {} changed",
                rollout.workload,
                rollout.secrets.join(", ")
            );
        }
        print_skipped(&plan, spec, &bundle, args.config_folder.as_deref());
        println!(
            "\nworkspace {} (namespace {}) deployed: hub {}",
            spec.group_id,
            spec.namespace,
            namespace::hub_url(spec)
        );
        if fresh > 0 {
            println!(
                "{fresh} new credential(s) kept in secret/{} in {}",
                ws::facts::credentials_secret(spec.namespace.as_str()),
                args.state_namespace
            );
        }
        print!("{}", hand_over_text(spec, &bundle));
    }
    Ok(())
}

/// What the admin sends the group once it is deployed: every URL and each member's SSH
/// command. Read from the workspace's record (the one the deploy applied, which
/// `namespace status` reads back) and the SSH ports the deploy used, so both agree.
fn hand_over_text(spec: &WorkspaceSpec, bundle: &Bundle) -> String {
    let record = maia_render::workspace::record::record(spec, bundle);
    let mut urls = vec![["COMPONENT".to_string(), "URL".into()]];
    for c in &record.components {
        urls.extend(c.urls.iter().map(|u| [c.component.clone(), u.clone()]));
    }
    let mut users = vec![["USER".to_string(), "SSH".into()]];
    for m in &record.members {
        let ssh = bundle.ssh_ports.port(&m.email).map_or_else(
            || "-".to_string(),
            |p| maia_render::workspace::ssh_command_for(&record.ssh_host, p),
        );
        users.push([m.email.clone(), ssh]);
    }
    let mut out = String::from("\nfor the group (also `maia namespace status`):\n");
    out.push_str(&table(&urls));
    if users.len() > 1 {
        out.push('\n');
        out.push_str(&table(&users));
    }
    out
}

/// Writes the bundle (and credentials.yaml) of what was deployed under the folder.
pub(crate) fn write_bundle(
    spec: &WorkspaceSpec,
    bundle: &Bundle,
    path: &std::path::Path,
) -> Result<maia_deploy::workspace::folder::WriteReport> {
    let folder = namespace::ConfigFolder::lock(path)?;
    let (mut ledger, _) = maia_deploy::workspace::folder::read_ledger(&folder);
    ledger
        .0
        .insert(spec.group_id.clone(), bundle.ssh_ports.clone());
    let rendered = Rendered {
        spec: spec.clone(),
        bundle: bundle.clone(),
        dir: folder.group_dir(&spec.group_id),
        files: namespace::bundle_files(spec, bundle)?,
        ledger: Some(namespace::LedgerWrite {
            ledger,
            path: folder.ledger_path(),
        }),
    };
    namespace::write(&rendered)
}

/// With --skip-helm / --skip-kubeflow, the steps left to the admin: the same commands
/// deploy.sh runs, pointing at the bundle under the config folder when one was written.
fn print_skipped(
    plan: &WorkspacePlan,
    spec: &WorkspaceSpec,
    bundle: &Bundle,
    folder: Option<&std::path::Path>,
) {
    use maia_render::workspace::text::{InstallStep, install_steps};
    let skipped_helm: Vec<&str> = plan
        .segments
        .iter()
        .flat_map(|s| &s.helm)
        .filter(|h| h.change == HelmChange::Skipped)
        .map(|h| h.release.as_str())
        .collect();
    let kubeflow_skipped = plan
        .segments
        .iter()
        .any(|s| s.kubeflow == Some(KubeflowChange::Skipped));
    let dir = match folder {
        Some(f) => format!("{}/", f.join(&spec.group_id).display()),
        None => String::new(),
    };
    let mut lines = Vec::new();
    for step in install_steps(bundle) {
        let left = match &step {
            InstallStep::Helm { release, .. } => skipped_helm.contains(&release.release.as_str()),
            InstallStep::Kustomize { .. } => kubeflow_skipped,
            InstallStep::Apply { .. } => false,
        };
        if left {
            lines.extend(step.commands(&dir, true));
        }
    }
    if lines.is_empty() {
        return;
    }
    println!("\nleft to you (--skip-helm / --skip-kubeflow):");
    if folder.is_none() {
        println!(
            "  (write the values files first: maia namespace render ... --config-folder DIR, and run these in DIR/{})",
            spec.group_id
        );
    }
    for line in lines {
        println!("  {line}");
    }
}

/// `maia namespace plan`: exit 0 nothing would change, 1 something would, 2 error.
pub(crate) fn plan(args: &NamespaceDeployArgs) -> ExitCode {
    report::plan_exit(plan_inner(args))
}

fn plan_inner(args: &NamespaceDeployArgs) -> Result<bool> {
    let loaded = namespace::load(&args.files, args.minimal, args.strictness.into())?;
    let request = request(args, loaded.spec)?;
    let cluster = connect(&args.cluster)?;
    announce(&cluster, args.output == EventFormat::Text);
    let prepared = block_on(ws::deploy::prepare(
        &cluster,
        &request,
        &mut OsRandom,
        false,
    ))?;
    preflight_passed(&request.spec, args.output == EventFormat::Text);
    warn_differing(&prepared.differing_credentials, args);
    for note in &prepared.notes {
        eprintln!("warning: {note}");
    }
    let plan = &prepared.plan;
    let changes = plan.has_changes()
        || !prepared.new_credentials.is_empty()
        || !prepared.recovered_credentials.is_empty();
    match args.output {
        EventFormat::Json => {
            let mut value = serde_json::to_value(plan).unwrap_or(Value::Null);
            if let Some(map) = value.as_object_mut() {
                map.insert("changes".into(), Value::Bool(changes));
                map.insert(
                    "new_credentials".into(),
                    serde_json::to_value(&prepared.new_credentials).unwrap_or_default(),
                );
                map.insert(
                    "recovered_credentials".into(),
                    serde_json::to_value(&prepared.recovered_credentials).unwrap_or_default(),
                );
                map.insert(
                    "quota_notes".into(),
                    serde_json::to_value(&prepared.bundle.quota_notes).unwrap_or_default(),
                );
            }
            println!("{value}");
        }
        EventFormat::Text => print!(
            "{}",
            crate::deploy::changes_only(plan_text(&prepared), args.quiet)
        ),
    }
    Ok(changes)
}

fn plan_text(prepared: &Prepared<'_>) -> String {
    let plan = &prepared.plan;
    let objects = crate::deploy::plan_text(&plan.objects, None).replacen(
        &format!("Plan for app {}", plan.objects.release),
        &format!("Plan for workspace {}", plan.group_id),
        1,
    );
    // The objects' own summary line closes the whole plan, after the charts.
    let (body, summary) = objects
        .trim_end()
        .rsplit_once('\n')
        .unwrap_or((objects.as_str(), ""));
    let mut out = format!("{body}\n");
    let (mut install, mut upgrade) = (0, 0);
    for segment in &plan.segments {
        for h in &segment.helm {
            match &h.change {
                HelmChange::Install => install += 1,
                HelmChange::Upgrade { .. } | HelmChange::Repair { .. } => upgrade += 1,
                HelmChange::Unchanged | HelmChange::Skipped => {}
            }
            let what = match &h.change {
                HelmChange::Install => {
                    format!("  + helm {}  install {} {}", h.release, h.chart, h.version)
                }
                HelmChange::Upgrade { from_version, keys } => format!(
                    "  ~ helm {}  upgrade {} {from_version} -> {}{}",
                    h.release,
                    h.chart,
                    h.version,
                    if keys.is_empty() {
                        String::new()
                    } else {
                        format!("; values changed: {}", keys.join(", "))
                    }
                ),
                HelmChange::Repair { status } => {
                    format!(
                        "  ~ helm {}  upgrade again (release is {status})",
                        h.release
                    )
                }
                HelmChange::Unchanged => format!("  = helm {}  unchanged", h.release),
                HelmChange::Skipped => format!("  ! helm {}  skipped (--skip-helm)", h.release),
            };
            out.push_str(&what);
            out.push('\n');
        }
        match &segment.kubeflow {
            Some(KubeflowChange::Install { version }) => out.push_str(&format!(
                "  + kubeflow pipelines {version}  install (kubectl apply -k)\n"
            )),
            Some(KubeflowChange::Installed { version }) => out.push_str(&format!(
                "  = kubeflow pipelines {version}  already installed\n"
            )),
            Some(KubeflowChange::Skipped) => {
                out.push_str("  ! kubeflow pipelines  skipped (--skip-kubeflow)\n")
            }
            None => {}
        }
    }
    if !prepared.new_credentials.is_empty() {
        out.push_str(&format!(
            "  + credentials  {} to generate ({})\n",
            prepared.new_credentials.len(),
            prepared.new_credentials.join(", ")
        ));
    }
    // Why the quota is above the form's (or the workspace's own needs): more is in use
    // in the namespace now, largely what the workspace does not render.
    for note in &prepared.bundle.quota_notes {
        out.push_str(&format!("  ! quota  {note}\n"));
    }
    for rollout in &plan.rollouts {
        out.push_str(&format!(
            "  ~ rolls {} because {} changed\n",
            rollout.workload,
            rollout.secrets.join(", ")
        ));
    }
    if !prepared.recovered_credentials.is_empty() {
        out.push_str(&format!(
            "  ~ credentials  {} missing from maia's store, recovered from the workspace's Secrets and kept again ({})\n",
            prepared.recovered_credentials.len(),
            prepared.recovered_credentials.join(", ")
        ));
    }
    out.push_str(&format!(
        "{} Charts: {install} to install, {upgrade} to upgrade.\n",
        summary.trim_end_matches('.').to_string() + "."
    ));
    out
}

/// `maia namespace status`: exit 0 when the workspace is ready, 1 when it is not
/// (deleted, something missing, failed or still progressing), 2 on an error.
pub(crate) fn status(args: &NamespaceStatusArgs) -> ExitCode {
    match show_status(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            crate::report::error(&e);
            // A workspace that is not there is not ready; any other failure (the
            // cluster cannot be reached, access denied) says nothing of it: 2.
            match e {
                CliError::Deploy(DeployError::WorkspaceNotFound(_)) => ExitCode::from(1),
                _ => ExitCode::from(2),
            }
        }
    }
}

/// Prints the status; true when the workspace is ready.
fn show_status(args: &NamespaceStatusArgs) -> Result<bool> {
    let cluster = connect(&args.cluster)?;
    let helm = helm_from_path(&args.cluster);
    let status = block_on(async {
        let entry = manage::find(&cluster, &args.group).await?;
        manage::status(&cluster, &entry, helm.as_ref()).await
    })?;
    match args.output {
        StatusFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        ),
        StatusFormat::Yaml => print!("{}", yaml_serde::to_string(&status).unwrap_or_default()),
        StatusFormat::Text => print!("{}", status_text(&status)),
    }
    Ok(status.ready)
}

/// `maia namespace status`'s text: components with every URL, members by e-mail with
/// their SSH command, quota use.
fn status_text(status: &manage::WorkspaceStatus) -> String {
    let mut out = format!(
        "workspace {} in namespace {}: {}\n\n",
        status.group_id,
        status.namespace,
        if status.ready { "ready" } else { "not ready" }
    );
    let mut rows = vec![[
        "COMPONENT".to_string(),
        "STATUS".into(),
        "REASON".into(),
        "URL".into(),
    ]];
    for c in &status.components {
        let state = match &c.status {
            maia_deploy::Status::Ready => "ready",
            maia_deploy::Status::InProgress(_) => "progressing",
            maia_deploy::Status::Failed(_) => "failed",
        };
        let mut urls = c.urls.iter();
        rows.push([
            c.component.clone(),
            state.into(),
            c.status.reason().unwrap_or("-").into(),
            urls.next().cloned().unwrap_or_else(|| "-".into()),
        ]);
        // Every URL, one per line under its component.
        rows.extend(urls.map(|u| [String::new(), String::new(), String::new(), u.clone()]));
    }
    out.push_str(&table(&rows));
    if !status.users.is_empty() {
        let mut rows = vec![["USER".to_string(), "SSH".into(), "SERVER".into()]];
        for u in &status.users {
            rows.push([
                u.email.clone(),
                u.ssh_command
                    .clone()
                    .or_else(|| u.ssh_port.map(|p| format!("port {p}")))
                    .unwrap_or_else(|| "-".into()),
                if u.server_running {
                    "running"
                } else {
                    "stopped"
                }
                .into(),
            ]);
        }
        out.push('\n');
        out.push_str(&table(&rows));
    }
    if !status.quota.is_empty() {
        let mut rows = vec![["QUOTA".to_string(), "USED".into(), "HARD".into()]];
        for q in &status.quota {
            rows.push([q.resource.clone(), q.used.clone(), q.hard.clone()]);
        }
        out.push('\n');
        out.push_str(&table(&rows));
    }
    out
}

/// helm, when it is on PATH (status reads release states through it).
pub(crate) fn helm_from_path(cluster: &crate::cli::ClusterArgs) -> Option<Helm> {
    let path = std::env::var_os("PATH");
    maia_deploy::tools::find_program("helm", path.as_deref()).map(|p| {
        Helm::new(
            p,
            ToolTarget::from(&target(cluster, cluster.context.clone())),
        )
    })
}

/// `maia namespace list`.
pub(crate) fn list(args: &NamespaceListArgs) -> Result<()> {
    let cluster = connect(&args.cluster)?;
    let list = block_on(manage::list(&cluster))?;
    match args.output {
        StatusFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        ),
        StatusFormat::Yaml => print!("{}", yaml_serde::to_string(&list).unwrap_or_default()),
        StatusFormat::Text if list.is_empty() => eprintln!("no workspaces deployed by maia"),
        StatusFormat::Text => {
            let mut rows = vec![["GROUP".to_string(), "NAMESPACE".into(), "CREATED".into()]];
            for w in &list {
                rows.push([
                    w.group_id.clone(),
                    w.namespace.clone(),
                    w.created.clone().unwrap_or_else(|| "-".into()),
                ]);
            }
            print!("{}", table(&rows));
        }
    }
    Ok(())
}

/// `maia namespace delete`.
pub(crate) fn delete(args: &NamespaceDeleteArgs) -> Result<()> {
    let cluster = connect(&args.cluster)?;
    announce(&cluster, true);
    let entry = block_on(manage::find(&cluster, &args.group))?;
    if !args.yes {
        // What goes besides the workspace's own objects, when it can be read: with
        // --delete-data the namespace goes, and everything in it.
        let contents = if args.delete_data && std::io::stdin().is_terminal() {
            block_on(manage::contents(&cluster, &entry.namespace)).ok()
        } else {
            None
        };
        let question = delete_question(&entry, args.delete_data, contents.as_ref());
        if !crate::deploy::confirm(&question, &format!("deleting workspace {}", entry.group_id))? {
            return Ok(());
        }
    }
    let helm = helm_from_path(&args.cluster);
    let mut printer = Printer::new(EventFormat::Text, None);
    printer.removed = "deleted";
    let during = format!("namespace delete of {}", entry.group_id);
    let result = interruptible(
        &during,
        manage::delete(
            &cluster,
            &entry,
            helm.as_ref(),
            &args.state_namespace,
            args.delete_data,
            &holder(),
            &mut printer,
        ),
    );
    printer.finish();
    result??;
    if helm.is_none() {
        eprintln!(
            "warning: helm is not on PATH: the workspace's helm releases were left; run `helm uninstall` for {} in {}",
            manage::helm_releases(&entry.namespace).join(", "),
            entry.namespace
        );
    }
    println!("workspace {} deleted", entry.group_id);
    Ok(())
}

/// The question `namespace delete` asks. With `--delete-data` the namespace is deleted
/// with everything in it: the researchers' own apps and volumes too, listed when known.
pub(crate) fn delete_question(
    entry: &manage::WorkspaceEntry,
    delete_data: bool,
    contents: Option<&manage::Contents>,
) -> String {
    if !delete_data {
        return format!(
            "Delete workspace {} (namespace {}), keeping its volumes, namespace and credentials? [y/N] ",
            entry.group_id, entry.namespace
        );
    }
    let mut text = format!(
        "Delete workspace {} and ALL its data: namespace {} is deleted with everything in it, \
         the workspace's volumes and credentials, and the researchers' own apps and volumes there too.\n",
        entry.group_id, entry.namespace
    );
    match contents {
        Some(c) => {
            let list = |items: &[String]| {
                if items.is_empty() {
                    "none".to_string()
                } else {
                    items.join(", ")
                }
            };
            text.push_str(&format!("  researchers' apps: {}\n", list(&c.apps)));
            text.push_str(&format!(
                "  volume claims (their data is lost): {}\n",
                list(&c.volumes)
            ));
        }
        None => text.push_str(&format!(
            "  (what else is in it could not be read: `kubectl get all,pvc -n {}` shows it)\n",
            entry.namespace
        )),
    }
    text.push_str("This cannot be undone. Delete? [y/N] ");
    text
}

/// `maia namespace kubeconfig`: a member's kubeconfig on stdout.
pub(crate) fn kubeconfig(args: &NamespaceKubeconfigArgs) -> Result<()> {
    use maia_spec::workspace::cluster::Install;
    let file = &args.cluster_config_file;
    let text = maia_spec::workspace::load::read_cluster_file(file)?;
    let name = file.to_string_lossy();
    let (spec, warnings) = maia_spec::workspace::load::check_cluster_text(
        (name.as_ref(), text.as_str()),
        Install::Minimal,
        None,
        maia_spec::LoadOptions::default(),
    )?;
    report::diagnostics(&warnings);
    let keycloak = spec.keycloak.as_ref().filter(|k| !k.issuer_url.is_empty());
    let Some(keycloak) = keycloak else {
        return Err(CliError::Usage {
            message: format!(
                "{}: keycloak.issuer_url is needed: members' kubectl logs in through Keycloak",
                file.display()
            ),
            hint: Some("add keycloak.issuer_url (https://<keycloak>/realms/<realm>)".into()),
        });
    };
    // A kubeconfig for a group that has no workspace would log members into a
    // namespace that does not exist: the group must be on the cluster.
    let cluster = connect(&args.cluster)?;
    let namespace = block_on(manage::find(&cluster, &args.group))?.namespace;
    let config = maia_deploy::cluster::member_kubeconfig(
        &target(&args.cluster, args.cluster.context.clone()),
        &maia_deploy::cluster::MemberLogin {
            namespace,
            issuer_url: keycloak.issuer_url.clone(),
            client_id: spec
                .tenancy
                .kubectl_client_id
                .clone()
                .unwrap_or_else(|| keycloak.client_id.clone()),
        },
    )?;
    print!("{}", yaml_serde::to_string(&config).unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> manage::WorkspaceEntry {
        manage::WorkspaceEntry {
            group_id: "Brain_MRI".into(),
            namespace: "brain-mri".into(),
            created: None,
        }
    }

    #[test]
    fn the_delete_data_question_says_the_researchers_apps_and_volumes_go_too() {
        let contents = manage::Contents {
            apps: vec!["notebook-v1".into()],
            volumes: vec![
                "mysql-db-v1-mkg-claim-0".into(),
                "notebook-v1-mkg-claim-0".into(),
            ],
        };
        let asked = delete_question(&entry(), true, Some(&contents));
        assert!(
            asked.contains("the researchers' own apps and volumes there too"),
            "{asked}"
        );
        assert!(
            asked.contains("researchers' apps: notebook-v1\n"),
            "{asked}"
        );
        assert!(
            asked.contains(
                "(their data is lost): mysql-db-v1-mkg-claim-0, notebook-v1-mkg-claim-0\n"
            ),
            "{asked}"
        );
        assert!(asked.ends_with("[y/N] "), "{asked}");
        // Unknown contents are said to be unknown, with how to look.
        let asked = delete_question(&entry(), true, None);
        assert!(
            asked.contains("kubectl get all,pvc -n brain-mri"),
            "{asked}"
        );
        // Without --delete-data, what stays is said.
        let asked = delete_question(&entry(), false, None);
        assert!(
            asked.contains("keeping its volumes, namespace and credentials"),
            "{asked}"
        );
    }
}
