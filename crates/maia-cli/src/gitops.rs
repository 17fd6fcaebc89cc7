//! `--gitops argocd`: the GitOps tree written next to the config folder by
//! `maia namespace render` and `maia fleet render`. The tree is made in
//! `maia_render::workspace::gitops` (pure); this module checks the flags and writes it.
//!
//! Layout, committed as it is under `--repo-path`:
//!
//! ```text
//! <gitops folder>/applicationset.yaml         the fleet (fleet render)
//! <gitops folder>/<group_ID>/application.yaml the group's Application
//! <gitops folder>/<group_ID>/manifests/…      maia's objects without their Secrets
//! <gitops folder>/<group_ID>/helm/…           each chart's values (no secret in them)
//! ```

use std::path::{Component, Path, PathBuf};

use maia_deploy::workspace::folder::{self, WriteReport};
use maia_render::workspace::Bundle;
use maia_render::workspace::gitops::{self, GitOps};
use maia_render::workspace::text::BundleFile;
use maia_spec::workspace::WorkspaceSpec;

use crate::cli::GitOpsArgs;
use crate::error::{CliError, Result};

/// The file of the fleet's ApplicationSet, at the tree's root.
pub(crate) const APPLICATION_SET_FILE: &str = "applicationset.yaml";

/// Where the tree goes and what its Applications say.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) git: GitOps,
    pub(crate) folder: PathBuf,
    config_folder: PathBuf,
}

fn usage(message: String, hint: &str) -> CliError {
    CliError::Usage {
        message,
        hint: Some(hint.into()),
    }
}

impl Tree {
    /// The tree the flags ask for, if any; a flag that cannot work is a usage error.
    pub(crate) fn from_args(args: &GitOpsArgs, config_folder: &Path) -> Result<Option<Tree>> {
        if args.gitops.is_none() {
            return Ok(None);
        }
        let repo_url = args.repo_url.clone().unwrap_or_default();
        if repo_url.trim().is_empty() || repo_url.chars().any(char::is_whitespace) {
            return Err(usage(
                format!("--repo-url {repo_url:?} is not a repository URL"),
                "give the URL Argo CD clones, e.g. https://git.example.org/maia/fleet.git",
            ));
        }
        let repo_path = args.repo_path.trim_matches('/').to_string();
        if Path::new(&repo_path)
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(usage(
                format!(
                    "--repo-path {:?} is not a folder inside the repository",
                    args.repo_path
                ),
                "give a relative path without '..' or '.', e.g. clusters/prod",
            ));
        }
        if args.target_revision.trim().is_empty() {
            return Err(usage(
                "--target-revision is empty".into(),
                "give a branch, a tag or a commit, e.g. main (default HEAD)",
            ));
        }
        let folder = args
            .gitops_folder
            .clone()
            .unwrap_or_else(|| config_folder.join("gitops"));
        if same_place(&folder, config_folder) {
            return Err(usage(
                format!("--gitops-folder {} is the config folder", folder.display()),
                "the GitOps tree must not mix with the bundles, which hold the Secrets; leave --gitops-folder out (it defaults to <config folder>/gitops)",
            ));
        }
        Ok(Some(Tree {
            git: GitOps {
                repo_url,
                repo_path,
                target_revision: args.target_revision.trim().to_string(),
                automated: !args.no_auto_sync,
                prune: !args.no_prune,
                self_heal: !args.no_self_heal,
            },
            folder,
            config_folder: config_folder.to_path_buf(),
        }))
    }

    /// The group's folder in the tree; an error when it is the group's bundle folder
    /// (a group whose ID is the tree's folder name).
    fn group_dir(&self, spec: &WorkspaceSpec) -> Result<PathBuf> {
        let dir = self.folder.join(&spec.group_id);
        let bundle = self.config_folder.join(&spec.group_id);
        if same_place(&self.folder, &bundle) {
            return Err(usage(
                format!(
                    "the GitOps tree {} is group {}'s bundle folder",
                    self.folder.display(),
                    spec.group_id
                ),
                "pass --gitops-folder with a folder outside the config folder",
            ));
        }
        Ok(dir)
    }

    /// Writes a group's part of the tree; only files whose bytes change are written.
    /// `bundle_files`: the group's bundle, whose manifests are reused.
    pub(crate) fn write_group(
        &self,
        spec: &WorkspaceSpec,
        bundle: &Bundle,
        bundle_files: &[BundleFile],
    ) -> Result<WriteReport> {
        let dir = self.group_dir(spec)?;
        let files = gitops::group_files(spec, bundle, &self.git, bundle_files)?;
        Ok(folder::write_bundle(&dir, &files)?)
    }

    /// Writes the fleet's ApplicationSet at the tree's root (`sample`: any group's
    /// bundle; they share their charts). True when its bytes changed.
    pub(crate) fn write_application_set(&self, sample: &Bundle) -> Result<bool> {
        let text = maia_render::to_yaml_stream(&[gitops::application_set(sample, &self.git)])?;
        let path = self.folder.join(APPLICATION_SET_FILE);
        Ok(folder::update_file_now(&path, &text, 0o644)?)
    }
}

/// Whether two paths name one folder (compared as written when either is missing).
fn same_place(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => normal(a) == normal(b),
    }
}

fn normal(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}
