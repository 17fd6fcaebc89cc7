//! `maia config …`

use std::path::Path;

use maia_spec::{ConfigKind, LoadOptions};

use crate::cli::Kind;
use crate::error::Result;
use crate::report;

/// `maia config validate`: checks a file and says what it is.
pub(crate) fn validate(file: &Path, kind: Option<Kind>, options: LoadOptions) -> Result<()> {
    let (kind, warnings) = maia::config::validate(file, kind.map(ConfigKind::from), options)?;
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
    // A `Value`'s alternate form is `serde_json::to_string_pretty`, without its
    // `Result`: a `Value` always serialises.
    println!("{:#}", maia::config::schema(ConfigKind::from(kind)));
    Ok(())
}
