//! Locks between maia runs: `coordination.k8s.io/v1` Leases in maia's own namespace,
//! used as client-go's leader election uses them. Two locks use this:
//!
//! - one per group (`maia-op-<namespace>`), held by every run that writes a workspace
//!   (deploy, delete), so that a deploy and a delete of one group never interleave;
//! - `maia-ssh-ports`, held while SSH ports are allocated and their Services applied,
//!   so that two runs never hand out one port.
//!
//! A held Lease is renewed in the background (every sixth of its duration), so a long
//! run keeps it. Whether someone else's Lease has expired is judged without trusting
//! either clock: the holder's `renewTime` comes from the holder's clock, which may be
//! an hour off ours. Instead, as client-go does, the record is watched on our own
//! clock: a Lease whose record (its resourceVersion) has not changed for its
//! `leaseDurationSeconds`, as observed here, is a dead holder's and is taken over, with
//! the resourceVersion read as a precondition so that two takers cannot both win.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::{DeployError, Result};
use maia_kube::cluster::Cluster;

/// The annotation naming what the holder is doing (`namespace deploy of brain-mri`).
pub const OPERATION_ANNOTATION: &str = "maia.cloud/operation";

/// How long a Lease lasts without renewal, unless the caller says otherwise.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30);

/// The per-group Lease of a workspace namespace.
pub fn group_lease(namespace: &str) -> String {
    format!("maia-op-{namespace}")
}

/// Who takes Leases, as others will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Shown to a run that finds the Lease held: `user@host (pid N)`.
    pub identity: String,
    /// How long a Lease of ours lasts without renewal; it is renewed every sixth of
    /// it. A dead holder's Lease is taken over after this long without a change.
    pub duration: Duration,
}

impl Holder {
    /// `identity` with the [`DEFAULT_DURATION`].
    pub fn new(identity: impl Into<String>) -> Holder {
        Holder {
            identity: identity.into(),
            duration: DEFAULT_DURATION,
        }
    }
}

/// What to do while someone else holds the Lease and renews it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Busy {
    /// Wait for it (up to this long): a short critical section (the SSH ports).
    Wait(Duration),
    /// Refuse at once, naming the holder: another operation on the same group.
    Refuse,
}

/// A Lease to take: where, by whom, for what.
pub(crate) struct Want<'a> {
    pub(crate) namespace: &'a str,
    pub(crate) name: String,
    pub(crate) holder: &'a Holder,
    pub(crate) operation: String,
    pub(crate) busy: Busy,
}

/// What the renewal task and the owner share.
struct Record {
    /// The Lease as we last wrote it (its resourceVersion is the precondition of the
    /// next write).
    lease: Lease,
    /// When we last wrote it, on our clock.
    renewed: Instant,
    /// Why the Lease is no longer ours, once it is not.
    lost: Option<String>,
}

/// A Lease this run holds, renewed in the background until [`HeldLease::release`].
/// Dropped without release (an error path, or the run was interrupted), it stops
/// renewing and is queued for [`release_abandoned`].
pub(crate) struct HeldLease {
    api: Api<Lease>,
    url: String,
    namespace: String,
    name: String,
    duration: Duration,
    record: Arc<tokio::sync::Mutex<Record>>,
    renewer: Option<JoinHandle<()>>,
    /// The holder whose dead Lease this run took over, if it did.
    pub(crate) took_over: Option<String>,
    /// Taking it created maia's namespace (a write the caller reports).
    pub(crate) created_namespace: bool,
}

/// Leases dropped without release, for [`release_abandoned`].
static ABANDONED: Mutex<Vec<Abandoned>> = Mutex::new(Vec::new());

struct Abandoned {
    api: Api<Lease>,
    namespace: String,
    name: String,
    resource_version: Option<String>,
}

impl HeldLease {
    /// Takes the Lease. While someone else holds it: with [`Busy::Wait`], waits (up to
    /// the time given) as long as its holder renews it; with [`Busy::Refuse`], returns
    /// [`DeployError::LeaseHeld`] as soon as a renewal shows the holder is alive. A
    /// Lease nobody renewed for its duration (on our clock) is taken over.
    pub(crate) async fn acquire(cluster: &Cluster, want: Want<'_>) -> Result<HeldLease> {
        let created_namespace = !maia_kube::live::namespace_exists(cluster, want.namespace).await?;
        if created_namespace {
            maia_kube::live::ensure_namespace(cluster, want.namespace).await?;
        }
        let api: Api<Lease> = Api::namespaced(cluster.client.clone(), want.namespace);
        let started = Instant::now();
        let err = |e, verb: &str| {
            DeployError::from_kube(
                e,
                &cluster.url,
                verb,
                format!("lease/{} in {}", want.name, want.namespace),
            )
        };
        // The other holder's record as first seen and as last seen, with when (our
        // clock) it last changed.
        let mut first_seen: Option<String> = None;
        let mut observed: Option<(String, Instant)> = None;
        let mut pause = Duration::from_millis(50);
        loop {
            let mine = record(&want);
            let (written, took_over) = match api.create(&PostParams::default(), &mine).await {
                Ok(created) => (Some(created), None),
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    let Some(current) = api.get_opt(&want.name).await.map_err(|e| err(e, "get"))?
                    else {
                        // Released between our two requests: try again at once.
                        continue;
                    };
                    let version = current
                        .metadata
                        .resource_version
                        .clone()
                        .unwrap_or_default();
                    let spec = current.spec.clone().unwrap_or_default();
                    let holder = spec.holder_identity.clone().unwrap_or_default();
                    let duration = Duration::from_secs(
                        u64::try_from(spec.lease_duration_seconds.unwrap_or(0))
                            .unwrap_or(0)
                            .max(1),
                    );
                    let now = Instant::now();
                    let changed = match &observed {
                        Some((v, _)) if *v == version => false,
                        _ => {
                            observed = Some((version.clone(), now));
                            true
                        }
                    };
                    let unchanged_since = observed.as_ref().map_or(now, |(_, at)| *at);
                    let free = holder.is_empty();
                    if free || now.duration_since(unchanged_since) >= duration {
                        let mut takeover = mine.clone();
                        takeover.metadata.resource_version = Some(version);
                        match api
                            .replace(&want.name, &PostParams::default(), &takeover)
                            .await
                        {
                            Ok(replaced) => (Some(replaced), (!free).then_some(holder)),
                            // Someone else was quicker: look again.
                            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                                (None, None)
                            }
                            Err(e) => return Err(err(e, "take over")),
                        }
                    } else {
                        let renewed = changed && first_seen.as_ref().is_some_and(|f| *f != version);
                        if first_seen.is_none() {
                            first_seen = Some(version);
                        }
                        let give_up = match want.busy {
                            Busy::Refuse => renewed,
                            Busy::Wait(timeout) => now.duration_since(started) >= timeout,
                        };
                        if give_up {
                            return Err(held(&want, &current, started.elapsed(), duration));
                        }
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(duration / 6).max(Duration::from_millis(50));
                        (None, None)
                    }
                }
                Err(e) => return Err(err(e, "create")),
            };
            if let Some(lease) = written {
                let mut held = HeldLease::start(api, &cluster.url, &want, lease, took_over);
                held.created_namespace = created_namespace;
                return Ok(held);
            }
        }
    }

    fn start(
        api: Api<Lease>,
        url: &str,
        want: &Want<'_>,
        lease: Lease,
        took_over: Option<String>,
    ) -> HeldLease {
        let duration = want.holder.duration;
        let record = Arc::new(tokio::sync::Mutex::new(Record {
            lease,
            renewed: Instant::now(),
            lost: None,
        }));
        let renewer = {
            let (api, record, name) = (api.clone(), record.clone(), want.name.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(duration / 6).await;
                    let mut r = record.lock().await;
                    if r.lost.is_some() {
                        break;
                    }
                    renew(&api, &name, duration, &mut r).await;
                }
            })
        };
        HeldLease {
            api,
            url: url.into(),
            namespace: want.namespace.into(),
            name: want.name.clone(),
            duration,
            record,
            renewer: Some(renewer),
            took_over,
            created_namespace: false,
        }
    }

    /// `namespace/name`.
    pub(crate) fn display(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Renews the Lease now and fails when it is no longer ours: call it right before
    /// acting on what the Lease protects (applying the ports allocated under it).
    pub(crate) async fn confirm(&self) -> Result<()> {
        let mut r = self.record.lock().await;
        if r.lost.is_none() {
            renew(&self.api, &self.name, self.duration, &mut r).await;
        }
        match &r.lost {
            None => Ok(()),
            Some(reason) => Err(DeployError::LeaseLost {
                lease: self.display(),
                reason: reason.clone(),
            }),
        }
    }

    /// Fails when the background renewal found the Lease no longer ours (cheap: no
    /// request).
    pub(crate) fn check(&self) -> Result<()> {
        match self.record.try_lock() {
            Ok(r) => match &r.lost {
                None => Ok(()),
                Some(reason) => Err(DeployError::LeaseLost {
                    lease: self.display(),
                    reason: reason.clone(),
                }),
            },
            // Being renewed right now: it was ours a moment ago.
            Err(_) => Ok(()),
        }
    }

    /// Stops renewing and deletes the Lease, unless someone else has it by now (the
    /// resourceVersion we last wrote is the delete's precondition).
    pub(crate) async fn release(mut self) -> Result<()> {
        if let Some(task) = self.renewer.take() {
            task.abort();
        }
        let version = self
            .record
            .lock()
            .await
            .lease
            .metadata
            .resource_version
            .clone();
        delete(&self.api, &self.name, version).await.map_err(|e| {
            DeployError::from_kube(
                e,
                &self.url,
                "delete",
                format!("lease/{} in {}", self.name, self.namespace),
            )
        })
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        let Some(task) = self.renewer.take() else {
            return;
        };
        task.abort();
        let resource_version = self
            .record
            .try_lock()
            .ok()
            .and_then(|r| r.lease.metadata.resource_version.clone());
        if let Ok(mut list) = ABANDONED.lock() {
            list.push(Abandoned {
                api: self.api.clone(),
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                resource_version,
            });
        }
    }
}

/// Gives back the Leases dropped without release (the run was interrupted, or failed
/// on a path that did not release them): each is deleted if it is still as we last
/// wrote it. Returns them as `namespace/name`. A front end calls this before it exits.
pub async fn release_abandoned() -> Vec<String> {
    let pending = match ABANDONED.lock() {
        Ok(mut list) => std::mem::take(&mut *list),
        Err(_) => return Vec::new(),
    };
    let mut released = Vec::new();
    for a in pending {
        if delete(&a.api, &a.name, a.resource_version).await.is_ok() {
            released.push(format!("{}/{}", a.namespace, a.name));
        }
    }
    released
}

/// Deletes the Lease if its resourceVersion is still `version`; a Lease already gone
/// or changed by someone else is not ours to delete, and is no error.
async fn delete(api: &Api<Lease>, name: &str, version: Option<String>) -> kube::Result<()> {
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: version,
            uid: None,
        }),
        ..Default::default()
    };
    // Once more after a failure: a Lease left behind blocks the group's next run until
    // it expires.
    for attempt in 0..2 {
        match api.delete(name, &params).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => return Ok(()),
            Err(e) if attempt == 1 => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    Ok(())
}

/// Writes a new renewTime with the resourceVersion we last wrote. A conflict means
/// someone else wrote it (took it over): the Lease is lost. Other failures are retried
/// at the next tick, until the Lease has gone unrenewed for its duration.
async fn renew(api: &Api<Lease>, name: &str, duration: Duration, r: &mut Record) {
    let mut next = r.lease.clone();
    if let Some(spec) = next.spec.as_mut() {
        spec.renew_time = Some(MicroTime(Timestamp::now()));
    }
    match api.replace(name, &PostParams::default(), &next).await {
        Ok(written) => {
            r.lease = written;
            r.renewed = Instant::now();
        }
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
            r.lost = Some(if s.code == 404 {
                "someone deleted it".into()
            } else {
                "someone else changed it (took it over)".into()
            });
        }
        Err(e) if r.renewed.elapsed() >= duration => {
            r.lost = Some(format!(
                "it could not be renewed for {} ({e}); another run may have taken it over",
                crate::error::human(duration)
            ));
        }
        Err(_) => {}
    }
}

fn record(want: &Want<'_>) -> Lease {
    let now = MicroTime(Timestamp::now());
    Lease {
        metadata: ObjectMeta {
            name: Some(want.name.clone()),
            namespace: Some(want.namespace.into()),
            labels: Some(BTreeMap::from([(
                maia_render::labels::MANAGED_BY.to_string(),
                maia_render::labels::MANAGER.to_string(),
            )])),
            annotations: Some(BTreeMap::from([(
                OPERATION_ANNOTATION.to_string(),
                want.operation.clone(),
            )])),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(want.holder.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(want.holder.duration.as_secs().max(1)).unwrap_or(i32::MAX),
            ),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            ..Default::default()
        }),
    }
}

fn held(want: &Want<'_>, current: &Lease, waited: Duration, duration: Duration) -> DeployError {
    let spec = current.spec.clone().unwrap_or_default();
    DeployError::LeaseHeld {
        lease: format!("{}/{}", want.namespace, want.name),
        held: Box::new(crate::error::LeaseHolder {
            holder: spec
                .holder_identity
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "someone".into()),
            operation: current
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(OPERATION_ANNOTATION))
                .cloned(),
            since: spec.acquire_time.map(|t| t.0.to_string()),
            waited: matches!(want.busy, Busy::Wait(_)).then_some(waited),
            expires_after: duration,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use maia_testkit::FakeCluster;

    fn holder(identity: &str, seconds: u64) -> Holder {
        Holder {
            identity: identity.into(),
            duration: Duration::from_secs(seconds),
        }
    }

    fn want<'a>(holder: &'a Holder, busy: Busy) -> Want<'a> {
        Want {
            namespace: "maia-system",
            name: "maia-test".into(),
            holder,
            operation: format!("a test by {}", holder.identity),
            busy,
        }
    }

    /// A Lease as another run on another machine left it.
    async fn plant(fake: &FakeCluster, holder: &str, renewed: Timestamp, seconds: i32) {
        fake.seed(serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "maia-test", "namespace": "maia-system",
                         "annotations": {OPERATION_ANNOTATION: "namespace deploy of far"}},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds,
                     "acquireTime": MicroTime(renewed), "renewTime": MicroTime(renewed)}
        }))
        .await;
    }

    async fn leases(fake: &FakeCluster) -> Vec<serde_json::Value> {
        fake.objects("/apis/coordination.k8s.io/v1/namespaces/maia-system/leases")
            .await
    }

    #[tokio::test]
    async fn a_held_lease_is_renewed_so_a_long_run_keeps_it() {
        let fake = FakeCluster::new(&["maia-system"]).await;
        let cluster = Cluster::from_client(fake.client(), "https://fake.invalid");
        let a = holder("alice@one (pid 1)", 2);
        let held = HeldLease::acquire(&cluster, want(&a, Busy::Refuse))
            .await
            .unwrap();
        // Twice the Lease's duration: without renewal it would look dead.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let b = holder("bob@two (pid 2)", 2);
        let err = HeldLease::acquire(&cluster, want(&b, Busy::Wait(Duration::from_secs(3))))
            .await
            .err()
            .expect("bob must not take a Lease alice renews");
        let shown = err.to_string();
        assert!(shown.contains("alice@one (pid 1)"), "{shown}");
        assert!(shown.contains("a test by alice"), "{shown}");
        held.confirm().await.unwrap();
        held.release().await.unwrap();
        assert!(leases(&fake).await.is_empty(), "given back");
    }

    #[tokio::test]
    async fn a_dead_holders_lease_is_taken_over_whatever_its_clock_said() {
        let fake = FakeCluster::new(&["maia-system"]).await;
        let cluster = Cluster::from_client(fake.client(), "https://fake.invalid");
        // Killed on a machine an hour ahead: its renewTime lies in our future.
        let ahead = Timestamp::now()
            .checked_add(k8s_openapi::jiff::SignedDuration::from_hours(1))
            .unwrap();
        plant(&fake, "ghost@ahead (pid 9)", ahead, 1).await;
        let me = holder("alice@one (pid 1)", 30);
        let started = Instant::now();
        let held = HeldLease::acquire(&cluster, want(&me, Busy::Wait(Duration::from_secs(10))))
            .await
            .unwrap();
        assert_eq!(held.took_over.as_deref(), Some("ghost@ahead (pid 9)"));
        // Only after watching it unchanged for its duration, on our clock.
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert!(started.elapsed() < Duration::from_secs(5));
        let now = leases(&fake).await;
        assert_eq!(now[0]["spec"]["holderIdentity"], "alice@one (pid 1)");
        held.release().await.unwrap();
    }

    #[tokio::test]
    async fn a_lease_renewed_under_our_eyes_is_refused_naming_its_holder() {
        let fake = FakeCluster::new(&["maia-system"]).await;
        let cluster = Cluster::from_client(fake.client(), "https://fake.invalid");
        let a = holder("alice@one (pid 1)", 3);
        let held = HeldLease::acquire(&cluster, want(&a, Busy::Refuse))
            .await
            .unwrap();
        let b = holder("bob@two (pid 2)", 3);
        let err = HeldLease::acquire(&cluster, want(&b, Busy::Refuse))
            .await
            .err()
            .expect("refused");
        let DeployError::LeaseHeld { held: by, .. } = &err else {
            panic!("{err:?}");
        };
        let crate::error::LeaseHolder {
            holder,
            operation,
            since,
            waited,
            ..
        } = by.as_ref();
        assert_eq!(holder, "alice@one (pid 1)");
        assert_eq!(operation.as_deref(), Some("a test by alice@one (pid 1)"));
        assert!(since.is_some());
        assert!(waited.is_none());
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("kubectl delete lease maia-test -n maia-system"),
            "{hint}"
        );
        held.release().await.unwrap();
    }

    #[tokio::test]
    async fn a_lease_taken_over_is_noticed_before_acting_on_it() {
        let fake = FakeCluster::new(&["maia-system"]).await;
        let cluster = Cluster::from_client(fake.client(), "https://fake.invalid");
        let a = holder("alice@one (pid 1)", 30);
        let held = HeldLease::acquire(&cluster, want(&a, Busy::Refuse))
            .await
            .unwrap();
        // Someone overwrites it (as a run that judged it dead would).
        let api: Api<Lease> = Api::namespaced(fake.client(), "maia-system");
        let mut stolen = api.get("maia-test").await.unwrap();
        stolen.spec.as_mut().unwrap().holder_identity = Some("mallory@three (pid 3)".into());
        api.replace("maia-test", &PostParams::default(), &stolen)
            .await
            .unwrap();
        let err = held.confirm().await.unwrap_err();
        assert!(matches!(err, DeployError::LeaseLost { .. }), "{err:?}");
        assert!(held.check().is_err());
        // Giving it back leaves the new holder's Lease alone.
        held.release().await.unwrap();
        let now = leases(&fake).await;
        assert_eq!(now[0]["spec"]["holderIdentity"], "mallory@three (pid 3)");
    }

    #[tokio::test]
    async fn a_lease_dropped_without_release_is_given_back_by_release_abandoned() {
        let fake = FakeCluster::new(&["maia-system"]).await;
        let cluster = Cluster::from_client(fake.client(), "https://fake.invalid");
        let a = holder("alice@one (pid 1)", 30);
        let held = HeldLease::acquire(&cluster, want(&a, Busy::Refuse))
            .await
            .unwrap();
        drop(held);
        assert_eq!(leases(&fake).await.len(), 1);
        let released = release_abandoned().await;
        assert!(
            released.contains(&"maia-system/maia-test".to_string()),
            "{released:?}"
        );
        assert!(leases(&fake).await.is_empty());
    }
}
