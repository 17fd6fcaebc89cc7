//! Credentials an existing workspace still holds, for when maia's store lost them.
//!
//! A deploy draws a password only for a key its store lacks. When the workspace is
//! already there (its volumes keep data written with the old passwords), a new one
//! would lock the group out of its own data. So before any write, a probe render
//! finds which keys would be drawn and where each lands (its marker in a Secret's
//! value); the live Secret of the same name holds the value to keep. What cannot be
//! recovered stops the deploy, unless no Secret holding it was ever applied (a
//! component added since): no data can depend on that one yet.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret};
use kube::Api;
use kube::api::ListParams;
use maia_render::Object;
use maia_render::workspace::{Bundle, Credentials, SecretSource};

use crate::error::{DeployError, Result};
use maia_kube::cluster::Cluster;

/// Marks every secret it draws, so a probe render shows which keys it would draw and
/// where each lands. Alphanumeric, as drawn secrets are, so every encoding keeps it.
#[derive(Debug, Default)]
pub(crate) struct Probe {
    drawn: usize,
}

const MARK: &str = "MAIAPROBE";

impl SecretSource for Probe {
    fn draw(&mut self, _len: usize) -> String {
        self.drawn += 1;
        format!("{MARK}{:06}Z", self.drawn)
    }
}

/// The keys a probe-rendered bundle drew (their values are markers).
pub(crate) fn drawn(probe: &Bundle) -> BTreeMap<String, String> {
    probe
        .credentials
        .0
        .iter()
        .filter(|(_, v)| is_marker(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn is_marker(v: &str) -> bool {
    v.len() == MARK.len() + 7
        && v.starts_with(MARK)
        && v.ends_with('Z')
        && v[MARK.len()..v.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_digit())
}

/// What the cluster shows of a workspace already there: its namespace's Secrets, and
/// whether it has data (volume claims) or maia's inventory.
pub(crate) struct Existing {
    /// The namespace's Secrets, by name: data key → value.
    pub(crate) secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// What maia's inventory lists as applied (`Secret/mysql-…`, …).
    pub(crate) inventory: BTreeSet<String>,
    /// What shows the workspace is there, for the message (`2 volume claims`, …).
    pub(crate) evidence: Vec<String>,
}

/// Reads what a workspace in `namespace` already has; `None` when the namespace does
/// not exist or holds nothing of a workspace (no rendered Secret, claim or inventory).
pub(crate) async fn existing(
    cluster: &Cluster,
    namespace: &str,
    probe: &Bundle,
) -> Result<Option<Existing>> {
    if !maia_kube::live::namespace_exists(cluster, namespace).await? {
        return Ok(None);
    }
    let err = |e, what: &str| DeployError::from_kube(e, &cluster.url, "list", what.to_string());
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let secrets = secrets
        .list(&ListParams::default())
        .await
        .map_err(|e| err(e, &format!("secrets in {namespace}")))?
        .items;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), namespace);
    let claims = claims
        .list(&ListParams::default())
        .await
        .map_err(|e| err(e, &format!("persistentvolumeclaims in {namespace}")))?
        .items;
    let maps: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), namespace);
    let inventory = maps.get_opt(super::INVENTORY).await.map_err(|e| {
        DeployError::from_kube(
            e,
            &cluster.url,
            "get",
            format!("configmap/{} in {namespace}", super::INVENTORY),
        )
    })?;
    let inventory: BTreeSet<String> = inventory
        .and_then(|m| m.data)
        .and_then(|mut d| d.remove(maia_kube::inventory::KEY))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let rendered: BTreeSet<&str> = probe
        .objects()
        .filter(|o| o.kind() == "Secret")
        .map(Object::name)
        .collect();
    let mut evidence = Vec::new();
    if !claims.is_empty() {
        evidence.push(format!("{} volume claim(s)", claims.len()));
    }
    let ours: Vec<&str> = secrets
        .iter()
        .filter_map(|s| s.metadata.name.as_deref())
        .filter(|n| rendered.contains(n))
        .collect();
    if !ours.is_empty() {
        evidence.push(format!("secret(s) {}", ours.join(", ")));
    }
    if !inventory.is_empty() {
        evidence.push(format!("the inventory configmap/{}", super::INVENTORY));
    }
    if evidence.is_empty() {
        return Ok(None);
    }
    let secrets = secrets
        .into_iter()
        .filter_map(|s| {
            let name = s.metadata.name?;
            let data = s
                .data
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| Some((k, String::from_utf8(v.0).ok()?)))
                .collect();
            Some((name, data))
        })
        .collect();
    Ok(Some(Existing {
        secrets,
        inventory,
        evidence,
    }))
}

/// What became of the keys a deploy would draw over an existing workspace.
pub(crate) struct Recovery {
    /// Read back from the live Secrets.
    pub(crate) recovered: Credentials,
    /// Neither recovered nor new: a Secret holding them was applied before (it is live,
    /// or the inventory lists it), so data may depend on the old value.
    pub(crate) lost: Vec<String>,
}

/// The drawn keys' values as the live Secrets hold them: each rendered Secret value
/// holding markers is matched against the live value of the same Secret and key. A key
/// found with two different values is not recovered (which one is right cannot be told).
/// A key none of whose Secrets was ever applied is new (a component added since, or a
/// newer maia): it may be drawn.
pub(crate) fn recover(
    probe: &Bundle,
    drawn: &BTreeMap<String, String>,
    existing: &Existing,
) -> Recovery {
    let recovered = read_back(probe, drawn, existing);
    let lost = drawn
        .iter()
        .filter(|(k, _)| !recovered.0.contains_key(*k))
        .filter(|(_, marker)| {
            let holders: Vec<&str> = probe
                .objects()
                .filter_map(|o| match o {
                    Object::Secret(s)
                        if s.data.iter().flatten().any(|(_, v)| {
                            v.0.windows(marker.len()).any(|w| w == marker.as_bytes())
                        }) =>
                    {
                        Some(o.name())
                    }
                    _ => None,
                })
                .collect();
            // Held by no Secret: where it went cannot be checked, so it counts as lost.
            holders.is_empty()
                || holders.iter().any(|h| {
                    existing.secrets.contains_key(*h)
                        || existing
                            .inventory
                            .contains(&maia_kube::inventory::Inventory::entry("Secret", h))
                })
        })
        .map(|(k, _)| k.clone())
        .collect();
    Recovery { recovered, lost }
}

fn read_back(probe: &Bundle, drawn: &BTreeMap<String, String>, existing: &Existing) -> Credentials {
    let by_marker: BTreeMap<&str, &str> = drawn
        .iter()
        .map(|(k, m)| (m.as_str(), k.as_str()))
        .collect();
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for object in probe.objects() {
        let Object::Secret(secret) = object else {
            continue;
        };
        let Some(live) = existing.secrets.get(object.name()) else {
            continue;
        };
        for (key, value) in secret.data.iter().flatten() {
            let (Ok(rendered), Some(live)) = (std::str::from_utf8(&value.0), live.get(key)) else {
                continue;
            };
            for (marker, value) in extract(rendered, live) {
                if let Some(key) = by_marker.get(marker.as_str()) {
                    found.entry((*key).to_string()).or_default().insert(value);
                }
            }
        }
    }
    Credentials(
        found
            .into_iter()
            .filter(|(_, values)| values.len() == 1)
            .filter_map(|(k, values)| Some((k, values.into_iter().next()?)))
            .collect(),
    )
}

/// Splits `rendered` into literal text and markers, and reads each marker's value out
/// of `live` (the text between the literals around it). Nothing when `live` does not
/// have the rendered shape, or when a value is empty.
fn extract(rendered: &str, live: &str) -> Vec<(String, String)> {
    // Literal, marker, literal, marker, …, literal.
    let mut parts: Vec<(String, Option<String>)> = Vec::new();
    let mut rest = rendered;
    while let Some(at) = rest.find(MARK) {
        let end = at + MARK.len() + 7;
        let Some(candidate) = rest.get(at..end).filter(|c| is_marker(c)) else {
            break;
        };
        parts.push((rest[..at].to_string(), Some(candidate.to_string())));
        rest = &rest[end..];
    }
    if parts.is_empty() {
        return Vec::new();
    }
    parts.push((rest.to_string(), None));
    let mut live = live;
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for (literal, marker) in parts {
        match pending.take() {
            None => match live.strip_prefix(literal.as_str()) {
                Some(r) => live = r,
                None => return Vec::new(),
            },
            Some(m) => {
                let value_end = if marker.is_none() {
                    // The last value runs up to the closing literal, at the very end.
                    match live.strip_suffix(literal.as_str()) {
                        Some(v) => v.len(),
                        None => return Vec::new(),
                    }
                } else if literal.is_empty() {
                    // Two markers side by side: where one ends cannot be told.
                    return Vec::new();
                } else {
                    match live.find(literal.as_str()) {
                        Some(i) => i,
                        None => return Vec::new(),
                    }
                };
                if value_end == 0 {
                    return Vec::new();
                }
                out.push((m, live[..value_end].to_string()));
                live = &live[value_end + literal.len()..];
            }
        }
        pending = marker;
    }
    if !live.is_empty() {
        return Vec::new();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(n: usize) -> String {
        format!("{MARK}{n:06}Z")
    }

    #[test]
    fn a_marked_value_is_read_back_between_its_literals() {
        let (a, b) = (marker(1), marker(2));
        let rendered = format!("export USER=\"{a}\"\nexport PASSWORD=\"{b}\"\n");
        let live = "export USER=\"anna\"\nexport PASSWORD=\"s3cret\"\n";
        assert_eq!(
            extract(&rendered, live),
            [(a.clone(), "anna".to_string()), (b, "s3cret".to_string())]
        );
        assert_eq!(extract(&a, "whole"), [(a.clone(), "whole".to_string())]);
    }

    #[test]
    fn a_value_of_another_shape_gives_nothing() {
        let a = marker(1);
        assert!(extract(&format!("USER={a};"), "PASS=x;").is_empty());
        assert!(extract(&format!("USER={a};"), "USER=;").is_empty());
        assert!(extract(&format!("USER={a};"), "USER=x;tail").is_empty());
        assert!(extract(&format!("{a}{}", marker(2)), "ab").is_empty());
        assert!(extract("no marker", "no marker").is_empty());
    }
}
