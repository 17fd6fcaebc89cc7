//! Which of the cluster config's secrets reach a group's namespace (issue 16, item 9).
//! Members can read every Secret there (docs/security.md), so a value shared by all
//! groups may sit there only where docs/security.md lists it, and each Secret holding
//! one is marked so every copy can be found.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine as _;
use serde_json::Value;

// Shared with the tests that compare bundles, which use the rest of it.
#[allow(dead_code)]
mod files;
use files::walk;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The cluster config's cluster-wide secrets: (field, the key `credentials.yaml` and
/// the mark name it by, if it may reach a namespace at all, a value unique to this
/// test).
const CLUSTER_SECRETS: [(&str, Option<&str>, &str); 4] = [
    (
        "docker_password",
        Some("registry.password"),
        "Registry-Pw-0d5c9e1f7a",
    ),
    (
        "keycloak.client_secret",
        Some("keycloak.client_secret"),
        "Keycloak-Cs-8b3e6f2a91",
    ),
    ("minio_access_key", None, "Central-Ak-4c7d1e9b05"),
    ("minio_secret_key", None, "Central-Sk-6a2f8c3d17"),
];

/// The annotation naming the cluster-wide values a Secret holds.
const MARK: &str = "maia.cloud/cluster-wide-secrets";

/// `example` with every cluster-wide secret set to the test's values.
fn cluster_config(dir: &Path, example: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/workspace").join(example))
        .unwrap()
        .replace("change-me-registry-password", CLUSTER_SECRETS[0].2)
        .replace("change-me-keycloak-client-secret", CLUSTER_SECRETS[1].2)
        + &format!(
            "minio_url: http://127.0.0.1:9\nminio_access_key: {}\nminio_secret_key: {}\nbucket_name: envs\n",
            CLUSTER_SECRETS[2].2, CLUSTER_SECRETS[3].2
        );
    for (_, _, value) in CLUSTER_SECRETS {
        assert!(text.contains(value), "{example} sets {value}");
    }
    let path = dir.join(example);
    std::fs::write(&path, text).unwrap();
    path
}

/// Whether `text` holds `secret`, as it is or base64-encoded inside (a Secret's data,
/// a docker config's `auth`), down to `depth` encodings.
fn holds(text: &str, secret: &str, depth: u32) -> bool {
    if text.contains(secret) {
        return true;
    }
    depth > 0
        && text
            .split(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
            .filter(|t| t.len() >= 12)
            .filter_map(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
            .any(|b| holds(&String::from_utf8_lossy(&b), secret, depth - 1))
}

/// The allowed places of docs/security.md's table: (Secret, key, value), with
/// `<namespace>` and `<imagePullSecrets>` filled in.
fn documented(namespace: &str, pull_secret: &str) -> BTreeSet<(String, String, String)> {
    let doc = std::fs::read_to_string(root().join("docs/security.md")).unwrap();
    let cell = |c: &str| {
        c.split('`')
            .nth(1)
            .unwrap_or_default()
            .replace("<namespace>", namespace)
            .replace("<imagePullSecrets>", pull_secret)
    };
    let rows: BTreeSet<_> = doc
        .lines()
        .skip_while(|l| !l.starts_with("| Secret | key | cluster-wide value"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').collect();
            (cell(cells[1]), cell(cells[2]), cell(cells[3]))
        })
        .collect();
    assert!(
        rows.len() >= 2,
        "docs/security.md lists the places: {rows:?}"
    );
    rows
}

/// Every YAML document of `text`, as JSON.
fn documents(text: &str) -> Vec<Value> {
    use serde::Deserialize as _;
    yaml_serde::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// Where a render put the cluster-wide values.
struct Places {
    /// (Secret, key, credentials key) for a Secret's entry, else (file or object, "",
    /// field).
    found: BTreeSet<(String, String, String)>,
    /// Each Secret's mark.
    marks: BTreeMap<String, String>,
    /// The config folder rendered into (removed by the caller).
    dir: PathBuf,
}

/// Renders the example group with `cluster` and says where each cluster-wide value
/// landed.
fn places(cluster: &Path, extra: &[&str]) -> Places {
    let tmp = tempfile::tempdir().unwrap().keep();
    let out = Command::cargo_bin("maia")
        .unwrap()
        .args(["namespace", "render", "--namespace-config-file"])
        .arg(root().join("examples/workspace/group.yaml"))
        .arg("--cluster-config-file")
        .arg(cluster)
        .arg("--maia-config-file")
        .arg(root().join("examples/workspace/maia.yaml"))
        .arg("--config-folder")
        .arg(&tmp)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.join("Brain_MRI");
    let mut found = BTreeSet::new();
    let mut marks = BTreeMap::new();
    for file in walk(&dir) {
        let rel = file.strip_prefix(&dir).unwrap().display().to_string();
        // The admin's own copy, never applied.
        if rel == "credentials.yaml" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let objects = if rel.starts_with("manifests/") {
            documents(&text)
        } else {
            Vec::new()
        };
        if objects.is_empty() {
            for (field, _, value) in CLUSTER_SECRETS {
                if holds(&text, value, 2) {
                    found.insert((rel.clone(), String::new(), field.to_string()));
                }
            }
            continue;
        }
        for o in objects {
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if o["kind"] == "Secret" {
                if let Some(mark) = o["metadata"]["annotations"][MARK].as_str() {
                    marks.insert(name.clone(), mark.to_string());
                }
                let data = o["data"].as_object().cloned().unwrap_or_default();
                for (key, encoded) in data {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(encoded.as_str().unwrap())
                        .unwrap();
                    let plain = String::from_utf8_lossy(&bytes);
                    for (field, cred_key, value) in CLUSTER_SECRETS {
                        if holds(&plain, value, 2) {
                            let what = cred_key.unwrap_or(field).to_string();
                            found.insert((name.clone(), key.clone(), what));
                        }
                    }
                }
                continue;
            }
            let text = o.to_string();
            for (field, _, value) in CLUSTER_SECRETS {
                if holds(&text, value, 2) {
                    let at = format!("{} {}/{name}", rel, o["kind"].as_str().unwrap());
                    found.insert((at, String::new(), field.to_string()));
                }
            }
        }
    }
    Places {
        found,
        marks,
        dir: tmp,
    }
}

/// A cluster-wide value is in a group's namespace only where docs/security.md says,
/// and each Secret holding one names it in its mark; nowhere else in the bundle
/// (another object, a values file Helm stores in the namespace, the deploy script).
/// Both example clusters, the full and the minimal install.
#[test]
fn cluster_wide_secrets_reach_a_namespace_only_where_documented_and_marked() {
    let configs = tempfile::tempdir().unwrap();
    for (example, extra) in [
        ("cluster-nginx.yaml", &[][..]),
        ("cluster-traefik.yaml", &[][..]),
        ("cluster-nginx.yaml", &["--minimal"][..]),
    ] {
        let cluster = cluster_config(configs.path(), example);
        let Places { found, marks, dir } = places(&cluster, extra);
        let allowed = documented("brain-mri", "maia-docker-registry-secret");
        let leaks: Vec<_> = found.difference(&allowed).collect();
        assert!(
            leaks.is_empty(),
            "{example} {extra:?}: cluster-wide values where docs/security.md does not list them: {leaks:?}"
        );
        // The registry and the Keycloak client are used by every install.
        for key in ["registry.password", "keycloak.client_secret"] {
            assert!(
                found.iter().any(|(_, _, k)| k == key),
                "{example} {extra:?}: {key} found (the test sees what it looks for): {found:?}"
            );
        }
        // Each Secret holding a cluster-wide value says which; no other is marked.
        let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (secret, _, key) in &found {
            wanted
                .entry(secret.clone())
                .or_default()
                .insert(key.clone());
        }
        let marked: BTreeMap<String, BTreeSet<String>> = marks
            .iter()
            .map(|(s, m)| (s.clone(), m.split(',').map(str::to_string).collect()))
            .collect();
        assert_eq!(marked, wanted, "{example} {extra:?}: the marks");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Whether RBAC `rules` allow `verb` on `resource` of API group `group` (wildcards
/// count; resourceNames are ignored, as if the rule held for every name).
fn allows(rules: &[Value], group: &str, resource: &str, verb: &str) -> bool {
    let has = |list: &Value, wanted: &str| {
        list.as_array()
            .into_iter()
            .flatten()
            .any(|v| v == "*" || v == wanted)
    };
    rules.iter().any(|r| {
        has(&r["apiGroups"], group) && has(&r["resources"], resource) && has(&r["verbs"], verb)
    })
}

/// The members' Role, as rendered into the bundle, lets them read no Secret through
/// the API, mint no ServiceAccount token, impersonate no one and change no RBAC,
/// quota, limit or network policy (wildcards included); they may still create Secrets
/// of their own (a pull secret for their registry).
#[test]
fn members_cannot_read_secrets_or_take_another_identity_through_the_api() {
    let configs = tempfile::tempdir().unwrap();
    let cluster = cluster_config(configs.path(), "cluster-nginx.yaml");
    let tmp = places(&cluster, &[]).dir;
    let text = std::fs::read_to_string(tmp.join("Brain_MRI/manifests/02-tenancy.yaml")).unwrap();
    let role = documents(&text)
        .into_iter()
        .find(|o| o["kind"] == "Role" && o["metadata"]["name"] == "maia-member")
        .expect("the members' Role");
    let rules = role["rules"].as_array().unwrap().clone();
    let read = ["get", "list", "watch"];
    let write = ["create", "update", "patch", "delete", "deletecollection"];
    for verb in read {
        assert!(!allows(&rules, "", "secrets", verb), "secrets {verb}");
    }
    assert!(allows(&rules, "", "secrets", "create"));
    let mut refused: Vec<(&str, &str, &str)> = Vec::new();
    for verb in read.iter().chain(&write) {
        refused.push(("", "serviceaccounts", verb));
        refused.push(("", "resourcequotas", verb));
        refused.push(("", "limitranges", verb));
        refused.push(("", "namespaces", verb));
        refused.push(("networking.k8s.io", "networkpolicies", verb));
        for rbac in [
            "roles",
            "rolebindings",
            "clusterroles",
            "clusterrolebindings",
        ] {
            refused.push(("rbac.authorization.k8s.io", rbac, verb));
        }
    }
    refused.push(("", "serviceaccounts/token", "create"));
    for who in ["users", "groups", "serviceaccounts", "uids"] {
        refused.push(("", who, "impersonate"));
        refused.push(("authentication.k8s.io", who, "impersonate"));
    }
    for verb in ["escalate", "bind"] {
        refused.push(("rbac.authorization.k8s.io", "roles", verb));
        refused.push(("rbac.authorization.k8s.io", "clusterroles", verb));
    }
    for (group, resource, verb) in refused {
        assert!(
            !allows(&rules, group, resource, verb),
            "members may {verb} {resource} ({group:?}): {rules:#?}"
        );
    }
    std::fs::remove_dir_all(tmp).unwrap();
}
