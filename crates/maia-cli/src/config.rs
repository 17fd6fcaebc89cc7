//! `maia config …`

use std::path::Path;

use maia_spec::{ConfigKind, LoadOptions};

use crate::cli::Kind;
use crate::error::{CliError, Result};
use crate::report;

pub fn validate(file: &Path, kind: Option<Kind>, options: LoadOptions) -> Result<()> {
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

pub fn schema(kind: Kind) -> Result<()> {
    let schema = ConfigKind::from(kind).schema();
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).expect("a JSON value always serialises")
    );
    Ok(())
}
