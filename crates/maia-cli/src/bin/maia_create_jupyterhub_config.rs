//! `MAIA_create_JupyterHub_config`: writes the JupyterHub values of a group's hub and
//! prints the helm commands that install it, as the original toolkit did. The whole
//! bundle is written alongside, so the credentials the values use are kept.

use std::process::ExitCode;

use clap::Parser;
use maia_cli::{finish, namespace};

#[derive(Debug, Parser)]
#[command(
    name = "MAIA_create_JupyterHub_config",
    version,
    about = "Write the JupyterHub values of a group's hub and print the helm commands (MAIA Toolkit compatible)",
    after_help = "Example:\n  \
        MAIA_create_JupyterHub_config --form group.yaml --cluster-config-file cluster.yaml --config-folder out/\n\n\
        The same job with maia's own commands:\n  \
        maia namespace render --namespace-config-file group.yaml --cluster-config-file cluster.yaml --config-folder out/"
)]
struct Args {
    #[command(flatten)]
    args: namespace::CompatArgs,
}

fn main() -> ExitCode {
    let args = Args::parse().args;
    finish(namespace::run_compat(&args, "jupyterhub", "JupyterHub"))
}
