//! Rendering a group's workspace into a bundle a reviewer can read and a machine can
//! apply, written under `<config folder>/<group_ID>/` (`maia namespace render`).
//!
//! The bundle is a pure function of the three config files and `credentials.yaml`
//! (the secrets and SSH ports of earlier runs), so running again rewrites the same bytes.

use std::path::{Path, PathBuf};

use maia_deploy::Cluster;
use maia_render::workspace::{Bundle, EnvFile, SecretSource};
use maia_spec::workspace::{LoadedWorkspace, WorkspaceSpec};

use crate::error::{Error, Result};
use crate::event::{Event, Sink};
use crate::gitops::{GitOpsSettings, Tree};
use crate::random::OsRandom;

use maia_deploy::workspace::deploy::RenderFacts;
pub use maia_deploy::workspace::folder::ConfigFolder;
use maia_deploy::workspace::folder::{
    self, CredentialsFile, FolderCredentials, FolderPorts, PortsLedger, WriteReport,
};

use maia_render::workspace::SshPorts;
use maia_render::workspace::text::BundleFile;

/// A rendered workspace and where it is written.
#[derive(Debug)]
pub struct Rendered {
    /// The workspace's spec, as loaded.
    pub spec: WorkspaceSpec,
    /// The workspace as rendered.
    pub bundle: Bundle,
    /// The group's folder the bundle is written to.
    pub dir: PathBuf,
    /// Every file of the bundle, in the order they are written.
    pub files: Vec<BundleFile>,
    /// The ports ledger, to be written with the bundle: it lacks this group's ports as
    /// rendered (or is missing).
    pub(crate) ledger: Option<LedgerWrite>,
    /// What the render warns of (ports outside the range, a bundle for a new
    /// workspace); also sent as events by [`render`].
    pub warnings: Vec<String>,
    /// What was written, once it is.
    pub written: WriteReport,
    /// The credentials and ports were read from the cluster.
    pub from_cluster: bool,
}

/// Every group's SSH ports, and where they are kept.
#[derive(Debug)]
pub(crate) struct LedgerWrite {
    pub(crate) ledger: PortsLedger,
    pub(crate) path: PathBuf,
}

/// A group whose SSH ports are given: what rendering it needs besides the secrets.
#[derive(Debug)]
pub(crate) struct Allocated {
    pub(crate) spec: WorkspaceSpec,
    /// Its `credentials.yaml`, when it has one.
    pub(crate) existing: Option<CredentialsFile>,
    pub(crate) ports: SshPorts,
    /// The ledger file lacks these ports (or is missing).
    pub(crate) ledger_stale: bool,
    /// Ports given outside the cluster's port range, said as warnings.
    pub(crate) warnings: Vec<String>,
}

/// The three files a workspace is rendered from.
#[derive(Debug, Clone)]
pub struct Files {
    /// The group form (group_ID, users, resources_limits, …).
    pub group: PathBuf,
    /// The cluster config (domain, ingress, SSH, Keycloak, …).
    pub cluster: PathBuf,
    /// The MAIA config (images and chart versions); built-in defaults when `None`.
    pub maia: Option<PathBuf>,
}

/// Reads and checks the three config files of a workspace (`minimal`: only the
/// namespace, pull secret, shared volume, SSH Services and JupyterHub). Warnings are
/// in the result, for the front end to show.
pub fn load(
    files: &Files,
    minimal: bool,
    options: maia_spec::LoadOptions,
) -> Result<LoadedWorkspace> {
    Ok(maia_spec::workspace::load(
        maia_spec::workspace::load::WorkspaceFiles {
            group: &files.group,
            cluster: &files.cluster,
            maia: files.maia.as_deref(),
        },
        minimal,
        options,
    )?)
}

/// The group's folder under the config folder.
pub(crate) fn group_dir(config_folder: &Path, spec: &WorkspaceSpec) -> PathBuf {
    config_folder.join(&spec.group_id)
}

/// Reads `credentials.yaml` of an earlier run (nothing if there is none); a file that
/// exists must be whole (see [`folder::read_credentials`]).
pub(crate) fn read_credentials(dir: &Path) -> Result<CredentialsFile> {
    Ok(folder::read_credentials(dir)?.unwrap_or_default())
}

/// Renders a workspace with the credentials and ports of earlier runs, kept in the
/// locked config folder. `regenerate` names credentials to draw anew (a key missing
/// from an existing credentials.yaml must be named there).
pub fn render_spec(
    spec: WorkspaceSpec,
    folder: &ConfigFolder,
    source: &mut dyn SecretSource,
    regenerate: &[String],
    env_file: Option<&EnvFile>,
) -> Result<Rendered> {
    render_from(spec, folder, source, regenerate, env_file, None)
}

/// [`render_spec`] with the facts of the group's cluster (`--from-cluster`): its
/// credentials and its members' ports win over credentials.yaml's, and new ports avoid
/// every port the cluster's Services hold, so the bundle matches the deployed
/// workspace. Without them the bundle is for a new workspace, and its summary says so.
pub fn render_from(
    spec: WorkspaceSpec,
    folder: &ConfigFolder,
    source: &mut dyn SecretSource,
    regenerate: &[String],
    env_file: Option<&EnvFile>,
    facts: Option<&RenderFacts>,
) -> Result<Rendered> {
    let mut existing = FolderCredentials::new(folder, &spec).read()?;
    let mut ports = FolderPorts::read(folder);
    if let Some(facts) = facts {
        let file = existing.get_or_insert_default();
        file.credentials = facts.credentials.clone();
        file.ssh_ports.0.extend(facts.ports.kept.0.clone());
        ports.avoid(&facts.ports.in_use);
    }
    let allocated = allocate(spec, existing, &mut ports)?;
    let stale = allocated.ledger_stale;
    let warnings = allocated.warnings.clone();
    let mut rendered =
        render_allocated_from(allocated, folder, source, regenerate, env_file, facts)?;
    rendered.warnings.splice(0..0, warnings);
    rendered.ledger = stale.then(|| LedgerWrite {
        ledger: ports.into_ledger(),
        path: folder.ledger_path(),
    });
    Ok(rendered)
}

/// Gives the users of `spec` their SSH ports: those `existing` (its credentials.yaml)
/// lists are kept, new users get the lowest ports no group of `ports` has. Refuses a
/// namespace another group of the folder has. The ports are recorded in `ports`, so a
/// group allocated after this one avoids them.
pub(crate) fn allocate(
    spec: WorkspaceSpec,
    existing: Option<CredentialsFile>,
    ports: &mut FolderPorts<'_>,
) -> Result<Allocated> {
    allocate_live(spec, existing, ports, &SshPorts::default())
}

/// [`allocate`] for a group whose members hold `live` on the cluster (see
/// [`FolderPorts::allocate_live`]).
pub(crate) fn allocate_live(
    spec: WorkspaceSpec,
    existing: Option<CredentialsFile>,
    ports: &mut FolderPorts<'_>,
    live: &SshPorts,
) -> Result<Allocated> {
    ports.check_namespace(&spec)?;
    let kept = existing.as_ref().map(|f| &f.ssh_ports);
    let (given, ledger_stale) = ports
        .allocate_live(&spec, kept.unwrap_or(&SshPorts::default()), live)
        .map_err(|e| Error::Usage {
            message: e.to_string(),
            hint: Some(
                "widen port_range in the cluster config (ports of the other groups under the config folder are taken)"
                    .into(),
            ),
        })?;
    let warnings =
        maia_deploy::workspace::deploy::outside_range_notes(&given, spec.cluster.port_range)
            .into_iter()
            .map(|note| format!("{}: {note}", spec.group_id))
            .collect();
    Ok(Allocated {
        spec,
        existing,
        ports: given,
        ledger_stale,
        warnings,
    })
}

/// Renders a group whose ports are given, with the credentials of its
/// `credentials.yaml` (`regenerate`: see [`render`]) and, with `facts`, what its
/// cluster holds (see [`render_from`]); the ledger is the caller's.
pub(crate) fn render_allocated_from(
    allocated: Allocated,
    folder: &ConfigFolder,
    source: &mut dyn SecretSource,
    regenerate: &[String],
    env_file: Option<&EnvFile>,
    facts: Option<&RenderFacts>,
) -> Result<Rendered> {
    let Allocated {
        spec,
        existing,
        ports,
        ..
    } = allocated;
    let mut kept = existing.clone().unwrap_or_default().credentials;
    for key in regenerate {
        kept.0.remove(key);
    }
    let none = Default::default();
    let live = facts.map_or(&none, |f| &f.existing);
    let bundle =
        maia_render::workspace::render_facts(&spec, &kept, source, &ports, env_file, live)?;
    // A credentials.yaml that exists but lacks a key the bundle needs was damaged or
    // hand-edited: drawing a new password silently would lock the workspace out. With
    // the cluster's facts, the cluster was asked instead (a key it lacks is new).
    if let (Some(existing), None) = (&existing, facts) {
        let missing: Vec<&String> = bundle
            .credentials
            .0
            .keys()
            .filter(|k| !existing.credentials.0.contains_key(*k) && !regenerate.contains(k))
            .collect();
        if !missing.is_empty() {
            let flags: Vec<String> = missing
                .iter()
                .map(|k| format!("--regenerate {k}"))
                .collect();
            return Err(maia_deploy::DeployError::CredentialsDamaged {
                path: FolderCredentials::new(folder, &spec)
                    .path()
                    .display()
                    .to_string(),
                reason: format!(
                    "it lacks {}",
                    missing
                        .iter()
                        .map(|k| format!("{k:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
            .map_err(|e| Error::Usage {
                message: e.to_string(),
                hint: Some(format!(
                    "restore the file from a backup, or draw new values on purpose with {} (then deploy again, so the workspace gets them)",
                    flags.join(" ")
                )),
            });
        }
    }
    let mut files = bundle_files(&spec, &bundle)?;
    if facts.is_none() {
        // Without the cluster, nothing tells this bundle matches a deployed workspace.
        for file in &mut files {
            if file.path == std::path::Path::new("summary.md") {
                file.text = maia_render::workspace::text::offline_warning(&spec) + &file.text;
            }
        }
    }
    Ok(Rendered {
        dir: folder.group_dir(&spec.group_id),
        spec,
        bundle,
        files,
        ledger: None,
        warnings: Vec::new(),
        written: WriteReport::default(),
        from_cluster: facts.is_some(),
    })
}

/// A render refusal that is about the group form (its `quota` below what the
/// workspace requests) placed at the field in `form`, as validation places its errors.
pub(crate) fn in_form(error: Error, form: &Path) -> Error {
    match error {
        Error::Render(maia_render::RenderError::QuotaTooSmall { short }) => {
            maia_spec::workspace::load::group_form_errors(
                form,
                short
                    .into_iter()
                    .map(|s| {
                        (
                            vec!["quota".to_string(), s.field.to_string()],
                            s.message,
                            "raise it, or leave it out (maia then sets what the workspace needs)"
                                .to_string(),
                        )
                    })
                    .collect(),
            )
            .into()
        }
        other => other,
    }
}

/// The group's environment file (`minio_env_name`), from a local path, the bundle's
/// copy, or the central MinIO; says where it came from when it was fetched.
pub(crate) fn env_file(
    spec: &WorkspaceSpec,
    form: &Path,
    group_dir: Option<&Path>,
    refresh: bool,
    sink: &mut dyn Sink,
) -> Result<Option<EnvFile>> {
    use maia_deploy::workspace::envfile::{Origin, resolve};
    Ok(
        resolve(spec, form, group_dir, refresh)?.map(|(file, origin)| {
            if origin == Origin::Fetched {
                sink.emit(Event::Note {
                    message: format!(
                        "fetched the environment file {:?} ({} bytes) from the central MinIO",
                        file.name,
                        file.text.len()
                    ),
                });
            }
            file
        }),
    )
}

/// Every file of the bundle, in the order they are written.
pub(crate) fn bundle_files(spec: &WorkspaceSpec, bundle: &Bundle) -> Result<Vec<BundleFile>> {
    let credentials = folder::credentials_text(&CredentialsFile {
        credentials: bundle.credentials.clone(),
        ssh_ports: bundle.ssh_ports.clone(),
    })?;
    Ok(maia_render::workspace::text::bundle_files(
        spec,
        bundle,
        credentials,
    )?)
}

/// Writes the bundle into the group's folder (the config folder locked), after the
/// ports ledger when it lacks this group's ports: the ports are reserved before any
/// credentials.yaml holds them, so a run stopped half-way never hands them out twice.
pub(crate) fn write(rendered: &Rendered) -> Result<WriteReport> {
    if let Some(l) = &rendered.ledger {
        folder::write_ledger(&l.path, &l.ledger)?;
    }
    let mut report = write_group(rendered)?;
    if report.created
        && let Some(config_folder) = rendered.dir.parent()
    {
        folder::sync_dir(config_folder)?;
    }
    if let Some(l) = &rendered.ledger {
        report.written.push(l.path.clone());
    }
    Ok(report)
}

/// Writes the bundle alone (see [`folder::write_bundle`]); the caller syncs the config
/// folder when the group's folder was created.
pub(crate) fn write_group(rendered: &Rendered) -> Result<WriteReport> {
    Ok(folder::write_bundle(&rendered.dir, &rendered.files)?)
}

/// What `maia namespace render` is asked: the files, where the bundle goes, and the
/// choices a render takes.
#[derive(Debug, Clone)]
pub struct RenderInput {
    /// The workspace's config files.
    pub files: Files,
    /// The folder the bundle is written under (as `<folder>/<group_ID>/`).
    pub config_folder: PathBuf,
    /// Only the namespace, pull secret, shared volume, SSH Services and JupyterHub.
    pub minimal: bool,
    /// Credentials to draw anew (one missing from a damaged credentials.yaml).
    pub regenerate: Vec<String>,
    /// Fetch the environment file again instead of using the bundle's copy.
    pub refresh_env: bool,
    /// A GitOps tree for Argo CD as well.
    pub gitops: Option<GitOpsSettings>,
    /// How unknown fields of the files are taken.
    pub options: maia_spec::LoadOptions,
    /// Where maia keeps its state on the cluster (read with a cluster).
    pub state_namespace: String,
}

/// Loads, renders and writes a workspace's bundle. With `cluster`, its credentials and
/// SSH ports are read from the cluster (nothing is written there), so the bundle
/// matches the deployed workspace; without, the bundle is for a new workspace and a
/// warning says so. Every written file is reported as [`Event::Wrote`]; no secret is
/// ever in an event.
pub async fn render(
    input: &RenderInput,
    cluster: Option<&Cluster>,
    sink: &mut dyn Sink,
) -> Result<Rendered> {
    let tree = Tree::new(input.gitops.as_ref(), &input.config_folder)?;
    let loaded = load(&input.files, input.minimal, input.options)?;
    if !loaded.warnings.is_empty() {
        sink.emit(Event::Diagnostics(loaded.warnings.clone()));
    }
    if let Some(tree) = &tree {
        tree.check_group(&loaded.spec.group_id)?;
    }
    // Held until the bundle is written: concurrent renders into one folder take turns.
    let folder = ConfigFolder::lock(&input.config_folder)?;
    if let Some(tree) = &tree {
        // The lock taken, a half-written group folder there is a stopped run's.
        folder::remove_stale_temporaries(&tree.folder);
    }
    let env = env_file(
        &loaded.spec,
        &input.files.group,
        Some(&folder.group_dir(&loaded.spec.group_id)),
        input.refresh_env,
        sink,
    )?;
    let facts = match cluster {
        Some(cluster) => Some(
            cluster_facts(
                cluster,
                &input.state_namespace,
                &loaded.spec,
                &folder,
                env.as_ref(),
                sink,
            )
            .await?,
        ),
        None => None,
    };
    let mut rendered = render_from(
        loaded.spec,
        &folder,
        &mut OsRandom,
        &input.regenerate,
        env.as_ref(),
        facts.as_ref(),
    )
    .map_err(|e| in_form(e, &input.files.group))?;
    if facts.is_none() {
        rendered.warnings.push(format!(
            "rendered without a cluster: this bundle is for a NEW workspace. If group {} \
             is already deployed, its passwords, MinIO keys and SSH ports differ from these, and \
             applying the bundle would replace them; render with --from-cluster (or --kubeconfig / \
             --context) to take them from the cluster",
            rendered.spec.group_id
        ));
    }
    warn_all(sink, rendered.warnings.iter().cloned());
    let mut report = write(&rendered)?;
    if let Some(tree) = &tree {
        let written = tree.write_group(&rendered.spec, &rendered.bundle, &rendered.files)?;
        if written.created {
            folder::sync_dir(&tree.folder)?;
        }
        report.written.extend(written.written);
        report.removed.extend(written.removed);
        report.unchanged.extend(written.unchanged);
    }
    for path in &report.written {
        sink.emit(Event::Wrote { path: path.clone() });
    }
    rendered.written = report;
    Ok(rendered)
}

fn warn_all(sink: &mut dyn Sink, messages: impl Iterator<Item = String>) {
    for message in messages {
        sink.emit(Event::Warning { message });
    }
}

/// Reads the group's credentials and SSH ports from its cluster (nothing is written
/// there); credentials.yaml's credentials are overlaid with the cluster's.
pub(crate) async fn cluster_facts(
    cluster: &Cluster,
    state_namespace: &str,
    spec: &WorkspaceSpec,
    folder: &ConfigFolder,
    env: Option<&EnvFile>,
    sink: &mut dyn Sink,
) -> Result<RenderFacts> {
    let file = FolderCredentials::new(folder, spec)
        .read()?
        .map(|f| f.credentials);
    let facts = maia_deploy::workspace::deploy::render_facts(
        cluster,
        spec,
        state_namespace,
        file.as_ref(),
        env,
    )
    .await?;
    if !facts.differing_credentials.is_empty() {
        sink.emit(Event::Warning {
            message: format!(
                "{} differs from the cluster for {}; the cluster's values are used",
                FolderCredentials::new(folder, spec).path().display(),
                facts.differing_credentials.join(", ")
            ),
        });
    }
    if !facts.recovered_credentials.is_empty() {
        sink.emit(Event::Warning {
            message: format!(
                "secret/{} in {} lacks {}; taken from the workspace's Secrets (deploy to keep them there again)",
                maia_deploy::workspace::facts::credentials_secret(spec.namespace.as_str()),
                state_namespace,
                facts.recovered_credentials.join(", ")
            ),
        });
    }
    Ok(facts)
}

/// The commands that install one component of a written bundle, for the compatibility
/// entry points that print them (`MAIA_create_JupyterHub_config`, …): `helm` for its
/// chart releases, `kubectl apply` for its own objects. Paths are those written.
pub fn install_commands(rendered: &Rendered, component: &str) -> Option<Vec<String>> {
    if !rendered
        .bundle
        .components
        .iter()
        .any(|c| c.name == component)
    {
        return None;
    }
    let dir = format!("{}/", rendered.dir.display());
    Some(
        maia_render::workspace::text::install_steps(&rendered.bundle)
            .iter()
            .filter(|s| s.component() == component)
            .flat_map(|s| s.commands(&dir, true))
            .collect(),
    )
}

/// `<config folder>/<group_ID>_namespace.sh`: the original's script name, running the
/// bundle's `deploy.sh`.
pub fn write_namespace_script(rendered: &Rendered, config_folder: &Path) -> Result<PathBuf> {
    let path = config_folder.join(format!("{}_namespace.sh", rendered.spec.group_id));
    let text = format!(
        "#!/usr/bin/env bash\n\
         # Deploys the MAIA namespace of group {group}: runs the reviewed bundle in {group}/.\n\
         set -euo pipefail\n\
         exec \"$(dirname \"$0\")\"/{dir}/deploy.sh \"$@\"\n",
        group = rendered.spec.group_id,
        dir = maia_render::workspace::text::sh(&rendered.spec.group_id),
    );
    folder::write_file(&path, &text, 0o755)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_commands_name_the_written_files_of_a_component() {
        use maia_render::workspace::credentials::CountingSource;
        let spec = WorkspaceSpec::test();
        let tmp = tempfile::tempdir().unwrap();
        let folder = ConfigFolder::lock(tmp.path()).unwrap();
        let rendered =
            render_spec(spec, &folder, &mut CountingSource::default(), &[], None).unwrap();
        let at = tmp.path().display();
        let helm = install_commands(&rendered, "oauth2_proxy").unwrap();
        assert_eq!(
            helm.last().unwrap(),
            &format!(
                "helm upgrade --install oauth2-proxy oauth2-proxy/oauth2-proxy -n brain-mri \
                 --version 7.7.1 --values {at}/Brain_MRI/helm/oauth2-proxy.values.yaml"
            )
        );
        let kubectl = install_commands(&rendered, "mysql").unwrap();
        assert_eq!(
            kubectl,
            [format!(
                "kubectl apply --server-side --field-manager=maia -f {at}/Brain_MRI/manifests/05-mysql.yaml"
            )]
        );
        assert!(install_commands(&rendered, "no-such-component").is_none());
    }
}
