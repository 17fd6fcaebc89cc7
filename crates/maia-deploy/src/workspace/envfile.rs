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

/// Finds the group's environment file: a local path (relative to the group form's
/// folder), else the bundle's copy under `group_dir` (unless `refresh`), else the
/// central MinIO.
pub fn resolve(
    spec: &WorkspaceSpec,
    form_dir: &Path,
    group_dir: Option<&Path>,
    refresh: bool,
) -> Result<Option<(EnvFile, Origin)>> {
    let Some(name) = &spec.minio_env_name else {
        return Ok(None);
    };
    let local = form_dir.join(name);
    if std::fs::metadata(&local).is_ok_and(|m| m.is_file()) {
        let text = read_capped(&local).map_err(|reason| DeployError::EnvFile {
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
        if kept.is_file() {
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
