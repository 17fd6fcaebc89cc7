//! Checking a config file of any kind (`maia config validate`), and the JSON Schemas
//! of the configs.

use std::path::Path;

use maia_spec::{ConfigKind, Diagnostic, LoadOptions};

use crate::error::{Error, Result};

/// Checks a file (of `kind`, else the kind its content tells) and returns its kind
/// and warnings; an invalid file is an error whose diagnostics say where.
pub fn validate(
    file: &Path,
    kind: Option<ConfigKind>,
    options: LoadOptions,
) -> Result<(ConfigKind, Vec<Diagnostic>)> {
    // Said first: otherwise a missing file reads as one whose kind cannot be told.
    if let Err(e) = std::fs::metadata(file)
        && e.kind() == std::io::ErrorKind::NotFound
    {
        return Err(Error::Usage {
            message: format!("{} does not exist", file.display()),
            hint: Some("check the path (it is read relative to the current folder)".into()),
        });
    }
    let kind = match kind {
        Some(k) => k,
        None => ConfigKind::detect(file).ok_or_else(|| Error::Usage {
            message: format!("cannot tell what kind of config {} is", file.display()),
            hint: Some("name it with --kind".into()),
        })?,
    };
    let warnings = match kind {
        ConfigKind::App => {
            let app = maia_spec::app::load(file, options)?;
            app.read_mount_files()?;
            app.warnings
        }
        ConfigKind::Group | ConfigKind::Cluster | ConfigKind::Maia => {
            use maia_spec::workspace::cluster::Install;
            use maia_spec::workspace::load as ws;
            let text =
                std::fs::read_to_string(file).map_err(|source| maia_spec::SpecError::Read {
                    kind: kind.title(),
                    path: file.to_path_buf(),
                    source,
                })?;
            let name = file.to_string_lossy();
            let named = (name.as_ref(), text.as_str());
            match kind {
                ConfigKind::Group => ws::check_group_text(named, options)?,
                // On its own, a cluster config is checked for a full install.
                ConfigKind::Cluster => {
                    ws::check_cluster_text(named, Install::Full, None, options)?.1
                }
                _ => ws::check_maia_text(named, options)?.1,
            }
        }
    };
    Ok((kind, warnings))
}

/// A config's JSON Schema.
pub fn schema(kind: ConfigKind) -> serde_json::Value {
    kind.schema()
}

/// Reads and checks the cluster config alone (no group form), as the commands that
/// take only it need it (`maia serve`, `namespace kubeconfig`, `status` and `delete`
/// with Keycloak): the checked spec and the file's warnings.
pub fn cluster(file: &Path) -> Result<(maia_spec::workspace::ClusterSpec, Vec<Diagnostic>)> {
    let text = maia_spec::workspace::load::read_cluster_file(file)?;
    let name = file.to_string_lossy();
    Ok(maia_spec::workspace::load::check_cluster_text(
        (name.as_ref(), text.as_str()),
        maia_spec::workspace::cluster::Install::Minimal,
        None,
        LoadOptions::default(),
    )?)
}
