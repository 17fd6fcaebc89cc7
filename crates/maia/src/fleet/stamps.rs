//! What a fleet render remembers of each group it wrote, so that the next run can
//! leave an unchanged group alone without rendering it, emitting its manifests and
//! reading its files back to compare them (most of a re-render's time).
//!
//! Like git's index: for each group, a fingerprint of everything its bundle is
//! rendered from (the maia build, the render's options, the cluster and MAIA configs,
//! the group form, its credentials.yaml as read, the SSH ports it was given, its
//! environment file), and the identity of every file and folder of the bundle as it
//! was left (inode, size, modification and change times, mode). A group is skipped only
//! when its fingerprint is the same and every one of those is as recorded; anything
//! else (a file edited, even keeping its size and mtime, since that moves its change
//! time; a file added to or removed from a folder; a new maia build) renders and
//! compares it in full, as before, and records it again. As git does with its index,
//! a group whose files changed at or after the moment the stamps were written is
//! "racily clean" (a change within the file system's timestamp granularity would not
//! show) and is compared in full; so is every group after a reboot (what a crash left
//! on disk may differ from what the files' metadata says).
//!
//! The stamps are a cache kept outside the config folder (under the user's cache
//! folder, one file per config folder, mode 0600): the config folder stays exactly
//! what `maia namespace render` leaves, and losing the cache costs one full re-render.
//! They hold no secret in clear: the credentials only go into a SHA-256 digest.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use maia_deploy::workspace::folder::CredentialsFile;
use maia_render::workspace::text::BundleFile;
use maia_render::workspace::{EnvFile, SshPorts};
use sha2::{Digest, Sha256};

/// Where fleet renders keep their stamps, and which maia build renders.
#[derive(Debug, Clone)]
pub struct RenderCache {
    /// maia's cache folder (`$XDG_CACHE_HOME/maia`); the stamps go in its
    /// `fleet-render/` folder, one file per config folder.
    pub dir: PathBuf,
    /// The build of maia that renders: its version and commit, and something that
    /// changes with every build of the executable (its size and modification time),
    /// so a rebuilt maia renders every group again.
    pub build: String,
}

/// The first word of a stamps file, with its format's version.
const MAGIC: &str = "maia-fleet-render-stamps 1";

/// A group's stamp: what its bundle was rendered from, and how its files were left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupStamp {
    fingerprint: [u8; 32],
    /// Digest of the identities of the bundle's folders and files.
    files: [u8; 32],
    /// The latest modification or change time among them (ns since the epoch).
    newest: i128,
    /// The bundle's files, relative to the group's folder.
    paths: Vec<String>,
}

/// The stamps of one config folder, as read at the start of a run.
#[derive(Debug)]
pub(crate) struct Stamps {
    /// The stamps file.
    path: PathBuf,
    /// The config folder (canonical), written in the file's first line.
    folder: PathBuf,
    /// Digest of what every group shares (build, options, cluster and MAIA configs).
    shared: [u8; 32],
    loaded: BTreeMap<String, GroupStamp>,
    /// When the file was written (ns since the epoch); `None` when it cannot be
    /// trusted (missing, or written before the machine last started).
    written: Option<i128>,
}

fn put(hash: &mut Sha256, bytes: &[u8]) {
    hash.update((bytes.len() as u64).to_le_bytes());
    hash.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn digest32(text: &str) -> Option<[u8; 32]> {
    unhex(text)?.try_into().ok()
}

/// Modification time in ns since the epoch.
fn mtime(meta: &std::fs::Metadata) -> i128 {
    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec())
}

fn ctime(meta: &std::fs::Metadata) -> i128 {
    i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec())
}

/// When the machine last started (ns since the epoch), from /proc/stat.
fn boot_time() -> Option<i128> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let secs: i128 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(secs * 1_000_000_000)
}

impl Stamps {
    /// The stamps of `config_folder` (locked by the caller; it exists). `shared` is
    /// what every group of the run is rendered with besides its own form. None when
    /// the cache cannot be used at all (the folder has no canonical path).
    pub(crate) fn load(
        cache: &RenderCache,
        config_folder: &Path,
        shared: &[&[u8]],
    ) -> Option<Stamps> {
        let folder = std::fs::canonicalize(config_folder).ok()?;
        let name = hex(&Sha256::digest(folder.as_os_str().as_bytes()));
        let path = cache.dir.join("fleet-render").join(name);
        let mut hash = Sha256::new();
        put(&mut hash, MAGIC.as_bytes());
        put(&mut hash, cache.build.as_bytes());
        put(&mut hash, folder.as_os_str().as_bytes());
        for part in shared {
            put(&mut hash, part);
        }
        let mut stamps = Stamps {
            path,
            folder,
            shared: hash.finalize().into(),
            loaded: BTreeMap::new(),
            written: None,
        };
        if let Some((loaded, written)) = stamps.read() {
            stamps.loaded = loaded;
            // A stamp written before the machine last started is not trusted: a crash
            // may have left files whose metadata reached the disk and data did not.
            stamps.written = boot_time().filter(|boot| written >= *boot).map(|_| written);
        }
        Some(stamps)
    }

    /// The file's stamps and when it was written; None when it is missing, another
    /// config folder's, or unreadable.
    fn read(&self) -> Option<(BTreeMap<String, GroupStamp>, i128)> {
        let file = std::fs::File::open(&self.path).ok()?;
        let written = mtime(&file.metadata().ok()?);
        let mut lines = std::io::BufReader::new(file).lines();
        let header = lines.next()?.ok()?;
        if header != format!("{MAGIC} {}", hex(self.folder.as_os_str().as_bytes())) {
            return None;
        }
        let mut loaded = BTreeMap::new();
        for line in lines {
            let line = line.ok()?;
            let mut fields = line.split('\t');
            let group = fields.next()?.to_string();
            let stamp = GroupStamp {
                fingerprint: digest32(fields.next()?)?,
                files: digest32(fields.next()?)?,
                newest: fields.next()?.parse().ok()?,
                paths: fields.map(str::to_string).collect(),
            };
            loaded.insert(group, stamp);
        }
        Some((loaded, written))
    }

    /// The stamps as read.
    pub(crate) fn loaded(&self) -> &BTreeMap<String, GroupStamp> {
        &self.loaded
    }

    /// The fingerprint of one group's render: the shared inputs, its form (`form`:
    /// see [`form_digest`]), its credentials.yaml as read, the ports it was given and
    /// its environment file.
    pub(crate) fn fingerprint(
        &self,
        form: &[u8; 32],
        existing: Option<&CredentialsFile>,
        ports: &SshPorts,
        env: Option<&EnvFile>,
    ) -> [u8; 32] {
        let mut hash = Sha256::new();
        put(&mut hash, &self.shared);
        put(&mut hash, form);
        put(
            &mut hash,
            &serde_json::to_vec(&existing).unwrap_or_default(),
        );
        put(&mut hash, &serde_json::to_vec(ports).unwrap_or_default());
        match env {
            Some(env) => {
                put(&mut hash, b"env");
                put(&mut hash, env.name.as_bytes());
                put(&mut hash, env.text.as_bytes());
            }
            None => put(&mut hash, b"no env"),
        }
        hash.finalize().into()
    }

    /// The group's stamp, when its bundle in `dir` is known to hold what a render
    /// with `fingerprint` would write: the same fingerprint, every file and folder as
    /// recorded, none changed at or after the moment the stamps were written.
    pub(crate) fn check(
        &self,
        group_id: &str,
        dir: &Path,
        fingerprint: &[u8; 32],
    ) -> Option<GroupStamp> {
        let written = self.written?;
        let stamp = self.loaded.get(group_id)?;
        if stamp.fingerprint != *fingerprint || stamp.newest >= written {
            return None;
        }
        let (files, newest) = identities(dir, &stamp.paths)?;
        (files == stamp.files && newest == stamp.newest).then(|| stamp.clone())
    }

    /// Writes `stamps` (the groups of this run, and the file's others) when they
    /// differ from what was read. The cache is best effort: a failure to write it
    /// costs the next run a full render, nothing else.
    pub(crate) fn save(&self, stamps: &BTreeMap<String, GroupStamp>) {
        // Unchanged, and no group changed as late as the file was written (those
        // would stay racily clean, compared in full on every run, until it is written
        // again).
        if let Some(written) = self.written
            && *stamps == self.loaded
            && stamps.values().all(|s| s.newest < written)
        {
            return;
        }
        let mut text = format!("{MAGIC} {}\n", hex(self.folder.as_os_str().as_bytes()));
        for (group, s) in stamps.iter().filter(|(g, _)| !g.contains(['\t', '\n'])) {
            text.push_str(&format!(
                "{group}\t{}\t{}\t{}",
                hex(&s.fingerprint),
                hex(&s.files),
                s.newest
            ));
            for p in &s.paths {
                text.push('\t');
                text.push_str(p);
            }
            text.push('\n');
        }
        let _ = write_private(&self.path, &text);
        if let Some(dir) = self.path.parent() {
            prune(dir, &self.path);
        }
    }
}

/// Digest of a group's form: its path and text.
pub(crate) fn form_digest(path: &Path, text: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    put(&mut hash, path.as_os_str().as_bytes());
    put(&mut hash, text.as_bytes());
    hash.finalize().into()
}

impl GroupStamp {
    /// The stamp of a bundle just written to `dir` (or found identical); None when a
    /// file cannot be read back or its name cannot be kept in the stamps file.
    pub(crate) fn record(
        dir: &Path,
        files: &[BundleFile],
        fingerprint: [u8; 32],
    ) -> Option<GroupStamp> {
        let paths: Vec<String> = files
            .iter()
            .map(|f| f.path.to_str().map(str::to_string))
            .collect::<Option<_>>()?;
        if paths.iter().any(|p| p.contains(['\t', '\n'])) {
            return None;
        }
        let (digest, newest) = identities(dir, &paths)?;
        Some(GroupStamp {
            fingerprint,
            files: digest,
            newest,
            paths,
        })
    }
}

/// Digest of the identities of a bundle's files and of the folders that hold them
/// (the group's folder, `manifests/`, `helm/` and `env/`, which a render empties of
/// files it no longer produces: a file added there shows in the folder's times), and
/// the latest modification or change time among them. None when a file is missing.
fn identities(dir: &Path, paths: &[String]) -> Option<([u8; 32], i128)> {
    let mut folders: Vec<&str> = vec!["", "manifests", "helm", "env"];
    for p in paths {
        if let Some(parent) = Path::new(p).parent().and_then(Path::to_str) {
            folders.push(parent);
        }
    }
    folders.sort_unstable();
    folders.dedup();
    let mut hash = Sha256::new();
    let mut newest = i128::MIN;
    let mut add = |hash: &mut Sha256, name: &str, meta: &std::fs::Metadata| {
        put(hash, name.as_bytes());
        for n in [meta.dev(), meta.ino(), meta.size(), u64::from(meta.mode())] {
            hash.update(n.to_le_bytes());
        }
        let (m, c) = (mtime(meta), ctime(meta));
        hash.update(m.to_le_bytes());
        hash.update(c.to_le_bytes());
        newest = newest.max(m).max(c);
    };
    for f in folders {
        match std::fs::symlink_metadata(dir.join(f)) {
            Ok(meta) => add(&mut hash, f, &meta),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !f.is_empty() => {
                put(&mut hash, f.as_bytes());
                put(&mut hash, b"absent");
            }
            Err(_) => return None,
        }
    }
    for p in paths {
        let meta = std::fs::symlink_metadata(dir.join(p)).ok()?;
        add(&mut hash, p, &meta);
    }
    Some((hash.finalize().into(), newest))
}

/// Replaces `path` with `text`, mode 0600, its folder 0700 (atomically: a temporary
/// file renamed over it).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    maia_deploy::workspace::folder::create_dirs(dir, 0o700)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.maia-tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(text.as_bytes())?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Removes the stamps files of config folders that no longer exist (each names its
/// folder on its first line), so the cache does not grow with every folder ever
/// rendered.
fn prune(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path == keep {
            continue;
        }
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        let mut first = String::new();
        if std::io::BufReader::new(file).read_line(&mut first).is_err() {
            continue;
        }
        let folder = first
            .trim_end()
            .strip_prefix(MAGIC)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(unhex)
            .map(|bytes| PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)));
        if let Some(folder) = folder
            && std::fs::symlink_metadata(&folder)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn file(path: &str, text: &str) -> BundleFile {
        BundleFile {
            path: path.into(),
            text: text.into(),
            secret: false,
            executable: false,
        }
    }

    /// A bundle as a render leaves it, after the file system's clock moved on.
    fn bundle(dir: &Path) -> Vec<BundleFile> {
        let files = vec![
            file("manifests/01-a.yaml", "kind: A\n"),
            file("helm/x.values.yaml", "x: 1\n"),
            file("credentials.yaml", "credentials: {}\n"),
        ];
        for f in &files {
            let path = dir.join(&f.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &f.text).unwrap();
        }
        // Past the file system's timestamp granularity: the stamp is not racy.
        std::thread::sleep(Duration::from_millis(30));
        files
    }

    fn stamped(config: &Path, cache: &RenderCache, files: &[BundleFile]) -> (Stamps, [u8; 32]) {
        let stamps = Stamps::load(cache, config, &[b"cluster"]).unwrap();
        let print = stamps.fingerprint(
            &form_digest(Path::new("g.yaml"), "group_ID: G"),
            None,
            &SshPorts::default(),
            None,
        );
        let stamp = GroupStamp::record(&config.join("G"), files, print).unwrap();
        stamps.save(&BTreeMap::from([("G".to_string(), stamp)]));
        (Stamps::load(cache, config, &[b"cluster"]).unwrap(), print)
    }

    /// A group is left alone only while its fingerprint and every file and folder of
    /// its bundle are as recorded: an edit keeping the file's size and modification
    /// time, a file added where a render removes what it no longer produces, or a new
    /// build each bring the full render back.
    #[test]
    fn a_stamp_holds_only_while_inputs_and_files_are_as_recorded() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("out");
        let dir = config.join("G");
        let files = bundle(&dir);
        let cache = RenderCache {
            dir: tmp.path().join("cache"),
            build: "maia 1 abc".into(),
        };
        let (stamps, print) = stamped(&config, &cache, &files);
        let mode = std::fs::metadata(&stamps.path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(stamps.check("G", &dir, &print).is_some());
        assert!(stamps.check("H", &dir, &print).is_none());
        let mut other = print;
        other[0] ^= 1;
        assert!(stamps.check("G", &dir, &other).is_none());

        // Another build: another fingerprint.
        let rebuilt = RenderCache {
            build: "maia 1 abc rebuilt".into(),
            ..cache.clone()
        };
        let again = Stamps::load(&rebuilt, &config, &[b"cluster"]).unwrap();
        let print2 = again.fingerprint(
            &form_digest(Path::new("g.yaml"), "group_ID: G"),
            None,
            &SshPorts::default(),
            None,
        );
        assert_ne!(print2, print);
        assert!(again.check("G", &dir, &print2).is_none());

        // Edited in place, size and modification time kept.
        let path = dir.join("manifests/01-a.yaml");
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, "kind: B\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        assert!(stamps.check("G", &dir, &print).is_none());
        let (stamps, print) = stamped(&config, &cache, &bundle(&dir));
        assert!(stamps.check("G", &dir, &print).is_some());

        // A file dropped where a render removes what it does not produce.
        std::fs::write(dir.join("helm/old.values.yaml"), "").unwrap();
        assert!(stamps.check("G", &dir, &print).is_none());
        std::fs::remove_file(dir.join("helm/old.values.yaml")).unwrap();
        let (stamps, print) = stamped(&config, &cache, &bundle(&dir));
        std::fs::create_dir(dir.join("env")).unwrap();
        assert!(stamps.check("G", &dir, &print).is_none());
    }

    /// Files changed as late as the stamps were written are compared in full (git's
    /// racily clean entries); the stamps hold no credential in clear.
    #[test]
    fn racily_clean_groups_are_compared_and_no_secret_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("out");
        let dir = config.join("G");
        let files = bundle(&dir);
        let cache = RenderCache {
            dir: tmp.path().join("cache"),
            build: "maia".into(),
        };
        let stamps = Stamps::load(&cache, &config, &[]).unwrap();
        let secret = CredentialsFile {
            credentials: maia_render::workspace::Credentials(BTreeMap::from([(
                "mysql.password".to_string(),
                "s3cret-value-42".to_string(),
            )])),
            ssh_ports: SshPorts::default(),
        };
        let print = stamps.fingerprint(&[0; 32], Some(&secret), &SshPorts::default(), None);
        let stamp = GroupStamp::record(&dir, &files, print).unwrap();
        stamps.save(&BTreeMap::from([("G".to_string(), stamp)]));
        let text = std::fs::read_to_string(&stamps.path).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        // The file's time moved back to the bundle's: racy.
        let newest = std::fs::metadata(dir.join("credentials.yaml"))
            .unwrap()
            .modified()
            .unwrap();
        std::fs::File::options()
            .write(true)
            .open(&stamps.path)
            .unwrap()
            .set_modified(newest)
            .unwrap();
        let racy = Stamps::load(&cache, &config, &[]).unwrap();
        assert!(racy.check("G", &dir, &print).is_none());
        // Written again unchanged, it is no longer racy.
        racy.save(&racy.loaded().clone());
        let clean = Stamps::load(&cache, &config, &[]).unwrap();
        assert!(clean.check("G", &dir, &print).is_some());
    }
}
