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
        runtime: _runtime,
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
    // The group's Lease (one operation per group at a time) is the only write: taken
    // and given back, it changes no workspace object.
    assert_eq!(fake.object_writes(), [], "a no-op deploy writes nothing");
    assert!(
        fake.writes().len() <= 3,
        "only the group's Lease: {:?}",
        fake.writes()
    );
    // Issue 17: 102 requests before (64 access reviews, 9 discovery GETs, the
    // namespace read three times, the credentials Secret twice). The goal is 35; the
    // group's Lease (taken, renewed, given back, and the credentials and Services read
    // again under it) costs 6 more and the quota's LIST of running pods 1; the plan
    // takes the namespace preflight read instead of listing Namespaces, and filters the
    // claims the quota listed instead of listing them again (2 less): this bound keeps
    // what was won.
    assert!(
        requests.len() <= 38,
        "a no-op deploy sent {} requests:\n{}",
        requests.len(),
        shown.join("\n")
    );
}
