//! Diagnostics: one finding about a config file, located by file, line, column and
//! field path, with what was found, what is wanted and a hint.

use std::fmt;
use std::path::PathBuf;

use crate::path::FieldPath;

/// How serious a finding is. Errors sort after warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file is used, but something in it is ignored or likely a mistake.
    Warning,
    /// The file cannot be used as it is.
    Error,
}

/// A problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file, as it was named to the loader.
    pub file: PathBuf,
    /// 1-based line and column of the value (or key) the finding is about.
    pub location: Option<(usize, usize)>,
    /// The field the finding is about (`persistent_volume[1].size`).
    pub path: FieldPath,
    /// What was found, e.g. `"4GB" is not a Kubernetes quantity`.
    pub message: String,
    /// What to write instead, when there is a suggestion.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.file.display())?;
        if let Some((line, col)) = self.location {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": {}: {}", self.path, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// A finding before it is located in a file: what validation code produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// The field the finding is about.
    pub path: FieldPath,
    /// What was found.
    pub message: String,
    /// What to write instead, when there is a suggestion.
    pub hint: Option<String>,
}

impl Issue {
    pub(crate) fn error(path: FieldPath, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Error,
            path,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn warning(path: FieldPath, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Warning,
            path,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Collects issues while a config is checked.
#[derive(Debug, Default)]
pub(crate) struct Issues(pub(crate) Vec<Issue>);

impl Issues {
    /// Records an error; the returned issue takes a hint.
    pub(crate) fn error(&mut self, path: FieldPath, message: impl Into<String>) -> &mut Issue {
        self.add(Issue::error(path, message))
    }

    /// Records a warning; the returned issue takes a hint.
    pub(crate) fn warning(&mut self, path: FieldPath, message: impl Into<String>) -> &mut Issue {
        self.add(Issue::warning(path, message))
    }

    fn add(&mut self, issue: Issue) -> &mut Issue {
        let at = self.0.len();
        self.0.push(issue);
        &mut self.0[at]
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.0.iter().any(|i| i.severity == Severity::Error)
    }

    /// Records a failed parse of a typed value (quantity, name, …).
    pub(crate) fn check<T>(&mut self, path: &FieldPath, result: Result<T, Issue>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(mut issue) => {
                issue.path = path.clone();
                self.0.push(issue);
                None
            }
        }
    }
}

impl Issue {
    pub(crate) fn set_hint(&mut self, hint: impl Into<String>) {
        self.hint = Some(hint.into());
    }
}
