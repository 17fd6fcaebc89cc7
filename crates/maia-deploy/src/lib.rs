//! maia's cluster side, and the only crate that talks to a cluster: finding the
//! cluster (kubeconfig, context, in-cluster), planning a deploy against what is live,
//! server-side apply with field manager `maia`, inventory and prune, readiness,
//! delete and status. The client is injected ([`Cluster::from_client`]), so tests run
//! against an in-memory API server: the `testing` feature brings it (`fake`) and
//! stand-ins for helm, kubectl and git (`fake_tools`); no release build enables it.

pub(crate) mod apply;
pub mod cluster;
pub mod delete;
pub mod diff;
pub mod error;
pub(crate) mod event;
pub(crate) mod inventory;
pub mod kinds;
pub mod lease;
pub(crate) mod live;
pub(crate) mod ownership;
pub(crate) mod plan;
pub(crate) mod quantity;
pub mod quota;
pub mod readiness;
pub mod status;
pub mod tools;
pub mod workspace;

#[cfg(feature = "testing")]
pub mod fake;
#[cfg(feature = "testing")]
pub mod fake_tools;

pub(crate) use apply::FIELD_MANAGER;
pub use apply::{ApplyOptions, execute};
pub use cluster::{Cluster, Target, check_contexts};
pub use error::{DeployError, Result};
pub use event::{Event, EventSink, Outcome};
pub use plan::{Change, ObjectRef, Plan, PlanOptions, Step, plan};
pub use readiness::Status;
