//! `maia config …`

use std::path::Path;

use maia_spec::{ConfigKind, LoadOptions};

use crate::cli::Kind;
use crate::error::{CliError, Result};
use crate::report;

/// `maia config validate`: checks a file and says what it is.
pub(crate) fn validate(file: &Path, kind: Option<Kind>, options: LoadOptions) -> Result<()> {
    // Said first: otherwise a missing file reads as one whose kind cannot be told.
    if let Err(e) = std::fs::metadata(file)
        && e.kind() == std::io::ErrorKind::NotFound
    {
        return Err(CliError::Usage {
            message: format!("{} does not exist", file.display()),
            hint: Some("check the path (it is read relative to the current folder)".into()),
        });
    }
    let kind = match kind {
        Some(k) => ConfigKind::from(k),
        None => ConfigKind::detect(file).ok_or_else(|| CliError::Usage {
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
    report::diagnostics(&warnings);
    let w = match warnings.len() {
        0 => String::new(),
        1 => " (1 warning)".to_string(),
        n => format!(" ({n} warnings)"),
    };
    println!("{}: valid {}{w}", file.display(), kind.title());
    Ok(())
}

/// `maia config schema`: prints a config's JSON Schema.
pub(crate) fn schema(kind: Kind) -> Result<()> {
    let schema = ConfigKind::from(kind).schema();
    // A `Value`'s alternate form is `serde_json::to_string_pretty`, without its
    // `Result`: a `Value` always serialises.
    println!("{schema:#}");
    Ok(())
}
