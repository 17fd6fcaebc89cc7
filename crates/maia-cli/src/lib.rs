//! The `maia` command line: clap commands, output formats and exit codes. Thin: each
//! command translates its arguments into one call of the `maia` library, and its
//! events and results into lines and an exit code. This crate's library exists for
//! the binaries (`maia` and the toolkit's entry points in `src/bin/`) and the tests;
//! only what they use is public.

// `println!` and `print!` of every module below write through `stdout::write`, which
// drops output quietly once the reader of a pipe is gone instead of panicking (see
// stdout.rs). Defined before the modules, these shadow std's macros in all of them.
macro_rules! println {
    () => {
        $crate::stdout::write(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!($($arg)*), true)
    };
}

macro_rules! print {
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!($($arg)*), false)
    };
}

pub mod app;
pub mod cli;
pub mod compat;
pub(crate) mod config;
pub mod deploy;
pub(crate) mod error;
pub(crate) mod fleet;
pub(crate) mod fleet_cluster;
pub(crate) mod keycloak;
pub mod namespace;
pub(crate) mod output;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod stdout;
pub mod workspace;

pub use error::{CliError, Result};

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{
    AppCommand, Cli, Command, ConfigCommand, FleetCommand, KeycloakCommand, NamespaceCommand,
};

/// The `maia` command: parses the command line, runs the command and returns its exit
/// code (a plan's own codes: 0 no change, 1 changes, 2 error).
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    deploy::install_crypto();
    finish(match cli.command {
        Command::App(AppCommand::Render(args)) => app::render(&args),
        Command::App(AppCommand::Deploy(args)) => deploy::deploy(&args),
        // Plan has its own exit codes: 0 no change, 1 changes, 2 error.
        Command::App(AppCommand::Plan(args)) => return deploy::plan(&args),
        // 0 ready, 1 not ready or not there, 2 error.
        Command::App(AppCommand::Status(args)) => return deploy::status(&args),
        Command::App(AppCommand::List(args)) => deploy::list(&args),
        Command::App(AppCommand::Delete(args)) => deploy::delete(&args),
        Command::Config(ConfigCommand::Validate {
            file,
            kind,
            strictness,
        }) => config::validate(&file, kind, strictness.into()),
        Command::Config(ConfigCommand::Schema { kind }) => config::schema(kind),
        Command::Namespace(NamespaceCommand::Render(args)) => namespace::run_render(&args),
        Command::Namespace(NamespaceCommand::Deploy(args)) => workspace::deploy(&args),
        Command::Namespace(NamespaceCommand::Plan(args)) => {
            return workspace::plan(&args.into());
        }
        // 0 ready, 1 not ready, 2 error.
        Command::Namespace(NamespaceCommand::Status(args)) => return workspace::status(&args),
        Command::Namespace(NamespaceCommand::List(args)) => workspace::list(&args),
        Command::Namespace(NamespaceCommand::Delete(args)) => workspace::delete(&args),
        Command::Namespace(NamespaceCommand::Kubeconfig(args)) => workspace::kubeconfig(&args),
        // A report per group, and its own exit code: 0 all rendered, 2 bad input, 1 other.
        Command::Fleet(FleetCommand::Render(args)) => return fleet::render(&args),
        // A line per group, then a table; exit codes as their help says.
        Command::Fleet(FleetCommand::Deploy(args)) => return fleet_cluster::deploy(&args),
        Command::Fleet(FleetCommand::Plan(args)) => return fleet_cluster::plan(&args.into()),
        Command::Fleet(FleetCommand::Status(args)) => return fleet_cluster::status(&args),
        // Plan and status have their own exit codes, as their namespace counterparts.
        Command::Keycloak(KeycloakCommand::Plan(args)) => return keycloak::plan(&args),
        Command::Keycloak(KeycloakCommand::Sync(args)) => keycloak::sync(&args),
        Command::Keycloak(KeycloakCommand::Status(args)) => return keycloak::status(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Completion { shell } => {
            completion(shell);
            Ok(())
        }
        Command::Version { output } => {
            version(output);
            Ok(())
        }
    })
}

/// `maia version`: the line `--version` prints, or its parts as JSON.
fn version(output: cli::VersionFormat) {
    match output {
        cli::VersionFormat::Text => println!("maia {}", cli::VERSION),
        cli::VersionFormat::Json => println!(
            "{}",
            serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"),
                "commit": env!("MAIA_COMMIT"),
            })
        ),
    }
}

/// `maia completion SHELL`: the script clap_complete builds from the command
/// definitions, so it names every command and flag there is, and no other.
fn completion(shell: clap_complete::Shell) {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "maia", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
}

/// Runs a command and turns its result into an exit code, printing any error.
pub fn finish(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => ExitCode::from(report::error(&e)),
    }
}
