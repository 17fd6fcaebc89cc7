//! `MAIA_deploy_MAIA_namespace`: the original toolkit's entry point for a group's
//! workspace, kept so scripts and habits keep working. `--create-script` writes the
//! bundle and `<group_ID>_namespace.sh`, with no cluster needed (the original still
//! needed one).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use maia_cli::cli::{
    ClusterArgs, EventFormat, NamespaceDeployArgs, NamespaceRenderArgs, Strictness,
    WorkspaceFileArgs,
};
use maia_cli::{finish, namespace, workspace};

#[derive(Debug, Parser)]
#[command(
    name = "MAIA_deploy_MAIA_namespace",
    version = maia_cli::cli::VERSION,
    about = "Deploy a MAIA namespace for a research group (MAIA Toolkit compatible)",
    after_help = "Examples:\n  \
        MAIA_deploy_MAIA_namespace --namespace-config-file group.yaml --cluster-config-file cluster.yaml \\\n      \
        --config-folder out/                   # deploys (as maia namespace deploy)\n  \
        MAIA_deploy_MAIA_namespace --namespace-config-file group.yaml --cluster-config-file cluster.yaml \\\n      \
        --config-folder out/ --create-script   # writes the bundle and a script instead\n  \
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
    /// With --create-script: take the credentials and SSH ports from the cluster, so the
    /// bundle matches the deployed workspace (implied by --kubeconfig or --context)
    #[arg(long, requires = "create_script")]
    from_cluster: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Wait for each component to be ready before the next
    #[arg(long)]
    wait: bool,
    /// Only the namespace, pull secret, shared volume, SSH Services and JupyterHub
    #[arg(long)]
    minimal: bool,
    /// Deploy into a namespace maia did not create (one the original toolkit made),
    /// making it the workspace's
    #[arg(long)]
    adopt_namespace: bool,
    #[command(flatten)]
    strictness: Strictness,
}

fn main() -> ExitCode {
    finish(run(Args::parse()))
}

fn run(args: Args) -> maia_cli::Result<()> {
    if !args.create_script {
        maia_cli::deploy::install_crypto();
        return workspace::deploy(&NamespaceDeployArgs {
            files: args.files,
            cluster: args.cluster,
            minimal: args.minimal,
            wait: args.wait,
            timeout: std::time::Duration::from_secs(15 * 60),
            force_conflicts: false,
            skip_helm: false,
            skip_kubeflow: false,
            secrets_only: false,
            adopt_namespace: args.adopt_namespace,
            dry_run: false,
            state_namespace: maia_deploy::workspace::STATE_NAMESPACE.into(),
            config_folder: Some(args.config_folder),
            output: EventFormat::Text,
            quiet: false,
            strictness: args.strictness,
        });
    }
    let rendered = namespace::render_and_write(&NamespaceRenderArgs {
        files: args.files,
        config_folder: args.config_folder.clone(),
        minimal: args.minimal,
        regenerate: Vec::new(),
        refresh_env: false,
        gitops: Default::default(),
        source: maia_cli::cli::RenderSource {
            from_cluster: args.from_cluster,
            kubeconfig: args.cluster.kubeconfig,
            context: args.cluster.context,
            ..Default::default()
        },
        strictness: args.strictness,
    })?;
    let script = namespace::write_namespace_script(&rendered, &args.config_folder)?;
    // A closed stdout (`| head`) is no failure: the bundle is written.
    let _ = writeln!(
        std::io::stdout(),
        "wrote {}\nreview the bundle, then run it",
        script.display()
    );
    Ok(())
}
