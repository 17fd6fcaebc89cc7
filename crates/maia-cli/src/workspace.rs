//! `maia namespace deploy | plan | status | list | delete | kubeconfig`: arguments to
//! `maia::workspace` calls, events and results to lines and exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use maia::workspace::{self as ws, DeployInput, HelmChange, KubeflowChange};
use maia::{Cancel, Env};
use maia_deploy::DeployError;
use maia_deploy::tools::ToolTarget;
use maia_spec::workspace::WorkspaceSpec;
use serde_json::Value;

use crate::cli::{
    ClusterArgs, EventFormat, NamespaceDeleteArgs, NamespaceDeployArgs, NamespaceKubeconfigArgs,
    NamespaceListArgs, NamespaceStatusArgs, StatusFormat,
};
use crate::deploy::{Printer, announce, block_on, connect, interruptible, table, target};
use crate::error::{CliError, Result};
use crate::report;

/// The environment a run takes from this process: PATH, the cluster helm and kubectl
/// are pointed at, and who runs it.
pub(crate) fn env(cluster: &ClusterArgs) -> Env {
    Env {
        path: std::env::var_os("PATH"),
        tools: ToolTarget::from(&target(cluster, cluster.context.clone())),
        holder: holder(),
    }
}

/// Who this run is, as another run finding its Lease is told: `user@host (pid N)`.
fn holder() -> String {
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
    format!("{user}@{host} (pid {})", std::process::id())
}

/// Loads the workspace's files (warnings printed) into the library's deploy input.
fn input(args: &NamespaceDeployArgs) -> Result<DeployInput> {
    let loaded = crate::namespace::load(&args.files, args.minimal, args.strictness.into())?;
    Ok(DeployInput {
        spec: loaded.spec,
        form: args.files.namespace_config_file.clone(),
        config_folder: args.config_folder.clone(),
        state_namespace: args.state_namespace.clone(),
        skip_helm: args.skip_helm,
        skip_kubeflow: args.skip_kubeflow,
        secrets_only: args.secrets_only,
        adopt_namespace: args.adopt_namespace,
        force_conflicts: args.force_conflicts,
        wait: args.wait.then_some(args.timeout),
        dry_run: args.dry_run,
    })
}

/// `maia namespace deploy` (and `MAIA_deploy_MAIA_namespace`).
pub fn deploy(args: &NamespaceDeployArgs) -> Result<()> {
    let input = input(args)?;
    if let (Some(folder), false, false) = (&input.config_folder, input.secrets_only, args.dry_run) {
        // Before connecting: a folder that cannot be written stops the run first.
        ws::check_writable(folder, &input.spec.group_id)?;
    }
    let cluster = connect(&args.cluster)?;
    announce(&cluster, args.output == EventFormat::Text);
    let mut printer = Printer::new(args.output, None);
    printer.quiet = args.quiet;
    let during = format!("namespace deploy of {}", input.spec.group_id);
    let cancel = Cancel::new();
    let env = env(&args.cluster);
    let result = interruptible(
        &during,
        &cancel,
        ws::deploy(&cluster, &env, &input, &cancel, &mut printer),
    );
    printer.finish();
    let result = match result {
        Ok(result) => result,
        Err(e) => {
            printer.report_partial();
            return Err(e);
        }
    };
    let ws::Deployed {
        bundle,
        plan,
        fresh,
        hand_over,
        left_to_admin,
        ..
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
    let spec = &input.spec;
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
    if args.dry_run {
        if args.output == EventFormat::Text {
            println!(
                "\nworkspace {} (namespace {}): dry run, nothing was changed; the API server checked every object above, helm and kubectl were not run",
                spec.group_id, spec.namespace
            );
        }
        return Ok(());
    }
    if args.output == EventFormat::Text {
        for rollout in &plan.rollouts {
            println!(
                "rolled {} because {} changed",
                rollout.workload,
                rollout.secrets.join(", ")
            );
        }
        print_left(&left_to_admin, spec, args.config_folder.as_deref());
        println!(
            "\nworkspace {} (namespace {}) deployed: hub {}",
            spec.group_id,
            spec.namespace,
            maia_render::workspace::text::hub_url(spec)
        );
        if fresh > 0 {
            println!(
                "{fresh} new credential(s) kept in secret/{} in {}",
                maia_deploy::workspace::facts::credentials_secret(spec.namespace.as_str()),
                args.state_namespace
            );
        }
        print!("{}", hand_over_text(&hand_over));
    }
    Ok(())
}

/// What the admin sends the group once it is deployed: every URL and each member's SSH
/// command. Read from the workspace's record (the one the deploy applied, which
/// `namespace status` reads back) and the SSH ports the deploy used, so both agree.
fn hand_over_text(hand_over: &ws::HandOver) -> String {
    let mut urls = vec![["COMPONENT".to_string(), "URL".into()]];
    urls.extend(hand_over.urls.iter().map(|(c, u)| [c.clone(), u.clone()]));
    let mut users = vec![["USER".to_string(), "SSH".into()]];
    for (email, ssh) in &hand_over.members {
        users.push([email.clone(), ssh.clone().unwrap_or_else(|| "-".into())]);
    }
    let mut out = String::from("\nfor the group (also `maia namespace status`):\n");
    out.push_str(&table(&urls));
    if users.len() > 1 {
        out.push('\n');
        out.push_str(&table(&users));
    }
    out
}

/// With --skip-helm / --skip-kubeflow, the steps left to the admin.
fn print_left(left: &[String], spec: &WorkspaceSpec, folder: Option<&std::path::Path>) {
    if left.is_empty() {
        return;
    }
    println!("\nleft to you (--skip-helm / --skip-kubeflow):");
    if folder.is_none() {
        println!(
            "  (write the values files first: maia namespace render ... --config-folder DIR, and run these in DIR/{})",
            spec.group_id
        );
    }
    for line in left {
        println!("  {line}");
    }
}

/// `maia namespace plan`: exit 0 nothing would change, 1 something would, 2 error.
pub(crate) fn plan(args: &NamespaceDeployArgs) -> ExitCode {
    report::plan_exit(plan_inner(args))
}

fn plan_inner(args: &NamespaceDeployArgs) -> Result<bool> {
    let input = input(args)?;
    let cluster = connect(&args.cluster)?;
    announce(&cluster, args.output == EventFormat::Text);
    let mut printer = Printer::new(args.output, None);
    let prepared = block_on(ws::plan(
        &cluster,
        &env(&args.cluster),
        &input,
        &mut printer,
    ))?;
    let plan = &prepared.plan;
    let changes = prepared.changes;
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

fn plan_text(prepared: &ws::Planned) -> String {
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
                CliError::Maia(maia::Error::Deploy(DeployError::WorkspaceNotFound(_))) => {
                    ExitCode::from(1)
                }
                _ => ExitCode::from(2),
            }
        }
    }
}

/// Prints the status; true when the workspace is ready.
fn show_status(args: &NamespaceStatusArgs) -> Result<bool> {
    let cluster = connect(&args.cluster)?;
    let status = block_on(ws::status(&cluster, &env(&args.cluster), &args.group))?;
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
fn status_text(status: &ws::WorkspaceStatus) -> String {
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

/// `maia namespace list`.
pub(crate) fn list(args: &NamespaceListArgs) -> Result<()> {
    let cluster = connect(&args.cluster)?;
    let list = block_on(ws::list(&cluster))?;
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
    let entry = block_on(ws::find(&cluster, &args.group))?;
    if !args.yes {
        // What goes besides the workspace's own objects, when it can be read: with
        // --delete-data the namespace goes, and everything in it.
        let contents = if args.delete_data && std::io::stdin().is_terminal() {
            block_on(ws::contents(&cluster, &entry.namespace)).ok()
        } else {
            None
        };
        let question = ws::delete_question(&entry, args.delete_data, contents.as_ref());
        if !crate::deploy::confirm(&question, &format!("deleting workspace {}", entry.group_id))? {
            return Ok(());
        }
    }
    let mut printer = Printer::new(EventFormat::Text, None);
    printer.removed = "deleted";
    let during = format!("namespace delete of {}", entry.group_id);
    let cancel = Cancel::new();
    let result = interruptible(
        &during,
        &cancel,
        ws::delete(
            &cluster,
            &env(&args.cluster),
            &entry,
            &args.state_namespace,
            args.delete_data,
            &cancel,
            &mut printer,
        ),
    );
    printer.finish();
    result??;
    println!("workspace {} deleted", entry.group_id);
    Ok(())
}

/// `maia namespace kubeconfig`: a member's kubeconfig on stdout.
pub(crate) fn kubeconfig(args: &NamespaceKubeconfigArgs) -> Result<()> {
    let (login, warnings) = ws::member_login(&args.cluster_config_file)?;
    report::diagnostics(&warnings);
    let cluster = connect(&args.cluster)?;
    let config = block_on(ws::kubeconfig(
        &cluster,
        &target(&args.cluster, args.cluster.context.clone()),
        &login,
        &args.group,
    ))?;
    print!("{}", yaml_serde::to_string(&config).unwrap_or_default());
    Ok(())
}
