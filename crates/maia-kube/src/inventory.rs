//! The per-app inventory: a ConfigMap `maia-inventory-<release>` listing `Kind/name` of
//! every object the app owns, in the spirit of kubectl ApplySets. Prune deletes only
//! what is listed here *and* carries the app's labels.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

/// The inventory ConfigMap's data key that lists the entries, one a line.
pub const KEY: &str = "objects";

/// The inventory ConfigMap of an app's release.
pub fn name(release: &str) -> String {
    format!("maia-inventory-{release}")
}

/// The entries (`Kind/name`) an inventory lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory(BTreeSet<String>);

impl Inventory {
    /// An inventory of these entries.
    pub fn new(entries: BTreeSet<String>) -> Self {
        Inventory(entries)
    }

    /// The entry of one object: `Kind/name`.
    pub fn entry(kind: &str, name: &str) -> String {
        format!("{kind}/{name}")
    }

    /// Whether it lists `entry` (`Kind/name`).
    pub fn contains(&self, entry: &str) -> bool {
        self.0.contains(entry)
    }

    /// Each `Kind/name` it lists.
    pub fn entries(&self) -> impl Iterator<Item = &String> {
        self.0.iter()
    }

    /// What either lists.
    pub fn union(&self, other: &Inventory) -> Inventory {
        Inventory(self.0.union(&other.0).cloned().collect())
    }

    /// The entries of an inventory ConfigMap (as JSON); none when it has no list.
    pub fn from_config_map(value: &Value) -> Self {
        Inventory(
            value["data"][KEY]
                .as_str()
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    /// The inventory as the ConfigMap `name`, carrying the scope's `labels` (so the
    /// scope's one LIST of ConfigMaps finds it) and `component: inventory`.
    pub fn to_config_map(
        &self,
        namespace: &str,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> ConfigMap {
        let mut labels = labels.clone();
        labels.insert("app.kubernetes.io/component".into(), "inventory".into());
        let mut text = String::new();
        for e in &self.0 {
            text.push_str(e);
            text.push('\n');
        }
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                labels: Some(labels),
                ..Default::default()
            },
            data: Some([(KEY.to_string(), text)].into()),
            ..Default::default()
        }
    }
}
