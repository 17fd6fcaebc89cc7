use std::process::ExitCode;

use clap::Parser;
use maia_cli::cli::{AppCommand, Cli, Command, ConfigCommand, NamespaceCommand};
use maia_cli::{app, config, finish, namespace};

fn main() -> ExitCode {
    let cli = Cli::parse();
    finish(match cli.command {
        Command::App(AppCommand::Render(args)) => app::render(&args),
        Command::Config(ConfigCommand::Validate {
            file,
            kind,
            strictness,
        }) => config::validate(&file, kind, strictness.into()),
        Command::Config(ConfigCommand::Schema { kind }) => config::schema(kind),
        Command::Namespace(NamespaceCommand::Render(args)) => namespace::run_render(&args),
    })
}
