//! The config folder's side of a workspace's facts: each group's `credentials.yaml`
//! and the SSH ports of every group rendered under the folder. Every run that reads or
//! writes them holds an advisory lock on the folder, so concurrent renders into one
//! folder are serialised (and can no longer hand two groups the same port), and every
//! file is replaced atomically (unique temporary name, fsync, rename, fsync of the
//! folder), so a crash or a full disk leaves the old file or the new one, never half.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use maia_render::workspace::{Credentials, SshPorts};
use serde::{Deserialize, Serialize};

use crate::error::{DeployError, Result};

/// maia's own files under the config folder. A group_ID cannot name it: a namespace
/// cannot start with '.'.
pub const STATE_DIR: &str = ".maia";
/// The advisory lock, inside [`STATE_DIR`].
pub const LOCK_FILE: &str = "lock";
/// The SSH ports of every group, inside [`STATE_DIR`].
pub const PORTS_LEDGER: &str = "ssh-ports.json";
/// Where the ledger was kept before it moved into [`STATE_DIR`]; read when the new one
/// is missing.
pub const OLD_PORTS_LEDGER: &str = "ssh-ports.json";
/// Each group's credentials and SSH ports, in its folder.
pub const CREDENTIALS_FILE: &str = "credentials.yaml";

/// The config folder, locked for this run (the lock is released when it is dropped).
#[derive(Debug)]
pub struct ConfigFolder {
    pub path: PathBuf,
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

    pub fn group_dir(&self, group_id: &str) -> PathBuf {
        self.path.join(group_id)
    }

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
    #[serde(default)]
    pub credentials: Credentials,
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
    pub fn in_use_by_others(&self, group_id: &str) -> BTreeSet<u16> {
        self.0
            .iter()
            .filter(|(g, _)| g.as_str() != group_id)
            .flat_map(|(_, p)| p.0.values().copied())
            .collect()
    }

    /// Another group of the folder whose namespace is `namespace` (`Brain_MRI`,
    /// `Brain.MRI` and `brain-mri` all map to `brain-mri`).
    pub fn namespace_holder(&self, group_id: &str, namespace: &str) -> Option<&str> {
        self.0
            .keys()
            .find(|g| g.as_str() != group_id && maia_spec::names::suggest_label(g) == namespace)
            .map(String::as_str)
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
pub fn ledger_text(ledger: &PortsLedger) -> String {
    let mut text = serde_json::to_string_pretty(&LedgerOut {
        about: LEDGER_ABOUT,
        groups: ledger,
    })
    .unwrap_or_default();
    text.push('\n');
    text
}

/// Replaces `path` with `text` atomically: a temporary file with a name no other run
/// uses, written and synced, renamed over the old one, then the folder synced. The
/// temporary file is removed whatever fails.
pub fn write_atomic(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
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
