//! [`CliError`]: what a command can fail with (the library's [`maia::Error`], or an
//! interruption by a signal), its exit code and its hint.

use maia::Error;

/// Everything a maia command can fail with; printed with its cause chain and a hint.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// What the operation failed with.
    #[error(transparent)]
    Maia(#[from] Error),
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
    /// The portal (`maia serve`) could not listen or stopped on an error.
    #[error(transparent)]
    Portal(#[from] maia_portal::PortalError),
    /// The async runtime the cluster commands run on cannot be started.
    #[error("cannot start the runtime that talks to the cluster")]
    Runtime {
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl From<maia_spec::SpecError> for CliError {
    fn from(e: maia_spec::SpecError) -> Self {
        CliError::Maia(e.into())
    }
}

impl From<maia_deploy::DeployError> for CliError {
    fn from(e: maia_deploy::DeployError) -> Self {
        CliError::Maia(e.into())
    }
}

impl From<maia_render::RenderError> for CliError {
    fn from(e: maia_render::RenderError) -> Self {
        CliError::Maia(e.into())
    }
}

impl CliError {
    /// A usage error (exit 2): `message`, and what to do instead.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        CliError::Maia(Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        })
    }

    /// 2 for bad input (as for usage errors), 1 for everything else.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Maia(e) if e.is_bad_input() => 2,
            CliError::Interrupted { code, .. } => *code,
            CliError::Maia(_) | CliError::Runtime { .. } | CliError::Portal(_) => 1,
        }
    }

    /// What the person at the terminal should try next.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            CliError::Maia(e) => e.hint(),
            CliError::Runtime { .. } => {
                Some("check the limit on open files (ulimit -n) and re-run".into())
            }
            CliError::Portal(maia_portal::PortalError::Bind { .. }) => Some(
                "another process may hold the port, or it needs privileges: pick another with --listen (port 0 takes a free one)".into(),
            ),
            CliError::Portal(_) => None,
            CliError::Interrupted { .. } => Some(
                "what was applied before stays; re-run the same command to finish (it picks up where it stopped)".into(),
            ),
        }
    }
}

/// A result whose error is a [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;
