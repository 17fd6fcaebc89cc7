//! Every group form of a folder rendered into one config folder, in one process
//! (`maia fleet render`).
//!
//! The run does what `maia namespace render` does for each group, one group after the
//! other in the order of their group_IDs, and its result is the same, byte for byte:
//!
//! 1. the forms are read and checked, and each group's `credentials.yaml` read, on
//!    every core (the config folder is locked once, before);
//! 2. SSH ports are given in one sequential pass over the groups sorted by group_ID,
//!    through one [`FolderPorts`] that records each group's ports before the next
//!    group is allocated, exactly as the next run would find them in the ledger;
//! 3. the ledger is written, then every group is rendered and written on every core
//!    (a bundle is dropped as soon as it is written, so memory does not grow with the
//!    fleet); the config folder is synced once at the end.
//!
//! A group whose render stamp (see [`super::stamps`]) shows that it would be rendered
//! from the same inputs into files left as they were is neither rendered nor compared.
//!
//! A group that fails before its bundle is written (its environment file cannot be
//! fetched, its credentials.yaml lacks a key) would, run by run, have left its ports in
//! the ledger as they were: then step 2 is done again without it, and the groups whose
//! ports change are rendered again, until no new group fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use maia_deploy::Cluster;
use maia_deploy::workspace::deploy::RenderFacts;
use maia_deploy::workspace::folder::{
    self, ConfigFolder, CredentialsFile, FolderPorts, PortsLedger, namespace_conflict,
    subdomain_conflict,
};
use maia_render::workspace::{Bundle, SshPorts};
use maia_spec::workspace::WorkspaceSpec;
use maia_spec::workspace::cluster::Install;
use maia_spec::workspace::load::{self as ws, WorkspaceTexts};
use maia_spec::{Diagnostic, LoadOptions};

use crate::error::{Error, Result};
use crate::event::{Event, Sink};
use crate::gitops::{GitOpsSettings, Tree};
use crate::random::OsRandom;
use crate::workspace::render::{self as namespace, Allocated};

use super::stamps::{self, GroupStamp, RenderCache, Stamps};

/// Threads writing bundles per core: a write waits on the disk (each changed folder is
/// synced), so more threads than cores keep the cores busy.
const WRITERS_PER_CORE: usize = 4;

/// How a group came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Its first render into the folder (it had no credentials.yaml).
    New,
    /// Some of its files were written or removed.
    Changed,
    /// Every file already held what was rendered.
    Unchanged,
}

impl Status {
    /// The word the report uses.
    pub fn name(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
        }
    }
}

/// A group rendered and written.
#[derive(Debug)]
pub struct Done {
    /// How it came out.
    pub status: Status,
    /// Its bundle's folder.
    pub dir: PathBuf,
    /// Its members' SSH ports.
    pub ports: SshPorts,
    /// How many files were written.
    pub written: usize,
    /// How many files of an earlier render were removed.
    pub removed: usize,
    /// Its folder was created: the config folder must be synced.
    created: bool,
    /// Its folder in the GitOps tree was created: the tree's folder must be synced.
    tree_created: bool,
    /// What the next run needs to leave it alone when nothing changed.
    stamp: Option<GroupStamp>,
}

/// One form and what became of it.
#[derive(Debug)]
pub struct Entry {
    /// The group form.
    pub form: PathBuf,
    /// Its warnings.
    pub warnings: Vec<Diagnostic>,
    /// The group and its credentials.yaml, once the form is valid.
    pub(crate) group: Option<(WorkspaceSpec, Option<CredentialsFile>)>,
    /// None until the group is rendered or has failed.
    pub result: Option<Result<Done>>,
    /// What its cluster holds of it (`--from-cluster`): its credentials, its members'
    /// ports, the ports others hold, its claims and pods.
    facts: Option<RenderFacts>,
    /// Digest of the form's path and text, for its render stamp.
    form_digest: Option<[u8; 32]>,
}

/// The whole run.
#[derive(Debug)]
pub struct Fleet {
    /// The config folder.
    pub config_folder: PathBuf,
    /// The shared files' warnings.
    pub warnings: Vec<Diagnostic>,
    /// Each form, in the folder's order.
    pub entries: Vec<Entry>,
    /// The ports ledger.
    pub ledger: PathBuf,
    /// The ledger was written.
    pub ledger_written: bool,
    /// Syncing the config folder failed, after every group was written.
    pub folder_error: Option<Error>,
    /// The GitOps tree's folder and whether its ApplicationSet was written.
    pub tree: Option<(PathBuf, bool)>,
    /// The groups' facts were read from the cluster.
    pub from_cluster: bool,
}

/// What `maia fleet render` is asked.
#[derive(Debug, Clone)]
pub struct RenderInput {
    /// The folder of group forms (one per file).
    pub forms: PathBuf,
    /// The cluster config every group shares.
    pub cluster_config_file: PathBuf,
    /// The MAIA config every group shares.
    pub maia_config_file: Option<PathBuf>,
    /// The config folder the bundles are written under.
    pub config_folder: PathBuf,
    /// Only the minimal workspace.
    pub minimal: bool,
    /// A GitOps tree for Argo CD as well.
    pub gitops: Option<GitOpsSettings>,
    /// How unknown fields of the files are taken.
    pub options: LoadOptions,
    /// Where maia keeps its state on the cluster (read with a cluster).
    pub state_namespace: String,
    /// Where render stamps are kept, so that a group whose inputs and files did not
    /// change is not rendered again (see [`RenderCache`]); `None` renders and compares
    /// every group. Not used with a cluster or a GitOps tree.
    pub cache: Option<RenderCache>,
}

/// Renders every group form of a folder into one config folder, as `namespace
/// render` would one after the other (the same bytes), on every core. With `cluster`,
/// each group's credentials and ports are read from it first (nothing is written
/// there). A group's failure is in its entry; the error is for the run as a whole.
pub async fn render(
    args: &RenderInput,
    cluster: Option<&Cluster>,
    sink: &mut dyn Sink,
) -> Result<Fleet> {
    let tree = Tree::new(args.gitops.as_ref(), &args.config_folder)?;
    let forms = list_forms(&args.forms)?;
    let (shared, shared_warnings) = Shared::read(
        &args.cluster_config_file,
        args.maia_config_file.as_deref(),
        args.minimal,
        args.options,
    )?;
    // Held until the last bundle is written: other runs into the folder wait.
    let folder = ConfigFolder::lock(&args.config_folder)?;
    if let Some(tree) = &tree {
        // The lock taken, a half-written group folder there is a stopped run's.
        folder::remove_stale_temporaries(&tree.folder);
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let stamps = match (&args.cache, &tree, cluster) {
        (Some(cache), None, None) => shared.stamps(cache, &args.config_folder),
        _ => None,
    };

    let mut entries = parallel(forms, cores, |form| load_group(form, &shared, &folder));
    refuse_shared_namespaces(&mut entries);
    if let Some(tree) = &tree {
        // A group whose bundle folder is (or holds) the tree stops before writing.
        for e in entries.iter_mut().filter(|e| e.result.is_none()) {
            if let Some((spec, _)) = &e.group
                && let Err(err) = tree.check_group(&spec.group_id)
            {
                e.result = Some(Err(err));
            }
        }
    }
    // With a cluster, each group's facts are read (nothing is written there) before
    // any port is given: a group that cannot be read is not rendered.
    if let Some(cluster) = cluster {
        for e in entries.iter_mut().filter(|e| e.result.is_none()) {
            let Some((spec, _)) = &e.group else {
                continue;
            };
            let dir = folder.group_dir(&spec.group_id);
            let facts = match namespace::env_file(spec, &e.form, Some(&dir), false, sink) {
                Ok(env) => namespace::cluster_facts(
                    cluster,
                    &args.state_namespace,
                    spec,
                    &folder,
                    env.as_ref(),
                    sink,
                )
                .await
                .map_err(|err| namespace::in_form(err, &e.form)),
                Err(err) => Err(err),
            };
            match facts {
                Ok(f) => e.facts = Some(f),
                Err(err) => e.result = Some(Err(err)),
            }
        }
    }
    let mut order: Vec<usize> = (0..entries.len())
        .filter(|i| entries[*i].group.is_some() && entries[*i].result.is_none())
        .collect();
    order.sort_by(|a, b| group_id(&entries[*a]).cmp(group_id(&entries[*b])));

    let sample = OnceLock::new();
    let events = Mutex::new(Vec::new());
    let out = Out {
        folder: &folder,
        tree: tree.as_ref(),
        sample: &sample,
        events: &events,
        stamps: stamps.as_ref(),
    };
    let ledger_written = render_all(&mut entries, &order, &out, cores)?;
    if let Some(stamps) = &stamps {
        let mut kept = stamps.loaded().clone();
        for e in &entries {
            if let Some((spec, _)) = &e.group {
                match &e.result {
                    Some(Ok(Done {
                        stamp: Some(stamp), ..
                    })) => kept.insert(spec.group_id.clone(), stamp.clone()),
                    _ => kept.remove(&spec.group_id),
                };
            }
        }
        stamps.save(&kept);
    }
    for event in events.into_inner().unwrap_or_default() {
        sink.emit(event);
    }
    // The new group folders' names, once for all of them.
    let created = entries
        .iter()
        .any(|e| matches!(&e.result, Some(Ok(d)) if d.created));
    let mut folder_error = if created {
        folder::sync_dir(&args.config_folder).err().map(Error::from)
    } else {
        None
    };
    let mut tree_report = None;
    if let Some(tree) = &tree {
        let tree_created = entries
            .iter()
            .any(|e| matches!(&e.result, Some(Ok(d)) if d.tree_created));
        // The fleet's ApplicationSet, once a group shows which charts every group has.
        let set = match sample.get() {
            Some(sample) => tree.write_application_set(sample),
            None => Ok(false),
        }
        .and_then(|written| {
            if tree_created || written {
                folder::sync_dir(&tree.folder)?;
            }
            Ok(written)
        });
        match set {
            Ok(written) => tree_report = Some((tree.folder.clone(), written)),
            Err(e) => folder_error = folder_error.or(Some(e)),
        }
    }
    Ok(Fleet {
        config_folder: args.config_folder.clone(),
        warnings: shared_warnings,
        entries,
        ledger: folder.ledger_path(),
        ledger_written,
        folder_error,
        tree: tree_report,
        from_cluster: cluster.is_some(),
    })
}

/// Where rendered groups are written.
struct Out<'a> {
    folder: &'a ConfigFolder,
    tree: Option<&'a Tree>,
    /// The first group written: the ApplicationSet is made from its charts.
    sample: &'a OnceLock<Bundle>,
    /// What the groups' renders reported, sent once every group is written.
    events: &'a Mutex<Vec<Event>>,
    /// The render stamps of the last run, when they are used.
    stamps: Option<&'a Stamps>,
}

/// Gives the groups of `order` their ports, one after the other, writes the ledger,
/// then renders and writes every group on every core; again without the groups that
/// failed before they were written, until none does (see the module's doc). True when
/// the ledger was written.
fn render_all(entries: &mut [Entry], order: &[usize], out: &Out<'_>, cores: usize) -> Result<bool> {
    let folder = out.folder;
    let mut initial = FolderPorts::read(folder);
    // Every port the cluster's Services hold, the fleet's groups' included: each group
    // sets its own aside when it is given its ports, so none takes another's.
    let held: BTreeSet<u16> = entries
        .iter()
        .filter_map(|e| e.facts.as_ref())
        .flat_map(|f| f.ports.in_use.iter().chain(f.ports.kept.0.values()))
        .copied()
        .collect();
    initial.avoid(&held);
    // The ports each written bundle holds, and the groups that failed before writing.
    let mut written_with: BTreeMap<usize, SshPorts> = BTreeMap::new();
    let mut dropped: BTreeSet<usize> = BTreeSet::new();
    let mut ledger_on_disk: Option<PortsLedger> = None;
    loop {
        let mut ports = initial.clone();
        let mut stale = false;
        let mut todo = Vec::new();
        for &i in order.iter().filter(|i| !dropped.contains(i)) {
            let Some((spec, mut existing)) = entries[i].group.clone() else {
                continue;
            };
            let live = match &entries[i].facts {
                // The cluster's credentials win, its members keep their live ports.
                Some(facts) => {
                    let file = existing.get_or_insert_default();
                    file.credentials = facts.credentials.clone();
                    file.ssh_ports.0.extend(facts.ports.kept.0.clone());
                    facts.ports.kept.clone()
                }
                None => SshPorts::default(),
            };
            match namespace::allocate_live(spec, existing, &mut ports, &live) {
                Ok(allocated) => {
                    stale |= allocated.ledger_stale;
                    if let Ok(mut events) = out.events.lock() {
                        events.extend(allocated.warnings.iter().map(|message| Event::Warning {
                            message: message.clone(),
                        }));
                    }
                    if written_with.get(&i) != Some(&allocated.ports) {
                        todo.push((i, allocated));
                    }
                }
                Err(e) => entries[i].result = Some(Err(e)),
            }
        }
        // The ledger before the bundles: ports are reserved before any credentials.yaml
        // holds them, so a run stopped half-way never hands them out twice. A later
        // pass without a failed group writes it again.
        if stale || ledger_on_disk.is_some() {
            let ledger = ports.ledger();
            if ledger_on_disk.as_ref() != Some(ledger) {
                folder::write_ledger(&folder.ledger_path(), ledger)?;
                ledger_on_disk = Some(ledger.clone());
            }
        }
        let again: BTreeSet<usize> = todo
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| written_with.contains_key(i))
            .collect();
        let outcomes = parallel(todo, cores * WRITERS_PER_CORE, |(i, allocated)| {
            let e = &entries[i];
            let stamp = e.form_digest.as_ref().filter(|_| e.facts.is_none());
            (
                i,
                render_group(
                    allocated,
                    &e.form,
                    e.facts.as_ref(),
                    out,
                    again.contains(&i),
                    stamp,
                ),
            )
        });
        let mut failed = false;
        for (i, outcome) in outcomes {
            match outcome {
                Outcome::NotWritten(e) => {
                    dropped.insert(i);
                    failed = true;
                    entries[i].result = Some(Err(e));
                }
                Outcome::WriteFailed(e, ports) => {
                    // Some of its files may be written: it keeps its ports.
                    written_with.insert(i, ports);
                    entries[i].result = Some(Err(e));
                }
                Outcome::Written(done) => {
                    written_with.insert(i, done.ports.clone());
                    entries[i].record(done);
                }
            }
        }
        if !failed {
            return Ok(ledger_on_disk.is_some());
        }
    }
}

impl Entry {
    /// Keeps what writing the group did, added to what an earlier pass did.
    fn record(&mut self, mut done: Done) {
        let first = self.group.as_ref().is_some_and(|(_, e)| e.is_none());
        if let Some(Ok(earlier)) = &self.result {
            done.written += earlier.written;
            done.removed += earlier.removed;
            done.created |= earlier.created;
            done.tree_created |= earlier.tree_created;
        }
        done.status = if first {
            Status::New
        } else if done.written + done.removed > 0 {
            Status::Changed
        } else {
            Status::Unchanged
        };
        self.result = Some(Ok(done));
    }
}

fn group_id(entry: &Entry) -> &str {
    entry
        .group
        .as_ref()
        .map_or("", |(spec, _)| spec.group_id.as_str())
}

/// The forms of `dir`: its *.yaml, *.yml and *.json files, sorted by name.
pub fn list_forms(dir: &Path) -> Result<Vec<PathBuf>> {
    let unreadable = |e: std::io::Error| Error::Usage {
        message: format!(
            "cannot read the folder of group forms {}: {e}",
            dir.display()
        ),
        hint: Some("--forms names a folder holding one group form per file".into()),
    };
    let mut forms: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["yaml", "yml", "json"].contains(&e.to_ascii_lowercase().as_str()))
                && p.is_file()
        })
        .collect();
    forms.sort();
    if forms.is_empty() {
        return Err(Error::Usage {
            message: format!("{} holds no group form", dir.display()),
            hint: Some("group forms are the folder's *.yaml, *.yml and *.json files".into()),
        });
    }
    Ok(forms)
}

/// What every group is rendered with: the cluster and MAIA configs, read and checked
/// once (their warnings printed once).
pub(crate) struct Shared {
    cluster: (String, String),
    maia: Option<(String, String)>,
    minimal: bool,
    options: LoadOptions,
}

impl Shared {
    pub(crate) fn read(
        cluster_config_file: &Path,
        maia_config_file: Option<&Path>,
        minimal: bool,
        options: LoadOptions,
    ) -> Result<(Shared, Vec<Diagnostic>)> {
        let name = |p: &Path| p.to_string_lossy().into_owned();
        let cluster = (
            name(cluster_config_file),
            ws::read_cluster_file(cluster_config_file)?,
        );
        let maia = match maia_config_file {
            Some(p) => Some((name(p), ws::read_maia_file(p)?)),
            None => None,
        };
        let install = if minimal {
            Install::Minimal
        } else {
            Install::Full
        };
        let (_, mut warnings) =
            ws::check_cluster_text((cluster.0.as_str(), &cluster.1), install, None, options)?;
        if let Some((name, text)) = &maia {
            warnings.extend(ws::check_maia_text((name.as_str(), text), options)?.1);
        }
        Ok((
            Shared {
                cluster,
                maia,
                minimal,
                options,
            },
            warnings,
        ))
    }

    /// Reads and checks a form; its own warnings (the shared files' were printed once).
    pub(crate) fn load(&self, form: &Path) -> Result<(WorkspaceSpec, Vec<Diagnostic>)> {
        self.load_digest(form)
            .map(|(spec, warnings, _)| (spec, warnings))
    }

    /// The render stamps of `config_folder` (locked), for groups rendered with these
    /// shared files and options.
    fn stamps(&self, cache: &RenderCache, config_folder: &Path) -> Option<Stamps> {
        let options = format!("{:?} minimal={}", self.options, self.minimal);
        let (maia_name, maia_text) = match &self.maia {
            Some((n, t)) => (n.as_bytes(), t.as_bytes()),
            None => (&b"no MAIA config"[..], &b""[..]),
        };
        Stamps::load(
            cache,
            config_folder,
            &[
                options.as_bytes(),
                self.cluster.0.as_bytes(),
                self.cluster.1.as_bytes(),
                maia_name,
                maia_text,
            ],
        )
    }

    /// [`Shared::load`], and a digest of the form's path and text (its render stamp's).
    fn load_digest(&self, form: &Path) -> Result<(WorkspaceSpec, Vec<Diagnostic>, [u8; 32])> {
        let name = form.to_string_lossy().into_owned();
        let text = ws::read_group_file(form)?;
        let digest = stamps::form_digest(form, &text);
        let loaded = ws::load_str(
            WorkspaceTexts {
                group: (&name, &text),
                cluster: (&self.cluster.0, &self.cluster.1),
                maia: self.maia.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
            },
            self.minimal,
            self.options,
        )?;
        let warnings = loaded
            .warnings
            .into_iter()
            .filter(|d| d.file == form)
            .collect();
        Ok((loaded.spec, warnings, digest))
    }
}

/// Reads and checks a form, then its group's credentials.yaml (the folder locked).
fn load_group(form: PathBuf, shared: &Shared, folder: &ConfigFolder) -> Entry {
    let loaded = shared.load_digest(&form);
    let mut entry = Entry {
        form,
        warnings: Vec::new(),
        group: None,
        result: None,
        facts: None,
        form_digest: None,
    };
    match loaded {
        Ok((spec, warnings, digest)) => {
            entry.warnings = warnings;
            entry.form_digest = Some(digest);
            let dir = folder.group_dir(&spec.group_id);
            match folder::read_credentials(&dir) {
                Ok(existing) => entry.group = Some((spec, existing)),
                Err(e) => entry.result = Some(Err(e.into())),
            }
        }
        Err(e) => entry.result = Some(Err(e)),
    }
    entry
}

/// Two forms whose groups map to one namespace: an error for each (run one by one,
/// the second would be refused; here neither is preferred).
fn refuse_shared_namespaces(entries: &mut [Entry]) {
    let groups: Vec<Option<(&WorkspaceSpec, &Path)>> = entries
        .iter()
        .map(|e| match (&e.group, &e.result) {
            (Some((spec, _)), None) => Some((spec, e.form.as_path())),
            _ => None,
        })
        .collect();
    for (i, error) in shared_namespaces(&groups) {
        entries[i].result = Some(Err(error.into()));
    }
}

/// For each group (by its place in `groups`; `None` for a form that failed) whose
/// namespace another group of the fleet maps to too, or whose group_subdomain another
/// group has too (one host for both), the error that refuses it.
pub(crate) fn shared_namespaces(
    groups: &[Option<(&WorkspaceSpec, &Path)>],
) -> Vec<(usize, maia_deploy::DeployError)> {
    let mut by_namespace: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (spec, _)) in groups
        .iter()
        .enumerate()
        .filter_map(|(i, g)| Some((i, (*g)?)))
    {
        by_namespace
            .entry(spec.namespace.as_str())
            .or_default()
            .push(i);
    }
    let mut errors = Vec::new();
    for shared in by_namespace.values().filter(|v| v.len() > 1) {
        for &i in shared {
            let others: Vec<String> = shared
                .iter()
                .filter(|j| **j != i)
                .filter_map(|j| groups[*j])
                .map(|(spec, form)| format!("group {} of {}", spec.group_id, form.display()))
                .collect();
            if let Some((spec, _)) = groups[i] {
                errors.push((i, namespace_conflict(spec, &others.join(" and "))));
            }
        }
    }
    // A shared namespace is one error enough; the rest by subdomain.
    let refused: BTreeSet<usize> = errors.iter().map(|(i, _)| *i).collect();
    let mut by_subdomain: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (spec, _)) in groups
        .iter()
        .enumerate()
        .filter(|(i, _)| !refused.contains(i))
        .filter_map(|(i, g)| Some((i, (*g)?)))
    {
        by_subdomain
            .entry(spec.subdomain.as_str())
            .or_default()
            .push(i);
    }
    for shared in by_subdomain.values().filter(|v| v.len() > 1) {
        for &i in shared {
            let others: Vec<String> = shared
                .iter()
                .filter(|j| **j != i)
                .filter_map(|j| groups[*j])
                .map(|(spec, form)| format!("group {} of {}", spec.group_id, form.display()))
                .collect();
            if let Some((spec, _)) = groups[i] {
                errors.push((i, subdomain_conflict(spec, &others.join(" and "))));
            }
        }
    }
    errors
}

/// What rendering and writing one group came to.
enum Outcome {
    Written(Done),
    /// Failed before any file was written: its ports go back.
    NotWritten(Error),
    /// Failed while writing: its files may be partly written, with these ports.
    WriteFailed(Error, SshPorts),
}

/// Renders and writes one group. `again`: an earlier pass wrote it with other ports;
/// the credentials it drew then are in its credentials.yaml and are kept.
/// `form_digest`: the form's, when the group may be left alone on the strength of its
/// render stamp (see [`super::stamps`]) and is stamped once written.
fn render_group(
    mut allocated: Allocated,
    form: &Path,
    facts: Option<&RenderFacts>,
    out: &Out<'_>,
    again: bool,
    form_digest: Option<&[u8; 32]>,
) -> Outcome {
    let folder = out.folder;
    let dir = folder.group_dir(&allocated.spec.group_id);
    let stamps = out.stamps.zip(form_digest);
    let prepared = (|| {
        if again {
            allocated.existing = folder::read_credentials(&dir)?;
        }
        let mut seen = Vec::new();
        let env = namespace::env_file(&allocated.spec, form, Some(&dir), false, &mut |e| {
            seen.push(e)
        });
        if let Ok(mut events) = out.events.lock() {
            events.extend(seen);
        }
        let env = env?;
        if let Some((stamps, form)) = stamps.filter(|_| !again) {
            let print = stamps.fingerprint(
                form,
                allocated.existing.as_ref(),
                &allocated.ports,
                env.as_ref(),
            );
            if let Some(stamp) = stamps.check(&allocated.spec.group_id, &dir, &print) {
                // Rendered from the same inputs, its files as they were left: nothing
                // to render, write or compare.
                return Ok(Prepared::Unchanged(Done {
                    status: Status::Unchanged,
                    dir: dir.clone(),
                    ports: allocated.ports.clone(),
                    written: 0,
                    removed: 0,
                    created: false,
                    tree_created: false,
                    stamp: Some(stamp),
                }));
            }
        }
        namespace::render_allocated_from(allocated, folder, &mut OsRandom, &[], env.as_ref(), facts)
            .map(|rendered| Prepared::Rendered(Box::new(rendered), env))
            .map_err(|e| namespace::in_form(e, form))
    })();
    let (rendered, env) = match prepared {
        Ok(Prepared::Rendered(r, env)) => (r, env),
        Ok(Prepared::Unchanged(done)) => return Outcome::Written(done),
        Err(e) => return Outcome::NotWritten(e),
    };
    let ports = rendered.bundle.ssh_ports.clone();
    let written = namespace::write_group(&rendered).and_then(|report| {
        let tree = match out.tree {
            Some(tree) => {
                Some(tree.write_group(&rendered.spec, &rendered.bundle, &rendered.files)?)
            }
            None => None,
        };
        Ok((report, tree))
    });
    match written {
        Ok((report, tree)) => {
            if out.tree.is_some() {
                out.sample.get_or_init(|| rendered.bundle.clone());
            }
            let tree = tree.unwrap_or_default();
            // Stamped with what the next run reads: the credentials.yaml just written.
            let stamp = stamps.and_then(|(stamps, form)| {
                let written = CredentialsFile {
                    credentials: rendered.bundle.credentials.clone(),
                    ssh_ports: rendered.bundle.ssh_ports.clone(),
                };
                let print = stamps.fingerprint(form, Some(&written), &ports, env.as_ref());
                GroupStamp::record(&dir, &rendered.files, print)
            });
            Outcome::Written(Done {
                status: Status::Unchanged,
                dir,
                ports,
                written: report.written.len() + tree.written.len(),
                removed: report.removed.len() + tree.removed.len(),
                created: report.created,
                tree_created: tree.created,
                stamp,
            })
        }
        Err(e) => Outcome::WriteFailed(e, ports),
    }
}

/// A group's render, or what is left of it when its render stamp shows nothing to do.
enum Prepared {
    Rendered(
        Box<namespace::Rendered>,
        Option<maia_render::workspace::EnvFile>,
    ),
    Unchanged(Done),
}

/// Runs `f` on every item on `threads` threads, each taking the next item left;
/// the results are in the items' order. A panic in `f` is a panic here.
fn parallel<T: Send, R: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let count = items.len();
    let items: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, count.max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = items.get(i) else {
                            return done;
                        };
                        let item = slot.lock().map(|mut s| s.take()).ok().flatten();
                        if let Some(item) = item {
                            done.push((i, f(item)));
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => {
                    for (i, r) in done {
                        out[i] = Some(r);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out.into_iter().flatten().collect()
}

impl Fleet {
    /// The groups that failed, and why.
    pub fn errors(&self) -> impl Iterator<Item = &Error> {
        self.entries
            .iter()
            .filter_map(|e| e.result.as_ref().and_then(|r| r.as_ref().err()))
    }

    /// How many groups came out as `status` (the failed ones with `None`).
    pub fn count(&self, status: Option<Status>) -> usize {
        self.entries
            .iter()
            .filter(|e| match (&e.result, status) {
                (Some(Ok(d)), Some(s)) => d.status == s,
                (Some(Err(_)), None) => true,
                _ => false,
            })
            .count()
    }

    /// The groups rendered for the first time, which drew their credentials: their
    /// bundles are for new workspaces.
    pub fn new_groups(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| matches!(&e.result, Some(Ok(d)) if d.status == Status::New))
            .filter_map(|e| e.group.as_ref().map(|(spec, _)| spec.group_id.as_str()))
            .collect()
    }
}

impl Entry {
    /// The group's group_ID and namespace, once its form is valid.
    pub fn group(&self) -> Option<(&str, &str)> {
        self.group
            .as_ref()
            .map(|(spec, _)| (spec.group_id.as_str(), spec.namespace.as_str()))
    }
}
