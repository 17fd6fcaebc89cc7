//! A workspace on its cluster: plan, deploy, status, list, delete and a member's
//! kubeconfig (`maia namespace …`). The engine (`maia_deploy::workspace`) does the
//! work; this module builds its request from typed inputs, reports through a
//! [`Sink`], stops on a [`Cancel`] and returns typed results.

use std::path::{Path, PathBuf};
use std::time::Duration;

use maia_deploy::Cluster;
use maia_deploy::tools::Helm;
use maia_deploy::workspace::deploy::{Prepared, Request};
use maia_deploy::workspace::preflight::Needs;
use maia_deploy::workspace::{self as ws, WorkspacePlan, manage};
use maia_render::workspace::Bundle;
use maia_render::workspace::credentials::Credentials;
use maia_render::workspace::oidc::secret_key;
use maia_spec::workspace::WorkspaceSpec;

use super::render::{self, ConfigFolder, Rendered};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::event::{Bridge, Cancel, Event, Sink, Tally};
use crate::random::OsRandom;

/// What `maia namespace deploy` (and `plan`) is asked.
#[derive(Debug, Clone)]
pub struct DeployInput {
    /// The workspace, as loaded from its three files ([`super::load`]).
    pub spec: WorkspaceSpec,
    /// The group form it was loaded from (its environment file is found beside it).
    pub form: PathBuf,
    /// Where the bundle and credentials.yaml are written after the deploy, if anywhere.
    pub config_folder: Option<PathBuf>,
    /// maia's own namespace on the cluster: the credentials Secrets and the Leases.
    pub state_namespace: String,
    /// Leave the third-party charts to the admin.
    pub skip_helm: bool,
    /// Leave KubeFlow to the admin.
    pub skip_kubeflow: bool,
    /// Apply only the namespace and the Secrets (the rest is Argo CD's).
    pub secrets_only: bool,
    /// Make an existing namespace maia did not create the workspace's.
    pub adopt_namespace: bool,
    /// Take fields over from other field managers.
    pub force_conflicts: bool,
    /// Wait this long for every component to be ready.
    pub wait: Option<Duration>,
    /// Only let the API server check every write (`--dry-run`): nothing is stored,
    /// helm and kubectl are not run, no Lease is taken, no file written. The
    /// namespace must exist (objects of a namespace that does not exist cannot be
    /// checked there: [`plan`] shows a first deploy).
    pub dry_run: bool,
}

/// The engine's request for `input` (credentials.yaml read when a config folder is
/// given; the environment file resolved).
fn request(
    input: &DeployInput,
    env: &Env,
    given: &Credentials,
    sink: &mut dyn Sink,
) -> Result<Request> {
    let spec = input.spec.clone();
    let file_credentials = match &input.config_folder {
        Some(folder) => {
            Some(render::read_credentials(&render::group_dir(folder, &spec))?.credentials)
        }
        None => None,
    };
    let env_file = render::env_file(
        &spec,
        &input.form,
        input
            .config_folder
            .as_ref()
            .map(|f| f.join(&spec.group_id))
            .as_deref(),
        false,
        sink,
    )?;
    Ok(Request {
        needs: Needs {
            helm: !input.skip_helm,
            kubeflow: !input.skip_kubeflow && !spec.minimal,
        },
        secrets_only: input.secrets_only,
        adopt_namespace: input.adopt_namespace,
        spec,
        state_namespace: input.state_namespace.clone(),
        path: env.path.clone(),
        tool_target: env.tools.clone(),
        force_conflicts: input.force_conflicts,
        file_credentials,
        given_credentials: given.clone(),
        lease_timeout: Duration::from_secs(120),
        holder: maia_deploy::lease::Holder::new(env.holder.clone()),
        env_file,
    })
}

/// The engine's request for `input` prepared (preflight, facts, render, plan; with
/// `allocate`, the Leases a deploy holds), the preflight's passing and the warnings
/// said as events.
async fn prepare<'c>(
    cluster: &'c Cluster,
    env: &Env,
    input: &DeployInput,
    given: &Credentials,
    allocate: bool,
    sink: &mut dyn Sink,
) -> Result<(Request, Prepared<'c>)> {
    let request = request(input, env, given, sink)?;
    let prepared = ws::deploy::prepare(cluster, &request, &mut OsRandom, allocate).await?;
    sink.emit(Event::PreflightPassed {
        group_id: request.spec.group_id.clone(),
        namespace: request.spec.namespace.to_string(),
    });
    prepared_warnings(input, &prepared, sink);
    Ok((request, prepared))
}

/// Warnings of a prepared deploy or plan, as events.
fn prepared_warnings(input: &DeployInput, prepared: &Prepared<'_>, sink: &mut dyn Sink) {
    if let (false, Some(folder)) = (
        prepared.differing_credentials.is_empty(),
        &input.config_folder,
    ) {
        sink.emit(Event::Warning {
            message: format!(
                "credentials.yaml under {} differs from the cluster for {}; the cluster's values are used",
                folder.display(),
                prepared.differing_credentials.join(", ")
            ),
        });
    }
    for note in &prepared.notes {
        sink.emit(Event::Warning {
            message: note.clone(),
        });
    }
}

/// What one workspace deploy did.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The workspace as deployed (its credentials included: never print them).
    pub bundle: Bundle,
    /// What the deploy planned and did.
    pub plan: WorkspacePlan,
    /// How many credentials this run drew (kept in maia's Secret).
    pub fresh: usize,
    /// The files written under the config folder (none without one, or with
    /// `secrets_only`).
    pub written: Vec<PathBuf>,
    /// What the group is told: every URL and each member's SSH command.
    pub hand_over: HandOver,
    /// The commands left to the admin (`skip_helm` / `skip_kubeflow`): those deploy.sh
    /// runs for the charts and KubeFlow not installed, pointing at the bundle under
    /// the config folder when one was written.
    pub left_to_admin: Vec<String>,
}

/// What the group is told once its workspace is deployed, read from the workspace's
/// record (the one `status` reads back) and the SSH ports the deploy used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandOver {
    /// `(component, URL)`, every URL of every component.
    pub urls: Vec<(String, String)>,
    /// `(member e-mail, SSH command)`; no command for a member without a port.
    pub members: Vec<(String, Option<String>)>,
}

/// The hand-over of a rendered workspace.
pub fn hand_over(spec: &WorkspaceSpec, bundle: &Bundle) -> HandOver {
    let record = maia_render::workspace::record::record(spec, bundle);
    let urls = record
        .components
        .iter()
        .flat_map(|c| c.urls.iter().map(|u| (c.component.clone(), u.clone())))
        .collect();
    let members = record
        .members
        .iter()
        .map(|m| {
            let ssh = bundle
                .ssh_ports
                .port(&m.email)
                .map(|p| maia_render::workspace::ssh_command_for(&record.ssh_host, p));
            (m.email.clone(), ssh)
        })
        .collect();
    HandOver { urls, members }
}

/// With `skip_helm` / `skip_kubeflow`, the steps left to the admin: the same commands
/// deploy.sh runs, pointing at the bundle under `folder` when one was written.
pub fn left_to_admin(
    plan: &WorkspacePlan,
    spec: &WorkspaceSpec,
    bundle: &Bundle,
    folder: Option<&Path>,
) -> Vec<String> {
    use maia_deploy::workspace::{HelmChange, KubeflowChange};
    use maia_render::workspace::text::{InstallStep, install_steps};
    let skipped_helm: Vec<&str> = plan
        .segments
        .iter()
        .flat_map(|s| &s.helm)
        .filter(|h| h.change == HelmChange::Skipped)
        .map(|h| h.release.as_str())
        .collect();
    let kubeflow_skipped = plan
        .segments
        .iter()
        .any(|s| s.kubeflow == Some(KubeflowChange::Skipped));
    let dir = match folder {
        Some(f) => format!("{}/", f.join(&spec.group_id).display()),
        None => String::new(),
    };
    let mut lines = Vec::new();
    for step in install_steps(bundle) {
        let left = match &step {
            InstallStep::Helm { release, .. } => skipped_helm.contains(&release.release.as_str()),
            InstallStep::Kustomize { .. } => kubeflow_skipped,
            InstallStep::Apply { .. } => false,
        };
        if left {
            lines.extend(step.commands(&dir, true));
        }
    }
    lines
}

/// Deploys one workspace: preflight, facts, render, plan, execute, then the bundle
/// written under the config folder (checked writable before anything is changed).
/// Holds the group's Lease from before it reads what it plans on to the end, unless
/// it finds nothing of the group's to change (then it takes none); `cancel` stops it
/// after the write in flight.
pub async fn deploy(
    cluster: &Cluster,
    env: &Env,
    input: &DeployInput,
    cancel: &Cancel,
    sink: &mut dyn Sink,
) -> Result<Deployed> {
    if let (Some(folder), false, false) = (&input.config_folder, input.secrets_only, input.dry_run)
    {
        check_writable(folder, &input.spec.group_id)?;
    }
    if input.dry_run
        && !maia_kube::live::namespace_exists(cluster, input.spec.namespace.as_str()).await?
    {
        return Err(Error::Usage {
            message: format!(
                "--dry-run has the API server check each object in namespace {}, which does not exist yet: nothing can be checked there",
                input.spec.namespace
            ),
            hint: Some(
                "`maia namespace plan` shows what a first deploy creates; dry-run it once the workspace exists".into(),
            ),
        });
    }
    let during = format!("namespace deploy of {}", input.spec.group_id);
    let result = deploy_inner(cluster, env, input, cancel, sink).await;
    crate::event::cancelled(result, cancel, &during).await
}

async fn deploy_inner(
    cluster: &Cluster,
    env: &Env,
    input: &DeployInput,
    cancel: &Cancel,
    sink: &mut dyn Sink,
) -> Result<Deployed> {
    let given = keycloak_first(cluster, env, input, cancel, sink).await?;
    // A dry run takes no Lease and allocates no port.
    let (request, prepared) = prepare(cluster, env, input, &given, !input.dry_run, sink).await?;
    let bundle = prepared.bundle.clone();
    let plan = prepared.plan.clone();
    let fresh = prepared.new_credentials.len();
    if !prepared.recovered_credentials.is_empty() {
        sink.emit(Event::Warning {
            message: format!(
                "secret/{} in {} lacked {}; recovered from the workspace's Secrets and kept again",
                ws::facts::credentials_secret(request.spec.namespace.as_str()),
                request.state_namespace,
                prepared.recovered_credentials.join(", ")
            ),
        });
    }
    for note in &prepared.bundle.quota_notes {
        sink.emit(Event::Note {
            message: format!("quota {note}"),
        });
    }
    let mut bridge = Bridge { sink, cancel };
    if input.dry_run {
        ws::deploy::dry_run(cluster, &request, prepared, &mut bridge).await?;
    } else {
        ws::deploy::deploy(cluster, &request, prepared, input.wait, &mut bridge).await?;
    }
    let mut written = Vec::new();
    if let (Some(folder), false, false) = (&input.config_folder, input.secrets_only, input.dry_run)
    {
        written = write_bundle(&request.spec, &bundle, folder)?.written;
        for path in &written {
            sink.emit(Event::Wrote { path: path.clone() });
        }
    }
    let hand_over = hand_over(&request.spec, &bundle);
    let left_to_admin = left_to_admin(
        &plan,
        &request.spec,
        &bundle,
        input.config_folder.as_deref(),
    );
    Ok(Deployed {
        bundle,
        plan,
        fresh,
        written,
        hand_over,
        left_to_admin,
    })
}

/// What deploying a workspace would do, and nothing written.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The workspace as it would be rendered (its credentials included).
    pub bundle: Bundle,
    /// The objects, charts and KubeFlow steps.
    pub plan: WorkspacePlan,
    /// Credentials a deploy would draw.
    pub new_credentials: Vec<String>,
    /// Credentials maia's store lacks that the workspace's Secrets still hold.
    pub recovered_credentials: Vec<String>,
    /// What Keycloak would change (with the cluster config's `keycloak_admin`).
    pub keycloak: Option<maia_keycloak::sync::Plan>,
    /// Something would change.
    pub changes: bool,
}

/// Plans one workspace: what [`deploy`] would do, with nothing written anywhere.
pub async fn plan(
    cluster: &Cluster,
    env: &Env,
    input: &DeployInput,
    sink: &mut dyn Sink,
) -> Result<Planned> {
    // Keycloak's part is read first: the clients it would create have no secret yet,
    // and the render takes a stand-in for it (never applied: this is a plan).
    let keycloak = match &input.spec.cluster.keycloak_admin {
        Some(_) => Some(crate::keycloak::plan(&input.spec, env).await?),
        None => None,
    };
    let given = keycloak
        .as_ref()
        .map(|k| stand_ins(&k.workspace, &k.plan))
        .unwrap_or_default();
    let (_, prepared) = prepare(cluster, env, input, &given, false, sink).await?;
    let keycloak = keycloak.map(|k| k.plan);
    let changes = prepared.plan.has_changes()
        || !prepared.new_credentials.is_empty()
        || !prepared.recovered_credentials.is_empty()
        || keycloak.as_ref().is_some_and(|k| k.has_changes());
    Ok(Planned {
        bundle: prepared.bundle.clone(),
        plan: prepared.plan.clone(),
        new_credentials: prepared.new_credentials.clone(),
        recovered_credentials: prepared.recovered_credentials.clone(),
        keycloak,
        changes,
    })
}

/// What the render is given for the secrets of clients Keycloak has not made yet.
const SECRET_STAND_IN: &str = "(made by Keycloak at deploy)";

/// Stand-ins for the secrets of the clients a Keycloak plan would create.
fn stand_ins(
    workspace: &maia_keycloak::sync::Workspace,
    plan: &maia_keycloak::sync::Plan,
) -> Credentials {
    let created: Vec<&str> = plan
        .clients
        .iter()
        .filter_map(|c| match c {
            maia_keycloak::sync::ClientChange::Create { client_id } => Some(client_id.as_str()),
            _ => None,
        })
        .collect();
    Credentials(
        workspace
            .clients
            .iter()
            .filter(|c| created.contains(&c.client_id.as_str()))
            .map(|c| (secret_key(c.service), SECRET_STAND_IN.to_string()))
            .collect(),
    )
}

/// With the cluster config's `keycloak_admin`, Keycloak comes first: the group and
/// its members (so they can log in as soon as the hub is up) and the workspace's own
/// clients, whose secrets the render then takes. Before any write to Keycloak, the
/// workspace is planned on the cluster (preflight, hosts, releases: reads only), so a
/// workspace the cluster refuses changes nothing in Keycloak either. A dry run only
/// reads Keycloak and says what it would change.
async fn keycloak_first(
    cluster: &Cluster,
    env: &Env,
    input: &DeployInput,
    cancel: &Cancel,
    sink: &mut dyn Sink,
) -> Result<Credentials> {
    if input.spec.cluster.keycloak_admin.is_none() {
        return Ok(Credentials::default());
    }
    let planned = crate::keycloak::plan(&input.spec, env).await?;
    if input.dry_run {
        for line in crate::text::keycloak::plan(&planned.plan).lines().skip(1) {
            if !line.starts_with("  = ") && line.starts_with("  ") {
                sink.emit(Event::Note {
                    message: format!("keycloak (dry run, not changed):{line}"),
                });
            }
        }
        return Ok(Credentials::default());
    }
    // The cluster's checks, on a render with stand-ins for the secrets to be made.
    let given = stand_ins(&planned.workspace, &planned.plan);
    prepare(
        cluster,
        env,
        input,
        &given,
        false,
        &mut crate::event::Discard,
    )
    .await?;
    if cancel.is_cancelled() {
        return Err(Error::Cancelled {
            during: format!("namespace deploy of {}", input.spec.group_id),
            released: Vec::new(),
        });
    }
    let (_, synced) = crate::keycloak::sync(&input.spec, env, sink).await?;
    Ok(Credentials(
        planned
            .workspace
            .clients
            .iter()
            .filter_map(|c| {
                synced
                    .secrets
                    .get(&c.client_id)
                    .map(|secret| (secret_key(c.service), secret.clone()))
            })
            .collect(),
    ))
}

/// The config folder a deploy writes its bundle to after changing the cluster, checked
/// before: a folder found unwritable afterwards leaves a deployed workspace whose
/// bundle and credentials.yaml were not kept. Every folder the write would put a file
/// in is tried with a file created and removed at once.
pub fn check_writable(folder: &std::path::Path, group_id: &str) -> Result<()> {
    // The lock creates the folder and maia's state folder, as the write would.
    drop(ConfigFolder::lock(folder)?);
    let mut dirs = vec![folder.to_path_buf(), folder.join(".maia")];
    let mut pending = vec![folder.join(group_id)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            // Not there yet: created by the write, in a folder tried above.
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(entry.path());
            }
        }
        dirs.push(dir);
    }
    for dir in dirs {
        let probe = dir.join(format!(".maia-write-check-{}", std::process::id()));
        let tried = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe);
        match tried {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
            }
            Err(source) => return Err(Error::FolderNotWritable { path: dir, source }),
        }
    }
    Ok(())
}

/// Writes the bundle (and credentials.yaml) of what was deployed under the folder.
pub fn write_bundle(
    spec: &WorkspaceSpec,
    bundle: &Bundle,
    path: &std::path::Path,
) -> Result<maia_deploy::workspace::folder::WriteReport> {
    let folder = ConfigFolder::lock(path)?;
    let (mut ledger, _) = maia_deploy::workspace::folder::read_ledger(&folder);
    ledger
        .0
        .insert(spec.group_id.clone(), bundle.ssh_ports.clone());
    let rendered = Rendered {
        spec: spec.clone(),
        bundle: bundle.clone(),
        dir: folder.group_dir(&spec.group_id),
        files: render::bundle_files(spec, bundle)?,
        ledger: Some(render::LedgerWrite {
            ledger,
            path: folder.ledger_path(),
        }),
        warnings: Vec::new(),
        written: Default::default(),
        from_cluster: true,
    };
    render::write(&rendered)
}

/// helm, when it is on the environment's PATH (status and delete read release states
/// through it).
pub fn helm(env: &Env) -> Option<Helm> {
    maia_deploy::tools::find_program("helm", env.path.as_deref())
        .map(|p| Helm::new(p, env.tools.clone()))
}

/// The workspace of a group, as the cluster knows it.
pub async fn find(cluster: &Cluster, group: &str) -> Result<manage::WorkspaceEntry> {
    Ok(manage::find(cluster, group).await?)
}

/// A workspace's status: components, URLs, members, quota.
pub async fn status(cluster: &Cluster, env: &Env, group: &str) -> Result<manage::WorkspaceStatus> {
    let entry = manage::find(cluster, group).await?;
    Ok(manage::status(cluster, &entry, helm(env).as_ref()).await?)
}

/// Every workspace maia deployed on the cluster.
pub async fn list(cluster: &Cluster) -> Result<Vec<manage::WorkspaceEntry>> {
    Ok(manage::list(cluster).await?)
}

/// What a namespace holds besides the workspace (researchers' apps and volumes), for a
/// confirmation question.
pub async fn contents(cluster: &Cluster, namespace: &str) -> Result<manage::Contents> {
    Ok(manage::contents(cluster, namespace).await?)
}

/// What `maia namespace delete` is asked.
#[derive(Debug, Clone)]
pub struct DeleteInput {
    /// maia's own namespace on the cluster: the credentials Secrets and the Leases.
    pub state_namespace: String,
    /// Also delete the volumes, the namespace (with everything in it) and the
    /// group's credentials Secret.
    pub delete_data: bool,
    /// Only say what a delete would remove (`--dry-run`): every DELETE is sent with
    /// `dryRun=All`, so the API server checks it and deletes nothing; helm is only
    /// asked which releases are installed (`helm list`), nothing is uninstalled and
    /// no Lease is taken.
    pub dry_run: bool,
    /// The cluster config's `keycloak_admin`, when given: the workspace's Keycloak
    /// clients go too, after the cluster's objects (and with `delete_data` its group;
    /// accounts never).
    pub keycloak: Option<maia_spec::workspace::KeycloakAdmin>,
}

/// What a delete did (or, as a dry run, would do).
#[derive(Debug, Clone, Default)]
pub struct Deleted {
    /// The objects deleted, in the order they were (their Namespace last with
    /// `delete_data`; the credentials Secret is in the state namespace).
    pub objects: Vec<maia_deploy::ObjectRef>,
    /// The helm releases uninstalled.
    pub releases: Vec<String>,
    /// helm releases left because helm is not on PATH (`helm uninstall` them).
    pub releases_left: Vec<String>,
    /// A dry run: nothing above was deleted, only checked.
    pub dry_run: bool,
}

/// Deletes a workspace: its objects (and with `delete_data` its namespace, volumes and
/// credentials). User data outside it is never touched. With `dry_run` nothing is
/// deleted: the same events say what would be (`dry_run` set), and with `delete_data`
/// a note lists what else the namespace would take with it.
pub async fn delete(
    cluster: &Cluster,
    env: &Env,
    entry: &manage::WorkspaceEntry,
    input: &DeleteInput,
    cancel: &Cancel,
    sink: &mut dyn Sink,
) -> Result<Deleted> {
    let helm = helm(env);
    let during = format!("namespace delete of {}", entry.group_id);
    let mut tally = Tally::new(sink, cancel);
    let result = if input.dry_run {
        manage::delete_dry_run(
            cluster,
            entry,
            helm.as_ref(),
            &input.state_namespace,
            input.delete_data,
            &mut tally,
        )
        .await
    } else {
        manage::delete(
            cluster,
            entry,
            helm.as_ref(),
            &input.state_namespace,
            input.delete_data,
            &maia_deploy::lease::Holder::new(env.holder.clone()),
            &mut tally,
        )
        .await
    }
    .map_err(Error::from);
    let Tally {
        objects, releases, ..
    } = tally;
    crate::event::cancelled(result, cancel, &during).await?;
    if let Some(settings) = &input.keycloak {
        crate::keycloak::remove(
            settings,
            env,
            &entry.group_id,
            &entry.namespace,
            input.delete_data,
            input.dry_run,
            sink,
        )
        .await?;
    }
    let releases_left = if helm.is_none() {
        manage::helm_releases(&entry.namespace).to_vec()
    } else {
        Vec::new()
    };
    if !releases_left.is_empty() {
        sink.emit(Event::Warning {
            message: format!(
                "helm is not on PATH: the workspace's helm releases {}; run `helm uninstall` for {} in {}",
                if input.dry_run {
                    "would be left"
                } else {
                    "were left"
                },
                releases_left.join(", "),
                entry.namespace
            ),
        });
    }
    if input.dry_run && input.delete_data {
        sink.emit(Event::Note {
            message: match manage::contents(cluster, &entry.namespace).await {
                Ok(c) => {
                    let list = |items: &[String]| {
                        if items.is_empty() {
                            "none".to_string()
                        } else {
                            items.join(", ")
                        }
                    };
                    format!(
                        "namespace {} would go with everything in it: researchers' apps: {}; volume claims (their data would be lost): {}",
                        entry.namespace,
                        list(&c.apps),
                        list(&c.volumes)
                    )
                }
                Err(e) => format!(
                    "namespace {} would go with everything in it ({e}: `kubectl get all,pvc -n {}` shows it)",
                    entry.namespace, entry.namespace
                ),
            },
        });
    }
    Ok(Deleted {
        objects,
        releases,
        releases_left,
        dry_run: input.dry_run,
    })
}

/// The question `namespace delete` asks. With `--delete-data` the namespace is deleted
/// with everything in it: the researchers' own apps and volumes too, listed when known.
pub fn delete_question(
    entry: &manage::WorkspaceEntry,
    delete_data: bool,
    contents: Option<&manage::Contents>,
) -> String {
    if !delete_data {
        return format!(
            "Delete workspace {} (namespace {}), keeping its volumes, namespace and credentials? [y/N] ",
            entry.group_id, entry.namespace
        );
    }
    let mut text = format!(
        "Delete workspace {} and ALL its data: namespace {} is deleted with everything in it, \
         the workspace's volumes and credentials, and the researchers' own apps and volumes there too.\n",
        entry.group_id, entry.namespace
    );
    match contents {
        Some(c) => {
            let list = |items: &[String]| {
                if items.is_empty() {
                    "none".to_string()
                } else {
                    items.join(", ")
                }
            };
            text.push_str(&format!("  researchers' apps: {}\n", list(&c.apps)));
            text.push_str(&format!(
                "  volume claims (their data is lost): {}\n",
                list(&c.volumes)
            ));
        }
        None => text.push_str(&format!(
            "  (what else is in it could not be read: `kubectl get all,pvc -n {}` shows it)\n",
            entry.namespace
        )),
    }
    text.push_str("This cannot be undone. Delete? [y/N] ");
    text
}

/// How members' kubectl logs in, from the cluster config's Keycloak: checked before
/// any cluster is asked. Returns the issuer and client, and the file's warnings.
pub fn member_login(
    cluster_config_file: &Path,
) -> Result<((String, String), Vec<maia_spec::Diagnostic>)> {
    let file = cluster_config_file;
    let (spec, warnings) = crate::config::cluster(file)?;
    let keycloak = spec.keycloak.as_ref().filter(|k| !k.issuer_url.is_empty());
    let Some(keycloak) = keycloak else {
        return Err(Error::Usage {
            message: format!(
                "{}: keycloak.issuer_url is needed: members' kubectl logs in through Keycloak",
                file.display()
            ),
            hint: Some("add keycloak.issuer_url (https://<keycloak>/realms/<realm>)".into()),
        });
    };
    let client_id = spec
        .tenancy
        .kubectl_client_id
        .clone()
        .unwrap_or_else(|| keycloak.client_id.clone());
    Ok(((keycloak.issuer_url.clone(), client_id), warnings))
}

/// A member's kubeconfig for a group's workspace, logging in as `login` says
/// ([`member_login`]). The group must be deployed: a kubeconfig for a namespace that
/// does not exist would help nobody.
pub async fn kubeconfig(
    cluster: &Cluster,
    target: &maia_deploy::Target,
    login: &(String, String),
    group: &str,
) -> Result<serde_json::Value> {
    let namespace = manage::find(cluster, group).await?.namespace;
    Ok(maia_deploy::cluster::member_kubeconfig(
        target,
        &maia_deploy::cluster::MemberLogin {
            namespace,
            issuer_url: login.0.clone(),
            client_id: login.1.clone(),
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> manage::WorkspaceEntry {
        manage::WorkspaceEntry {
            group_id: "Brain_MRI".into(),
            namespace: "brain-mri".into(),
            created: None,
        }
    }

    #[test]
    fn the_delete_data_question_says_the_researchers_apps_and_volumes_go_too() {
        let contents = manage::Contents {
            apps: vec!["notebook-v1".into()],
            volumes: vec![
                "mysql-db-v1-mkg-claim-0".into(),
                "notebook-v1-mkg-claim-0".into(),
            ],
        };
        let asked = delete_question(&entry(), true, Some(&contents));
        assert!(
            asked.contains("the researchers' own apps and volumes there too"),
            "{asked}"
        );
        assert!(
            asked.contains("researchers' apps: notebook-v1\n"),
            "{asked}"
        );
        assert!(
            asked.contains(
                "(their data is lost): mysql-db-v1-mkg-claim-0, notebook-v1-mkg-claim-0\n"
            ),
            "{asked}"
        );
        assert!(asked.ends_with("[y/N] "), "{asked}");
        // Unknown contents are said to be unknown, with how to look.
        let asked = delete_question(&entry(), true, None);
        assert!(
            asked.contains("kubectl get all,pvc -n brain-mri"),
            "{asked}"
        );
        // Without --delete-data, what stays is said.
        let asked = delete_question(&entry(), false, None);
        assert!(
            asked.contains("keeping its volumes, namespace and credentials"),
            "{asked}"
        );
    }
}
