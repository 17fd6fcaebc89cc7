//! [`DeployError`]: what talking to a cluster (or to helm, kubectl and the config
//! folder) can fail with, and for each what the user should try next.

use std::time::Duration;

/// Everything talking to a cluster can fail with. Each variant names the step and the
/// object; the cause, when there is one, is attached as `source`.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The kubeconfig exists but cannot be read or parsed (or two of a `KUBECONFIG`
    /// list cannot be merged).
    #[error("cannot load kubeconfig {path}")]
    Kubeconfig {
        /// The kubeconfig file, or the `KUBECONFIG` list.
        path: String,
        /// What kube's loader said.
        #[source]
        source: Box<kube::config::KubeconfigError>,
    },
    /// `--kubeconfig` or `KUBECONFIG` names files that do not exist.
    #[error("kubeconfig {paths} named by {named_by} does not exist")]
    KubeconfigMissing {
        /// The path (or list of paths) named.
        paths: String,
        /// Who named it: `--kubeconfig` or `KUBECONFIG`.
        named_by: &'static str,
    },
    /// No kubeconfig anywhere, and not inside a cluster either.
    #[error(
        "no cluster to talk to: no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running inside a cluster"
    )]
    NoCluster {
        /// Why the in-cluster configuration could not be used.
        #[source]
        source: Box<kube::config::InClusterError>,
    },
    /// A `--context` (or a context of the config's `clusters`) the kubeconfig lacks.
    #[error("context {context:?} is not in the kubeconfig (it has: {known})")]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The contexts the kubeconfig has, comma-separated (or why there are none).
        known: String,
    },
    /// The kubeconfig's cluster entry does not make a client (bad URL, certificate…).
    #[error("cannot set up a client for {url}")]
    Client {
        /// The API server URL.
        url: String,
        /// What kube said.
        #[source]
        source: Box<kube::Error>,
    },
    /// The kubeconfig's exec credential plugin hung, failed or gave no credential.
    #[error("the kubeconfig's credential plugin `{plugin}` failed: {reason}")]
    ExecPlugin {
        /// Its command and arguments (never its environment).
        plugin: String,
        /// What went wrong: timeout, exit status and the end of its stderr.
        reason: String,
    },
    /// The API server's TLS certificate is not signed by a CA this kubeconfig trusts.
    #[error(
        "the API server at {url} presented a certificate that is not trusted ({reason}) (while trying to {verb} {object})"
    )]
    UntrustedCertificate {
        /// The API server URL.
        url: String,
        /// What the TLS library said about the certificate.
        reason: String,
        /// What maia was doing.
        verb: String,
        /// What it was doing it to.
        object: String,
    },
    /// The API server could not be reached at all (connection, TLS, timeout).
    #[error("cannot reach the Kubernetes API server at {url} (while trying to {verb} {object})")]
    Unreachable {
        /// The API server URL.
        url: String,
        /// What maia was doing (`get`, `list`, `apply`, …).
        verb: String,
        /// What it was doing it to (`deployment/web`, `services in all namespaces`, …).
        object: String,
        /// The transport error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The API server refused the credentials (401) or the permission (403).
    #[error("the API server refused to {verb} {object} (HTTP {code}): {message}")]
    Forbidden {
        /// What maia was doing.
        verb: String,
        /// What it was doing it to.
        object: String,
        /// 401 or 403.
        code: u16,
        /// The API server's message.
        message: String,
    },
    /// The URL answered, but not as a Kubernetes API server (a web page, a proxy).
    #[error(
        "{url} answered HTTP {code} with something that is not the Kubernetes API (while trying to {verb} {object})"
    )]
    NotKubernetes {
        /// The URL that answered.
        url: String,
        /// The HTTP status it answered with.
        code: u16,
        /// What maia was doing.
        verb: String,
        /// What it was doing it to.
        object: String,
    },
    /// The deploy's namespace does not exist and was not to be created.
    #[error("namespace {0} does not exist")]
    NamespaceMissing(
        /// The namespace.
        String,
    ),
    /// The cluster does not serve a kind maia would write (a CRD is not installed).
    #[error("the cluster does not serve {kind} ({api_version})")]
    KindMissing {
        /// The kind, e.g. `Tenant`.
        kind: String,
        /// Its `apiVersion`, e.g. `minio.min.io/v2`.
        api_version: String,
    },
    /// Server-side apply found fields another field manager owns; nothing was changed.
    #[error("{object} has fields managed by {managers}; maia did not change it")]
    Conflict {
        /// The object.
        object: String,
        /// The other field managers, comma-separated.
        managers: String,
        /// The API server's full message (which fields).
        message: String,
    },
    /// A volume claim would change in a way the API server refuses (anything but
    /// growing); the deploy stopped before any write.
    #[error(
        "{object} would change ({fields}), but a volume claim can only grow once it is created"
    )]
    VolumeImmutable {
        /// The claim.
        object: String,
        /// The paths of the fields that would change, comma-separated.
        fields: String,
    },
    /// An object of a rendered name exists that maia did not create; the deploy
    /// stopped before any write.
    #[error("not created by maia, so maia did not touch it: {object} (nothing was changed)")]
    NotOwned {
        /// The objects in the way, comma-separated.
        object: String,
    },
    /// A Job's pod template would change, which needs `--replace`; the deploy stopped
    /// before any write.
    #[error(
        "{object} would change ({fields}), but a Job's pod template cannot be changed once it is created"
    )]
    JobImmutable {
        /// The Job.
        object: String,
        /// The paths of the fields that would change, comma-separated.
        fields: String,
    },
    /// The API server refused a request with a Status other than the ones above.
    #[error("cannot {verb} {object}: the API server answered HTTP {code} {reason}: {message}")]
    Api {
        /// What maia was doing.
        verb: String,
        /// What it was doing it to.
        object: String,
        /// The HTTP status (409 for a concurrent change, 5xx for a server problem).
        code: u16,
        /// The Status's reason, e.g. `Conflict`.
        reason: String,
        /// The API server's message.
        message: String,
    },
    /// A request failed on maia's side (its body or the answer could not be handled).
    #[error("cannot {verb} {object}")]
    Request {
        /// What maia was doing.
        verb: String,
        /// What it was doing it to.
        object: String,
        /// What kube said.
        #[source]
        source: Box<kube::Error>,
    },
    /// An object waited for (`--wait`) was not ready in time.
    #[error("{object} is not ready after {}; last seen: {last}", human(*timeout))]
    WaitTimeout {
        /// The object (and its workspace component).
        object: String,
        /// How long maia waited.
        timeout: Duration,
        /// Why it was not ready when last looked at.
        last: String,
        /// The workspace's namespace, when waiting for one (the hint then names
        /// `maia namespace status`, not `maia app status`).
        workspace: Option<String>,
    },
    /// An object waited for will not become ready without a change (image pull
    /// error, crash loop, Job past its deadline…).
    #[error("{object} failed: {reason}")]
    WorkloadFailed {
        /// The object (and its workspace component).
        object: String,
        /// Why, as its status or its pod says.
        reason: String,
        /// The workspace's namespace, when deploying one.
        workspace: Option<String>,
    },
    /// `maia app delete` found no object of that app.
    #[error("no app {release:?} in namespace {namespace}")]
    AppNotFound {
        /// The app's name (its release).
        release: String,
        /// The namespace searched.
        namespace: String,
    },
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
        problems: Vec<crate::workspace::preflight::Problem>,
    },
    /// The objects would not fit what the namespace's ResourceQuotas leave.
    #[error("this would not fit the quota of namespace {namespace}: {}", problems.join("; "))]
    QuotaExceeded {
        /// The namespace.
        namespace: String,
        /// One sentence per resource that is short, with the numbers.
        problems: Vec<String>,
    },
    /// An API response was larger than maia reads ([`crate::cluster::MAX_RESPONSE_BYTES`]).
    #[error(
        "the API server at {url} sent more than 64 MiB for {verb} {object}; maia stopped reading"
    )]
    ResponseTooLarge {
        /// The API server.
        url: String,
        /// What was asked (`list`, `get`, …).
        verb: String,
        /// Of what.
        object: String,
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
    /// A rendered object or workspace could not be turned into what is sent (a bug).
    #[error("cannot turn {object} into JSON")]
    Render {
        /// The object or workspace.
        object: String,
        /// The render error.
        #[source]
        source: maia_render::RenderError,
    },
    /// An object from the API server could not be turned into JSON (a bug).
    #[error("cannot serialise {object} for the API server")]
    Serialize {
        /// The object.
        object: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
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
    /// An app command met objects a workspace owns (its MySQL, its MLflow, or any
    /// object its labels or inventory claim); nothing was changed.
    #[error(
        "{objects} in namespace {namespace} belong to {}, not to an app; maia did not touch them",
        workspace_name(group_id.as_deref(), namespace)
    )]
    WorkspaceOwned {
        /// The objects, as `kind/name`, comma-separated.
        objects: String,
        /// Their namespace.
        namespace: String,
        /// The workspace's group_ID, when the Namespace could be read.
        group_id: Option<String>,
    },
    /// Hosts of this deploy's Ingresses are served by another namespace's Ingress on
    /// overlapping paths; nothing was changed.
    #[error("{}", taken.join("; "))]
    HostTaken {
        /// One sentence per host and path: which Ingress in which namespace serves it.
        taken: Vec<String>,
    },
}

/// A path that should be a folder is a file (or lies under one): a wrong argument.
fn not_a_folder(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotADirectory | std::io::ErrorKind::AlreadyExists
    )
}

/// "workspace G", or "the workspace in namespace NS" when its group_ID is unknown.
fn workspace_name(group_id: Option<&str>, namespace: &str) -> String {
    match group_id {
        Some(g) => format!("workspace {g}"),
        None => format!("the workspace in namespace {namespace}"),
    }
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
            DeployError::Kubeconfig { .. } => {
                "check the file, or point --kubeconfig / KUBECONFIG at a valid kubeconfig".into()
            }
            DeployError::KubeconfigMissing { named_by, .. } => format!(
                "fix the path in {named_by}, or leave it out to use ~/.kube/config (`kubectl config view` shows what kubectl finds)"
            ),
            DeployError::NoCluster { .. } => {
                "pass --kubeconfig FILE, set KUBECONFIG, or create ~/.kube/config".into()
            }
            DeployError::UnknownContext { .. } => {
                "list contexts with `kubectl config get-contexts`; fix --context or `clusters` in the config".into()
            }
            DeployError::Client { .. } => "check the cluster entry of the kubeconfig".into(),
            DeployError::ExecPlugin { .. } => {
                "run the plugin yourself (`kubectl get ns` with the same kubeconfig) to log in or see why it fails; MAIA_EXEC_PLUGIN_TIMEOUT=SECONDS gives it longer".into()
            }
            DeployError::UntrustedCertificate { .. } => {
                "the kubeconfig's cluster entry must hold the CA that signed the API server's certificate (certificate-authority-data or certificate-authority; `kubectl config view --minify --raw` shows it): get it from the cluster's admin, and check that the server URL names the cluster you mean".into()
            }
            DeployError::Unreachable { .. } => {
                "check that the cluster is up and that this machine can reach it (VPN, firewall, kubeconfig server URL)".into()
            }
            DeployError::Forbidden { code: 401, .. } => {
                "your credentials were not accepted: refresh the token or certificate in the kubeconfig".into()
            }
            // The NamespaceLifecycle admission's 403: no permission would help.
            DeployError::Forbidden { message, .. } if message.contains("because it is being terminated") => {
                "the namespace is being deleted: wait until it is gone (`kubectl get namespace NAME -o yaml` shows what holds it) and run again".into()
            }
            DeployError::Forbidden { .. } => {
                "ask a cluster admin for that permission (a Role/RoleBinding in the namespace), or use another --context".into()
            }
            DeployError::NotKubernetes { .. } => {
                "check the cluster's server URL in the kubeconfig: it must be the API server (often https://<host>:6443), not a web page".into()
            }
            DeployError::NamespaceMissing(_) => {
                "re-run with --create-namespace, or create it first (kubectl create namespace NAME)".into()
            }
            DeployError::KindMissing { .. } => {
                "install the CustomResourceDefinition (or the operator that brings it) first".into()
            }
            DeployError::Conflict { .. } => {
                "re-run with --force-conflicts to take those fields over, or ask the other manager to drop them".into()
            }
            DeployError::NotOwned { .. } => {
                "rename the app (chart_name), delete the existing object, or re-run with --force-conflicts to adopt it".into()
            }
            DeployError::VolumeImmutable { .. } => {
                "maia never deletes a volume to change it: copy the data out, delete the claim yourself (kubectl delete pvc NAME -n NAMESPACE) and deploy again, or keep its old settings in the config".into()
            }
            DeployError::JobImmutable { .. } => {
                "re-run with --replace to delete the Job (and its pod) and create it again".into()
            }
            DeployError::Api { code, .. } if *code >= 500 => {
                "the API server had a problem; re-run the same command, it picks up where it stopped".into()
            }
            DeployError::Api { code: 409, .. } => {
                "someone changed the object at the same time; re-run the same command".into()
            }
            DeployError::Api { .. } | DeployError::Request { .. } => return None,
            DeployError::WaitTimeout {
                workspace: Some(namespace),
                ..
            } => format!(
                "look at `maia namespace status {namespace}` and the pods' events (kubectl get events -n {namespace}); raise --timeout if it is just slow"
            ),
            DeployError::WorkloadFailed {
                workspace: Some(namespace),
                ..
            } => format!(
                "fix the cause (the group form, the cluster or MAIA config, or the cluster) and deploy again; `maia namespace status {namespace}` shows the details"
            ),
            DeployError::WaitTimeout { .. } => {
                "look at `maia app status NAME -n NAMESPACE` and the pod's events (kubectl describe pod); raise --timeout if it is just slow".into()
            }
            DeployError::WorkloadFailed { .. } => {
                "fix the cause in the app config and deploy again; `maia app status` shows the details".into()
            }
            DeployError::AppNotFound { .. } => "list the apps with `maia app list -n NAMESPACE`".into(),
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
            DeployError::QuotaExceeded { namespace, .. } => format!(
                "ask less (replicas, requests, GPUs), free what runs, or raise the quota (`kubectl describe resourcequota -n {namespace}` shows it)"
            ),
            DeployError::ResponseTooLarge { .. } => {
                "no Kubernetes response is this large: check that the kubeconfig's server URL points at the API server and not at a proxy or another service".into()
            }
            DeployError::PortsExhausted(_) => {
                "widen port_range in the cluster config (every port the cluster's Services hold is taken)".into()
            }
            DeployError::WorkspaceNotFound(_) => {
                "list the workspaces with `maia namespace list`".into()
            }
            DeployError::Serialize { .. } | DeployError::Render { .. } => {
                "this is a bug in maia; please report it with the config file".into()
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
            DeployError::WorkspaceOwned {
                group_id, namespace, ..
            } => {
                let group = group_id.as_deref().unwrap_or(namespace);
                format!(
                    "a workspace's objects change only with its group form (`maia namespace deploy`); see them with `maia namespace status {group}`, remove them with `maia namespace delete {group}`; give your app another chart_name"
                )
            }
            DeployError::HostTaken { .. } => {
                "use a host (or a path) no other namespace serves: another group's host would get that group's requests and logins".into()
            }
        })
    }

    /// True when the fault is in what the user asked for rather than in the cluster.
    pub fn is_bad_input(&self) -> bool {
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
                | DeployError::NotKubernetes { .. }
                | DeployError::CredentialsDamaged { .. }
                | DeployError::CredentialsLost { .. }
                | DeployError::FolderConflict { .. }
                | DeployError::EnvFileRefused { .. }
                | DeployError::LinkedFolder { .. }
                | DeployError::Kubeconfig { .. }
                | DeployError::KubeconfigMissing { .. }
                | DeployError::UnknownContext { .. }
                | DeployError::NoCluster { .. }
                | DeployError::WorkspaceOwned { .. }
                | DeployError::HostTaken { .. }
        )
    }

    /// Turns a failed request into the error a user can act on.
    pub(crate) fn from_kube(
        source: kube::Error,
        url: &str,
        verb: &str,
        object: impl Into<String>,
    ) -> Self {
        let object = object.into();
        if too_large(&source) {
            return DeployError::ResponseTooLarge {
                url: url.into(),
                verb: verb.into(),
                object,
            };
        }
        match source {
            kube::Error::Api(status)
                if status.reason.starts_with("Failed to parse")
                    || status.message.trim_start().starts_with('<') =>
            {
                // A web server's page, not a Status: say so instead of showing the page.
                DeployError::NotKubernetes {
                    url: url.into(),
                    code: status.code,
                    verb: verb.into(),
                    object,
                }
            }
            kube::Error::Api(status) => {
                let code = status.code;
                let message = status.message.clone();
                if code == 401 || code == 403 {
                    return DeployError::Forbidden {
                        verb: verb.into(),
                        object,
                        code,
                        message,
                    };
                }
                if code == 409 && !conflicting_managers(&message).is_empty() {
                    return DeployError::Conflict {
                        object,
                        managers: conflicting_managers(&message).join(", "),
                        message,
                    };
                }
                DeployError::Api {
                    verb: verb.into(),
                    object,
                    code,
                    reason: status.reason.clone(),
                    message,
                }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_)
                if let Some(reason) = untrusted_certificate(&source) =>
            {
                DeployError::UntrustedCertificate {
                    url: url.into(),
                    reason,
                    verb: verb.into(),
                    object,
                }
            }
            kube::Error::Auth(_) => match crate::cluster::exec_failure(&source) {
                // A token refresh by the exec plugin failed; kube's message would show
                // the plugin's environment values.
                Some(reason) => DeployError::ExecPlugin {
                    plugin: "(exec plugin of the kubeconfig)".into(),
                    reason,
                },
                None => DeployError::Request {
                    verb: verb.into(),
                    object,
                    source: Box::new(source),
                },
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) => DeployError::Unreachable {
                url: url.into(),
                verb: verb.into(),
                object,
                source: Box::new(source),
            },
            source => DeployError::Request {
                verb: verb.into(),
                object,
                source: Box::new(source),
            },
        }
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

/// The field managers named in a server-side apply conflict message, e.g.
/// `Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas`
/// or `Apply failed with 2 conflicts: conflicts with "helm" using v1: …`.
fn conflicting_managers(message: &str) -> Vec<String> {
    if !message.starts_with("Apply failed") {
        return Vec::new();
    }
    let mut managers: Vec<String> = Vec::new();
    for (at, _) in message.match_indices("\" using ") {
        let before = &message[..at];
        if let Some(start) = before.rfind('"') {
            let name = before[start + 1..].to_string();
            if !managers.contains(&name) {
                managers.push(name);
            }
        }
    }
    managers
}

/// "300ms", "45s", "5m", "1h30m": how a person writes a timeout.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => format!("{}ms", d.as_millis()),
        s if s < 60 => format!("{s}s"),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{}m{}s", s / 60, s % 60),
    }
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

/// What the TLS library said when the server's certificate was refused, if that is why
/// the connection failed. Read from the messages (rustls says `invalid peer
/// certificate: …`), so that maia-deploy needs no TLS library of its own; an
/// `io::Error` hides the error it wraps from `source()`, so each one is opened too.
fn untrusted_certificate(error: &kube::Error) -> Option<String> {
    const SAID: &str = "invalid peer certificate: ";
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner.to_string());
        for text in [Some(e.to_string()), inner].into_iter().flatten() {
            if let Some((_, why)) = text.split_once(SAID) {
                return Some(why.trim().to_string());
            }
        }
        cause = e.source();
    }
    None
}

/// True when the request failed because the response passed the body limit.
fn too_large(error: &kube::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::conflicting_managers;

    #[test]
    fn managers_are_read_from_both_conflict_message_forms() {
        assert_eq!(
            conflicting_managers(
                "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
            ),
            ["kubectl-client-side-apply"]
        );
        assert_eq!(
            conflicting_managers(
                "Apply failed with 3 conflicts: conflicts with \"helm\" using v1:\n- .spec.ports\n- .metadata.labels.x\nconflict with \"kubectl\" using v1: .spec.type"
            ),
            ["helm", "kubectl"]
        );
        assert!(conflicting_managers("the object has been modified").is_empty());
    }
}
