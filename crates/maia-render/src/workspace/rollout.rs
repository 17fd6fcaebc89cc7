//! Pods read a Secret when they start: a rotated password (a new Keycloak client
//! secret, say) reaches the Secret but not the pods already running. So every pod
//! template that reads a Secret of the bundle carries a digest of that Secret's data;
//! a changed Secret changes the template, and its Deployment (or the chart's, through
//! the values that set its pods' annotations) rolls its pods.
//!
//! The digest is the first 16 hex digits of a SHA-256 over the Secrets' names and data:
//! it tells that a value changed, never what it is.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::PodSpec;
use serde_json::Value;

use super::Component;
use crate::object::Object;

/// On a pod template (or a chart's pod annotations): the digest of the Secrets its
/// pods read.
pub const SECRETS_ANNOTATION: &str = "maia.cloud/secrets-checksum";

/// The pods of a chart release that read Secrets of the bundle, and the values path
/// that sets those pods' annotations (e.g. `["hub", "annotations"]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretReaders {
    /// Which pods, for messages (`hub`).
    pub pods: &'static str,
    /// The values path of their pod annotations.
    pub annotations_at: Vec<&'static str>,
    /// The Secrets they read.
    pub secrets: Vec<String>,
}

/// The Secrets a pod spec reads: by `env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`
/// and secret or projected volumes (pull secrets are read only by the kubelet, at the
/// next pull, so they need no roll).
pub fn secrets_read(pod: &PodSpec) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let containers = pod
        .containers
        .iter()
        .chain(pod.init_containers.iter().flatten());
    for c in containers {
        for env in c.env.iter().flatten() {
            if let Some(r) = env
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
            {
                out.insert(r.name.clone());
            }
        }
        for from in c.env_from.iter().flatten() {
            if let Some(r) = &from.secret_ref {
                out.insert(r.name.clone());
            }
        }
    }
    for volume in pod.volumes.iter().flatten() {
        if let Some(name) = volume.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            out.insert(name);
        }
        for source in volume
            .projected
            .as_ref()
            .and_then(|p| p.sources.as_ref())
            .into_iter()
            .flatten()
        {
            if let Some(s) = &source.secret {
                out.insert(s.name.clone());
            }
        }
    }
    out
}

/// The digest of each Secret of the bundle, by name.
fn secret_digests(components: &[Component]) -> BTreeMap<String, [u8; 32]> {
    use sha2::{Digest, Sha256};
    components
        .iter()
        .flat_map(|c| &c.objects)
        .filter_map(|o| match o {
            Object::Secret(s) => {
                let mut hasher = Sha256::new();
                // `data` is a sorted map: the same data, the same digest.
                for (key, value) in s.data.iter().flatten() {
                    hasher.update((key.len() as u64).to_be_bytes());
                    hasher.update(key.as_bytes());
                    hasher.update((value.0.len() as u64).to_be_bytes());
                    hasher.update(&value.0);
                }
                Some((o.name().to_string(), hasher.finalize().into()))
            }
            _ => None,
        })
        .collect()
}

/// The annotation value for pods reading `secrets`; `None` when none of them is a
/// Secret of the bundle.
fn digest_of<'a>(
    digests: &BTreeMap<String, [u8; 32]>,
    secrets: impl IntoIterator<Item = &'a String>,
) -> Option<String> {
    use sha2::{Digest, Sha256};
    let read: BTreeSet<&String> = secrets
        .into_iter()
        .filter(|s| digests.contains_key(*s))
        .collect();
    if read.is_empty() {
        return None;
    }
    let mut hasher = Sha256::new();
    for name in read {
        hasher.update((name.len() as u64).to_be_bytes());
        hasher.update(name.as_bytes());
        hasher.update(digests.get(name)?);
    }
    let digest = hasher.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("sha256:{hex}"))
}

/// Puts the digest of the Secrets each workload reads on its pod template: maia's own
/// Deployments, and each chart's readers through its values. Jobs are
/// left alone: a setup Job carries a digest of all its inputs already.
pub(crate) fn annotate(components: &mut [Component]) {
    let digests = secret_digests(components);
    if digests.is_empty() {
        return;
    }
    for component in components.iter_mut() {
        for object in &mut component.objects {
            let Object::Deployment(d) = object else {
                continue;
            };
            let Some(template) = d.spec.as_mut().map(|s| &mut s.template) else {
                continue;
            };
            let Some(pod) = &template.spec else { continue };
            if let Some(digest) = digest_of(&digests, &secrets_read(pod)) {
                template
                    .metadata
                    .get_or_insert_default()
                    .annotations
                    .get_or_insert_default()
                    .insert(SECRETS_ANNOTATION.into(), digest);
            }
        }
        for release in &mut component.helm {
            for readers in &release.footprint.secret_readers {
                let Some(digest) = digest_of(&digests, &readers.secrets) else {
                    continue;
                };
                let mut at = &mut release.values;
                for key in &readers.annotations_at {
                    if !at.is_object() {
                        *at = Value::Object(Default::default());
                    }
                    at = &mut at[*key];
                }
                if !at.is_object() {
                    *at = Value::Object(Default::default());
                }
                at[SECRETS_ANNOTATION] = Value::String(digest);
            }
        }
    }
}
