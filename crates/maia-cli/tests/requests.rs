//! How many requests `maia namespace deploy` sends when nothing changed (issue 17):
//! the binary against the loopback fake, the README's example workspace.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use maia_testkit::served;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workspace")
        .join(name)
}

#[test]
fn a_no_op_deploy_sends_few_requests_and_writes_no_object() {
    let dir = tempfile::tempdir().unwrap();
    let served::Served {
        runtime,
        fake,
        kubeconfig,
        tools,
        ..
    } = served::serve(dir.path());
    let path = tools.path();
    let deploy = || {
        let out = Command::cargo_bin("maia")
            .unwrap()
            .args(["namespace", "deploy", "--namespace-config-file"])
            .arg(example("group.yaml"))
            .arg("--cluster-config-file")
            .arg(example("cluster-nginx.yaml"))
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .env("HOME", dir.path())
            .env("PATH", &path)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    deploy();
    // The kubectl stand-in only logs `kubectl apply -k`: leave KubeFlow Pipelines'
    // API server as that apply leaves it on a real cluster, at the version applied.
    let applied = tools.log("kubectl.log");
    runtime.block_on(fake.seed_kubeflow_applied(&applied));
    let (upgrades, kubectl) = (tools.log("upgrades.log").len(), applied.len());
    fake.clear_requests();
    deploy();
    let requests = fake.requests();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for r in &requests {
        *counts
            .entry(format!("{} {}", r.method, r.path))
            .or_default() += 1;
    }
    let shown: Vec<String> = counts.iter().map(|(k, v)| format!("{v:3} {k}")).collect();
    eprintln!("{} requests:\n{}", requests.len(), shown.join("\n"));
    // Nothing is written, not even the group's Lease: a deploy whose plan finds
    // nothing to change takes none. No chart is upgraded, nothing applied with kubectl.
    assert_eq!(fake.writes(), [], "a no-op deploy writes nothing");
    assert_eq!(tools.log("upgrades.log").len(), upgrades, "no helm upgrade");
    assert_eq!(
        tools.log("kubectl.log")[kubectl..]
            .iter()
            .filter(|l| l.starts_with("apply") || l.starts_with("wait"))
            .collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "no kubectl apply"
    );
    // Issue 17: 102 requests before (64 access reviews, 9 discovery GETs, the
    // namespace read three times, the credentials Secret twice). The goal is 35. The
    // quota's LIST of running pods costs 1; the plan takes the namespace preflight
    // read instead of listing Namespaces, filters the claims the quota listed and the
    // Ingresses the hosts check listed instead of listing them again, and a plan that
    // finds nothing to change takes no group Lease (whose three writes, maia's
    // namespace read and the credentials and Services read again under it cost 6).
    assert!(
        requests.len() <= 31,
        "a no-op deploy sent {} requests:\n{}",
        requests.len(),
        shown.join("\n")
    );
}
