//! Recording stand-ins for the external programs a workspace deploy runs (helm,
//! kubectl, git), for tests: small shell scripts that log their argv and, for helm,
//! keep the releases they "installed" in files, so a second deploy sees them deployed.

use std::path::{Path, PathBuf};

/// The stand-ins written into one folder, and where they log.
#[derive(Debug, Clone)]
pub struct StandIns {
    /// The folder holding the stand-ins, their logs and helm's releases.
    pub dir: PathBuf,
}

const HELM: &str = r#"#!/bin/sh
# helm stand-in: logs argv, keeps releases under state/<namespace>/ (chart, values,
# status): as with helm, a release name is unique only within its namespace.
dir="$(dirname "$0")"
ns=default; prev=""
for a in "$@"; do
  [ "$prev" = "-n" ] && ns="$a"
  prev="$a"
done
state="$dir/state/$ns"
mkdir -p "$state"
printf '%s\n' "$*" >> "$dir/helm.log"
[ -f "$dir/fail-helm" ] && [ "$1" = "$(cat "$dir/fail-helm")" ] && { echo "Error: $1 failed as the test asked" >&2; exit 1; }
# hang-helm: `$1` hangs (with a child of its own, as a real helm's would) until the
# test removes the file; the pids go to helm.pids for the test to check.
if [ -f "$dir/hang-helm" ] && [ "$1" = "$(cat "$dir/hang-helm")" ]; then
  sleep 300 &
  printf '%s %s\n' "$$" "$!" > "$dir/helm.pids"
  while [ -f "$dir/hang-helm" ]; do sleep 0.1; done
  kill "$!" 2>/dev/null
fi
case "$1" in
  version) echo "v3.16.2+g13654a5" ;;
  repo) ;;
  list)
    first=1
    printf '['
    for f in "$state"/*.chart; do
      [ -e "$f" ] || continue
      name=$(basename "$f" .chart)
      [ "$first" = 1 ] || printf ','
      first=0
      status=deployed
      [ -f "$state/$name.status" ] && status=$(cat "$state/$name.status")
      printf '{"name":"%s","namespace":"%s","revision":"1","chart":"%s","app_version":"1.0","status":"%s"}' "$name" "$ns" "$(cat "$f")" "$status"
    done
    printf ']\n' ;;
  get) cat "$state/$3.values" ;;
  upgrade)
    rel="$3"; chart="$4"; version=""; file=""; prev=""
    for a in "$@"; do
      case "$prev" in
        --version) version="$a" ;;
        -f) file="$a" ;;
      esac
      prev="$a"
    done
    echo "${chart#*/}-$version" > "$state/$rel.chart"
    cp "$file" "$state/$rel.values"
    stat -c '%a' "$file" >> "$dir/modes.log"
    printf '%s\n' "$rel" >> "$dir/upgrades.log" ;;
  uninstall)
    if [ -f "$state/$2.chart" ]; then
      rm -f "$state/$2".*
      echo "release \"$2\" uninstalled"
    else
      echo "Error: uninstall: Release not loaded: $2: release: not found" >&2
      exit 1
    fi ;;
esac
"#;

const KUBECTL: &str = r#"#!/bin/sh
dir="$(dirname "$0")"
printf '%s\n' "$*" >> "$dir/kubectl.log"
case "$1" in
  version) echo '{"clientVersion":{"gitVersion":"v1.33.1"}}' ;;
esac
"#;

const GIT: &str = r#"#!/bin/sh
echo "git version 2.47.3"
"#;

impl StandIns {
    /// Writes helm, kubectl and git stand-ins into `dir`.
    pub fn write(dir: &Path) -> std::io::Result<StandIns> {
        use std::os::unix::fs::PermissionsExt;
        for (name, text) in [("helm", HELM), ("kubectl", KUBECTL), ("git", GIT)] {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        Ok(StandIns { dir: dir.into() })
    }

    /// The helm stand-in.
    pub fn helm(&self) -> PathBuf {
        self.dir.join("helm")
    }

    /// The kubectl stand-in.
    pub fn kubectl(&self) -> PathBuf {
        self.dir.join("kubectl")
    }

    /// A PATH holding only the stand-ins and the system's shell tools they use.
    pub fn path(&self) -> std::ffi::OsString {
        std::env::join_paths([self.dir.as_path(), Path::new("/usr/bin"), Path::new("/bin")])
            .unwrap_or_default()
    }

    /// Lines a stand-in logged (`helm.log`, `kubectl.log`, `upgrades.log`, `modes.log`).
    pub fn log(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.join(name))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Makes the next helm `subcommand` calls fail.
    pub fn fail_helm(&self, subcommand: &str) {
        let _ = std::fs::write(self.dir.join("fail-helm"), subcommand);
    }

    /// Makes helm `subcommand` hang (it and a child process of its own) until
    /// [`StandIns::unhang_helm`]; [`StandIns::helm_pids`] says when it started.
    pub fn hang_helm(&self, subcommand: &str) {
        let _ = std::fs::write(self.dir.join("hang-helm"), subcommand);
    }

    /// Lets a hanging helm go on.
    pub fn unhang_helm(&self) {
        let _ = std::fs::remove_file(self.dir.join("hang-helm"));
    }

    /// The pids of the hanging helm and of its child, once it hangs.
    pub fn helm_pids(&self) -> Option<Vec<u32>> {
        let text = std::fs::read_to_string(self.dir.join("helm.pids")).ok()?;
        let pids: Vec<u32> = text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        (pids.len() == 2).then_some(pids)
    }

    /// Undoes [`StandIns::fail_helm`]: helm succeeds again.
    pub fn heal_helm(&self) {
        let _ = std::fs::remove_file(self.dir.join("fail-helm"));
    }
}
