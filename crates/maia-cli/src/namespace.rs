//! `maia namespace render`: a group's whole workspace as a bundle a reviewer can read
//! and a machine can apply, written under `<config folder>/<group_ID>/`.
//!
//! The bundle is a pure function of the three config files and `credentials.yaml`
//! (the secrets and SSH ports of earlier runs), so running again rewrites the same bytes.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use maia_render::workspace::{Bundle, SecretSource, ports};
use maia_spec::workspace::{LoadedWorkspace, WorkspaceSpec};

use crate::cli::{NamespaceRenderArgs, WorkspaceFileArgs};
use crate::error::{CliError, Result};
use crate::report;

/// New secrets come from the operating system's randomness.
#[derive(Debug, Default)]
pub struct OsRandom;

impl SecretSource for OsRandom {
    fn draw(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(len);
        let mut buf = [0u8; 64];
        while out.len() < len {
            // Without OS randomness no safe secret can be made; there is nothing to fall back to.
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

use maia_deploy::workspace::folder::{self, write_atomic};
pub use maia_deploy::workspace::folder::{
    CREDENTIALS_FILE, ConfigFolder, CredentialsFile, PortsLedger,
};

pub use maia_render::workspace::text::{BundleFile, hub_url};

/// A rendered workspace and where it is written.
#[derive(Debug)]
pub struct Rendered {
    pub spec: WorkspaceSpec,
    pub bundle: Bundle,
    pub dir: PathBuf,
    pub files: Vec<BundleFile>,
    /// Every group's SSH ports, this group's included, and where they are kept.
    pub ledger: PortsLedger,
    pub ledger_path: PathBuf,
    /// The ledger on disk lacks this group's ports as rendered (or is missing).
    pub ledger_stale: bool,
}

pub fn load(
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
pub fn group_dir(config_folder: &Path, spec: &WorkspaceSpec) -> PathBuf {
    config_folder.join(&spec.group_id)
}

/// Reads `credentials.yaml` of an earlier run (nothing if there is none); a file that
/// exists must be whole (see [`folder::read_credentials`]).
pub fn read_credentials(dir: &Path) -> Result<CredentialsFile> {
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
) -> Result<Rendered> {
    let dir = folder.group_dir(&spec.group_id);
    let existing = folder::read_credentials(&dir)?;
    let mut kept = existing.clone().unwrap_or_default();
    for key in regenerate {
        kept.credentials.0.remove(key);
    }
    let (mut ledger, ledger_from_file) = folder::read_ledger(folder);
    if let Some(other) = ledger.namespace_holder(&spec.group_id, spec.namespace.as_str()) {
        return Err(maia_deploy::DeployError::FolderConflict {
            message: format!(
                "group {} maps to namespace {}, which group {other} under {} already has",
                spec.group_id,
                spec.namespace,
                folder.path.display()
            ),
            hint:
                "group IDs that differ only in case, '_' or '.' share a namespace: rename one group"
                    .into(),
        }
        .into());
    }
    let in_use = ledger.in_use_by_others(&spec.group_id);
    let ports = ports::allocate(
        &spec.users,
        &kept.ssh_ports,
        &in_use,
        spec.cluster.port_range,
    )
    .map_err(|e| CliError::Usage {
        message: e.to_string(),
        hint: Some(
            "widen port_range in the cluster config (ports of the other groups under the config folder are taken)"
                .into(),
        ),
    })?;
    let previous = ledger.0.insert(spec.group_id.clone(), ports.clone());
    let ledger_stale = !ledger_from_file || previous.as_ref() != Some(&ports);
    let bundle = maia_render::workspace::render(&spec, &kept.credentials, source, &ports)?;
    // A credentials.yaml that exists but lacks a key the bundle needs was damaged or
    // hand-edited: drawing a new password silently would lock the workspace out.
    if let Some(existing) = &existing {
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
                path: dir.join(CREDENTIALS_FILE).display().to_string(),
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
    let files = bundle_files(&spec, &bundle)?;
    Ok(Rendered {
        spec,
        bundle,
        dir,
        files,
        ledger_path: folder.ledger_path(),
        ledger,
        ledger_stale,
    })
}

/// Every file of the bundle, in the order they are written.
pub fn bundle_files(spec: &WorkspaceSpec, bundle: &Bundle) -> Result<Vec<BundleFile>> {
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

fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    write_atomic(path, text, mode).map_err(|source| CliError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// What writing a bundle did.
#[derive(Debug, Default)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<PathBuf>,
    /// Files already holding exactly what was rendered (left untouched).
    pub unchanged: Vec<PathBuf>,
    /// Files of an earlier render that this one no longer produces.
    pub removed: Vec<PathBuf>,
}

/// Writes the bundle. A file that already holds the same bytes and mode is left as it
/// is, so a second run with the same inputs touches nothing. Files of an earlier render
/// under `manifests/` and `helm/` that this render no longer produces are removed
/// (those folders are maia's alone).
pub fn write(rendered: &Rendered) -> Result<WriteReport> {
    use std::os::unix::fs::PermissionsExt;
    let mut report = WriteReport::default();
    let mut bundle_paths = Vec::new();
    // Leaves a file that already holds `text` with `mode` alone; true when it wrote.
    let update = |path: &Path, text: &str, mode: u32| -> Result<bool> {
        let same = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o777 == mode)
            && std::fs::read(path).is_ok_and(|old| old == text.as_bytes());
        if !same {
            write_file(path, text, mode)?;
        }
        Ok(!same)
    };
    // credentials.yaml first: the Secrets written after it hold its values, so a run
    // stopped half-way never leaves manifests with passwords the file does not keep.
    let mut files: Vec<&BundleFile> = rendered.files.iter().collect();
    files.sort_by_key(|f| f.path != Path::new(CREDENTIALS_FILE));
    for f in files {
        let path = rendered.dir.join(&f.path);
        let mode = if f.secret {
            0o600
        } else if f.executable {
            0o755
        } else {
            0o644
        };
        if update(&path, &f.text, mode)? {
            report.written.push(path.clone());
        } else {
            report.unchanged.push(path.clone());
        }
        bundle_paths.push(path);
    }
    if rendered.ledger_stale {
        write_file(
            &rendered.ledger_path,
            &folder::ledger_text(&rendered.ledger),
            0o644,
        )?;
        report.written.push(rendered.ledger_path.clone());
    }
    for sub in ["manifests", "helm"] {
        let Ok(entries) = std::fs::read_dir(rendered.dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "yaml") && !bundle_paths.contains(&p) {
                std::fs::remove_file(&p).map_err(|source| CliError::Write {
                    path: p.clone(),
                    source,
                })?;
                report.removed.push(p);
            }
        }
    }
    report.removed.sort();
    Ok(report)
}

/// Loads, renders and writes; prints what was written (never a secret).
pub fn render_and_write(args: &NamespaceRenderArgs) -> Result<Rendered> {
    let loaded = load(&args.files, args.minimal, args.strictness.into())?;
    // Held until the bundle is written: concurrent renders into one folder take turns.
    let folder = ConfigFolder::lock(&args.config_folder)?;
    let rendered = render(loaded.spec, &folder, &mut OsRandom, &args.regenerate)?;
    let report = write(&rendered)?;
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

pub fn run_render(args: &NamespaceRenderArgs) -> Result<()> {
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
    write_file(&path, &text, 0o755)?;
    Ok(path)
}

/// Arguments of `MAIA_create_JupyterHub_config` and `MAIA_create_MAIA_Addons_config`.
#[derive(Debug, clap::Args, Clone)]
pub struct CompatArgs {
    /// The group form
    #[arg(long, value_name = "FILE")]
    pub form: PathBuf,
    /// The cluster config
    #[arg(long, value_name = "FILE")]
    pub cluster_config_file: PathBuf,
    /// The MAIA config (images and chart versions); built-in defaults when left out
    #[arg(long, value_name = "FILE")]
    pub maia_config_file: Option<PathBuf>,
    /// Folder the bundle is written under (as DIR/<group_ID>/)
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub config_folder: PathBuf,
    #[command(flatten)]
    pub strictness: crate::cli::Strictness,
}

/// Writes the bundle and prints the commands installing `component`.
pub fn run_compat(args: &CompatArgs, component: &str, what: &str) -> Result<()> {
    let rendered = render_and_write(&NamespaceRenderArgs {
        files: WorkspaceFileArgs {
            namespace_config_file: args.form.clone(),
            cluster_config_file: args.cluster_config_file.clone(),
            maia_config_file: args.maia_config_file.clone(),
        },
        config_folder: args.config_folder.clone(),
        minimal: false,
        regenerate: Vec::new(),
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
        let rendered = render(spec, &folder, &mut CountingSource::default(), &[]).unwrap();
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
                "kubectl apply --server-side --field-manager=maia -f {at}/Brain_MRI/manifests/03-mysql.yaml"
            )]
        );
        assert!(install_commands(&rendered, "no-such-component").is_none());
    }
}
