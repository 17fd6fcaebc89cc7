//! `MAIA_create_MAIA_Addons_config`: writes the addons of a group's workspace (SSH and
//! jupyter Services, nginx proxy, ingresses) and prints the commands that install
//! them, as the original toolkit did. The whole bundle is written alongside.

use std::process::ExitCode;

use clap::Parser;
use maia_cli::{finish, namespace};

#[derive(Debug, Parser)]
#[command(
    name = "MAIA_create_MAIA_Addons_config",
    version,
    about = "Write the MAIA addons of a group's workspace and print the install commands (MAIA Toolkit compatible)",
    after_help = "Example:\n  \
        MAIA_create_MAIA_Addons_config --form group.yaml --cluster-config-file cluster.yaml --config-folder out/\n\n\
        The same job with maia's own commands:\n  \
        maia namespace render --namespace-config-file group.yaml --cluster-config-file cluster.yaml --config-folder out/"
)]
struct Args {
    #[command(flatten)]
    args: namespace::CompatArgs,
}

fn main() -> ExitCode {
    let args = Args::parse().args;
    finish(namespace::run_compat(&args, "addons", "MAIA addons"))
}
