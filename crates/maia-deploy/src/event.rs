//! What the engine reports as it works; the CLI prints these (human lines, progress
//! bars, or one JSON object per line).

use serde::Serialize;

use crate::plan::ObjectRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
    /// Deleted and created again (a changed Job, with `--replace`).
    Replaced,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Replaced => "replaced",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    NamespaceCreated {
        namespace: String,
        dry_run: bool,
    },
    Applied {
        #[serde(flatten)]
        object: ObjectRef,
        outcome: Outcome,
        dry_run: bool,
    },
    /// Deleted because the config no longer has it (or by `maia app delete`).
    Pruned {
        #[serde(flatten)]
        object: ObjectRef,
        dry_run: bool,
    },
    /// A PersistentVolumeClaim the config no longer has, kept with its data.
    VolumeKept {
        #[serde(flatten)]
        object: ObjectRef,
    },
    Waiting {
        #[serde(flatten)]
        object: ObjectRef,
        reason: String,
    },
    Ready {
        #[serde(flatten)]
        object: ObjectRef,
    },
    Failed {
        #[serde(flatten)]
        object: ObjectRef,
        reason: String,
    },
    /// A third-party chart: `installed`, `upgraded`, `unchanged`, `skipped`, `uninstalled`.
    Helm {
        release: String,
        namespace: String,
        outcome: String,
    },
    /// A remote kustomization (KubeFlow): `applied`.
    Kustomization {
        url: String,
        outcome: String,
    },
    /// Every object of a workspace component is ready (with `--wait`).
    ComponentReady {
        component: String,
    },
    /// A workspace component could not be deployed; later ones were not started.
    ComponentFailed {
        component: String,
        reason: String,
    },
}

/// Where events go. A closure is enough; tests collect into a `Vec`.
pub trait EventSink: Send {
    fn emit(&mut self, event: Event);
}

impl<F: FnMut(Event) + Send> EventSink for F {
    fn emit(&mut self, event: Event) {
        self(event)
    }
}
