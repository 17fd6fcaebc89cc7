//! Rendered objects as text: a YAML stream, a JSON `List`, or one file per object.

use std::path::{Path, PathBuf};

use maia_deploy::workspace::folder;
use maia_render::Object;

use crate::error::{Error, Result};

/// How rendered objects are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Multi-document YAML, as `kubectl apply -f` reads it.
    #[default]
    Yaml,
    /// A `v1` `List` of the objects.
    Json,
}

/// The whole output as text.
pub fn render_text(objects: &[Object], format: Format) -> Result<String> {
    Ok(match format {
        Format::Yaml => maia_render::to_yaml_stream(objects)?,
        // A `Value`'s alternate form is `serde_json::to_string_pretty`, without its
        // `Result`: a `Value` always serialises.
        Format::Json => format!("{:#}\n", maia_render::to_json_list(objects)?),
    })
}

/// Writes one file per object into `dir` (created if needed) and returns the paths.
/// Files of an earlier render that this one no longer produces are reported, not
/// deleted: the folder may hold files of the admin's own.
///
/// Nothing is written through a symbolic link: a link as `dir` or where a file goes
/// (planted in a shared folder, say) is refused before the first write, and each file
/// is replaced by a new one (temporary file, rename), never opened for writing. New
/// folders are 0755 and files 0644, whatever the umask.
pub fn write_dir(
    objects: &[Object],
    format: Format,
    dir: &Path,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let (name, text) = match format {
            Format::Yaml => (o.file_name(i), maia_render::to_yaml(o)?),
            Format::Json => (
                o.file_name(i).replace(".yaml", ".json"),
                format!("{:#}\n", o.to_json()?),
            ),
        };
        files.push((dir.join(name), text));
    }
    for path in std::iter::once(dir).chain(files.iter().map(|(p, _)| p.as_path())) {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::Usage {
                message: format!(
                    "{} is a symbolic link: maia does not write through links",
                    path.display()
                ),
                hint: Some("remove the link, or give --out the folder it should write to".into()),
            });
        }
    }
    folder::create_dirs(dir, folder::DIR_MODE).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for (path, text) in files {
        folder::write_file(&path, &text, 0o644)?;
        written.push(path);
    }
    let mut stale = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let p = entry.path();
            let ours = p.extension().is_some_and(|e| e == "yaml" || e == "json")
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.len() > 3 && n[..2].chars().all(|c| c.is_ascii_digit()) && &n[2..3] == "-"
                });
            if ours && !written.contains(&p) {
                stale.push(p);
            }
        }
    }
    stale.sort();
    Ok((written, stale))
}
