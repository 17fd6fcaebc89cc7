//! `maia namespace render`: a group's whole workspace as a bundle a reviewer can read
//! and a machine can apply, written under `<config folder>/<group_ID>/`.
//!
//! The bundle is a pure function of the three config files and `credentials.yaml`
//! (the secrets and SSH ports of earlier runs), so running again rewrites the same bytes.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use maia_render::workspace::{Bundle, EnvFile, SecretSource};
use maia_spec::workspace::{LoadedWorkspace, WorkspaceSpec};

use crate::cli::{NamespaceRenderArgs, WorkspaceFileArgs};
use crate::error::{CliError, Result};
use crate::report;

/// New secrets come from the operating system's randomness.
#[derive(Debug, Default)]
pub(crate) struct OsRandom;

impl SecretSource for OsRandom {
    fn draw(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(len);
        let mut buf = [0u8; 64];
        while out.len() < len {
            // reason: `SecretSource::draw` (maia-render's trait) cannot return an error,
            // and without the OS's randomness no safe secret can be made: there is
            // nothing to fall back to, and stopping before any secret is kept or used
            // is the only safe answer. getrandom fails only on a broken system.
            #[allow(clippy::expect_used)]
            getrandom::fill(&mut buf).expect("the operating system's random source is readable");
            // 248 = 4 × 62: dropping bytes above it keeps every character equally likely.
            for b in buf.iter().filter(|b| **b < 248) {
                out.push(ALPHABET[usize::from(*b) % ALPHABET.len()] as char);
                if out.len() == len {
                    break;
                }
            }
        }
        out
    }
}

use maia_deploy::workspace::deploy::RenderFacts;
pub use maia_deploy::workspace::folder::ConfigFolder;
use maia_deploy::workspace::folder::{
    self, CredentialsFile, FolderCredentials, FolderPorts, PortsLedger, WriteReport,
};

use maia_render::workspace::SshPorts;
use maia_render::workspace::text::BundleFile;
pub(crate) use maia_render::workspace::text::hub_url;

/// A rendered workspace and where it is written.
#[derive(Debug)]
pub struct Rendered {
    pub(crate) spec: WorkspaceSpec,
    /// The workspace as rendered.
    pub bundle: Bundle,
    pub(crate) dir: PathBuf,
    /// Every file of the bundle, in the order they are written.
    pub files: Vec<BundleFile>,
    /// The ports ledger, to be written with the bundle: it lacks this group's ports as
    /// rendered (or is missing).
    pub(crate) ledger: Option<LedgerWrite>,
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
}

/// Reads and checks the three config files of a workspace; warnings are printed on
/// stderr.
pub(crate) fn load(
    files: &WorkspaceFileArgs,
    minimal: bool,
    options: maia_spec::LoadOptions,
) -> Result<LoadedWorkspace> {
    let loaded = maia_spec::workspace::load(
        maia_spec::workspace::load::WorkspaceFiles {
            group: &files.namespace_config_file,
            cluster: &files.cluster_config_file,
            maia: files.maia_config_file.as_deref(),
        },
        minimal,
        options,
    )?;
    report::diagnostics(&loaded.warnings);
    Ok(loaded)
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
pub fn render(
    spec: WorkspaceSpec,
    folder: &ConfigFolder,
    source: &mut dyn SecretSource,
    regenerate: &[String],
    env_file: Option<&EnvFile>,
) -> Result<Rendered> {
    render_from(spec, folder, source, regenerate, env_file, None)
}

/// [`render`] with the facts of the group's cluster (`--from-cluster`): its
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
    let mut rendered =
        render_allocated_from(allocated, folder, source, regenerate, env_file, facts)?;
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
        .map_err(|e| CliError::Usage {
            message: e.to_string(),
            hint: Some(
                "widen port_range in the cluster config (ports of the other groups under the config folder are taken)"
                    .into(),
            ),
        })?;
    for note in maia_deploy::workspace::deploy::outside_range_notes(&given, spec.cluster.port_range)
    {
        eprintln!("warning: {}: {note}", spec.group_id);
    }
    Ok(Allocated {
        spec,
        existing,
        ports: given,
        ledger_stale,
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
            .map_err(|e| CliError::Usage {
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
    })
}

/// A render refusal that is about the group form (its `quota` below what the
/// workspace requests) placed at the field in `form`, as validation places its errors.
pub(crate) fn in_form(error: CliError, form: &Path) -> CliError {
    match error {
        CliError::Render(maia_render::RenderError::QuotaTooSmall { short }) => {
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
) -> Result<Option<EnvFile>> {
    use maia_deploy::workspace::envfile::{Origin, resolve};
    Ok(
        resolve(spec, form, group_dir, refresh)?.map(|(file, origin)| {
            if origin == Origin::Fetched {
                eprintln!(
                    "fetched the environment file {:?} ({} bytes) from the central MinIO",
                    file.name,
                    file.text.len()
                );
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

/// Loads, renders and writes; prints what was written (never a secret).
pub fn render_and_write(args: &NamespaceRenderArgs) -> Result<Rendered> {
    let tree = crate::gitops::Tree::from_args(&args.gitops, &args.config_folder)?;
    let loaded = load(&args.files, args.minimal, args.strictness.into())?;
    if let Some(tree) = &tree {
        tree.check_group(&loaded.spec.group_id)?;
    }
    // Held until the bundle is written: concurrent renders into one folder take turns.
    let folder = ConfigFolder::lock(&args.config_folder)?;
    if let Some(tree) = &tree {
        // The lock taken, a half-written group folder there is a stopped run's.
        folder::remove_stale_temporaries(&tree.folder);
    }
    let env = env_file(
        &loaded.spec,
        &args.files.namespace_config_file,
        Some(&folder.group_dir(&loaded.spec.group_id)),
        args.refresh_env,
    )?;
    let facts = match args.source.cluster() {
        Some(cluster) => Some(cluster_facts(
            &cluster,
            &args.source,
            &loaded.spec,
            &folder,
            env.as_ref(),
        )?),
        None => None,
    };
    let rendered = render_from(
        loaded.spec,
        &folder,
        &mut OsRandom,
        &args.regenerate,
        env.as_ref(),
        facts.as_ref(),
    )
    .map_err(|e| in_form(e, &args.files.namespace_config_file))?;
    if facts.is_none() {
        eprintln!(
            "warning: rendered without a cluster: this bundle is for a NEW workspace. If group {} \
             is already deployed, its passwords, MinIO keys and SSH ports differ from these, and \
             applying the bundle would replace them; render with --from-cluster (or --kubeconfig / \
             --context) to take them from the cluster",
            rendered.spec.group_id
        );
    }
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
    let mut out = std::io::stdout().lock();
    for p in &report.written {
        let _ = writeln!(out, "wrote {}", p.display());
    }
    for p in &report.removed {
        let _ = writeln!(out, "removed {} (no longer rendered)", p.display());
    }
    if !report.unchanged.is_empty() {
        let _ = writeln!(
            out,
            "{} file(s) of {} already up to date",
            report.unchanged.len(),
            rendered.dir.display()
        );
    }
    Ok(rendered)
}

/// Reads the group's credentials and SSH ports from its cluster (nothing is written
/// there); credentials.yaml's credentials are overlaid with the cluster's.
pub(crate) fn cluster_facts(
    cluster: &crate::cli::ClusterArgs,
    source: &crate::cli::RenderSource,
    spec: &WorkspaceSpec,
    folder: &ConfigFolder,
    env: Option<&EnvFile>,
) -> Result<RenderFacts> {
    crate::deploy::install_crypto();
    let file = FolderCredentials::new(folder, spec)
        .read()?
        .map(|f| f.credentials);
    let connected = crate::deploy::connect(cluster)?;
    let facts = crate::deploy::block_on(maia_deploy::workspace::deploy::render_facts(
        &connected,
        spec,
        &source.state_namespace,
        file.as_ref(),
        env,
    ))?;
    if !facts.differing_credentials.is_empty() {
        eprintln!(
            "warning: {} differs from the cluster for {}; the cluster's values are used",
            FolderCredentials::new(folder, spec).path().display(),
            facts.differing_credentials.join(", ")
        );
    }
    if !facts.recovered_credentials.is_empty() {
        eprintln!(
            "warning: secret/{} in {} lacks {}; taken from the workspace's Secrets (deploy to keep them there again)",
            maia_deploy::workspace::facts::credentials_secret(spec.namespace.as_str()),
            source.state_namespace,
            facts.recovered_credentials.join(", ")
        );
    }
    Ok(facts)
}

/// `maia namespace render`.
pub(crate) fn run_render(args: &NamespaceRenderArgs) -> Result<()> {
    let rendered = render_and_write(args)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\nworkspace {} (namespace {}): hub {}\nreview it, then run {}",
        rendered.spec.group_id,
        rendered.spec.namespace,
        hub_url(&rendered.spec),
        rendered.dir.join("deploy.sh").display()
    );
    Ok(())
}

/// The commands that install one component of a written bundle, for the compatibility
/// entry points that print them (`MAIA_create_JupyterHub_config`, …): `helm` for its
/// chart releases, `kubectl apply` for its own objects. Paths are those written.
pub(crate) fn install_commands(rendered: &Rendered, component: &str) -> Option<Vec<String>> {
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

/// Arguments of `MAIA_create_JupyterHub_config` and `MAIA_create_MAIA_Addons_config`.
#[derive(Debug, clap::Args, Clone)]
pub(crate) struct CompatArgs {
    /// The group form
    #[arg(long, value_name = "FILE")]
    pub(crate) form: PathBuf,
    /// The cluster config
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_config_file: PathBuf,
    /// The MAIA config (images and chart versions); built-in defaults when left out
    #[arg(long, value_name = "FILE")]
    pub(crate) maia_config_file: Option<PathBuf>,
    /// Folder the bundle is written under (as DIR/<group_ID>/)
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) config_folder: PathBuf,
    /// Where the credentials and ports of a deployed workspace come from.
    #[command(flatten)]
    pub(crate) source: crate::cli::RenderSource,
    #[command(flatten)]
    pub(crate) strictness: crate::cli::Strictness,
}

/// Writes the bundle and prints the commands installing `component`.
pub(crate) fn run_compat(args: &CompatArgs, component: &str, what: &str) -> Result<()> {
    let rendered = render_and_write(&NamespaceRenderArgs {
        files: WorkspaceFileArgs {
            namespace_config_file: args.form.clone(),
            cluster_config_file: args.cluster_config_file.clone(),
            maia_config_file: args.maia_config_file.clone(),
        },
        config_folder: args.config_folder.clone(),
        minimal: false,
        regenerate: Vec::new(),
        refresh_env: false,
        gitops: Default::default(),
        source: args.source.clone(),
        strictness: args.strictness,
    })?;
    let Some(commands) = install_commands(&rendered, component).filter(|c| !c.is_empty()) else {
        return Err(CliError::Unsupported {
            message: format!("this build of maia renders no {what}"),
            hint: "the rest of the bundle is written; see its deploy.sh".into(),
        });
    };
    println!(
        "\nto install {what} of workspace {}, run:",
        rendered.spec.group_id
    );
    for c in commands {
        println!("  {c}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_draws_alphanumeric_secrets_of_the_asked_length() {
        let a = OsRandom.draw(32);
        let b = OsRandom.draw(32);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn install_commands_name_the_written_files_of_a_component() {
        use maia_render::workspace::credentials::CountingSource;
        let spec = WorkspaceSpec::test();
        let tmp = tempfile::tempdir().unwrap();
        let folder = ConfigFolder::lock(tmp.path()).unwrap();
        let rendered = render(spec, &folder, &mut CountingSource::default(), &[], None).unwrap();
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
