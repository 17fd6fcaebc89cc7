//! Reading a config file into its serde model: syntax and type errors, unknown fields
//! (with "did you mean"), and turning validation issues into located diagnostics.

use std::path::Path;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diag::{Diagnostic, Issue, Severity};
use crate::error::SpecError;
use crate::path::{FieldPath, Segment};
use crate::source::{Format, SourceFile};

/// How strictly a file is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Unknown fields become warnings instead of errors (for files migrated from the
    /// original toolkit, which ignored them).
    pub lenient: bool,
    /// Which files an app's `mount_files` may read.
    pub mount_files: crate::app::MountFileAccess,
}

/// A config model that can be read from a file.
pub(crate) trait ConfigFile: DeserializeOwned + JsonSchema {
    /// What the file is called in messages ("app config", "group form", …).
    const KIND: &'static str;
}

/// A parsed file with what was found so far.
#[derive(Debug)]
pub(crate) struct Parsed<T> {
    pub(crate) value: T,
    pub(crate) source: SourceFile,
    /// Unknown fields: warnings with `lenient`, else errors. They are reported with the
    /// validation's findings ([`finish`] fails on any error), so one unknown field does
    /// not hide every other problem of the file.
    pub(crate) warnings: Vec<Diagnostic>,
}

/// Where parsing stopped: the field, serde's message and the line/column it gave.
type ParseFailure = (FieldPath, String, Option<(usize, usize)>);

/// Reads `path` and parses it as `T`.
pub(crate) fn read<T: ConfigFile>(
    path: &Path,
    options: LoadOptions,
) -> Result<Parsed<T>, SpecError> {
    let text = read_text(path).map_err(|source| SpecError::Read {
        kind: T::KIND,
        path: path.to_path_buf(),
        source,
    })?;
    parse(SourceFile::new(path, text), options)
}

/// The largest config file maia reads (real ones are a few KiB).
pub(crate) const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// Reads a config file whole, if it is a regular file of at most [`MAX_CONFIG_BYTES`]:
/// a directory, device (`/dev/zero`) or FIFO is refused before anything is read.
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "not a regular file (a directory, device or FIFO)",
        ));
    }
    let too_big = || {
        Error::new(
            ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_CONFIG_BYTES / (1024 * 1024)),
        )
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Parses a file already in memory as `T`.
pub(crate) fn parse<T: ConfigFile>(
    source: SourceFile,
    options: LoadOptions,
) -> Result<Parsed<T>, SpecError> {
    let mut unknown: Vec<FieldPath> = Vec::new();
    let mut record = |p: serde_ignored::Path<'_>| unknown.push(FieldPath::from_ignored(&p));
    // Deep YAML flow nesting makes the parser quadratic: refused before parsing.
    let too_deep = match source.format {
        Format::Yaml => crate::yaml_depth::too_deep(&source.text),
        Format::Json => None,
    };
    let result: Result<T, ParseFailure> = match source.format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(&source.text);
            let ignored = serde_ignored::Deserializer::new(&mut de, &mut record);
            let json_error = |path: FieldPath, inner: serde_json::Error| {
                // serde_json places data errors after the value; the locator finds its start.
                let loc = (inner.line() > 0
                    && (inner.is_syntax() || inner.is_eof() || path.is_root()))
                .then(|| (inner.line(), inner.column()));
                (path, strip_position(&inner.to_string()), loc)
            };
            match serde_path_to_error::deserialize(ignored) {
                Ok(v) => de
                    .end()
                    .map(|()| v)
                    .map_err(|e| json_error(FieldPath::root(), e)),
                Err(e) => {
                    let path = FieldPath::from_serde(e.path());
                    Err(json_error(path, e.into_inner()))
                }
            }
        }
        Format::Yaml if too_deep.is_some() => Err((
            FieldPath::root(),
            format!(
                "flow collections ([ ] or {{ }}) are nested more than {} levels deep",
                crate::yaml_depth::MAX_FLOW_DEPTH
            ),
            too_deep,
        )),
        Format::Yaml => {
            let de = yaml_serde::Deserializer::from_str(&source.text);
            let ignored = serde_ignored::Deserializer::new(de, &mut record);
            serde_path_to_error::deserialize(ignored).map_err(|e| {
                let path = FieldPath::from_serde(e.path());
                let inner = e.into_inner();
                let loc = inner.location().map(|l| (l.line(), l.column()));
                let mut msg = strip_position(&inner.to_string());
                let prefix = format!("{path}: ");
                if let Some(rest) = msg.strip_prefix(&prefix) {
                    msg = rest.to_string();
                }
                (path, msg, loc)
            })
        }
    };

    let value = match result {
        Ok(v) => v,
        Err((path, message, loc)) => {
            let mut diag = type_error_diagnostic(&source, path, message, loc);
            // A required key that is missing is often one misspelt: the file's unknown
            // keys beside it are the candidates.
            if diag.message == "required field is missing"
                && let Some(field) = diag.path.last_key()
            {
                let parent = diag.path.parent();
                let beside: Vec<String> = unknown
                    .iter()
                    .filter(|u| u.parent() == parent)
                    .filter_map(|u| u.last_key().map(str::to_string))
                    .collect();
                if let Some(typo) = did_you_mean(field, &beside) {
                    diag.hint = Some(format!(
                        "the file has {typo:?}: did you mean {field:?}? (see `maia config schema`)"
                    ));
                }
            }
            let mut diagnostics = vec![diag];
            diagnostics.extend(unknown_fields::<T>(&source, unknown, options));
            return Err(SpecError::Invalid {
                kind: T::KIND,
                file: source.path.clone(),
                diagnostics,
            });
        }
    };
    let diagnostics = unknown_fields::<T>(&source, unknown, options);
    Ok(Parsed {
        value,
        source,
        warnings: diagnostics,
    })
}

/// The unknown fields as located diagnostics, each with a "did you mean".
fn unknown_fields<T: ConfigFile>(
    source: &SourceFile,
    unknown: Vec<FieldPath>,
    options: LoadOptions,
) -> Vec<Diagnostic> {
    let severity = if options.lenient {
        Severity::Warning
    } else {
        Severity::Error
    };
    // Only needed for suggestions, and building it costs more than parsing the file.
    let schema = if unknown.is_empty() {
        Value::Null
    } else {
        schema_value::<T>()
    };
    let mut diagnostics: Vec<Diagnostic> = unknown
        .into_iter()
        .map(|path| {
            let field = path.last_key().unwrap_or_default().to_string();
            let known = known_fields(&schema, &path.parent());
            let mut issue = Issue {
                severity,
                path,
                message: format!("unknown field {field:?}"),
                hint: None,
            };
            issue.hint = match did_you_mean(&field, &known) {
                Some(best) => Some(format!("did you mean {best:?}?")),
                None if !known.is_empty() => {
                    Some(format!("known fields here: {}", known.join(", ")))
                }
                None => None,
            };
            if options.lenient {
                issue.hint = Some(
                    format!(
                        "{}; ignored because of --lenient",
                        issue.hint.unwrap_or_default()
                    )
                    .trim_start_matches("; ")
                    .to_string(),
                );
            } else {
                let h = issue.hint.take().unwrap_or_default();
                issue.hint = Some(format!(
                    "{h}{}(use --lenient to ignore unknown fields)",
                    if h.is_empty() { "" } else { " " }
                ));
            }
            locate(source, issue, true)
        })
        .collect();
    diagnostics.sort_by_key(|d| d.location);
    diagnostics
}

/// Turns validation issues into located diagnostics; `Err` when any is an error.
pub(crate) fn finish(
    kind: &'static str,
    source: &SourceFile,
    mut warnings: Vec<Diagnostic>,
    issues: Vec<Issue>,
) -> Result<Vec<Diagnostic>, SpecError> {
    warnings.extend(issues.into_iter().map(|i| locate(source, i, false)));
    warnings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.location.cmp(&b.location))
    });
    if warnings.iter().any(|d| d.severity == Severity::Error) {
        return Err(SpecError::Invalid {
            kind,
            file: source.path.clone(),
            diagnostics: warnings,
        });
    }
    Ok(warnings)
}

/// [`finish`] for a check that builds its value whenever it finds no error (`check`
/// returns `(value, issues)`): the value with the warnings, or `Err` with every
/// finding. A check that built nothing yet reported no error would be a bug in maia;
/// it is reported as an error of the file rather than a panic.
pub(crate) fn finish_checked<T>(
    kind: &'static str,
    source: &SourceFile,
    warnings: Vec<Diagnostic>,
    (value, issues): (Option<T>, Vec<Issue>),
) -> Result<(T, Vec<Diagnostic>), SpecError> {
    let mut diagnostics = finish(kind, source, warnings, issues)?;
    match value {
        Some(value) => Ok((value, diagnostics)),
        None => {
            let bug = Issue::error(
                FieldPath::root(),
                format!("the {kind} could not be checked"),
            )
            .hint("this is a bug in maia; please report it with the file");
            diagnostics.insert(0, locate(source, bug, false));
            Err(SpecError::Invalid {
                kind,
                file: source.path.clone(),
                diagnostics,
            })
        }
    }
}

/// Places an issue in its file.
pub(crate) fn locate(source: &SourceFile, issue: Issue, key_position: bool) -> Diagnostic {
    Diagnostic {
        severity: issue.severity,
        file: source.path.clone(),
        location: source.locate(&issue.path, key_position),
        path: issue.path,
        message: issue.message,
        hint: issue.hint,
    }
}

fn type_error_diagnostic(
    source: &SourceFile,
    mut path: FieldPath,
    message: String,
    loc: Option<(usize, usize)>,
) -> Diagnostic {
    let mut hint = None;
    let mut message = message;
    let mut location = loc.or_else(|| source.locate(&path, false));
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        let field = field.to_string();
        location = source.locate(&path, false).or(loc);
        path = path.key(&field);
        message = "required field is missing".to_string();
        hint = Some(format!("add {field:?} (see `maia config schema`)"));
    } else if message.starts_with("EOF while parsing")
        || message.starts_with("expected")
        || message.starts_with("trailing")
        || message.starts_with("key must be")
        || message.starts_with("control character")
    {
        message = format!(
            "invalid {}: {message}",
            match source.format {
                Format::Json => "JSON",
                Format::Yaml => "YAML",
            }
        );
    } else if message.starts_with("unknown variant") {
        let field = path.last_key().unwrap_or_default().to_string();
        hint = Some(format!(
            "see the allowed values of {field:?} in `maia config schema`"
        ));
    }
    Diagnostic {
        severity: Severity::Error,
        file: source.path.clone(),
        location,
        path,
        message,
        hint,
    }
}

/// serde_json and yaml append " at line X column Y"; the diagnostic carries it already.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
}

pub(crate) fn schema_value<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// The schema node at `path`, following `$ref`s, `items` and `additionalProperties`.
fn schema_at<'a>(root: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    let resolve = |mut node: &'a Value| -> Option<&'a Value> {
        for _ in 0..16 {
            if let Some(r) = node.get("$ref").and_then(Value::as_str) {
                let name = r.strip_prefix("#/$defs/")?;
                node = root.get("$defs")?.get(name)?;
            } else if let Some(any) = node.get("anyOf").and_then(Value::as_array) {
                // Option<T> renders as anyOf [T, null]
                node = any
                    .iter()
                    .find(|v| v.get("type") != Some(&Value::from("null")))?;
            } else {
                return Some(node);
            }
        }
        None
    };
    let mut node = resolve(root)?;
    for seg in &path.0 {
        node = match seg {
            Segment::Key(k) => match node.get("properties").and_then(|p| p.get(k)) {
                Some(child) => resolve(child)?,
                None => resolve(node.get("additionalProperties")?)?,
            },
            Segment::Index(_) => resolve(node.get("items")?)?,
        };
    }
    Some(node)
}

fn known_fields(schema: &Value, path: &FieldPath) -> Vec<String> {
    schema_at(schema, path)
        .and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

/// The known name closest to what was written, if it is close enough to be a typo.
pub(crate) fn did_you_mean(written: &str, known: &[String]) -> Option<String> {
    let lower = written.to_ascii_lowercase();
    known
        .iter()
        .map(|k| {
            let score = if k.to_ascii_lowercase() == lower {
                1.0
            } else {
                strsim::jaro_winkler(&lower, &k.to_ascii_lowercase())
            };
            (score, k)
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_that_built_nothing_without_an_error_is_an_error_not_a_panic() {
        let source = SourceFile::new("group.yaml", "group_ID: demo\n");
        let Err(e) = finish_checked::<()>("group form", &source, Vec::new(), (None, Vec::new()))
        else {
            panic!("no value is not a success");
        };
        assert_eq!(
            e.to_string(),
            "group.yaml is not a valid group form: 1 error"
        );
        assert_eq!(e.diagnostics()[0].severity, Severity::Error);
        let (value, warnings) =
            finish_checked("group form", &source, Vec::new(), (Some(1), Vec::new())).unwrap();
        assert_eq!((value, warnings.len()), (1, 0));
    }
}
