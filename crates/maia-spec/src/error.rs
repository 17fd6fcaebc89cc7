use std::path::PathBuf;

use crate::diag::{Diagnostic, Severity};

/// Why a config could not be turned into a spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {kind} file {}", path.display())]
    Read {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid config; every finding is in `diagnostics`
    /// (warnings included, errors first).
    #[error("{} is not a valid {kind}: {}", file.display(), count(diagnostics))]
    Invalid {
        kind: &'static str,
        file: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

fn count(diagnostics: &[Diagnostic]) -> String {
    let n = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if n == 1 {
        "1 error".to_string()
    } else {
        format!("{n} errors")
    }
}

impl SpecError {
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            SpecError::Invalid { diagnostics, .. } => diagnostics,
            SpecError::Read { .. } => &[],
        }
    }
}
