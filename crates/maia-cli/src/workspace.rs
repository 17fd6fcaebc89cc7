//! `maia namespace deploy | plan | status | list | delete | kubeconfig`: arguments to
//! `maia::workspace` calls, events and results to lines and exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use maia::workspace::{self as ws, DeployInput};
use maia::{Cancel, Env};
use maia_deploy::DeployError;
use maia_deploy::tools::ToolTarget;
use maia_spec::workspace::WorkspaceSpec;

use crate::cli::{
    ClusterArgs, EventFormat, NamespaceDeleteArgs, NamespaceDeployArgs, NamespaceKubeconfigArgs,
    NamespaceListArgs, NamespaceStatusArgs, StatusFormat,
};
use crate::deploy::{Printer, announce, block_on, connect, interruptible, target};
use crate::error::{CliError, Result};
use crate::report;

/// The environment a run takes from this process: PATH, the cluster helm and kubectl
/// are pointed at, and who runs it.
pub(crate) fn env(cluster: &ClusterArgs) -> Env {
    Env {
        path: std::env::var_os("PATH"),
        tools: ToolTarget::from(&target(cluster, cluster.context.clone())),
        holder: holder(),
        keycloak_secret: keycloak_secret(),
    }
}

/// The Keycloak admin client's secret from `MAIA_KEYCLOAK_ADMIN_SECRET`, if set (the
/// cluster config's `client_secret_file` wins over it).
pub(crate) fn keycloak_secret() -> Option<maia::Hidden> {
    std::env::var("MAIA_KEYCLOAK_ADMIN_SECRET")
        .ok()
        .map(maia::Hidden)
}

/// The `keycloak_admin` of a cluster config given to a command that takes no group
/// form (`namespace status`, `delete`), its warnings printed; none without a file.
fn keycloak_settings(
    file: Option<&std::path::Path>,
) -> Result<Option<maia_spec::workspace::KeycloakAdmin>> {
    let Some(file) = file else {
        return Ok(None);
    };
    let (settings, warnings) = maia::keycloak::admin_settings(file)?;
    report::diagnostics(&warnings);
    Ok(settings)
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
                printer.error_event(&e.to_string(), e.hint());
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
        print!("{}", maia::text::hand_over(&hand_over));
    }
    Ok(())
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
    match args.output {
        EventFormat::Json => println!("{}", maia::text::json::workspace_plan(&prepared)),
        EventFormat::Text => print!(
            "{}",
            maia::text::changes_only(maia::text::workspace_plan(&prepared), args.quiet)
        ),
    }
    Ok(prepared.changes)
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
    let keycloak = keycloak_settings(args.cluster_config_file.as_deref())?;
    let cluster = connect(&args.cluster)?;
    let env = env(&args.cluster);
    let status = block_on(ws::status(&cluster, &env, &args.group))?;
    let keycloak = match &keycloak {
        Some(settings) => {
            let members: Vec<String> = status.users.iter().map(|u| u.email.clone()).collect();
            Some(block_on(maia::keycloak::workspace_status(
                settings,
                &env,
                &status.group_id,
                &status.namespace,
                &members,
            ))?)
        }
        None => None,
    };
    // Keycloak's part is one more key of the document.
    let document = || {
        let mut value = serde_json::to_value(&status).unwrap_or_default();
        if let (Some(k), Some(map)) = (&keycloak, value.as_object_mut()) {
            map.insert(
                "keycloak".into(),
                serde_json::to_value(k).unwrap_or_default(),
            );
        }
        value
    };
    match args.output {
        StatusFormat::Json => crate::output::json(&document()),
        StatusFormat::Yaml => crate::output::yaml(&document()),
        StatusFormat::Text => {
            print!("{}", maia::text::workspace_status(&status));
            if let Some(k) = &keycloak {
                print!("\n{}", maia::text::keycloak_status(k));
            }
        }
    }
    Ok(status.ready)
}

/// `maia namespace list`.
pub(crate) fn list(args: &NamespaceListArgs) -> Result<()> {
    let cluster = connect(&args.cluster)?;
    let list = block_on(ws::list(&cluster))?;
    match args.output {
        StatusFormat::Json => crate::output::json(&list),
        StatusFormat::Yaml => crate::output::yaml(&list),
        StatusFormat::Text if list.is_empty() => eprintln!("no workspaces deployed by maia"),
        StatusFormat::Text => print!("{}", maia::text::workspaces_table(&list)),
    }
    Ok(())
}

/// `maia namespace delete`.
pub(crate) fn delete(args: &NamespaceDeleteArgs) -> Result<()> {
    // Keycloak's part is read before anything is deleted (a bad file stops it first).
    let keycloak = keycloak_settings(args.cluster_config_file.as_deref())?;
    let cluster = connect(&args.cluster)?;
    announce(&cluster, true);
    let entry = block_on(ws::find(&cluster, &args.group))?;
    // A dry run deletes nothing: nothing to confirm.
    if !args.yes && !args.dry_run {
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
    let input = ws::DeleteInput {
        state_namespace: args.state_namespace.clone(),
        delete_data: args.delete_data,
        dry_run: args.dry_run,
        keycloak,
    };
    let result = interruptible(
        &during,
        &cancel,
        ws::delete(
            &cluster,
            &env(&args.cluster),
            &entry,
            &input,
            &cancel,
            &mut printer,
        ),
    );
    printer.finish();
    let deleted = result??;
    if args.dry_run {
        println!(
            "workspace {} (namespace {}): dry run, nothing was deleted; {} object(s) and {} helm release(s) would be",
            entry.group_id,
            entry.namespace,
            deleted.objects.len(),
            deleted.releases.len()
        );
    } else {
        println!("workspace {} deleted", entry.group_id);
    }
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
