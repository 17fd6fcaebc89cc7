//! Diagnostics: one finding about a config file, located by file, line, column and
//! field path, with what was found, what is wanted and a hint.

use std::fmt;
use std::path::PathBuf;

use crate::path::FieldPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based line and column of the value (or key) the finding is about.
    pub location: Option<(usize, usize)>,
    pub path: FieldPath,
    pub message: String,
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
    pub severity: Severity,
    pub path: FieldPath,
    pub message: String,
    pub hint: Option<String>,
}

impl Issue {
    pub fn error(path: FieldPath, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Error,
            path,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(path: FieldPath, message: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Warning,
            path,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Collects issues while a config is checked.
#[derive(Debug, Default)]
pub struct Issues(pub Vec<Issue>);

impl Issues {
    pub fn push(&mut self, issue: Issue) {
        self.0.push(issue);
    }

    pub fn error(&mut self, path: FieldPath, message: impl Into<String>) -> &mut Issue {
        self.0.push(Issue::error(path, message));
        self.0.last_mut().expect("just pushed")
    }

    pub fn warning(&mut self, path: FieldPath, message: impl Into<String>) -> &mut Issue {
        self.0.push(Issue::warning(path, message));
        self.0.last_mut().expect("just pushed")
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|i| i.severity == Severity::Error)
    }

    /// Records a failed parse of a typed value (quantity, name, …).
    pub fn check<T>(&mut self, path: &FieldPath, result: Result<T, Issue>) -> Option<T> {
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
    pub fn set_hint(&mut self, hint: impl Into<String>) {
        self.hint = Some(hint.into());
    }
}
