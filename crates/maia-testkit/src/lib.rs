//! Test support for maia's crates, kept out of the product crates: an in-memory
//! Kubernetes API server ([`fake`]), recording stand-ins for helm, kubectl and git
//! ([`tools`]), and both served to a separate process with a kubeconfig ([`served`]).
//!
//! It depends on no maia crate, so that maia-deploy's own unit tests can use it
//! without a second copy of maia-deploy's types: it hands out plain `kube::Client`s
//! (wrap one with `maia_deploy::Cluster::from_client`).

pub mod fake;
pub mod served;
pub mod tools;

pub use fake::{FakeCluster, Kubelet, Recorded};
pub use tools::StandIns;
