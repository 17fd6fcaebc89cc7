//! maia's configuration files: serde models, validation that names the file, line,
//! column and field of every problem, and JSON Schemas for editors.
//!
//! No I/O beyond reading the files it is asked to read.

pub mod app;
pub mod diag;
pub mod duration;
pub mod error;
pub mod load;
pub mod loose;
pub mod names;
pub mod path;
pub mod quantity;
pub mod source;
mod yaml_locate;

pub use diag::{Diagnostic, Issue, Severity};
pub use error::SpecError;
pub use load::LoadOptions;
pub use path::FieldPath;

/// The config files maia reads, for `maia config validate|schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    App,
}

impl ConfigKind {
    pub const ALL: &'static [(&'static str, ConfigKind)] = &[("app", ConfigKind::App)];

    /// The JSON Schema of this kind of file.
    pub fn schema(self) -> serde_json::Value {
        match self {
            ConfigKind::App => load::schema_value::<app::AppConfig>(),
        }
    }
}
