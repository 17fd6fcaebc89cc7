//! maia as a library: one entry per operation a front end offers, for the `maia`
//! command line and the portal alike.
//!
//! | operation | entry |
//! |---|---|
//! | validate a config | [`config::validate`] |
//! | render one group / a fleet | [`workspace::render()`], [`fleet::render()`] |
//! | workspace plan, deploy, status, list, delete, kubeconfig | [`workspace`] |
//! | app render, plan, deploy, status, list, delete | [`app`] |
//! | fleet plan, deploy, status (bounded concurrency) | [`fleet`] |
//! | a workspace's group, members and clients in Keycloak | [`keycloak`] |
//!
//! Every entry takes typed inputs (loaded specs; where facts live: a config folder
//! and/or a connected [`Cluster`]; an [`Env`] with the PATH and who runs it, never read
//! from the process), reports progress as [`Event`]s through a [`Sink`], can be stopped
//! with a [`Cancel`] (after the write in flight; a re-run converges) and returns typed
//! results or an [`Error`]. Nothing here prints, exits or touches the terminal: the
//! front ends do, from the events and results.
//!
//! A front end deploying one workspace, printing what happens:
//!
//! ```no_run
//! # async fn example() -> maia::Result<()> {
//! use maia::workspace::{self, DeployInput, Files};
//! use maia::{Cancel, Env, Event, Target};
//!
//! let files = Files {
//!     group: "group.yaml".into(),
//!     cluster: "cluster.yaml".into(),
//!     maia: None,
//! };
//! let loaded = workspace::load(&files, false, Default::default())?;
//! let cluster = maia::connect(&Target::default()).await?;
//! let env = Env {
//!     path: Some("/usr/local/bin:/usr/bin".into()),
//!     tools: Default::default(),
//!     holder: "portal (admin@example.org)".into(),
//!     keycloak_secret: None,
//! };
//! let input = DeployInput {
//!     spec: loaded.spec,
//!     form: files.group.clone(),
//!     config_folder: None,
//!     state_namespace: "maia-system".into(),
//!     skip_helm: false,
//!     skip_kubeflow: false,
//!     secrets_only: false,
//!     adopt_namespace: false,
//!     force_conflicts: false,
//!     wait: None,
//!     dry_run: false,
//! };
//! let cancel = Cancel::new(); // cancel.cancel() from elsewhere stops the run
//! let deployed = workspace::deploy(&cluster, &env, &input, &cancel, &mut |event: Event| {
//!     eprintln!("{event:?}");
//! })
//! .await?;
//! for (component, url) in &deployed.hand_over.urls {
//!     println!("{component}: {url}");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Below this crate: `maia-spec` (reading and checking configs), `maia-render` (pure
//! rendering) and `maia-deploy` (the engine talking to the cluster).

pub mod app;
pub mod config;
mod env;
mod error;
mod event;
pub mod fleet;
mod gitops;
pub mod keycloak;
pub mod output;
mod random;
pub mod text;
pub mod workspace;

pub use env::{Env, Hidden};
pub use error::{Error, Result, is_not_a_folder};
pub use event::{Cancel, Discard, Event, Sink};
pub use gitops::GitOpsSettings;
pub use maia_deploy::{Cluster, Target};
pub use random::OsRandom;

/// Connects to a cluster as kubectl would (kubeconfig, context, in-cluster).
pub async fn connect(target: &Target) -> Result<Cluster> {
    Ok(Cluster::connect(target).await?)
}
