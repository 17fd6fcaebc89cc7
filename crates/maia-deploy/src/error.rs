//! [`DeployError`]: what deploying a workspace can fail with (the engine's
//! [`KubeError`], helm, kubectl, the config folder, maia's own state and Leases), and
//! for each what the user should try next.

use std::time::Duration;

pub use maia_kube::error::{KubeError, human};
use serde::Serialize;

/// Everything talking to a cluster can fail with. Each variant names the step and the
/// object; the cause, when there is one, is attached as `source`.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The engine failed: finding the cluster, reading, planning, applying, waiting.
    /// Its message, cause chain and hint are the engine's own.
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// maia's own state on the cluster (the credentials Secret) cannot be used.
    #[error("{what} is damaged: {reason}")]
    StateCorrupt {
        /// What is damaged, e.g. `secret/maia-credentials-x in maia-system (key k)`.
        what: String,
        /// How.
        reason: String,
    },
    /// The store lacks credentials a workspace already there uses, and its live
    /// Secrets do not hold them either: new ones would lock the group out of its data.
    #[error(
        "workspace {group_id} already exists in namespace {namespace} ({}), but {secret} lacks {} and the workspace's Secrets do not hold them; nothing was changed",
        evidence.join(", "),
        keys.join(", ")
    )]
    CredentialsLost {
        /// The group.
        group_id: String,
        /// Its namespace.
        namespace: String,
        /// The store, as `secret/NAME in NAMESPACE`.
        secret: String,
        /// The credential keys (never values) that cannot be found.
        keys: Vec<String>,
        /// What shows the workspace exists (`2 volume claim(s)`, …).
        evidence: Vec<String>,
    },
    /// Another run holds a Lease maia needs (the group's, or the SSH ports'), and
    /// renews it: that run is alive.
    #[error(
        "the Lease {lease} is held by {}{}{}{}",
        held.holder,
        held.operation.as_ref().map(|o| format!(", running {o}")).unwrap_or_default(),
        held.since.as_ref().map(|s| format!(" since {s} (its clock)")).unwrap_or_default(),
        held.waited.map(|w| format!("; waited {}", human(w))).unwrap_or_default()
    )]
    LeaseHeld {
        /// The Lease, as `namespace/name`.
        lease: String,
        /// Who holds it and how long it lasts.
        held: Box<LeaseHolder>,
    },
    /// maia is being interrupted: the run stopped before its next step.
    #[error("stopped before {step}: maia is being interrupted")]
    Interrupted {
        /// The step not started (`component jupyterhub`).
        step: String,
    },
    /// A Lease this run held was taken over or deleted by someone else (or could not be
    /// renewed for its whole duration), so what it protects is no longer protected.
    #[error("lost the Lease {lease}: {reason}")]
    LeaseLost {
        /// The Lease, as `namespace/name`.
        lease: String,
        /// What happened to it.
        reason: String,
    },
    /// Workspace preflight found problems; nothing was changed.
    #[error("preflight found {} problem(s); nothing was changed", problems.len())]
    Preflight {
        /// Every problem found, each with a hint.
        problems: Vec<Problem>,
    },
    /// No free SSH port is left in the cluster config's `port_range`.
    #[error("{0}")]
    PortsExhausted(
        /// The allocator's message (which users, which range).
        String,
    ),
    /// A `credentials.yaml` exists but cannot be used.
    #[error("{path} is damaged: {reason}")]
    CredentialsDamaged {
        /// The file.
        path: String,
        /// What is wrong with it (never its values).
        reason: String,
    },
    /// maia's state under the config folder (its lock, the ledger, a file it reads)
    /// cannot be used.
    #[error("cannot use {path}")]
    FolderIo {
        /// The file or folder.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A bundle file cannot be written (or an old one removed).
    #[error("cannot write {path}")]
    FolderWrite {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Two groups of one config folder would share a namespace.
    #[error("{message}")]
    FolderConflict {
        /// Which groups and which namespace.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// The group's environment file (`minio_env_name`) cannot be read or fetched.
    #[error("cannot get the environment file {name:?} (minio_env_name): {reason}")]
    EnvFile {
        /// The file's name, as the group form gives it.
        name: String,
        /// Why not.
        reason: String,
    },
    /// A folder maia writes a bundle into is a symbolic link (maia never makes one).
    #[error("{path} is a symbolic link: maia does not write through links")]
    LinkedFolder {
        /// The folder.
        path: String,
    },
    /// The group's environment file names a local file maia will not read: outside
    /// the group form's folder (absolute, or a link leading out), or not a regular file.
    #[error("{form}: minio_env_name: {name:?} is refused: {reason}")]
    EnvFileRefused {
        /// The group form.
        form: String,
        /// The file's name, as the group form gives it.
        name: String,
        /// Why not.
        reason: String,
    },
    /// No workspace of that group_ID or namespace on the cluster.
    #[error("no workspace {0:?} on the cluster")]
    WorkspaceNotFound(
        /// The group_ID or namespace asked for.
        String,
    ),
    /// helm, kubectl or git is not on `PATH`.
    #[error("{tool} is not on PATH; it is needed for {needed_for}")]
    ToolMissing {
        /// `helm`, `kubectl` or `git`.
        tool: &'static str,
        /// What the deploy needs it for.
        needed_for: &'static str,
    },
    /// The program could not be started.
    #[error("cannot run `{command}` ({program})")]
    ToolStart {
        /// `helm`, `kubectl` or `git`.
        tool: &'static str,
        /// Program and subcommand; never file contents or values.
        command: String,
        /// The executable's path.
        program: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The program ran and exited with an error.
    #[error("`{command}` failed ({status}){}", stderr_block(stderr))]
    ToolFailed {
        /// `helm`, `kubectl` or `git`.
        tool: &'static str,
        /// Program, subcommand and release or URL; never file contents or values.
        command: String,
        /// Its exit status, e.g. `exit status 1`.
        status: String,
        /// The last lines of the program's stderr.
        stderr: String,
    },
    /// The program printed something maia cannot read (an unknown version's format).
    #[error("cannot make sense of what `{command}` printed: {message}")]
    ToolOutput {
        /// `helm`, `kubectl` or `git`.
        tool: &'static str,
        /// Program and subcommand.
        command: String,
        /// What was wrong with the output.
        message: String,
    },
    /// A chart's values file could not be written (or its folder removed).
    #[error("cannot write the values file for helm release {release}")]
    ValuesFile {
        /// The helm release.
        release: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A path that should be a folder is a file (or lies under one): a wrong argument.
fn not_a_folder(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotADirectory | std::io::ErrorKind::AlreadyExists
    )
}

/// A program's stderr, indented under the line saying it failed.
fn stderr_block(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        return String::new();
    }
    let lines: Vec<String> = stderr.lines().map(|line| format!("  {line}")).collect();
    format!(":\n{}", lines.join("\n"))
}

impl DeployError {
    /// What the person at the terminal should try next.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            DeployError::Kube(e) => return e.hint(),
            DeployError::StateCorrupt { .. } => {
                "restore it from a backup (or delete the damaged key and re-run with --regenerate KEY); new passwords would lock the running workspace out".into()
            }
            DeployError::CredentialsLost { secret, .. } => format!(
                "restore {secret} from a backup (kubectl apply -f it), or pass --config-folder DIR whose <group_ID>/credentials.yaml holds them; maia never draws new passwords over existing data"
            ),
            DeployError::LeaseHeld { lease, held } => {
                let (namespace, name) = lease.split_once('/').unwrap_or(("maia-system", lease));
                format!(
                    "wait for that run to end and re-run. If it is dead (killed, or its machine is gone), its Lease expires {} after its last renewal: re-run then and maia takes it over; to break it at once: kubectl delete lease {name} -n {namespace}",
                    human(held.expires_after)
                )
            }
            DeployError::Interrupted { .. } => {
                "re-run the same command to finish; it picks up where it stopped".into()
            }
            DeployError::LeaseLost { .. } => {
                "this run stopped: re-run it (a run that could not reach the API server for the Lease's whole duration, e.g. a machine that slept, loses it to the next run)".into()
            }
            DeployError::Preflight { .. } => "fix each problem listed above and run again".into(),
            DeployError::CredentialsDamaged { .. } => {
                "restore it from a backup; if its passwords are truly lost, delete the file (or re-run with --regenerate KEY for one key): new passwords lock the running workspace out until it is deployed again".into()
            }
            DeployError::FolderIo { .. } => {
                "check that the config folder exists, is a folder and is writable".into()
            }
            DeployError::FolderWrite { source, .. } if not_a_folder(source) => {
                "the output folder is a file: name a folder (it is created when missing)".into()
            }
            DeployError::FolderWrite { .. } => "check that the folder exists and is writable".into(),
            DeployError::FolderConflict { hint, .. } => hint.clone(),
            DeployError::EnvFile { .. } => {
                "check minio_env_name in the group form and minio_url, the keys and bucket_name in the cluster config; a local path is read relative to the group form".into()
            }
            DeployError::LinkedFolder { .. } => {
                "remove the link (maia makes the folder again), or write into another config folder".into()
            }
            DeployError::EnvFileRefused { .. } => {
                "copy the environment file into the group form's folder (a regular file; a symbolic link may point only inside that folder), or name an object in the central MinIO's bucket".into()
            }
            DeployError::PortsExhausted(_) => {
                "widen port_range in the cluster config (every port the cluster's Services hold is taken)".into()
            }
            DeployError::WorkspaceNotFound(_) => {
                "list the workspaces with `maia namespace list`".into()
            }
            DeployError::ToolMissing { tool, .. } => format!(
                "install {tool} and put it on PATH, or leave out what needs it with {}",
                if *tool == "helm" { "--skip-helm" } else { "--skip-kubeflow" }
            ),
            DeployError::ToolStart { program, .. } => {
                format!("check that {program} exists and is an executable program")
            }
            DeployError::ToolFailed { tool, stderr, .. } => tool_failed_hint(tool, stderr),
            DeployError::ToolOutput { tool, .. } => format!(
                "maia may not understand this {tool} version; check `{tool} version`, and report it if it is recent"
            ),
            DeployError::ValuesFile { .. } => {
                "check that the temporary directory (TMPDIR) exists and is writable".into()
            }
        })
    }

    /// True when the fault is in what the user asked for rather than in the cluster.
    pub fn is_bad_input(&self) -> bool {
        if let DeployError::Kube(e) = self {
            return e.is_bad_input();
        }
        if let DeployError::Preflight { problems } = self {
            return problems.iter().any(|p| p.bad_input);
        }
        if let DeployError::FolderIo { source, .. } | DeployError::FolderWrite { source, .. } = self
        {
            return not_a_folder(source);
        }
        matches!(
            self,
            DeployError::PortsExhausted(_)
                | DeployError::CredentialsDamaged { .. }
                | DeployError::CredentialsLost { .. }
                | DeployError::FolderConflict { .. }
                | DeployError::EnvFileRefused { .. }
                | DeployError::LinkedFolder { .. }
        )
    }

    /// Turns a failed request into the error a user can act on
    /// ([`KubeError::from_kube`]).
    pub(crate) fn from_kube(
        source: kube::Error,
        url: &str,
        verb: &str,
        object: impl Into<String>,
    ) -> Self {
        DeployError::Kube(KubeError::from_kube(source, url, verb, object))
    }
}

/// What to try when helm or kubectl failed, from what it said.
fn tool_failed_hint(tool: &str, stderr: &str) -> String {
    let said = stderr.to_lowercase();
    if tool == "helm" && said.contains("another operation") {
        return "an earlier helm run on this release did not finish: see `helm history RELEASE -n NAMESPACE`, roll it back (`helm rollback`) and deploy again".into();
    }
    if said.contains("executable file not found") && said.contains("git") {
        return "kubectl needs git to fetch a remote kustomization: install git and put it on PATH"
            .into();
    }
    if said.contains("timed out") || said.contains("context deadline exceeded") {
        return format!(
            "{tool} gave up waiting; look at the pods' events (kubectl get events -n NAMESPACE) and raise --timeout if it is just slow"
        );
    }
    format!("the lines above are {tool}'s own message; fix the cause and re-run the same command")
}

/// Who holds a Lease another run wanted ([`DeployError::LeaseHeld`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// Its holder's identity (`user@host (pid N)`).
    pub holder: String,
    /// What the holder is doing, as it said (`namespace deploy of brain-mri`).
    pub operation: Option<String>,
    /// When it took the Lease, by its own clock.
    pub since: Option<String>,
    /// How long maia waited for it (`None`: it did not wait).
    pub waited: Option<Duration>,
    /// How long the Lease lasts without renewal.
    pub expires_after: Duration,
}

/// A result whose error is a [`DeployError`].
pub type Result<T, E = DeployError> = std::result::Result<T, E>;

/// One problem found before deploying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What was checked: `api`, `permission`, `crd`, `storage-class`, `ingress-class`,
    /// `tool`, `namespace`.
    pub check: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// The fault is in the input (a reserved or taken namespace), not in the cluster.
    pub bad_input: bool,
}
