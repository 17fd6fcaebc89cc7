//! How maia talks to the person at the terminal: diagnostics and errors on stderr,
//! each error with its cause chain and a hint.

use std::io::Write;

use maia_spec::Diagnostic;

use crate::error::CliError;

/// Prints diagnostics on stderr, at most [`maia::text::MAX_DIAGNOSTICS`] of them.
pub(crate) fn diagnostics(diags: &[Diagnostic]) {
    lines(&maia::text::diagnostics(diags));
}

/// Prints lines on stderr.
fn lines(lines: &[String]) {
    let mut err = std::io::stderr().lock();
    for line in lines {
        let _ = writeln!(err, "{line}");
    }
}

/// Prints an error (its diagnostics first, then the chain of causes and a hint) and
/// returns the exit code.
pub(crate) fn error(e: &CliError) -> u8 {
    match e {
        CliError::Maia(e) => maia_error(e),
        other => {
            lines(&maia::text::error_chain(other, other.hint()));
            other.exit_code()
        }
    }
}

/// [`error`] for the library's errors (those a fleet keeps per group).
pub(crate) fn maia_error(e: &maia::Error) -> u8 {
    lines(&maia::text::error(e));
    if e.is_bad_input() { 2 } else { 1 }
}

/// The exit code of a plan, as `terraform plan -detailed-exitcode`: 0 nothing would
/// change, 1 something would, 2 error (printed).
pub(crate) fn plan_exit(result: Result<bool, CliError>) -> std::process::ExitCode {
    match result {
        Ok(false) => std::process::ExitCode::SUCCESS,
        Ok(true) => std::process::ExitCode::from(1),
        Err(e) => {
            error(&e);
            std::process::ExitCode::from(2)
        }
    }
}
