//! The bundle's text files, as pure functions of the rendered workspace: the
//! manifests and chart files, `deploy.sh`, `summary.md` and `summary.json`. One list
//! of install steps ([`install_steps`]) drives deploy.sh, the commands the
//! compatibility entry points print and the steps `maia namespace deploy --skip-helm`
//! leaves to the admin.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use maia_spec::workspace::{WorkspaceSpec, member_name};
use serde::Serialize;

use super::{Bundle, Component, HelmRelease, Kustomization};
use crate::error::RenderError;
use crate::object::Object;

/// The credentials file of a group folder.
pub const CREDENTIALS_FILE: &str = "credentials.yaml";

/// One file of the bundle, relative to the group folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Where it goes, relative to the group folder (`manifests/01-namespace.yaml`).
    pub path: PathBuf,
    /// Its content.
    pub text: String,
    /// Holds a secret: written mode 0600.
    pub secret: bool,
    /// A script (`deploy.sh`): written executable.
    pub executable: bool,
}

/// One step of installing a workspace by hand, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum InstallStep<'a> {
    /// `kubectl apply` of a component's own objects.
    Apply {
        /// The component's name.
        component: &'a str,
        /// `manifests/NN-<component>.yaml`
        manifest: String,
        /// The objects the manifest holds, in apply order.
        objects: &'a [Object],
        /// It holds a MinIO Tenant, which only the MinIO Operator's CRD makes known.
        needs_minio_operator: bool,
    },
    /// A third-party chart.
    Helm {
        /// The component's name.
        component: &'a str,
        /// The release to install or upgrade.
        release: &'a HelmRelease,
        /// `helm/<release>.values.yaml`
        values: String,
        /// `helm/<release>.chart.yaml`: where the chart comes from, for reviewers.
        chart_file: String,
        /// First release of its repository: `helm repo add` goes before it.
        add_repo: bool,
    },
    /// A remote kustomization (KubeFlow), then its wait.
    Kustomize {
        /// The component's name.
        component: &'a str,
        /// What is applied and waited for.
        kustomization: &'a Kustomization,
    },
}

/// Every install step of the bundle, in apply order.
pub fn install_steps(bundle: &Bundle) -> Vec<InstallStep<'_>> {
    let mut steps = Vec::new();
    let mut repos = BTreeSet::new();
    let mut manifest_index = 0;
    for component in &bundle.components {
        if !component.objects.is_empty() {
            manifest_index += 1;
            steps.push(InstallStep::Apply {
                component: component.name,
                manifest: manifest_name(manifest_index, component),
                objects: &component.objects,
                needs_minio_operator: component.objects.iter().any(|o| o.kind() == "Tenant"),
            });
        }
        for release in &component.helm {
            steps.push(InstallStep::Helm {
                component: component.name,
                release,
                values: values_file(release),
                chart_file: format!("helm/{}.chart.yaml", release.release),
                add_repo: repos.insert(release.repo_name.clone()),
            });
        }
        for kustomization in &component.kustomizations {
            steps.push(InstallStep::Kustomize {
                component: component.name,
                kustomization,
            });
        }
    }
    steps
}

impl InstallStep<'_> {
    /// The name of the component the step installs.
    pub fn component(&self) -> &str {
        match self {
            InstallStep::Apply { component, .. }
            | InstallStep::Helm { component, .. }
            | InstallStep::Kustomize { component, .. } => component,
        }
    }

    /// The shell commands of the step; bundle paths are prefixed with `dir` (`""` for
    /// deploy.sh, which runs in the group folder). `with_repo` adds `helm repo add` (and
    /// `helm repo update`) even when an earlier step added the repository.
    pub fn commands(&self, dir: &str, with_repo: bool) -> Vec<String> {
        let at = |p: &str| sh(&format!("{dir}{p}"));
        match self {
            InstallStep::Apply { manifest, .. } => vec![format!(
                "kubectl apply --server-side --field-manager=maia -f {}",
                at(manifest)
            )],
            InstallStep::Helm {
                release,
                values,
                add_repo,
                ..
            } => {
                let mut out = Vec::new();
                if *add_repo || with_repo {
                    out.push(format!(
                        "helm repo add --force-update {} {}",
                        sh(&release.repo_name),
                        sh(&release.repo_url)
                    ));
                }
                if with_repo {
                    out.push("helm repo update".into());
                }
                out.push(format!(
                    "helm upgrade --install {} {} -n {} --version {} --values {}",
                    sh(&release.release),
                    sh(&format!("{}/{}", release.repo_name, release.chart)),
                    sh(&release.namespace),
                    sh(&release.version),
                    at(values)
                ));
                out
            }
            InstallStep::Kustomize { kustomization, .. } => {
                let mut out = vec![format!(
                    "kubectl apply --server-side -k {}",
                    sh(&kustomization.url)
                )];
                if let Some(wait) = &kustomization.wait {
                    out.push(format!("kubectl wait {wait}"));
                }
                out
            }
        }
    }
}

fn manifest_name(index: usize, component: &Component) -> String {
    format!("manifests/{index:02}-{}.yaml", component.name)
}

fn values_file(release: &HelmRelease) -> String {
    format!("helm/{}.values.yaml", release.release)
}

/// Quotes a word for the shell when it needs it.
pub fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `deploy.sh`: every install step in order, after checking the tools it needs and,
/// before the MinIO Tenant, that the cluster has the MinIO Operator.
pub(crate) fn deploy_script(spec: &WorkspaceSpec, bundle: &Bundle) -> String {
    let steps = install_steps(bundle);
    let mut script = String::new();
    let _ = writeln!(
        script,
        "#!/usr/bin/env bash\n\
         # Deploys the MAIA workspace of group {group} (namespace {ns}), as rendered by\n\
         # `maia namespace render{minimal}`. Review the files next to this script, then run it\n\
         # with KUBECONFIG pointing at the cluster. Running it again is safe: kubectl applies\n\
         # server-side and helm upgrades releases in place. (`maia namespace deploy` does the\n\
         # same with a preflight, a plan and status.)\n\
         #\n\
         # No secret is written here: Secrets are in manifests/, chart values in helm/, and\n\
         # generated passwords in credentials.yaml, all readable by their owner only.\n\
         set -euo pipefail\n\
         cd \"$(dirname \"$0\")\"",
        group = spec.group_id,
        ns = spec.namespace,
        minimal = if spec.minimal { " --minimal" } else { "" },
    );
    // Fail before the first step rather than half-way when a tool is missing; kubectl
    // fetches a remote kustomization with git.
    let mut tools = vec!["kubectl"];
    if steps.iter().any(|s| matches!(s, InstallStep::Helm { .. })) {
        tools.push("helm");
    }
    if steps
        .iter()
        .any(|s| matches!(s, InstallStep::Kustomize { .. }))
    {
        tools.push("git");
    }
    let _ = writeln!(
        script,
        "for tool in {}; do\n  \
         command -v \"$tool\" >/dev/null || {{ echo \"deploy.sh needs $tool on the PATH\" >&2; exit 1; }}\n\
         done",
        tools.join(" ")
    );
    for (n, step) in steps.iter().enumerate() {
        let what = match step {
            InstallStep::Apply { objects, .. } => objects
                .iter()
                .map(|o| format!("{} {}", o.kind(), o.name()))
                .collect::<Vec<_>>()
                .join(", "),
            InstallStep::Helm { release, .. } => format!(
                "chart {}/{} {} from {} (release {})",
                release.repo_name,
                release.chart,
                release.version,
                release.repo_url,
                release.release
            ),
            InstallStep::Kustomize { kustomization, .. } => {
                format!("kustomization {}", kustomization.url)
            }
        };
        let _ = writeln!(script, "\n# {}. {}: {what}", n + 1, step.component());
        if let InstallStep::Apply {
            needs_minio_operator: true,
            ..
        } = step
        {
            let _ = writeln!(
                script,
                "kubectl get crd tenants.minio.min.io >/dev/null 2>&1 || {{\n  \
                 echo \"the MinIO Tenant needs the MinIO Operator: install it first (https://min.io/docs/minio/kubernetes/upstream/operations/installation.html)\" >&2; exit 1; }}"
            );
        }
        for command in step.commands("", false) {
            let _ = writeln!(script, "{command}");
        }
    }
    let _ = writeln!(
        script,
        "\necho \"workspace {} deployed; see summary.md\"",
        spec.group_id
    );
    script
}

/// The hub's URL (JupyterHub's own, base URL included).
pub fn hub_url(spec: &WorkspaceSpec) -> String {
    super::jupyterhub::url(spec)
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    group_id: &'a str,
    namespace: &'a str,
    keycloak_group: String,
    hub_url: String,
    minimal: bool,
    services: Vec<SummaryService<'a>>,
    users: Vec<SummaryUser>,
    deploy_script: &'static str,
    credentials_file: &'static str,
}

#[derive(Debug, Serialize)]
struct SummaryService<'a> {
    component: &'a str,
    name: &'a str,
    value: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    internal: bool,
}

#[derive(Debug, Serialize)]
struct SummaryUser {
    email: String,
    jupyterhub_user: String,
    ssh_port: Option<u16>,
    ssh_command: Option<String>,
}

fn summary<'a>(spec: &'a WorkspaceSpec, bundle: &'a Bundle) -> Summary<'a> {
    let services = bundle
        .components
        .iter()
        .flat_map(|c| {
            c.outputs.iter().map(|o| SummaryService {
                component: c.name,
                name: &o.label,
                value: &o.value,
                internal: o.internal,
            })
        })
        .collect();
    let users = spec
        .users
        .iter()
        .map(|u| {
            let port = bundle.ssh_ports.port(u);
            SummaryUser {
                email: u.clone(),
                jupyterhub_user: member_name(u),
                ssh_port: port,
                ssh_command: port
                    .map(|p| super::addons::ssh_command_for(&spec.cluster.ssh_hostname, p)),
            }
        })
        .collect();
    Summary {
        group_id: &spec.group_id,
        namespace: spec.namespace.as_str(),
        keycloak_group: spec.keycloak_group(),
        hub_url: hub_url(spec),
        minimal: spec.minimal,
        services,
        users,
        deploy_script: "deploy.sh",
        credentials_file: CREDENTIALS_FILE,
    }
}

/// The head of `summary.md` when the bundle was rendered without the cluster: its
/// credentials come from credentials.yaml or were drawn, so it is for a new workspace
/// (or the one deployed from this very folder), and may not match one deployed before.
pub fn offline_warning(spec: &WorkspaceSpec) -> String {
    format!(
        "> **Rendered without a cluster: this bundle is for a NEW workspace.** Its passwords, \
         MinIO keys and SSH ports come from credentials.yaml or were drawn for it. If group \
         {group} is already deployed, they differ from the workspace's, and applying this \
         bundle would replace them (MySQL keeps its old password: the group would be locked \
         out of its data). Render with `--from-cluster` (or `--kubeconfig` / `--context`) \
         to take them from the cluster, or deploy with `maia namespace deploy`.\n\n",
        group = spec.group_id
    )
}

/// `summary.md`: what people read (URLs and SSH commands; raw values stay in
/// summary.json).
pub(crate) fn summary_markdown(spec: &WorkspaceSpec, bundle: &Bundle) -> String {
    let summary = summary(spec, bundle);
    let mut md = String::new();
    let _ = writeln!(md, "# MAIA workspace {}\n", spec.group_id);
    let _ = writeln!(md, "- Namespace: `{}`", spec.namespace);
    let _ = writeln!(
        md,
        "- Members' Keycloak group: `{}`",
        summary.keycloak_group
    );
    let _ = writeln!(md, "- Hub: {}", summary.hub_url);
    if spec.minimal {
        let _ = writeln!(md, "- Minimal install: namespace, SSH and JupyterHub only");
    }
    let _ = writeln!(
        md,
        "\n## Services\n\n| Component | What | Where |\n|---|---|---|"
    );
    for s in summary.services.iter().filter(|s| !s.internal) {
        let _ = writeln!(md, "| {} | {} | {} |", s.component, s.name, s.value);
    }
    let _ = writeln!(
        md,
        "\n## Users\n\n| User | JupyterHub name | SSH |\n|---|---|---|"
    );
    for u in &summary.users {
        let ssh = u
            .ssh_command
            .as_deref()
            .map(|c| format!("`{c}`"))
            .unwrap_or_default();
        let _ = writeln!(md, "| {} | `{}` | {ssh} |", u.email, u.jupyterhub_user);
    }
    let _ = writeln!(
        md,
        "\n## Next steps\n\nReview `manifests/` and `helm/`, then run `./deploy.sh` (or `maia namespace deploy`).\n\
         Generated passwords and keys are in `credentials.yaml` (owner-readable only); they are\n\
         not repeated here."
    );
    md
}

/// `summary.json`: everything of the summary, raw outputs included, for scripts.
pub(crate) fn summary_json(spec: &WorkspaceSpec, bundle: &Bundle) -> Result<String, RenderError> {
    let mut json = serde_json::to_string_pretty(&summary(spec, bundle)).map_err(|source| {
        RenderError::Serialize {
            object: "summary.json".into(),
            source,
        }
    })?;
    json.push('\n');
    Ok(json)
}

/// The comment heading `credentials.yaml` (its YAML follows).
pub fn credentials_header(group_id: &str, namespace: &str) -> String {
    format!(
        "# Secrets and SSH ports of workspace {group_id} (namespace {namespace}), kept by maia.\n\
         # Keep this file private and next to the bundle: every run reuses it, so the\n\
         # running workspace and the next render agree. Deleting it draws new passwords.\n"
    )
}

/// Every file of the bundle, in the order they are written; `credentials` is the
/// YAML of credentials.yaml (kept by the caller's store), which gets
/// [`credentials_header`] in front.
pub fn bundle_files(
    spec: &WorkspaceSpec,
    bundle: &Bundle,
    credentials: String,
) -> Result<Vec<BundleFile>, RenderError> {
    let mut files = Vec::new();
    for step in install_steps(bundle) {
        match step {
            InstallStep::Apply {
                manifest, objects, ..
            } => files.push(BundleFile {
                path: manifest.into(),
                text: crate::to_yaml_stream(objects)?,
                secret: objects.iter().any(|o| o.kind() == "Secret"),
                executable: false,
            }),
            InstallStep::Helm {
                release,
                values,
                chart_file,
                ..
            } => {
                let chart = format!("{}/{}", release.repo_name, release.chart);
                let chart_meta = BTreeMap::from([
                    ("release", release.release.as_str()),
                    ("namespace", release.namespace.as_str()),
                    ("chart", chart.as_str()),
                    ("repository", release.repo_url.as_str()),
                    ("version", release.version.as_str()),
                    ("values", values.trim_start_matches("helm/")),
                ]);
                files.push(BundleFile {
                    path: values.clone().into(),
                    // Helm reads YAML 1.1: every string quoted, so `yes` stays a string.
                    text: crate::helm_yaml::to_string(&release.values),
                    // Values never hold a secret: the charts read theirs from Secrets.
                    secret: false,
                    executable: false,
                });
                files.push(BundleFile {
                    path: chart_file.into(),
                    text: yaml_serde::to_string(&chart_meta).map_err(|source| {
                        RenderError::Yaml {
                            object: format!("chart of {}", release.release),
                            source,
                        }
                    })?,
                    secret: false,
                    executable: false,
                });
            }
            InstallStep::Kustomize { .. } => {}
        }
    }
    if let Some(env) = &bundle.env_file {
        // Kept so re-renders are offline and byte-identical (`--refresh-env` fetches
        // again); private, since a requirements file may name a private index.
        files.push(BundleFile {
            path: env.bundle_path().into(),
            text: env.text.clone(),
            secret: true,
            executable: false,
        });
    }
    files.push(BundleFile {
        path: "deploy.sh".into(),
        text: deploy_script(spec, bundle),
        secret: false,
        executable: true,
    });
    files.push(BundleFile {
        path: CREDENTIALS_FILE.into(),
        text: format!(
            "{}{credentials}",
            credentials_header(&spec.group_id, spec.namespace.as_str())
        ),
        secret: true,
        executable: false,
    });
    files.push(BundleFile {
        path: "summary.md".into(),
        text: summary_markdown(spec, bundle),
        secret: false,
        executable: false,
    });
    files.push(BundleFile {
        path: "summary.json".into(),
        text: summary_json(spec, bundle)?,
        secret: false,
        executable: false,
    });
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::first_bundle as bundle;

    #[test]
    fn install_steps_follow_apply_order_and_add_each_repository_once() {
        let spec = WorkspaceSpec::test();
        let b = bundle(&spec);
        let steps = install_steps(&b);
        let order: Vec<String> = steps
            .iter()
            .map(|s| match s {
                InstallStep::Apply { manifest, .. } => manifest.clone(),
                InstallStep::Helm { release, .. } => format!("helm {}", release.release),
                InstallStep::Kustomize { .. } => "kustomize".into(),
            })
            .collect();
        assert_eq!(order[0], "manifests/01-namespace.yaml");
        // Quota, container defaults, policies and access before any pod starts.
        assert_eq!(order[1], "manifests/02-tenancy.yaml");
        // The proxy's credentials Secret before its chart.
        assert_eq!(order[2], "manifests/03-oauth2_proxy.yaml");
        assert_eq!(order[3], "helm oauth2-proxy");
        let hub = order
            .iter()
            .position(|s| s == "helm jupyterhub-brain-mri")
            .unwrap();
        let addons = order
            .iter()
            .position(|s| s.ends_with("-addons.yaml"))
            .unwrap();
        assert!(addons < hub, "{order:?}");
        let repos: Vec<bool> = steps
            .iter()
            .filter_map(|s| match s {
                InstallStep::Helm { add_repo, .. } => Some(*add_repo),
                _ => None,
            })
            .collect();
        assert_eq!(repos, [true, true, true]);
        let helm = steps
            .iter()
            .find(|s| matches!(s, InstallStep::Helm { .. }))
            .unwrap();
        assert_eq!(
            helm.commands("/out/Brain_MRI/", true),
            [
                "helm repo add --force-update oauth2-proxy https://oauth2-proxy.github.io/manifests",
                "helm repo update",
                "helm upgrade --install oauth2-proxy oauth2-proxy/oauth2-proxy -n brain-mri --version 7.7.1 --values /out/Brain_MRI/helm/oauth2-proxy.values.yaml",
            ]
        );
    }

    #[test]
    fn deploy_sh_checks_git_for_kubeflow_and_the_minio_operator_before_the_tenant() {
        let spec = WorkspaceSpec::test();
        let script = deploy_script(&spec, &bundle(&spec));
        assert!(
            script.contains("for tool in kubectl helm git; do"),
            "{script}"
        );
        let check = script.find("kubectl get crd tenants.minio.min.io").unwrap();
        let tenant = script.find("manifests/04-minio.yaml").unwrap();
        assert!(check < tenant);
        let mut minimal = spec.clone();
        minimal.minimal = true;
        let script = deploy_script(&minimal, &bundle(&minimal));
        assert!(!script.contains("git"), "{script}");
        assert!(!script.contains("tenants.minio.min.io"));
    }

    #[test]
    fn the_summary_shows_people_urls_and_keeps_raw_values_for_scripts() {
        let spec = WorkspaceSpec::test();
        let b = bundle(&spec);
        let md = summary_markdown(&spec, &b);
        for internal in [
            "oauth_url",
            "minio_console_service",
            "mysql_service",
            "mlflow_service",
        ] {
            assert!(!md.contains(internal), "{internal} in {md}");
        }
        assert!(md.contains("| minio | MinIO console | https://"), "{md}");
        let json: serde_json::Value =
            serde_json::from_str(&summary_json(&spec, &b).unwrap()).unwrap();
        let raw: Vec<&str> = json["services"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["internal"] == true)
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            raw,
            [
                "oauth_url",
                "minio_console_service",
                "mysql_service",
                "mlflow_service"
            ]
        );
    }

    #[test]
    fn step_commands_quote_the_folder_and_urls_and_kustomize_ends_with_its_wait() {
        let spec = WorkspaceSpec::test();
        let b = bundle(&spec);
        let steps = install_steps(&b);
        assert_eq!(
            steps[0].commands("/my dir/", false),
            [
                "kubectl apply --server-side --field-manager=maia -f '/my dir/manifests/01-namespace.yaml'"
            ]
        );
        // Only the MinIO step needs the operator; only it holds a Tenant.
        let operator: Vec<&str> = steps
            .iter()
            .filter_map(|s| match s {
                InstallStep::Apply {
                    component,
                    needs_minio_operator: true,
                    ..
                } => Some(*component),
                _ => None,
            })
            .collect();
        assert_eq!(operator, ["minio"]);
        // Without `with_repo`, a release whose repository was added before is one line.
        let helm = steps
            .iter()
            .find(|s| matches!(s, InstallStep::Helm { .. }))
            .unwrap();
        let InstallStep::Helm { chart_file, .. } = helm else {
            unreachable!()
        };
        assert_eq!(chart_file, "helm/oauth2-proxy.chart.yaml");
        assert_eq!(helm.commands("", false).len(), 2);
        let kustomize: Vec<Vec<String>> = steps
            .iter()
            .filter(|s| matches!(s, InstallStep::Kustomize { .. }))
            .map(|s| s.commands("/ignored/", false))
            .collect();
        assert_eq!(kustomize.len(), 2);
        // A remote URL is neither prefixed nor left unquoted (`?` is a glob).
        assert!(
            kustomize[0][0].starts_with("kubectl apply --server-side -k 'github.com/kubeflow/"),
            "{kustomize:?}"
        );
        assert!(kustomize[0][0].ends_with('\''), "{kustomize:?}");
        assert!(
            kustomize[0][1].starts_with("kubectl wait --for condition=established"),
            "{kustomize:?}"
        );
        assert_eq!(kustomize[1].len(), 1);
    }

    #[test]
    fn credentials_yaml_starts_with_its_header() {
        let spec = WorkspaceSpec::test();
        let files = bundle_files(&spec, &bundle(&spec), "credentials: {}\n".into()).unwrap();
        let credentials = files
            .iter()
            .find(|f| f.path == std::path::Path::new(CREDENTIALS_FILE))
            .unwrap();
        assert!(credentials.secret);
        assert_eq!(
            credentials.text,
            format!(
                "{}credentials: {{}}\n",
                credentials_header("Brain_MRI", "brain-mri")
            )
        );
        assert!(credentials.text.starts_with(
            "# Secrets and SSH ports of workspace Brain_MRI (namespace brain-mri), kept by maia.\n"
        ));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(sh("helm/x.values.yaml"), "helm/x.values.yaml");
        assert_eq!(
            sh("github.com/kubeflow/pipelines/manifests/kustomize/env/dev?ref=2.2.0"),
            "'github.com/kubeflow/pipelines/manifests/kustomize/env/dev?ref=2.2.0'"
        );
        assert_eq!(sh("it's"), "'it'\\''s'");
    }
}
