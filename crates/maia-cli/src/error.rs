//! [`CliError`]: what a command can fail with, its exit code and its hint.

use std::path::PathBuf;

use maia_render::RenderError;
use maia_spec::SpecError;

/// Everything a maia command can fail with; printed with its cause chain and a hint.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A config file cannot be read, or is not valid (its diagnostics say where).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// Rendering a valid config failed (a bug in maia).
    #[error("rendering failed")]
    Render(#[from] RenderError),
    /// An output file or folder cannot be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file or folder (`<stdout>` for standard output).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The config folder a deploy would write its bundle to cannot be written; found
    /// before the cluster was changed.
    #[error("cannot write the config folder {}; nothing was deployed", path.display())]
    FolderNotWritable {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An input file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The command was asked for something it cannot do as asked (exit code 2).
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do instead, when there is something to say.
        hint: Option<String>,
    },
    /// This build of maia cannot do what was asked.
    #[error("{message}")]
    Unsupported {
        /// What it cannot do.
        message: String,
        /// What to do instead.
        hint: String,
    },
    /// Talking to the cluster (or to helm, kubectl and the config folder) failed.
    #[error(transparent)]
    Deploy(#[from] maia_deploy::DeployError),
    /// A deploy to several clusters failed on some of them (each error is printed
    /// as it happens).
    #[error("deploy failed on {} of {total} clusters: {}", failed.len(), failed.join(", "))]
    Clusters {
        /// The contexts whose deploy failed.
        failed: Vec<String>,
        /// How many clusters were deployed to.
        total: usize,
    },
    /// SIGINT or SIGTERM stopped a cluster operation (exit 130 or 143).
    #[error(
        "interrupted by {signal} during {during}{}{}",
        if stopped.is_empty() { String::new() } else { format!("; stopped {}", stopped.join(", ")) },
        if released.is_empty() { String::new() } else { format!("; gave back the Lease {}", released.join(", ")) }
    )]
    Interrupted {
        /// `SIGINT` or `SIGTERM`.
        signal: &'static str,
        /// 128 + the signal's number.
        code: u8,
        /// The operation, e.g. `namespace deploy of Brain_MRI`.
        during: String,
        /// The programs that were running and were stopped.
        stopped: Vec<String>,
        /// The Leases given back (`namespace/name`).
        released: Vec<String>,
    },
    /// The async runtime the cluster commands run on cannot be started.
    #[error("cannot start the runtime that talks to the cluster")]
    Runtime {
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// 2 for bad input (as for usage errors), 1 for everything else.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Spec(_)
            | CliError::Usage { .. }
            | CliError::Unsupported { .. }
            | CliError::FolderNotWritable { .. } => 2,
            CliError::Interrupted { code, .. } => *code,
            CliError::Deploy(e) if e.is_bad_input() => 2,
            CliError::Render(e) if e.is_bad_input() => 2,
            // An output folder that is a file (or under one) is a wrong argument.
            CliError::Write { source, .. } if is_not_a_folder(source) => 2,
            CliError::Render(_)
            | CliError::Write { .. }
            | CliError::Read { .. }
            | CliError::Deploy(_)
            | CliError::Clusters { .. }
            | CliError::Runtime { .. } => 1,
        }
    }

    /// What the person at the terminal should try next.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            CliError::Spec(SpecError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Some("the file does not exist: check the path".into())
            }
            CliError::Spec(SpecError::Read { .. }) => {
                Some("check the path and that the file is readable".into())
            }
            CliError::Spec(SpecError::Invalid { .. }) => None,
            CliError::Render(RenderError::QuotaTooSmall { .. }) => Some(
                "raise those fields of `quota` in the group form, or leave them out (maia then sets what the workspace needs)".into(),
            ),
            CliError::Render(_) => {
                Some("this is a bug in maia; please report it with the config file".into())
            }
            CliError::Write { source, .. } if is_not_a_folder(source) => Some(
                "the output folder is a file: name a folder (it is created when missing)".into(),
            ),
            CliError::Write { .. } => Some("check that the folder exists and is writable".into()),
            CliError::Read { .. } => Some("check that the file is readable".into()),
            CliError::FolderNotWritable { .. } => Some(
                "make it writable (or a folder on a writable file system) and run again, or leave out --config-folder".into(),
            ),
            CliError::Usage { hint, .. } => hint.clone(),
            CliError::Unsupported { hint, .. } => Some(hint.clone()),
            CliError::Deploy(e) => e.hint(),
            CliError::Clusters { .. } => Some("each cluster's error is printed above".into()),
            CliError::Runtime { .. } => {
                Some("check the limit on open files (ulimit -n) and re-run".into())
            }
            CliError::Interrupted { .. } => Some(
                "what was applied before stays; re-run the same command to finish (it picks up where it stopped)".into(),
            ),
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

/// A result whose error is a [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;
