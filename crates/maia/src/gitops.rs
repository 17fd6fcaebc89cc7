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

use crate::error::{Error, Result};

/// The GitOps hand-over asked for (the CLI's `--gitops argocd` and its flags): where the
/// tree is committed and how Argo CD syncs it.
#[derive(Debug, Clone)]
pub struct GitOpsSettings {
    /// The git repository Argo CD clones (without credentials).
    pub repo_url: String,
    /// The tree's folder inside the repository ("" for its root).
    pub repo_path: String,
    /// The branch, tag or commit Argo CD follows.
    pub target_revision: String,
    /// Where the tree is written (default: `<config folder>/gitops`).
    pub folder: Option<PathBuf>,
    /// Argo CD syncs by itself (`syncPolicy.automated`).
    pub auto_sync: bool,
    /// Automated sync deletes what left the tree.
    pub prune: bool,
    /// Automated sync undoes changes made by hand.
    pub self_heal: bool,
}

/// The file of the fleet's ApplicationSet, at the tree's root.
pub const APPLICATION_SET_FILE: &str = "applicationset.yaml";

/// Where the tree goes and what its Applications say.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) git: GitOps,
    pub(crate) folder: PathBuf,
    config_folder: PathBuf,
}

fn usage(message: String, hint: &str) -> Error {
    Error::Usage {
        message,
        hint: Some(hint.into()),
    }
}

impl Tree {
    /// The tree the settings ask for, if any; a setting that cannot work is a usage
    /// error.
    pub(crate) fn new(args: Option<&GitOpsSettings>, config_folder: &Path) -> Result<Option<Tree>> {
        let Some(args) = args else {
            return Ok(None);
        };
        let repo_url = args.repo_url.clone();
        if let Some(what) = url_credentials(&repo_url) {
            // First, and the URL is not echoed: it holds a secret.
            return Err(usage(
                format!(
                    "--repo-url holds {what}: it would be copied into every Argo CD Application committed to git"
                ),
                "give the URL without credentials and store them in Argo CD as repository credentials (`argocd repo add URL --username … --password …`, or a Secret labelled argocd.argoproj.io/secret-type: repository)",
            ));
        }
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
            .folder
            .clone()
            .unwrap_or_else(|| config_folder.join("gitops"));
        if same_place(&folder, config_folder) {
            return Err(usage(
                format!("--gitops-folder {} is the config folder", folder.display()),
                "the GitOps tree must not mix with the bundles, which hold the Secrets; leave --gitops-folder out (it defaults to <config folder>/gitops)",
            ));
        }
        let (tree_at, config_at) = (resolved(&folder), resolved(config_folder));
        if config_at.starts_with(&tree_at) {
            return Err(usage(
                format!(
                    "--gitops-folder {} holds the config folder {}",
                    folder.display(),
                    config_folder.display()
                ),
                "the GitOps tree is committed to git and must not hold the bundles, which hold the Secrets; leave --gitops-folder out (it defaults to <config folder>/gitops) or name a folder outside the config folder",
            ));
        }
        // Inside the config folder, the tree must not be (or be in) a group's bundle
        // folder; one rendered earlier is known by its credentials.yaml, the groups of
        // this run by `check_group`.
        if let Ok(rest) = tree_at.strip_prefix(&config_at)
            && let Some(first) = rest.components().next()
            && config_at
                .join(first)
                .join(folder::CREDENTIALS_FILE)
                .exists()
        {
            return Err(inside_bundle(&folder, &first.as_os_str().to_string_lossy()));
        }
        Ok(Some(Tree {
            git: GitOps {
                repo_url,
                repo_path,
                target_revision: args.target_revision.trim().to_string(),
                automated: args.auto_sync,
                prune: args.prune,
                self_heal: args.self_heal,
            },
            folder,
            config_folder: config_folder.to_path_buf(),
        }))
    }

    /// An error when the tree is, or is inside, the bundle folder of group `group_id`
    /// (a group named as the tree's folder, or a --gitops-folder under its bundle):
    /// the bundle's credentials.yaml and Secrets would land in the tree meant for git.
    /// Call it for every group before anything is written.
    pub(crate) fn check_group(&self, group_id: &str) -> Result<()> {
        let bundle = resolved(&self.config_folder.join(group_id));
        if resolved(&self.folder).starts_with(&bundle) {
            return Err(inside_bundle(&self.folder, group_id));
        }
        Ok(())
    }

    /// The group's folder in the tree (checked again here, as the last guard).
    fn group_dir(&self, spec: &WorkspaceSpec) -> Result<PathBuf> {
        self.check_group(&spec.group_id)?;
        Ok(self.folder.join(&spec.group_id))
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

fn inside_bundle(tree: &Path, group_id: &str) -> Error {
    usage(
        format!(
            "the GitOps tree (--gitops-folder {}) is or lies in group {group_id}'s bundle folder, which holds its credentials",
            tree.display()
        ),
        "pass --gitops-folder with a folder outside every group's bundle folder (e.g. outside the config folder); a group named like the tree's folder needs another --gitops-folder",
    )
}

/// What in a repository URL is a credential (a password or token in the user info, a
/// user name in an https URL, a query string such as `?private_token=`), if anything.
/// A user name alone is fine for SSH (`git@host:repo`, `ssh://git@host/repo`).
fn url_credentials(url: &str) -> Option<&'static str> {
    let (http, userinfo) = match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            (
                scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"),
                authority.rsplit_once('@').map(|(u, _)| u),
            )
        }
        // scp-like: [user@]host:path
        None => (
            false,
            url.split_once('@')
                .map(|(u, _)| u)
                .filter(|u| !u.contains('/')),
        ),
    };
    if let Some(userinfo) = userinfo {
        if userinfo.contains(':') {
            return Some("a password or token in its user info (user:…@)");
        }
        if http {
            return Some("a user name or token in its user info (…@)");
        }
    }
    if url.contains('?') {
        return Some("a query string (tokens go there)");
    }
    None
}

/// `p` absolute, `.` and `..` taken out, and the part of it that exists with its
/// symbolic links resolved: two spellings of one folder compare equal, and
/// `starts_with` says whether one folder is inside another.
fn resolved(p: &Path) -> PathBuf {
    let absolute = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut normal = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    // The longest existing folder above, resolved, then the rest as written.
    let mut missing = Vec::new();
    let mut at = normal.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            return missing.iter().rev().fold(real, |acc, c| acc.join(c));
        }
        match (at.file_name(), at.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name.to_os_string());
                at = parent;
            }
            _ => return normal,
        }
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
