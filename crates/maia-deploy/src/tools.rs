//! The external programs maia runs for what it does not apply itself: `helm` for the
//! third-party charts (oauth2-proxy, Label Studio, JupyterHub) and `kubectl apply -k`
//! for KubeFlow Pipelines' remote kustomizations (which makes kubectl run `git`).
//!
//! No secret ever reaches a command line: chart values go to a file, mode 0600, in a
//! fresh private temporary directory that is removed afterwards, also when the program
//! fails or the future is dropped (the child is then killed). Nothing here prints
//! values; errors name the program, its subcommand and exit status, and carry the tail
//! of its stderr.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use maia_render::workspace::HelmRelease;
use serde::Deserialize;
use serde_json::Value;
use tokio::process::Command;

use crate::error::{DeployError, KubeError};
use maia_kube::cluster::FIELD_MANAGER;

/// How many trailing lines of a failed program's stderr an error keeps.
const STDERR_TAIL_LINES: usize = 20;

/// Where the cluster is, passed to helm as `--kubeconfig`/`--kube-context` and to
/// kubectl as `--kubeconfig`/`--context`. `None` leaves the program's own default
/// (`KUBECONFIG`, `~/.kube/config`, the current context).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolTarget {
    /// The kubeconfig file (`--kubeconfig`).
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (`--kube-context` for helm, `--context` for kubectl).
    pub context: Option<String>,
}

impl ToolTarget {
    /// `args` followed by `--kubeconfig` and the context flag (`context_flag`: helm
    /// says `--kube-context`, kubectl `--context`) when they are set.
    fn with_flags(&self, args: &[&str], context_flag: &str) -> Vec<OsString> {
        let mut all = os_args(args);
        if let Some(kubeconfig) = &self.kubeconfig {
            all.push("--kubeconfig".into());
            all.push(kubeconfig.into());
        }
        if let Some(context) = &self.context {
            all.push(context_flag.into());
            all.push(context.into());
        }
        all
    }
}

impl From<&maia_kube::cluster::Target> for ToolTarget {
    fn from(target: &maia_kube::cluster::Target) -> Self {
        ToolTarget {
            kubeconfig: target.kubeconfig.clone(),
            context: target.context.clone(),
        }
    }
}

/// Finds a program on `path` (a `PATH` value) as `command -v` does: the first
/// executable regular file of that name. A name holding a `/` is taken as a path and
/// only checked. Empty `PATH` entries (meaning the current directory) are skipped.
/// `path` is explicit so tests need not change the process environment:
/// `find_program("helm", std::env::var_os("PATH").as_deref())`.
pub fn find_program(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        let candidate = PathBuf::from(name);
        return is_executable(&candidate).then_some(candidate);
    }
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// A program found on `PATH` and the version it reports, for preflight's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolInfo {
    /// `helm`, `kubectl` or `git`.
    pub name: &'static str,
    /// Where it was found.
    pub path: PathBuf,
    /// `v3.16.2+g13654a5` (helm), `v1.31.0` (kubectl), `git version 2.47.3` (git).
    pub version: String,
}

/// Finds `name` on `path` and asks it for its version (`helm version --short`,
/// `kubectl version --client -o json`, `git --version`; any other program
/// `--version`). [`DeployError::ToolMissing`] when it is not on `path`.
pub async fn probe(name: &'static str, path: Option<&OsStr>) -> Result<ToolInfo, DeployError> {
    let program = find_program(name, path).ok_or(DeployError::ToolMissing {
        tool: name,
        needed_for: needed_for(name),
    })?;
    let args: &[&str] = match name {
        "helm" => &["version", "--short"],
        "kubectl" => &["version", "--client", "-o", "json"],
        _ => &["--version"],
    };
    let command = format!("{name} {}", args.join(" "));
    let output = run(name, &program, &os_args(args), &command).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let version = if name == "kubectl" {
        kubectl_client_version(&stdout)
            .ok_or_else(|| output_error(name, &command, "no clientVersion.gitVersion in it"))?
    } else {
        stdout
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .ok_or_else(|| output_error(name, &command, "it printed nothing"))?
            .to_string()
    };
    Ok(ToolInfo {
        name,
        path: program,
        version,
    })
}

/// What each program is needed for, for [`DeployError::ToolMissing`].
fn needed_for(tool: &str) -> &'static str {
    match tool {
        "helm" => "the oauth2-proxy, Label Studio and JupyterHub charts",
        "kubectl" => "KubeFlow Pipelines (kubectl apply -k)",
        "git" => "KubeFlow Pipelines (kubectl fetches its kustomization with git)",
        _ => "this deploy",
    }
}

fn kubectl_client_version(stdout: &str) -> Option<String> {
    let json: Value = serde_json::from_str(stdout).ok()?;
    Some(
        json.pointer("/clientVersion/gitVersion")?
            .as_str()?
            .to_string(),
    )
}

/// What helm says is deployed for a release.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedRelease {
    /// The release name.
    pub name: String,
    /// The chart's name, e.g. `oauth2-proxy`.
    pub chart: String,
    /// The chart's version, e.g. `7.7.1`.
    pub version: String,
    /// The version of what the chart installs, as the chart states it.
    pub app_version: String,
    /// `deployed`, `failed`, `pending-upgrade`, `pending-install`, `uninstalling`, …
    pub status: String,
    /// The user-supplied values (`helm get values -o json`): `{}` when there are none;
    /// `Null` from [`Helm::list`], which does not fetch them.
    pub values: Value,
}

/// One entry of `helm list -o json`.
#[derive(Deserialize)]
struct ListedRelease {
    name: String,
    /// `NAME-VERSION`, e.g. `oauth2-proxy-7.7.1`.
    chart: String,
    #[serde(default)]
    app_version: String,
    status: String,
}

impl ListedRelease {
    fn into_deployed(self, values: Value) -> DeployedRelease {
        let (chart, version) = split_chart(&self.chart);
        DeployedRelease {
            name: self.name,
            chart: chart.to_string(),
            version: version.to_string(),
            app_version: self.app_version,
            status: self.status,
            values,
        }
    }
}

/// Splits helm's `NAME-VERSION` chart field. Both parts may hold `-` and digits
/// (`oauth2-proxy-7.7.1`, `jupyterhub-4.0.0-0.dev.git.6707.h4d19d8a4`), so the split
/// is at the first `-` that starts an `N.N` version, else at the last `-` followed by
/// a digit, else nowhere (the version is then empty).
fn split_chart(field: &str) -> (&str, &str) {
    let dash_digit: Vec<usize> = field
        .match_indices('-')
        .map(|(at, _)| at)
        .filter(|at| field[at + 1..].starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    let looks_like_version = |rest: &str| {
        let mut parts = rest.splitn(3, '.');
        let numeric = |p: Option<&str>| {
            p.is_some_and(|p| {
                let digits = p.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("");
                !digits.is_empty()
            })
        };
        let major = parts.next();
        major.is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
            && numeric(parts.next())
    };
    let at = dash_digit
        .iter()
        .copied()
        .find(|at| looks_like_version(&field[at + 1..]))
        .or(dash_digit.last().copied());
    match at {
        Some(at) => (&field[..at], &field[at + 1..]),
        None => (field, ""),
    }
}

/// Runs `helm` against one cluster.
#[derive(Debug, Clone)]
pub struct Helm {
    program: PathBuf,
    target: ToolTarget,
}

impl Helm {
    /// `program` is the helm executable, e.g. [`ToolInfo::path`] from [`probe`].
    pub fn new(program: PathBuf, target: ToolTarget) -> Self {
        Helm { program, target }
    }

    /// The release as helm has it, `None` when it is not installed: `helm list -n NS
    /// -a -o json --filter ^RELEASE$`, then `helm get values RELEASE -n NS -o json`.
    pub async fn deployed(
        &self,
        release: &str,
        namespace: &str,
    ) -> Result<Option<DeployedRelease>, DeployError> {
        let filter = format!("^{}$", regex_escape(release));
        let listed = self
            .list_raw(
                namespace,
                &["--filter", &filter],
                &format!("helm list {release}"),
            )
            .await?;
        let Some(found) = listed.into_iter().find(|r| r.name == release) else {
            return Ok(None);
        };
        let command = format!("helm get values {release}");
        let args = self.args(&["get", "values", release, "-n", namespace, "-o", "json"]);
        let output = run("helm", &self.program, &args, &command).await?;
        let values: Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| output_error("helm", &command, &format!("not JSON: {e}")))?;
        let values = match values {
            Value::Null => Value::Object(Default::default()),
            values => values,
        };
        Ok(Some(found.into_deployed(values)))
    }

    /// Installs or upgrades a release: `helm repo add --force-update NAME URL`, then
    /// `helm upgrade --install RELEASE NAME/CHART -n NS --version V -f VALUES`, with
    /// `--wait --timeout Ns` when `wait` is given. The values go through a file (JSON,
    /// which is YAML) that only this user can read and that is gone when this returns.
    /// A repository URL starting `oci://` needs no `repo add`; the chart is then
    /// `URL/CHART`.
    pub async fn upgrade(
        &self,
        release: &HelmRelease,
        wait: Option<Duration>,
    ) -> Result<(), DeployError> {
        let chart = if release.repo_url.starts_with("oci://") {
            format!(
                "{}/{}",
                release.repo_url.trim_end_matches('/'),
                release.chart
            )
        } else {
            let args = os_args(&[
                "repo",
                "add",
                "--force-update",
                &release.repo_name,
                &release.repo_url,
            ]);
            let command = format!("helm repo add {}", release.repo_name);
            run("helm", &self.program, &args, &command).await?;
            format!("{}/{}", release.repo_name, release.chart)
        };
        let values = ValuesFile::write(release)?;
        let mut args = self.args(&[
            "upgrade",
            "--install",
            &release.release,
            &chart,
            "-n",
            &release.namespace,
            "--version",
            &release.version,
        ]);
        args.push("-f".into());
        args.push(values.path().into());
        if let Some(wait) = wait {
            args.extend(os_args(&[
                "--wait",
                "--timeout",
                &format!("{}s", wait.as_secs().max(1)),
            ]));
        }
        let command = format!("helm upgrade --install {}", release.release);
        let result = run("helm", &self.program, &args, &command).await;
        // helm's own error matters more than a leftover directory.
        let removed = values.remove(&release.release);
        result?;
        removed
    }

    /// `helm uninstall RELEASE -n NS`; `Ok(false)` when it was not installed.
    pub async fn uninstall(&self, release: &str, namespace: &str) -> Result<bool, DeployError> {
        let command = format!("helm uninstall {release}");
        let args = self.args(&["uninstall", release, "-n", namespace]);
        let output = run_unchecked("helm", &self.program, &args, &command).await?;
        if output.status.success() {
            return Ok(true);
        }
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        if stderr.contains("release: not found") || stderr.contains("release not loaded") {
            return Ok(false);
        }
        Err(failed("helm", &command, &output))
    }

    /// Every release in the namespace, whatever its status (`helm list -n NS -a -o
    /// json`), for `status`; their `values` are `Null`.
    pub async fn list(&self, namespace: &str) -> Result<Vec<DeployedRelease>, DeployError> {
        let listed = self.list_raw(namespace, &[], "helm list").await?;
        Ok(listed
            .into_iter()
            .map(|r| r.into_deployed(Value::Null))
            .collect())
    }

    async fn list_raw(
        &self,
        namespace: &str,
        extra: &[&str],
        command: &str,
    ) -> Result<Vec<ListedRelease>, DeployError> {
        let mut args = vec!["list", "-n", namespace, "-a", "-o", "json"];
        args.extend_from_slice(extra);
        let output = run("helm", &self.program, &self.args(&args), command).await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        // Old helm versions print nothing instead of `[]` when there is no release.
        if stdout.trim().is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str(&stdout)
            .map_err(|e| output_error("helm", command, &format!("not a JSON release list: {e}")))
    }

    /// `args` followed by the flags that pick the cluster.
    fn args(&self, args: &[&str]) -> Vec<OsString> {
        self.target.with_flags(args, "--kube-context")
    }
}

/// Escapes what a release name could hold that a Go regular expression treats
/// specially (release names are DNS labels, so in practice only `.`).
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A release's values in a fresh directory only this user can enter, the file itself
/// mode 0600. Dropping it removes both, so an error or a cancelled future leaves
/// nothing behind.
struct ValuesFile {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl ValuesFile {
    fn write(release: &HelmRelease) -> Result<Self, DeployError> {
        let io_error = |source| DeployError::ValuesFile {
            release: release.release.clone(),
            source,
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix("maia-helm-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder.tempdir().map_err(io_error)?;
        let path = dir.path().join("values.yaml");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let text =
            serde_json::to_string_pretty(&release.values).map_err(|e| KubeError::Serialize {
                object: format!("the values of helm release {}", release.release),
                source: e,
            })?;
        let mut file = options.open(&path).map_err(io_error)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(io_error)?;
        Ok(ValuesFile { dir, path })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory, saying so when that fails (dropping would not).
    fn remove(self, release: &str) -> Result<(), DeployError> {
        self.dir.close().map_err(|source| DeployError::ValuesFile {
            release: release.to_string(),
            source,
        })
    }
}

/// Runs `kubectl` against one cluster.
#[derive(Debug, Clone)]
pub struct Kubectl {
    program: PathBuf,
    target: ToolTarget,
}

impl Kubectl {
    /// `program` is the kubectl executable, e.g. [`ToolInfo::path`] from [`probe`].
    pub fn new(program: PathBuf, target: ToolTarget) -> Self {
        Kubectl { program, target }
    }

    /// `kubectl apply --server-side --field-manager=maia -k URL`: applies a remote
    /// kustomization base (kubectl fetches it with `git`).
    pub async fn apply_kustomization(&self, url: &str) -> Result<(), DeployError> {
        let manager = format!("--field-manager={FIELD_MANAGER}");
        let args = self.args(&["apply", "--server-side", &manager, "-k", url]);
        let command = format!("kubectl apply -k {url}");
        run("kubectl", &self.program, &args, &command)
            .await
            .map(drop)
    }

    /// `kubectl wait ARGS`, the arguments split on whitespace (a
    /// [`Kustomization`](maia_render::workspace::Kustomization)'s `wait`, e.g.
    /// `--for condition=established --timeout=60s crd/applications.app.k8s.io`).
    pub async fn wait(&self, args: &str) -> Result<(), DeployError> {
        let mut all = vec!["wait"];
        all.extend(args.split_whitespace());
        let command = format!("kubectl {}", all.join(" "));
        run("kubectl", &self.program, &self.args(&all), &command)
            .await
            .map(drop)
    }

    /// `args` followed by the flags that pick the cluster.
    fn args(&self, args: &[&str]) -> Vec<OsString> {
        self.target.with_flags(args, "--context")
    }
}

fn os_args(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Runs a program to completion; a non-zero exit is [`DeployError::ToolFailed`].
async fn run(
    tool: &'static str,
    program: &Path,
    args: &[OsString],
    command: &str,
) -> Result<Output, DeployError> {
    let output = run_unchecked(tool, program, args, command).await?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(failed(tool, command, &output))
    }
}

/// Runs a program to completion, whatever its exit status. Nothing is read from
/// stdin, and dropping the future kills the program. The program runs in a process
/// group of its own, listed in [`RUNNING`] while it runs, so that [`stop_children`]
/// can stop it and whatever it started (kubectl's git) when maia is interrupted; a
/// Ctrl-C at the terminal reaches maia alone, which then stops them.
async fn run_unchecked(
    tool: &'static str,
    program: &Path,
    args: &[OsString],
    command: &str,
) -> Result<Output, DeployError> {
    let start_error = |source| DeployError::ToolStart {
        tool,
        command: command.to_string(),
        program: program.display().to_string(),
        source,
    };
    if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(start_error(std::io::Error::new(
            std::io::ErrorKind::Interrupted,
            "maia is stopping (interrupted)",
        )));
    }
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let child = cmd.spawn().map_err(start_error)?;
    let _running = child.id().map(|pid| Running::add(pid, command));
    child.wait_with_output().await.map_err(start_error)
}

/// Set once maia is stopping: no program is started any more.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The programs running now, by process (and process group) id, with their command.
static RUNNING: std::sync::Mutex<std::collections::BTreeMap<u32, String>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// One entry of [`RUNNING`], removed when the program ends or its future is dropped.
struct Running(u32);

impl Running {
    fn add(pid: u32, command: &str) -> Running {
        if let Ok(mut running) = RUNNING.lock() {
            running.insert(pid, command.to_string());
        }
        Running(pid)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut running) = RUNNING.lock() {
            running.remove(&self.0);
        }
    }
}

/// The commands of the programs running now (`helm upgrade --install jupyterhub-x`).
pub fn running() -> Vec<String> {
    RUNNING
        .lock()
        .map(|r| r.values().cloned().collect())
        .unwrap_or_default()
}

/// Stops every program maia runs and starts no more: SIGTERM to each one's process
/// group. Returns their commands. The caller keeps driving the operation for a grace
/// period (so it sees them end and cleans up after them), then calls
/// [`kill_children`] for any still running.
pub fn stop_children() -> Vec<String> {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    signal_children(Signal::Term)
}

/// Whether [`stop_children`] was called: a run stops before its next step.
pub fn stopping() -> bool {
    STOPPING.load(std::sync::atomic::Ordering::SeqCst)
}

/// SIGKILL to the process group of every program still running.
pub fn kill_children() -> Vec<String> {
    signal_children(Signal::Kill)
}

#[derive(Clone, Copy)]
enum Signal {
    Term,
    Kill,
}

fn signal_children(signal: Signal) -> Vec<String> {
    let running: Vec<(u32, String)> = RUNNING
        .lock()
        .map(|r| r.iter().map(|(p, c)| (*p, c.clone())).collect())
        .unwrap_or_default();
    #[cfg(unix)]
    for (pid, _) in &running {
        let group = i32::try_from(*pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        let signal = match signal {
            Signal::Term => rustix::process::Signal::TERM,
            Signal::Kill => rustix::process::Signal::KILL,
        };
        if let Some(group) = group {
            // Gone already: nothing to stop.
            let _ = rustix::process::kill_process_group(group, signal);
        }
    }
    running.into_iter().map(|(_, c)| c).collect()
}

fn failed(tool: &'static str, command: &str, output: &Output) -> DeployError {
    let status = match output.status.code() {
        Some(code) => format!("exit status {code}"),
        None => output.status.to_string(),
    };
    DeployError::ToolFailed {
        tool,
        command: command.to_string(),
        status,
        stderr: stderr_tail(&output.stderr),
    }
}

/// The last [`STDERR_TAIL_LINES`] non-blank lines of a program's stderr.
fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
    lines[start..].join("\n")
}

fn output_error(tool: &'static str, command: &str, message: &str) -> DeployError {
    DeployError::ToolOutput {
        tool,
        command: command.to_string(),
        message: message.to_string(),
    }
}

/// The dotted paths of the keys whose values differ between what helm has deployed
/// and what maia would deploy: keys added, removed or changed, sorted. Objects are
/// followed key by key; anything else (scalars, arrays, an object against a scalar)
/// is compared whole at its path. Numbers compare by value (helm hands back `1` for
/// a `1.0` it was given). A key holding a `.` is written `["a.b"]`; a difference at
/// the top (neither side an object) is the path `.`. `Null` at the top counts as
/// `{}`, as `helm get values` prints `null` for no values.
///
/// Only paths are returned, never values, so a plan never prints a value, even of a
/// chart whose values someone gave a secret.
pub fn values_differ(deployed: &Value, desired: &Value) -> Vec<String> {
    let empty = Value::Object(Default::default());
    let top = |v: &'_ Value| -> Value {
        if v.is_null() {
            empty.clone()
        } else {
            v.clone()
        }
    };
    let mut paths = Vec::new();
    diff_into(&top(deployed), &top(desired), "", &mut paths);
    paths
}

fn diff_into(deployed: &Value, desired: &Value, path: &str, paths: &mut Vec<String>) {
    match (deployed, desired) {
        (Value::Object(old), Value::Object(new)) => {
            let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            for key in keys {
                let child = join_path(path, key);
                match (old.get(key), new.get(key)) {
                    (Some(a), Some(b)) => diff_into(a, b, &child, paths),
                    _ => paths.push(child),
                }
            }
        }
        (a, b) if json_eq(a, b) => {}
        _ => paths.push(if path.is_empty() {
            ".".to_string()
        } else {
            path.to_string()
        }),
    }
}

fn join_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && !key.contains(['.', '[', ']', '"']);
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_string())),
    }
}

/// JSON equality with numbers compared by value.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_field_splits_into_name_and_version() {
        assert_eq!(split_chart("oauth2-proxy-7.7.1"), ("oauth2-proxy", "7.7.1"));
        assert_eq!(split_chart("label-studio-1.4.0"), ("label-studio", "1.4.0"));
        assert_eq!(
            split_chart("jupyterhub-4.0.0-0.dev.git.6707.h4d19d8a4"),
            ("jupyterhub", "4.0.0-0.dev.git.6707.h4d19d8a4")
        );
        assert_eq!(
            split_chart("k8s-3d-viewer-1.2.3"),
            ("k8s-3d-viewer", "1.2.3")
        );
        assert_eq!(split_chart("app-1.0.0-rc.1"), ("app", "1.0.0-rc.1"));
        assert_eq!(split_chart("odd-7"), ("odd", "7"));
        assert_eq!(split_chart("noversion"), ("noversion", ""));
    }

    #[test]
    fn stderr_keeps_the_last_lines() {
        let text: String = (1..=30).map(|i| format!("line {i}\n\n")).collect();
        let tail = stderr_tail(text.as_bytes());
        assert_eq!(tail.lines().count(), STDERR_TAIL_LINES);
        assert!(tail.starts_with("line 11\n"));
        assert!(tail.ends_with("line 30"));
    }

    #[test]
    fn release_names_are_escaped_for_helms_filter() {
        assert_eq!(regex_escape("my.release-1"), "my\\.release-1");
    }
}
