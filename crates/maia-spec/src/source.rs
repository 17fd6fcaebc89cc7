//! A config file as read from disk, and the mapping from field paths back to the
//! line and column where they are written.

use std::path::{Path, PathBuf};

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::common::Ranged;

use crate::path::{FieldPath, Segment};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// JSON for `.json` files, YAML otherwise (YAML is a superset of JSON).
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// The text of one config file and where it came from.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    pub format: Format,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let path = path.into();
        let format = Format::for_path(&path);
        SourceFile {
            path,
            text: text.into(),
            format,
        }
    }

    /// The directory relative paths inside this file are resolved against.
    pub fn base_dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// Where the value at `path` is written; for a key that is not there, the nearest
    /// enclosing value. `key_position` points at the key rather than its value.
    pub fn locate(&self, path: &FieldPath, key_position: bool) -> Option<(usize, usize)> {
        let offset = match self.format {
            Format::Json => locate_json(&self.text, path, key_position)?,
            Format::Yaml => crate::yaml_locate::locate(&self.text, path, key_position)?,
        };
        Some(self.line_col(offset))
    }
}

fn locate_json(text: &str, path: &FieldPath, key_position: bool) -> Option<usize> {
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default()).ok()?;
    let mut value: &Value<'_> = parsed.value.as_ref()?;
    let mut found = value.start();
    for (i, seg) in path.0.iter().enumerate() {
        let last = i + 1 == path.0.len();
        match (seg, value) {
            (Segment::Key(key), Value::Object(obj)) => {
                let Some(prop) = obj.properties.iter().find(|p| prop_name(&p.name) == key) else {
                    return Some(found);
                };
                found = if last && key_position {
                    prop.range.start
                } else {
                    prop.value.start()
                };
                value = &prop.value;
            }
            (Segment::Index(n), Value::Array(arr)) => {
                let Some(elem) = arr.elements.get(*n) else {
                    return Some(found);
                };
                found = elem.start();
                value = elem;
            }
            _ => return Some(found),
        }
    }
    Some(found)
}

fn prop_name<'a>(name: &'a ObjectPropName<'_>) -> &'a str {
    match name {
        ObjectPropName::String(s) => &s.value,
        ObjectPropName::Word(w) => w.value,
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
