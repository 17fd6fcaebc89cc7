//! The kinds maia writes, known statically: maia never needs discovery, which keeps a
//! deploy to one LIST per kind (and works against servers that hide discovery).

use k8s_openapi::api::{
    apps::v1 as apps, batch::v1 as batch, core::v1 as core, networking::v1 as networking,
};
use kube::core::ApiResource;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
}

impl Kind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.into(),
            version: self.version.into(),
            api_version: self.api_version(),
            kind: self.kind.into(),
            plural: self.plural.into(),
        }
    }

    /// Where an object sits in the apply order; prune runs the other way round.
    pub fn order(&self) -> usize {
        APP_KINDS
            .iter()
            .position(|k| k == self)
            .unwrap_or(APP_KINDS.len())
    }
}

impl Kind {
    /// The kind of a k8s-openapi type, from the type's own API metadata.
    pub const fn of<K: k8s_openapi::Resource>() -> Kind {
        Kind {
            kind: K::KIND,
            group: K::GROUP,
            version: K::VERSION,
            plural: K::URL_PATH_SEGMENT,
        }
    }
}

pub const CONFIG_MAP: Kind = Kind::of::<core::ConfigMap>();
pub const PVC: Kind = Kind::of::<core::PersistentVolumeClaim>();
pub const SERVICE: Kind = Kind::of::<core::Service>();
pub const JOB: Kind = Kind::of::<batch::Job>();
pub const DEPLOYMENT: Kind = Kind::of::<apps::Deployment>();
pub const INGRESS: Kind = Kind::of::<networking::Ingress>();
pub const POD: Kind = Kind::of::<core::Pod>();

/// Kinds an app may own, in apply order.
pub const APP_KINDS: [Kind; 6] = [CONFIG_MAP, PVC, SERVICE, JOB, DEPLOYMENT, INGRESS];

pub fn lookup(api_version: &str, kind: &str) -> Option<Kind> {
    APP_KINDS
        .iter()
        .chain([&POD])
        .find(|k| k.kind == kind && k.api_version() == api_version)
        .copied()
}

pub fn by_name(kind: &str) -> Option<Kind> {
    APP_KINDS.iter().find(|k| k.kind == kind).copied()
}
