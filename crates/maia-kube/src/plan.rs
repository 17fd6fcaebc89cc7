//! The plan is data: what a deploy would do, object by object, built from the rendered
//! objects and one read of the cluster. `maia app plan` prints it; `deploy` runs it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use maia_render::Object;
use serde::Serialize;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::diff::{FieldChange, changes, dropped};
use crate::error::{KubeError, Result};
use crate::inventory::{self, Inventory};
use crate::kinds::{self, Kind, KindTable};
use crate::live;

/// Names one object, as kubectl prints it (`deployment/name`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// The kind, e.g. `Deployment`.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// Its namespace; empty for a cluster-scoped object (a Namespace).
    pub namespace: String,
}

impl ObjectRef {
    /// The namespace for API paths: `None` for a cluster-scoped object.
    pub fn namespace(&self) -> Option<&str> {
        (!self.namespace.is_empty()).then_some(self.namespace.as_str())
    }
}

/// What one deploy owns and where: the objects of one app, or of one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The namespace the objects live in.
    pub namespace: String,
    /// Names the deploy in messages and in the inventory's labels.
    pub release: String,
    /// The inventory ConfigMap's name.
    pub inventory: String,
    /// Labels every owned object carries; they select its objects, and the inventory
    /// carries them too.
    pub labels: BTreeMap<String, String>,
    /// The kinds it may own, in apply order (prune runs the other way round).
    pub kinds: KindTable,
}

impl Scope {
    /// One custom app: objects labelled with its release.
    pub fn app(namespace: &str, release: &str) -> Self {
        Scope {
            namespace: namespace.into(),
            release: release.into(),
            inventory: inventory::name(release),
            labels: BTreeMap::from([
                (
                    maia_render::labels::MANAGED_BY.to_string(),
                    maia_render::labels::MANAGER.to_string(),
                ),
                (
                    maia_render::labels::INSTANCE.to_string(),
                    release.to_string(),
                ),
            ]),
            kinds: KindTable::app(),
        }
    }

    /// The label selector of everything the scope owns.
    pub fn selector(&self) -> String {
        self.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Position of a kind in apply order.
    pub fn order(&self, kind: &Kind) -> usize {
        self.kinds
            .kinds()
            .iter()
            .position(|k| k == kind)
            .unwrap_or(usize::MAX)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.to_ascii_lowercase(), self.name)
    }
}

/// What happens to one rendered object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", content = "fields", rename_all = "snake_case")]
pub enum Change {
    /// No such object yet: it is created.
    Create,
    /// The live object already holds what maia would apply: nothing is sent.
    Unchanged,
    /// Apply: these fields differ (or someone edited them by hand).
    Update(Vec<FieldChange>),
    /// A changed Job, deleted and created again (`--replace`).
    Replace(Vec<FieldChange>),
    /// A changed Job without `--replace`: the deploy stops before any write.
    Blocked(Vec<FieldChange>),
    /// An object of that name exists but maia did not make it: the deploy stops.
    NotOwned,
    /// Such an object, taken over with `--force-conflicts`.
    Adopt(Vec<FieldChange>),
}

impl Change {
    /// The fields that change (empty for a creation or an unchanged object).
    pub fn fields(&self) -> &[FieldChange] {
        match self {
            Change::Update(f) | Change::Replace(f) | Change::Blocked(f) | Change::Adopt(f) => f,
            _ => &[],
        }
    }
}

/// One step of a plan, in the order it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// A rendered object, applied (or left alone when unchanged).
    Apply {
        /// The object.
        object: ObjectRef,
        /// What happens to it.
        change: Change,
        /// Its kind, as the cluster serves it.
        #[serde(skip)]
        kind: Kind,
        /// What is applied: the rendered object as JSON.
        #[serde(skip)]
        desired: Value,
    },
    /// Owned (labels + inventory), no longer rendered: deleted.
    Prune {
        /// The object.
        object: ObjectRef,
        /// Its kind.
        #[serde(skip)]
        kind: Kind,
    },
    /// A volume no longer rendered: kept, reported.
    KeepVolume {
        /// The volume claim.
        object: ObjectRef,
    },
}

/// What a deploy would do, object by object; [`crate::apply::execute`] runs it as it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The namespace deployed into.
    pub namespace: String,
    /// The app's release (for a workspace, its namespace).
    pub release: String,
    /// The namespace is missing and will be created (`--create-namespace`).
    pub create_namespace: bool,
    /// Every step, in order: the applies, then the prunes and kept volumes.
    pub steps: Vec<Step>,
    /// The apply steps in phases run one after the other; the objects of one phase
    /// (one kind, one group) are independent and go out together.
    #[serde(skip)]
    pub phases: Vec<Phase>,
    /// The prune and keep steps, after every phase.
    #[serde(skip)]
    pub cleanup: std::ops::Range<usize>,
    /// Apply with `force` (`--force-conflicts`): take fields over from other managers.
    #[serde(skip)]
    pub force_conflicts: bool,
    /// Inventory recorded before applying, when objects are added (so a failure halfway
    /// still leaves every created object owned).
    #[serde(skip)]
    pub inventory_before: Option<Inventory>,
    /// Inventory recorded after pruning, when objects were removed.
    #[serde(skip)]
    pub inventory_after: Option<Inventory>,
    /// What the plan owns and where.
    #[serde(skip)]
    pub scope: Scope,
}

/// Apply steps (a range of [`Plan::steps`]) sent together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// The steps of the phase.
    pub steps: std::ops::Range<usize>,
}

/// What a plan may do besides applying what changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Create the namespace when it is missing (`--create-namespace`).
    pub create_namespace: bool,
    /// Take fields over from other field managers, and adopt objects maia did not
    /// create (`--force-conflicts`).
    pub force_conflicts: bool,
    /// Delete and create again a Job whose pod template changed (`--replace`).
    pub replace: bool,
}

impl Plan {
    /// True when running the plan would send a write request.
    pub fn has_changes(&self) -> bool {
        self.create_namespace
            || self.inventory_before.is_some()
            || self.inventory_after.is_some()
            || self.steps.iter().any(|s| match s {
                Step::Apply { change, .. } => *change != Change::Unchanged,
                Step::Prune { .. } => true,
                Step::KeepVolume { .. } => false,
            })
    }

    /// The plan of a partial apply (`namespace deploy --secrets-only`): its objects
    /// are applied and nothing else is touched. Nothing is pruned (another tool, e.g.
    /// Argo CD, owns the rest), and the inventory only gains the applied objects.
    pub fn without_cleanup(mut self) -> Plan {
        self.steps.truncate(self.cleanup.start);
        self.cleanup = self.steps.len()..self.steps.len();
        // `inventory_before` is the recorded inventory plus what is applied; the
        // `after` one would forget what is not applied.
        self.inventory_after = None;
        self
    }

    /// The first reason the plan cannot run, found before anything is written. Objects
    /// in the way are named all at once, so one run tells the whole story.
    pub fn blocker(&self) -> Option<KubeError> {
        let in_the_way: Vec<String> = self
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Apply {
                    object,
                    change: Change::NotOwned,
                    ..
                } => Some(object.to_string()),
                _ => None,
            })
            .collect();
        if !in_the_way.is_empty() {
            return Some(KubeError::NotOwned {
                object: in_the_way.join(", "),
            });
        }
        self.steps.iter().find_map(|s| match s {
            Step::Apply {
                object,
                change: Change::Blocked(fields),
                kind,
                ..
            } => {
                let object = object.to_string();
                let fields = fields
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                Some(if *kind == kinds::PVC {
                    KubeError::VolumeImmutable { object, fields }
                } else {
                    KubeError::JobImmutable { object, fields }
                })
            }
            Step::Apply {
                object,
                change: Change::NotOwned,
                ..
            } => Some(KubeError::NotOwned {
                object: object.to_string(),
            }),
            _ => None,
        })
    }
}

/// The parts of a Job the API server lets change after creation; anything else (its
/// pod template above all) needs the Job deleted and created again.
const JOB_MUTABLE: [&str; 5] = [
    "metadata",
    "spec.activeDeadlineSeconds",
    "spec.parallelism",
    "spec.suspend",
    "spec.ttlSecondsAfterFinished",
];

fn job_can_change_in_place(fields: &[FieldChange]) -> bool {
    fields.iter().all(|f| {
        JOB_MUTABLE.iter().any(|m| {
            f.path == *m
                || f.path.starts_with(&format!("{m}."))
                || f.path.starts_with(&format!("{m}["))
        })
    })
}

/// A claim may only grow (and change its labels); the API server refuses the rest.
fn volume_can_change_in_place(fields: &[FieldChange]) -> bool {
    fields.iter().all(|f| {
        f.path == "metadata"
            || f.path.starts_with("metadata.")
            || (f.path == "spec.resources.requests.storage"
                && matches!(
                    (f.desired.as_str(), f.live.as_ref().and_then(|l| l.as_str())),
                    (Some(d), Some(l)) if crate::quantity::greater(d, l)
                ))
    })
}

/// Fields to set, and fields maia set before and no longer does.
fn all_changes(desired: &Value, live: &Value) -> Vec<FieldChange> {
    let mut fields = changes(desired, live);
    fields.extend(dropped(desired, live, crate::cluster::FIELD_MANAGER));
    fields
}

/// Builds the plan of one app: the namespace check, one LIST per kind, and a GET only
/// for objects maia would create (to find one of the same name that maia does not own).
pub async fn plan(
    cluster: &Cluster,
    namespace: &str,
    release: &str,
    objects: &[Object],
    options: PlanOptions,
) -> Result<Plan> {
    // An app that would not fit the namespace's quota is refused here, before any
    // write, with the numbers, instead of leaving a Pod that never starts.
    // (A namespace that does not exist lists no quota.)
    crate::quota::check_fits(cluster, namespace, objects).await?;
    let scope = Scope::app(namespace, release);
    let facts = gather(cluster, &scope, objects, None, None, &[]).await?;
    refuse_workspace_objects(cluster, &scope, objects, &facts).await?;
    // Another namespace's host would get this app that group's requests (and logins).
    let taken = crate::ownership::taken_hosts(
        cluster,
        namespace,
        &crate::ownership::object_routes(objects),
        None,
    )
    .await?;
    if !taken.is_empty() {
        return Err(KubeError::HostTaken { taken });
    }
    plan_from(&scope, &[objects.to_vec()], &facts, options)
}

/// An app never plans over a workspace's objects (`--force-conflicts` included): what
/// it would write or prune that the workspace's labels or inventory claim stops it.
async fn refuse_workspace_objects(
    cluster: &Cluster,
    scope: &Scope,
    objects: &[Object],
    facts: &LiveFacts,
) -> Result<()> {
    if !facts.namespace_exists {
        return Ok(());
    }
    let workspaces = crate::ownership::Workspaces::read(cluster, Some(&scope.namespace)).await?;
    let mut claimed: Vec<String> = facts
        .labelled
        .iter()
        .filter(|(k, v)| workspaces.owns(k, v))
        .map(|(k, v)| crate::ownership::shown(k, v))
        .collect();
    for (entry, value) in &facts.unlabelled {
        let kind = scope.kinds.lookup(
            value["apiVersion"].as_str().unwrap_or_default(),
            value["kind"].as_str().unwrap_or_default(),
        );
        if let Some(k) = kind
            && workspaces.owns(k, value)
        {
            claimed.push(crate::ownership::shown(k, value));
        } else if workspaces.lists(&scope.namespace, entry) {
            claimed.push(entry.to_ascii_lowercase());
        }
    }
    for object in objects {
        if let Some(kind) = scope.kinds.lookup(object.api_version(), object.kind())
            && workspaces.lists(
                &scope.namespace,
                &Inventory::entry(&kind.kind, object.name()),
            )
        {
            claimed.push(format!(
                "{}/{}",
                kind.kind.to_ascii_lowercase(),
                object.name()
            ));
        }
    }
    if claimed.is_empty() {
        Ok(())
    } else {
        Err(crate::ownership::refusal(cluster, &scope.namespace, claimed).await)
    }
}

/// What the cluster holds for a scope, read once before planning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveFacts {
    /// The scope's namespace exists.
    pub namespace_exists: bool,
    /// Objects carrying the scope's labels (one LIST per kind).
    pub labelled: Vec<(Kind, Value)>,
    /// Objects of a rendered name that the LIST did not return (their labels were
    /// edited away, or maia did not make them), by inventory entry (`Kind/name`).
    pub unlabelled: BTreeMap<String, Value>,
}

/// Whether a cluster-scoped object, listed with a scope's labels, is the scope's own:
/// its Namespace, or an object whose instance label names that namespace.
pub fn owned_cluster_object(object: &Value, namespace: &str) -> bool {
    object["metadata"]["name"] == *namespace
        || object["metadata"]["labels"][maia_render::labels::INSTANCE] == *namespace
}

/// Reads what a plan needs: whether the namespace exists, one LIST per kind with the
/// scope's labels, and a GET for each rendered object the LIST did not return.
/// `namespace_exists`: what this run read of the namespace already, if it did;
/// `namespace_read`: the Namespace itself as this run read it (with no Namespace write
/// since), which stands for the Namespace LIST: kept when it carries the scope's labels;
/// `listed`: kinds this run listed whole already (no label selector, in the scope's
/// namespace or in all namespaces), with nothing of that kind written since: each stands
/// for its kind's LIST, and what lies in the scope's namespace with its labels is kept.
pub async fn gather(
    cluster: &Cluster,
    scope: &Scope,
    objects: &[Object],
    namespace_exists: Option<bool>,
    namespace_read: Option<&Value>,
    listed: &[(Kind, Vec<Value>)],
) -> Result<LiveFacts> {
    let namespace = scope.namespace.as_str();
    let exists = match namespace_exists {
        Some(known) => known,
        None => live::namespace_exists(cluster, namespace).await?,
    };
    if !exists {
        return Ok(LiveFacts::default());
    }
    let to_list: Vec<Kind> = scope
        .kinds
        .kinds()
        .iter()
        .filter(|k| !(namespace_read.is_some() && **k == kinds::NAMESPACE))
        .filter(|k| !listed.iter().any(|(l, _)| l == *k))
        .cloned()
        .collect();
    let selected = |v: &&Value| {
        scope
            .labels
            .iter()
            .all(|(k, want)| v["metadata"]["labels"][k.as_str()] == *want.as_str())
    };
    let read_and_selected = namespace_read
        .filter(selected)
        .map(|v| (kinds::NAMESPACE, v.clone()));
    // Listed whole, perhaps in all namespaces: what this scope's own LIST would return.
    let listed_selected: Vec<(Kind, Value)> = listed
        .iter()
        .filter(|(k, _)| scope.kinds.kinds().contains(k))
        .flat_map(|(k, values)| {
            values
                .iter()
                .filter(|v| !k.namespaced || v["metadata"]["namespace"] == *namespace)
                .filter(selected)
                .map(move |v| (k.clone(), v.clone()))
        })
        .collect();
    // The Namespace first, where its LIST (the first kind) would have put it.
    let labelled: Vec<(Kind, Value)> = read_and_selected
        .into_iter()
        .chain(live::list_kinds(cluster, Some(namespace), &to_list, &scope.selector()).await?)
        .chain(listed_selected)
        // Cluster-scoped kinds are listed cluster-wide: keep this scope's own (its
        // Namespace, and what is labelled as the workspace's: its admission policy).
        .filter(|(k, v)| k.namespaced || owned_cluster_object(v, namespace))
        .collect();
    let mut unlabelled = BTreeMap::new();
    for object in objects {
        let Some(kind) = scope.kinds.lookup(object.api_version(), object.kind()) else {
            continue;
        };
        let listed = labelled
            .iter()
            .any(|(k, v)| k == kind && v["metadata"]["name"] == *object.name());
        if listed {
            continue;
        }
        let found = live::api(cluster, Some(namespace), kind)
            .get_opt(object.name())
            .await
            .map_err(|e| KubeError::from_kube(e, &cluster.url, "get", object.reference()))?;
        if let Some(found) = found {
            unlabelled.insert(
                Inventory::entry(&kind.kind, object.name()),
                live::to_value(kind, &found)?,
            );
        }
    }
    Ok(LiveFacts {
        namespace_exists: true,
        labelled,
        unlabelled,
    })
}

/// The plan as a pure function of the rendered objects, the live facts and the
/// options: apply steps in phases (one kind at a time, within one group), then prunes
/// in reverse order, and the inventories to record.
pub fn plan_from(
    scope: &Scope,
    groups: &[Vec<Object>],
    facts: &LiveFacts,
    options: PlanOptions,
) -> Result<Plan> {
    let namespace = scope.namespace.as_str();
    let exists = facts.namespace_exists;
    if !exists && !options.create_namespace {
        return Err(KubeError::NamespaceMissing(namespace.to_string()));
    }
    let live_objects = &facts.labelled;
    let inventory_name = scope.inventory.as_str();
    let recorded: Option<Inventory> = live_objects
        .iter()
        .find(|(k, v)| *k == kinds::CONFIG_MAP && v["metadata"]["name"] == *inventory_name)
        .map(|(_, v)| Inventory::from_config_map(v));
    // The namespace comes with the objects (a workspace's Namespace): it is created as
    // the first of them, not beforehand.
    let namespace_rendered = groups
        .iter()
        .flatten()
        .any(|o| o.kind() == "Namespace" && o.name() == namespace);

    let mut steps = Vec::new();
    let mut phases: Vec<Phase> = Vec::new();
    let mut desired_refs = BTreeSet::new();
    for group in groups {
        let mut phase_start = steps.len();
        for object in group {
            let kind = scope
                .kinds
                .lookup(object.api_version(), object.kind())
                .cloned()
                .ok_or_else(|| KubeError::KindMissing {
                    kind: object.kind().into(),
                    api_version: object.api_version().into(),
                })?;
            // A new kind closes the phase before it.
            if let Some(Step::Apply { kind: last, .. }) = steps.last()
                && steps.len() > phase_start
                && *last != kind
            {
                phases.push(Phase {
                    steps: phase_start..steps.len(),
                });
                phase_start = steps.len();
            }
            let desired = object.to_json().map_err(|source| KubeError::Render {
                object: object.reference(),
                source,
            })?;
            let reference = ObjectRef {
                kind: kind.kind.to_string(),
                name: object.name().into(),
                namespace: if kind.namespaced {
                    namespace.into()
                } else {
                    String::new()
                },
            };
            let entry = Inventory::entry(&kind.kind, object.name());
            desired_refs.insert(entry.clone());
            let live = live_objects
                .iter()
                .find(|(k, v)| *k == kind && v["metadata"]["name"] == *object.name())
                .map(|(_, v)| v);
            let recorded_here = recorded.as_ref().is_some_and(|i| i.contains(&entry));
            let change = match (live, facts.unlabelled.get(&entry)) {
                (Some(live), _) => change_of(&kind, &desired, live, options),
                // Its labels were edited away, but the inventory says maia made it: the
                // labels are put back like any other field.
                (None, Some(found)) if recorded_here => {
                    Change::Update(all_changes(&desired, found))
                }
                (None, Some(_)) if !options.force_conflicts => Change::NotOwned,
                (None, Some(found)) => Change::Adopt(all_changes(&desired, found)),
                (None, None) => Change::Create,
            };
            steps.push(Step::Apply {
                object: reference,
                change,
                kind,
                desired,
            });
        }
        if steps.len() > phase_start {
            phases.push(Phase {
                steps: phase_start..steps.len(),
            });
        }
    }

    // Only what the inventory lists is maia's to remove; labels alone can be copied.
    let mut removed: Vec<(Kind, ObjectRef)> = live_objects
        .iter()
        .filter(|(k, v)| !(*k == kinds::CONFIG_MAP && v["metadata"]["name"] == *inventory_name))
        .filter_map(|(k, v)| {
            let name = v["metadata"]["name"].as_str()?;
            let entry = Inventory::entry(&k.kind, name);
            let owned = recorded.as_ref().is_some_and(|i| i.contains(&entry));
            (owned && !desired_refs.contains(&entry)).then(|| {
                (
                    k.clone(),
                    ObjectRef {
                        kind: k.kind.to_string(),
                        name: name.into(),
                        namespace: if k.namespaced {
                            namespace.into()
                        } else {
                            String::new()
                        },
                    },
                )
            })
        })
        .collect();
    removed.sort_by_key(|(k, r)| (std::cmp::Reverse(scope.order(k)), r.name.clone()));
    let cleanup_start = steps.len();
    let mut kept = BTreeSet::new();
    for (kind, object) in removed {
        if kind == kinds::PVC {
            kept.insert(Inventory::entry(&kind.kind, &object.name));
            steps.push(Step::KeepVolume { object });
        } else {
            steps.push(Step::Prune { object, kind });
        }
    }

    let wanted = Inventory::new(desired_refs.union(&kept).cloned().collect());
    let old = recorded.unwrap_or_default();
    let before = old.union(&wanted);
    let inventory_before = (before != old).then(|| before.clone());
    let inventory_after = (wanted != before).then_some(wanted);

    Ok(Plan {
        namespace: namespace.into(),
        release: scope.release.clone(),
        create_namespace: !exists && !namespace_rendered,
        cleanup: cleanup_start..steps.len(),
        steps,
        phases,
        force_conflicts: options.force_conflicts,
        inventory_before,
        inventory_after,
        scope: scope.clone(),
    })
}

/// What happens to an object that is live and labelled as the scope's.
fn change_of(kind: &Kind, desired: &Value, live: &Value, options: PlanOptions) -> Change {
    let fields = all_changes(desired, live);
    if fields.is_empty() {
        Change::Unchanged
    } else if *kind == kinds::PVC && !volume_can_change_in_place(&fields) {
        // Never replaced: that would throw the data away.
        Change::Blocked(fields)
    } else if *kind == kinds::JOB && !job_can_change_in_place(&fields) {
        if options.replace {
            Change::Replace(fields)
        } else {
            Change::Blocked(fields)
        }
    } else {
        Change::Update(fields)
    }
}
