//! Whole-process figures for `maia namespace deploy` against the loopback fake API
//! server, with recording helm/kubectl/git stand-ins on PATH: requests (reads and
//! writes), helm upgrades and wall time of a first deploy, a no-op re-deploy and one
//! member added, for the example workspace (the no-op row is the requests per no-op
//! deploy; `crates/maia-cli/tests/requests.rs` keeps it within its goal). Run with
//! `cargo bench -p maia-cli --bench workspace_deploy` and copy the table into
//! docs/benchmarks.md.

// A benchmark may unwrap: a panic stops it, which is what a broken setup should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use maia_testkit::fake::FakeCluster;
use maia_testkit::tools::StandIns;

const RUNS: usize = 9;

struct Loopback {
    cluster: FakeCluster,
    kubeconfig: PathBuf,
    tools: StandIns,
}

fn loopback(runtime: &tokio::runtime::Runtime, dir: &Path, name: &str) -> Loopback {
    let (cluster, addr) = runtime.block_on(async {
        let c = FakeCluster::ready_for_workspaces().await;
        let addr = c.serve().await.expect("bind 127.0.0.1");
        (c, addr)
    });
    let kubeconfig = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(
        &kubeconfig,
        FakeCluster::kubeconfig(&format!("http://{addr}"), "bench", "default"),
    )
    .expect("write kubeconfig");
    let bin = dir.join(format!("{name}-bin"));
    std::fs::create_dir_all(&bin).expect("bin dir");
    let tools = StandIns::write(&bin).expect("stand-ins");
    Loopback {
        cluster,
        kubeconfig,
        tools,
    }
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workspace")
        .join(name)
}

fn deploy(target: &Loopback, form: &Path) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_maia"))
        .args(["namespace", "deploy", "--namespace-config-file"])
        .arg(form)
        .arg("--cluster-config-file")
        .arg(example("cluster-nginx.yaml"))
        .arg("--kubeconfig")
        .arg(&target.kubeconfig)
        .env("PATH", target.tools.path())
        .output()
        .expect("run maia");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn counts(target: &Loopback, upgrades_before: usize) -> String {
    let requests = target.cluster.requests();
    let writes = requests.iter().filter(|r| r.is_write()).count();
    // Access and rules reviews are questions: neither reads nor writes.
    let reviews = requests.iter().filter(|r| r.is_review()).count();
    let reads = requests.iter().filter(|r| r.method == "GET").count();
    format!(
        "{} requests: {} reads, {} reviews, {} writes; {} helm upgrades",
        requests.len(),
        reads,
        reviews,
        writes,
        target.tools.log("upgrades.log").len() - upgrades_before
    )
}

/// Leaves KubeFlow Pipelines' API server as `kubectl apply -k` leaves it on a real
/// cluster (the kubectl stand-in only logs), so that a re-deploy finds it installed.
fn kubeflow_applied(runtime: &tokio::runtime::Runtime, target: &Loopback) {
    runtime.block_on(
        target
            .cluster
            .seed_kubeflow_applied(&target.tools.log("kubectl.log")),
    );
}

fn median(mut times: Vec<Duration>) -> String {
    times.sort();
    format!("{:.0} ms", times[times.len() / 2].as_secs_f64() * 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let form = example("group.yaml");
    let mut rows = Vec::new();

    let mut first = Vec::new();
    let mut first_counts = String::new();
    for i in 0..RUNS {
        let fresh = loopback(&runtime, dir.path(), &format!("fresh-{i}"));
        first.push(deploy(&fresh, &form));
        first_counts = counts(&fresh, 0);
    }
    rows.push(("first deploy", first_counts, median(first)));

    let target = loopback(&runtime, dir.path(), "steady");
    deploy(&target, &form);
    kubeflow_applied(&runtime, &target);
    let mut noop = Vec::new();
    let mut noop_counts = String::new();
    for _ in 0..RUNS {
        target.cluster.clear_requests();
        let before = target.tools.log("upgrades.log").len();
        noop.push(deploy(&target, &form));
        noop_counts = counts(&target, before);
    }
    rows.push(("no-op re-deploy", noop_counts, median(noop)));

    let base = std::fs::read_to_string(&form).expect("example form");
    let mut added = Vec::new();
    let mut added_counts = String::new();
    for i in 0..RUNS {
        let fresh = loopback(&runtime, dir.path(), &format!("grow-{i}"));
        deploy(&fresh, &form);
        kubeflow_applied(&runtime, &fresh);
        let grown = dir.path().join(format!("grown-{i}.yaml"));
        std::fs::write(
            &grown,
            base.replace(
                "  - bob.smith@example.org\n",
                "  - bob.smith@example.org\n  - carol@example.org\n",
            ),
        )
        .expect("write form");
        fresh.cluster.clear_requests();
        let before = fresh.tools.log("upgrades.log").len();
        added.push(deploy(&fresh, &grown));
        added_counts = counts(&fresh, before);
    }
    rows.push(("one member added", added_counts, median(added)));

    println!("| scenario | requests | median wall time ({RUNS} runs) |");
    println!("|---|---|---|");
    for (name, requests, time) in rows {
        println!("| {name} | {requests} | {time} |");
    }
}
