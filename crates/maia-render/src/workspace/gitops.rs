//! The hand-over to Argo CD: per group, a tree that can be committed (maia's objects
//! without their Secrets, the charts' values, which hold no secret) and an Argo CD
//! `Application` reading it; for the fleet, an `ApplicationSet` with a git directory
//! generator. The Secrets are applied by `maia namespace deploy --secrets-only`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use maia_spec::workspace::WorkspaceSpec;
use serde_json::{Value, json};

use super::text::{BundleFile, InstallStep, install_steps};
use super::{Bundle, HelmRelease};
use crate::error::RenderError;
use crate::object::{CustomObject, Object};

/// Where Argo CD runs; its Applications live there.
pub const ARGOCD_NAMESPACE: &str = "argocd";
/// The source name the chart sources take their values files from.
const VALUES_REF: &str = "values";

/// Where the GitOps tree is committed and how Argo CD syncs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitOps {
    /// The repository Argo CD reads (`--repo-url`).
    pub repo_url: String,
    /// The folder of the tree inside the repository (`--repo-path`), without a
    /// trailing `/`; empty for the repository's root.
    pub repo_path: String,
    /// The branch, tag or commit (`--target-revision`, default `HEAD`).
    pub target_revision: String,
    /// Sync on every change (`syncPolicy.automated`).
    pub automated: bool,
    /// Delete what left the tree (`automated.prune`).
    pub prune: bool,
    /// Put back what someone changed by hand (`automated.selfHeal`).
    pub self_heal: bool,
}

impl GitOps {
    /// A group folder's path in the repository.
    fn path(&self, group_dir: &str) -> String {
        if self.repo_path.is_empty() {
            group_dir.to_string()
        } else {
            format!("{}/{group_dir}", self.repo_path)
        }
    }

    fn sync_policy(&self) -> Value {
        let mut policy = json!({"syncOptions": ["ServerSideApply=true"]});
        if self.automated {
            policy["automated"] = json!({"prune": self.prune, "selfHeal": self.self_heal});
        }
        policy
    }
}

fn meta(name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(ARGOCD_NAMESPACE.to_string()),
        labels: Some(BTreeMap::from([(
            crate::labels::MANAGED_BY.to_string(),
            crate::labels::MANAGER.to_string(),
        )])),
        ..Default::default()
    }
}

/// The sources of one group: its manifests, the repository as the values' `ref`, and
/// each chart at its pinned version with its values file from the repository.
fn sources(git: &GitOps, group: &str, charts: &[(String, &HelmRelease)]) -> Vec<Value> {
    let mut sources = vec![
        json!({"repoURL": git.repo_url, "targetRevision": git.target_revision,
            "path": format!("{group}/manifests")}),
        json!({"repoURL": git.repo_url, "targetRevision": git.target_revision,
            "ref": VALUES_REF}),
    ];
    for (release, chart) in charts {
        sources.push(json!({
            "repoURL": chart.repo_url,
            "chart": chart.chart,
            "targetRevision": chart.version,
            "helm": {
                "releaseName": release,
                "valueFiles": [format!("${VALUES_REF}/{group}/helm/{release}.values.yaml")],
            },
        }));
    }
    sources
}

fn charts(bundle: &Bundle) -> Vec<(String, &HelmRelease)> {
    bundle
        .components
        .iter()
        .flat_map(|c| &c.helm)
        .map(|h| (h.release.clone(), h))
        .collect()
}

/// The name of a group's Application (the ApplicationSet names it the same).
pub fn application_name(spec: &WorkspaceSpec) -> String {
    format!("maia-{}", spec.namespace)
}

/// The Argo CD Application of one group's tree.
pub fn application(spec: &WorkspaceSpec, bundle: &Bundle, git: &GitOps) -> Object {
    let namespace = spec.namespace.to_string();
    let group = git.path(&spec.group_id);
    Object::Custom(CustomObject {
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        metadata: meta(application_name(spec)),
        body: json!({"spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "sources": sources(git, &group, &charts(bundle)),
            "syncPolicy": git.sync_policy(),
        }})
        .as_object()
        .cloned()
        .unwrap_or_default(),
    })
}

/// One ApplicationSet for the fleet: a git directory generator over the groups'
/// folders, each made into the Application [`application`] would make. The
/// namespace and the hub's release come from the folder's name (the `group_ID`,
/// lower-cased, `_` and `.` → `-`), so every group must be rendered with the same install
/// (full or `--minimal`) as `sample`.
pub fn application_set(sample: &Bundle, git: &GitOps) -> Object {
    // As maia-spec derives it: lower-case, `_` and `.` to `-`.
    let namespace = "{{ .path.basename | lower | replace \"_\" \"-\" | replace \".\" \"-\" }}";
    let group = git.path("{{ .path.basename }}");
    let charts: Vec<(String, &HelmRelease)> = charts(sample)
        .into_iter()
        .map(|(release, chart)| {
            // The hub's release is named after its namespace.
            let release = if chart.chart == "jupyterhub" {
                format!("jupyterhub-{namespace}")
            } else {
                release
            };
            (release, chart)
        })
        .collect();
    let mut exclude = git.path(".maia");
    exclude.push('*');
    Object::Custom(CustomObject {
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "ApplicationSet".into(),
        metadata: meta("maia-workspaces".into()),
        body: json!({"spec": {
            "goTemplate": true,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"git": {
                "repoURL": git.repo_url,
                "revision": git.target_revision,
                "directories": [
                    {"path": git.path("*")},
                    {"path": exclude, "exclude": true},
                ],
            }}],
            "template": {
                "metadata": {"name": format!("maia-{namespace}"),
                    "labels": {crate::labels::MANAGED_BY: crate::labels::MANAGER}},
                "spec": {
                    "project": "default",
                    "destination": {"server": "https://kubernetes.default.svc",
                        "namespace": namespace},
                    "sources": sources(git, &group, &charts),
                    "syncPolicy": git.sync_policy(),
                },
            },
        }})
        .as_object()
        .cloned()
        .unwrap_or_default(),
    })
}

/// A setup Job is made to run again when its inputs change, and its pod template
/// cannot change in place: `maia namespace deploy` replaces it, and Argo CD is told to.
fn replace_jobs(mut object: Object) -> Object {
    if object.kind() == "Job" {
        object
            .metadata_mut()
            .annotations
            .get_or_insert_default()
            .insert(
                "argocd.argoproj.io/sync-options".into(),
                "Replace=true".into(),
            );
    }
    object
}

/// The YAML documents of a stream [`crate::to_yaml_stream`] wrote, each with its
/// trailing newline: a `---` line starts the next (inside a document, block text is
/// indented, so no line of it is `---` alone).
fn documents(stream: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    for (at, _) in stream.match_indices("---\n") {
        if at > start && stream.as_bytes()[at - 1] == b'\n' {
            docs.push(&stream[start..at]);
            start = at + 4;
        }
    }
    docs.push(&stream[start..]);
    docs
}

/// The files of one group's GitOps tree, relative to its folder: each component's
/// manifest without its Secrets (the first one with the workspace record, naming the
/// Application, so `maia namespace status` can judge what Argo CD keeps), each
/// chart's values, and `application.yaml`. No file holds a secret. `bundle_files` are the bundle's own files, when already made: their
/// manifests' documents are reused rather than written again (the same bytes).
pub fn group_files(
    spec: &WorkspaceSpec,
    bundle: &Bundle,
    git: &GitOps,
    bundle_files: &[BundleFile],
) -> Result<Vec<BundleFile>, RenderError> {
    let mut files = Vec::new();
    // The record goes with the first manifest (the namespace's), as a deploy applies it.
    let mut record = Some(Object::from(super::record::gitops_record_config_map(
        spec, bundle,
    )?));
    for step in install_steps(bundle) {
        match step {
            InstallStep::Apply {
                manifest, objects, ..
            } => {
                let written = bundle_files
                    .iter()
                    .find(|f| f.path.as_os_str() == manifest.as_str())
                    .map(|f| documents(&f.text))
                    .filter(|docs| docs.len() == objects.len());
                let mut text = String::new();
                for (i, object) in objects.iter().enumerate() {
                    let doc = match (&written, object.kind()) {
                        (_, "Secret") => continue,
                        (Some(docs), kind) if kind != "Job" => docs[i].to_string(),
                        _ => crate::to_yaml(&replace_jobs(object.clone()))?,
                    };
                    if !text.is_empty() {
                        text.push_str("---\n");
                    }
                    text.push_str(&doc);
                }
                if let Some(record) = record.take() {
                    if !text.is_empty() {
                        text.push_str("---\n");
                    }
                    text.push_str(&crate::to_yaml(&record)?);
                }
                if !text.is_empty() {
                    files.push(BundleFile {
                        path: manifest.into(),
                        text,
                        secret: false,
                        executable: false,
                    });
                }
            }
            InstallStep::Helm {
                release, values, ..
            } => {
                let text = match bundle_files
                    .iter()
                    .find(|f| f.path.as_os_str() == values.as_str())
                {
                    Some(f) => f.text.clone(),
                    None => crate::helm_yaml::to_string(&release.values),
                };
                files.push(BundleFile {
                    path: values.into(),
                    text,
                    secret: false,
                    executable: false,
                })
            }
            // KubeFlow is cluster-wide and shared: installed once, not per group.
            InstallStep::Kustomize { .. } => {}
        }
    }
    files.push(BundleFile {
        path: "application.yaml".into(),
        text: crate::to_yaml_stream(&[application(spec, bundle, git)])?,
        secret: false,
        executable: false,
    });
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{first_bundle as bundle, variants};

    fn git() -> GitOps {
        GitOps {
            repo_url: "https://git.example.org/maia/fleet.git".into(),
            repo_path: "clusters/prod".into(),
            target_revision: "main".into(),
            automated: true,
            prune: true,
            self_heal: true,
        }
    }

    #[test]
    fn the_tree_holds_no_secret_and_no_secret_object() {
        for (name, spec) in variants() {
            let b = bundle(&spec);
            let files = group_files(&spec, &b, &git(), &[]).unwrap();
            let mut secrets: Vec<String> = b
                .credentials
                .0
                .iter()
                .filter(|(k, _)| !k.contains("port"))
                .map(|(_, v)| v.clone())
                .filter(|v| v.len() >= 8)
                .collect();
            if let Some(k) = &spec.cluster.keycloak {
                secrets.push(k.client_secret.clone());
            }
            if let Some(r) = &spec.cluster.registry {
                secrets.push(r.password.clone());
            }
            assert!(secrets.len() >= 2, "{name}");
            for f in &files {
                assert!(!f.text.contains("kind: Secret"), "{name}: {:?}", f.path);
                for s in &secrets {
                    assert!(
                        !f.text.contains(s.as_str()),
                        "{name}: {:?} holds a secret",
                        f.path
                    );
                }
            }
            assert!(files.iter().any(|f| f.path.ends_with("application.yaml")));
            // Argo CD keeps the members' guard too (cluster-scoped, with the tenancy).
            let tenancy = files
                .iter()
                .find(|f| f.path.ends_with("02-tenancy.yaml"))
                .unwrap_or_else(|| panic!("{name}: no tenancy manifest"));
            for kind in [
                "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding",
            ] {
                assert!(
                    tenancy.text.contains(&format!("kind: {kind}\n")),
                    "{name}: {kind}"
                );
            }
            // Argo CD replaces a changed setup Job, as maia does.
            let jobs: Vec<&BundleFile> = files
                .iter()
                .filter(|f| f.text.contains("kind: Job"))
                .collect();
            for f in jobs {
                assert!(
                    f.text
                        .contains("argocd.argoproj.io/sync-options: Replace=true"),
                    "{name}: {:?}",
                    f.path
                );
            }
        }
    }

    #[test]
    fn the_tree_made_from_the_bundle_files_is_the_tree_made_afresh() {
        for (name, spec) in variants() {
            let b = bundle(&spec);
            let bundle_files =
                crate::workspace::text::bundle_files(&spec, &b, "credentials".into()).unwrap();
            // Every manifest splits into its objects' documents: they are reused.
            for step in install_steps(&b) {
                if let InstallStep::Apply {
                    manifest, objects, ..
                } = step
                {
                    let f = bundle_files
                        .iter()
                        .find(|f| f.path.as_os_str() == manifest.as_str())
                        .unwrap();
                    assert_eq!(
                        documents(&f.text).len(),
                        objects.len(),
                        "{name}: {manifest}"
                    );
                }
            }
            let reused = group_files(&spec, &b, &git(), &bundle_files).unwrap();
            let afresh = group_files(&spec, &b, &git(), &[]).unwrap();
            assert_eq!(reused.len(), afresh.len(), "{name}");
            for (r, a) in reused.iter().zip(&afresh) {
                assert_eq!(r.path, a.path, "{name}");
                assert_eq!(r.text, a.text, "{name}: {:?}", r.path);
            }
        }
        assert_eq!(
            documents("a: 1\n---\nb: |\n  ---\n  x\n"),
            ["a: 1\n", "b: |\n  ---\n  x\n"]
        );
    }

    #[test]
    fn the_tree_carries_the_record_naming_its_application() {
        for (name, spec) in variants() {
            let b = bundle(&spec);
            let files = group_files(&spec, &b, &git(), &[]).unwrap();
            let first = files
                .iter()
                .find(|f| f.path.starts_with("manifests"))
                .unwrap();
            let doc = documents(&first.text)
                .into_iter()
                .find(|d| d.contains("name: maia-workspace-record"))
                .unwrap_or_else(|| panic!("{name}: no record in {:?}", first.path));
            let value: Value = yaml_serde::from_str(doc).unwrap();
            let record = crate::workspace::record::read_record(&value).unwrap();
            let app = record.argocd_application.unwrap();
            assert_eq!(
                (app.namespace.as_str(), app.name.as_str()),
                ("argocd", application_name(&spec).as_str()),
                "{name}"
            );
            assert_eq!(
                record.components,
                crate::workspace::record::record(&spec, &b).components
            );
        }
    }

    #[test]
    fn the_application_reads_the_manifests_and_each_chart_with_its_values() {
        let spec = WorkspaceSpec::test();
        let app = application(&spec, &bundle(&spec), &git())
            .to_json()
            .unwrap();
        assert_eq!(app["metadata"]["name"], "maia-brain-mri");
        assert_eq!(app["metadata"]["namespace"], "argocd");
        assert_eq!(app["spec"]["destination"]["namespace"], "brain-mri");
        let sources = app["spec"]["sources"].as_array().unwrap();
        assert_eq!(sources[0]["path"], "clusters/prod/Brain_MRI/manifests");
        assert_eq!(sources[1]["ref"], "values");
        let hub = sources.iter().find(|s| s["chart"] == "jupyterhub").unwrap();
        assert_eq!(hub["targetRevision"], spec.maia.jupyterhub_chart_version);
        assert_eq!(
            hub["helm"]["valueFiles"][0],
            "$values/clusters/prod/Brain_MRI/helm/jupyterhub-brain-mri.values.yaml"
        );
        assert_eq!(sources.len(), 2 + 3);
        assert_eq!(
            app["spec"]["syncPolicy"]["automated"],
            json!({"prune": true, "selfHeal": true})
        );
        let manual = GitOps {
            automated: false,
            ..git()
        };
        let app = application(&spec, &bundle(&spec), &manual)
            .to_json()
            .unwrap();
        assert!(app["spec"]["syncPolicy"].get("automated").is_none());
    }

    #[test]
    fn the_application_set_derives_each_group_from_its_folder() {
        let spec = WorkspaceSpec::test();
        let set = application_set(&bundle(&spec), &git()).to_json().unwrap();
        let gen_ = &set["spec"]["generators"][0]["git"];
        assert_eq!(gen_["directories"][0]["path"], "clusters/prod/*");
        assert_eq!(gen_["directories"][1]["exclude"], true);
        let template = &set["spec"]["template"];
        let sources = template["spec"]["sources"].as_array().unwrap();
        let hub = sources.iter().find(|s| s["chart"] == "jupyterhub").unwrap();
        assert!(
            hub["helm"]["releaseName"]
                .as_str()
                .unwrap()
                .starts_with("jupyterhub-{{ .path.basename | lower")
        );
    }
}
