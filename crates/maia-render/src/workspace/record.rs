//! The workspace record: what a deployed workspace is meant to be, kept in its
//! namespace so `maia namespace status` can judge it from the cluster alone (no config
//! files): every object of each component, the helm releases, each component's URLs,
//! and each member with their name and SSH command. `maia namespace deploy` applies it
//! with the workspace's objects; `namespace delete` removes it with them, so a deleted
//! workspace has none. It is not part of the bundle's files (holding nothing the
//! cluster needs, it would only make every bundle differ from its golden copy). A
//! GitOps tree carries it (with the Argo CD Application that applies the workspace),
//! so a workspace Argo CD keeps is judged the same way; it holds no secret.

use k8s_openapi::api::core::v1::ConfigMap;
use maia_spec::workspace::{WorkspaceSpec, member_name};
use serde::{Deserialize, Serialize};

use super::Bundle;
use super::meta::meta;
use crate::error::RenderError;

/// The record's ConfigMap, in the workspace's namespace.
pub const RECORD: &str = "maia-workspace-record";
/// Its data key, holding [`Record`] as JSON.
pub const RECORD_KEY: &str = "record.json";

/// What a workspace is meant to be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The components in apply order.
    pub components: Vec<RecordComponent>,
    /// The helm releases installed into the namespace.
    pub helm_releases: Vec<String>,
    /// The members, in the form's order.
    pub members: Vec<RecordMember>,
    /// Where members connect with SSH.
    pub ssh_host: String,
    /// The Argo CD Application that applies the workspace, when a GitOps tree does:
    /// its charts are then rendered and applied by Argo CD, not installed by helm, so
    /// they are judged by the Application's sync and health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argocd_application: Option<ArgoCdApplication>,
}

/// An Argo CD Application, by namespace and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgoCdApplication {
    /// Where Argo CD keeps it.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// One component of the record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordComponent {
    /// As the bundle names it (`mysql`, `label_studio`, …).
    pub component: String,
    /// `Kind/name` of each of its objects in the namespace.
    pub objects: Vec<String>,
    /// Its helm releases.
    pub helm_releases: Vec<String>,
    /// The URLs it publishes, as the summary lists them.
    pub urls: Vec<String>,
}

/// One member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMember {
    /// The e-mail they log in with.
    pub email: String,
    /// Their name on the cluster (`<name>-ssh`, the pod's `hub.jupyter.org/username`).
    pub name: String,
}

/// The record of `bundle`.
pub fn record(spec: &WorkspaceSpec, bundle: &Bundle) -> Record {
    let components: Vec<RecordComponent> = bundle
        .components
        .iter()
        .map(|c| RecordComponent {
            component: c.name.to_string(),
            objects: c
                .objects
                .iter()
                // The Namespace is the workspace itself: status finds it or nothing.
                .filter(|o| o.namespace().is_some())
                .map(|o| format!("{}/{}", o.kind(), o.name()))
                .collect(),
            helm_releases: c.helm.iter().map(|h| h.release.clone()).collect(),
            urls: c
                .outputs
                .iter()
                .filter(|o| !o.internal && o.value.starts_with("https://"))
                .map(|o| o.value.clone())
                .collect(),
        })
        .collect();
    Record {
        helm_releases: components
            .iter()
            .flat_map(|c| c.helm_releases.clone())
            .collect(),
        components,
        members: spec
            .users
            .iter()
            .map(|u| RecordMember {
                email: u.clone(),
                name: member_name(u),
            })
            .collect(),
        ssh_host: spec.cluster.ssh_hostname.clone(),
        argocd_application: None,
    }
}

/// The record as its ConfigMap (component `namespace`, so it is applied first).
pub fn record_config_map(spec: &WorkspaceSpec, bundle: &Bundle) -> Result<ConfigMap, RenderError> {
    config_map(spec, &record(spec, bundle))
}

/// The record of a workspace Argo CD applies from a GitOps tree, as its ConfigMap:
/// the same, naming the Application (see [`super::gitops::application`]).
pub fn gitops_record_config_map(
    spec: &WorkspaceSpec,
    bundle: &Bundle,
) -> Result<ConfigMap, RenderError> {
    let record = Record {
        argocd_application: Some(ArgoCdApplication {
            namespace: super::gitops::ARGOCD_NAMESPACE.into(),
            name: super::gitops::application_name(spec),
        }),
        ..record(spec, bundle)
    };
    config_map(spec, &record)
}

fn config_map(spec: &WorkspaceSpec, record: &Record) -> Result<ConfigMap, RenderError> {
    let mut json =
        serde_json::to_string_pretty(record).map_err(|source| RenderError::Serialize {
            object: RECORD.into(),
            source,
        })?;
    json.push('\n');
    Ok(ConfigMap {
        metadata: meta(spec, "namespace", RECORD),
        data: Some([(RECORD_KEY.to_string(), json)].into()),
        ..Default::default()
    })
}

/// Reads a record back from its ConfigMap's JSON (as the API server returns it);
/// `None` when it is not one.
pub fn read_record(config_map: &serde_json::Value) -> Option<Record> {
    serde_json::from_str(config_map["data"][RECORD_KEY].as_str()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::first_bundle;

    #[test]
    fn lists_every_object_release_url_and_member() {
        let spec = WorkspaceSpec::test();
        let bundle = first_bundle(&spec);
        let r = record(&spec, &bundle);
        let mysql = r
            .components
            .iter()
            .find(|c| c.component == "mysql")
            .unwrap();
        assert!(
            mysql
                .objects
                .contains(&"Deployment/mysql-db-v1-mkg".to_string()),
            "{mysql:?}"
        );
        let hub = r
            .components
            .iter()
            .find(|c| c.component == "jupyterhub")
            .unwrap();
        assert_eq!(hub.urls, ["https://brain-mri.maia.example.org/"]);
        assert_eq!(
            r.helm_releases,
            ["oauth2-proxy", "label-studio", "jupyterhub-brain-mri"]
        );
        assert_eq!(r.members[1].email, "bob.smith@example.org");
        assert_eq!(r.members[1].name, "bob-2esmith-40example-2eorg");
        assert!(
            !r.components
                .iter()
                .flat_map(|c| &c.objects)
                .any(|o| o.starts_with("Namespace/"))
        );
        let cm = serde_json::to_value(record_config_map(&spec, &bundle).unwrap()).unwrap();
        assert_eq!(read_record(&cm), Some(r));
    }
}
