//! maia's generic engine, and the only code that talks to the Kubernetes API: finding
//! the cluster (kubeconfig, context, in-cluster), the kinds it serves, planning a
//! deploy against what is live, server-side apply with field manager `maia`,
//! inventory and prune, readiness, delete and status. It knows maia's labels and
//! that an app never touches a workspace's objects ([`ownership`]), but nothing of how
//! a workspace is planned or run: that is `maia-deploy`, on top of this crate.
//!
//! The client is injected ([`Cluster::from_client`]), so tests run against an
//! in-memory API server. Every failure is a [`KubeError`], with a hint.
//!
//! The modules form layers, lowest first (`maia-deploy/tests/layers.rs` checks that
//! no file refers to a higher one): `error`, `quantity`, `inventory`, `readiness`;
//! `diff`; `cluster`; `kinds`; `live`; `quota`, `ownership`; `plan`; `event`;
//! `apply`; `delete`, `status`.

pub mod apply;
pub mod cluster;
pub mod delete;
pub mod diff;
pub mod error;
pub mod event;
pub mod inventory;
pub mod kinds;
pub mod live;
pub mod ownership;
pub mod plan;
pub mod quantity;
pub mod quota;
pub mod readiness;
pub mod status;

pub use apply::{ApplyOptions, execute};
pub use cluster::{Cluster, FIELD_MANAGER, Target, check_contexts};
pub use error::{KubeError, Result};
pub use event::{Event, EventSink, Outcome};
pub use plan::{Change, ObjectRef, Plan, PlanOptions, Step, plan};
pub use readiness::Status;
