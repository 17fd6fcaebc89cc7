//! How maia talks to the person at the terminal: diagnostics and errors on stderr,
//! each error with its cause chain and a hint.

use std::io::Write;

use maia_spec::Diagnostic;

use crate::error::CliError;

/// At most this many diagnostics are printed; the rest are counted.
const MAX_PRINTED: usize = 50;

/// Prints diagnostics on stderr, at most [`MAX_PRINTED`] of them.
pub(crate) fn diagnostics(diags: &[Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for d in diags.iter().take(MAX_PRINTED) {
        let _ = writeln!(err, "{d}");
    }
    if diags.len() > MAX_PRINTED {
        let _ = writeln!(
            err,
            "… and {} more (the first {MAX_PRINTED} are shown)",
            diags.len() - MAX_PRINTED
        );
    }
}

/// Prints an error (its diagnostics first, then the chain of causes and a hint) and
/// returns the exit code.
pub(crate) fn error(e: &CliError) -> u8 {
    match e {
        CliError::Maia(e) => maia_error(e),
        other => {
            chain(other, other.hint());
            other.exit_code()
        }
    }
}

/// [`error`] for the library's errors (those a fleet keeps per group).
pub(crate) fn maia_error(e: &maia::Error) -> u8 {
    if let maia::Error::Spec(spec) = e {
        diagnostics(spec.diagnostics());
    }
    if let maia::Error::Deploy(maia_deploy::DeployError::Preflight { problems }) = e {
        let mut err = std::io::stderr().lock();
        for p in problems {
            let _ = writeln!(
                err,
                "preflight: {} [{}]\n  hint: {}",
                p.message, p.check, p.hint
            );
        }
    }
    chain(e, e.hint());
    if e.is_bad_input() { 2 } else { 1 }
}

/// `error: …`, each cause, and the hint, on stderr.
fn chain(e: &dyn std::error::Error, hint: Option<String>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        let _ = writeln!(err, "  caused by: {cause}");
        source = cause.source();
    }
    if let Some(hint) = hint {
        let _ = writeln!(err, "  hint: {hint}");
    }
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
