//! `maia fleet render`, end to end: many group forms rendered in one run give what
//! `maia namespace render` gives group by group, and a run writes only what changed.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use assert_cmd::Command;
use serde_json::Value;

mod files;
use files::{tree, walk};

fn cluster() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/workspace/cluster-nginx.yaml")
}

fn maia() -> Command {
    Command::cargo_bin("maia").unwrap()
}

/// A group form (YAML, or JSON when `file` ends in .json) in `dir`.
fn form(dir: &Path, file: &str, group: &str, users: &[&str]) -> PathBuf {
    let path = dir.join(file);
    let text = if file.ends_with(".json") {
        serde_json::json!({
            "group_ID": group,
            "users": users,
            "resources_limits": {"memory": ["4G", "8G"], "cpu": [2, 4]},
        })
        .to_string()
    } else {
        let users: String = users.iter().map(|u| format!("  - {u}\n")).collect();
        format!(
            "group_ID: {group}\nusers:\n{users}resources_limits:\n  memory: [\"4G\", \"8G\"]\n  cpu: [2, 4]\n"
        )
    };
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `maia fleet render` for the example cluster and returns (exit code, stdout,
/// stderr).
fn fleet(forms: &Path, folder: &Path, extra: &[&str]) -> (i32, String, String) {
    fleet_for(&cluster(), forms, folder, extra)
}

/// [`fleet`] for another cluster config.
fn fleet_for(cluster: &Path, forms: &Path, folder: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = maia()
        .args(["fleet", "render", "--forms"])
        .arg(forms)
        .arg("--cluster-config-file")
        .arg(cluster)
        .arg("--config-folder")
        .arg(folder)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `maia fleet render -o json`, which must succeed.
fn fleet_json(forms: &Path, folder: &Path) -> Value {
    let (code, stdout, stderr) = fleet(forms, folder, &["-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// Runs `maia namespace render`; true when it succeeded.
fn namespace_render(form: &Path, folder: &Path) -> bool {
    maia()
        .args(["namespace", "render", "--namespace-config-file"])
        .arg(form)
        .arg("--cluster-config-file")
        .arg(cluster())
        .arg("--config-folder")
        .arg(folder)
        .output()
        .unwrap()
        .status
        .success()
}

/// Every file under `dir` → when it was last modified.
fn mtimes(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let t = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, t)
        })
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    for p in walk(from) {
        let target = to.join(p.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&p, &target).unwrap();
    }
}

fn ports(folder: &Path, group: &str) -> Value {
    let text = std::fs::read_to_string(folder.join(group).join("credentials.yaml")).unwrap();
    let creds: Value = yaml_serde::from_str(&text).unwrap();
    creds["ssh_ports"].clone()
}

/// The forms of the equivalence test, second version: one group gains a member, one
/// loses one (freeing a port), one gains two, one is new and one is gone.
fn second_forms(dir: &Path) {
    form(
        dir,
        "1.yaml",
        "Alpha",
        &["a1@example.org", "a2@example.org"],
    );
    form(dir, "2.yml", "Beta", &["b1@example.org", "b2@example.org"]);
    form(dir, "3.json", "Delta", &["d2@example.org"]);
    form(
        dir,
        "4.yaml",
        "Gamma",
        &["g1@example.org", "g2@example.org", "g3@example.org"],
    );
    form(
        dir,
        "0.yaml",
        "Omega",
        &["e1@example.org", "a1@example.org"],
    );
}

/// The earlier state both folders of an equivalence test start from, under
/// `tmp/base`: a group outside the fleet, then a fleet of five groups rendered (file
/// names in another order than the group_IDs); and the second version of the forms,
/// under `tmp/v2`, whose new group Omega has its secrets seeded in the base (they are
/// random, and the trees are compared byte for byte) and its ports left to the render.
fn earlier_state(tmp: &Path, ledger: bool) -> (PathBuf, PathBuf) {
    let base = tmp.join("base");
    // The outside group holds the range's first port.
    let outside = form(
        &tmp.join("outside"),
        "o.yaml",
        "Outside",
        &["o1@example.org"],
    );
    assert!(namespace_render(&outside, &base));
    let v1 = tmp.join("v1");
    form(
        &v1,
        "z.yaml",
        "Alpha",
        &["a1@example.org", "a2@example.org"],
    );
    form(&v1, "y.yml", "Beta", &["b1@example.org"]);
    form(
        &v1,
        "x.json",
        "Delta",
        &["d1@example.org", "d2@example.org"],
    );
    form(&v1, "w.yaml", "Gamma", &["g1@example.org"]);
    form(&v1, "v.yaml", "Zeta", &["z1@example.org", "a1@example.org"]);
    let (code, _, stderr) = fleet(&v1, &base, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(ports(&base, "Alpha")["a1@example.org"], 30101);
    assert_eq!(ports(&base, "Delta")["d1@example.org"], 30104);
    assert_eq!(ports(&base, "Zeta")["a1@example.org"], 30108);

    let scratch = tmp.join("scratch");
    let v2 = tmp.join("v2");
    second_forms(&v2);
    assert!(namespace_render(&v2.join("0.yaml"), &scratch));
    let omega = std::fs::read_to_string(scratch.join("Omega/credentials.yaml")).unwrap();
    let omega = &omega[..omega.find("ssh_ports:").unwrap()];
    std::fs::create_dir_all(base.join("Omega")).unwrap();
    std::fs::write(base.join("Omega/credentials.yaml"), omega).unwrap();
    if !ledger {
        std::fs::remove_file(base.join(".maia/ssh-ports.json")).unwrap();
    }
    (base, v2)
}

/// Copies `base` to `tmp/a` and `tmp/b`; renders the forms of `v2` into a with one
/// fleet run, into b with `maia namespace render` for each group in group_ID order;
/// checks that both trees hold the same files with the same bytes and modes. Returns
/// a, and the fleet run's exit code and stdout.
fn fleet_and_one_by_one(tmp: &Path, base: &Path, v2: &Path) -> (PathBuf, i32, String) {
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    copy_tree(base, &a);
    copy_tree(base, &b);
    let (code, stdout, _) = fleet(v2, &a, &[]);
    let mut by_id: Vec<PathBuf> = walk(v2);
    by_id.sort_by_key(|p| {
        let text = std::fs::read_to_string(p).unwrap();
        let v: Value = yaml_serde::from_str(&text).unwrap();
        v["group_ID"].as_str().unwrap().to_string()
    });
    for f in &by_id {
        // A group that fails leaves the folder as it was, as in the fleet.
        namespace_render(f, &b);
    }
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, content) in &ta {
        assert!(&tb[path] == content, "{} differs", path.display());
    }
    (a, code, stdout)
}

/// The point of the command: one fleet run into folder A and `maia namespace render`
/// run for each group in group_ID order into folder B (both starting from the same
/// earlier state) leave byte-identical trees, SSH ports and ledger included; with the
/// ledger present, and with it missing (rebuilt from the groups' credentials.yaml).
#[test]
fn a_fleet_render_equals_namespace_renders_one_by_one_in_group_id_order() {
    for ledger in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let (base, v2) = earlier_state(tmp.path(), ledger);
        let (a, code, stdout) = fleet_and_one_by_one(tmp.path(), &base, &v2);
        assert_eq!(code, 0, "{stdout}");
        // What happened, in group_ID order: Beta's new member comes before Delta frees
        // 30104, so Gamma's first new member gets it; Omega's users are all new.
        assert_eq!(ports(&a, "Beta")["b2@example.org"], 30109, "{stdout}");
        assert_eq!(ports(&a, "Delta")["d2@example.org"], 30105);
        assert_eq!(ports(&a, "Gamma")["g2@example.org"], 30104);
        assert_eq!(ports(&a, "Gamma")["g3@example.org"], 30110);
        assert_eq!(ports(&a, "Omega")["e1@example.org"], 30111);
        assert_eq!(ports(&a, "Omega")["a1@example.org"], 30112);
        for line in [
            "unchanged  Alpha",
            "changed    Beta",
            "changed    Delta",
            "changed    Gamma",
            // Its credentials.yaml was seeded: not a first render.
            "changed    Omega",
        ] {
            assert!(stdout.contains(line), "{line}: {stdout}");
        }
    }
}

/// A group that fails only once rendered (here its credentials.yaml lacks a key) would
/// have left its ports in the ledger as they were, run by run: the groups after it do
/// not get the port it would have freed, exactly as one by one.
#[test]
fn a_group_failing_after_its_ports_are_given_leaves_them_as_one_by_one_runs_do() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, v2) = earlier_state(tmp.path(), true);
    let path = base.join("Delta/credentials.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let damaged: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("mysql.password:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(damaged, text);
    std::fs::write(&path, damaged).unwrap();
    let (a, code, stdout) = fleet_and_one_by_one(tmp.path(), &base, &v2);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("error      Delta"), "{stdout}");
    // Delta keeps 30104 and 30105 in the ledger: Gamma's new members go above.
    assert_eq!(ports(&a, "Delta")["d1@example.org"], 30104);
    assert_eq!(ports(&a, "Gamma")["g2@example.org"], 30110);
    assert_eq!(ports(&a, "Omega")["a1@example.org"], 30113);
}

/// A second run with the same forms reports every group unchanged and writes nothing:
/// no file (the ledger included) gets a new modification time.
#[test]
fn a_second_run_reports_every_group_unchanged_and_rewrites_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    for i in 0..6 {
        form(
            &forms,
            &format!("g{i}.yaml"),
            &format!("Group_{i}"),
            &["alice@example.org", &format!("user{i}@example.org")],
        );
    }
    let folder = tmp.path().join("out");
    let first = fleet_json(&forms, &folder);
    assert_eq!(first["totals"]["new"], 6, "{first:#}");
    assert_eq!(first["ledger"]["written"], true);
    let before = mtimes(&folder);
    std::thread::sleep(std::time::Duration::from_millis(20));

    let (code, stdout, stderr) = fleet(&forms, &folder, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches("unchanged  Group_").count(), 6, "{stdout}");
    assert!(
        stdout.contains("6 group(s) under") && stdout.contains("0 new, 0 changed, 6 unchanged"),
        "{stdout}"
    );
    assert!(!stdout.contains("ssh-ports.json"), "{stdout}");
    assert_eq!(mtimes(&folder), before);
    let again = fleet_json(&forms, &folder);
    assert_eq!(again["totals"]["unchanged"], 6);
    assert_eq!(again["ledger"]["written"], false);
    assert_eq!(mtimes(&folder), before);
}

/// One bad form stops only its own group: it is named with the field and a hint, the
/// others are rendered, and the exit code says bad input. Subfolders and files that
/// are not forms are left alone.
#[test]
fn an_invalid_form_among_valid_ones_is_reported_and_the_others_are_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    form(&forms, "a.yaml", "Alpha", &["a1@example.org"]);
    form(&forms, "c.yaml", "Gamma", &["g1@example.org"]);
    std::fs::write(
        forms.join("b.yaml"),
        "group_ID: Beta\nusers:\n  - b1@example.org\nresources_limits:\n  memory: [\"4GB\", \"8G\"]\n  cpu: [2, 4]\n",
    )
    .unwrap();
    std::fs::write(forms.join("README.md"), "not a form\n").unwrap();
    form(&forms.join("old"), "x.yaml", "Old", &["x@example.org"]);
    let folder = tmp.path().join("out");

    let (code, stdout, stderr) = fleet(&forms, &folder, &[]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("b.yaml:5:"), "{stderr}");
    assert!(
        stderr.contains("resources_limits.memory[0]") && stderr.contains("\"4GB\""),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(stdout.contains("error      -"), "{stdout}");
    assert!(stdout.contains("1 error(s)"), "{stdout}");
    assert!(
        !stdout.contains("README") && !stdout.contains("Old"),
        "{stdout}"
    );
    for group in ["Alpha", "Gamma"] {
        assert!(folder.join(group).join("deploy.sh").is_file());
    }
    assert!(!folder.join("Beta").exists() && !folder.join("Old").exists());

    // An invalid cluster config is no one group's fault: nothing is rendered.
    let bad_cluster = tmp.path().join("cluster.yaml");
    std::fs::write(&bad_cluster, "domain: [\n").unwrap();
    let other = tmp.path().join("other");
    let (code, _, stderr) = fleet_for(&bad_cluster, &forms, &other, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cluster.yaml"), "{stderr}");
    assert!(!other.exists());
}

/// A member added to one group rewrites that group's files (and the ledger) only.
#[test]
fn a_new_member_changes_only_that_group() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    form(&forms, "a.yaml", "Alpha", &["a1@example.org"]);
    form(&forms, "b.yaml", "Beta", &["b1@example.org"]);
    form(&forms, "c.yaml", "Gamma", &["g1@example.org"]);
    let folder = tmp.path().join("out");
    fleet_json(&forms, &folder);
    let before = mtimes(&folder);
    std::thread::sleep(std::time::Duration::from_millis(20));

    form(
        &forms,
        "b.yaml",
        "Beta",
        &["b1@example.org", "b2@example.org"],
    );
    let report = fleet_json(&forms, &folder);
    let status: Vec<(&str, &str)> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group_ID"].as_str().unwrap(),
                g["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("Alpha", "unchanged"),
            ("Beta", "changed"),
            ("Gamma", "unchanged")
        ]
    );
    assert_eq!(report["ledger"]["written"], true);
    assert_eq!(ports(&folder, "Beta")["b2@example.org"], 30103);
    let after = mtimes(&folder);
    for (path, t) in &before {
        let touched = after[path] != *t;
        let beta = path.starts_with(folder.join("Beta"));
        let ledger = path.ends_with(".maia/ssh-ports.json");
        assert!(
            !touched || beta || ledger,
            "{} was rewritten",
            path.display()
        );
    }
    assert_ne!(
        after[&folder.join("Beta/credentials.yaml")],
        before[&folder.join("Beta/credentials.yaml")]
    );
}

/// `-o json`: one object with each group's result (in the forms' order) and the totals.
#[test]
fn json_output_has_each_groups_result_and_the_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    form(
        &forms,
        "a.yaml",
        "Alpha",
        &["a1@example.org", "a2@example.org"],
    );
    std::fs::write(forms.join("b.json"), "{\"group_ID\": \"Beta\"}").unwrap();
    let folder = tmp.path().join("out");
    let (code, stdout, _) = fleet(&forms, &folder, &["-o", "json"]);
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["config_folder"], folder.display().to_string());
    assert_eq!(
        v["totals"],
        serde_json::json!({"groups": 2, "new": 1, "changed": 0, "unchanged": 0, "error": 1})
    );
    assert_eq!(
        v["ledger"]["path"],
        folder.join(".maia/ssh-ports.json").display().to_string()
    );
    assert_eq!(v["ledger"]["written"], true);

    let alpha = &v["groups"][0];
    assert_eq!(alpha["form"], forms.join("a.yaml").display().to_string());
    assert_eq!(alpha["group_ID"], "Alpha");
    assert_eq!(alpha["namespace"], "alpha");
    assert_eq!(alpha["status"], "new");
    assert_eq!(alpha["folder"], folder.join("Alpha").display().to_string());
    assert!(alpha["files_written"].as_u64().unwrap() > 10, "{alpha:#}");
    assert_eq!(alpha["files_removed"], 0);
    assert_eq!(
        alpha["ssh_ports"],
        serde_json::json!({"a1@example.org": 30100, "a2@example.org": 30101})
    );
    assert_eq!(alpha["warnings"], serde_json::json!([]));

    let beta = &v["groups"][1];
    assert_eq!(beta["form"], forms.join("b.json").display().to_string());
    assert_eq!(beta["status"], "error");
    assert!(beta.get("group_ID").is_none(), "{beta:#}");
    let error = &beta["error"];
    assert!(
        error["message"].as_str().unwrap().contains("b.json"),
        "{error:#}"
    );
    let first = &error["diagnostics"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], forms.join("b.json").display().to_string());
    assert!(first["path"].is_string() && first["message"].is_string());
    assert!(
        first["line"].is_u64() && first["column"].is_u64(),
        "{first:#}"
    );
}

/// Two forms whose groups map to one namespace are both refused, as is a group whose
/// namespace a group of the folder outside the fleet holds; the rest is rendered.
#[test]
fn groups_sharing_a_namespace_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("out");
    let held = form(
        &tmp.path().join("held"),
        "h.yaml",
        "Held_Group",
        &["h@example.org"],
    );
    assert!(namespace_render(&held, &folder));
    let forms = tmp.path().join("forms");
    form(&forms, "a.yaml", "Brain_MRI", &["a@example.org"]);
    form(&forms, "b.yaml", "brain.mri", &["b@example.org"]);
    form(&forms, "c.yaml", "held-group", &["c@example.org"]);
    form(&forms, "d.yaml", "Lung_CT", &["d@example.org"]);
    let (code, stdout, stderr) = fleet(&forms, &folder, &[]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stderr.contains(&format!(
            "group Brain_MRI maps to namespace brain-mri, which group brain.mri of {} already has",
            forms.join("b.yaml").display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("group brain.mri maps to namespace brain-mri, which group Brain_MRI of"),
        "{stderr}"
    );
    assert!(
        stderr.contains("maps to namespace held-group, which group Held_Group under"),
        "{stderr}"
    );
    assert!(stdout.contains("new        Lung_CT"), "{stdout}");
    for refused in ["Brain_MRI", "brain.mri", "held-group"] {
        assert!(!folder.join(refused).exists(), "{refused}");
    }
}

#[test]
fn fleet_help_teaches_with_examples() {
    let help = |args: &[&str]| {
        let out = maia().args(args).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let fleet = help(&["fleet", "--help"]);
    assert!(fleet.contains("Many groups at once"), "{fleet}");
    assert!(fleet.contains("Examples:"), "{fleet}");
    let render = help(&["fleet", "render", "--help"]);
    for part in [
        "--forms <DIR>",
        "order of their group_IDs",
        "byte for byte",
        "Examples:",
        "Exit codes",
        "--gitops <TOOL>",
        "--repo-url <URL>",
        "--no-self-heal",
        "applicationset.yaml",
    ] {
        assert!(render.contains(part), "{part}: {render}");
    }
    for (verb, parts) in [
        (
            "deploy",
            &[
                "--concurrency <N>",
                "--secrets-only",
                "Examples:",
                "Exit codes",
            ][..],
        ),
        (
            "plan",
            &["Examples:", "Exit codes", "detailed-exitcode"][..],
        ),
        ("status", &["--forms <DIR>", "Examples:", "Exit codes"][..]),
    ] {
        let text = help(&["fleet", verb, "--help"]);
        for part in parts {
            assert!(text.contains(part), "{verb}: {part}: {text}");
        }
    }
}

/// Every string value of a YAML file, at any depth.
fn yaml_strings(path: &Path) -> Vec<String> {
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            Value::Object(o) => o.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(&yaml(path), &mut out);
    out
}

fn yaml(path: &Path) -> Value {
    yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const GITOPS: &[&str] = &[
    "--gitops",
    "argocd",
    "--repo-url",
    "https://git.example.org/maia/fleet.git",
    "--repo-path",
    "/clusters/prod/",
    "--target-revision",
    "main",
];

/// `--gitops argocd`: per group a tree without any Secret or secret value, with an
/// Application whose every source is in the tree, and the fleet's ApplicationSet,
/// whose template gives each group the Application its folder holds; a second run
/// rewrites nothing.
#[test]
fn the_gitops_tree_holds_no_secret_and_its_applications_read_only_the_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    form(
        &forms,
        "a.yaml",
        "Alpha",
        &["a1@example.org", "a2@example.org"],
    );
    form(&forms, "b.yaml", "Brain.MRI_2", &["b1@example.org"]);
    let folder = tmp.path().join("out");
    let (code, stdout, stderr) = fleet(&forms, &folder, GITOPS);
    assert_eq!(code, 0, "{stderr}");
    let git = folder.join("gitops");
    assert!(stdout.contains(&git.display().to_string()), "{stdout}");
    assert!(stdout.contains("--secrets-only"), "{stdout}");

    // The secrets: every generated credential, and those of the cluster config.
    let mut secrets = vec![
        "change-me-registry-password".to_string(),
        "change-me-keycloak-client-secret".to_string(),
    ];
    for group in ["Alpha", "Brain.MRI_2"] {
        let creds = yaml(&folder.join(group).join("credentials.yaml"));
        let found: Vec<String> = yaml_strings(&folder.join(group).join("credentials.yaml"))
            .into_iter()
            .filter(|s| s.len() >= 8 && !s.contains('@'))
            .collect();
        assert!(found.len() >= 5, "{creds:#}");
        secrets.extend(found);
    }
    let files = walk(&git);
    assert!(files.len() > 10, "{files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains("kind: Secret"), "{f:?}");
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{f:?} holds a secret");
        }
    }

    // Each Application reads its manifests and values from the tree, as committed
    // under --repo-path.
    for (group, namespace) in [("Alpha", "alpha"), ("Brain.MRI_2", "brain-mri-2")] {
        let app = yaml(&git.join(group).join("application.yaml"));
        assert_eq!(app["metadata"]["name"], format!("maia-{namespace}"));
        assert_eq!(app["spec"]["destination"]["namespace"], namespace);
        assert_eq!(app["spec"]["syncPolicy"]["automated"]["prune"], true);
        for source in app["spec"]["sources"].as_array().unwrap() {
            if let Some(path) = source["path"].as_str() {
                assert_eq!(source["targetRevision"], "main");
                let local = path.strip_prefix("clusters/prod/").unwrap();
                assert!(git.join(local).is_dir(), "{path}");
            }
            for file in source["helm"]["valueFiles"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let local = file
                    .as_str()
                    .unwrap()
                    .strip_prefix("$values/clusters/prod/")
                    .unwrap();
                assert!(git.join(local).is_file(), "{file}");
            }
        }
    }

    // The ApplicationSet's template, with a folder's name put in as Argo CD's
    // templates would, is the Application that folder holds.
    let set_text = std::fs::read_to_string(git.join("applicationset.yaml")).unwrap();
    let set: Value = yaml_serde::from_str(&set_text).unwrap();
    assert_eq!(
        set["spec"]["generators"][0]["git"]["directories"][0]["path"],
        "clusters/prod/*"
    );
    let template = serde_json::to_string(&set["spec"]["template"]).unwrap();
    for (group, namespace) in [("Alpha", "alpha"), ("Brain.MRI_2", "brain-mri-2")] {
        let made: Value = serde_json::from_str(
            &template
                .replace(
                    "{{ .path.basename | lower | replace \\\"_\\\" \\\"-\\\" | replace \\\".\\\" \\\"-\\\" }}",
                    namespace,
                )
                .replace("{{ .path.basename }}", group),
        )
        .unwrap();
        let app = yaml(&git.join(group).join("application.yaml"));
        assert_eq!(made["metadata"]["name"], app["metadata"]["name"]);
        assert_eq!(made["spec"], app["spec"], "{group}");
    }

    // Again: nothing is rewritten, the tree included.
    let before = mtimes(&folder);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (code, stdout, stderr) = fleet(&forms, &folder, GITOPS);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("0 new, 0 changed, 2 unchanged"), "{stdout}");
    assert_eq!(mtimes(&folder), before);

    // Without automated sync, on the next run every Application says so.
    let (code, _, stderr) = fleet(&forms, &folder, &[GITOPS, &["--no-auto-sync"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let app = yaml(&git.join("Alpha").join("application.yaml"));
    assert!(
        app["spec"]["syncPolicy"].get("automated").is_none(),
        "{app:#}"
    );
}

/// The GitOps flags are checked before anything is written.
#[test]
fn gitops_flags_that_cannot_work_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    form(&forms, "a.yaml", "Alpha", &["a1@example.org"]);
    let folder = tmp.path().join("out");
    for (extra, wanted) in [
        (vec!["--gitops", "argocd"], "--repo-url"),
        (
            vec![
                "--gitops",
                "argocd",
                "--repo-url",
                "https://g/x.git",
                "--repo-path",
                "../up",
            ],
            "--repo-path",
        ),
        (vec!["--repo-url", "https://g/x.git"], "--gitops"),
    ] {
        let (code, _, stderr) = fleet(&forms, &folder, &extra);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(wanted), "{extra:?}: {stderr}");
        assert!(!folder.join("Alpha").exists());
    }
    let gitops_folder = folder.display().to_string();
    let (code, _, stderr) = fleet(
        &forms,
        &folder,
        &[GITOPS, &["--gitops-folder", &gitops_folder]].concat(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("config folder"), "{stderr}");
}

#[test]
fn groups_rendered_for_the_first_time_are_said_to_be_for_new_workspaces() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    form(&forms, "a.yaml", "Group_A", &["alice@example.org"]);
    let folder = tmp.path().join("out");
    let (code, _, stderr) = fleet(&forms, &folder, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Group_A are for NEW workspaces"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(folder.join("Group_A/summary.md")).unwrap();
    assert!(
        summary.contains("this bundle is for a NEW workspace"),
        "{summary}"
    );
    // Rendered again from its credentials.yaml: nothing drawn, nothing to say.
    let (code, _, stderr) = fleet(&forms, &folder, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("NEW workspaces"), "{stderr}");
}

/// Two forms giving one group_subdomain would put every Ingress of both groups on one
/// host: both are refused (exit 2), each naming the other; the rest is rendered.
#[test]
fn groups_sharing_a_group_subdomain_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("out");
    let forms = tmp.path().join("forms");
    for (file, group, sub) in [
        ("a.yaml", "Brain_MRI", "imaging"),
        ("b.yaml", "Lung_CT", "imaging"),
        ("c.yaml", "Heart_US", "heart"),
    ] {
        let path = form(&forms, file, group, &["a@example.org"]);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("group_subdomain: {sub}\n{text}")).unwrap();
    }
    let (code, stdout, stderr) = fleet(&forms, &folder, &[]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "group Brain_MRI's group_subdomain imaging (host imaging.maia.example.org) is group Lung_CT of {}'s too",
            forms.join("b.yaml").display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("group Lung_CT's group_subdomain imaging"),
        "{stderr}"
    );
    assert!(stdout.contains("new        Heart_US"), "{stdout}");
    for refused in ["Brain_MRI", "Lung_CT"] {
        assert!(!folder.join(refused).exists(), "{refused}");
    }
}

/// A fleet render killed part-way leaves each group's bundle whole or absent (a first
/// render is written into a hidden temporary folder and renamed into place once), and
/// the next run removes what the killed one left and converges: every group whole,
/// ports as an uninterrupted run gives them, no temporary file anywhere.
#[test]
fn a_killed_first_render_leaves_whole_bundles_or_none_and_the_next_run_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    for i in 0..40 {
        form(
            &forms,
            &format!("g{i:02}.yaml"),
            &format!("Group_{i:02}"),
            &[&format!("a{i}@example.org"), &format!("b{i}@example.org")],
        );
    }
    let reference = tmp.path().join("reference");
    assert_eq!(fleet(&forms, &reference, &[]).0, 0);
    let files = |group: &Path| -> Vec<(PathBuf, u32)> {
        tree(group)
            .into_iter()
            .map(|(p, (_, mode))| (p, mode))
            .collect()
    };
    let whole = |name: &str| files(&reference.join(name));
    let ledger = |folder: &Path| std::fs::read(folder.join(".maia/ssh-ports.json")).unwrap();
    for (round, delay) in [20u64, 60, 150, 400].into_iter().enumerate() {
        let folder = tmp.path().join(format!("killed-{round}"));
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("maia"))
            .args(["fleet", "render", "--forms"])
            .arg(&forms)
            .arg("--cluster-config-file")
            .arg(cluster())
            .arg("--config-folder")
            .arg(&folder)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        child.wait().unwrap();
        if folder.is_dir() {
            for entry in std::fs::read_dir(&folder).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("Group_") {
                    assert_eq!(files(&entry.path()), whole(&name), "round {round}: {name}");
                }
            }
        }
        let (code, stdout, stderr) = fleet(&forms, &folder, &[]);
        assert_eq!(code, 0, "round {round}: {stdout}{stderr}");
        for i in 0..40 {
            let name = format!("Group_{i:02}");
            assert_eq!(files(&folder.join(&name)), whole(&name));
        }
        assert_eq!(ledger(&folder), ledger(&reference), "round {round}");
        let leftovers: Vec<_> = walk(&folder)
            .into_iter()
            .chain(
                std::fs::read_dir(&folder)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            )
            .filter(|p| p.to_string_lossy().ends_with(".maia-tmp"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
}

/// `maia fleet render` with its render stamps in `cache` (`XDG_CACHE_HOME`); exit code
/// and stdout.
fn fleet_cached(cluster: &Path, forms: &Path, folder: &Path, cache: &Path) -> (i32, String) {
    let out = maia()
        .args(["fleet", "render", "--forms"])
        .arg(forms)
        .arg("--cluster-config-file")
        .arg(cluster)
        .arg("--config-folder")
        .arg(folder)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Runs that leave unchanged groups alone on the strength of their render stamps
/// still restore what was edited by hand (even keeping the file's size and
/// modification time) or deleted, byte for byte; the stamps, kept outside the config
/// folder, hold no credential.
#[test]
fn a_file_edited_by_hand_or_deleted_is_restored_despite_render_stamps() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    form(&forms, "a.yaml", "Alpha", &["a1@example.org"]);
    form(&forms, "b.yaml", "Beta", &["b1@example.org"]);
    let (folder, cache) = (tmp.path().join("out"), tmp.path().join("cache"));
    for _ in 0..2 {
        let (code, stdout) = fleet_cached(&cluster(), &forms, &folder, &cache);
        assert_eq!(code, 0, "{stdout}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before = tree(&folder);
    let stamps = walk(&cache.join("maia/fleet-render"));
    assert_eq!(stamps.len(), 1, "{stamps:?}");
    let text = std::fs::read_to_string(&stamps[0]).unwrap();
    let credentials = yaml(&folder.join("Alpha/credentials.yaml"));
    for secret in credentials["credentials"].as_object().unwrap().values() {
        assert!(!text.contains(secret.as_str().unwrap()));
    }

    let manifest = folder.join("Alpha/manifests/01-namespace.yaml");
    let original = std::fs::read_to_string(&manifest).unwrap();
    let edited = original.replacen("name:", "nane:", 1);
    assert!(edited != original && edited.len() == original.len());
    let modified = std::fs::metadata(&manifest).unwrap().modified().unwrap();
    std::fs::write(&manifest, &edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&manifest)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    std::fs::remove_file(folder.join("Beta/summary.md")).unwrap();

    let (code, stdout) = fleet_cached(&cluster(), &forms, &folder, &cache);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("changed    Alpha"), "{stdout}");
    assert!(stdout.contains("changed    Beta"), "{stdout}");
    assert!(tree(&folder) == before, "every file restored");
    let (_, stdout) = fleet_cached(&cluster(), &forms, &folder, &cache);
    assert!(stdout.contains("0 new, 0 changed, 2 unchanged"), "{stdout}");
}

/// A change to the cluster config renders every group again, although their render
/// stamps say their files are as the last run left them.
#[test]
fn a_changed_cluster_config_renders_every_group_again_despite_render_stamps() {
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    for (file, group) in [("a.yaml", "Alpha"), ("b.yaml", "Beta"), ("c.yaml", "Gamma")] {
        form(&forms, file, group, &["x@example.org"]);
    }
    let cluster_file = tmp.path().join("cluster.yaml");
    let text = std::fs::read_to_string(cluster()).unwrap();
    std::fs::write(&cluster_file, &text).unwrap();
    let (folder, cache) = (tmp.path().join("out"), tmp.path().join("cache"));
    for _ in 0..2 {
        let (code, stdout) = fleet_cached(&cluster_file, &forms, &folder, &cache);
        assert_eq!(code, 0, "{stdout}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let changed = text.replace("domain: maia.example.org", "domain: maia.example.net");
    assert_ne!(changed, text);
    std::fs::write(&cluster_file, changed).unwrap();
    let (code, stdout) = fleet_cached(&cluster_file, &forms, &folder, &cache);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("0 new, 3 changed, 0 unchanged"), "{stdout}");
    for group in ["Alpha", "Beta", "Gamma"] {
        let summary = std::fs::read_to_string(folder.join(group).join("summary.md")).unwrap();
        assert!(summary.contains("maia.example.net"), "{group}: {summary}");
    }
}

/// Under umask 077 a fleet's first render still gives every file and folder maia's
/// mode (what holds no secret stays readable, scripts executable): where the umask
/// takes bits off, the mode is set again.
#[test]
fn a_first_render_under_a_narrow_umask_gives_maias_modes() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let forms = tmp.path().join("forms");
    form(&forms, "a.yaml", "Alpha", &["a1@example.org"]);
    let folder = tmp.path().join("out");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 077; exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("maia"))
        .args(["fleet", "render", "--forms"])
        .arg(&forms)
        .arg("--cluster-config-file")
        .arg(cluster())
        .arg("--config-folder")
        .arg(&folder)
        .env("XDG_CACHE_HOME", tmp.path().join("cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |p: &str| {
        std::fs::metadata(folder.join("Alpha").join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("summary.md"), 0o644);
    assert_eq!(mode("deploy.sh"), 0o755);
    assert_eq!(mode("credentials.yaml"), 0o600);
    assert_eq!(mode("manifests"), 0o700);
}
