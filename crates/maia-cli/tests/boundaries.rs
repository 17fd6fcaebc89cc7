//! What crosses the boundary of the config folder (issue 16, item 10): local files a
//! workspace reads, files maia writes, and what goes into the tree meant for git.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

// Shared with the tests that compare bundles, which use the rest of it.
#[allow(dead_code)]
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
        .replace("group_ID: Brain_MRI", &format!("group_ID: {group_id}"))
        // Each group its own host: two groups on one group_subdomain are refused.
        .replace(
            "group_subdomain: brain-mri",
            &format!(
                "group_subdomain: {}",
                group_id.to_lowercase().replace(['_', '.'], "-")
            ),
        );
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
        assert!(
            !folder.join("Brain_MRI").exists(),
            "{name}: nothing written"
        );
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

const GITOPS: [&str; 4] = ["--gitops", "argocd", "--repo-path", "clusters/prod"];

/// A `--repo-url` carrying credentials would be copied into every Application
/// committed to git: refused (exit 2) without echoing the token, before anything is
/// written; Argo CD's repository credentials are the place for them.
#[test]
fn a_repository_url_with_credentials_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let group = group_form(&tmp.path().join("forms"), "Brain_MRI", "");
    for url in [
        "https://maia:glpat-SECRETTOKEN@git.example.org/maia/fleet.git",
        "https://glpat-SECRETTOKEN@git.example.org/maia/fleet.git",
        "ssh://git:glpat-SECRETTOKEN@git.example.org/maia/fleet.git",
        "https://git.example.org/maia/fleet.git?private_token=glpat-SECRETTOKEN",
        "https://maia:glpat-SECRETTOKEN@git.example.org/maia/my fleet.git",
    ] {
        let folder = tmp.path().join("out");
        let (code, stdout, stderr) = render(
            &group,
            &folder,
            &[&GITOPS[..], &["--repo-url", url]].concat(),
        );
        assert_eq!(code, 2, "{url}: {stderr}");
        assert!(stderr.contains("--repo-url"), "{url}: {stderr}");
        assert!(stderr.contains("Argo CD"), "{url}: {stderr}");
        assert!(!stderr.contains("SECRETTOKEN"), "{url}: {stderr}");
        assert!(!stdout.contains("SECRETTOKEN"), "{url}: {stdout}");
        assert!(files_holding(&folder, "SECRETTOKEN").is_empty(), "{url}");
        assert!(!folder.join("Brain_MRI").exists(), "{url}");
    }
    // A user name alone is how SSH URLs name the account, not a secret.
    for url in [
        "git@git.example.org:maia/fleet.git",
        "ssh://git@git.example.org/maia/fleet.git",
        "https://git.example.org/maia/fleet.git",
    ] {
        let folder = tmp.path().join("ok");
        let (code, _, stderr) = render(
            &group,
            &folder,
            &[&GITOPS[..], &["--repo-url", url]].concat(),
        );
        assert_eq!(code, 0, "{url}: {stderr}");
        let app =
            std::fs::read_to_string(folder.join("gitops/Brain_MRI/application.yaml")).unwrap();
        assert!(app.contains(url), "{url}: {app}");
    }
}

/// The GitOps tree is meant for git; a bundle holds credentials.yaml and the Secrets.
/// A group whose folder is the tree (a group named `gitops`), a `--gitops-folder`
/// inside a group's bundle folder, or one holding the config folder is refused
/// (exit 2) before anything is written.
#[test]
fn a_gitops_tree_overlapping_a_bundle_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let url = ["--repo-url", "https://git.example.org/maia/fleet.git"];
    let gitops = [&GITOPS[..], &url[..]].concat();

    // A group named gitops: its bundle folder is the default tree.
    let group = group_form(&tmp.path().join("forms"), "gitops", "");
    let folder = tmp.path().join("out1");
    let (code, _, stderr) = render(&group, &folder, &gitops);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("gitops"), "{stderr}");
    assert!(!folder.join("gitops").exists(), "nothing written: {stderr}");

    let group = group_form(&tmp.path().join("forms"), "Brain_MRI", "");
    for (name, tree, config) in [
        ("inside the bundle", "out2/Brain_MRI/tree", "out2"),
        ("the bundle", "out3/Brain_MRI", "out3"),
        ("holding the config folder", "out4", "out4/bundles"),
    ] {
        let folder = tmp.path().join(config);
        let tree = tmp.path().join(tree).display().to_string();
        let (code, _, stderr) = render(
            &group,
            &folder,
            &[&gitops[..], &["--gitops-folder", &tree]].concat(),
        );
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains("--gitops-folder"), "{name}: {stderr}");
        assert!(
            !folder.join("Brain_MRI").exists(),
            "{name}: nothing written"
        );
    }

    // Inside the bundle of a group rendered earlier, by another group's run.
    let folder = tmp.path().join("out6");
    let (code, _, stderr) = render(&group, &folder, &[]);
    assert_eq!(code, 0, "{stderr}");
    let other = group_form(&tmp.path().join("other"), "Other_Group", "");
    let tree = folder.join("Brain_MRI/tree").display().to_string();
    let (code, _, stderr) = render(
        &other,
        &folder,
        &[&gitops[..], &["--gitops-folder", &tree]].concat(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("Brain_MRI"), "{stderr}");
    assert!(!folder.join("Other_Group").exists());
    assert!(!folder.join("Brain_MRI/tree").exists());

    // fleet render: the same for a group named gitops among others.
    let forms = tmp.path().join("fleet-forms");
    group_form(&forms.join("a"), "Alpha", "");
    group_form(&forms.join("b"), "gitops", "");
    std::fs::rename(forms.join("a/group.yaml"), forms.join("a.yaml")).unwrap();
    std::fs::rename(forms.join("b/group.yaml"), forms.join("b.yaml")).unwrap();
    let folder = tmp.path().join("out5");
    let out = maia()
        .args(["fleet", "render", "--forms"])
        .arg(&forms)
        .arg("--cluster-config-file")
        .arg(example("cluster-nginx.yaml"))
        .arg("--config-folder")
        .arg(&folder)
        .args(&gitops)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--gitops-folder"), "{stderr}");
    // Only the group named gitops stops; nothing of a bundle is in the tree.
    assert!(folder.join("Alpha/credentials.yaml").is_file(), "{stderr}");
    assert!(files_holding(&folder.join("gitops"), "credentials:").is_empty());
    assert!(!folder.join("gitops/credentials.yaml").exists());
}

/// Every folder under `dir` (and `dir`) with its mode.
fn folder_modes(dir: &Path) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = vec![(
        dir.to_path_buf(),
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o7777,
    )];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(folder_modes(&entry.path()));
        }
    }
    out
}

/// `sh -c 'umask 000; exec maia ARGS'`: (exit code, stderr).
fn maia_under_umask_000(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("maia");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(&bin)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Under umask 000 maia's folders are still not writable by others, and those
/// holding secrets are the owner's alone (0700): the modes are maia's, not the umask's.
#[test]
fn folders_are_created_with_their_own_modes_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let group = group_form(&tmp.path().join("forms"), "Brain_MRI", "");
    let folder = tmp.path().join("out/bundles");
    let tree = tmp.path().join("out/tree");
    let os = |s: &str| std::ffi::OsString::from(s);
    let args = [
        os("namespace"),
        os("render"),
        os("--namespace-config-file"),
        group.clone().into_os_string(),
        os("--cluster-config-file"),
        example("cluster-nginx.yaml").into_os_string(),
        os("--config-folder"),
        folder.clone().into_os_string(),
        os("--gitops"),
        os("argocd"),
        os("--repo-url"),
        os("https://git.example.org/maia/fleet.git"),
        os("--gitops-folder"),
        tree.clone().into_os_string(),
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (code, stderr) = maia_under_umask_000(&args);
    assert_eq!(code, 0, "{stderr}");
    for (dir, mode) in folder_modes(&tmp.path().join("out")) {
        assert_eq!(
            mode & 0o022,
            0,
            "{} is writable by others: {mode:o}",
            dir.display()
        );
    }
    for file in walk(&tmp.path().join("out")) {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode & 0o022,
            0,
            "{} is writable by others: {mode:o}",
            file.display()
        );
        // A folder holding a secret file lets no one else in.
        if mode & 0o077 == 0 {
            let dir = file.parent().unwrap();
            let dir_mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                dir_mode,
                0o700,
                "{} holds {}",
                dir.display(),
                file.display()
            );
        }
    }
    let group_dir = std::fs::metadata(folder.join("Brain_MRI")).unwrap();
    assert_eq!(group_dir.permissions().mode() & 0o777, 0o700);

    // app render --out: the folder and its files are not writable by others either.
    let app_out = tmp.path().join("app-out/objects");
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/app/jupyterlab.json");
    let args = [
        os("app"),
        os("render"),
        os("--config-file"),
        app.into_os_string(),
        os("--out"),
        app_out.clone().into_os_string(),
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (code, stderr) = maia_under_umask_000(&args);
    assert_eq!(code, 0, "{stderr}");
    for (dir, mode) in folder_modes(&tmp.path().join("app-out")) {
        assert_eq!(
            mode & 0o022,
            0,
            "{} is writable by others: {mode:o}",
            dir.display()
        );
    }
    for file in walk(&app_out) {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode & 0o022,
            0,
            "{} is writable by others: {mode:o}",
            file.display()
        );
    }
}

/// `app render --out` never writes through a symbolic link: a link planted where a
/// file goes (or as the output folder) is refused, exit 2, and its target untouched.
#[test]
fn app_render_out_never_writes_through_a_symbolic_link() {
    let tmp = tempfile::tempdir().unwrap();
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/app/jupyterlab.json");
    let render_out = |out: &Path| {
        maia()
            .args(["app", "render", "--config-file"])
            .arg(&app)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    // The file names a render writes.
    let probe = tmp.path().join("probe");
    assert!(render_out(&probe).status.success());
    let names: Vec<_> = walk(&probe)
        .into_iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert!(!names.is_empty());

    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "the admin's own file\n").unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::symlink(&victim, out.join(&names[names.len() - 1])).unwrap();
    let o = render_out(&out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "the admin's own file\n"
    );

    // The output folder itself a link (e.g. planted in a shared folder).
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let linked = tmp.path().join("linked-out");
    std::os::unix::fs::symlink(&elsewhere, &linked).unwrap();
    let o = render_out(&linked);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// `MAIA_deploy_helm_chart --print-helm-values-only FILE` (a sibling of `--out`) does
/// not write through a link planted at FILE either.
#[test]
fn the_compat_values_file_is_never_written_through_a_symbolic_link() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "the admin's own file\n").unwrap();
    let out = tmp.path().join("values.yaml");
    std::os::unix::fs::symlink(&victim, &out).unwrap();
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/app/jupyterlab.json");
    let o = Command::cargo_bin("MAIA_deploy_helm_chart")
        .unwrap()
        .env_remove("KUBECONFIG")
        .env("HOME", tmp.path())
        .arg("--config-file")
        .arg(&app)
        .arg("--print-helm-values-only")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "the admin's own file\n"
    );
}

/// A folder inside a bundle replaced by a link (maia makes those folders itself) is
/// refused before anything is written: the Secrets' manifests never go elsewhere.
#[test]
fn a_linked_folder_inside_a_bundle_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let group = group_form(&tmp.path().join("forms"), "Brain_MRI", "");
    let folder = tmp.path().join("out");
    let (code, _, stderr) = render(&group, &folder, &[]);
    assert_eq!(code, 0, "{stderr}");
    let manifests = folder.join("Brain_MRI/manifests");
    std::fs::remove_dir_all(&manifests).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &manifests).unwrap();
    let (code, _, stderr) = render(&group, &folder, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// A config folder others may write to (made by an older maia under umask 000, or a
/// shared folder) lets anyone plant a group's folder or its credentials.yaml: maia
/// says so on every run (its own folders it makes 0700).
#[test]
fn a_config_folder_others_may_write_to_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let group = group_form(&tmp.path().join("forms"), "Brain_MRI", "");
    let folder = tmp.path().join("out");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, _, stderr) = render(&group, &folder, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("writable by others"), "{stderr}");
    assert!(stderr.contains("chmod"), "{stderr}");
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    let (code, _, stderr) = render(&group, &folder, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("writable by others"), "{stderr}");
}
