//! `maia namespace render` and the toolkit's entry points that write a bundle:
//! arguments to [`maia::workspace::render()`], events and results to lines.

use std::path::PathBuf;

use maia::workspace::{self as ws, Rendered};
use maia_spec::workspace::LoadedWorkspace;

pub use maia::workspace::ConfigFolder;

use crate::cli::EventFormat;
use crate::cli::{GitOpsArgs, NamespaceRenderArgs, WorkspaceFileArgs};
use crate::deploy::{Printer, block_on, connect};
use crate::error::{CliError, Result};
use crate::report;

/// The library's names of the three files.
pub(crate) fn files(files: &WorkspaceFileArgs) -> ws::Files {
    ws::Files {
        group: files.namespace_config_file.clone(),
        cluster: files.cluster_config_file.clone(),
        maia: files.maia_config_file.clone(),
    }
}

/// Reads and checks the three config files of a workspace; warnings are printed on
/// stderr.
pub(crate) fn load(
    files_: &WorkspaceFileArgs,
    minimal: bool,
    options: maia_spec::LoadOptions,
) -> Result<LoadedWorkspace> {
    let loaded = ws::load(&files(files_), minimal, options)?;
    report::diagnostics(&loaded.warnings);
    Ok(loaded)
}

/// The GitOps settings the flags ask for.
pub(crate) fn gitops(args: &GitOpsArgs) -> Option<maia::GitOpsSettings> {
    args.gitops.map(|_| maia::GitOpsSettings {
        repo_url: args.repo_url.clone().unwrap_or_default(),
        repo_path: args.repo_path.clone(),
        target_revision: args.target_revision.clone(),
        folder: args.gitops_folder.clone(),
        auto_sync: !args.no_auto_sync,
        prune: !args.no_prune,
        self_heal: !args.no_self_heal,
    })
}

/// Loads, renders and writes; prints what was written (never a secret).
pub fn render_and_write(args: &NamespaceRenderArgs) -> Result<Rendered> {
    let input = ws::RenderInput {
        files: files(&args.files),
        config_folder: args.config_folder.clone(),
        minimal: args.minimal,
        regenerate: args.regenerate.clone(),
        refresh_env: args.refresh_env,
        gitops: gitops(&args.gitops),
        options: args.strictness.into(),
        state_namespace: args.source.state_namespace.clone(),
    };
    let mut printer = Printer::new(EventFormat::Text, None);
    let rendered = match args.source.cluster() {
        Some(cluster_args) => {
            crate::deploy::install_crypto();
            // A bundle that fails to render is reported before the cluster is asked.
            let cluster = connect(&cluster_args)?;
            block_on(ws::render(&input, Some(&cluster), &mut printer))?
        }
        None => block_on(ws::render(&input, None, &mut printer))?,
    };
    for p in &rendered.written.removed {
        println!("removed {} (no longer rendered)", p.display());
    }
    if !rendered.written.unchanged.is_empty() {
        println!(
            "{} file(s) of {} already up to date",
            rendered.written.unchanged.len(),
            rendered.dir.display()
        );
    }
    Ok(rendered)
}

/// `maia namespace render`.
pub(crate) fn run_render(args: &NamespaceRenderArgs) -> Result<()> {
    let rendered = render_and_write(args)?;
    println!(
        "\nworkspace {} (namespace {}): hub {}\nreview it, then run {}",
        rendered.spec.group_id,
        rendered.spec.namespace,
        maia_render::workspace::text::hub_url(&rendered.spec),
        rendered.dir.join("deploy.sh").display()
    );
    Ok(())
}

/// `<config folder>/<group_ID>_namespace.sh`: the original's script name, running the
/// bundle's `deploy.sh`.
pub fn write_namespace_script(
    rendered: &Rendered,
    config_folder: &std::path::Path,
) -> Result<PathBuf> {
    Ok(ws::write_namespace_script(rendered, config_folder)?)
}

/// Arguments of `MAIA_create_JupyterHub_config` and `MAIA_create_MAIA_Addons_config`.
#[derive(Debug, clap::Args, Clone)]
pub(crate) struct CompatArgs {
    /// The group form
    #[arg(long, value_name = "FILE")]
    pub(crate) form: PathBuf,
    /// The cluster config
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_config_file: PathBuf,
    /// The MAIA config (images and chart versions); built-in defaults when left out
    #[arg(long, value_name = "FILE")]
    pub(crate) maia_config_file: Option<PathBuf>,
    /// Folder the bundle is written under (as DIR/<group_ID>/)
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) config_folder: PathBuf,
    /// Where the credentials and ports of a deployed workspace come from.
    #[command(flatten)]
    pub(crate) source: crate::cli::RenderSource,
    #[command(flatten)]
    pub(crate) strictness: crate::cli::Strictness,
}

/// Writes the bundle and prints the commands installing `component`.
pub(crate) fn run_compat(args: &CompatArgs, component: &str, what: &str) -> Result<()> {
    let rendered = render_and_write(&NamespaceRenderArgs {
        files: WorkspaceFileArgs {
            namespace_config_file: args.form.clone(),
            cluster_config_file: args.cluster_config_file.clone(),
            maia_config_file: args.maia_config_file.clone(),
        },
        config_folder: args.config_folder.clone(),
        minimal: false,
        regenerate: Vec::new(),
        refresh_env: false,
        gitops: Default::default(),
        source: args.source.clone(),
        strictness: args.strictness,
    })?;
    let Some(commands) = ws::install_commands(&rendered, component).filter(|c| !c.is_empty())
    else {
        return Err(CliError::Maia(maia::Error::Unsupported {
            message: format!("this build of maia renders no {what}"),
            hint: "the rest of the bundle is written; see its deploy.sh".into(),
        }));
    };
    println!(
        "\nto install {what} of workspace {}, run:",
        rendered.spec.group_id
    );
    for c in commands {
        println!("  {c}");
    }
    Ok(())
}
