//! Generated credentials are drawn once and kept: the store hands out what an earlier
//! run drew, and draws (from an injected source) only what is missing, so a second
//! run renders the same bytes and MySQL and MLflow never disagree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Credentials by key (`minio.root_password`, `mysql.password`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Credentials(pub BTreeMap<String, String>);

/// Where new secrets come from: the OS's randomness in the CLI, a counter in tests.
pub trait SecretSource {
    /// A new random secret of `len` characters from `[A-Za-z0-9]`.
    fn draw(&mut self, len: usize) -> String;
}

/// A deterministic source for tests (feature `testing`): the n-th secret drawn is
/// `generated<n>`, padded with `x` to the length asked for.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub struct CountingSource {
    /// How many secrets were drawn so far.
    pub drawn: usize,
}

#[cfg(any(test, feature = "testing"))]
impl SecretSource for CountingSource {
    fn draw(&mut self, len: usize) -> String {
        self.drawn += 1;
        let base = format!("generated{}", self.drawn);
        base.chars()
            .chain(std::iter::repeat('x'))
            .take(len.max(base.len()))
            .collect()
    }
}

pub(crate) struct CredentialStore<'a> {
    kept: &'a Credentials,
    source: &'a mut dyn SecretSource,
    out: Credentials,
}

impl<'a> CredentialStore<'a> {
    pub(crate) fn new(kept: &'a Credentials, source: &'a mut dyn SecretSource) -> Self {
        // Everything kept stays kept, even if no component asks for it this time:
        // a component switched off and on again gets its old credentials back.
        CredentialStore {
            kept,
            source,
            out: kept.clone(),
        }
    }

    /// The credential `key`: the kept one, else a new one of `len` characters.
    pub(crate) fn get_or_draw(&mut self, key: &str, len: usize) -> String {
        if let Some(v) = self.kept.0.get(key).or_else(|| self.out.0.get(key)) {
            return v.clone();
        }
        let v = self.source.draw(len);
        self.out.0.insert(key.to_string(), v.clone());
        v
    }

    /// The credential `key`, if it is kept (one that is not drawn here, such as a
    /// client secret Keycloak generated).
    pub(crate) fn kept(&self, key: &str) -> Option<String> {
        self.kept
            .0
            .get(key)
            .or_else(|| self.out.0.get(key))
            .cloned()
    }

    /// Records a value that was configured rather than drawn (e.g. from the cluster
    /// config), so every secret of the bundle is listed in one place.
    pub(crate) fn record(&mut self, key: &str, value: &str) {
        self.out.0.insert(key.to_string(), value.to_string());
    }

    pub(crate) fn into_credentials(self) -> Credentials {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_credentials_are_reused_and_missing_ones_drawn_once() {
        let kept = Credentials(BTreeMap::from([("a".to_string(), "old".to_string())]));
        let mut source = CountingSource::default();
        let mut store = CredentialStore::new(&kept, &mut source);
        assert_eq!(store.get_or_draw("a", 16), "old");
        let b = store.get_or_draw("b", 16);
        assert_eq!(store.get_or_draw("b", 16), b);
        assert_eq!(b.len(), 16);
        let out = store.into_credentials();
        assert_eq!(out.0.len(), 2);
        assert_eq!(source.drawn, 1);
    }
}

/// The credential keys components share (a component that needs another's secret,
/// e.g. JupyterHub needing the MinIO keys, asks the store under the same key).
pub mod keys {
    /// oauth2-proxy cookie secret: 32 characters (it must be 16, 24 or 32 bytes).
    pub const OAUTH2_COOKIE_SECRET: &str = "oauth2_proxy.cookie_secret";
    /// MinIO tenant's root user.
    pub(crate) const MINIO_ROOT_USER: &str = "minio.root_user";
    /// MinIO tenant's root password.
    pub const MINIO_ROOT_PASSWORD: &str = "minio.root_password";
    /// Access key of the MinIO user that JupyterHub, MLflow and Label Studio share.
    pub(crate) const MINIO_ACCESS_KEY: &str = "minio.access_key";
    /// Secret key of that MinIO user.
    pub const MINIO_SECRET_KEY: &str = "minio.secret_key";
    /// MySQL's root password.
    pub(crate) const MYSQL_ROOT_PASSWORD: &str = "mysql.root_password";
    /// Password of MySQL's user, which MLflow logs in as.
    pub const MYSQL_PASSWORD: &str = "mysql.password";
    /// Password of MLflow's login Secret.
    pub const MLFLOW_PASSWORD: &str = "mlflow.password";
    /// Label Studio's admin password (the first member's).
    pub(crate) const LABEL_STUDIO_PASSWORD: &str = "label_studio.password";
    /// Configured, not drawn: recorded so every secret is listed in one place.
    pub(crate) const REGISTRY_PASSWORD: &str = "registry.password";
    /// Configured, not drawn: the cluster config's Keycloak client secret.
    pub(crate) const KEYCLOAK_CLIENT_SECRET: &str = "keycloak.client_secret";
}

/// The cluster config's values every group shares, by credentials key: what must not
/// reach a group's namespace but where docs/security.md says (members can read every
/// Secret there). Per-workspace Keycloak clients will take the client secret off it:
/// the OAuth2 proxy, JupyterHub and MinIO read it (`spec.cluster.keycloak`), and the
/// Secrets holding it are found by value, so their mark follows what they hold.
pub(crate) fn cluster_wide(
    spec: &maia_spec::workspace::WorkspaceSpec,
) -> Vec<(&'static str, &str)> {
    let mut values = Vec::new();
    if let Some(reg) = &spec.cluster.registry {
        values.push((keys::REGISTRY_PASSWORD, reg.password.as_str()));
    }
    if let Some(k) = &spec.cluster.keycloak {
        values.push((keys::KEYCLOAK_CLIENT_SECRET, k.client_secret.as_str()));
    }
    values
}

/// Marks each Secret holding a cluster-wide value (in any of its entries, as it is:
/// a docker config or a `config.env` holds it in plain) with
/// [`crate::labels::CLUSTER_WIDE_SECRETS_ANNOTATION`], naming which.
pub(crate) fn mark_cluster_wide(
    spec: &maia_spec::workspace::WorkspaceSpec,
    objects: &mut [crate::Object],
) {
    let values = cluster_wide(spec);
    for object in objects {
        let crate::Object::Secret(secret) = object else {
            continue;
        };
        let held: Vec<&str> = values
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .filter(|(_, v)| {
                let entries = secret.data.iter().flatten().map(|(_, b)| b.0.as_slice());
                let strings = secret
                    .string_data
                    .iter()
                    .flatten()
                    .map(|(_, s)| s.as_bytes());
                entries
                    .chain(strings)
                    .any(|bytes| bytes.windows(v.len()).any(|w| w == v.as_bytes()))
            })
            .map(|(k, _)| *k)
            .collect();
        if !held.is_empty() {
            secret.metadata.annotations.get_or_insert_default().insert(
                crate::labels::CLUSTER_WIDE_SECRETS_ANNOTATION.into(),
                held.join(","),
            );
        }
    }
}
