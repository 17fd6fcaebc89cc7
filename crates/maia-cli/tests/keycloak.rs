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
