//! A group's environment file (`minio_env_name`): a conda `environment.yml` or pip
//! requirements in a bucket of the central MinIO (cluster config `minio_url`, keys,
//! `bucket_name`), or a local path. It is fetched once and kept in the bundle
//! (`env/<name>`), so re-renders need no network and write the same bytes;
//! `--refresh-env` fetches it again.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use maia_render::workspace::EnvFile;
use maia_spec::workspace::{EnvStore, WorkspaceSpec};

use crate::error::{DeployError, Result};

/// The largest environment file maia reads (they are a few KiB).
const MAX_ENV_BYTES: u64 = 1024 * 1024;

/// Where the environment file came from (for the CLI to say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A file next to the group form.
    Local,
    /// The copy an earlier run kept in the bundle (`env/<name>`).
    Bundle,
    /// Fetched from the central MinIO just now.
    Fetched,
}

/// Finds the group's environment file: a local path (relative to the folder of the
/// group form `form`), else the bundle's copy under `group_dir` (unless `refresh`),
/// else the central MinIO.
///
/// Its content goes into every member's environment, the bundle and the GitOps tree,
/// so a local file is read only when it is a regular file inside the form's folder (a
/// symbolic link may point only inside it): otherwise a name like `/etc/shadow` or a
/// link next to the form would copy any file the admin can read into the workspace.
pub fn resolve(
    spec: &WorkspaceSpec,
    form: &Path,
    group_dir: Option<&Path>,
    refresh: bool,
) -> Result<Option<(EnvFile, Origin)>> {
    let Some(name) = &spec.minio_env_name else {
        return Ok(None);
    };
    let form_dir = match form.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let local = form_dir.join(name);
    // Anything at that path (a dangling link too) is meant as the local file; only
    // when nothing is there is the name an object key.
    if std::fs::symlink_metadata(&local).is_ok() {
        let text = read_inside(&local, form_dir).map_err(|reason| DeployError::EnvFileRefused {
            form: form.display().to_string(),
            name: name.clone(),
            reason,
        })?;
        let file_name = local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.clone());
        return Ok(Some((
            EnvFile {
                name: file_name,
                text,
            },
            Origin::Local,
        )));
    }
    let mut file = EnvFile {
        name: name.clone(),
        text: String::new(),
    };
    if let (Some(dir), false) = (group_dir, refresh) {
        let kept = dir.join(file.bundle_path());
        // maia wrote it: a regular file, never a link planted in its place.
        if std::fs::symlink_metadata(&kept).is_ok_and(|m| m.is_file()) {
            file.text = read_capped(&kept).map_err(|reason| DeployError::EnvFile {
                name: name.clone(),
                reason,
            })?;
            return Ok(Some((file, Origin::Bundle)));
        }
    }
    let Some(store) = &spec.cluster.env_store else {
        return Err(DeployError::EnvFile {
            name: name.clone(),
            reason: format!(
                "it is not a file next to the group form ({}) and the cluster config names no central MinIO (minio_url, minio_access_key, minio_secret_key, bucket_name)",
                local.display()
            ),
        });
    };
    file.text = fetch(store, name)?;
    Ok(Some((file, Origin::Fetched)))
}

/// Fetches `key` from the store's bucket with a presigned GET (path-style, as MinIO
/// serves it), at most [`MAX_ENV_BYTES`].
fn fetch(store: &EnvStore, key: &str) -> Result<String> {
    let failed = |reason: String| DeployError::EnvFile {
        name: key.to_string(),
        reason,
    };
    let endpoint = store
        .url
        .parse()
        .map_err(|e| failed(format!("minio_url {:?} is not a URL: {e}", store.url)))?;
    let bucket = rusty_s3::Bucket::new(
        endpoint,
        rusty_s3::UrlStyle::Path,
        store.bucket.clone(),
        "us-east-1",
    )
    .map_err(|e| failed(format!("bucket {:?}: {e}", store.bucket)))?;
    let credentials = rusty_s3::Credentials::new(&store.access_key, &store.secret_key);
    let url = rusty_s3::S3Action::sign(
        &bucket.get_object(Some(&credentials), key),
        Duration::from_secs(300),
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    // The URL carries a signature; it is never printed.
    let mut response = agent
        .get(url.as_str())
        .call()
        .map_err(|e| failed(format!("cannot reach {}: {e}", store.url)))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(failed(format!(
            "{} answered HTTP {status} for {}/{key}",
            store.url, store.bucket
        )));
    }
    let mut bytes = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(MAX_ENV_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| failed(format!("reading it failed: {e}")))?;
    if bytes.len() as u64 > MAX_ENV_BYTES {
        return Err(failed(format!(
            "it is larger than {} KiB",
            MAX_ENV_BYTES / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|_| failed("it is not UTF-8 text".into()))
}

/// Reads `path` if it is a regular file whose real path lies inside `base`; the error
/// says what it is instead.
fn read_inside(path: &Path, base: &Path) -> std::result::Result<String, String> {
    let canonical = std::fs::canonicalize(path).map_err(|e| {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            format!(
                "{} is a symbolic link that leads nowhere ({e})",
                path.display()
            )
        } else {
            format!("cannot read {}: {e}", path.display())
        }
    })?;
    let base = std::fs::canonicalize(base)
        .map_err(|e| format!("cannot read the folder {}: {e}", base.display()))?;
    if !canonical.starts_with(&base) {
        return Err(format!(
            "{} resolves to {}, outside the group form's folder {}",
            path.display(),
            canonical.display(),
            base.display()
        ));
    }
    // Checked before opening: opening a FIFO would wait for a writer for ever.
    let meta = std::fs::metadata(&canonical)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{} is not a regular file (a directory, device or FIFO)",
            path.display()
        ));
    }
    read_capped(&canonical)
}

fn read_capped(path: &Path) -> std::result::Result<String, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_ENV_BYTES {
        return Err(format!(
            "{} is larger than {} KiB",
            path.display(),
            MAX_ENV_BYTES / 1024
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
