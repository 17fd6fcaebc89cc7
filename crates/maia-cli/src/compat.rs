//! The original toolkit's entry points that write one part of a workspace and print
//! how to install it. Each is installed under the name of maia-toolkit 1.0.7
//! (`MAIA_create_…`) and under the name the workspace guide uses
//! (`MAIAKubeGate_create_…`); `--config-folder` defaults to the current directory, as
//! the original wrote there.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::{finish, namespace};

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    args: namespace::CompatArgs,
}

/// One compatibility entry point: its component, how to name it, and its help.
struct EntryPoint {
    component: &'static str,
    what: &'static str,
    about: &'static str,
}

const JUPYTERHUB: EntryPoint = EntryPoint {
    component: "jupyterhub",
    what: "JupyterHub",
    about: "Write the JupyterHub values of a group's hub and print the helm commands (MAIA Toolkit compatible)",
};

const ADDONS: EntryPoint = EntryPoint {
    component: "addons",
    what: "MAIA addons",
    about: "Write the MAIA addons of a group's workspace and print the install commands (MAIA Toolkit compatible)",
};

fn run(name: &'static str, entry: EntryPoint) -> ExitCode {
    let command = Args::command()
        .name(name)
        .bin_name(name)
        .version(crate::cli::VERSION)
        .about(entry.about)
        .after_help(format!(
            "Example:\n  \
             {name} --form group.yaml --cluster-config-file cluster.yaml --config-folder out/\n\n\
             The same job with maia's own commands:\n  \
             maia namespace render --namespace-config-file group.yaml --cluster-config-file cluster.yaml --config-folder out/"
        ));
    let args = match Args::from_arg_matches(&command.get_matches()) {
        Ok(a) => a.args,
        Err(e) => e.exit(),
    };
    finish(namespace::run_compat(&args, entry.component, entry.what))
}

/// `MAIA_create_JupyterHub_config` / `MAIAKubeGate_create_jupyterHub_config`.
pub fn jupyterhub(name: &'static str) -> ExitCode {
    run(name, JUPYTERHUB)
}

/// `MAIA_create_MAIA_Addons_config` / `MAIAKubeGate_create_MAIA_Addons_config`.
pub fn addons(name: &'static str) -> ExitCode {
    run(name, ADDONS)
}
