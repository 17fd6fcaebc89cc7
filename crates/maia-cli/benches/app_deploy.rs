//! Whole-process figures for `maia app deploy` against the loopback fake API server:
//! requests sent and wall time for a first deploy, a no-op re-deploy and a one-field
//! change of examples/app/jupyterlab.json. Run with
//! `cargo bench -p maia-cli --bench app_deploy` and copy the table into
//! docs/benchmarks.md.

// A benchmark may unwrap: a panic stops it, which is what a broken setup should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use maia_testkit::fake::FakeCluster;
use serde_json::Value;

const RUNS: usize = 15;

struct Loopback {
    cluster: FakeCluster,
    kubeconfig: PathBuf,
}

fn loopback(runtime: &tokio::runtime::Runtime, dir: &Path, name: &str) -> Loopback {
    let (cluster, addr) = runtime.block_on(async {
        let c = FakeCluster::new(&["demo"]).await;
        let addr = c.serve().await.expect("bind 127.0.0.1");
        (c, addr)
    });
    let kubeconfig = dir.join(name);
    std::fs::write(
        &kubeconfig,
        FakeCluster::kubeconfig(&format!("http://{addr}"), "bench", "demo"),
    )
    .expect("write kubeconfig");
    Loopback {
        cluster,
        kubeconfig,
    }
}

fn deploy(target: &Loopback, app: &Path, extra: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_maia"))
        .args(["app", "deploy", "-f"])
        .arg(app)
        .arg("--kubeconfig")
        .arg(&target.kubeconfig)
        .args(extra)
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

fn counts(cluster: &FakeCluster) -> String {
    let requests = cluster.requests();
    let of = |m: &str| requests.iter().filter(|r| r.method == m).count();
    format!(
        "{} ({} GET, {} PATCH, {} DELETE)",
        requests.len(),
        of("GET"),
        of("PATCH"),
        of("DELETE")
    )
}

fn median(mut times: Vec<Duration>) -> String {
    times.sort();
    format!("{:.1} ms", times[times.len() / 2].as_secs_f64() * 1000.0)
}

fn write_app(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/app/jupyterlab.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(example).expect("example app"))
            .expect("example app is JSON");
    edit(&mut config);
    let path = dir.join(name);
    std::fs::write(&path, config.to_string()).expect("write app");
    path
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let app = write_app(dir.path(), "app.json", |_| {});

    let mut rows = Vec::new();

    let mut first = Vec::new();
    let mut first_counts = String::new();
    for i in 0..RUNS {
        let fresh = loopback(&runtime, dir.path(), &format!("kubeconfig-{i}"));
        first.push(deploy(&fresh, &app, &[]));
        first_counts = counts(&fresh.cluster);
    }
    rows.push(("first deploy", first_counts, median(first)));

    let target = loopback(&runtime, dir.path(), "kubeconfig");
    deploy(&target, &app, &[]);
    let mut noop = Vec::new();
    let mut noop_counts = String::new();
    for _ in 0..RUNS {
        target.cluster.clear_requests();
        noop.push(deploy(&target, &app, &[]));
        noop_counts = counts(&target.cluster);
    }
    rows.push(("no-op re-deploy", noop_counts, median(noop)));

    // Grow the volume a little each run (a claim can only grow), so that every run
    // changes exactly one field.
    let mut change = Vec::new();
    let mut change_counts = String::new();
    for i in 0..RUNS {
        let bigger = write_app(dir.path(), &format!("bigger-{i}.json"), |c| {
            c["persistent_volume"][0]["size"] = format!("{}Gi", 101 + i).into()
        });
        target.cluster.clear_requests();
        change.push(deploy(&target, &bigger, &[]));
        change_counts = counts(&target.cluster);
    }
    rows.push((
        "one-field change (volume size, growing)",
        change_counts,
        median(change),
    ));

    let last = write_app(dir.path(), "last.json", |c| {
        c["persistent_volume"][0]["size"] = format!("{}Gi", 100 + RUNS).into()
    });
    let newer = write_app(dir.path(), "newer.json", |c| {
        c["persistent_volume"][0]["size"] = format!("{}Gi", 100 + RUNS).into();
        c["tag"] = "2024-01-01".into();
    });
    let mut replace = Vec::new();
    let mut replace_counts = String::new();
    for i in 0..RUNS {
        target.cluster.clear_requests();
        let file = if i % 2 == 0 { &newer } else { &last };
        replace.push(deploy(&target, file, &["--replace"]));
        replace_counts = counts(&target.cluster);
    }
    rows.push((
        "one-field change of the Job (image tag, --replace)",
        replace_counts,
        median(replace),
    ));

    println!("| scenario | requests sent | median wall time ({RUNS} runs) |");
    println!("|---|---|---|");
    for (name, requests, time) in rows {
        println!("| {name} | {requests} | {time} |");
    }
}
