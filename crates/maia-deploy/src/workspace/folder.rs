//! The config folder's side of a workspace's facts: each group's `credentials.yaml`
//! and the SSH ports of every group rendered under the folder. Every run that reads or
//! writes them holds an advisory lock on the folder, so concurrent renders into one
//! folder are serialised (and can no longer hand two groups the same port), and every
//! file is replaced atomically (unique temporary name, fsync, rename, fsync of the
//! folder), so a crash or a full disk leaves the old file or the new one, never half.
//!
//! The stores: [`FolderCredentials`] (a group's `credentials.yaml`, a
//! `CredentialStore` as the cluster's Secret is) and [`FolderPorts`] (the ports ledger,
//! as the cluster's live Services are for a deploy).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

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
        std::fs::create_dir_all(&state).map_err(|e| state_error(&state, e))?;
        let lock_path = state.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
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
        update_file(&self.path(), &self.text(file)?, 0o600)
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

    /// Another group of the folder whose namespace is `namespace` (`Brain_MRI`,
    /// `Brain.MRI` and `brain-mri` all map to `brain-mri`).
    pub(crate) fn namespace_holder(&self, group_id: &str, namespace: &str) -> Option<&str> {
        self.0
            .keys()
            .find(|g| g.as_str() != group_id && maia_spec::names::suggest_label(g) == namespace)
            .map(String::as_str)
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
    pub(crate) cluster: &'a crate::cluster::Cluster,
}

#[cfg(test)]
impl PortSource for ClusterPorts<'_> {
    async fn port_facts(&self, spec: &WorkspaceSpec) -> Result<PortFacts> {
        super::facts::read_ports(self.cluster, spec).await
    }
}

/// The config folder's ports: the group's own from its `credentials.yaml`, the other
/// groups' from the ledger (read once, under the folder's lock).
#[derive(Debug)]
pub struct FolderPorts<'a> {
    folder: &'a ConfigFolder,
    ledger: PortsLedger,
    from_file: bool,
}

impl<'a> FolderPorts<'a> {
    /// Reads the ledger (see [`read_ledger`]).
    pub fn read(folder: &'a ConfigFolder) -> FolderPorts<'a> {
        let (ledger, from_file) = read_ledger(folder);
        FolderPorts {
            folder,
            ledger,
            from_file,
        }
    }

    /// Refuses a group whose namespace another group of the folder already has.
    pub fn check_namespace(&self, spec: &WorkspaceSpec) -> Result<()> {
        match self
            .ledger
            .namespace_holder(&spec.group_id, spec.namespace.as_str())
        {
            None => Ok(()),
            Some(other) => Err(DeployError::FolderConflict {
                message: format!(
                    "group {} maps to namespace {}, which group {other} under {} already has",
                    spec.group_id,
                    spec.namespace,
                    self.folder.path.display()
                ),
                hint: "group IDs that differ only in case, '_' or '.' share a namespace: rename one group"
                    .into(),
            }),
        }
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

    /// Records the ports `group_id` was given; true when the ledger file lacks them
    /// (or was missing) and must be written.
    pub fn record(&mut self, group_id: &str, ports: &SshPorts) -> bool {
        let previous = self.ledger.0.insert(group_id.into(), ports.clone());
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
}

/// Writes a group's bundle into `dir` (call it with the config folder locked). A file
/// that already holds the same bytes and mode is left as it is, so a second run with
/// the same inputs touches nothing. Files of an earlier render under `manifests/` and
/// `helm/` that this render no longer produces are removed (those folders are maia's
/// alone).
pub fn write_bundle(dir: &Path, files: &[BundleFile]) -> Result<WriteReport> {
    let mut report = WriteReport::default();
    let mut bundle_paths = Vec::new();
    // credentials.yaml first: the Secrets written after it hold its values, so a run
    // stopped half-way never leaves manifests with passwords the file does not keep.
    let mut files: Vec<&BundleFile> = files.iter().collect();
    files.sort_by_key(|f| f.path != Path::new(CREDENTIALS_FILE));
    for f in files {
        let path = dir.join(&f.path);
        let mode = if f.secret {
            0o600
        } else if f.executable {
            0o755
        } else {
            0o644
        };
        if update_file(&path, &f.text, mode)? {
            report.written.push(path.clone());
        } else {
            report.unchanged.push(path.clone());
        }
        bundle_paths.push(path);
    }
    report.removed = remove_unrendered(dir, &bundle_paths)?;
    Ok(report)
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
            if ours && p.is_file() && !keep.contains(&p) {
                std::fs::remove_file(&p).map_err(|source| write_error(&p, source))?;
                removed.push(p);
            }
        }
    }
    removed.sort();
    Ok(removed)
}

/// Leaves a file that already holds `text` with `mode` alone, else replaces it; true
/// when it wrote.
fn update_file(path: &Path, text: &str, mode: u32) -> Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let same = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o777 == mode)
        && std::fs::read(path).is_ok_and(|old| old == text.as_bytes());
    if !same {
        write_file(path, text, mode)?;
    }
    Ok(!same)
}

/// [`write_atomic`], its failure naming the file.
pub fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    write_atomic(path, text, mode).map_err(|source| write_error(path, source))
}

fn write_error(path: &Path, source: std::io::Error) -> DeployError {
    DeployError::FolderWrite {
        path: path.display().to_string(),
        source,
    }
}

/// Replaces `path` with `text` atomically: a temporary file with a name no other run
/// uses, written and synced, renamed over the old one, then the folder synced. The
/// temporary file is removed whatever fails.
fn write_atomic(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.maia-tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have narrowed the mode; secret files must be exactly 0600.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
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

    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn cluster_ports_are_read_from_the_live_services() {
        let fake = crate::fake::FakeCluster::new(&[]).await;
        let cluster = fake.cluster();
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
        let report = write_bundle(dir.path(), &first).unwrap();
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
        write_atomic(&path, "a: 1\n", 0o600).unwrap();
        write_atomic(&path, "a: 2\n", 0o600).unwrap();
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
        assert!(write_atomic(&blocked.join("x.yaml"), "a", 0o644).is_err());
    }
}
