use std::process::ExitCode;

use clap::Parser;
use maia_cli::cli::{AppCommand, Cli, Command, ConfigCommand, NamespaceCommand};
use maia_cli::{app, config, deploy, finish, namespace, workspace};

fn main() -> ExitCode {
    let cli = Cli::parse();
    deploy::install_crypto();
    finish(match cli.command {
        Command::App(AppCommand::Render(args)) => app::render(&args),
        Command::App(AppCommand::Deploy(args)) => deploy::deploy(&args),
        // Plan has its own exit codes: 0 no change, 1 changes, 2 error.
        Command::App(AppCommand::Plan(args)) => return deploy::plan(&args),
        Command::App(AppCommand::Status(args)) => deploy::status(&args),
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
        Command::Namespace(NamespaceCommand::Plan(args)) => return workspace::plan(&args),
        Command::Namespace(NamespaceCommand::Status(args)) => workspace::status(&args),
        Command::Namespace(NamespaceCommand::List(args)) => workspace::list(&args),
        Command::Namespace(NamespaceCommand::Delete(args)) => workspace::delete(&args),
    })
}
