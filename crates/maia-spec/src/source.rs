//! A config file as read from disk, and the mapping from field paths back to the
//! line and column where they are written.

use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use crate::json_index::JsonIndex;
use crate::path::FieldPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Yaml,
}

impl Format {
    /// JSON for `.json` files, YAML otherwise (YAML is a superset of JSON).
    pub(crate) fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// The text of one config file and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    pub(crate) format: Format,
    /// Built on the first lookup and shared by every later one.
    json_index: OnceLock<JsonIndex>,
}

impl SourceFile {
    pub(crate) fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let path = path.into();
        let format = Format::for_path(&path);
        SourceFile {
            path,
            text: text.into(),
            format,
            json_index: OnceLock::new(),
        }
    }

    /// The directory relative paths inside this file are resolved against.
    pub(crate) fn base_dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// 1-based line and column of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// Where the value at `path` is written; for a key that is not there, the nearest
    /// enclosing value. `key_position` points at the key rather than its value.
    pub(crate) fn locate(&self, path: &FieldPath, key_position: bool) -> Option<(usize, usize)> {
        let offset = match self.format {
            Format::Json => self
                .json_index
                .get_or_init(|| JsonIndex::build(&self.text))
                .locate(path, key_position)?,
            Format::Yaml => crate::yaml_locate::locate(&self.text, path, key_position)?,
        };
        Some(self.line_col(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_json_values_and_keys() {
        let src = SourceFile::new(
            "a.json",
            "{\n  \"ports\": {\n    \"web\": [80, 30080]\n  },\n  \"x\": 1\n}\n",
        );
        let p = FieldPath::root().key("ports").key("web").index(1);
        assert_eq!(src.locate(&p, false), Some((3, 17)));
        assert_eq!(src.locate(&FieldPath::root().key("x"), true), Some((5, 3)));
        assert_eq!(src.locate(&FieldPath::root().key("x"), false), Some((5, 8)));
        // A missing key points at its enclosing object.
        assert_eq!(
            src.locate(&FieldPath::root().key("ports").key("nope"), false),
            Some((2, 12))
        );
    }
}
