//! `MAIA_deploy_MAIA_namespace`: the original toolkit's entry point for a group's
//! workspace, kept so scripts and habits keep working. `--create-script` writes the
//! bundle and `<group_ID>_namespace.sh`, with no cluster needed (the original still
//! needed one).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use maia_cli::cli::{NamespaceRenderArgs, Strictness, WorkspaceFileArgs};
use maia_cli::{CliError, finish, namespace};

#[derive(Debug, Parser)]
#[command(
    name = "MAIA_deploy_MAIA_namespace",
    version,
    about = "Deploy a MAIA namespace for a research group (MAIA Toolkit compatible)",
    after_help = "Examples:\n  \
        MAIA_deploy_MAIA_namespace --namespace-config-file group.yaml --cluster-config-file cluster.yaml \\\n      \
        --config-folder out/ --create-script\n  \
        out/Brain_MRI_namespace.sh    # after review\n\n\
        The same job with maia's own commands:\n  \
        maia namespace render --namespace-config-file group.yaml --cluster-config-file cluster.yaml --config-folder out/"
)]
struct Args {
    #[command(flatten)]
    files: WorkspaceFileArgs,
    /// Folder the bundle is written under (as DIR/<group_ID>/)
    #[arg(long, value_name = "DIR")]
    config_folder: PathBuf,
    /// Write the deployment script instead of deploying (needs no cluster)
    #[arg(long)]
    create_script: bool,
    /// Only the namespace, pull secret, shared volume, SSH Services and JupyterHub
    #[arg(long)]
    minimal: bool,
    #[command(flatten)]
    strictness: Strictness,
}

fn main() -> ExitCode {
    finish(run(Args::parse()))
}

fn run(args: Args) -> maia_cli::Result<()> {
    if !args.create_script {
        // Validate first, so a bad file is reported as such.
        namespace::load(&args.files, args.minimal, args.strictness.into())?;
        return Err(CliError::Unsupported {
            message: "deploying to a cluster needs maia's deploy feature, which this build does not have yet".into(),
            hint: "add --create-script to write the bundle and its deployment script, then run the script".into(),
        });
    }
    let rendered = namespace::render_and_write(&NamespaceRenderArgs {
        files: args.files,
        config_folder: args.config_folder.clone(),
        minimal: args.minimal,
        strictness: args.strictness,
    })?;
    let script = namespace::write_namespace_script(&rendered, &args.config_folder)?;
    println!("wrote {}\nreview the bundle, then run it", script.display());
    Ok(())
}
