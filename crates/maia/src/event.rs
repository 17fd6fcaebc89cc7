//! What an operation reports while it works ([`Event`] through a [`Sink`]), and how a
//! front end stops it ([`Cancel`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One thing an operation did or saw, reported as it happens. Front ends decide how
/// to show it: the CLI prints a line (stdout for what changed, stderr for warnings),
/// a portal streams it to the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// What the engine did on the cluster: an object applied, pruned, waited for; a
    /// helm release or KubeFlow installed; a component ready.
    Cluster(maia_deploy::Event),
    /// The preflight found nothing in the way: a deploy writes only after this.
    PreflightPassed {
        /// The workspace's group_ID.
        group_id: String,
        /// Its namespace.
        namespace: String,
    },
    /// Warnings found in the config files as they were read (unknown fields taken
    /// leniently, deprecated keys), each naming its file and field.
    Diagnostics(Vec<maia_spec::Diagnostic>),
    /// Something the person should know; it changes nothing about the outcome.
    Warning {
        /// What to know.
        message: String,
    },
    /// A remark on what was decided (why a quota is above the form's, say).
    Note {
        /// The remark.
        message: String,
    },
    /// A file was written (a bundle's, an app's objects, the GitOps tree's).
    Wrote {
        /// The file.
        path: PathBuf,
    },
    /// A change made in Keycloak (a group created, a member invited or removed, a
    /// client created or updated), as a line.
    Keycloak {
        /// What changed.
        change: String,
    },
    /// An operation over several clusters turns to the next one; what follows (up to
    /// the next `Connecting`) is about that cluster.
    Connecting {
        /// The kubeconfig context (`None`: the current one).
        context: Option<String>,
        /// How many clusters the operation goes to.
        clusters: usize,
    },
    /// Connected to a cluster, before anything is read or changed there.
    Connected {
        /// The kubeconfig context (`None`: the current one).
        context: Option<String>,
        /// The API server's URL.
        url: String,
    },
    /// One cluster of several failed; the operation goes on with the next.
    ClusterFailed {
        /// The context of the cluster that failed.
        context: String,
        /// The error.
        message: String,
        /// What to try next.
        hint: Option<String>,
        /// The error as a person reads it ([`crate::text::error`]).
        report: Vec<String>,
    },
}

/// Where events go. A closure is enough; tests collect into a `Vec`.
pub trait Sink: Send {
    /// Receives one event, in the order they happen.
    fn emit(&mut self, event: Event);
}

impl<F: FnMut(Event) + Send> Sink for F {
    fn emit(&mut self, event: Event) {
        self(event)
    }
}

/// Drops every event (for callers that only want the result).
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Sink for Discard {
    fn emit(&mut self, _: Event) {}
}

/// A handle that stops a running operation: cloned into whatever decides to stop it
/// (a signal handler, a portal's Cancel button). The operation stops after the write
/// in flight, before the next one, gives its Leases back and fails with
/// [`crate::Error::Cancelled`]; what it wrote is what a run converges to, so running
/// it again finishes the work.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Cancel {
    /// A handle nobody has cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every operation holding a clone of this handle to stop.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Completes once [`Cancel::cancel`] is called (at once if it was).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// The engine's sink for one operation: its events go to the front end's sink, and
/// the engine asks it, before each write, whether to stop.
pub(crate) struct Bridge<'a> {
    pub(crate) sink: &'a mut dyn Sink,
    pub(crate) cancel: &'a Cancel,
}

impl maia_deploy::EventSink for Bridge<'_> {
    fn emit(&mut self, event: maia_deploy::Event) {
        self.sink.emit(Event::Cluster(event));
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// The engine's sink for a delete: events go on to the front end, and what was
/// deleted (or, as a dry run, would be) is kept for the result.
pub(crate) struct Tally<'a> {
    pub(crate) bridge: Bridge<'a>,
    pub(crate) objects: Vec<maia_deploy::ObjectRef>,
    pub(crate) releases: Vec<String>,
}

impl<'a> Tally<'a> {
    pub(crate) fn new(sink: &'a mut dyn Sink, cancel: &'a Cancel) -> Self {
        Tally {
            bridge: Bridge { sink, cancel },
            objects: Vec::new(),
            releases: Vec::new(),
        }
    }
}

impl maia_deploy::EventSink for Tally<'_> {
    fn emit(&mut self, event: maia_deploy::Event) {
        match &event {
            maia_deploy::Event::Pruned { object, .. } => self.objects.push(object.clone()),
            maia_deploy::Event::Helm { release, .. } => self.releases.push(release.clone()),
            _ => {}
        }
        self.bridge.emit(event);
    }

    fn cancelled(&self) -> bool {
        self.bridge.cancelled()
    }
}

/// The result of a cancellable operation: when `cancel` was used and the engine
/// stopped for it, the Leases the run still held are given back and the error says
/// what was in progress.
pub(crate) async fn cancelled<T>(
    result: crate::error::Result<T>,
    cancel: &Cancel,
    during: &str,
) -> crate::error::Result<T> {
    match result {
        Err(crate::error::Error::Deploy(
            maia_deploy::DeployError::Interrupted { .. }
            | maia_deploy::DeployError::Kube(maia_kube::KubeError::Cancelled { .. }),
        )) if cancel.is_cancelled() => {
            let released = maia_deploy::lease::release_abandoned().await;
            Err(crate::error::Error::Cancelled {
                during: during.to_string(),
                released,
            })
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_reaches_every_clone_and_wakes_a_waiter() {
        let cancel = Cancel::new();
        let seen_by = cancel.clone();
        assert!(!seen_by.is_cancelled());
        let waiter = tokio::spawn(async move {
            seen_by.cancelled().await;
            seen_by.is_cancelled()
        });
        tokio::task::yield_now().await;
        cancel.cancel();
        assert!(waiter.await.unwrap());
        // Once cancelled, a new waiter returns at once.
        cancel.cancelled().await;
    }
}
