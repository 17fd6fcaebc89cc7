//! `maia keycloak plan | sync | status` through the binary: what an admin sees when
//! Keycloak cannot be used (no section, no secret, no answer), before any call is made.
//! The calls themselves are checked against the fake Keycloak in maia-testkit.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/workspace")
}

fn run(args: &[&str], cluster: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("maia").unwrap();
    cmd.env_remove("MAIA_KEYCLOAK_ADMIN_SECRET");
    cmd.env("KUBECONFIG", "/nonexistent/kubeconfig");
    cmd.envs(env.iter().copied());
    cmd.args(["keycloak"]).args(args).args([
        "--namespace-config-file",
        examples().join("group.yaml").to_str().unwrap(),
        "--cluster-config-file",
        cluster.to_str().unwrap(),
    ]);
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn cluster_with(dir: &Path, admin: &str) -> PathBuf {
    let base = std::fs::read_to_string(examples().join("cluster-nginx.yaml")).unwrap();
    let path = dir.join("cluster.yaml");
    std::fs::write(&path, format!("{base}\n{admin}")).unwrap();
    path
}

#[test]
fn without_keycloak_admin_every_command_says_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster_with(dir.path(), "");
    for verb in ["plan", "sync", "status"] {
        let (code, _, err) = run(&[verb], &cluster, &[]);
        assert_eq!(code, 2, "{verb}: {err}");
        assert!(
            err.contains("has no keycloak_admin section"),
            "{verb}: {err}"
        );
        assert!(err.contains("hint: add keycloak_admin"), "{verb}: {err}");
    }
}

#[test]
fn the_admin_secret_comes_from_a_private_file_or_the_environment_and_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 9 of the loopback: a call would fail as unreachable.
    let section =
        "keycloak_admin:\n  url: http://127.0.0.1:9\n  realm: maia\n  client_id: maia-admin\n";
    let cluster = cluster_with(dir.path(), section);
    let (code, _, err) = run(&["plan"], &cluster, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no secret for Keycloak's admin client maia-admin"),
        "{err}"
    );
    assert!(err.contains("MAIA_KEYCLOAK_ADMIN_SECRET"), "{err}");

    let (code, out, err) = run(
        &["plan"],
        &cluster,
        &[("MAIA_KEYCLOAK_ADMIN_SECRET", "s3cret-from-env")],
    );
    assert_eq!(
        code, 2,
        "a plan that cannot read Keycloak is an error: {err}"
    );
    assert!(
        err.contains("cannot reach Keycloak at http://127.0.0.1:9"),
        "{err}"
    );
    assert!(
        !out.contains("s3cret") && !err.contains("s3cret"),
        "{out}{err}"
    );

    let secret = dir.path().join("admin.secret");
    std::fs::write(&secret, "s3cret-from-file\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cluster = cluster_with(
            dir.path(),
            &format!("{section}  client_secret_file: {}\n", secret.display()),
        );
        let (code, _, err) = run(&["sync"], &cluster, &[]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("can be read by other users (mode 644)"),
            "{err}"
        );
        assert!(
            err.contains(&format!("hint: chmod 600 {}", secret.display())),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
    }
}

mod against_keycloak {
    use super::*;
    use maia_testkit::keycloak::{ADMIN_CLIENT_ID, FakeKeycloak, REALM};

    /// A cluster config whose keycloak_admin is the fake, with its secret in a private
    /// file, and per-workspace clients.
    fn setup(dir: &Path, kc: &FakeKeycloak) -> PathBuf {
        let secret = dir.join("admin.secret");
        std::fs::write(&secret, kc.admin_secret()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        cluster_with(
            dir,
            &format!(
                "keycloak_admin:\n  url: {}\n  realm: {REALM}\n  client_id: {ADMIN_CLIENT_ID}\n  client_secret_file: {}\n  per_workspace_clients: true\n  invite_lifespan: 3d\n",
                kc.url(),
                secret.display()
            ),
        )
    }

    #[test]
    fn plan_sync_and_status_keep_the_group_and_a_second_sync_writes_nothing() {
        let kc = FakeKeycloak::start();
        let dir = tempfile::tempdir().unwrap();
        let cluster = setup(dir.path(), &kc);

        let (code, out, err) = run(&["plan"], &cluster, &[]);
        assert_eq!(code, 1, "changes to make: {err}");
        assert!(out.contains("+ group MAIA:Brain_MRI  create"), "{out}");
        assert!(
            out.contains("create the account and send Keycloak's invitation"),
            "{out}"
        );
        assert!(out.contains("+ client maia-brain-mri-hub  create"), "{out}");
        assert_eq!(kc.writes(), [], "plan wrote");

        let (code, out, err) = run(&["sync"], &cluster, &[]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("keycloak: group MAIA:Brain_MRI created"),
            "{out}"
        );
        assert!(
            out.contains("account created, invitation sent by Keycloak"),
            "{out}"
        );
        assert!(
            out.contains("keycloak: client maia-brain-mri-proxy created"),
            "{out}"
        );
        let mails = kc.mails();
        assert_eq!(mails.len(), 2);
        assert!(mails.iter().all(|m| m.lifespan == 3 * 86_400));
        // Neither the admin secret nor a client secret is shown.
        let mut secrets = vec![kc.admin_secret()];
        secrets.extend(
            ["hub", "proxy", "minio"]
                .map(|s| kc.client_secret(&format!("maia-brain-mri-{s}")).unwrap()),
        );
        for s in &secrets {
            assert!(!out.contains(s.as_str()) && !err.contains(s.as_str()));
        }

        let writes = kc.writes().len();
        let (code, out, err) = run(&["sync"], &cluster, &[]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("already in sync, nothing written"), "{out}");
        assert_eq!(kc.writes().len(), writes, "a second sync wrote");
        let (code, _, _) = run(&["plan"], &cluster, &[]);
        assert_eq!(code, 0);

        // Members have not finished their invitation: invited, exit 1.
        let (code, out, err) = run(&["status"], &cluster, &[]);
        assert_eq!(code, 1, "{err}");
        assert!(
            out.contains("Keycloak group MAIA:Brain_MRI: exists"),
            "{out}"
        );
        assert!(out.contains("invited"), "{out}");
        let (code, out, _) = run(&["status", "-o", "json"], &cluster, &[]);
        assert_eq!(code, 1);
        let status: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(status["members"][0]["state"], "invited");
        assert_eq!(status["clients"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_missing_role_stops_with_its_name_exit_1_and_nothing_changed() {
        let kc = FakeKeycloak::start();
        kc.remove_admin_role("manage-users");
        kc.remove_admin_role("realm-admin");
        let dir = tempfile::tempdir().unwrap();
        let cluster = setup(dir.path(), &kc);
        let (code, _, err) = run(&["sync"], &cluster, &[]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("lacks the realm-management role manage-users"),
            "{err}"
        );
        assert!(err.contains("hint: grant it: kcadm.sh add-roles"), "{err}");
        assert!(
            kc.writes().iter().all(|w| w.status >= 400),
            "{:?}",
            kc.writes()
        );
        assert!(kc.group_names().iter().all(|g| g != "MAIA:Brain_MRI"));
    }
}
