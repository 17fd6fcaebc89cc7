use std::path::PathBuf;

use maia_render::RenderError;
use maia_spec::SpecError;

/// Everything a maia command can fail with; printed with its cause chain and a hint.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("rendering failed")]
    Render(#[from] RenderError),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error("{message}")]
    Unsupported { message: String, hint: String },
    #[error(transparent)]
    Deploy(#[from] maia_deploy::DeployError),
    #[error("deploy failed on {} of {total} clusters: {}", failed.len(), failed.join(", "))]
    Clusters { failed: Vec<String>, total: usize },
}

impl CliError {
    /// 2 for bad input (as for usage errors), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Spec(_) | CliError::Usage { .. } | CliError::Unsupported { .. } => 2,
            CliError::Deploy(e) if e.is_bad_input() => 2,
            // An output folder that is a file (or under one) is a wrong argument.
            CliError::Write { source, .. } if is_not_a_folder(source) => 2,
            CliError::Render(_)
            | CliError::Write { .. }
            | CliError::Read { .. }
            | CliError::Deploy(_)
            | CliError::Clusters { .. } => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Spec(SpecError::Read { .. }) => {
                Some("check the path and that the file is readable".into())
            }
            CliError::Spec(SpecError::Invalid { .. }) => None,
            CliError::Render(_) => {
                Some("this is a bug in maia; please report it with the config file".into())
            }
            CliError::Write { source, .. } if is_not_a_folder(source) => Some(
                "the output folder is a file: name a folder (it is created when missing)".into(),
            ),
            CliError::Write { .. } => Some("check that the folder exists and is writable".into()),
            CliError::Read { .. } => Some("check that the file is readable".into()),
            CliError::Usage { hint, .. } => hint.clone(),
            CliError::Unsupported { hint, .. } => Some(hint.clone()),
            CliError::Deploy(e) => e.hint(),
            CliError::Clusters { .. } => Some("each cluster's error is printed above".into()),
        }
    }
}

/// A path that should be a folder is a file (or lies under one).
pub(crate) fn is_not_a_folder(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotADirectory | std::io::ErrorKind::AlreadyExists
    )
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
