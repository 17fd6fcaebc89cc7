//! Labels shared by everything maia renders.

use std::collections::BTreeMap;

/// The mkg chart version the original deployed with; kept in selector labels so
/// workloads made by the old chart can be adopted (a Deployment's selector is immutable).
pub(crate) const MKG_CHART_VERSION: &str = "1.0.2";

/// Label naming the tool that manages an object.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The [`MANAGED_BY`] value of everything maia renders.
pub const MANAGER: &str = "maia";
/// Label naming the instance: an app's release, or a workspace's namespace.
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// Label naming what an object is part of ([`WORKSPACE`] for a workspace's objects).
pub const PART_OF: &str = "app.kubernetes.io/part-of";
/// Label naming the workspace component an object belongs to (`minio`, `addons`, …).
pub const COMPONENT: &str = "app.kubernetes.io/component";
/// What every object of a workspace is `part-of`.
pub const WORKSPACE: &str = "maia-workspace";
/// On a workspace's Namespace: the group_ID that holds it.
pub const GROUP_ID_ANNOTATION: &str = "maia.cloud/group-id";
/// On a Secret holding values of the cluster config that every group shares (the
/// registry password, the Keycloak client secret): their `credentials.yaml` keys,
/// comma-separated. Members can read every Secret of their namespace, so these are
/// the cluster-wide values within their reach (docs/security.md); the mark finds
/// every copy, e.g. to rotate one.
pub const CLUSTER_WIDE_SECRETS_ANNOTATION: &str = "maia.cloud/cluster-wide-secrets";

/// Pod selector labels of a custom application.
pub(crate) fn app_selector(release: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".to_string(), release.to_string()),
        ("version".to_string(), MKG_CHART_VERSION.to_string()),
        ("app.kubernetes.io/name".to_string(), "mkg".to_string()),
        (INSTANCE.to_string(), release.to_string()),
    ])
}

/// Labels on every object of a custom application.
pub(crate) fn app_labels(release: &str) -> BTreeMap<String, String> {
    let mut labels = app_selector(release);
    labels.insert(
        "app.kubernetes.io/version".to_string(),
        MKG_CHART_VERSION.to_string(),
    );
    labels.insert(MANAGED_BY.to_string(), MANAGER.to_string());
    labels
}

/// Labels on every object of a workspace component.
pub(crate) fn workspace_labels(namespace: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (PART_OF.to_string(), WORKSPACE.to_string()),
        (COMPONENT.to_string(), component.to_string()),
        (INSTANCE.to_string(), namespace.to_string()),
        (MANAGED_BY.to_string(), MANAGER.to_string()),
    ])
}
