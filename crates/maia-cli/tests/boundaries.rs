//! What crosses the boundary of the config folder (issue 16, item 10): local files a
//! workspace reads, files maia writes, and what goes into the tree meant for git.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

mod files;
use files::walk;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workspace")
        .join(name)
}

fn maia() -> Command {
    let mut c = Command::cargo_bin("maia").unwrap();
    // Nothing here may wait on a FIFO or the network.
    c.timeout(Duration::from_secs(60));
    c
}

/// `maia namespace render` of `group` into `folder`: (exit code, stdout, stderr).
fn render(group: &Path, folder: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = maia()
        .args(["namespace", "render", "--namespace-config-file"])
        .arg(group)
        .arg("--cluster-config-file")
        .arg(example("cluster-nginx.yaml"))
        .arg("--config-folder")
        .arg(folder)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The example group form with `extra` appended, written to `dir/group.yaml`.
fn group_form(dir: &Path, group_id: &str, extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("group.yaml");
    let text = std::fs::read_to_string(example("group.yaml"))
        .unwrap()
        .replace("group_ID: Brain_MRI", &format!("group_ID: {group_id}"));
    std::fs::write(&path, text + extra).unwrap();
    path
}

/// Every file under `dir` holding `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    walk(dir)
        .into_iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// `minio_env_name` is read as the admin and its content goes into every member's
/// environment: a path outside the group form's folder (absolute, or a link leading
/// out), or something that is not a regular file, is refused with exit 2 naming the
/// form and the field, and nothing is written.
#[test]
fn an_environment_file_outside_the_forms_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("private");
    std::fs::create_dir_all(&outside).unwrap();
    let secret = outside.join("id_rsa");
    std::fs::write(&secret, "ADMIN-PRIVATE-KEY-MATERIAL\n").unwrap();
    let forms = tmp.path().join("forms");
    std::fs::create_dir_all(forms.join("a-folder")).unwrap();
    std::os::unix::fs::symlink(&secret, forms.join("linked-env.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, forms.join("linked-dir")).unwrap();
    std::os::unix::fs::symlink(forms.join("gone"), forms.join("dangling.txt")).unwrap();
    let fifo = forms.join("fifo.txt");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let absolute = secret.display().to_string();
    for name in [
        absolute.as_str(),
        "linked-env.txt",
        "linked-dir/id_rsa",
        "dangling.txt",
        "fifo.txt",
        "a-folder",
    ] {
        let group = group_form(&forms, "Brain_MRI", &format!("minio_env_name: {name}\n"));
        let folder = tmp.path().join("out");
        let (code, _, stderr) = render(&group, &folder, &[]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains("minio_env_name"), "{name}: {stderr}");
        assert!(
            stderr.contains(&group.display().to_string()) || stderr.contains("group.yaml:"),
            "{name}: the form is named: {stderr}"
        );
        assert!(!stderr.contains("ADMIN-PRIVATE-KEY"), "{name}: {stderr}");
        assert!(
            files_holding(&folder, "ADMIN-PRIVATE-KEY").is_empty(),
            "{name}"
        );
        assert!(!folder.join("Brain_MRI").exists(), "{name}: nothing written");
    }

    // A link that stays inside the form's folder is a local file like any other.
    std::fs::write(forms.join("a-folder/env.txt"), "monai==1.3\n").unwrap();
    std::os::unix::fs::symlink("a-folder/env.txt", forms.join("inside.txt")).unwrap();
    let group = group_form(&forms, "Brain_MRI", "minio_env_name: inside.txt\n");
    let folder = tmp.path().join("out");
    let (code, _, stderr) = render(&group, &folder, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(folder.join("Brain_MRI/env/inside.txt")).unwrap(),
        "monai==1.3\n"
    );
}
