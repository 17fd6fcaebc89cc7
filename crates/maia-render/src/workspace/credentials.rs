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
