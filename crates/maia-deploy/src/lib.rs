//! maia's cluster side, and the only crate that talks to a cluster: finding the
//! cluster (kubeconfig, context, in-cluster), planning a deploy against what is live,
//! server-side apply with field manager `maia`, inventory and prune, readiness,
//! delete and status. The client is injected ([`Cluster::from_client`]), so tests run
//! against an in-memory API server (the `fake` feature).

pub mod apply;
pub mod cluster;
pub mod delete;
pub mod diff;
pub mod error;
pub mod event;
pub mod inventory;
pub mod kinds;
pub mod live;
pub mod plan;
pub mod quantity;
pub mod readiness;
pub mod status;
pub mod tools;
pub mod workspace;

#[cfg(feature = "fake")]
pub mod fake;
#[cfg(feature = "fake")]
pub mod fake_tools;

pub use apply::{ApplyOptions, FIELD_MANAGER, execute};
pub use cluster::{Cluster, Target, check_contexts};
pub use error::{DeployError, Result};
pub use event::{Event, EventSink, Outcome};
pub use plan::{Change, ObjectRef, Plan, PlanOptions, Step, plan};
pub use readiness::Status;
