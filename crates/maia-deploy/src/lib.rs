//! maia's workspace side, on top of the engine (`maia-kube`): a workspace's plan and
//! its execution component by component (maia's objects through the engine, the
//! third-party charts through helm, KubeFlow through kubectl), its facts on the
//! cluster and in the config folder, preflight, recovery, status, list and delete,
//! the Leases that keep two runs apart, and the helm and kubectl runners. Every
//! failure is a [`DeployError`]; the engine's ([`KubeError`]) passes through it
//! unchanged, message, cause and hint.
//!
//! The engine's modules are re-exported under their old paths (`maia_deploy::cluster`,
//! `maia_deploy::plan`, …), so a front end needs only this crate. Tests run
//! against an in-memory API server and stand-ins for helm, kubectl and git (the
//! `maia-testkit` crate, a dev-dependency).
//!
//! Layers, lowest first (`tests/layers.rs` checks that no file refers to a higher
//! one): the engine; `error`; `tools`, `lease`; `workspace::{envfile, facts,
//! claims}`; `workspace::folder`; `workspace` (a workspace's plan and its
//! execution); `workspace::{preflight, ownership, recover}`; `workspace::{deploy,
//! manage}`.

pub mod error;
pub mod lease;
pub mod tools;
pub mod workspace;

pub use maia_kube::{
    apply, cluster, delete, diff, event, inventory, kinds, live, ownership, plan, quantity, quota,
    readiness, status,
};

pub use error::{DeployError, KubeError, Result};
pub use maia_kube::{
    ApplyOptions, Change, Cluster, Event, EventSink, ObjectRef, Outcome, Plan, PlanOptions, Status,
    Step, Target, check_contexts, execute,
};
