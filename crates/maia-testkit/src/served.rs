//! One workspace-ready in-memory cluster behind a loopback endpoint, a kubeconfig that
//! reaches it and the helm/kubectl stand-ins, as the tests of the binary start them
//! (they run it as a separate process, from a synchronous test).

// Test support: a fixture that cannot be set up means a broken test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::fake::FakeCluster;
use crate::tools::StandIns;

/// What [`serve`] started: the runtime must live as long as the cluster is asked.
pub struct Served {
    /// The runtime that serves the cluster (one worker thread).
    pub runtime: tokio::runtime::Runtime,
    /// The cluster, [ready for workspaces](FakeCluster::ready_for_workspaces).
    pub fake: FakeCluster,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `dir/kubeconfig`: context `fake`, namespace `default`.
    pub kubeconfig: PathBuf,
    /// The helm, kubectl and git stand-ins, in `dir/bin`.
    pub tools: StandIns,
}

/// Serves a fresh cluster and writes `dir/kubeconfig` and the stand-ins under `dir/bin`.
///
/// # Panics
///
/// If any of it cannot be set up (no loopback port, an unwritable `dir`).
pub fn serve(dir: &Path) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (fake, addr) = runtime.block_on(async {
        let c = FakeCluster::ready_for_workspaces().await;
        let addr = c.serve().await.unwrap();
        (c, addr)
    });
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        FakeCluster::kubeconfig(&format!("http://{addr}"), "fake", "default"),
    )
    .unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let tools = StandIns::write(&bin).unwrap();
    Served {
        runtime,
        fake,
        addr,
        kubeconfig,
        tools,
    }
}
