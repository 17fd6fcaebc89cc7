//! The `maia` command line: clap commands, output formats and exit codes. Thin: the
//! work is done by `maia-spec` (reading and checking configs) and `maia-render`.

pub mod app;
pub mod cli;
pub mod compat;
pub mod config;
pub mod deploy;
pub mod error;
pub mod namespace;
pub mod output;
pub mod report;
pub mod workspace;

pub use error::{CliError, Result};

use std::process::ExitCode;

/// Runs a command and turns its result into an exit code, printing any error.
pub fn finish(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => ExitCode::from(report::error(&e)),
    }
}
