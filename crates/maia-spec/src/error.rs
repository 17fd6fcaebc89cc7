use std::path::PathBuf;

use crate::diag::{Diagnostic, Severity};

/// Why a config could not be turned into a spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read (missing, not a regular file, too large, not UTF-8).
    #[error("cannot read {kind} file {}", path.display())]
    Read {
        /// What the file is ("app config", "group form", …).
        kind: &'static str,
        /// The file as it was named.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid config; every finding is in `diagnostics`
    /// (warnings included, errors first).
    #[error("{} is not a valid {kind}: {}", file.display(), count(diagnostics))]
    Invalid {
        /// What the file is ("app config", "group form", …).
        kind: &'static str,
        /// The file as it was named.
        file: PathBuf,
        /// Every finding, located.
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
    /// The findings of an invalid file; none when the file could not be read.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            SpecError::Invalid { diagnostics, .. } => diagnostics,
            SpecError::Read { .. } => &[],
        }
    }
}
