//! One workspace-ready in-memory cluster behind a loopback endpoint, a kubeconfig that
//! reaches it and the helm/kubectl stand-ins, as the binary's cluster tests start them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use maia_deploy::fake::FakeCluster;
use maia_deploy::fake_tools::StandIns;

/// What [`serve`] started: the runtime must live as long as the cluster is asked.
pub struct Served {
    pub runtime: tokio::runtime::Runtime,
    pub fake: FakeCluster,
    pub addr: SocketAddr,
    pub kubeconfig: PathBuf,
    pub tools: StandIns,
}

/// Serves a fresh cluster and writes `dir/kubeconfig` and the stand-ins under `dir/bin`.
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
