//! What the engine reports as it works; the CLI prints these (human lines, progress
//! bars, or one JSON object per line).

use serde::Serialize;

use crate::plan::ObjectRef;

/// What applying one object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The object did not exist and was created.
    Created,
    /// The object existed and some of its fields were changed.
    Configured,
    /// The object already held what maia would apply; nothing was sent.
    Unchanged,
    /// Deleted and created again (a changed Job, with `--replace`).
    Replaced,
}

impl Outcome {
    /// The word printed after the object (`created`, `configured`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Replaced => "replaced",
        }
    }
}

/// One thing the engine did or saw, reported as it happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The deploy's namespace was missing and was created (`--create-namespace`).
    NamespaceCreated {
        /// The namespace created.
        namespace: String,
        /// Only checked by the API server (`--dry-run`); nothing was created.
        dry_run: bool,
    },
    /// One object was applied (or found unchanged).
    Applied {
        /// The object.
        #[serde(flatten)]
        object: ObjectRef,
        /// What applying it did.
        outcome: Outcome,
        /// Only checked by the API server (`--dry-run`); nothing was changed.
        dry_run: bool,
    },
    /// Deleted because the config no longer has it (or by `maia app delete`).
    Pruned {
        /// The object deleted.
        #[serde(flatten)]
        object: ObjectRef,
        /// Only checked by the API server (`--dry-run`); nothing was deleted.
        dry_run: bool,
    },
    /// A PersistentVolumeClaim the config no longer has, kept with its data.
    VolumeKept {
        /// The claim kept.
        #[serde(flatten)]
        object: ObjectRef,
    },
    /// An object is not ready yet (with `--wait`); sent again when the reason changes.
    Waiting {
        /// The object waited for.
        #[serde(flatten)]
        object: ObjectRef,
        /// Why it is not ready yet.
        reason: String,
    },
    /// An object waited for is ready.
    Ready {
        /// The object.
        #[serde(flatten)]
        object: ObjectRef,
    },
    /// An object waited for will not become ready without a change.
    Failed {
        /// The object.
        #[serde(flatten)]
        object: ObjectRef,
        /// Why it failed.
        reason: String,
    },
    /// A third-party chart: `installed`, `upgraded`, `unchanged`, `skipped`, `uninstalled`.
    Helm {
        /// The helm release.
        release: String,
        /// The release's namespace.
        namespace: String,
        /// What happened to it (see above).
        outcome: String,
    },
    /// A remote kustomization (KubeFlow): `applied`.
    Kustomization {
        /// The kustomization's URL.
        url: String,
        /// What happened to it (see above).
        outcome: String,
    },
    /// Every object of a workspace component is ready (with `--wait`).
    ComponentReady {
        /// The component, as the bundle names it (`jupyterhub`, `minio`, …).
        component: String,
    },
    /// A step that runs for a while started (a helm release installed with `--wait`,
    /// KubeFlow applied); its outcome follows as its own event.
    Running {
        /// What runs, as a person reads it (`helm upgrade --install jupyterhub`).
        step: String,
    },
    /// Something the admin should know that changes nothing about the outcome (a
    /// lock that could not be given back, and when it expires).
    Notice {
        /// What to know.
        message: String,
    },
    /// A workspace component could not be deployed; later ones were not started.
    ComponentFailed {
        /// The component, as the bundle names it.
        component: String,
        /// The error that stopped it.
        reason: String,
    },
}

/// Where events go. A closure is enough; tests collect into a `Vec`.
pub trait EventSink: Send {
    /// Receives one event, in the order they happen.
    fn emit(&mut self, event: Event);

    /// Whether the run should stop: asked before each write (a phase of applies, a
    /// helm release, a component), so a cancelled run stops after the write in flight
    /// and leaves only what a re-run converges.
    fn cancelled(&self) -> bool {
        false
    }
}

impl<F: FnMut(Event) + Send> EventSink for F {
    fn emit(&mut self, event: Event) {
        self(event)
    }
}
