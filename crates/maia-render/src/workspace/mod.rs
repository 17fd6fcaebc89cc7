//! A whole MAIA workspace: every component renders from the same [`WorkspaceSpec`]
//! and the facts the caller gathered (credentials kept from earlier runs, SSH ports),
//! and the results are composed, in apply order, into a [`Bundle`].
//!
//! Every component module has the same shape: `pub(crate) fn render(ctx: &mut Ctx<'_, '_>)
//! -> Result<Component, RenderError>`. reading top to bottom: inputs, objects, outputs.

use maia_spec::workspace::WorkspaceSpec;
use serde::Serialize;

use crate::error::RenderError;
use crate::object::Object;

mod addons;
pub mod credentials;
mod filebrowser;
pub mod gitops;
pub mod guard;
mod ingress;
mod jupyterhub;
mod kubeflow;
mod label_studio;
mod meta;
mod minio;
mod mlflow;
mod mysql;
mod namespace;
mod oauth2_proxy;
pub mod oidc;
mod orthanc_ohif;
pub mod ports;
pub mod record;
pub mod rollout;
pub mod tenancy;
#[cfg(test)]
mod testing;
pub mod text;

use std::collections::BTreeMap;

pub use addons::ssh_command_for;
use credentials::CredentialStore;
pub use credentials::{Credentials, SecretSource};
pub use ports::SshPorts;

/// What one component contributes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Component {
    /// File stem under `manifests/` and the component's name in messages (`namespace`, `minio`, …).
    pub name: &'static str,
    /// maia's own objects, in apply order.
    pub objects: Vec<Object>,
    /// Third-party charts installed with helm.
    pub helm: Vec<HelmRelease>,
    /// Remote kustomizations applied with `kubectl apply -k`.
    pub kustomizations: Vec<Kustomization>,
    /// What the group gets from it (for summary.md/json), e.g. ("MLflow", URL).
    pub outputs: Vec<Output>,
    /// Components that must be applied before this one (by name).
    pub depends_on: Vec<&'static str>,
}

/// One entry of the summary: a URL, a service name, or an SSH command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Output {
    /// What it is, e.g. `MLflow` or `SSH alice@example.org`.
    pub label: String,
    /// The URL, name or command.
    pub value: String,
    /// A raw value for scripts (`mysql_service`), kept in summary.json only; people
    /// read URLs and commands.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
}

impl Output {
    /// An entry people read.
    pub(crate) fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Output {
            label: label.into(),
            value: value.into(),
            internal: false,
        }
    }

    /// A raw value the original printed as an output (`oauth_url`, `mysql_service`).
    pub(crate) fn internal(label: impl Into<String>, value: impl Into<String>) -> Self {
        Output {
            internal: true,
            ..Output::new(label, value)
        }
    }
}

/// A helm release of a third-party chart; its values go to a file, never argv.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HelmRelease {
    /// The release name.
    pub release: String,
    /// The namespace it is installed in.
    pub namespace: String,
    /// Chart name in its repository (`oauth2-proxy`).
    pub chart: String,
    /// Local repository alias (`oauth2-proxy`).
    pub repo_name: String,
    /// The repository's URL.
    pub repo_url: String,
    /// Pinned chart version.
    pub version: String,
    /// The values file's content.
    pub values: serde_json::Value,
    /// What the release runs in the namespace, as its values set it (quota, policy).
    #[serde(skip)]
    pub footprint: Footprint,
}

/// What a chart release runs in the namespace, as the values maia gives it set it:
/// counted into the namespace's quota and opened to the ingress controller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Footprint {
    /// Each pod the release may run at once: its requests as (CPU, memory, GPUs).
    pub pods: Vec<(String, String, u32)>,
    /// The size of each volume claim the release creates.
    pub claims: Vec<String>,
    /// Labels of the release's pods an Ingress reaches; empty when none is.
    pub ingress_pods: BTreeMap<String, String>,
    /// Its pods that read Secrets of ours: a changed Secret rolls them.
    pub secret_readers: Vec<rollout::SecretReaders>,
}

/// A kustomization applied from a remote base, optionally followed by a wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kustomization {
    /// What `kubectl apply -k` is given.
    pub url: String,
    /// A `kubectl wait` condition to meet before the next step, e.g.
    /// `--for condition=established --timeout=60s crd/applications.app.k8s.io`.
    pub wait: Option<String>,
}

/// What a component renders from.
pub(crate) struct Ctx<'a, 's> {
    pub(crate) spec: &'a WorkspaceSpec,
    pub(crate) credentials: &'a mut CredentialStore<'s>,
    pub(crate) ssh_ports: &'a SshPorts,
    /// The group's environment file (`minio_env_name`), fetched by the caller.
    pub(crate) env_file: Option<&'a EnvFile>,
}

/// A group's environment file, as fetched: its name and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    /// `minio_env_name`: its object key in the central MinIO's bucket, or its local path.
    pub name: String,
    /// Its content.
    pub text: String,
}

impl EnvFile {
    /// Where the bundle keeps it: `env/<name>` with `/` written as `__`.
    pub fn bundle_path(&self) -> String {
        format!("env/{}", self.name.replace('/', "__"))
    }

    /// The workspace variable it goes into: a conda environment (`name: …` first)
    /// becomes `CONDA_ENV`, anything else (pip requirements) `PIP_ENV`.
    pub(crate) fn variable(&self) -> &'static str {
        if self.text.trim_start().starts_with("name:") {
            "CONDA_ENV"
        } else {
            "PIP_ENV"
        }
    }
}

/// Everything a workspace consists of, ready to be written or applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// Every component, in apply order.
    pub components: Vec<Component>,
    /// The group's environment file, kept in the bundle (`env/<name>`) so re-renders
    /// need no network.
    pub env_file: Option<EnvFile>,
    /// Every credential, the ones kept and the ones drawn now.
    pub credentials: Credentials,
    /// Every member's SSH port.
    pub ssh_ports: SshPorts,
    /// Why the quota is above the group form's values or the workspace's own needs: more
    /// is in use in the namespace now (pods and claims the workspace does not render).
    pub quota_notes: Vec<String>,
}

impl Bundle {
    /// maia's own objects of every component, in apply order.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.components.iter().flat_map(|c| c.objects.iter())
    }
}

/// Renders a workspace. `kept` holds the credentials of earlier runs; `source` draws
/// the ones missing; `ssh_ports` are the users' ports (see [`ports::allocate`]).
pub fn render(
    spec: &WorkspaceSpec,
    kept: &Credentials,
    source: &mut dyn SecretSource,
    ssh_ports: &SshPorts,
) -> Result<Bundle, RenderError> {
    render_with(spec, kept, source, ssh_ports, None)
}

/// [`render`] with the group's environment file (`minio_env_name`).
pub fn render_with(
    spec: &WorkspaceSpec,
    kept: &Credentials,
    source: &mut dyn SecretSource,
    ssh_ports: &SshPorts,
    env_file: Option<&EnvFile>,
) -> Result<Bundle, RenderError> {
    render_facts(
        spec,
        kept,
        source,
        ssh_ports,
        env_file,
        &tenancy::Existing::default(),
    )
}

/// [`render_with`] with the volume claims the namespace holds and the pods it runs
/// now: the quota never drops below what is in use (see [`tenancy::in_use`] and
/// [`tenancy::unrendered`]).
pub fn render_facts(
    spec: &WorkspaceSpec,
    kept: &Credentials,
    source: &mut dyn SecretSource,
    ssh_ports: &SshPorts,
    env_file: Option<&EnvFile>,
    existing: &tenancy::Existing,
) -> Result<Bundle, RenderError> {
    let mut store = CredentialStore::new(kept, source);
    let mut components = Vec::new();
    {
        let mut ctx = Ctx {
            spec,
            credentials: &mut store,
            ssh_ports,
            env_file,
        };
        type Render = fn(&mut Ctx<'_, '_>) -> Result<Component, RenderError>;
        // Apply order. `--minimal` keeps namespace, pull secret, shared PVC, the SSH
        // Services and JupyterHub.
        let full: &[Render] = &[
            namespace::render,
            oauth2_proxy::render,
            minio::render,
            mysql::render,
            mlflow::render,
            orthanc_ohif::render,
            label_studio::render,
            kubeflow::render,
            addons::render,
            jupyterhub::render,
            filebrowser::render,
        ];
        let minimal: &[Render] = &[namespace::render, addons::render, jupyterhub::render];
        for render in if spec.minimal { minimal } else { full } {
            let mut component = render(&mut ctx)?;
            credentials::mark_cluster_wide(spec, &mut component.objects);
            // Components built by the app renderer (MySQL, MLflow) carry an app's labels;
            // every object of a workspace is also found as `part-of` it, by component.
            for object in &mut component.objects {
                let labels = object.metadata_mut().labels.get_or_insert_default();
                labels
                    .entry(crate::labels::PART_OF.into())
                    .or_insert_with(|| crate::labels::WORKSPACE.into());
                labels
                    .entry(crate::labels::COMPONENT.into())
                    .or_insert_with(|| component.name.into());
            }
            components.push(component);
        }
    }
    // Pods read their Secrets when they start: a changed Secret must roll them.
    rollout::annotate(&mut components);
    // The tenancy objects count what the others render, and are applied right after
    // the namespace, before any pod starts; the namespace carries the level they allow.
    // A quota below what the workspace's own pods and claims ask would let the deploy
    // apply everything and then leave pods uncreated: refused before anything is made.
    let short = tenancy::quota_shortfall(spec, &components);
    if !short.is_empty() {
        return Err(RenderError::QuotaTooSmall { short });
    }
    let (tenancy, level, quota_notes) = tenancy::render(spec, &components, existing);
    if let Some(Object::Namespace(namespace)) =
        components.first_mut().and_then(|c| c.objects.first_mut())
    {
        let labels = namespace.metadata.labels.get_or_insert_default();
        for (mode, value) in [
            ("enforce", level.label()),
            ("warn", "restricted"),
            ("audit", "restricted"),
        ] {
            labels.insert(format!("pod-security.kubernetes.io/{mode}"), value.into());
        }
    }
    let mut tenancy = tenancy;
    for object in &mut tenancy.objects {
        let labels = object.metadata_mut().labels.get_or_insert_default();
        labels
            .entry(crate::labels::PART_OF.into())
            .or_insert_with(|| crate::labels::WORKSPACE.into());
    }
    components.insert(1.min(components.len()), tenancy);
    Ok(Bundle {
        components,
        env_file: env_file.cloned(),
        credentials: store.into_credentials(),
        ssh_ports: ssh_ports.clone(),
        quota_notes,
    })
}
