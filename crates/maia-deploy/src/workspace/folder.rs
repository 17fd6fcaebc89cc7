//! The config folder's side of a workspace's facts: each group's `credentials.yaml`
//! and the SSH ports of every group rendered under the folder. Every run that reads or
//! writes them holds an advisory lock on the folder, so concurrent renders into one
//! folder are serialised (and can no longer hand two groups the same port), and every
//! file is replaced atomically (unique temporary name, rename), so a failed write or a
//! full disk leaves the old file or the new one, never half. `credentials.yaml` and the
//! ledger, which cannot be rendered again, are synced to disk before they replace the
//! old ones; the rest of a bundle is synced a folder at a time, and a group's first
//! render is written whole elsewhere and renamed into place once (see
//! [`write_bundle`]). What a stopped run leaves (`.*.maia-tmp`) is removed by the next
//! run that takes the lock.
//!
//! The stores: [`FolderCredentials`] (a group's `credentials.yaml`, a
//! `CredentialStore` as the cluster's Secret is) and [`FolderPorts`] (the ports ledger,
//! as the cluster's live Services are for a deploy).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use maia_render::workspace::ports::{self, InUse, PortsExhausted};
use maia_render::workspace::text::{BundleFile, credentials_header};
use maia_render::workspace::{Credentials, SshPorts};
use maia_spec::workspace::WorkspaceSpec;
use serde::{Deserialize, Serialize};

use super::facts::{CredentialStore, PortFacts};
use crate::error::{DeployError, Result};

/// maia's own files under the config folder. A group_ID cannot name it: a namespace
/// cannot start with '.'.
const STATE_DIR: &str = ".maia";
/// The advisory lock, inside [`STATE_DIR`].
const LOCK_FILE: &str = "lock";
/// The SSH ports of every group, inside [`STATE_DIR`].
const PORTS_LEDGER: &str = "ssh-ports.json";
/// Where the ledger was kept before it moved into [`STATE_DIR`]; read when the new one
/// is missing.
const OLD_PORTS_LEDGER: &str = "ssh-ports.json";
/// Each group's credentials and SSH ports, in its folder.
pub use maia_render::workspace::text::CREDENTIALS_FILE;

/// The config folder, locked for this run (the lock is released when it is dropped).
#[derive(Debug)]
pub struct ConfigFolder {
    pub(crate) path: PathBuf,
    _lock: File,
}

impl ConfigFolder {
    /// Locks `path` (creating it and its state folder when missing). When another run
    /// holds the lock, says so once on stderr and waits for it.
    pub fn lock(path: &Path) -> Result<ConfigFolder> {
        let state = path.join(STATE_DIR);
        // The config folder holds every group's credentials: the owner's alone.
        create_dirs(&state, SECRET_DIR_MODE).map_err(|e| state_error(&state, e))?;
        warn_if_others_may_write(path);
        let lock_path = state.join(LOCK_FILE);
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                // Not the umask's 0666: no one else may take the lock.
                .mode(0o600)
                .open(&lock_path)
        }
        .map_err(|e| state_error(&lock_path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                eprintln!(
                    "waiting for another maia run (it holds {})",
                    lock_path.display()
                );
                file.lock().map_err(|e| state_error(&lock_path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(state_error(&lock_path, e)),
        }
        let removed = remove_stale_temporaries(path);
        if removed > 0 {
            eprintln!(
                "removed {removed} temporary file(s) under {} that a killed maia run left (they may hold passwords)",
                path.display()
            );
        }
        Ok(ConfigFolder {
            path: path.to_path_buf(),
            _lock: file,
        })
    }

    /// The folder of one group's bundle.
    pub fn group_dir(&self, group_id: &str) -> PathBuf {
        self.path.join(group_id)
    }

    /// Where the ports ledger is kept.
    pub fn ledger_path(&self) -> PathBuf {
        self.path.join(STATE_DIR).join(PORTS_LEDGER)
    }
}

/// Folders holding secrets (the config folder, a group's bundle): the owner's alone.
pub const SECRET_DIR_MODE: u32 = 0o700;
/// Other folders maia creates (the GitOps tree, `app render --out`).
pub const DIR_MODE: u32 = 0o755;

/// Creates `dir` and the folders above it that are missing, each with exactly `mode`
/// whatever the umask (under umask 000 they would be world-writable, and anyone could
/// plant a link where maia writes next). Returns the folders it created, innermost
/// first.
pub fn create_dirs(dir: &Path, mode: u32) -> std::io::Result<Vec<PathBuf>> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    if missing.is_empty() {
        return Ok(missing);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)?;
    // The umask may have narrowed the mode.
    for d in &missing {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(missing)
}

/// Says on stderr when anyone may write to the config folder (made by an older maia
/// under umask 000, or a shared folder such as /tmp): they could plant a group's
/// folder, a link in it or its credentials.yaml before maia writes there.
fn warn_if_others_may_write(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o002 != 0
    {
        eprintln!(
            "warning: the config folder {} is writable by others (mode {:o}): anyone could plant a group's folder or credentials.yaml there; `chmod 700 {}` it (maia makes its own folders 0700)",
            path.display(),
            meta.permissions().mode() & 0o7777,
            path.display()
        );
    }
}

/// The mode of the folders a file of `mode` is created in: a file only its owner may
/// read is a secret, and so is the folder's listing.
fn dir_mode_for(file_mode: u32) -> u32 {
    if file_mode & 0o077 == 0 {
        SECRET_DIR_MODE
    } else {
        DIR_MODE
    }
}

/// Removes the `.NAME.PID.N.maia-tmp` files and folders (a group's first bundle, see
/// `write_new_bundle`) under `root` (symbolic links are not followed) whose writer is no
/// longer running: a run killed between writing one and renaming it left it, and it
/// holds what the file would (passwords). Called with the
/// folder locked, so no writer of ours is midway; a file whose process still runs is
/// left, in case something writes there without the lock. Returns how many it removed.
pub fn remove_stale_temporaries(root: &Path) -> usize {
    let mut removed = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() && name.ends_with(TMP_SUFFIX) && !writer_runs(&name) {
                // A group's first bundle, never renamed into place (see
                // `write_new_bundle`): the whole folder goes.
                if std::fs::remove_dir_all(entry.path()).is_ok() {
                    removed += 1;
                }
            } else if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file()
                && name.ends_with(TMP_SUFFIX)
                && !writer_runs(&name)
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

/// The suffix of [`write_atomic`]'s temporary files.
const TMP_SUFFIX: &str = ".maia-tmp";

/// Whether the process that named a temporary file (`.NAME.PID.N.maia-tmp`) runs.
fn writer_runs(name: &str) -> bool {
    let mut parts = name.trim_end_matches(TMP_SUFFIX).rsplit('.');
    let _counter = parts.next();
    let Some(pid) = parts.next().and_then(|p| p.parse::<i32>().ok()) else {
        return false;
    };
    if u32::try_from(pid).is_ok_and(|p| p == std::process::id()) {
        return true;
    }
    match rustix::process::Pid::from_raw(pid) {
        // Permission denied: it runs, as someone else.
        Some(pid) => !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        ),
        None => false,
    }
}

fn state_error(path: &Path, source: std::io::Error) -> DeployError {
    DeployError::FolderIo {
        path: path.display().to_string(),
        source,
    }
}

/// What `credentials.yaml` holds.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsFile {
    /// Every generated secret, by key.
    #[serde(default)]
    pub credentials: Credentials,
    /// Each user's SSH port.
    #[serde(default)]
    pub ssh_ports: SshPorts,
}

/// Reads a group's `credentials.yaml`: nothing when there is none; otherwise the file
/// must parse completely and hold no empty secret, or the run stops naming the file
/// (new passwords would lock the running workspace out).
pub fn read_credentials(dir: &Path) -> Result<Option<CredentialsFile>> {
    let path = dir.join(CREDENTIALS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(state_error(&path, e)),
    };
    let damaged = |reason: String| DeployError::CredentialsDamaged {
        path: path.display().to_string(),
        reason,
    };
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    if body.trim().is_empty() {
        return Err(damaged("it is empty".into()));
    }
    // The parser's message names the position, never the values around it.
    let file: CredentialsFile = yaml_serde::from_str(&text).map_err(|e| {
        damaged(match e.location() {
            Some(l) => format!(
                "it does not parse (line {} column {})",
                l.line(),
                l.column()
            ),
            None => "it does not parse".into(),
        })
    })?;
    if let Some((key, _)) = file.credentials.0.iter().find(|(_, v)| v.is_empty()) {
        return Err(damaged(format!("the secret {key:?} is empty")));
    }
    Ok(Some(file))
}

/// One group's `credentials.yaml` under the locked config folder: the credentials of
/// earlier runs and the group's SSH ports, written mode 0600.
#[derive(Debug)]
pub struct FolderCredentials<'a> {
    folder: &'a ConfigFolder,
    group_id: String,
    namespace: String,
}

impl<'a> FolderCredentials<'a> {
    /// The store of `spec`'s group under `folder`.
    pub fn new(folder: &'a ConfigFolder, spec: &WorkspaceSpec) -> FolderCredentials<'a> {
        FolderCredentials {
            folder,
            group_id: spec.group_id.clone(),
            namespace: spec.namespace.to_string(),
        }
    }

    /// The group's `credentials.yaml`.
    pub fn path(&self) -> PathBuf {
        self.folder.group_dir(&self.group_id).join(CREDENTIALS_FILE)
    }

    /// The whole file, ports included; nothing when there is none (see
    /// [`read_credentials`]).
    pub fn read(&self) -> Result<Option<CredentialsFile>> {
        read_credentials(&self.folder.group_dir(&self.group_id))
    }

    /// The file's text: its header comment, then the YAML.
    pub(crate) fn text(&self, file: &CredentialsFile) -> Result<String> {
        Ok(format!(
            "{}{}",
            credentials_header(&self.group_id, &self.namespace),
            credentials_text(file)?
        ))
    }

    /// Replaces the file (atomically, mode 0600); false when it already held `file`.
    pub(crate) fn write(&self, file: &CredentialsFile) -> Result<bool> {
        let path = self.path();
        make_parent(&path, 0o600)?;
        update_file(&path, &self.text(file)?, 0o600, Durability::Now)
    }
}

impl CredentialStore for FolderCredentials<'_> {
    async fn load(&self) -> Result<Credentials> {
        Ok(self.read()?.unwrap_or_default().credentials)
    }

    /// Keeps `credentials`, and the group's SSH ports the file already lists.
    async fn save(&self, credentials: &Credentials) -> Result<bool> {
        let mut file = self.read()?.unwrap_or_default();
        file.credentials = credentials.clone();
        self.write(&file)
    }
}

/// The text of `credentials.yaml` (without the header comment the caller adds).
pub fn credentials_text(file: &CredentialsFile) -> Result<String> {
    yaml_serde::to_string(file).map_err(|e| DeployError::FolderIo {
        path: CREDENTIALS_FILE.into(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Group ID → its users' SSH ports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PortsLedger(pub BTreeMap<String, SshPorts>);

impl PortsLedger {
    /// Every port some group other than `group_id` has.
    pub(crate) fn in_use_by_others(&self, group_id: &str) -> BTreeSet<u16> {
        self.0
            .iter()
            .filter(|(g, _)| g.as_str() != group_id)
            .flat_map(|(_, p)| p.0.values().copied())
            .collect()
    }
}

/// Which groups hold each port, and which ports any does, kept beside the ledger: a
/// fleet of groups is allocated one after the other without building the set of ports
/// in use anew for each (which grew with the folder, so a fleet took quadratic time).
#[derive(Debug, Clone)]
struct PortIndex {
    /// How many members of the ledger's groups hold each port.
    holders: Vec<u32>,
    /// One bit a port: set when some member holds it.
    taken: Vec<u64>,
    /// How many ports are held.
    distinct: usize,
}

impl PortIndex {
    fn new() -> PortIndex {
        let ports = usize::from(u16::MAX) + 1;
        PortIndex {
            holders: vec![0; ports],
            taken: vec![0; ports / 64],
            distinct: 0,
        }
    }

    fn add(&mut self, ports: &SshPorts) {
        for &p in ports.0.values() {
            let held = &mut self.holders[usize::from(p)];
            if *held == 0 {
                self.taken[usize::from(p / 64)] |= 1 << (p % 64);
                self.distinct += 1;
            }
            *held += 1;
        }
    }

    fn remove(&mut self, ports: &SshPorts) {
        for &p in ports.0.values() {
            let held = &mut self.holders[usize::from(p)];
            *held = held.saturating_sub(1);
            if *held == 0 && self.taken[usize::from(p / 64)] & (1 << (p % 64)) != 0 {
                self.taken[usize::from(p / 64)] &= !(1 << (p % 64));
                self.distinct -= 1;
            }
        }
    }
}

impl InUse for PortIndex {
    fn contains(&self, port: u16) -> bool {
        self.taken[usize::from(port / 64)] & (1 << (port % 64)) != 0
    }

    fn count(&self) -> usize {
        self.distinct
    }

    /// A word of 64 ports at a time.
    fn first_free(&self, from: u16, to: u16) -> Option<u16> {
        let mut word = usize::from(from / 64);
        // Ports below `from` in its word count as taken.
        let mut bits = self.taken[word] | ((1u64 << (from % 64)) - 1);
        loop {
            if bits != u64::MAX {
                let port = word * 64 + (!bits).trailing_zeros() as usize;
                return u16::try_from(port).ok().filter(|p| *p <= to);
            }
            word += 1;
            if word >= self.taken.len() || word * 64 > usize::from(to) {
                return None;
            }
            bits = self.taken[word];
        }
    }
}

/// `spec`'s group maps to the namespace `holder` (e.g. "group Brain_MRI under out")
/// already has.
pub fn namespace_conflict(spec: &WorkspaceSpec, holder: &str) -> DeployError {
    DeployError::FolderConflict {
        message: format!(
            "group {} maps to namespace {}, which {holder} already has",
            spec.group_id, spec.namespace
        ),
        hint: "group IDs that differ only in case, '_' or '.' share a namespace: rename one group"
            .into(),
    }
}

/// Two groups given one `group_subdomain` (the second, `holder`, described by the
/// caller): every Ingress of both would serve one host.
pub fn subdomain_conflict(spec: &WorkspaceSpec, holder: &str) -> DeployError {
    DeployError::FolderConflict {
        message: format!(
            "group {}'s group_subdomain {} (host {}) is {holder}'s too: every URL of both groups would be one",
            spec.group_id,
            spec.subdomain,
            spec.hub_host()
        ),
        hint: "give each group its own group_subdomain in its form".into(),
    }
}

/// Where the SSH ports in use are read from: the cluster's live Services
/// ([`ClusterPorts`]) or the config folder's ledger ([`FolderPorts`]). Only tests read
/// through it: a deploy calls `read_ports`, a render [`FolderPorts::facts`].
#[cfg(test)]
pub(crate) trait PortSource {
    /// The ports `spec`'s users have now (`kept`) and every port someone else holds.
    async fn port_facts(&self, spec: &WorkspaceSpec) -> Result<PortFacts>;
}

/// The cluster's ports: `read_ports`.
#[cfg(test)]
#[derive(Clone, Copy)]
pub(crate) struct ClusterPorts<'a> {
    pub(crate) cluster: &'a maia_kube::cluster::Cluster,
}

#[cfg(test)]
impl PortSource for ClusterPorts<'_> {
    async fn port_facts(&self, spec: &WorkspaceSpec) -> Result<PortFacts> {
        super::facts::read_ports(self.cluster, spec).await
    }
}

/// The config folder's ports: the group's own from its `credentials.yaml`, the other
/// groups' from the ledger (read once, under the folder's lock). One value serves a
/// whole fleet: each group allocated through it is recorded, so the next one avoids
/// its ports, as a later run would.
#[derive(Debug, Clone)]
pub struct FolderPorts<'a> {
    folder: &'a ConfigFolder,
    ledger: PortsLedger,
    from_file: bool,
    index: PortIndex,
    /// Namespace → the groups of the ledger mapping to it.
    namespaces: BTreeMap<String, BTreeSet<String>>,
}

impl<'a> FolderPorts<'a> {
    /// Reads the ledger (see [`read_ledger`]).
    pub fn read(folder: &'a ConfigFolder) -> FolderPorts<'a> {
        let (ledger, from_file) = read_ledger(folder);
        let mut index = PortIndex::new();
        let mut namespaces: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (group, ports) in &ledger.0 {
            index.add(ports);
            namespaces
                .entry(maia_spec::names::suggest_label(group))
                .or_default()
                .insert(group.clone());
        }
        FolderPorts {
            folder,
            ledger,
            from_file,
            index,
            namespaces,
        }
    }

    /// Refuses a group whose namespace another group of the folder already has
    /// (`Brain_MRI`, `Brain.MRI` and `brain-mri` all map to `brain-mri`).
    pub fn check_namespace(&self, spec: &WorkspaceSpec) -> Result<()> {
        let holder = self
            .namespaces
            .get(spec.namespace.as_str())
            .and_then(|groups| groups.iter().find(|g| **g != spec.group_id));
        match holder {
            None => Ok(()),
            Some(other) => Err(namespace_conflict(
                spec,
                &format!("group {other} under {}", self.folder.path.display()),
            )),
        }
    }

    /// Ports something outside the folder holds (the cluster's Services, when a render
    /// reads them): allocation avoids them; the ledger does not record them.
    pub fn avoid(&mut self, ports: &BTreeSet<u16>) {
        let held = SshPorts(ports.iter().map(|p| (p.to_string(), *p)).collect());
        self.index.add(&held);
    }

    /// The ledger, with what [`FolderPorts::record`] added so far.
    pub fn ledger(&self) -> &PortsLedger {
        &self.ledger
    }

    /// The facts, from files only.
    pub fn facts(&self, spec: &WorkspaceSpec) -> Result<PortFacts> {
        let kept = read_credentials(&self.folder.group_dir(&spec.group_id))?
            .map(|f| f.ssh_ports)
            .unwrap_or_default();
        Ok(PortFacts {
            kept,
            in_use: self.ledger.in_use_by_others(&spec.group_id),
        })
    }

    /// Gives `spec`'s users their ports (see [`ports::allocate`]): `kept` are those its
    /// `credentials.yaml` lists, every other group's are avoided. Records them, and
    /// says whether the ledger file must be written.
    pub fn allocate(
        &mut self,
        spec: &WorkspaceSpec,
        kept: &SshPorts,
    ) -> std::result::Result<(SshPorts, bool), PortsExhausted> {
        self.allocate_live(spec, kept, &SshPorts::default())
    }

    /// [`FolderPorts::allocate`] for a group whose members hold `live` on the cluster,
    /// among the ports [`FolderPorts::avoid`] was given (`fleet render --from-cluster`
    /// avoids every group's live ports at once, so that no group takes another's):
    /// the group's own are set aside while it is given its ports.
    pub fn allocate_live(
        &mut self,
        spec: &WorkspaceSpec,
        kept: &SshPorts,
        live: &SshPorts,
    ) -> std::result::Result<(SshPorts, bool), PortsExhausted> {
        // The group's own entry is not "in use by others": set it aside while allocating.
        let own = self.ledger.0.get(&spec.group_id);
        if let Some(own) = own {
            self.index.remove(own);
        }
        self.index.remove(live);
        let result = ports::allocate_in(&spec.users, kept, &self.index, spec.cluster.port_range);
        self.index.add(live);
        if let Some(own) = self.ledger.0.get(&spec.group_id) {
            self.index.add(own);
        }
        let ports = result?;
        let stale = self.record(&spec.group_id, &ports);
        Ok((ports, stale))
    }

    /// Records the ports `group_id` was given; true when the ledger file lacks them
    /// (or was missing) and must be written.
    pub fn record(&mut self, group_id: &str, ports: &SshPorts) -> bool {
        self.index.add(ports);
        let previous = self.ledger.0.insert(group_id.into(), ports.clone());
        match &previous {
            Some(old) => self.index.remove(old),
            None => {
                self.namespaces
                    .entry(maia_spec::names::suggest_label(group_id))
                    .or_default()
                    .insert(group_id.into());
            }
        }
        !self.from_file || previous.as_ref() != Some(ports)
    }

    /// The ledger, with what [`FolderPorts::record`] added.
    pub fn into_ledger(self) -> PortsLedger {
        self.ledger
    }
}

#[cfg(test)]
impl PortSource for FolderPorts<'_> {
    async fn port_facts(&self, spec: &WorkspaceSpec) -> Result<PortFacts> {
        self.facts(spec)
    }
}

/// What the ledger file says about itself (JSON has no comments).
const LEDGER_ABOUT: &str = "SSH ports of every group rendered under this folder, kept by maia so that no two groups share a port. Each group's credentials.yaml holds its own; this file is rebuilt from them when it is missing. A group's entry stays after its folder is removed (its Services may still run): delete the entry to free its ports.";

#[derive(Serialize)]
struct LedgerOut<'a> {
    about: &'static str,
    groups: &'a PortsLedger,
}

#[derive(Deserialize)]
struct LedgerIn {
    groups: PortsLedger,
}

/// Reads the ledger; without one (or with one that cannot be read) it is rebuilt from
/// the `credentials.yaml` of each group folder, which hold the same ports. The flag
/// says whether it came from the file.
pub fn read_ledger(folder: &ConfigFolder) -> (PortsLedger, bool) {
    for path in [folder.ledger_path(), folder.path.join(OLD_PORTS_LEDGER)] {
        match std::fs::read_to_string(&path) {
            Ok(text) => match serde_json::from_str::<LedgerIn>(&text) {
                Ok(ledger) => return (ledger.groups, path == folder.ledger_path()),
                Err(_) => eprintln!(
                    "warning: {} is unreadable; rebuilding it from the groups' credentials.yaml",
                    path.display()
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            // A directory (an old ledger path a group took) is not the ledger.
            Err(_) => continue,
        }
        break;
    }
    (ledger_from_group_folders(&folder.path), false)
}

fn ledger_from_group_folders(config_folder: &Path) -> PortsLedger {
    #[derive(Deserialize)]
    struct PortsOnly {
        #[serde(default)]
        ssh_ports: SshPorts,
    }
    let mut ledger = PortsLedger::default();
    let Ok(entries) = std::fs::read_dir(config_folder) else {
        return ledger;
    };
    for entry in entries.flatten() {
        let path = entry.path().join(CREDENTIALS_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match yaml_serde::from_str::<PortsOnly>(&text) {
            Ok(p) => {
                let group = entry.file_name().to_string_lossy().into_owned();
                ledger.0.insert(group, p.ssh_ports);
            }
            Err(_) => eprintln!(
                "warning: {} is unreadable; the SSH ports it lists are not avoided",
                path.display()
            ),
        }
    }
    ledger
}

/// The ledger file's text.
fn ledger_text(ledger: &PortsLedger) -> String {
    let mut text = serde_json::to_string_pretty(&LedgerOut {
        about: LEDGER_ABOUT,
        groups: ledger,
    })
    .unwrap_or_default();
    text.push('\n');
    text
}

/// Writes the ledger to `path` (atomically, mode 0644).
pub fn write_ledger(path: &Path, ledger: &PortsLedger) -> Result<()> {
    write_file(path, &ledger_text(ledger), 0o644)
}

/// What writing a bundle did.
#[derive(Debug, Default)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<PathBuf>,
    /// Files already holding exactly what was rendered (left untouched).
    pub unchanged: Vec<PathBuf>,
    /// Files of an earlier render that this one no longer produces.
    pub removed: Vec<PathBuf>,
    /// The group's folder was created: the folder above it must be synced (once, by the
    /// caller, however many groups it writes) for the new folder to outlive a crash.
    pub created: bool,
}

/// Writes a group's bundle into `dir` (call it with the config folder locked). A file
/// that already holds the same bytes and mode is left as it is, so a second run with
/// the same inputs touches nothing. Files of an earlier render under `manifests/` and
/// `helm/` that this render no longer produces are removed (those folders are maia's
/// alone).
///
/// Every file is replaced atomically (temporary file, rename), so no reader ever sees
/// half of one. What reaches the disk, and in which order, if the machine stops:
///
/// - `credentials.yaml` is the one file that cannot be rendered again (its secrets run
///   the workspace): its data is synced before it replaces the old one, then the
///   group's folder, so it is on disk before any Secret holding its values is renamed
///   into place.
/// - Every other file is derived from the config files and `credentials.yaml`. It is
///   renamed into place without syncing its data, and each folder that changed is
///   synced once at the end (one sync a folder rather than two a file: a first render
///   went from 42 syncs to 4, nearly half its time on ext4). A crash before then
///   leaves each such file old or new (ext4 writes a file renamed over another before
///   the rename; on file systems that do not, possibly empty); the next render
///   compares bytes and rewrites any that differ, so render again after a crash
///   before deploying.
///
/// A group's first render (nothing at `dir`, not even a link) is written another way:
/// whole, into a temporary folder renamed to `dir` once, with `credentials.yaml` the one
/// file synced (see `write_new_bundle`), so a run that stops part-way never leaves a
/// bundle lacking files.
///
/// The caller syncs the config folder when the group's folder was created
/// ([`WriteReport::created`]): once per run, however many groups it writes.
pub fn write_bundle(dir: &Path, files: &[BundleFile]) -> Result<WriteReport> {
    // A bundle (credentials.yaml, the Secrets' manifests) is the owner's alone; a tree
    // without a secret (the GitOps tree) may be read by others.
    let dir_mode = if files.iter().any(|f| f.secret) {
        SECRET_DIR_MODE
    } else {
        DIR_MODE
    };
    // Nothing at all there (not even a link): a first render, written whole elsewhere
    // and put in place at once (nothing inside can be a link).
    if std::fs::symlink_metadata(dir).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return write_new_bundle(dir, files, dir_mode);
    }
    // maia makes the folders inside the group's folder; a link there was planted, and
    // would take the Secrets' manifests elsewhere. Checked before the first write.
    for f in files {
        let mut at = dir.to_path_buf();
        for c in f.path.parent().into_iter().flat_map(Path::components) {
            at.push(c);
            if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(DeployError::LinkedFolder {
                    path: at.display().to_string(),
                });
            }
        }
    }
    let mut report = WriteReport::default();
    // Folders whose entries changed and are not synced yet.
    let mut unsynced = BTreeSet::new();
    report.created = make_dir(dir, dir_mode, &mut unsynced)?;
    // The folder above is the caller's to sync.
    unsynced.clear();
    // credentials.yaml first: the Secrets written after it hold its values. Then the
    // other files of the group's folder, synced with it, then those of its subfolders
    // (created first, so the group's folder is synced once).
    let (top, sub) = write_order(files);
    for f in &sub {
        if let Some(parent) = dir.join(&f.path).parent() {
            make_dir(parent, dir_mode, &mut unsynced)?;
        }
    }
    let mut bundle_paths = Vec::new();
    for (i, batch) in [top, sub].into_iter().enumerate() {
        for f in batch {
            let path = dir.join(&f.path);
            let mode = file_mode(f);
            let durability = if f.path == Path::new(CREDENTIALS_FILE) {
                Durability::Data
            } else {
                Durability::Later
            };
            if update_file(&path, &f.text, mode, durability)? {
                if let Some(parent) = path.parent() {
                    unsynced.insert(parent.to_path_buf());
                }
                report.written.push(path.clone());
            } else {
                report.unchanged.push(path.clone());
            }
            bundle_paths.push(path);
        }
        if i == 0 && unsynced.remove(dir) {
            sync_dir(dir)?;
        }
    }
    report.removed = remove_unrendered(dir, &bundle_paths)?;
    unsynced.extend(
        report
            .removed
            .iter()
            .filter_map(|p| p.parent().map(Path::to_path_buf)),
    );
    for d in &unsynced {
        sync_dir(d)?;
    }
    Ok(report)
}

/// The order a bundle's files are written in: credentials.yaml first (the Secrets
/// written after it hold its values), then the other files of the group's folder, then
/// those of its subfolders.
fn write_order(files: &[BundleFile]) -> (Vec<&BundleFile>, Vec<&BundleFile>) {
    let (mut top, sub): (Vec<&BundleFile>, Vec<&BundleFile>) =
        files.iter().partition(|f| f.path.components().count() == 1);
    top.sort_by_key(|f| f.path != Path::new(CREDENTIALS_FILE));
    (top, sub)
}

/// The mode a bundle file is written with.
fn file_mode(f: &BundleFile) -> u32 {
    if f.secret {
        0o600
    } else if f.executable {
        0o755
    } else {
        0o644
    }
}

/// A group's first render (see [`write_bundle`]): every file is written into a fresh
/// temporary folder beside `dir` (same file system, `mode` whatever the umask), and
/// that folder is renamed to `dir` once. A run that stops or fails part-way leaves no
/// `dir` at all, never a bundle lacking some of its files, and only a hidden
/// `.<group>.<pid>.<n>.maia-tmp` folder, which the next run under the config folder's
/// lock removes ([`remove_stale_temporaries`]).
///
/// One file is synced: `credentials.yaml`, whose secrets cannot be rendered again, is
/// on disk before its folder is renamed into place (its name in the new folder goes
/// with it on ext4, which syncs a new file's new parent folders when it has no journal
/// and commits them with it when it has one, and on XFS and btrfs). The rest is
/// derived from the config files and credentials.yaml and is not synced one by one:
/// the caller syncs the folder above once per run ([`WriteReport::created`]). A first
/// render of 1000 groups went from 4003 syncs and 21 000 renames to 1003 and 1000.
fn write_new_bundle(dir: &Path, files: &[BundleFile], mode: u32) -> Result<WriteReport> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    create_dirs(parent, mode).map_err(|source| write_error(parent, source))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(
        ".{name}.{}.{}{TMP_SUFFIX}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let make_dir = |d: &Path| {
        std::fs::DirBuilder::new().mode(mode).create(d)?;
        // The umask may have narrowed the mode.
        if umask_narrows(mode) {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    };
    make_dir(&tmp).map_err(|source| write_error(dir, source))?;
    let (top, sub) = write_order(files);
    let mut report = WriteReport {
        created: true,
        ..WriteReport::default()
    };
    let written = (|| {
        // The folders made so far (the temporary folder is empty): no stat per file.
        let mut made: Vec<PathBuf> = vec![tmp.clone()];
        for f in top.into_iter().chain(sub) {
            let at = tmp.join(&f.path);
            let fail = |source| write_error(&dir.join(&f.path), source);
            if let Some(d) = at
                .parent()
                .filter(|d| !made.iter().any(|m| m == d))
                .filter(|d| !d.is_dir())
            {
                // Missing folders of the file's path, outermost first.
                let mut missing: Vec<&Path> = d
                    .ancestors()
                    .take_while(|a| a.starts_with(&tmp) && !a.is_dir())
                    .collect();
                missing.reverse();
                for m in missing {
                    make_dir(m).map_err(fail)?;
                    made.push(m.to_path_buf());
                }
            }
            let file_mode = file_mode(f);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(file_mode)
                .open(&at)
                .map_err(fail)?;
            if umask_narrows(file_mode) {
                file.set_permissions(std::fs::Permissions::from_mode(file_mode))
                    .map_err(fail)?;
            }
            file.write_all(f.text.as_bytes()).map_err(fail)?;
            if f.path == Path::new(CREDENTIALS_FILE) {
                file.sync_all().map_err(fail)?;
                trace(Event::Synced(at.clone()));
            }
            report.written.push(dir.join(&f.path));
        }
        std::fs::rename(&tmp, dir).map_err(|source| write_error(dir, source))?;
        trace(Event::Renamed(tmp.clone(), dir.to_path_buf()));
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(report)
}

/// Whether the process's umask takes bits off `mode` when a file or folder is
/// created with it, so that its mode must be set again: true when the umask cannot be
/// read (`/proc/self/status`, read once; maia never changes its umask). A first render
/// creates 24 files and folders per group: a call each saved.
fn umask_narrows(mode: u32) -> bool {
    static UMASK: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    let umask = UMASK.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let value = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(value.trim(), 8).ok()
    });
    umask.is_none_or(|umask| mode & umask != 0)
}

/// Whether `name` is one of maia's temporary files or folders.
#[cfg(test)]
fn is_temp(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') && name.ends_with(TMP_SUFFIX)
}

/// What the writes did, in order, for tests of what reaches the disk when (recorded
/// only in tests).
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// A file or folder was synced.
    Synced(PathBuf),
    /// A file or folder was renamed (from, to).
    Renamed(PathBuf, PathBuf),
}

#[cfg(test)]
thread_local! {
    static EVENTS: std::cell::RefCell<Vec<Event>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
fn trace(event: Event) {
    EVENTS.with(|e| e.borrow_mut().push(event));
}

/// The events of this thread so far, cleared.
#[cfg(test)]
fn take_events() -> Vec<Event> {
    EVENTS.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

#[cfg(not(test))]
fn trace(_: Event) {}

/// Creates `dir` and the folders above it that are missing, with `mode`; each folder
/// that gained an entry is added to `unsynced`. True when `dir` was created.
fn make_dir(dir: &Path, mode: u32, unsynced: &mut BTreeSet<PathBuf>) -> Result<bool> {
    if dir.is_dir() {
        return Ok(false);
    }
    let missing = create_dirs(dir, mode).map_err(|source| write_error(dir, source))?;
    unsynced.extend(
        missing
            .iter()
            .filter_map(|d| d.parent().map(Path::to_path_buf)),
    );
    Ok(true)
}

/// Syncs a folder, so the names renamed or removed in it outlive a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|source| write_error(dir, source))?;
    trace(Event::Synced(dir.to_path_buf()));
    Ok(())
}

/// Removes the YAML files under `dir`'s `manifests/` and `helm/` not in `keep`.
fn remove_unrendered(dir: &Path, keep: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    // manifests/ and helm/ hold maia's YAML, env/ the environment file: what this
    // render does not produce is left from an earlier one.
    for sub in ["manifests", "helm", "env"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            let ours = sub == "env" || p.extension().is_some_and(|e| e == "yaml");
            // The entry's type comes with the listing; a link is followed.
            let file = entry
                .file_type()
                .is_ok_and(|t| t.is_file() || (t.is_symlink() && p.is_file()));
            if ours && file && !keep.contains(&p) {
                std::fs::remove_file(&p).map_err(|source| write_error(&p, source))?;
                removed.push(p);
            }
        }
    }
    removed.sort();
    Ok(removed)
}

/// What must be on disk when a write returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// The file's data and its folder's entry: nothing is left to the caller.
    Now,
    /// The file's data, before it replaces the old one; the caller syncs the folder.
    Data,
    /// Nothing: the caller syncs the folder, the data follows on write-back.
    Later,
}

/// Leaves a file that already holds `text` with `mode` alone, else replaces it; true
/// when it wrote.
/// The file's folder must exist.
fn update_file(path: &Path, text: &str, mode: u32, durability: Durability) -> Result<bool> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let same = File::open(path).is_ok_and(|mut f| {
        f.metadata()
            .is_ok_and(|m| m.permissions().mode() & 0o777 == mode && m.len() == text.len() as u64)
            && {
                let mut old = Vec::with_capacity(text.len());
                f.read_to_end(&mut old).is_ok() && old == text.as_bytes()
            }
    });
    if !same {
        write_atomic(path, text, mode, durability).map_err(|source| write_error(path, source))?;
    }
    Ok(!same)
}

/// [`write_atomic`], its failure naming the file.
/// Creates the file's folder when it is missing.
pub fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    make_parent(path, mode)?;
    write_atomic(path, text, mode, Durability::Now).map_err(|source| write_error(path, source))
}

/// [`write_file`] when `path` does not already hold `text` with `mode`; true when it
/// wrote.
pub fn update_file_now(path: &Path, text: &str, mode: u32) -> Result<bool> {
    make_parent(path, mode)?;
    update_file(path, text, mode, Durability::Now)
}

/// Creates the folder `path` (a file of `mode`) is in, when it is missing.
fn make_parent(path: &Path, mode: u32) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => create_dirs(dir, dir_mode_for(mode))
            .map(drop)
            .map_err(|source| write_error(dir, source)),
        _ => Ok(()),
    }
}

fn write_error(path: &Path, source: std::io::Error) -> DeployError {
    DeployError::FolderWrite {
        path: path.display().to_string(),
        source,
    }
}

/// Replaces `path` with `text` atomically: a temporary file with a name no other run
/// (or thread) uses, written, renamed over the old one; synced as `durability` says.
/// The temporary file is removed whatever fails. The folder must exist.
fn write_atomic(path: &Path, text: &str, mode: u32, durability: Durability) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}{TMP_SUFFIX}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        // Private while it is written: a run killed before the rename leaves a file
        // only its owner can read (it may hold passwords).
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        // Its final mode once complete (the umask may have narrowed it; secret files
        // must be exactly 0600).
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        if durability != Durability::Later {
            f.sync_all()?;
            trace(Event::Synced(tmp.clone()));
        }
        drop(f);
        std::fs::rename(&tmp, path)?;
        trace(Event::Renamed(tmp.clone(), path.to_path_buf()));
        if durability == Durability::Now {
            File::open(dir)?.sync_all()?;
            trace(Event::Synced(dir.to_path_buf()));
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = ConfigFolder::lock(dir.path()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            let _second = ConfigFolder::lock(&path).unwrap();
            tx.send(()).unwrap();
        });
        // Still held: the second run has not got it.
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(300))
                .is_err()
        );
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the second run gets the lock once the first lets go");
        waiter.join().unwrap();
    }

    fn ports(pairs: &[(&str, u16)]) -> SshPorts {
        SshPorts(pairs.iter().map(|(u, p)| (u.to_string(), *p)).collect())
    }

    #[tokio::test]
    async fn folder_credentials_are_a_private_credential_store_that_keeps_the_ports() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = ConfigFolder::lock(dir.path()).unwrap();
        let spec = WorkspaceSpec::test();
        let store = FolderCredentials::new(&folder, &spec);
        assert_eq!(store.path(), dir.path().join("Brain_MRI/credentials.yaml"));
        assert_eq!(store.load().await.unwrap(), Credentials::default());

        let file = CredentialsFile {
            credentials: Credentials([("mysql.password".to_string(), "s3cret".to_string())].into()),
            ssh_ports: ports(&[("alice@example.org", 30100)]),
        };
        assert!(store.write(&file).unwrap());
        assert!(
            !store.write(&file).unwrap(),
            "the same file is not rewritten"
        );
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(
            text.starts_with(&credentials_header("Brain_MRI", "brain-mri")),
            "{text}"
        );
        assert_eq!(
            std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );

        // Saving credentials keeps the group's ports.
        let more = Credentials(
            [
                ("mysql.password".to_string(), "s3cret".to_string()),
                ("minio.password".to_string(), "other".to_string()),
            ]
            .into(),
        );
        assert!(store.save(&more).await.unwrap());
        assert!(!store.save(&more).await.unwrap());
        assert_eq!(store.load().await.unwrap(), more);
        assert_eq!(store.read().unwrap().unwrap().ssh_ports, file.ssh_ports);
    }

    #[tokio::test]
    async fn folder_ports_keep_the_groups_own_and_avoid_every_other_groups() {
        let dir = tempfile::tempdir().unwrap();
        let folder = ConfigFolder::lock(dir.path()).unwrap();
        let spec = WorkspaceSpec::test();
        let ledger = PortsLedger(
            [
                (
                    "Brain_MRI".to_string(),
                    ports(&[("alice@example.org", 30100)]),
                ),
                (
                    "Lung_CT".to_string(),
                    ports(&[
                        ("carol@example.org", 30101),
                        ("bob.smith@example.org", 30102),
                    ]),
                ),
            ]
            .into(),
        );
        write_ledger(&folder.ledger_path(), &ledger).unwrap();
        // The group's own ports come from its credentials.yaml.
        let own = ports(&[("alice@example.org", 30105)]);
        FolderCredentials::new(&folder, &spec)
            .write(&CredentialsFile {
                credentials: Credentials::default(),
                ssh_ports: own.clone(),
            })
            .unwrap();

        let mut source = FolderPorts::read(&folder);
        let facts = source.port_facts(&spec).await.unwrap();
        assert_eq!(facts.kept, own);
        assert_eq!(facts.in_use, BTreeSet::from([30101, 30102]));
        source.check_namespace(&spec).unwrap();
        assert!(!source.record("Brain_MRI", &ports(&[("alice@example.org", 30100)])));
        assert!(source.record("Brain_MRI", &own), "a change is written");

        // Without the ledger it is rebuilt from the groups' credentials.yaml, and written.
        std::fs::remove_file(folder.ledger_path()).unwrap();
        let mut source = FolderPorts::read(&folder);
        assert_eq!(source.ledger.0.get("Brain_MRI"), Some(&own));
        assert!(source.record("Brain_MRI", &own));

        // Another group mapping to the same namespace is refused, naming both.
        let mut twin = spec.clone();
        twin.group_id = "brain.mri".into();
        let e = source.check_namespace(&twin).unwrap_err();
        assert!(e.to_string().contains("group Brain_MRI under"), "{e}");
        assert!(e.is_bad_input());
    }

    /// Groups allocated one after the other through one `FolderPorts` get what each
    /// would get from the ledger the previous one left: their own ports kept, every
    /// other group's avoided, a removed member's port free for the next group.
    #[test]
    fn allocating_group_after_group_avoids_what_each_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let folder = ConfigFolder::lock(dir.path()).unwrap();
        let group = |id: &str, users: &[&str]| {
            let mut spec = WorkspaceSpec::test();
            spec.group_id = id.into();
            spec.namespace = maia_spec::names::suggest_label(id).parse().unwrap();
            spec.users = users.iter().map(|u| u.to_string()).collect();
            spec.cluster.port_range = (100, 110);
            spec
        };
        let ledger = PortsLedger(
            [
                ("A".to_string(), ports(&[("a1", 100), ("a2", 101)])),
                ("B".to_string(), ports(&[("b1", 102)])),
            ]
            .into(),
        );
        write_ledger(&folder.ledger_path(), &ledger).unwrap();
        let mut source = FolderPorts::read(&folder);
        // A loses a2 (101 is free again) and keeps a1.
        let a = group("A", &["a1"]);
        let (given, stale) = source.allocate(&a, &ports(&[("a1", 100)])).unwrap();
        assert_eq!((given, stale), (ports(&[("a1", 100)]), true));
        // C is new: 101, then 103 (102 is B's).
        let c = group("C", &["c1", "c2"]);
        let (given, _) = source.allocate(&c, &SshPorts::default()).unwrap();
        assert_eq!(given, ports(&[("c1", 101), ("c2", 103)]));
        // B keeps its own port; nothing changes, nothing to write for it.
        let b = group("B", &["b1"]);
        let (given, stale) = source.allocate(&b, &ports(&[("b1", 102)])).unwrap();
        assert_eq!((given, stale), (ports(&[("b1", 102)]), false));
        // The same as a fresh read of the ledger those allocations leave.
        let recorded = source.clone().into_ledger();
        write_ledger(&folder.ledger_path(), &recorded).unwrap();
        let fresh = FolderPorts::read(&folder);
        let d = group("D", &["d1"]);
        assert_eq!(
            fresh.facts(&d).unwrap().in_use,
            source.ledger().in_use_by_others("D")
        );
        // A new group's namespace is known at once; a full range is an error that
        // records nothing.
        assert!(source.check_namespace(&group("c", &[])).is_err());
        let big = group("E", &["1", "2", "3", "4", "5", "6", "7", "8"]);
        assert!(source.allocate(&big, &SshPorts::default()).is_err());
        assert!(!source.ledger().0.contains_key("E"));
        let (given, _) = source.allocate(&d, &SshPorts::default()).unwrap();
        assert_eq!(given, ports(&[("d1", 104)]));
    }

    /// The index answers as the set of ports in use does, word boundaries included.
    #[test]
    fn the_port_index_finds_the_lowest_free_port_as_a_set_does() {
        let mut index = PortIndex::new();
        let mut set = BTreeSet::new();
        let held: Vec<u16> = (0..64).chain(70..200).chain([65534, 65535]).collect();
        let entry = SshPorts(held.iter().map(|p| (p.to_string(), *p)).collect());
        index.add(&entry);
        index.add(&ports(&[("twice", 5)]));
        set.extend(held.iter().copied());
        for (from, to) in [
            (0, 65535),
            (60, 100),
            (64, 69),
            (70, 199),
            (65530, 65535),
            (65534, 65535),
        ] {
            assert_eq!(
                index.first_free(from, to),
                set.first_free(from, to),
                "{from}-{to}"
            );
        }
        assert_eq!(index.count(), set.len());
        // A port two members hold stays taken until both let go.
        index.remove(&entry);
        assert!(index.contains(5));
        assert_eq!(index.count(), 1);
        index.remove(&ports(&[("twice", 5)]));
        assert_eq!(index.first_free(0, 10), Some(0));
        assert_eq!(index.count(), 0);
    }

    #[tokio::test]
    async fn cluster_ports_are_read_from_the_live_services() {
        let fake = maia_testkit::FakeCluster::new(&[]).await;
        let cluster = crate::Cluster::from_client(fake.client(), "https://fake.invalid");
        let facts = ClusterPorts { cluster: &cluster }
            .port_facts(&WorkspaceSpec::test())
            .await
            .unwrap();
        assert_eq!(facts, PortFacts::default());
    }

    #[test]
    fn bundle_writes_touch_only_what_changed_and_drop_what_is_no_longer_rendered() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = |path: &str, text: &str, secret: bool| BundleFile {
            path: path.into(),
            text: text.into(),
            secret,
            executable: path.ends_with(".sh"),
        };
        let first = [
            file("manifests/01-a.yaml", "a", true),
            file("manifests/02-b.yaml", "b", false),
            file("deploy.sh", "#!/bin/sh\n", false),
            file(CREDENTIALS_FILE, "x: 1\n", true),
        ];
        let report = write_bundle(&dir.path().join("group"), &first).unwrap();
        assert!(report.created, "the group's folder is new");
        let report = write_bundle(dir.path(), &first).unwrap();
        assert!(!report.created);
        // credentials.yaml goes first.
        assert_eq!(report.written[0], dir.path().join(CREDENTIALS_FILE));
        assert_eq!(report.written.len(), 4);
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("manifests/01-a.yaml"), 0o600);
        assert_eq!(mode("manifests/02-b.yaml"), 0o644);
        assert_eq!(mode("deploy.sh"), 0o755);

        let second = [
            file("manifests/01-a.yaml", "a", true),
            file("deploy.sh", "#!/bin/sh\necho\n", false),
            file(CREDENTIALS_FILE, "x: 1\n", true),
        ];
        let report = write_bundle(dir.path(), &second).unwrap();
        assert_eq!(report.written, [dir.path().join("deploy.sh")]);
        assert_eq!(report.unchanged.len(), 2);
        assert_eq!(report.removed, [dir.path().join("manifests/02-b.yaml")]);

        // A group folder that is a file: a wrong argument, naming the file.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, "").unwrap();
        let e = write_bundle(&blocked, &second).unwrap_err();
        assert!(e.to_string().starts_with("cannot write "), "{e}");
        assert!(e.is_bad_input());
    }

    fn bundle_file(path: &str, text: &str, secret: bool) -> BundleFile {
        BundleFile {
            path: path.into(),
            text: text.into(),
            secret,
            executable: path.ends_with(".sh"),
        }
    }

    fn temps_in(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| is_temp(&e.file_name()))
            .map(|e| e.path())
            .collect()
    }

    /// A first render writes the whole bundle elsewhere and renames it into place once;
    /// the one file synced is credentials.yaml, before that rename (its secrets cannot
    /// be rendered again). 4 syncs and a rename per file before.
    #[test]
    fn a_first_render_is_put_in_place_whole_with_only_credentials_synced() {
        use std::os::unix::fs::PermissionsExt;
        let config = tempfile::tempdir().unwrap();
        let dir = config.path().join("Brain_MRI");
        let files = [
            bundle_file("manifests/01-a.yaml", "a", true),
            bundle_file("manifests/02-b.yaml", "b", false),
            bundle_file("helm/x.yaml", "x", false),
            bundle_file("deploy.sh", "#!/bin/sh\n", false),
            bundle_file(CREDENTIALS_FILE, "x: 1\n", true),
        ];
        take_events();
        let report = write_bundle(&dir, &files).unwrap();
        let events = take_events();
        assert!(report.created);
        assert_eq!(report.written[0], dir.join(CREDENTIALS_FILE));
        assert_eq!(report.written.len(), files.len());
        let [Event::Synced(synced), Event::Renamed(from, to)] = events.as_slice() else {
            panic!("one sync, then one rename: {events:#?}");
        };
        assert_eq!(to, &dir);
        assert_eq!(synced, &from.join(CREDENTIALS_FILE));
        for f in &files {
            let text = std::fs::read_to_string(dir.join(&f.path)).unwrap();
            assert_eq!(text, f.text);
        }
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), SECRET_DIR_MODE);
        assert_eq!(mode(&dir.join("manifests")), SECRET_DIR_MODE);
        assert_eq!(mode(&dir.join("helm")), SECRET_DIR_MODE);
        assert_eq!(mode(&dir.join(CREDENTIALS_FILE)), 0o600);
        assert_eq!(mode(&dir.join("manifests/01-a.yaml")), 0o600);
        assert_eq!(mode(&dir.join("manifests/02-b.yaml")), 0o644);
        assert_eq!(mode(&dir.join("deploy.sh")), 0o755);
        assert!(temps_in(config.path()).is_empty());
        // Written again unchanged: nothing is written, synced or renamed.
        let again = write_bundle(&dir, &files).unwrap();
        assert!(again.written.is_empty() && !again.created);
        assert_eq!(take_events(), []);
    }

    /// A first render failing part-way leaves no group folder (never one lacking some
    /// of its files) and no temporary folder; what a killed run leaves is removed by
    /// the next run under the lock, and that run writes the whole bundle.
    #[test]
    fn a_first_render_failing_part_way_leaves_no_bundle_and_the_next_run_converges() {
        let config = tempfile::tempdir().unwrap();
        let dir = config.path().join("Brain_MRI");
        let good = [
            bundle_file(CREDENTIALS_FILE, "x: 1\n", true),
            bundle_file("deploy.sh", "#!/bin/sh\n", false),
            bundle_file("manifests/01-a.yaml", "a", true),
        ];
        // A file where a folder must be: the write fails after credentials.yaml.
        let mut bad = good.to_vec();
        bad.push(bundle_file("deploy.sh/x.yaml", "x", false));
        let e = write_bundle(&dir, &bad).unwrap_err();
        assert!(e.to_string().contains("Brain_MRI/deploy.sh/x.yaml"), "{e}");
        assert!(!dir.exists(), "no partial bundle in place");
        assert!(temps_in(config.path()).is_empty());

        // What a run killed while writing leaves: a temporary bundle folder beside the
        // group's, a temporary file inside another group's.
        let killed = config.path().join(".Brain_MRI.2147483646.0.maia-tmp");
        std::fs::create_dir_all(killed.join("manifests")).unwrap();
        std::fs::write(killed.join(CREDENTIALS_FILE), "x: ").unwrap();
        let other = config.path().join("Lung_CT");
        write_bundle(&other, &good).unwrap();
        let half = other.join(".credentials.yaml.2147483646.1.maia-tmp");
        std::fs::write(&half, "x: ").unwrap();
        std::fs::write(other.join("manifests/.01-a.yaml.2147483646.2.maia-tmp"), "").unwrap();
        let folder = ConfigFolder::lock(config.path()).unwrap();
        assert!(
            !killed.exists(),
            "the lock holder removes a stopped run's folder"
        );
        let report = write_bundle(&dir, &good).unwrap();
        assert!(report.created);
        for f in &good {
            assert_eq!(std::fs::read_to_string(dir.join(&f.path)).unwrap(), f.text);
        }
        let report = write_bundle(&other, &good).unwrap();
        assert!(
            report.written.is_empty() && report.removed.is_empty(),
            "{report:?}"
        );
        assert!(temps_in(config.path()).is_empty());
        assert!(temps_in(&other).is_empty());
        assert!(temps_in(&other.join("manifests")).is_empty());
        drop(folder);
    }

    /// credentials.yaml is never seen half-written, even after the machine stops: its
    /// data is synced before the rename that puts it in place, and (when the group's
    /// folder exists) the folder is synced before any other file is renamed into place.
    #[test]
    fn credentials_reach_the_disk_before_they_replace_the_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let files = |secret: &str| {
            [
                bundle_file("manifests/01-secret.yaml", secret, true),
                bundle_file(CREDENTIALS_FILE, secret, true),
            ]
        };
        write_bundle(dir.path(), &files("a: 1\n")).unwrap();
        take_events();
        write_bundle(dir.path(), &files("a: 2\n")).unwrap();
        let events = take_events();
        let credentials = dir.path().join(CREDENTIALS_FILE);
        let at = |want: &dyn Fn(&Event) -> bool| {
            events
                .iter()
                .position(want)
                .unwrap_or_else(|| panic!("{events:#?}"))
        };
        let renamed = at(&|e| matches!(e, Event::Renamed(_, to) if *to == credentials));
        let Event::Renamed(tmp, _) = &events[renamed] else {
            unreachable!()
        };
        let synced = at(&|e| *e == Event::Synced(tmp.clone()));
        let folder_synced = at(&|e| *e == Event::Synced(dir.path().to_path_buf()));
        let secret =
            at(&|e| matches!(e, Event::Renamed(_, to) if to.ends_with("manifests/01-secret.yaml")));
        assert!(synced < renamed && renamed < folder_synced && folder_synced < secret);
        assert_eq!(std::fs::read_to_string(&credentials).unwrap(), "a: 2\n");
    }

    #[test]
    fn damaged_credentials_stop_the_run_and_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_credentials(dir.path()).unwrap(), None);
        for (text, reason) in [
            ("", "empty"),
            ("# only the header\n", "empty"),
            (
                "credentials:\n  mysql.password: [unclosed\n",
                "does not parse",
            ),
            (
                "credentials:\n  mysql.password: \"\"\n",
                "\"mysql.password\" is empty",
            ),
            ("credentials: {a: b}\nextra: 1\n", "does not parse"),
        ] {
            std::fs::write(dir.path().join(CREDENTIALS_FILE), text).unwrap();
            let e = read_credentials(dir.path()).unwrap_err();
            let shown = e.to_string();
            assert!(shown.contains("credentials.yaml"), "{shown}");
            assert!(shown.contains(reason), "{text:?}: {shown}");
            assert!(e.is_bad_input());
        }
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secret.yaml");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        write_atomic(&path, "a: 1\n", 0o600, Durability::Now).unwrap();
        write_atomic(&path, "a: 2\n", 0o600, Durability::Later).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a: 2\n");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let left: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".maia-tmp"))
            .collect();
        assert!(left.is_empty());
        // A folder that cannot be written leaves nothing behind either.
        let blocked = dir.path().join("file-not-dir");
        std::fs::write(&blocked, "x").unwrap();
        assert!(write_atomic(&blocked.join("x.yaml"), "a", 0o644, Durability::Data).is_err());
    }
}
