//! Watch: every stored change becomes an event in a bounded history, which
//! `?watch=true` streams as the API server does (one JSON event per line): ADDED,
//! MODIFIED and DELETED after the `resourceVersion` asked for (or the objects as they
//! are, then their changes, when none is given), BOOKMARKs when asked for, and a 410
//! `Expired` error when the history no longer reaches back that far.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Response;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Bytes, Frame};
use serde_json::{Value, json};

use super::Body;
use super::select::Selection;

/// Which sequence of resource versions an object's belongs to: kube-fake-client
/// numbers every object it stores in one sequence, the fake numbers namespaces in
/// another. A watch is of one kind, so it only ever compares versions of one sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Space {
    Objects = 0,
    Namespaces = 1,
}

/// A stored change.
#[derive(Debug)]
pub(super) struct Change {
    pub(super) space: Space,
    /// The resource version the change gave the object (for a deletion, a new one).
    pub(super) version: u64,
    pub(super) group: String,
    pub(super) plural: String,
    pub(super) namespace: Option<String>,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub(super) kind: &'static str,
    pub(super) object: Value,
}

/// The changes the fake still remembers, oldest first.
pub(super) struct History {
    changes: VecDeque<Arc<Change>>,
    /// The sequence number of `changes[0]`.
    first: u64,
    capacity: usize,
    /// Per space, the newest version forgotten: a watch from before it is too old.
    forgotten: [u64; 2],
}

/// How many changes the fake remembers, unless a test says otherwise.
pub(super) const DEFAULT_HISTORY: usize = 10_000;

pub(super) struct Watches {
    history: Mutex<History>,
    /// The sequence number the next change will get, for waiting watches.
    next: tokio::sync::watch::Sender<u64>,
}

impl Default for Watches {
    fn default() -> Self {
        Watches {
            history: Mutex::new(History {
                changes: VecDeque::new(),
                first: 0,
                capacity: DEFAULT_HISTORY,
                forgotten: [0; 2],
            }),
            next: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Watches {
    pub(super) fn record(&self, change: Change) {
        let mut history = self.history.lock().unwrap();
        history.changes.push_back(Arc::new(change));
        while history.changes.len() > history.capacity {
            if let Some(old) = history.changes.pop_front() {
                let slot = &mut history.forgotten[old.space as usize];
                *slot = (*slot).max(old.version);
                history.first += 1;
            }
        }
        let next = history.first + history.changes.len() as u64;
        drop(history);
        self.next.send_replace(next);
    }

    /// Remembers at most `capacity` changes from now on (at least one).
    pub(super) fn keep(&self, capacity: usize) {
        let mut history = self.history.lock().unwrap();
        history.capacity = capacity.max(1);
        while history.changes.len() > history.capacity {
            if let Some(old) = history.changes.pop_front() {
                let slot = &mut history.forgotten[old.space as usize];
                *slot = (*slot).max(old.version);
                history.first += 1;
            }
        }
    }

    /// The sequence number of the oldest change remembered.
    pub(super) fn start(&self) -> u64 {
        self.history.lock().unwrap().first
    }

    /// The sequence number the next change will get.
    pub(super) fn end(&self) -> u64 {
        let history = self.history.lock().unwrap();
        history.first + history.changes.len() as u64
    }

    /// Whether a watch from `version` asks for changes the history has forgotten.
    pub(super) fn too_old(&self, space: Space, version: u64) -> Option<u64> {
        let history = self.history.lock().unwrap();
        let forgotten = history.forgotten[space as usize];
        (version < forgotten).then_some(forgotten)
    }

    /// The changes from sequence number `from` on, and the number after the last;
    /// `None` if some of them are forgotten.
    fn since(&self, from: u64) -> Option<(Vec<Arc<Change>>, u64)> {
        let history = self.history.lock().unwrap();
        if from < history.first {
            return None;
        }
        let skip = (from - history.first) as usize;
        let changes: Vec<_> = history.changes.iter().skip(skip).cloned().collect();
        Some((changes, history.first + history.changes.len() as u64))
    }
}

/// What one watch request follows.
pub(super) struct Follow {
    pub(super) space: Space,
    pub(super) group: String,
    pub(super) plural: String,
    pub(super) namespace: Option<String>,
    pub(super) selection: Selection,
    /// Changes with a newer version than this are sent.
    pub(super) after: u64,
    /// The objects sent first as ADDED (when no resourceVersion was given).
    pub(super) initial: Vec<Value>,
    /// The sequence number the first change to look at has.
    pub(super) from: u64,
    pub(super) bookmarks: bool,
    /// Whether the client asked for `sendInitialEvents` (then a bookmark marks their end).
    pub(super) initial_events_end: bool,
    /// `apiVersion` and `kind` of the objects, for bookmarks.
    pub(super) api_version: String,
    pub(super) kind: String,
    pub(super) timeout: Option<Duration>,
}

impl Follow {
    fn wants(&self, change: &Change) -> bool {
        change.space == self.space
            && change.version > self.after
            && change.group == self.group
            && change.plural == self.plural
            && (self.namespace.is_none() || change.namespace == self.namespace)
            && self.selection.matches(&change.object)
    }

    fn bookmark(&self, version: u64, end_of_initial: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": version.to_string()});
        if end_of_initial {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(&json!({"type": "BOOKMARK", "object": {
            "apiVersion": self.api_version, "kind": self.kind, "metadata": metadata}}))
    }
}

fn line(event: &Value) -> Bytes {
    let mut text = event.to_string();
    text.push('\n');
    Bytes::from(text)
}

/// The error event of a watch from a version the history has forgotten.
pub(super) fn expired(asked: u64, oldest: u64) -> Response<Body> {
    let event = line(&json!({"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: {asked} ({oldest})"),
        "reason": "Expired", "code": 410}}));
    stream_of(futures::stream::iter([event]))
}

fn stream_of(stream: impl futures::Stream<Item = Bytes> + Send + 'static) -> Response<Body> {
    use futures::StreamExt;
    let body = StreamBody::new(stream.map(|b| Ok::<_, Infallible>(Frame::data(b))));
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("transfer-encoding", "chunked")
        .body(body.boxed_unsync())
        .expect("a response with a valid status and header")
}

/// Streams the watch: a task sends its events while the client reads them.
pub(super) fn serve(watches: Arc<Watches>, follow: Follow) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let _ = run(&watches, follow, &tx).await;
    });
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
    stream_of(stream)
}

async fn run(
    watches: &Watches,
    mut follow: Follow,
    tx: &tokio::sync::mpsc::Sender<Bytes>,
) -> Result<(), tokio::sync::mpsc::error::SendError<Bytes>> {
    let mut waiting = watches.next.subscribe();
    for object in std::mem::take(&mut follow.initial) {
        if follow.selection.matches(&object) {
            tx.send(line(&json!({"type": "ADDED", "object": object})))
                .await?;
        }
    }
    // The version everything up to has been sent: what a bookmark may tell.
    let mut last = follow.after;
    let mut bookmarked = !follow.bookmarks;
    let deadline = follow.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut from = follow.from;
    loop {
        waiting.borrow_and_update();
        let Some((changes, next)) = watches.since(from) else {
            let oldest = watches.history.lock().unwrap().forgotten[follow.space as usize];
            let event = json!({"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("too old resource version: {last} ({oldest})"),
                "reason": "Expired", "code": 410}});
            tx.send(line(&event)).await?;
            return Ok(());
        };
        from = next;
        for change in &changes {
            if follow.wants(change) {
                tx.send(line(&json!({"type": change.kind, "object": change.object})))
                    .await?;
            }
            if change.space == follow.space {
                last = last.max(change.version);
            }
        }
        // The first bookmark once the backlog is sent (after the initial objects, it
        // marks their end when the client asked for them as a stream).
        if !bookmarked {
            tx.send(follow.bookmark(last, follow.initial_events_end))
                .await?;
            bookmarked = true;
        }
        let timed_out = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = waiting.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
            }
            () = timed_out => {
                if follow.bookmarks {
                    tx.send(follow.bookmark(last, false)).await?;
                }
                return Ok(());
            }
            () = tx.closed() => return Ok(()),
        }
    }
}
