//! The whole of one workspace deploy, in order: preflight, facts (credentials and SSH
//! ports from the cluster), render (pure, with the facts as values), plan, then keep
//! the credentials and execute. `maia namespace deploy` and `plan` are this plus printing.

use std::ffi::OsString;
use std::time::Duration;

use maia_render::workspace::{Bundle, Credentials, SecretSource, ports};
use maia_spec::workspace::WorkspaceSpec;

use crate::error::{DeployError, KubeError, Result};
use crate::tools::{Helm, Kubectl, ToolTarget};
use maia_kube::cluster::Cluster;
use maia_kube::event::EventSink;

use crate::lease::{Busy, HeldLease, Holder, Want, group_lease};

use super::facts::{ClusterCredentials, CredentialStore, PORTS_LEASE, read_ports};
use super::preflight::{self, Needs};
use super::recover;
use super::{HelmChange, Programs, Settings, WorkspacePlan};

/// What a deploy (or a plan) is asked to do.
#[derive(Debug, Clone)]
pub struct Request {
    /// The workspace, as loaded from its three config files.
    pub spec: WorkspaceSpec,
    /// maia's own namespace: the credentials Secrets and the ports Lease live there.
    pub state_namespace: String,
    /// Which external programs the deploy runs (none with `secrets_only`).
    pub needs: Needs,
    /// The PATH helm, kubectl and git are looked up in.
    pub path: Option<OsString>,
    /// The cluster as helm and kubectl are told it.
    pub tool_target: ToolTarget,
    /// Take fields over from other field managers (`--force-conflicts`).
    pub force_conflicts: bool,
    /// Credentials from the config folder's credentials.yaml; the cluster's win.
    pub file_credentials: Option<Credentials>,
    /// Credentials another system made, which win over every kept one: the secrets
    /// Keycloak generated for the workspace's own clients. Kept with the others.
    pub given_credentials: Credentials,
    /// How long to wait for another run's ports Lease.
    pub lease_timeout: Duration,
    /// Who this run is, for the Leases it takes (the group's and the SSH ports').
    pub holder: Holder,
    /// The group's environment file (`minio_env_name`), resolved by the caller.
    pub env_file: Option<maia_render::workspace::EnvFile>,
    /// Apply only the Namespace and the Secrets (`--secrets-only`): the rest is
    /// another tool's (Argo CD's), so nothing is pruned and no chart is installed.
    pub secrets_only: bool,
    /// Make an existing namespace maia did not create the workspace's
    /// (`--adopt-namespace`); without it such a namespace is refused in preflight.
    pub adopt_namespace: bool,
}

impl Request {
    /// The programs this deploy runs: none when it applies only the Secrets.
    fn needs(&self) -> Needs {
        if self.secrets_only {
            Needs {
                helm: false,
                kubeflow: false,
            }
        } else {
            self.needs
        }
    }
}

/// Everything gathered and rendered before the first write.
pub struct Prepared<'c> {
    /// The workspace as rendered, with the credentials and ports it uses.
    pub bundle: Bundle,
    /// What deploying it would do.
    pub plan: WorkspacePlan,
    pub(crate) programs: Programs,
    /// Held when a user needed a new SSH port; given back by [`deploy`].
    pub(crate) lease: Option<HeldLease>,
    /// The group's Lease (one operation on a group at a time), held by a deploy from
    /// before the facts are read again until its end; `None` for a plan, and for a
    /// deploy that changes nothing of the group's (at most KubeFlow Pipelines, which
    /// every group shares, is applied).
    pub(crate) group_lease: Option<HeldLease>,
    /// What the admin should know (a dead run's Lease taken over, members keeping a
    /// port outside a changed port_range); the CLI prints them as warnings.
    pub notes: Vec<String>,
    pub(crate) cluster: std::marker::PhantomData<&'c Cluster>,
    /// Keys of credentials drawn by this run (not kept anywhere yet); configured ones
    /// (the Keycloak client secret, the registry password) are never drawn.
    pub new_credentials: Vec<String>,
    /// Keys the store lacked and the workspace's live Secrets still held: kept again
    /// by this deploy.
    pub recovered_credentials: Vec<String>,
    /// Keys whose value in credentials.yaml differs from the cluster's (which won).
    pub differing_credentials: Vec<String>,
    /// The cluster held this group's credentials Secret already.
    had_credentials: bool,
    /// The credentials the cluster held when prepared (when the bundle's are the
    /// same, keeping them reads and writes nothing more).
    cluster_credentials: Credentials,
}

impl Prepared<'_> {
    /// Whether deploying it writes nothing of the group's: no object or chart changes,
    /// and the credentials are the cluster's already (none drawn, none recovered).
    /// KubeFlow Pipelines is not the group's: every group shares it in `kubeflow`, and
    /// the group's Lease never guarded it (two groups' deploys may apply it at once;
    /// the apply is server-side and idempotent).
    fn changes_nothing_of_the_group(&self) -> bool {
        !self.plan.objects.has_changes()
            && self.plan.segments.iter().all(|s| {
                s.helm
                    .iter()
                    .all(|h| matches!(h.change, HelmChange::Unchanged | HelmChange::Skipped))
            })
            && self.new_credentials.is_empty()
            && self.recovered_credentials.is_empty()
            && self.bundle.credentials == self.cluster_credentials
    }
}

fn store<'c>(cluster: &'c Cluster, request: &Request) -> ClusterCredentials<'c> {
    ClusterCredentials {
        cluster,
        state_namespace: request.state_namespace.clone(),
        namespace: request.spec.namespace.to_string(),
        group_id: request.spec.group_id.clone(),
    }
}

/// Preflight, facts, render and plan; changes nothing, except that with `allocate` (a
/// deploy) the group's Lease is taken, unless a plan finds nothing of the group's to
/// write, and a user without an SSH port gets one under the ports Lease (held until
/// the SSH Services are applied). Without it (a plan), the allocation is only
/// previewed.
pub async fn prepare<'c>(
    cluster: &'c Cluster,
    request: &Request,
    source: &mut dyn SecretSource,
    allocate: bool,
) -> Result<Prepared<'c>> {
    let spec = &request.spec;
    let checked = preflight::run(
        cluster,
        spec,
        request.needs(),
        request.path.as_deref(),
        request.adopt_namespace,
    )
    .await?;
    if !checked.problems.is_empty() {
        return Err(DeployError::Preflight {
            problems: checked.problems,
        });
    }
    let tool = |name: &str| {
        checked
            .tools
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.path.clone())
    };
    let programs = Programs {
        helm: tool("helm").map(|p| Helm::new(p, request.tool_target.clone())),
        kubectl: tool("kubectl")
            .filter(|_| request.needs().kubeflow)
            .map(|p| Kubectl::new(p, request.tool_target.clone())),
    };

    let known = read_known(cluster, request).await?;
    // Hosts and helm releases are checked on the rendered workspace before the first
    // write (the Lease below), on the probe render `read_known` made: neither depends
    // on a secret's value or a port; if even that cannot be rendered, the real render
    // below says why.
    let mut ingresses = None;
    if let Some(probe) = &known.probe {
        let (problems, listed) =
            super::ownership::problems(cluster, spec, probe, programs.helm.as_ref()).await?;
        if !problems.is_empty() {
            return Err(DeployError::Preflight { problems });
        }
        ingresses = listed;
    }
    // A namespace preflight found is not read again; one it did not find is (another
    // run may have created it since).
    let namespace_exists = checked.namespace_exists.then_some(true);
    // A plan writes nothing and takes no Lease. Neither does a deploy whose plan, made
    // on these reads, finds nothing of the group's to write: the Lease keeps runs that
    // write the group from interleaving, and this one writes none of it. Every object
    // it read held what it would write: a concurrent run's change, seen whole or half,
    // is a change, and a change is planned again below under the Lease on fresh reads
    // (nothing read before the Lease decides a write). The Ingresses the hosts check
    // listed serve this unlocked plan only, for the same reason.
    let unlocked = !allocate || !known.writes(request, checked.namespace_exists);
    if unlocked {
        let tried = prepare_locked(
            cluster,
            request,
            source,
            false,
            programs.clone(),
            checked.kinds.clone(),
            Known {
                namespace_exists,
                namespace: checked.namespace.clone(),
                ingresses,
                ..known
            },
        )
        .await;
        match tried {
            Ok(prepared) if !allocate || prepared.changes_nothing_of_the_group() => {
                return Ok(prepared);
            }
            // A plan's failure is final; a deploy's is decided under the Lease, as is
            // every change it found.
            Err(e) if !allocate => return Err(e),
            _ => {}
        }
    }
    // One operation on a group at a time: a deploy and a delete of one group must not
    // interleave. Taken after every check that needs no lock.
    let mut notes = Vec::new();
    let held = take_group_lease(cluster, request).await?;
    notes.extend(took_over_note(&held));
    let group_lease = Some(held);
    // Read again under the group's Lease: a run that held it may just have changed
    // them (when the plan above was tried, what it read was read before the Lease).
    let known = match read_known(cluster, request).await {
        Ok(k) => k,
        Err(e) => return Err(release_on(group_lease, e).await),
    };
    match prepare_locked(
        cluster,
        request,
        source,
        allocate,
        programs,
        checked.kinds,
        Known {
            namespace_exists,
            namespace: checked.namespace,
            ..known
        },
    )
    .await
    {
        Ok(mut prepared) => {
            notes.append(&mut prepared.notes);
            Ok(Prepared {
                group_lease,
                notes,
                ..prepared
            })
        }
        Err(e) => Err(release_on(group_lease, e).await),
    }
}

/// What [`prepare`] reads before rendering, again under the group's Lease.
struct Known {
    /// The credentials kept (the cluster's winning over credentials.yaml), with those
    /// recovered from the workspace's live Secrets.
    kept: Credentials,
    had_credentials: bool,
    /// The credentials the cluster's Secret held.
    cluster_credentials: Credentials,
    differing_credentials: Vec<String>,
    new_credentials: Vec<String>,
    recovered_credentials: Vec<String>,
    ports: super::facts::PortFacts,
    /// The workspace rendered with markers for the secrets it would draw and the
    /// ports previewed (see [`probe_render`]); None when it cannot be rendered.
    probe: Option<Bundle>,
    /// Whether the workspace's namespace exists, when this run knows it already.
    namespace_exists: Option<bool>,
    /// The namespace as preflight read it, for the plan (no second Namespace LIST).
    namespace: Option<serde_json::Value>,
    /// Every Ingress of the cluster as the hosts check listed them, for the plan when
    /// nothing was written since (never across taking the Lease).
    ingresses: Option<Vec<serde_json::Value>>,
}

impl Known {
    /// Whether a deploy on these reads certainly writes: it keeps credentials the
    /// cluster lacks, gives a member an SSH port, or creates the namespace. Such a
    /// deploy takes the group's Lease at once instead of planning first without it.
    fn writes(&self, request: &Request, namespace_exists: bool) -> bool {
        !self.had_credentials
            || !self.new_credentials.is_empty()
            || !self.recovered_credentials.is_empty()
            || (!request.secrets_only && self.ports.needs_allocation(&request.spec.users))
            || !namespace_exists
    }
}

/// Reads the credentials and the ports, and finds which credentials this run would
/// draw (before any write, the Leases included): over an existing workspace they are
/// recovered or the run stops.
async fn read_known(cluster: &Cluster, request: &Request) -> Result<Known> {
    let from_cluster = store(cluster, request).load().await?;
    let had_credentials = !from_cluster.0.is_empty();
    let cluster_credentials = from_cluster.clone();
    let (mut kept, differing_credentials) = match &request.file_credentials {
        Some(file) => merge(file, &from_cluster),
        None => (from_cluster, Vec::new()),
    };
    kept.0.extend(request.given_credentials.0.clone());
    let ports = read_ports(cluster, &request.spec).await?;
    // One probe render serves the credentials probe here and the ownership check in
    // [`prepare`]: neither depends on a secret's value or a port.
    let probe = probe_render(&Facts::of(request), &kept, &ports)?;
    let (new_credentials, recovered_credentials) =
        keep_existing(cluster, &Facts::of(request), &mut kept, probe.as_ref()).await?;
    Ok(Known {
        kept,
        had_credentials,
        cluster_credentials,
        differing_credentials,
        new_credentials,
        recovered_credentials,
        ports,
        probe,
        namespace_exists: None,
        namespace: None,
        ingresses: None,
    })
}

/// The group's Lease, for a deploy: refused while another run holds it.
async fn take_group_lease(cluster: &Cluster, request: &Request) -> Result<HeldLease> {
    let spec = &request.spec;
    HeldLease::acquire(
        cluster,
        Want {
            namespace: &request.state_namespace,
            name: group_lease(spec.namespace.as_str()),
            holder: &request.holder,
            operation: format!(
                "namespace deploy{} of {}",
                if request.secrets_only {
                    " --secrets-only"
                } else {
                    ""
                },
                spec.group_id
            ),
            busy: Busy::Refuse,
        },
    )
    .await
}

fn took_over_note(lease: &HeldLease) -> Option<String> {
    lease.took_over.as_ref().map(|holder| {
        format!(
            "took over the Lease {} of {holder}, which nobody renewed for its duration (that run is presumably dead)",
            lease.display()
        )
    })
}

/// A warning per member whose kept port lies outside `port_range` (it was changed
/// after they got the port): they keep it, as their SSH config names it.
pub fn outside_range_notes(
    given: &maia_render::workspace::SshPorts,
    range: (u16, u16),
) -> Vec<String> {
    ports::outside_range(given, range)
        .into_iter()
        .map(|(user, port)| {
            format!(
                "{user} keeps SSH port {port}, outside port_range {}-{}: port_range was changed after they got it, and their SSH config names it (new members get ports of the new range; to move them, remove them from the form, deploy, and add them back)",
                range.0, range.1
            )
        })
        .collect()
}

/// The rest of [`prepare`], under the group's Lease when deploying (and without it
/// when it may find nothing to write).
async fn prepare_locked<'c>(
    cluster: &'c Cluster,
    request: &Request,
    source: &mut dyn SecretSource,
    allocate: bool,
    programs: Programs,
    kinds: maia_kube::kinds::KindTable,
    known: Known,
) -> Result<Prepared<'c>> {
    let spec = &request.spec;
    let Known {
        kept,
        had_credentials,
        cluster_credentials,
        differing_credentials,
        new_credentials,
        recovered_credentials,
        ports: mut facts,
        probe: _,
        namespace_exists,
        namespace,
        ingresses,
    } = known;
    let mut notes = Vec::new();
    let mut lease = None;
    // The SSH Services are not applied with --secrets-only: no port is taken.
    if allocate && !request.secrets_only && facts.needs_allocation(&spec.users) {
        let held = HeldLease::acquire(
            cluster,
            Want {
                namespace: &request.state_namespace,
                name: PORTS_LEASE.into(),
                holder: &request.holder,
                operation: format!("SSH ports for {}", spec.group_id),
                busy: Busy::Wait(request.lease_timeout),
            },
        )
        .await?;
        notes.extend(took_over_note(&held));
        lease = Some(held);
        // Read again under the Lease: another run may have just taken ports.
        facts = match read_ports(cluster, spec).await {
            Ok(f) => f,
            Err(e) => return Err(release_on(lease, e).await),
        };
    }
    // The quota covers the claims and pods that exist, also those nothing renders any
    // more.
    let (existing, listed_claims) =
        match super::claims::read_existing_listed(cluster, spec.namespace.as_str()).await {
            Ok(c) => c,
            Err(e) => return Err(release_on(lease, e).await),
        };
    let rendered = ports::allocate(
        &spec.users,
        &facts.kept,
        &facts.in_use,
        spec.cluster.port_range,
    )
    .map_err(|e| DeployError::PortsExhausted(e.to_string()))
    .and_then(|p| {
        notes.extend(outside_range_notes(&p, spec.cluster.port_range));
        maia_render::workspace::render_facts(
            spec,
            &kept,
            source,
            &p,
            request.env_file.as_ref(),
            &existing,
        )
            .map_err(|source| match source {
                // Bad input, found before any write: reported as preflight finds problems.
                maia_render::RenderError::QuotaTooSmall { short } => DeployError::Preflight {
                    problems: short
                        .into_iter()
                        .map(|short| preflight::Problem {
                            check: "quota",
                            message: format!(
                                "the group form's quota.{}: {}",
                                short.field, short.message
                            ),
                            hint: "raise it in the group form's `quota`, or leave it out (maia then sets what the workspace needs)".into(),
                            bad_input: true,
                        })
                        .collect(),
                },
                source => KubeError::Render {
                    object: format!("workspace {}", spec.group_id),
                    source,
                }
                .into(),
            })
    });
    let bundle = match rendered {
        Ok(b) => b,
        Err(e) => return Err(release_on(lease, e).await),
    };
    let settings = Settings {
        force_conflicts: request.force_conflicts,
        adopt_namespace: request.adopt_namespace,
        wait: None,
        namespace_exists,
        namespace,
        // The claims listed just above (no claim is written before the plan), and the
        // Ingresses the hosts check listed, when given.
        listed: std::iter::once((maia_kube::kinds::PVC, listed_claims))
            .chain(ingresses.map(|i| (maia_kube::kinds::INGRESS, i)))
            .collect(),
        dry_run: false,
    };
    // What is planned: the Secrets alone (--secrets-only), or the bundle and its record.
    let planned = if request.secrets_only {
        secrets_of(&bundle)
    } else {
        match with_record(spec, &bundle) {
            Ok(b) => b,
            Err(e) => return Err(release_on(lease, e).await),
        }
    };
    let plan = match super::plan(
        cluster,
        &spec.group_id,
        &planned,
        &kinds,
        &programs,
        &settings,
    )
    .await
    {
        Ok(p) if request.secrets_only => super::WorkspacePlan {
            objects: p.objects.without_cleanup(),
            ..p
        },
        Ok(p) => p,
        Err(e) => return Err(release_on(lease, e).await),
    };
    // Checked before the credentials are kept: a plan that cannot run changes nothing.
    let problems = preflight::plan_problems(&plan);
    if !problems.is_empty() {
        return Err(release_on(lease, DeployError::Preflight { problems }).await);
    }
    Ok(Prepared {
        bundle,
        plan,
        programs,
        lease,
        group_lease: None,
        notes,
        cluster: std::marker::PhantomData,
        new_credentials,
        recovered_credentials,
        differing_credentials,
        had_credentials,
        cluster_credentials,
    })
}

/// The bundle with the workspace record (see [`maia_render::workspace::record`]) among
/// the namespace component's objects, so it is applied, kept in the inventory and
/// removed by `namespace delete` like every other object.
fn with_record(spec: &WorkspaceSpec, bundle: &Bundle) -> Result<Bundle> {
    let record =
        maia_render::workspace::record::record_config_map(spec, bundle).map_err(|source| {
            KubeError::Render {
                object: format!("workspace {}", spec.group_id),
                source,
            }
        })?;
    let mut recorded = bundle.clone();
    if let Some(first) = recorded.components.first_mut() {
        first.objects.push(record.into());
    }
    Ok(recorded)
}

/// What the facts of a workspace are read for.
struct Facts<'a> {
    spec: &'a WorkspaceSpec,
    state_namespace: &'a str,
    env_file: Option<&'a maia_render::workspace::EnvFile>,
}

impl<'a> Facts<'a> {
    fn of(request: &'a Request) -> Facts<'a> {
        Facts {
            spec: &request.spec,
            state_namespace: &request.state_namespace,
            env_file: request.env_file.as_ref(),
        }
    }
}

/// What a render takes from the cluster (`maia namespace render --from-cluster`), so
/// that its bundle matches the deployed workspace: read only, nothing is written.
#[derive(Debug, Clone)]
pub struct RenderFacts {
    /// The credentials to render with: credentials.yaml's overlaid with the cluster's
    /// (which win), plus those recovered from the workspace's live Secrets.
    pub credentials: Credentials,
    /// Keys neither holds, which the render draws (a new workspace, or a component
    /// whose Secret was never applied).
    pub new_credentials: Vec<String>,
    /// Keys maia's store lacked and the workspace's Secrets held.
    pub recovered_credentials: Vec<String>,
    /// Keys whose value in credentials.yaml differs from the cluster's.
    pub differing_credentials: Vec<String>,
    /// The members' live SSH ports and every port the cluster's Services hold.
    pub ports: super::facts::PortFacts,
    /// The volume claims the namespace holds and the pods it runs (the quota covers
    /// them).
    pub existing: maia_render::workspace::tenancy::Existing,
}

/// Reads what a render needs from the cluster: the group's credentials (its Secret in
/// `state_namespace`, recovered from the workspace's Secrets where it lacks them, or
/// an error when they are lost: see [`DeployError::CredentialsLost`]) and the SSH
/// ports. Writes nothing, takes no Lease.
pub async fn render_facts(
    cluster: &Cluster,
    spec: &WorkspaceSpec,
    state_namespace: &str,
    file_credentials: Option<&Credentials>,
    env_file: Option<&maia_render::workspace::EnvFile>,
) -> Result<RenderFacts> {
    let store = ClusterCredentials {
        cluster,
        state_namespace: state_namespace.into(),
        namespace: spec.namespace.to_string(),
        group_id: spec.group_id.clone(),
    };
    let from_cluster = store.load().await?;
    let (mut credentials, differing_credentials) = match file_credentials {
        Some(file) => merge(file, &from_cluster),
        None => (from_cluster, Vec::new()),
    };
    let ports = read_ports(cluster, spec).await?;
    let facts = Facts {
        spec,
        state_namespace,
        env_file,
    };
    let probe = probe_render(&facts, &credentials, &ports)?;
    let (new_credentials, recovered_credentials) =
        keep_existing(cluster, &facts, &mut credentials, probe.as_ref()).await?;
    let existing = super::claims::read_existing(cluster, spec.namespace.as_str()).await?;
    Ok(RenderFacts {
        existing,
        credentials,
        new_credentials,
        recovered_credentials,
        differing_credentials,
        ports,
    })
}

/// The workspace rendered with the credentials `kept` holds, markers for those it
/// would draw (see [`recover::Probe`]) and the SSH ports previewed: looked at, never
/// kept or applied. None when it cannot be rendered (a form quota below its needs,
/// …): the render proper fails the same way and reports it as it should.
fn probe_render(
    request: &Facts<'_>,
    kept: &Credentials,
    facts: &super::facts::PortFacts,
) -> Result<Option<Bundle>> {
    let spec = request.spec;
    // The ports only shape the SSH Services, never a credential, host or release.
    let preview = ports::allocate(
        &spec.users,
        &facts.kept,
        &facts.in_use,
        spec.cluster.port_range,
    )
    .map_err(|e| DeployError::PortsExhausted(e.to_string()))?;
    Ok(maia_render::workspace::render_with(
        spec,
        kept,
        &mut recover::Probe::default(),
        &preview,
        request.env_file,
    )
    .ok())
}

/// Finds (in the probe render) the credentials this run would draw. When the
/// workspace is already there, each is recovered from its live Secrets into `kept`,
/// or the run stops before any write: new passwords over existing data lock the group
/// out. Returns the keys still to be drawn and those recovered.
async fn keep_existing(
    cluster: &Cluster,
    request: &Facts<'_>,
    kept: &mut Credentials,
    probe: Option<&Bundle>,
) -> Result<(Vec<String>, Vec<String>)> {
    let spec = request.spec;
    // A workspace that cannot be rendered draws nothing.
    let Some(probe) = probe else {
        return Ok((Vec::new(), Vec::new()));
    };
    let drawn = recover::drawn(probe);
    if drawn.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let namespace = spec.namespace.as_str();
    let Some(existing) = recover::existing(cluster, namespace, probe).await? else {
        return Ok((drawn.into_keys().collect(), Vec::new()));
    };
    let recover::Recovery { recovered, lost } = recover::recover(probe, &drawn, &existing);
    if !lost.is_empty() {
        return Err(DeployError::CredentialsLost {
            group_id: spec.group_id.clone(),
            namespace: namespace.into(),
            secret: format!(
                "secret/{} in {}",
                super::facts::credentials_secret(namespace),
                request.state_namespace
            ),
            keys: lost,
            evidence: existing.evidence,
        });
    }
    let fresh = drawn
        .into_keys()
        .filter(|k| !recovered.0.contains_key(k))
        .collect();
    let keys = recovered.0.keys().cloned().collect();
    kept.0.extend(recovered.0);
    Ok((fresh, keys))
}

/// The part of a bundle `--secrets-only` applies: the Namespace (the Secrets live in
/// it) and every Secret; no chart, no kustomization.
fn secrets_of(bundle: &Bundle) -> Bundle {
    let mut secrets = bundle.clone();
    for component in &mut secrets.components {
        component
            .objects
            .retain(|o| matches!(o.kind(), "Namespace" | "Secret"));
        component.helm.clear();
        component.kustomizations.clear();
    }
    secrets
}

async fn release_on(lease: Option<HeldLease>, error: DeployError) -> DeployError {
    if let Some(l) = lease {
        let _ = l.release().await;
    }
    error
}

/// credentials.yaml overlaid with the cluster's credentials, and the keys that differ.
fn merge(file: &Credentials, cluster: &Credentials) -> (Credentials, Vec<String>) {
    let differing = file
        .0
        .iter()
        .filter(|(k, v)| cluster.0.get(*k).is_some_and(|c| c != *v))
        .map(|(k, _)| k.clone())
        .collect();
    let mut merged = file.clone();
    merged.0.extend(cluster.0.clone());
    (merged, differing)
}

/// Keeps the credentials in the cluster (before anything uses them: a failure later
/// must not lose a password a Secret already holds), then runs the plan.
pub async fn deploy(
    cluster: &Cluster,
    request: &Request,
    prepared: Prepared<'_>,
    wait: Option<Duration>,
    sink: &mut dyn EventSink,
) -> Result<()> {
    run(cluster, request, prepared, wait, false, sink).await
}

/// `--dry-run`: every object maia would apply or prune is sent with `dryRun=All`, so
/// the API server checks it (validation, admission, quota, conflicts) and stores
/// nothing; the credentials are not kept, helm and kubectl are not run, nothing is
/// waited for. Prepare it without allocating ([`prepare`] with `allocate` false): a
/// dry run takes no Lease.
pub async fn dry_run(
    cluster: &Cluster,
    request: &Request,
    prepared: Prepared<'_>,
    sink: &mut dyn EventSink,
) -> Result<()> {
    run(cluster, request, prepared, None, true, sink).await
}

async fn run(
    cluster: &Cluster,
    request: &Request,
    prepared: Prepared<'_>,
    wait: Option<Duration>,
    dry_run: bool,
    sink: &mut dyn EventSink,
) -> Result<()> {
    let Prepared {
        bundle,
        plan,
        programs,
        lease,
        had_credentials,
        group_lease,
        cluster_credentials,
        ..
    } = prepared;
    let result = async {
        // Still ours before the first write (a slow prepare could have lost it).
        if let Some(g) = &group_lease {
            g.confirm().await?;
        }
        // What the Lease and keeping the credentials wrote is reported like any other
        // change, so that a failure later lists it among what was changed.
        let lease_made_state = group_lease.as_ref().is_some_and(|g| g.created_namespace);
        if lease_made_state {
            sink.emit(maia_kube::event::Event::NamespaceCreated {
                namespace: request.state_namespace.clone(),
                dry_run: false,
            });
        }
        // Keeping the credentials, as the event says it.
        let credentials_applied = |dry_run| maia_kube::event::Event::Applied {
            object: maia_kube::plan::ObjectRef {
                kind: "Secret".into(),
                name: super::facts::credentials_secret(request.spec.namespace.as_str()),
                namespace: request.state_namespace.clone(),
            },
            outcome: if had_credentials {
                maia_kube::event::Outcome::Configured
            } else {
                maia_kube::event::Outcome::Created
            },
            dry_run,
        };
        // Kept already (read when prepared): nothing to read again.
        let unchanged = bundle.credentials == cluster_credentials;
        let state_existed = lease_made_state
            || unchanged
            || !matches!(
                maia_kube::live::namespace_exists(cluster, &request.state_namespace).await,
                Ok(false)
            );
        let saved = if unchanged {
            Ok(false)
        } else if dry_run {
            // Not kept: the API server would take the Secret as it takes any other.
            sink.emit(credentials_applied(true));
            Ok(false)
        } else {
            store(cluster, request).save(&bundle.credentials).await
        };
        match saved {
            Ok(true) => {
                if !state_existed {
                    sink.emit(maia_kube::event::Event::NamespaceCreated {
                        namespace: request.state_namespace.clone(),
                        dry_run: false,
                    });
                }
                sink.emit(credentials_applied(false));
            }
            Ok(false) => {}
            Err(e) => return Err(release_on(lease, e).await),
        }
        let settings = Settings {
            force_conflicts: request.force_conflicts,
            adopt_namespace: request.adopt_namespace,
            wait,
            namespace_exists: None,
            namespace: None,
            listed: Vec::new(),
            dry_run,
        };
        super::execute(
            cluster,
            &plan,
            &programs,
            &settings,
            lease,
            group_lease.as_ref(),
            sink,
        )
        .await
    }
    .await;
    if let Some(g) = group_lease {
        let name = g.display();
        if let Err(e) = g.release().await {
            // The workspace is deployed; only the lock stays until it expires.
            sink.emit(maia_kube::event::Event::Notice {
                message: format!(
                    "the Lease {name} could not be given back ({e}); it expires {} after this run",
                    crate::error::human(request.holder.duration)
                ),
            });
        }
    }
    result
}
