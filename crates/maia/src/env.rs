//! What an operation needs from its surroundings, passed in rather than read from the
//! process: a portal serving many admins, or a test, gives each run its own.

use std::ffi::OsString;

use maia_deploy::tools::ToolTarget;

/// The environment of one run.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// The PATH helm, kubectl and git are looked up in.
    pub path: Option<OsString>,
    /// The cluster as helm and kubectl are told it (the one the client is connected
    /// to): `--kubeconfig` and the context.
    pub tools: ToolTarget,
    /// Who runs this, as another run finding its Lease is told: `user@host (pid N)`,
    /// or the portal's signed-in admin.
    pub holder: String,
    /// The Keycloak admin client's secret when the cluster config names no file for it
    /// (the CLI passes `MAIA_KEYCLOAK_ADMIN_SECRET`).
    pub keycloak_secret: Option<Hidden>,
}

/// A secret passed in: kept out of `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Hidden(pub String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}
