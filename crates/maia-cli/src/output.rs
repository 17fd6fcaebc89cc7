//! Printing rendered objects: a YAML stream or a JSON `List`.

use std::io::Write;

use clap::ValueEnum;
use maia_render::Object;

use crate::error::Result;

/// How rendered objects are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Format {
    /// Multi-document YAML, as `kubectl apply -f` reads it.
    #[default]
    Yaml,
    /// A `v1` `List` of the objects.
    Json,
}

impl From<Format> for maia::output::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Yaml => maia::output::Format::Yaml,
            Format::Json => maia::output::Format::Json,
        }
    }
}

/// Prints the objects on stdout.
pub(crate) fn print(objects: &[Object], format: Format) -> Result<()> {
    let text = maia::output::render_text(objects, format.into())?;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()) {
        // The reader of a pipe is gone (`| head`): not an error (see stdout.rs).
        Err(source) if !crate::stdout::closed(&source) => Err(maia::Error::Write {
            path: "<stdout>".into(),
            source,
        }
        .into()),
        _ => Ok(()),
    }
}

/// Prints a result as indented JSON on stdout (`-o json`).
pub(crate) fn json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Prints a result as YAML on stdout (`-o yaml`).
pub(crate) fn yaml(value: &impl serde::Serialize) {
    print!("{}", yaml_serde::to_string(value).unwrap_or_default());
}
