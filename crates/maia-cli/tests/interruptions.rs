//! Runs that overlap or are interrupted, end to end: the binary against the in-memory
//! API server on 127.0.0.1, with a helm stand-in that can be made to hang. One
//! operation on a group at a time (a delete during a deploy is refused, naming the
//! deploy); SIGTERM stops helm (its whole process group), removes its temporary folder
//! and gives the group's Lease back; a render killed midway leaves no password behind
//! for ever.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use maia_testkit::fake::FakeCluster;
use maia_testkit::served;
use maia_testkit::tools::StandIns;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workspace")
        .join(name)
}

struct Env {
    _runtime: tokio::runtime::Runtime,
    fake: FakeCluster,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    tools: StandIns,
    tmp: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let served::Served {
            runtime,
            fake,
            addr: _,
            kubeconfig,
            tools,
        } = served::serve(dir.path());
        // maia's own temporary folders (helm's values) go here, to be checked.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        Env {
            _runtime: runtime,
            fake,
            dir,
            kubeconfig,
            tools,
            tmp,
        }
    }

    fn maia(&self, user: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("maia"));
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .env("PATH", self.tools.path())
            .env("TMPDIR", &self.tmp)
            .env("USER", user)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    fn deploy(&self, user: &str) -> Child {
        self.maia(
            user,
            &[
                "namespace",
                "deploy",
                "--namespace-config-file",
                example("group.yaml").to_str().unwrap(),
                "--cluster-config-file",
                example("cluster-nginx.yaml").to_str().unwrap(),
                "--skip-kubeflow",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    }

    /// Waits until the hanging helm runs; its pid and its child's.
    fn hanging_helm(&self, deploy: &mut Child) -> Vec<u32> {
        let started = Instant::now();
        loop {
            if let Some(pids) = self.tools.helm_pids() {
                return pids;
            }
            if let Some(status) = deploy.try_wait().unwrap() {
                let out = std::mem::replace(deploy, Command::new("true").spawn().unwrap());
                panic!(
                    "deploy ended ({status}) before helm hung: {}",
                    text(&out.wait_with_output().unwrap())
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "helm never ran"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn leases(&self) -> Vec<serde_json::Value> {
        self._runtime.block_on(
            self.fake
                .objects("/apis/coordination.k8s.io/v1/namespaces/maia-system/leases"),
        )
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether a process runs (a zombie waiting for a parent that never reaps it does not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

fn wait_with_timeout(mut child: Child, timeout: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {timeout:?}: {}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_delete_during_a_deploy_of_the_same_group_is_refused_naming_the_deploy() {
    let env = Env::new();
    env.tools.hang_helm("upgrade");
    let mut deploy = env.deploy("anna");
    env.hanging_helm(&mut deploy);

    let out = env
        .maia("bert", &["namespace", "delete", "Brain_MRI", "--yes"])
        .output()
        .unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("maia-system/maia-op-brain-mri"), "{shown}");
    assert!(shown.contains("anna@"), "the holder is named: {shown}");
    assert!(
        shown.contains("namespace deploy of Brain_MRI"),
        "and what it does: {shown}"
    );
    assert!(
        shown.contains("kubectl delete lease maia-op-brain-mri -n maia-system"),
        "{shown}"
    );
    // The delete changed nothing: the deploy goes on and finishes the workspace.
    assert!(env.fake.namespaces().contains("brain-mri"));
    env.tools.unhang_helm();
    let out = wait_with_timeout(deploy, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out));
    assert!(env.leases().is_empty(), "the deploy gave its Lease back");

    // Once the deploy is over, the delete runs.
    let out = env
        .maia("bert", &["namespace", "delete", "Brain_MRI", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(env.leases().is_empty());
}

#[test]
fn sigterm_stops_helm_removes_its_values_and_gives_the_lease_back() {
    let env = Env::new();
    env.tools.hang_helm("upgrade");
    let mut deploy = env.deploy("anna");
    let pids = env.hanging_helm(&mut deploy);
    assert!(pids.iter().all(|p| alive(*p)));
    let values_dirs = || -> Vec<PathBuf> {
        std::fs::read_dir(&env.tmp)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect()
    };
    assert_eq!(
        values_dirs().len(),
        1,
        "helm's values are in a temporary folder"
    );
    assert_eq!(env.leases().len(), 1, "the deploy holds the group's Lease");

    let killed = Command::new("kill")
        .args(["-TERM", &deploy.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = wait_with_timeout(deploy, Duration::from_secs(30));
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(143), "{shown}");
    assert!(
        shown.contains("interrupted by SIGTERM during namespace deploy of Brain_MRI"),
        "{shown}"
    );
    assert!(shown.contains("stopped helm upgrade --install"), "{shown}");
    // helm and the process it started are gone, and nothing of theirs is left.
    let started = Instant::now();
    while pids.iter().any(|p| alive(*p)) && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in &pids {
        assert!(!alive(*pid), "helm stand-in process {pid} still runs");
    }
    assert_eq!(
        values_dirs(),
        Vec::<PathBuf>::new(),
        "no values folder left"
    );
    assert!(env.leases().is_empty(), "the Lease was given back");
    env.tools.unhang_helm();

    // The next run is not blocked and converges.
    let out = wait_with_timeout(env.deploy("anna"), Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out));
}

/// A render killed between writing a temporary file and renaming it leaves
/// `.NAME.PID.N.maia-tmp` behind, holding what the file would hold (passwords): the
/// next render into the folder removes it.
#[test]
fn a_stale_temporary_file_is_removed_by_the_next_render() {
    let env = Env::new();
    let folder = env.dir.path().join("config");
    let render = || {
        env.maia(
            "anna",
            &[
                "namespace",
                "render",
                "--namespace-config-file",
                example("group.yaml").to_str().unwrap(),
                "--cluster-config-file",
                example("cluster-nginx.yaml").to_str().unwrap(),
                "--config-folder",
                folder.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap()
    };
    let out = render();
    assert!(out.status.success(), "{}", text(&out));
    let group = folder.join("Brain_MRI");
    let stale = [
        group.join(".credentials.yaml.999999999.0.maia-tmp"),
        group.join("manifests/.secret.yaml.999999999.1.maia-tmp"),
        folder.join(".ssh-ports.yaml.999999999.2.maia-tmp"),
    ];
    for path in &stale {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "mysql.password: hunter2\n").unwrap();
    }
    let out = render();
    assert!(out.status.success(), "{}", text(&out));
    for path in &stale {
        assert!(!path.exists(), "{} is still there", path.display());
    }
}
