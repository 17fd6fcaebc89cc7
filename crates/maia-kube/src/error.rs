//! [`KubeError`]: what talking to a cluster can fail with (finding it, reading,
//! planning, applying, waiting), and for each what the user should try next.

use std::time::Duration;

/// Everything the engine can fail with. Each variant names the step and the
/// object; the cause, when there is one, is attached as `source`.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
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
    /// The run was cancelled (its sink said so): it stopped before its next write.
    #[error("stopped before {step}: the run was cancelled")]
    Cancelled {
        /// The step not started (`applying notebook`).
        step: String,
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
    /// The objects would not fit what the namespace's ResourceQuotas leave.
    #[error("this would not fit the quota of namespace {namespace}: {}", problems.join("; "))]
    QuotaExceeded {
        /// The namespace.
        namespace: String,
        /// One sentence per resource that is short, with the numbers.
        problems: Vec<String>,
    },
    /// An API response was larger than maia reads (`cluster::MAX_RESPONSE_BYTES`).
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

/// "workspace G", or "the workspace in namespace NS" when its group_ID is unknown.
fn workspace_name(group_id: Option<&str>, namespace: &str) -> String {
    match group_id {
        Some(g) => format!("workspace {g}"),
        None => format!("the workspace in namespace {namespace}"),
    }
}

impl KubeError {
    /// What the person at the terminal should try next.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            KubeError::Cancelled { .. } => {
                "re-run the same command to finish; it picks up where it stopped".into()
            }
            KubeError::Kubeconfig { .. } => {
                "check the file, or point --kubeconfig / KUBECONFIG at a valid kubeconfig".into()
            }
            KubeError::KubeconfigMissing { named_by, .. } => format!(
                "fix the path in {named_by}, or leave it out to use ~/.kube/config (`kubectl config view` shows what kubectl finds)"
            ),
            KubeError::NoCluster { .. } => {
                "pass --kubeconfig FILE, set KUBECONFIG, or create ~/.kube/config".into()
            }
            KubeError::UnknownContext { .. } => {
                "list contexts with `kubectl config get-contexts`; fix --context or `clusters` in the config".into()
            }
            KubeError::Client { .. } => "check the cluster entry of the kubeconfig".into(),
            KubeError::ExecPlugin { .. } => {
                "run the plugin yourself (`kubectl get ns` with the same kubeconfig) to log in or see why it fails; MAIA_EXEC_PLUGIN_TIMEOUT=SECONDS gives it longer".into()
            }
            KubeError::UntrustedCertificate { .. } => {
                "the kubeconfig's cluster entry must hold the CA that signed the API server's certificate (certificate-authority-data or certificate-authority; `kubectl config view --minify --raw` shows it): get it from the cluster's admin, and check that the server URL names the cluster you mean".into()
            }
            KubeError::Unreachable { .. } => {
                "check that the cluster is up and that this machine can reach it (VPN, firewall, kubeconfig server URL)".into()
            }
            KubeError::Forbidden { code: 401, .. } => {
                "your credentials were not accepted: refresh the token or certificate in the kubeconfig".into()
            }
            // The NamespaceLifecycle admission's 403: no permission would help.
            KubeError::Forbidden { message, .. } if message.contains("because it is being terminated") => {
                "the namespace is being deleted: wait until it is gone (`kubectl get namespace NAME -o yaml` shows what holds it) and run again".into()
            }
            KubeError::Forbidden { .. } => {
                "ask a cluster admin for that permission (a Role/RoleBinding in the namespace), or use another --context".into()
            }
            KubeError::NotKubernetes { .. } => {
                "check the cluster's server URL in the kubeconfig: it must be the API server (often https://<host>:6443), not a web page".into()
            }
            KubeError::NamespaceMissing(_) => {
                "re-run with --create-namespace, or create it first (kubectl create namespace NAME)".into()
            }
            KubeError::KindMissing { .. } => {
                "install the CustomResourceDefinition (or the operator that brings it) first".into()
            }
            KubeError::Conflict { .. } => {
                "re-run with --force-conflicts to take those fields over, or ask the other manager to drop them".into()
            }
            KubeError::NotOwned { .. } => {
                "rename the app (chart_name), delete the existing object, or re-run with --force-conflicts to adopt it".into()
            }
            KubeError::VolumeImmutable { .. } => {
                "maia never deletes a volume to change it: copy the data out, delete the claim yourself (kubectl delete pvc NAME -n NAMESPACE) and deploy again, or keep its old settings in the config".into()
            }
            KubeError::JobImmutable { .. } => {
                "re-run with --replace to delete the Job (and its pod) and create it again".into()
            }
            KubeError::Api { code, .. } if *code >= 500 => {
                "the API server had a problem; re-run the same command, it picks up where it stopped".into()
            }
            KubeError::Api { code: 409, .. } => {
                "someone changed the object at the same time; re-run the same command".into()
            }
            KubeError::Api { .. } | KubeError::Request { .. } => return None,
            KubeError::WaitTimeout {
                workspace: Some(namespace),
                ..
            } => format!(
                "look at `maia namespace status {namespace}` and the pods' events (kubectl get events -n {namespace}); raise --timeout if it is just slow"
            ),
            KubeError::WorkloadFailed {
                workspace: Some(namespace),
                ..
            } => format!(
                "fix the cause (the group form, the cluster or MAIA config, or the cluster) and deploy again; `maia namespace status {namespace}` shows the details"
            ),
            KubeError::WaitTimeout { .. } => {
                "look at `maia app status NAME -n NAMESPACE` and the pod's events (kubectl describe pod); raise --timeout if it is just slow".into()
            }
            KubeError::WorkloadFailed { .. } => {
                "fix the cause in the app config and deploy again; `maia app status` shows the details".into()
            }
            KubeError::AppNotFound { .. } => "list the apps with `maia app list -n NAMESPACE`".into(),
            KubeError::QuotaExceeded { namespace, .. } => format!(
                "ask less (replicas, requests, GPUs), free what runs, or raise the quota (`kubectl describe resourcequota -n {namespace}` shows it)"
            ),
            KubeError::ResponseTooLarge { .. } => {
                "no Kubernetes response is this large: check that the kubeconfig's server URL points at the API server and not at a proxy or another service".into()
            }
            KubeError::Serialize { .. } | KubeError::Render { .. } => {
                "this is a bug in maia; please report it with the config file".into()
            }
            KubeError::WorkspaceOwned {
                group_id, namespace, ..
            } => {
                let group = group_id.as_deref().unwrap_or(namespace);
                format!(
                    "a workspace's objects change only with its group form (`maia namespace deploy`); see them with `maia namespace status {group}`, remove them with `maia namespace delete {group}`; give your app another chart_name"
                )
            }
            KubeError::HostTaken { .. } => {
                "use a host (or a path) no other namespace serves: another group's host would get that group's requests and logins".into()
            }
        })
    }

    /// True when the fault is in what the user asked for rather than in the cluster.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            KubeError::NotKubernetes { .. }
                | KubeError::Kubeconfig { .. }
                | KubeError::KubeconfigMissing { .. }
                | KubeError::UnknownContext { .. }
                | KubeError::NoCluster { .. }
                | KubeError::WorkspaceOwned { .. }
                | KubeError::HostTaken { .. }
        )
    }

    /// Turns a failed request into the error a user can act on.
    pub fn from_kube(
        source: kube::Error,
        url: &str,
        verb: &str,
        object: impl Into<String>,
    ) -> Self {
        let object = object.into();
        if too_large(&source) {
            return KubeError::ResponseTooLarge {
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
                KubeError::NotKubernetes {
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
                    return KubeError::Forbidden {
                        verb: verb.into(),
                        object,
                        code,
                        message,
                    };
                }
                if code == 409 && !conflicting_managers(&message).is_empty() {
                    return KubeError::Conflict {
                        object,
                        managers: conflicting_managers(&message).join(", "),
                        message,
                    };
                }
                KubeError::Api {
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
                KubeError::UntrustedCertificate {
                    url: url.into(),
                    reason,
                    verb: verb.into(),
                    object,
                }
            }
            kube::Error::Auth(_) => match exec_failure(&source) {
                // A token refresh by the exec plugin failed; kube's message would show
                // the plugin's environment values.
                Some(reason) => KubeError::ExecPlugin {
                    plugin: "(exec plugin of the kubeconfig)".into(),
                    reason,
                },
                None => KubeError::Request {
                    verb: verb.into(),
                    object,
                    source: Box::new(source),
                },
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) => KubeError::Unreachable {
                url: url.into(),
                verb: verb.into(),
                object,
                source: Box::new(source),
            },
            source => KubeError::Request {
                verb: verb.into(),
                object,
                source: Box::new(source),
            },
        }
    }
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

/// The last lines a program wrote on stderr, for a message.
pub fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join("; ")
}

/// Why kube could not get a credential from the exec plugin, without its environment.
pub fn exec_failure(error: &kube::Error) -> Option<String> {
    use kube::client::AuthError;
    let kube::Error::Auth(auth) = error else {
        return None;
    };
    Some(match auth {
        AuthError::AuthExecRun { status, out, .. } => {
            let said = stderr_tail(&out.stderr);
            if said.is_empty() {
                format!("it exited with {status}")
            } else {
                format!("it exited with {status}: {said}")
            }
        }
        AuthError::AuthExecStart(e) => format!("it could not be started: {e}"),
        AuthError::AuthExecParse(e) => format!("its output is not an ExecCredential: {e}"),
        AuthError::AuthExec(message) => message.clone(),
        AuthError::ExecPluginFailed => "it returned no credential".into(),
        _ => return None,
    })
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

/// A result whose error is a [`KubeError`].
pub type Result<T, E = KubeError> = std::result::Result<T, E>;

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
