//! [`Error`]: what an operation of the library can fail with, whether the input was to
//! blame, and what to try next. Front ends print it (the CLI with its cause chain and
//! the hint) and choose their own exit codes or HTTP statuses.

use std::path::PathBuf;

use maia_render::RenderError;
use maia_spec::SpecError;

/// Everything an operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// Keycloak's admin API failed or refused (its message names the missing role).
    #[error(transparent)]
    Keycloak(#[from] maia_keycloak::KeycloakError),
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
    /// The run was cancelled through its [`crate::Cancel`]: it stopped after the write
    /// in flight; running the same operation again converges.
    #[error("cancelled during {during}{}", if released.is_empty() { String::new() } else { format!("; gave back the Lease {}", released.join(", ")) })]
    Cancelled {
        /// The operation, e.g. `namespace deploy of Brain_MRI`.
        during: String,
        /// The Leases given back (`namespace/name`).
        released: Vec<String>,
    },
}

impl From<maia_kube::KubeError> for Error {
    fn from(e: maia_kube::KubeError) -> Self {
        Error::Deploy(e.into())
    }
}

impl Error {
    /// Whether the input is to blame (a config, an argument, the place asked to write
    /// to): the CLI's exit code 2, a portal's 400. Otherwise the cluster, the tools or
    /// the machine failed.
    pub fn is_bad_input(&self) -> bool {
        self.exit_code() == 2
    }

    fn exit_code(&self) -> u8 {
        match self {
            Error::Spec(_)
            | Error::Usage { .. }
            | Error::Unsupported { .. }
            | Error::FolderNotWritable { .. } => 2,
            Error::Deploy(e) if e.is_bad_input() => 2,
            // The admin client's secret is configuration.
            Error::Keycloak(
                maia_keycloak::KeycloakError::NoSecret { .. }
                | maia_keycloak::KeycloakError::SecretFile { .. }
                | maia_keycloak::KeycloakError::SecretFileOpen { .. },
            ) => 2,
            Error::Render(e) if e.is_bad_input() => 2,
            // An output folder that is a file (or under one) is a wrong argument.
            Error::Write { source, .. } if is_not_a_folder(source) => 2,
            Error::Render(_)
            | Error::Write { .. }
            | Error::Read { .. }
            | Error::Deploy(_)
            | Error::Keycloak(_)
            | Error::Clusters { .. }
            | Error::Cancelled { .. } => 1,
        }
    }

    /// What the person at the terminal should try next.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Spec(SpecError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Some("the file does not exist: check the path".into())
            }
            Error::Spec(SpecError::Read { .. }) => {
                Some("check the path and that the file is readable".into())
            }
            Error::Spec(SpecError::Invalid { .. }) => None,
            Error::Render(RenderError::QuotaTooSmall { .. }) => Some(
                "raise those fields of `quota` in the group form, or leave them out (maia then sets what the workspace needs)".into(),
            ),
            Error::Render(RenderError::ClientSecretUnknown { .. }) => Some(
                "deploy the workspace (`maia namespace deploy` makes its Keycloak clients first and keeps their secrets), then render with --from-cluster".into(),
            ),
            Error::Render(_) => {
                Some("this is a bug in maia; please report it with the config file".into())
            }
            Error::Write { source, .. } if is_not_a_folder(source) => Some(
                "the output folder is a file: name a folder (it is created when missing)".into(),
            ),
            Error::Write { .. } => Some("check that the folder exists and is writable".into()),
            Error::Read { .. } => Some("check that the file is readable".into()),
            Error::FolderNotWritable { .. } => Some(
                "make it writable (or a folder on a writable file system) and run again, or leave out --config-folder".into(),
            ),
            Error::Usage { hint, .. } => hint.clone(),
            Error::Unsupported { hint, .. } => Some(hint.clone()),
            Error::Deploy(e) => e.hint(),
            Error::Keycloak(e) => e.hint(),
            Error::Clusters { .. } => Some("each cluster's error is printed above".into()),
            Error::Cancelled { .. } => Some(
                "what was applied before stays; re-run the same command to finish (it picks up where it stopped)".into(),
            ),
        }
    }
}

/// A path that should be a folder is a file (or lies under one).
pub fn is_not_a_folder(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotADirectory | std::io::ErrorKind::AlreadyExists
    )
}

/// A result whose error is an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
