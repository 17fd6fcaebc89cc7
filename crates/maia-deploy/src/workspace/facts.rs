//! What a workspace deploy reads from the cluster before rendering: the credentials of
//! earlier runs (a Secret in maia's own namespace, out of the group members' reach) and
//! the SSH ports in use (live Services), allocated under a Lease so that two admins
//! deploying two groups at once never hand out the same port.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use maia_render::workspace::{Credentials, SshPorts};
use maia_spec::workspace::{SshExposure, WorkspaceSpec, member_name};

use crate::error::{DeployError, Result};
use maia_kube::cluster::Cluster;
use maia_kube::cluster::FIELD_MANAGER;

/// maia's own namespace: where the groups' credentials and the ports Lease live.
pub const STATE_NAMESPACE: &str = "maia-system";
/// The Lease held while SSH ports are allocated and their Services applied.
pub(crate) const PORTS_LEASE: &str = "maia-ssh-ports";

/// The Secret holding a group's credentials.
pub fn credentials_secret(namespace: &str) -> String {
    format!("maia-credentials-{namespace}")
}

/// Where credentials are kept between runs. Two stores: the config folder
/// (`credentials.yaml`, in the CLI) and the cluster ([`ClusterCredentials`]).
pub(crate) trait CredentialStore {
    /// The credentials of earlier runs; empty when there were none.
    async fn load(&self) -> Result<Credentials>;
    /// Keeps `credentials`; writes nothing when they are already kept.
    async fn save(&self, credentials: &Credentials) -> Result<bool>;
}

/// A group's credentials as a Secret in maia's namespace.
pub(crate) struct ClusterCredentials<'a> {
    pub(crate) cluster: &'a Cluster,
    pub(crate) state_namespace: String,
    /// The group's namespace (names the Secret).
    pub(crate) namespace: String,
    pub(crate) group_id: String,
}

impl ClusterCredentials<'_> {
    fn api(&self) -> Api<Secret> {
        Api::namespaced(self.cluster.client.clone(), &self.state_namespace)
    }

    fn name(&self) -> String {
        credentials_secret(&self.namespace)
    }

    /// The Secret, as a delete reports it.
    pub(crate) fn object(&self) -> maia_kube::plan::ObjectRef {
        maia_kube::plan::ObjectRef {
            kind: "Secret".into(),
            name: self.name(),
            namespace: self.state_namespace.clone(),
        }
    }

    /// Deletes the Secret (`maia namespace delete --delete-data`), or with `dry_run` has
    /// the API server check its deletion (`dryRun=All`); `Ok(false)` when there is none.
    pub(crate) async fn delete(&self, dry_run: bool) -> Result<bool> {
        let params = DeleteParams {
            dry_run,
            ..DeleteParams::default()
        };
        match self.api().delete(&self.name(), &params).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(DeployError::from_kube(
                e,
                &self.cluster.url,
                "delete",
                format!("secret/{} in {}", self.name(), self.state_namespace),
            )),
        }
    }
}

impl CredentialStore for ClusterCredentials<'_> {
    async fn load(&self) -> Result<Credentials> {
        let found = self.api().get_opt(&self.name()).await.map_err(|e| {
            DeployError::from_kube(
                e,
                &self.cluster.url,
                "get",
                format!("secret/{} in {}", self.name(), self.state_namespace),
            )
        })?;
        let mut out = BTreeMap::new();
        for (key, value) in found.and_then(|s| s.data).unwrap_or_default() {
            let text = String::from_utf8(value.0).map_err(|_| DeployError::StateCorrupt {
                what: format!(
                    "secret/{} in {} (key {key})",
                    self.name(),
                    self.state_namespace
                ),
                reason: "the value is not UTF-8".into(),
            })?;
            if text.is_empty() {
                return Err(DeployError::StateCorrupt {
                    what: format!(
                        "secret/{} in {} (key {key})",
                        self.name(),
                        self.state_namespace
                    ),
                    reason: "the value is empty".into(),
                });
            }
            out.insert(key, text);
        }
        Ok(Credentials(out))
    }

    async fn save(&self, credentials: &Credentials) -> Result<bool> {
        if self.load().await? == *credentials {
            return Ok(false);
        }
        maia_kube::live::ensure_namespace(self.cluster, &self.state_namespace).await?;
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(self.name()),
                namespace: Some(self.state_namespace.clone()),
                labels: Some(BTreeMap::from([(
                    maia_render::labels::MANAGED_BY.to_string(),
                    maia_render::labels::MANAGER.to_string(),
                )])),
                annotations: Some(BTreeMap::from([(
                    maia_render::labels::GROUP_ID_ANNOTATION.to_string(),
                    self.group_id.clone(),
                )])),
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            data: Some(
                credentials
                    .0
                    .iter()
                    .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                    .collect(),
            ),
            ..Default::default()
        };
        self.api()
            .patch(
                &self.name(),
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Apply(&secret),
            )
            .await
            .map_err(|e| {
                DeployError::from_kube(
                    e,
                    &self.cluster.url,
                    "apply",
                    format!("secret/{} in {}", self.name(), self.state_namespace),
                )
            })?;
        Ok(true)
    }
}

/// The SSH ports the cluster shows: the group's users' current ports (from their live
/// `<user>-ssh` Services) and every port something else holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortFacts {
    /// The ports the group's users have now, by user.
    pub kept: SshPorts,
    /// Every port someone else holds.
    pub in_use: BTreeSet<u16>,
}

impl PortFacts {
    /// True when some user has no port yet (so one must be allocated, under the Lease).
    pub(crate) fn needs_allocation(&self, users: &[String]) -> bool {
        users.iter().any(|u| self.kept.port(u).is_none())
    }
}

/// Reads every Service of the cluster (one LIST) and works out the ports. NodePort: a
/// node port is cluster-wide, so every `nodePort` counts. LoadBalancer: ports on the
/// shared address count (Services asking for that IP, or given it).
pub(crate) async fn read_ports(cluster: &Cluster, spec: &WorkspaceSpec) -> Result<PortFacts> {
    let api: Api<Service> = Api::all(cluster.client.clone());
    let services = api
        .list(&ListParams::default())
        .await
        .map_err(|e| DeployError::from_kube(e, &cluster.url, "list", "services in all namespaces"))?
        .items;
    Ok(port_facts(spec, &services))
}

/// The pure part of [`read_ports`].
pub(crate) fn port_facts(spec: &WorkspaceSpec, services: &[Service]) -> PortFacts {
    let namespace = spec.namespace.as_str();
    let own: BTreeMap<String, &String> = spec
        .users
        .iter()
        .map(|u| (format!("{}-ssh", member_name(u)), u))
        .collect();
    let mut facts = PortFacts::default();
    for service in services {
        let ns = service.metadata.namespace.as_deref().unwrap_or_default();
        let name = service.metadata.name.as_deref().unwrap_or_default();
        let Some(svc) = &service.spec else { continue };
        let ports = svc.ports.as_deref().unwrap_or_default();
        let held: Vec<u16> = match &spec.cluster.ssh {
            SshExposure::NodePort => ports
                .iter()
                .filter_map(|p| p.node_port.and_then(|n| u16::try_from(n).ok()))
                .collect(),
            SshExposure::LoadBalancer { ip, .. } => {
                let asked = svc.load_balancer_ip.as_deref() == Some(ip.as_str())
                    || service
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get("metallb.universe.tf/loadBalancerIPs"))
                        .is_some_and(|ips| ips.split(',').any(|i| i.trim() == ip));
                let given = service
                    .status
                    .as_ref()
                    .and_then(|s| s.load_balancer.as_ref())
                    .and_then(|lb| lb.ingress.as_ref())
                    .is_some_and(|ing| ing.iter().any(|i| i.ip.as_deref() == Some(ip)));
                if svc.type_.as_deref() == Some("LoadBalancer") && (asked || given) {
                    ports
                        .iter()
                        .filter_map(|p| u16::try_from(p.port).ok())
                        .collect()
                } else {
                    Vec::new()
                }
            }
        };
        match own.get(name) {
            Some(user) if ns == namespace => {
                if let Some(port) = held.first() {
                    facts.kept.0.insert((*user).clone(), *port);
                }
            }
            _ => facts.in_use.extend(held),
        }
    }
    facts
}
