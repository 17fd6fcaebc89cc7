//! The kinds maia writes, known statically: maia never needs discovery, which keeps a
//! deploy to one LIST per kind (and works against servers that hide discovery).

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

pub const CONFIG_MAP: Kind = Kind {
    kind: "ConfigMap",
    group: "",
    version: "v1",
    plural: "configmaps",
};
pub const PVC: Kind = Kind {
    kind: "PersistentVolumeClaim",
    group: "",
    version: "v1",
    plural: "persistentvolumeclaims",
};
pub const SERVICE: Kind = Kind {
    kind: "Service",
    group: "",
    version: "v1",
    plural: "services",
};
pub const JOB: Kind = Kind {
    kind: "Job",
    group: "batch",
    version: "v1",
    plural: "jobs",
};
pub const DEPLOYMENT: Kind = Kind {
    kind: "Deployment",
    group: "apps",
    version: "v1",
    plural: "deployments",
};
pub const INGRESS: Kind = Kind {
    kind: "Ingress",
    group: "networking.k8s.io",
    version: "v1",
    plural: "ingresses",
};
pub const POD: Kind = Kind {
    kind: "Pod",
    group: "",
    version: "v1",
    plural: "pods",
};

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
