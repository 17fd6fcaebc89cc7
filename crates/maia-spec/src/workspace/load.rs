//! Reading the three workspace files and combining them into one [`WorkspaceSpec`].

use std::path::Path;

use crate::diag::Diagnostic;
use crate::error::SpecError;
use crate::load::{self, ConfigFile, LoadOptions, Parsed};
use crate::source::SourceFile;

use super::cluster::{self, ClusterConfig, Install};
use super::group::{self, GroupForm};
use super::maia::{self, MaiaConfig};
use super::{ClusterSpec, MaiaSettings, WorkspaceSpec};

/// A workspace read and checked, with the warnings of every file.
#[derive(Debug)]
pub struct LoadedWorkspace {
    /// The checked workspace.
    pub spec: WorkspaceSpec,
    /// Every warning about the three files, located (errors make the load fail instead).
    pub warnings: Vec<Diagnostic>,
}

/// Where the three files are (the MAIA config is optional: built-in defaults).
#[derive(Debug, Clone, Copy)]
pub struct WorkspaceFiles<'a> {
    /// The group form.
    pub group: &'a Path,
    /// The cluster config.
    pub cluster: &'a Path,
    /// The MAIA config; `None` takes the built-in images and versions.
    pub maia: Option<&'a Path>,
}

/// The same files, already in memory: `(name, text)` each.
#[derive(Debug, Clone, Copy)]
pub struct WorkspaceTexts<'a> {
    /// The group form.
    pub group: (&'a str, &'a str),
    /// The cluster config.
    pub cluster: (&'a str, &'a str),
    /// The MAIA config; `None` takes the built-in images and versions.
    pub maia: Option<(&'a str, &'a str)>,
}

fn read_text(kind: &'static str, path: &Path) -> Result<String, SpecError> {
    crate::load::read_text(path).map_err(|source| SpecError::Read {
        kind,
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a cluster config file as every workspace command does (a regular file,
/// within the size limit), for a command that needs only the cluster config.
pub fn read_cluster_file(path: &Path) -> Result<String, SpecError> {
    read_text(ClusterConfig::KIND, path)
}

/// Reads a group form file as every workspace command does.
pub fn read_group_file(path: &Path) -> Result<String, SpecError> {
    read_text(GroupForm::KIND, path)
}

/// Errors of a group form found after it was checked (rendering knows what the
/// workspace needs, validation does not), each placed at its field in the file as a
/// check's errors are: `(keys of the field, e.g. ["quota", "cpu"], message, hint)`.
/// An error reading the file again is returned as is.
pub fn group_form_errors(path: &Path, errors: Vec<(Vec<String>, String, String)>) -> SpecError {
    let text = match read_group_file(path) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let source = SourceFile::new(path, text);
    let diagnostics = errors
        .into_iter()
        .map(|(keys, message, hint)| {
            let field = keys
                .iter()
                .fold(crate::path::FieldPath::root(), |p, k| p.key(k.as_str()));
            load::locate(
                &source,
                crate::diag::Issue::error(field, message).hint(hint),
                true,
            )
        })
        .collect();
    SpecError::Invalid {
        kind: GroupForm::KIND,
        file: path.to_path_buf(),
        diagnostics,
    }
}

/// Reads a MAIA config file as every workspace command does.
pub fn read_maia_file(path: &Path) -> Result<String, SpecError> {
    read_text(MaiaConfig::KIND, path)
}

/// Reads and checks a workspace. `minimal` is `--minimal`: fewer Keycloak settings are needed.
pub fn load(
    files: WorkspaceFiles<'_>,
    minimal: bool,
    options: LoadOptions,
) -> Result<LoadedWorkspace, SpecError> {
    let group = read_group_file(files.group)?;
    let cluster = read_cluster_file(files.cluster)?;
    let maia = files.maia.map(read_maia_file).transpose()?;
    let g = files.group.to_string_lossy();
    let c = files.cluster.to_string_lossy();
    let m = files.maia.map(|p| p.to_string_lossy());
    load_str(
        WorkspaceTexts {
            group: (&g, &group),
            cluster: (&c, &cluster),
            maia: m.as_deref().zip(maia.as_deref()),
        },
        minimal,
        options,
    )
}

/// As [`load`], for files already in memory.
pub fn load_str(
    texts: WorkspaceTexts<'_>,
    minimal: bool,
    options: LoadOptions,
) -> Result<LoadedWorkspace, SpecError> {
    let install = if minimal {
        Install::Minimal
    } else {
        Install::Full
    };
    let mut warnings = Vec::new();

    let Parsed {
        value: form,
        source: group_source,
        warnings: w,
    } = load::parse::<GroupForm>(SourceFile::new(texts.group.0, texts.group.1), options)?;
    let (group, w) = load::finish_checked(GroupForm::KIND, &group_source, w, group::check(&form))?;
    warnings.extend(w);

    let (cluster_spec, cluster_warnings) =
        check_cluster_text(texts.cluster, install, Some(group.users.len()), options)?;
    warnings.extend(cluster_warnings);

    let maia = match texts.maia {
        Some(m) => {
            let (settings, w) = check_maia_text(m, options)?;
            warnings.extend(w);
            settings
        }
        None => MaiaSettings::default(),
    };

    let workspace_version = group
        .workspace_version
        .clone()
        .unwrap_or_else(|| maia.workspace_version.clone());
    Ok(LoadedWorkspace {
        spec: WorkspaceSpec {
            group_id: group.group_id,
            namespace: group.namespace,
            subdomain: group.subdomain,
            users: group.users,
            resources: group.resources,
            gpus: group.gpus,
            workspace_version,
            private_hub: group.private_hub,
            minio_env_name: group.minio_env_name,
            quota: group.quota,
            cluster: cluster_spec,
            maia,
            minimal,
        },
        warnings,
    })
}

/// Checks a cluster config on its own (`users`: the group's size, when known).
pub fn check_cluster_text(
    (name, text): (&str, &str),
    install: Install,
    users: Option<usize>,
    options: LoadOptions,
) -> Result<(ClusterSpec, Vec<Diagnostic>), SpecError> {
    let Parsed {
        value,
        source,
        warnings,
    } = load::parse::<ClusterConfig>(SourceFile::new(name, text), options)?;
    let (spec, mut issues) = cluster::check(&value, install);
    if let (Some(spec), Some(users)) = (&spec, users) {
        issues.extend(cluster::port_range_issue(spec.port_range, users));
    }
    load::finish_checked(ClusterConfig::KIND, &source, warnings, (spec, issues))
}

/// Checks a MAIA config on its own.
pub fn check_maia_text(
    (name, text): (&str, &str),
    options: LoadOptions,
) -> Result<(MaiaSettings, Vec<Diagnostic>), SpecError> {
    let Parsed {
        value,
        source,
        warnings,
    } = load::parse::<MaiaConfig>(SourceFile::new(name, text), options)?;
    let (settings, issues) = maia::check(&value);
    let warnings = load::finish(MaiaConfig::KIND, &source, warnings, issues)?;
    Ok((settings, warnings))
}

/// Checks a group form on its own.
pub fn check_group_text(
    (name, text): (&str, &str),
    options: LoadOptions,
) -> Result<Vec<Diagnostic>, SpecError> {
    let Parsed {
        value,
        source,
        warnings,
    } = load::parse::<GroupForm>(SourceFile::new(name, text), options)?;
    let (_, issues) = group::check(&value);
    load::finish(GroupForm::KIND, &source, warnings, issues)
}
