//! Test support for maia's crates, kept out of the product crates: an in-memory
//! Kubernetes API server ([`fake`]), recording stand-ins for helm, kubectl and git
//! ([`tools`]), and both served to a separate process with a kubeconfig ([`served`]);
//! a fake Keycloak (admin REST API and token endpoint) on loopback ([`keycloak`]);
//! a real OpenID provider (Node.js `oidc-provider`) for sign-in tests ([`oidc`]); a
//! throwaway PostgreSQL server ([`postgres`]).
//!
//! It depends on no maia crate, so that maia-deploy's own unit tests can use it
//! without a second copy of maia-deploy's types: it hands out plain `kube::Client`s
//! (wrap one with `maia_deploy::Cluster::from_client`).

pub mod fake;
pub mod keycloak;
pub mod oidc;
pub mod postgres;
pub mod served;
pub mod tools;

pub use fake::{FakeCluster, Kubelet, Recorded};
pub use keycloak::FakeKeycloak;
pub use tools::StandIns;
