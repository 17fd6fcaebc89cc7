//! An in-memory cluster for tests: kube-fake-client's API server behind a layer that
//! records every request (to count writes), injects HTTP errors, and fills in what
//! kube-fake-client 0.3 lacks:
//!
//! - Namespaces, as objects with labels and annotations (it cannot parse
//!   `/api/v1/namespaces/NAME`);
//! - API discovery (`/api`, `/apis`, `/api/v1`, `/apis/GROUP/VERSION`), aggregated
//!   (`/api` and `/apis` as `APIGroupDiscoveryList`) when asked for it, and the
//!   OpenAPI v3 documents kubectl reads (`/openapi/v3`), built from the Kubernetes
//!   definitions in `shared/schemas/` when they are on this machine;
//! - `dryRun=All` on create, apply and other patches, update and delete: checked and
//!   answered with the object that would result, which is not stored (no new
//!   resourceVersion, no watch event);
//! - label selectors (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`) and field
//!   selectors (`metadata.name`, `metadata.namespace`, and a few per kind such as a
//!   Pod's `status.phase`) on a LIST or watch of any kind, namespaces included, and the
//!   API server's 400 for a malformed one;
//! - watch (`?watch=true`): ADDED, MODIFIED and DELETED after a `resourceVersion`,
//!   `allowWatchBookmarks`, `sendInitialEvents`, and 410 `Expired` for a version older
//!   than the history it keeps ([`FakeCluster::keep_watch_history`]);
//! - custom resources that are installed or not, like a cluster with or without an
//!   operator (MinIO [`Tenant`], Traefik [`Middleware`] in both its API groups);
//! - `SelfSubjectAccessReview`, allowed unless a test [denies](FakeCluster::deny) it,
//!   and `SelfSubjectRulesReview`, whose rules grant the same (complete, unless a test
//!   [says otherwise](FakeCluster::rules_incomplete));
//! - a tiny kubelet (marks workloads ready, completes workspace setup Jobs,
//!   initializes Tenants, or gives a workload's pod an image pull error).
//!
//! Served in-process as a `kube::Client` ([`FakeCluster::client`]), or on 127.0.0.1
//! for end-to-end tests of the binary and of kubectl ([`FakeCluster::serve`]).

// Test support: a fixture that cannot be built or a poisoned lock means a broken test,
// which should stop at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use k8s_openapi::api::{
    admissionregistration::v1 as admission, apps::v1 as apps, authorization::v1 as authorization,
    batch::v1 as batch, coordination::v1 as coordination, core::v1 as core,
    networking::v1 as networking, rbac::v1 as rbac, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use kube::core::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

mod openapi;
mod select;
mod watch;

use select::Selection;
use watch::{Change, Space, Watches};

/// The body of the fake's answers: whole, or a stream of watch events.
type Body = UnsyncBoxBody<Bytes, Infallible>;

/// One request as the API server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The HTTP method (`GET`, `PATCH`, …).
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, still URL-encoded (empty when there is none).
    pub query: String,
}

impl Recorded {
    /// Whether the request may change the cluster: anything but a GET, except an
    /// access review (a question, see [`Recorded::is_review`]).
    pub fn is_write(&self) -> bool {
        self.method != "GET" && !self.is_review()
    }

    /// Whether the request is an access or token review (`POST
    /// /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` and the like): it asks
    /// the API server a question and stores nothing.
    pub fn is_review(&self) -> bool {
        self.method == "POST"
            && (self.path.starts_with("/apis/authorization.k8s.io/")
                || self.path.starts_with("/apis/authentication.k8s.io/"))
            && self.path.ends_with("reviews")
    }
}

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// What the pretend kubelet does to an object once it is applied (server-side apply or
/// any other PATCH; not a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kubelet {
    /// Nothing: workloads never become ready.
    #[default]
    Idle,
    /// Deployments become available and Jobs run at once; a workspace setup Job (pod
    /// template labelled `app.kubernetes.io/part-of: maia-workspace`) runs to
    /// completion; claims are bound; a MinIO `Tenant` is initialized and healthy.
    Ready,
    /// A workload's pod cannot pull its image.
    ImagePullBackOff,
    /// Workloads become ready, but their volume claims stay Pending: a provisioner was
    /// asked for the volume and never made it (and a `Tenant`, waiting for its volumes,
    /// is never initialized).
    VolumesUnprovisioned,
}

struct Fault {
    /// `None`: any write (a request that is not a GET nor an access review).
    method: Option<Method>,
    path_contains: String,
    code: u16,
    /// Matching requests let through before the fault strikes.
    skip: usize,
    remaining: usize,
}

/// An access a test refused: verb, API group and resource (`"*"` matches anything).
struct Denial {
    verb: String,
    group: String,
    resource: String,
}

impl Denial {
    fn matches(&self, verb: &str, group: &str, resource: &str) -> bool {
        // A question about `*` (every verb, say) is refused if any of it is.
        let fits = |rule: &str, asked: &str| rule == "*" || asked == "*" || rule == asked;
        fits(&self.verb, verb) && fits(&self.group, group) && fits(&self.resource, resource)
    }
}

// ---------------------------------------------------------------------------------
// Kinds the fake serves.
// ---------------------------------------------------------------------------------

/// A kind as API discovery describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ApiKind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
}

impl ApiKind {
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn group_version_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The collection path: in `namespace`, or cluster-wide.
    fn collection_path(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => {
                format!(
                    "{}/namespaces/{ns}/{}",
                    self.group_version_path(),
                    self.plural
                )
            }
            _ => format!("{}/{}", self.group_version_path(), self.plural),
        }
    }

    fn has_status(&self) -> bool {
        *self == Tenant::API
            || kube_fake_client::discovery::has_subresource(
                self.group,
                self.version,
                self.kind,
                "status",
            )
    }

    fn verbs(&self) -> Vec<&'static str> {
        const VERBS: [&str; 8] = [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ];
        if CUSTOM.contains(self) {
            return VERBS.to_vec();
        }
        let verbs: Vec<_> = VERBS
            .into_iter()
            .filter(|v| {
                kube_fake_client::discovery::supports_verb(self.group, self.version, self.kind, v)
            })
            .collect();
        if verbs.is_empty() {
            VERBS.to_vec()
        } else {
            verbs
        }
    }

    /// Its entries in an `APIResourceList`: the kind, and its status subresource.
    fn discovery(&self) -> Vec<Value> {
        let mut resource = json!({
            "name": self.plural,
            "singularName": self.kind.to_ascii_lowercase(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs(),
        });
        let short =
            kube_fake_client::discovery::get_short_names(self.group, self.version, self.kind);
        if !short.is_empty() {
            resource["shortNames"] = json!(short);
        }
        let mut out = vec![resource];
        if self.has_status() {
            out.push(json!({
                "name": format!("{}/status", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        out
    }
}

/// Whether a k8s-openapi scope is namespaced.
trait Scoped {
    const NAMESPACED: bool;
}

impl Scoped for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: bool = true;
}

impl Scoped for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: bool = false;
}

const fn builtin<K>() -> ApiKind
where
    K: k8s_openapi::Resource,
    K::Scope: Scoped,
{
    ApiKind {
        group: K::GROUP,
        version: K::VERSION,
        kind: K::KIND,
        plural: K::URL_PATH_SEGMENT,
        namespaced: <K::Scope as Scoped>::NAMESPACED,
    }
}

/// The built-in kinds API discovery lists (kube-fake-client stores many more; they are
/// served, only not listed).
const BUILTIN: &[ApiKind] = &[
    builtin::<core::ConfigMap>(),
    builtin::<core::Secret>(),
    builtin::<core::Service>(),
    builtin::<core::PersistentVolumeClaim>(),
    builtin::<core::Pod>(),
    builtin::<core::Namespace>(),
    builtin::<core::ServiceAccount>(),
    builtin::<core::ResourceQuota>(),
    builtin::<core::LimitRange>(),
    builtin::<apps::Deployment>(),
    builtin::<apps::StatefulSet>(),
    builtin::<batch::Job>(),
    builtin::<networking::Ingress>(),
    builtin::<networking::IngressClass>(),
    builtin::<networking::NetworkPolicy>(),
    builtin::<storage::StorageClass>(),
    builtin::<coordination::Lease>(),
    builtin::<rbac::Role>(),
    builtin::<rbac::RoleBinding>(),
    builtin::<admission::ValidatingAdmissionPolicy>(),
    builtin::<admission::ValidatingAdmissionPolicyBinding>(),
    builtin::<authorization::SelfSubjectAccessReview>(),
    builtin::<authorization::SelfSubjectRulesReview>(),
    builtin::<apiextensions::CustomResourceDefinition>(),
];

/// The custom resources the fake knows, each served only once its CRD is
/// [installed](FakeCluster::install_crd).
const CUSTOM: &[ApiKind] = &[
    Tenant::API,
    Middleware::API,
    LegacyMiddleware::API,
    Application::API,
];

/// The kind of `apiVersion` and `kind`: a custom resource, a listed built-in, or any
/// other built-in kube-fake-client knows.
fn lookup_kind(api_version: &str, kind: &str) -> Option<ApiKind> {
    if let Some(k) = CUSTOM
        .iter()
        .chain(BUILTIN)
        .find(|k| k.kind == kind && k.api_version() == api_version)
    {
        return Some(*k);
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = kube_fake_client::discovery::get_plural(group, version, kind)?;
    let namespaced = kube_fake_client::discovery::is_namespaced(group, version, kind)?;
    kube_fake_client::discovery::list_resources()
        .iter()
        .find(|(g, v, k, p)| *g == group && *v == version && *k == kind && *p == plural)
        .map(|(group, version, kind, plural)| ApiKind {
            group,
            version,
            kind,
            plural,
            namespaced,
        })
}

/// The custom resource a path is about (`/apis/G/V/[namespaces/NS/]PLURAL[/…]`).
fn custom_kind_of(path: &str) -> Option<ApiKind> {
    let mut parts = path.strip_prefix("/apis/")?.split('/');
    let group = parts.next()?;
    let version = parts.next()?;
    let mut plural = parts.next()?;
    if plural == "namespaces" {
        parts.next()?;
        plural = parts.next()?;
    }
    CUSTOM
        .iter()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
        .copied()
}

macro_rules! custom_resource {
    ($(#[$doc:meta])* $name:ident, $group:literal, $version:literal, $kind:literal, $plural:literal) => {
        $(#[$doc])*
        ///
        /// A minimal stand-in for the real type (spec and status are kept as JSON), so
        /// that kube-fake-client can store it; it also works with a typed `kube::Api`.
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        pub struct $name {
            /// Standard object metadata.
            #[serde(default)]
            pub metadata: ObjectMeta,
            /// The spec, as JSON (`null` when absent).
            #[serde(default)]
            pub spec: Value,
            /// The status, as JSON.
            #[serde(default)]
            pub status: Option<Value>,
        }

        impl $name {
            /// The `apiVersion` of this custom resource.
            pub const API_VERSION: &'static str = concat!($group, "/", $version);
            /// The `kind` of this custom resource.
            pub const KIND: &'static str = $kind;
            const API: ApiKind = ApiKind {
                group: $group,
                version: $version,
                kind: $kind,
                plural: $plural,
                namespaced: true,
            };
        }

        impl kube::Resource for $name {
            type DynamicType = ();
            type Scope = k8s_openapi::NamespaceResourceScope;

            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }

            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($group)
            }

            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($version)
            }

            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }

            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut s = serializer.serialize_struct($kind, 5)?;
                s.serialize_field("apiVersion", Self::API_VERSION)?;
                s.serialize_field("kind", $kind)?;
                s.serialize_field("metadata", &self.metadata)?;
                if self.spec.is_null() {
                    s.skip_field("spec")?;
                } else {
                    s.serialize_field("spec", &self.spec)?;
                }
                match &self.status {
                    Some(status) => s.serialize_field("status", status)?,
                    None => s.skip_field("status")?,
                }
                s.end()
            }
        }
    };
}

custom_resource!(
    /// A MinIO operator `Tenant` (`minio.min.io/v2`, plural `tenants`).
    Tenant,
    "minio.min.io",
    "v2",
    "Tenant",
    "tenants"
);

custom_resource!(
    /// A Traefik `Middleware` in Traefik 3's API group (`traefik.io/v1alpha1`).
    Middleware,
    "traefik.io",
    "v1alpha1",
    "Middleware",
    "middlewares"
);

custom_resource!(
    /// A Traefik `Middleware` in Traefik 2's older API group
    /// (`traefik.containo.us/v1alpha1`).
    LegacyMiddleware,
    "traefik.containo.us",
    "v1alpha1",
    "Middleware",
    "middlewares"
);

custom_resource!(
    /// An Argo CD `Application` (`argoproj.io/v1alpha1`, plural `applications`), whose
    /// sync and health status a GitOps-managed workspace's status reads.
    Application,
    "argoproj.io",
    "v1alpha1",
    "Application",
    "applications"
);

// ---------------------------------------------------------------------------------
// The cluster.
// ---------------------------------------------------------------------------------

struct Shared {
    backend: kube::Client,
    /// Namespaces by name, as the objects the API server returns.
    namespaces: Mutex<BTreeMap<String, Value>>,
    /// Resource versions of namespaces.
    counter: AtomicU64,
    /// Uids of namespaces.
    uids: AtomicU64,
    /// The newest resource version kube-fake-client gave an object (it numbers them all
    /// in one sequence): the version of any LIST but of namespaces.
    objects_version: AtomicU64,
    /// Every stored change, for watches.
    watches: Arc<Watches>,
    installed: Mutex<Vec<ApiKind>>,
    /// Built-in kinds discovery leaves out ([`FakeCluster::withdraw`]).
    withdrawn: Mutex<Vec<ApiKind>>,
    denials: Mutex<Vec<Denial>>,
    /// Rules reviews answer `incomplete: true` with no rules ([`FakeCluster::rules_incomplete`]).
    rules_incomplete: Mutex<bool>,
    /// Aggregated discovery is not served ([`FakeCluster::without_aggregated_discovery`]).
    no_aggregated: Mutex<bool>,
    requests: Mutex<Vec<Recorded>>,
    faults: Mutex<Vec<Fault>>,
    kubelet: Mutex<Kubelet>,
    /// Held across a write's checks and the write itself, so that a precondition or a
    /// resourceVersion checked here still holds when the backend stores the write.
    writing: tokio::sync::Mutex<()>,
}

impl Shared {
    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A new, empty namespace as the API server would create it (without a
    /// resourceVersion until it is [stored](Shared::store_namespace)).
    fn fresh_namespace(&self, name: &str) -> Value {
        let uid = self.uids.fetch_add(1, Ordering::SeqCst) + 1;
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "uid": format!("00000000-0000-4000-8000-{uid:012x}"),
                "creationTimestamp": now(),
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        })
    }

    /// Stores a namespace under a new resource version, and tells the watches.
    fn store_namespace(&self, set: &mut BTreeMap<String, Value>, name: &str, mut object: Value) {
        let version = self.next();
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        let kind = if set.contains_key(name) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        set.insert(name.to_string(), object.clone());
        self.namespace_changed(kind, version, object);
    }

    /// Tells the watches of namespaces of a change.
    fn namespace_changed(&self, kind: &'static str, version: u64, object: Value) {
        self.watches.record(Change {
            space: Space::Namespaces,
            version,
            group: String::new(),
            plural: "namespaces".into(),
            namespace: None,
            kind,
            object,
        });
    }

    fn is_installed(&self, kind: &ApiKind) -> bool {
        self.installed.lock().unwrap().contains(kind)
    }

    /// The kinds API discovery lists: the built-in ones and the installed custom ones.
    fn served(&self) -> Vec<ApiKind> {
        let installed = self.installed.lock().unwrap();
        let withdrawn = self.withdrawn.lock().unwrap();
        BUILTIN
            .iter()
            .filter(|k| !withdrawn.contains(k))
            .chain(CUSTOM.iter().filter(|k| installed.contains(k)))
            .copied()
            .collect()
    }

    /// Sends a request straight to kube-fake-client (not recorded) and reads the answer.
    async fn send(&self, request: Request<kube::client::Body>) -> (StatusCode, Value) {
        let (code, _, bytes) = self.call(request).await;
        (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Sends a request straight to kube-fake-client (not recorded as a request); a write
    /// it stores becomes a watch event. Every request to kube-fake-client goes through
    /// here, so that watches hear of every change.
    async fn call(
        &self,
        request: Request<kube::client::Body>,
    ) -> (StatusCode, Option<http::HeaderValue>, Bytes) {
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let target = Target::of(&path);
        let collection = target.as_ref().is_some_and(|t| t.name.is_none());
        // What the write is about to change: whether the object exists (an apply
        // creates or modifies), or which objects a collection DELETE removes.
        let before = match method {
            Method::PATCH => {
                let object_path = path.strip_suffix("/status").unwrap_or(&path);
                Some(self.raw(Request::get(object_path)).await)
            }
            Method::DELETE if collection => {
                Some(self.raw(Request::get(request.uri().clone())).await)
            }
            _ => None,
        };
        let response = match self.backend.send(request).await {
            Ok(r) => r,
            Err(e) => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    Bytes::from(json!(e.to_string()).to_string()),
                );
            }
        };
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let content_type = parts.headers.get("content-type").cloned();
        if !parts.status.is_success() || method == Method::GET {
            return (parts.status, content_type, bytes);
        }
        let Some(target) = target else {
            return (parts.status, content_type, bytes);
        };
        let object: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        match method {
            Method::POST => self.changed(&target, "ADDED", object),
            Method::PUT => self.changed(&target, "MODIFIED", object),
            Method::PATCH => {
                let existed = before.is_some_and(|(code, _)| code.is_success());
                self.changed(&target, if existed { "MODIFIED" } else { "ADDED" }, object);
            }
            Method::DELETE if collection => {
                if let Some((_, Value::Object(mut list))) = before
                    && let Some(Value::Array(items)) = list.remove("items")
                {
                    for item in items {
                        let version = self.tick().await;
                        self.deleted(&target, version, item);
                    }
                }
            }
            Method::DELETE => {
                let version = self.tick().await;
                self.deleted(&target, version, object);
            }
            _ => {}
        }
        (parts.status, content_type, bytes)
    }

    /// A request to kube-fake-client, bypassing watches: a GET, or a tick.
    async fn raw(&self, builder: http::request::Builder) -> (StatusCode, Value) {
        self.raw_body(builder, Vec::new()).await
    }

    async fn raw_body(
        &self,
        builder: http::request::Builder,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let request = builder
            .header("content-type", "application/json")
            .body(kube::client::Body::from(body))
            .expect("a valid request");
        let Ok(response) = self.backend.send(request).await else {
            return (StatusCode::INTERNAL_SERVER_ERROR, Value::Null);
        };
        let code = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A new resource version in kube-fake-client's sequence, for a deletion (the API
    /// server gives a DELETED event a version of its own): a ConfigMap created and
    /// deleted at once in a namespace of its own, unseen by watches.
    async fn tick(&self) -> u64 {
        let path = format!("/api/v1/namespaces/{TICKS}/configmaps");
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "tick", "namespace": TICKS}});
        let (_, created) = self
            .raw_body(Request::post(&path), object.to_string().into_bytes())
            .await;
        let _ = self.raw(Request::delete(format!("{path}/tick"))).await;
        let version = created["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| self.objects_version.load(Ordering::SeqCst));
        self.objects_version.fetch_max(version, Ordering::SeqCst);
        version
    }

    /// Tells the watches of a stored object.
    fn changed(&self, target: &Target, kind: &'static str, object: Value) {
        let version = object["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        self.objects_version.fetch_max(version, Ordering::SeqCst);
        self.record(target, kind, version, object);
    }

    fn deleted(&self, target: &Target, version: u64, mut object: Value) {
        if object["metadata"].is_object() {
            object["metadata"]["resourceVersion"] = json!(version.to_string());
        }
        self.record(target, "DELETED", version, object);
    }

    fn record(&self, target: &Target, kind: &'static str, version: u64, object: Value) {
        // A status change is a change of the object.
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_string);
        self.watches.record(Change {
            space: Space::Objects,
            version,
            group: target.group.clone(),
            plural: target.plural.clone(),
            namespace,
            kind,
            object,
        });
    }
}

/// The namespace ticks go to (see `Shared::tick`); it is not a namespace the fake has.
const TICKS: &str = "maia-testkit-ticks";

/// An in-memory Kubernetes API server for tests (see the module documentation).
#[derive(Clone)]
pub struct FakeCluster {
    shared: Arc<Shared>,
}

impl FakeCluster {
    /// An empty cluster holding the given namespaces, with no custom resource
    /// definitions installed.
    pub async fn new(namespaces: &[&str]) -> Self {
        let backend = backend_builder()
            .build()
            .await
            .expect("an empty fake cluster always builds");
        let shared = Shared {
            backend,
            namespaces: Mutex::default(),
            counter: AtomicU64::new(1),
            uids: AtomicU64::new(0),
            objects_version: AtomicU64::new(0),
            watches: Arc::default(),
            installed: Mutex::default(),
            withdrawn: Mutex::default(),
            denials: Mutex::default(),
            rules_incomplete: Mutex::default(),
            no_aggregated: Mutex::default(),
            requests: Mutex::default(),
            writing: tokio::sync::Mutex::default(),
            faults: Mutex::default(),
            kubelet: Mutex::default(),
        };
        {
            let mut set = shared.namespaces.lock().unwrap();
            for name in namespaces {
                let object = shared.fresh_namespace(name);
                shared.store_namespace(&mut set, name, object);
            }
        }
        // A LIST reports version 1 at least (a watch from "0" means "from any"): the
        // first object stored gets 2.
        shared.tick().await;
        FakeCluster {
            shared: Arc::new(shared),
        }
    }

    /// An empty cluster holding the given namespaces, with the operators a workspace
    /// needs: MinIO's `Tenant` and Traefik's `Middleware` (`traefik.io/v1alpha1`).
    pub async fn with_workspace_crds(namespaces: &[&str]) -> Self {
        let cluster = Self::new(namespaces).await;
        cluster.install_crd(Tenant::API_VERSION, Tenant::KIND);
        cluster.install_crd(Middleware::API_VERSION, Middleware::KIND);
        cluster
    }

    /// A cluster ready for the example workspace (`examples/workspace/cluster-nginx.yaml`
    /// and `WorkspaceSpec::test()`): the workspace CRDs, the storage classes
    /// `local-path` and `nfs-client`, and the IngressClass `nginx`.
    pub async fn ready_for_workspaces() -> Self {
        let cluster = Self::with_workspace_crds(&[]).await;
        for class in ["local-path", "nfs-client"] {
            cluster
                .seed(
                    json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                    "metadata": {"name": class}, "provisioner": "rancher.io/local-path"}),
                )
                .await;
        }
        cluster
            .seed(
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
            )
            .await;
        cluster
    }

    /// A client whose requests go through the recording layer.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(Layer(self.shared.clone()), "default")
    }

    /// The fake API server itself, for seeding and inspecting without being counted.
    /// It knows nothing of namespaces, discovery, reviews, dry runs or which CRDs are
    /// installed, and watches do not hear of what is written through it: prefer
    /// [`FakeCluster::seed`] and [`FakeCluster::remove`], which they do.
    pub fn backend(&self) -> kube::Client {
        self.shared.backend.clone()
    }

    /// Sets what the pretend kubelet does to objects applied from now on.
    pub fn set_kubelet(&self, kubelet: Kubelet) {
        *self.shared.kubelet.lock().unwrap() = kubelet;
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The requests so far that may have changed the cluster ([`Recorded::is_write`]).
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_write)
            .collect()
    }

    /// The writes so far, but for those to Leases (`coordination.k8s.io`): the locks
    /// every deploy and delete take and give back, which change no workspace.
    pub fn object_writes(&self) -> Vec<Recorded> {
        self.writes()
            .into_iter()
            .filter(|w| !w.path.starts_with("/apis/coordination.k8s.io/"))
            .collect()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// The names of the namespaces that exist.
    pub fn namespaces(&self) -> BTreeSet<String> {
        self.shared
            .namespaces
            .lock()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// A namespace as the API server would return it, if it exists.
    pub fn namespace_object(&self, name: &str) -> Option<Value> {
        self.shared.namespaces.lock().unwrap().get(name).cloned()
    }

    /// The next `times` requests with this method whose path contains `path_contains`
    /// fail with HTTP `code` (403, 409, 500, … with the API server's usual message).
    pub fn fail(&self, method: Method, path_contains: &str, code: u16, times: usize) {
        self.shared.faults.lock().unwrap().push(Fault {
            method: Some(method),
            path_contains: path_contains.into(),
            code,
            skip: 0,
            remaining: times,
        });
    }

    /// The `n`-th write from now (1-based; any method, any path) fails with HTTP `code`.
    pub fn fail_nth_write(&self, n: usize, code: u16) {
        self.shared.faults.lock().unwrap().push(Fault {
            method: None,
            path_contains: String::new(),
            code,
            skip: n.saturating_sub(1),
            remaining: 1,
        });
    }

    /// Installs the CRD of a custom resource the fake knows (`minio.min.io/v2` `Tenant`,
    /// `traefik.io/v1alpha1` or `traefik.containo.us/v1alpha1` `Middleware`,
    /// `argoproj.io/v1alpha1` `Application`): from now
    /// on discovery lists it and its paths are served. Until then, any request to them
    /// answers 404 (`the server could not find the requested resource`), like a cluster
    /// without the operator.
    ///
    /// # Panics
    ///
    /// If the fake does not know the custom resource.
    pub fn install_crd(&self, api_version: &str, kind: &str) {
        let Some(k) = CUSTOM
            .iter()
            .find(|k| k.kind == kind && k.api_version() == api_version)
        else {
            let known: Vec<String> = CUSTOM
                .iter()
                .map(|k| format!("{} {}", k.api_version(), k.kind))
                .collect();
            panic!(
                "the fake cluster knows no custom resource {api_version} {kind} (it knows {})",
                known.join(", ")
            );
        };
        let mut installed = self.shared.installed.lock().unwrap();
        if !installed.contains(k) {
            installed.push(*k);
        }
    }

    /// API discovery no longer lists this built-in kind, as on an older cluster
    /// (e.g. `admissionregistration.k8s.io/v1` `ValidatingAdmissionPolicy` before 1.30).
    ///
    /// # Panics
    ///
    /// If discovery does not list the kind.
    pub fn withdraw(&self, api_version: &str, kind: &str) {
        let Some(k) = BUILTIN
            .iter()
            .find(|k| k.kind == kind && k.api_version() == api_version)
        else {
            panic!("the fake cluster's discovery lists no {api_version} {kind}");
        };
        self.shared.withdrawn.lock().unwrap().push(*k);
    }

    /// Access reviews (`SelfSubjectAccessReview`) for this verb on this resource of
    /// this API group (`""` for the core group) answer `allowed: false` from now on.
    /// `"*"` matches anything. A review of a subresource is matched as
    /// `resource/subresource` (`pods/log`), as RBAC does.
    pub fn deny(&self, verb: &str, group: &str, resource: &str) {
        self.shared.denials.lock().unwrap().push(Denial {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
        });
    }

    /// Rules reviews (`SelfSubjectRulesReview`) answer `incomplete: true` with no rules
    /// from now on, as when another authorizer than RBAC (a webhook) grants access:
    /// only access reviews tell what is allowed.
    pub fn rules_incomplete(&self) {
        *self.shared.rules_incomplete.lock().unwrap() = true;
    }

    /// Asked for aggregated discovery, the fake answers the older documents from now
    /// on (`APIVersions`, `APIGroupList`), as an API server before Kubernetes 1.26.
    pub fn without_aggregated_discovery(&self) {
        *self.shared.no_aggregated.lock().unwrap() = true;
    }

    /// Marks a namespace as being deleted and stuck: phase `Terminating`, a deletion
    /// timestamp, `spec.finalizers` (and, when given, `metadata.finalizers`) and the
    /// conditions the namespace controller reports (`NamespaceFinalizersRemaining`, …).
    /// From then on every write into it is refused with 403, as the API server does.
    ///
    /// # Panics
    ///
    /// If the namespace does not exist.
    pub fn terminate_namespace(&self, name: &str, finalizers: &[&str], conditions: Value) {
        let mut set = self.shared.namespaces.lock().unwrap();
        let mut object = set
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no namespace {name} to terminate"));
        object["metadata"]["deletionTimestamp"] = now();
        if !finalizers.is_empty() {
            object["metadata"]["finalizers"] = json!(finalizers);
        }
        object["status"] = json!({"phase": "Terminating", "conditions": conditions});
        self.shared.store_namespace(&mut set, name, object);
    }

    /// Leaves KubeFlow Pipelines' API server as the `kubectl apply -k` the stand-ins
    /// logged (the kubectl stand-in only logs) leaves it on a real cluster, at the
    /// version applied, so that a re-deploy finds it installed.
    ///
    /// # Panics
    ///
    /// If `kubectl_log` holds no `kubectl apply -k …?ref=VERSION`.
    pub async fn seed_kubeflow_applied(&self, kubectl_log: &[String]) -> Value {
        let version = kubectl_log
            .iter()
            .find_map(|l| {
                l.split_once("?ref=")
                    .and_then(|(_, r)| r.split_whitespace().next())
            })
            .expect("KubeFlow Pipelines was applied");
        self.seed(serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "ml-pipeline", "namespace": "kubeflow"},
            "spec": {
                "selector": {"matchLabels": {"app": "ml-pipeline"}},
                "template": {
                    "metadata": {"labels": {"app": "ml-pipeline"}},
                    "spec": {"containers": [{
                        "name": "ml-pipeline-api-server",
                        "image": format!("ghcr.io/kubeflow/kfp-api-server:{version}"),
                    }]},
                },
            },
        }))
        .await
    }

    /// Creates an object directly in the fake API server, uncounted and without the
    /// kubelet: any kind kube-fake-client stores (namespaced or cluster-scoped, status
    /// included), or a Namespace. A namespaced object without a namespace goes to
    /// `default`; its namespace is not checked, nor whether a custom resource's CRD is
    /// installed. Returns the object as stored.
    ///
    /// # Panics
    ///
    /// If the kind is unknown or the object cannot be created (it already exists, …).
    pub async fn seed(&self, object: Value) -> Value {
        let api_version = object["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("a seeded {kind} needs metadata.name"))
            .to_string();
        if api_version == "v1" && kind == "Namespace" {
            let mut set = self.shared.namespaces.lock().unwrap();
            let mut stored = set
                .get(&name)
                .cloned()
                .unwrap_or_else(|| self.shared.fresh_namespace(&name));
            merge_metadata(&mut stored, &object);
            self.shared.store_namespace(&mut set, &name, stored);
            return set[&name].clone();
        }
        let k = lookup_kind(&api_version, &kind)
            .unwrap_or_else(|| panic!("the fake cluster cannot store {api_version} {kind}"));
        let mut object = object;
        if let Some(meta) = object["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
            if k.namespaced {
                meta.entry("namespace").or_insert_with(|| json!("default"));
            } else {
                meta.remove("namespace");
            }
        }
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_string);
        let request = Request::post(k.collection_path(namespace.as_deref()))
            .header("content-type", "application/json")
            .body(kube::client::Body::from(object.to_string().into_bytes()))
            .expect("a valid request");
        let (code, stored) = self.shared.send(request).await;
        assert!(
            code.is_success(),
            "seeding {kind} {name} failed with {code}: {stored}"
        );
        stored
    }

    /// Deletes the object at `path` (`/api/v1/namespaces/demo/secrets/name`) directly
    /// in the fake API server, uncounted, as an admin's `kubectl delete` would.
    ///
    /// # Panics
    ///
    /// If the object does not exist or cannot be deleted.
    pub async fn remove(&self, path: &str) {
        let request = Request::delete(path)
            .body(kube::client::Body::from(Vec::new()))
            .expect("a valid request");
        let (code, body) = self.shared.send(request).await;
        assert!(
            code.is_success(),
            "deleting {path} failed with {code}: {body}"
        );
    }

    /// The objects a LIST of `path` returns (`/api/v1/services`,
    /// `/apis/apps/v1/namespaces/demo/deployments?labelSelector=a%3Db`,
    /// `/api/v1/namespaces`, …), read directly from the fake API server, uncounted.
    ///
    /// # Panics
    ///
    /// If the LIST fails (an unknown kind, a malformed selector).
    pub async fn objects(&self, path: &str) -> Vec<Value> {
        let (bare, query) = path.split_once('?').unwrap_or((path, ""));
        if bare.trim_end_matches('/') == "/api/v1/namespaces" {
            return match list_namespaces(&self.shared, query) {
                Ok(items) => items,
                Err(message) => panic!("listing {path}: {message}"),
            };
        }
        let mut list = match list(&self.shared, bare, query).await {
            Ok(list) => list,
            Err(refused) => panic!("listing {path} failed with {}", refused.status()),
        };
        match list["items"].take() {
            Value::Array(items) => items,
            _ => Vec::new(),
        }
    }

    /// Keeps only the last `changes` changes (at least one) for watches from now on: a
    /// watch from a resourceVersion older than those is answered `410 Expired`, as an
    /// API server does once etcd has compacted its history.
    pub fn keep_watch_history(&self, changes: usize) {
        self.shared.watches.keep(changes);
    }

    /// Serves the cluster on 127.0.0.1 (an ephemeral port) until the runtime stops.
    pub async fn serve(&self) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = self.shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let shared = shared.clone();
                            async move { Ok::<_, Infallible>(receive(&shared, req).await) }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(addr)
    }

    /// A kubeconfig whose context `context` points at `url` (no TLS, a dummy token).
    pub fn kubeconfig(url: &str, context: &str, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {context}\n\
             clusters:\n- name: {context}\n  cluster:\n    server: {url}\n\
             contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: {namespace}\n\
             users:\n- name: {context}\n  user:\n    token: not-a-secret\n"
        )
    }
}

// ---------------------------------------------------------------------------------
// The layer.
// ---------------------------------------------------------------------------------

#[derive(Clone)]
struct Layer(Arc<Shared>);

impl tower::Service<Request<kube::client::Body>> for Layer {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<kube::client::Body>) -> Self::Future {
        let shared = self.0.clone();
        Box::pin(async move { Ok(receive(&shared, req).await) })
    }
}

fn respond(code: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response with a valid status and header")
}

fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    respond(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "code": code, "reason": reason, "message": message}),
    )
}

fn not_served() -> Response<Full<Bytes>> {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn injected(code: u16, method: &Method, path: &str) -> Response<Full<Bytes>> {
    let resource = path.split('/').rev().nth(1).unwrap_or("objects");
    match code {
        401 => status(401, "Unauthorized", "Unauthorized"),
        403 => status(
            403,
            "Forbidden",
            &format!(
                "{resource} is forbidden: User \"alice\" cannot {} resource \"{resource}\"",
                method.as_str().to_ascii_lowercase()
            ),
        ),
        409 => status(
            409,
            "Conflict",
            "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again",
        ),
        code => status(
            code,
            "InternalError",
            "Internal error occurred: etcdserver: request timed out",
        ),
    }
}

/// Now, as the API server writes a timestamp.
fn now() -> Value {
    serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ))
    .unwrap_or(Value::Null)
}

/// Reads a request whole, from the loopback server or the in-process client alike.
async fn receive<B: hyper::body::Body>(shared: &Arc<Shared>, req: Request<B>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    handle(shared, parts, body).await
}

fn whole(response: Response<Full<Bytes>>) -> Response<Body> {
    response.map(BodyExt::boxed_unsync)
}

async fn handle(shared: &Arc<Shared>, parts: http::request::Parts, body: Bytes) -> Response<Body> {
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    shared.requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
    });
    {
        let mut faults = shared.faults.lock().unwrap();
        let is_write = parts.method != Method::GET
            && !path.ends_with("selfsubjectaccessreviews")
            && !path.ends_with("selfsubjectrulesreviews");
        if let Some(f) = faults.iter_mut().find(|f| {
            f.remaining > 0
                && f.method.as_ref().map_or(is_write, |m| *m == parts.method)
                && path.contains(&f.path_contains)
        }) {
            if f.skip > 0 {
                f.skip -= 1;
            } else {
                f.remaining -= 1;
                return whole(injected(f.code, &parts.method, &path));
            }
        }
    }
    if parts.method == Method::GET
        && param(&query, "watch").is_some_and(|w| w.is_empty() || w == "true" || w == "1")
    {
        if let Some(kind) = custom_kind_of(&path)
            && !shared.is_installed(&kind)
        {
            return whole(not_served());
        }
        return watch(shared, &path, &query).await;
    }
    if parts.method == Method::GET && path == "/version" {
        return whole(respond(
            200,
            json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0",
                   "platform": "linux/amd64", "compiler": "gc"}),
        ));
    }
    if parts.method == Method::GET && path.starts_with("/openapi/") {
        return whole(openapi::serve(&shared.served(), &path));
    }
    whole(handle_whole(shared, parts, &path, &query, body).await)
}

async fn handle_whole(
    shared: &Shared,
    parts: http::request::Parts,
    path: &str,
    query: &str,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let accept = parts
        .headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if parts.method == Method::GET
        && accept.contains("as=APIGroupDiscoveryList")
        && !*shared.no_aggregated.lock().unwrap()
        && matches!(path.trim_end_matches('/'), "/api" | "/apis")
    {
        return aggregated_discovery(shared, path.trim_end_matches('/') == "/api");
    }
    if let Some(response) = discovery(shared, &parts.method, path) {
        return response;
    }
    if path.trim_end_matches('/') == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" {
        return if parts.method == Method::POST {
            review(shared, &body)
        } else {
            not_allowed()
        };
    }
    if path.trim_end_matches('/') == "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews" {
        return if parts.method == Method::POST {
            rules_review(shared, &body)
        } else {
            not_allowed()
        };
    }
    if let Some(kind) = custom_kind_of(path)
        && !shared.is_installed(&kind)
    {
        return not_served();
    }
    // In the query, or for a DELETE in its options (`{"dryRun": ["All"]}`, as kube-rs
    // sends it).
    let dry_run = param(query, "dryRun").or_else(|| {
        let options: Value = serde_json::from_slice(&body).ok()?;
        let mode = options["dryRun"].as_array()?.first()?.as_str()?;
        (parts.method == Method::DELETE).then(|| mode.to_string())
    });
    if let Some(mode) = &dry_run
        && mode != "All"
    {
        return status(
            400,
            "BadRequest",
            &format!("Invalid value: \"{mode}\": supported values: \"All\""),
        );
    }
    if let Some(rest) = path.strip_prefix("/api/v1/namespaces")
        && (rest.is_empty() || rest.starts_with('/'))
        && !rest.trim_start_matches('/').contains('/')
    {
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return namespaces(
            shared,
            &parts.method,
            rest.trim_start_matches('/'),
            query,
            dry_run.is_some(),
            content_type,
            &body,
        )
        .await;
    }
    if parts.method == Method::GET && Target::of(path).is_some_and(|t| t.name.is_none()) {
        return match list(shared, path, query).await {
            Ok(list) => respond(200, list),
            Err(refused) => refused,
        };
    }
    // Like the API server: nothing is written into a namespace that does not exist,
    // not even as a dry run.
    if parts.method != Method::GET
        && let Some(ns) = namespace_of(path)
        && !shared.namespaces.lock().unwrap().contains_key(ns)
    {
        return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
    }
    // Nor into one being deleted: the API server's NamespaceLifecycle admission says
    // 403 Forbidden, which reads like a missing permission.
    if (parts.method == Method::POST || parts.method == Method::PATCH)
        && let Some(ns) = namespace_of(path)
        && shared.namespaces.lock().unwrap()[ns]["status"]["phase"] == "Terminating"
    {
        let resource = path.split('/').nth_back(1).unwrap_or("objects");
        return status(
            403,
            "Forbidden",
            &format!(
                "{resource} is forbidden: unable to create new content in namespace {ns} because it is being terminated"
            ),
        );
    }
    let body = match checked_body(&parts.method, path, body) {
        Ok(body) => body,
        Err(message) => return status(400, "BadRequest", &message),
    };
    let content_type = parts.headers.get("content-type").cloned();
    if dry_run.is_some() {
        return dry_run_write(shared, &parts.method, path, query, content_type, body).await;
    }
    let mut forward = Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone());
    if let Some(ct) = content_type {
        forward = forward.header("content-type", ct);
    }
    let forward = forward
        .body(kube::client::Body::from(body.to_vec()))
        .expect("a request copied from a valid one");
    let writing = if parts.method == Method::GET {
        None
    } else {
        Some(shared.writing.lock().await)
    };
    if parts.method == Method::DELETE
        && let Some(refused) = precondition_failed(shared, path, &body).await
    {
        return refused;
    }
    let (code, content_type, mut bytes) = shared.call(forward).await;
    drop(writing);
    if parts.method == Method::PATCH && code.is_success() {
        kubelet(shared, path, &bytes).await;
    }
    if parts.method == Method::PUT && code == StatusCode::CONFLICT {
        bytes = conflict_message(path, bytes);
    }
    let mut out = Response::builder().status(code);
    if let Some(ct) = content_type {
        out = out.header("content-type", ct);
    }
    out.body(Full::new(bytes))
        .expect("a response copied from a valid one")
}

fn not_allowed() -> Response<Full<Bytes>> {
    status(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    )
}

/// A LIST of a collection of any kind but namespaces, with its selectors applied by
/// the fake (kube-fake-client misreads `!=` in a field selector and takes a malformed
/// label selector for one that matches nothing), at the newest resource version.
async fn list(shared: &Shared, path: &str, query: &str) -> Result<Value, Response<Full<Bytes>>> {
    let request = Request::get(path)
        .body(kube::client::Body::from(Vec::new()))
        .expect("a GET of a valid path");
    let (code, content_type, bytes) = shared.call(request).await;
    if !code.is_success() {
        let mut out = Response::builder().status(code);
        if let Some(ct) = content_type {
            out = out.header("content-type", ct);
        }
        return Err(out
            .body(Full::new(bytes))
            .expect("a response copied from a valid one"));
    }
    let mut list: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let kind = list["kind"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches("List")
        .to_string();
    let selection =
        Selection::from_query(query, &kind).map_err(|m| status(400, "BadRequest", &m))?;
    if let Value::Array(items) = &mut list["items"] {
        items.retain(|o| selection.matches(o));
        // In the order of their keys, as etcd gives them (kube-fake-client's is random).
        let key = |o: &Value| {
            let meta = &o["metadata"];
            (
                meta["namespace"].as_str().unwrap_or_default().to_string(),
                meta["name"].as_str().unwrap_or_default().to_string(),
            )
        };
        items.sort_by_key(key);
        if let Some(limit) = param(query, "limit").and_then(|l| l.parse::<usize>().ok())
            && limit > 0
        {
            items.truncate(limit);
        }
    }
    list["metadata"] = json!({"resourceVersion":
        shared.objects_version.load(Ordering::SeqCst).to_string()});
    Ok(list)
}

/// `?watch=true` on a collection (namespaces included).
async fn watch(shared: &Arc<Shared>, path: &str, query: &str) -> Response<Body> {
    let Some(target) = Target::of(path) else {
        return whole(not_served());
    };
    if target.name.is_some() {
        return whole(status(
            405,
            "MethodNotAllowed",
            "watch is only served on collections (select one object with fieldSelector=metadata.name=NAME)",
        ));
    }
    let is_namespaces = target.group.is_empty() && target.plural == "namespaces";
    let space = if is_namespaces {
        Space::Namespaces
    } else {
        Space::Objects
    };
    let asked = match param(query, "resourceVersion").filter(|v| !v.is_empty() && v != "0") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => {
                return whole(status(
                    400,
                    "BadRequest",
                    &format!("invalid resource version: {v}"),
                ));
            }
        },
    };
    let send_initial = param(query, "sendInitialEvents").as_deref() == Some("true");
    // The changes from here on; the objects as they are, read after this point, were
    // at most as new as what comes next.
    let from = shared.watches.start();
    let end = shared.watches.end();
    let (mut items, kind, current) = if is_namespaces {
        let selection = match Selection::from_query(query, "Namespace") {
            Ok(s) => s,
            Err(m) => return whole(status(400, "BadRequest", &m)),
        };
        let items: Vec<Value> = shared
            .namespaces
            .lock()
            .unwrap()
            .values()
            .filter(|o| selection.matches(o))
            .cloned()
            .collect();
        (
            items,
            "Namespace".to_string(),
            shared.counter.load(Ordering::SeqCst),
        )
    } else {
        let mut list = match list(shared, path, &without(query, &["limit"])).await {
            Ok(list) => list,
            Err(refused) => return whole(refused),
        };
        let version = list["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        let kind = list["kind"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches("List")
            .to_string();
        let items = match list["items"].take() {
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        (items, kind, version)
    };
    let initial = asked.is_none() || send_initial;
    if let Some(asked) = asked
        && !send_initial
        && let Some(oldest) = shared.watches.too_old(space, asked)
    {
        return watch::expired(asked, oldest);
    }
    if !initial {
        items.clear();
    }
    let selection = match Selection::from_query(query, &kind) {
        Ok(s) => s,
        Err(m) => return whole(status(400, "BadRequest", &m)),
    };
    let api_version = if target.group.is_empty() {
        target.version.clone()
    } else {
        format!("{}/{}", target.group, target.version)
    };
    let timeout = param(query, "timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map(std::time::Duration::from_secs);
    let follow = watch::Follow {
        space,
        group: target.group,
        plural: target.plural,
        namespace: target.namespace,
        selection,
        after: if initial {
            current
        } else {
            asked.unwrap_or_default()
        },
        initial: items,
        from: if initial { end } else { from },
        bookmarks: param(query, "allowWatchBookmarks").as_deref() == Some("true"),
        initial_events_end: send_initial,
        api_version,
        kind,
        timeout,
    };
    watch::serve(shared.watches.clone(), follow)
}

/// A query without some of its parameters.
fn without(query: &str, keys: &[&str]) -> String {
    query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !pair.is_empty() && !keys.contains(&key)
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The parts of a resource path: `/api/V/[namespaces/NS/]PLURAL[/NAME[/SUB]]` or
/// `/apis/G/V/…` (not `/api/v1/namespaces/NS` itself, a namespace).
#[derive(Debug)]
struct Target {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
}

impl Target {
    fn of(path: &str) -> Option<Target> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (group, version, rest) = match segments.as_slice() {
            ["api", version, rest @ ..] => ("", *version, rest),
            ["apis", group, version, rest @ ..] => (*group, *version, rest),
            _ => return None,
        };
        let (namespace, rest) = match rest {
            ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
            _ => (None, rest),
        };
        let (plural, name) = match rest {
            [plural] => (*plural, None),
            [plural, name, ..] => (*plural, Some(name.to_string())),
            _ => return None,
        };
        Some(Target {
            group: group.into(),
            version: version.into(),
            namespace,
            plural: plural.into(),
            name,
        })
    }
}

/// A kube-fake-client like the fake's, for a dry run: the objects it is given and
/// nothing else.
async fn scratch(objects: Vec<Value>) -> kube::Client {
    backend_builder()
        .with_runtime_objects(objects)
        .build()
        .await
        .expect("a scratch copy of a stored object always builds")
}

fn backend_builder() -> kube_fake_client::ClientBuilder {
    kube_fake_client::ClientBuilder::new()
        .with_resource::<Tenant>()
        .with_resource::<Middleware>()
        .with_resource::<LegacyMiddleware>()
        .with_resource::<Application>()
        .with_status_subresource::<Tenant>()
}

/// A write with `dryRun=All`: made on a scratch copy of the object it changes, so it
/// is checked as the real write would be (it exists, optimistic locks, field
/// managers, immutable fields), and answered with the object it would leave: for a
/// create without a resourceVersion, for a change with the one the object has. Nothing
/// is stored, no watch hears of it, and the kubelet does not act on it.
async fn dry_run_write(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    content_type: Option<http::HeaderValue>,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let mut body = body;
    let object_path = if *method == Method::POST {
        let Ok(mut object) = serde_json::from_slice::<Value>(&body) else {
            return status(
                400,
                "BadRequest",
                "the body of the request was in an unknown format",
            );
        };
        if object["metadata"]["name"]
            .as_str()
            .is_none_or(str::is_empty)
            && let Some(prefix) = object["metadata"]["generateName"].as_str()
        {
            let n = shared.uids.fetch_add(1, Ordering::SeqCst) + 1;
            object["metadata"]["name"] = json!(format!("{prefix}{:05x}", n % 0x10_0000));
            body = Bytes::from(object.to_string());
        }
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        format!("{}/{name}", path.trim_end_matches('/'))
    } else {
        path.strip_suffix("/status").unwrap_or(path).to_string()
    };
    let existing = if name_of(&object_path).is_some() {
        let get = Request::get(&object_path)
            .body(kube::client::Body::from(Vec::new()))
            .expect("a GET of a valid path");
        let (code, _, bytes) = shared.call(get).await;
        code.is_success()
            .then(|| serde_json::from_slice::<Value>(&bytes).ok())
            .flatten()
    } else {
        None
    };
    if *method == Method::DELETE {
        if name_of(path).is_none() {
            return match list(shared, path, query).await {
                Ok(list) => respond(200, list),
                Err(refused) => refused,
            };
        }
        let Some(existing) = existing else {
            let t = Target::of(path);
            let plural = t.as_ref().map(|t| t.plural.as_str()).unwrap_or("objects");
            let name = name_of(path).unwrap_or_default();
            return status(404, "NotFound", &format!("{plural} \"{name}\" not found"));
        };
        if let Some(refused) = precondition_failed(shared, path, &body).await {
            return refused;
        }
        return respond(200, existing);
    }
    let version = existing
        .as_ref()
        .map(|o| o["metadata"]["resourceVersion"].clone());
    let scratch = scratch(existing.into_iter().collect()).await;
    let uri = match without(query, &["dryRun"]) {
        q if q.is_empty() => path.to_string(),
        q => format!("{path}?{q}"),
    };
    let mut request = Request::builder().method(method.clone()).uri(uri);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let request = request
        .body(kube::client::Body::from(body.to_vec()))
        .expect("a request copied from a valid one");
    let response = match scratch.send(request).await {
        Ok(r) => r,
        Err(e) => return status(500, "InternalError", &e.to_string()),
    };
    let code = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if !code.is_success() {
        let bytes = if *method == Method::PUT && code == StatusCode::CONFLICT {
            conflict_message(path, bytes)
        } else {
            bytes
        };
        return Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Full::new(bytes))
            .expect("a response copied from a valid one");
    }
    let mut object: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(meta) = object["metadata"].as_object_mut() {
        match version {
            Some(v) if !v.is_null() => {
                meta.insert("resourceVersion".into(), v);
            }
            _ => {
                meta.remove("resourceVersion");
            }
        }
    }
    respond(code.as_u16(), object)
}

/// What kube-fake-client does not check of a DELETE: its `preconditions` (the
/// resourceVersion or uid the object must still have). `Some` holds the API server's
/// 409 when the object has changed since.
async fn precondition_failed(
    shared: &Shared,
    path: &str,
    body: &[u8],
) -> Option<Response<Full<Bytes>>> {
    let body: Value = serde_json::from_slice(body).ok()?;
    let wanted = body.get("preconditions")?;
    let get = Request::builder()
        .method(Method::GET)
        .uri(path)
        .body(kube::client::Body::from(Vec::new()))
        .expect("a GET of a valid path");
    let response = shared.backend.send(get).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let bytes = response.into_body().collect().await.ok()?.to_bytes();
    let object: Value = serde_json::from_slice(&bytes).ok()?;
    let plural = path.rsplit('/').nth(1).unwrap_or_default();
    let group = path
        .strip_prefix("/apis/")
        .and_then(|rest| rest.split('/').next())
        .map(|g| format!(".{g}"))
        .unwrap_or_default();
    let name = name_of(path).unwrap_or_default();
    for (key, field) in [("resourceVersion", "ResourceVersion"), ("uid", "UID")] {
        let Some(want) = wanted[key].as_str() else {
            continue;
        };
        let have = object["metadata"][key].as_str().unwrap_or_default();
        if want != have {
            return Some(status(
                409,
                "Conflict",
                &format!(
                    "Operation cannot be fulfilled on {plural}{group} \"{name}\": Precondition failed: {field} in precondition: {want}, {field} in object meta: {have}"
                ),
            ));
        }
    }
    None
}

/// The namespace of a namespaced path (`/api/v1/namespaces/NS/…`, `/apis/G/V/namespaces/NS/…`).
fn namespace_of(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once("/namespaces/")?;
    let (ns, _) = rest.split_once('/')?;
    Some(ns)
}

/// The name in an object path (`…/PLURAL/NAME`, or `…/PLURAL/NAME/status`).
fn name_of(path: &str) -> Option<&str> {
    let path = path.strip_suffix("/status").unwrap_or(path);
    let (prefix, name) = path.rsplit_once('/')?;
    // `/api/v1/namespaces/NS/PLURAL/NAME` has 6 segments, `/apis/G/V/…` one more; a
    // cluster-scoped object path 4 or 5.
    let depth = prefix.split('/').filter(|s| !s.is_empty()).count();
    let core = path.starts_with("/api/");
    let namespaced = path.contains("/namespaces/");
    let wanted = match (core, namespaced) {
        (true, true) => 5,
        (false, true) => 6,
        (true, false) => 3,
        (false, false) => 4,
    };
    (depth == wanted).then_some(name)
}

/// What the API server checks of a body before storing it and kube-fake-client does
/// not: that it names the object and namespace of the path (kube-fake-client would
/// store a replaced object without its namespace).
/// `Err` holds the API server's message for a 400 Bad Request.
fn checked_body(method: &Method, path: &str, body: Bytes) -> Result<Bytes, String> {
    if *method != Method::PUT && *method != Method::POST {
        return Ok(body);
    }
    let Ok(mut object) = serde_json::from_slice::<Value>(&body) else {
        return Ok(body);
    };
    if !object["metadata"].is_object() {
        return Ok(body);
    }
    if *method == Method::PUT
        && let (Some(url), Some(named)) = (name_of(path), object["metadata"]["name"].as_str())
        && url != named
    {
        return Err(format!(
            "the name of the object ({named}) does not match the name on the URL ({url})"
        ));
    }
    let Some(ns) = namespace_of(path) else {
        return Ok(body);
    };
    match object["metadata"]["namespace"].as_str() {
        Some(given) if given != ns => Err(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ),
        Some(_) => Ok(body),
        None => {
            object["metadata"]["namespace"] = json!(ns);
            Ok(Bytes::from(object.to_string()))
        }
    }
}

/// kube-fake-client's optimistic-lock failure, in the API server's words.
fn conflict_message(path: &str, bytes: Bytes) -> Bytes {
    let Ok(mut body) = serde_json::from_slice::<Value>(&bytes) else {
        return bytes;
    };
    if body["reason"] != "Conflict" {
        return bytes;
    }
    let name = name_of(path).unwrap_or_default();
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let group = if parts.first() == Some(&"apis") {
        parts.get(1).copied().unwrap_or_default()
    } else {
        ""
    };
    let plural = path
        .strip_suffix("/status")
        .unwrap_or(path)
        .rsplit('/')
        .nth(1)
        .unwrap_or_default();
    let resource = if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    };
    body["message"] = json!(format!(
        "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    ));
    Bytes::from(body.to_string())
}

// ---------------------------------------------------------------------------------
// Discovery and access reviews.
// ---------------------------------------------------------------------------------

/// Answers the discovery paths (`/api`, `/api/v1`, `/apis`, `/apis/G`, `/apis/G/V`);
/// `None` for any other path.
fn discovery(shared: &Shared, method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if !matches!(
        segments.as_slice(),
        ["api"] | ["api", _] | ["apis"] | ["apis", _] | ["apis", _, _]
    ) {
        return None;
    }
    if *method != Method::GET {
        return Some(status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ));
    }
    let served = shared.served();
    let resources = |group: &str, version: &str| {
        let found: Vec<Value> = served
            .iter()
            .filter(|k| k.group == group && k.version == version)
            .flat_map(ApiKind::discovery)
            .collect();
        if found.is_empty() {
            return not_served();
        }
        let group_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        respond(
            200,
            json!({"kind": "APIResourceList", "apiVersion": "v1",
                   "groupVersion": group_version, "resources": found}),
        )
    };
    let api_group = |group: &str| {
        let mut versions: Vec<&str> = Vec::new();
        for k in served.iter().filter(|k| k.group == group) {
            if !versions.contains(&k.version) {
                versions.push(k.version);
            }
        }
        let versions: Vec<Value> = versions
            .iter()
            .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
            .collect();
        (!versions.is_empty())
            .then(|| json!({"name": group, "versions": versions, "preferredVersion": versions[0]}))
    };
    Some(match segments.as_slice() {
        ["api"] => respond(
            200,
            json!({"kind": "APIVersions", "versions": ["v1"],
                   "serverAddressByClientCIDRs": [
                       {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}),
        ),
        ["api", version] => resources("", version),
        ["apis"] => {
            let mut groups: Vec<&str> = Vec::new();
            for k in served.iter().filter(|k| !k.group.is_empty()) {
                if !groups.contains(&k.group) {
                    groups.push(k.group);
                }
            }
            let groups: Vec<Value> = groups.into_iter().filter_map(api_group).collect();
            respond(
                200,
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        ["apis", group] => match api_group(group) {
            Some(mut g) => {
                g["kind"] = json!("APIGroup");
                g["apiVersion"] = json!("v1");
                respond(200, g)
            }
            None => not_served(),
        },
        ["apis", group, version] => resources(group, version),
        _ => return None,
    })
}

/// Aggregated discovery (`apidiscovery.k8s.io/v2`): the core group (`/api`) or every
/// other group (`/apis`) with all their resources, in one document.
fn aggregated_discovery(shared: &Shared, core: bool) -> Response<Full<Bytes>> {
    let served = shared.served();
    let mut groups: Vec<&str> = Vec::new();
    for k in &served {
        if k.group.is_empty() == core && !groups.contains(&k.group) {
            groups.push(k.group);
        }
    }
    let items: Vec<Value> = groups
        .into_iter()
        .map(|group| {
            let mut versions: Vec<&str> = Vec::new();
            for k in served.iter().filter(|k| k.group == group) {
                if !versions.contains(&k.version) {
                    versions.push(k.version);
                }
            }
            let versions: Vec<Value> = versions
                .into_iter()
                .map(|version| {
                    let resources: Vec<Value> = served
                        .iter()
                        .filter(|k| k.group == group && k.version == version)
                        .map(|k| {
                            let gvk =
                                json!({"group": k.group, "version": k.version, "kind": k.kind});
                            let mut r = json!({
                                "resource": k.plural,
                                "responseKind": gvk,
                                "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": k.kind.to_ascii_lowercase(),
                                "verbs": k.verbs(),
                            });
                            let short = kube_fake_client::discovery::get_short_names(
                                k.group, k.version, k.kind,
                            );
                            if !short.is_empty() {
                                r["shortNames"] = json!(short);
                            }
                            if k.has_status() {
                                r["subresources"] = json!([{"subresource": "status",
                                    "responseKind": gvk, "verbs": ["get", "patch", "update"]}]);
                            }
                            r
                        })
                        .collect();
                    json!({"version": version, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": group}, "versions": versions})
        })
        .collect();
    Response::builder()
        .status(StatusCode::OK)
        .header(
            "content-type",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        )
        .body(Full::new(Bytes::from(
            json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
                   "metadata": {}, "items": items})
            .to_string(),
        )))
        .expect("a response with a valid status and header")
}

/// A `SelfSubjectAccessReview`: allowed, unless a test denied it.
fn review(shared: &Shared, body: &[u8]) -> Response<Full<Bytes>> {
    let Ok(mut review) = serde_json::from_slice::<Value>(body) else {
        return status(
            400,
            "BadRequest",
            "the body of the request was in an unknown format",
        );
    };
    if !review.is_object() {
        return status(
            400,
            "BadRequest",
            "the body of the request was in an unknown format",
        );
    }
    let attributes = &review["spec"]["resourceAttributes"];
    let field = |key: &str| attributes[key].as_str().unwrap_or_default();
    let resource = match field("subresource") {
        "" => field("resource").to_string(),
        sub => format!("{}/{sub}", field("resource")),
    };
    let denied = attributes.is_object()
        && shared
            .denials
            .lock()
            .unwrap()
            .iter()
            .any(|d| d.matches(field("verb"), field("group"), &resource));
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectAccessReview");
    if !review["metadata"].is_object() {
        review["metadata"] = json!({});
    }
    review["status"] = if denied {
        json!({"allowed": false, "reason": "denied by the test"})
    } else {
        json!({"allowed": true})
    };
    respond(201, review)
}

/// A `SelfSubjectRulesReview`: rules that grant what access reviews allow. Without a
/// denial, everything (a cluster admin's `*` rule); else, per resource the fake knows,
/// the verbs no denial matches (a denial is the absence of a rule, as in RBAC).
fn rules_review(shared: &Shared, body: &[u8]) -> Response<Full<Bytes>> {
    let Ok(mut review) = serde_json::from_slice::<Value>(body) else {
        return status(
            400,
            "BadRequest",
            "the body of the request was in an unknown format",
        );
    };
    if review["spec"]["namespace"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        return status(400, "BadRequest", "no namespace on request");
    }
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectRulesReview");
    if !review["metadata"].is_object() {
        review["metadata"] = json!({});
    }
    if *shared.rules_incomplete.lock().unwrap() {
        review["status"] = json!({"resourceRules": [], "nonResourceRules": [],
            "incomplete": true, "evaluationError": "webhook authorizer: rules not listed"});
        return respond(201, review);
    }
    let denials = shared.denials.lock().unwrap();
    let rules: Vec<Value> = if denials.is_empty() {
        vec![json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})]
    } else {
        const VERBS: [&str; 8] = [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ];
        let mut resources: Vec<(&str, &str)> = kube_fake_client::discovery::list_resources()
            .iter()
            .map(|(group, _, _, plural)| (*group, *plural))
            .chain(CUSTOM.iter().chain(BUILTIN).map(|k| (k.group, k.plural)))
            .collect();
        resources.sort_unstable();
        resources.dedup();
        resources
            .into_iter()
            .filter_map(|(group, plural)| {
                let verbs: Vec<&str> = VERBS
                    .into_iter()
                    .filter(|v| !denials.iter().any(|d| d.matches(v, group, plural)))
                    .collect();
                (!verbs.is_empty())
                    .then(|| json!({"verbs": verbs, "apiGroups": [group], "resources": [plural]}))
            })
            .collect()
    };
    review["status"] = json!({"resourceRules": rules, "nonResourceRules": [], "incomplete": false});
    respond(201, review)
}

// ---------------------------------------------------------------------------------
// Namespaces.
// ---------------------------------------------------------------------------------

/// Decodes a URL query value (`%3D`, `+`).
fn decode(value: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A parameter of a URL query, decoded (`Some("")` when given without a value).
fn param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((k, v)) if k == key => Some(decode(v)),
            None if pair == key => Some(String::new()),
            _ => None,
        })
}

/// The namespaces a LIST with this query returns, or why the query is malformed.
fn list_namespaces(shared: &Shared, query: &str) -> Result<Vec<Value>, String> {
    let selection = Selection::from_query(query, "Namespace")?;
    let set = shared.namespaces.lock().unwrap();
    Ok(set
        .values()
        .filter(|o| selection.matches(o))
        .cloned()
        .collect())
}

/// Merges a patch's labels and annotations into an object (a `null` value removes
/// the key, as in a JSON merge patch).
fn merge_metadata(object: &mut Value, patch: &Value) {
    for key in ["labels", "annotations"] {
        let Some(entries) = patch["metadata"][key].as_object() else {
            continue;
        };
        if !object["metadata"][key].is_object() {
            object["metadata"][key] = json!({});
        }
        let target = object["metadata"][key]
            .as_object_mut()
            .expect("made an object above");
        for (k, v) in entries {
            if v.is_null() {
                target.remove(k);
            } else {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Serves `/api/v1/namespaces[/NAME]`.
async fn namespaces(
    shared: &Shared,
    method: &Method,
    name: &str,
    query: &str,
    dry_run: bool,
    content_type: &str,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let not_found = |n: &str| status(404, "NotFound", &format!("namespaces \"{n}\" not found"));
    let bad_body = || {
        status(
            400,
            "BadRequest",
            "the body of the request was in an unknown format",
        )
    };
    match (method.as_str(), name) {
        ("GET", "") => match list_namespaces(shared, query) {
            Ok(items) => respond(
                200,
                json!({"apiVersion": "v1", "kind": "NamespaceList",
                       "metadata": {"resourceVersion": shared.counter.load(Ordering::SeqCst).to_string()},
                       "items": items}),
            ),
            Err(message) => status(400, "BadRequest", &message),
        },
        ("GET", n) => match shared.namespaces.lock().unwrap().get(n) {
            Some(object) => respond(200, object.clone()),
            None => not_found(n),
        },
        ("POST", "") => {
            let Ok(body) = serde_json::from_slice::<Value>(body) else {
                return bad_body();
            };
            let n = body["metadata"]["name"].as_str().unwrap_or_default();
            if n.is_empty() {
                return status(
                    422,
                    "Invalid",
                    "Namespace \"\" is invalid: metadata.name: Required value: name or generateName is required",
                );
            }
            let mut set = shared.namespaces.lock().unwrap();
            if set.contains_key(n) {
                return status(
                    409,
                    "AlreadyExists",
                    &format!("namespaces \"{n}\" already exists"),
                );
            }
            let mut object = shared.fresh_namespace(n);
            merge_metadata(&mut object, &body);
            if dry_run {
                return respond(201, object);
            }
            shared.store_namespace(&mut set, n, object);
            respond(201, set[n].clone())
        }
        ("PATCH", n) if !n.is_empty() => {
            let Ok(patch) = serde_json::from_slice::<Value>(body) else {
                return bad_body();
            };
            if content_type.contains("json-patch") {
                return status(
                    415,
                    "UnsupportedMediaType",
                    "the fake cluster does not take JSON patches of namespaces",
                );
            }
            let apply = content_type.contains("apply-patch");
            if apply && param(query, "fieldManager").is_none_or(|m| m.is_empty()) {
                return status(
                    422,
                    "Invalid",
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                );
            }
            let mut set = shared.namespaces.lock().unwrap();
            let mut object = match set.get(n) {
                Some(existing) => existing.clone(),
                None if apply => shared.fresh_namespace(n),
                None => return not_found(n),
            };
            merge_metadata(&mut object, &patch);
            if dry_run {
                return respond(200, object);
            }
            shared.store_namespace(&mut set, n, object);
            respond(200, set[n].clone())
        }
        ("PUT", n) if !n.is_empty() => {
            let Ok(body) = serde_json::from_slice::<Value>(body) else {
                return bad_body();
            };
            let mut set = shared.namespaces.lock().unwrap();
            let Some(existing) = set.get(n) else {
                return not_found(n);
            };
            let given = body["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default();
            if !given.is_empty() && existing["metadata"]["resourceVersion"] != given {
                return status(
                    409,
                    "Conflict",
                    &format!(
                        "Operation cannot be fulfilled on namespaces \"{n}\": the object has been modified; please apply your changes to the latest version and try again"
                    ),
                );
            }
            let mut object = existing.clone();
            for key in ["labels", "annotations"] {
                object["metadata"][key] = body["metadata"][key].clone();
            }
            merge_metadata(
                &mut object,
                &json!({"metadata": {"labels": {"kubernetes.io/metadata.name": n}}}),
            );
            if dry_run {
                return respond(200, object);
            }
            shared.store_namespace(&mut set, n, object);
            respond(200, set[n].clone())
        }
        ("DELETE", n) if !n.is_empty() => {
            let removed = {
                let mut set = shared.namespaces.lock().unwrap();
                if dry_run {
                    set.get(n).cloned()
                } else {
                    set.remove(n)
                }
            };
            let Some(mut object) = removed else {
                return not_found(n);
            };
            if !dry_run {
                delete_contents(shared, n).await;
                let version = shared.next();
                let mut gone = object.clone();
                gone["metadata"]["resourceVersion"] = json!(version.to_string());
                shared.namespace_changed("DELETED", version, gone);
            }
            object["metadata"]["deletionTimestamp"] = now();
            object["status"]["phase"] = json!("Terminating");
            respond(200, object)
        }
        _ => status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ),
    }
}

/// Deletes every object in a deleted namespace, as the namespace controller would.
async fn delete_contents(shared: &Shared, namespace: &str) {
    let builtin = kube_fake_client::discovery::list_resources()
        .iter()
        .filter(|(g, v, k, _)| kube_fake_client::discovery::is_namespaced(g, v, k) == Some(true))
        .map(|&(group, version, kind, plural)| ApiKind {
            group,
            version,
            kind,
            plural,
            namespaced: true,
        });
    for kind in builtin.chain(CUSTOM.iter().copied()) {
        let request = Request::delete(kind.collection_path(Some(namespace)))
            .body(kube::client::Body::from(Vec::new()))
            .expect("a valid request");
        let _ = shared.send(request).await;
    }
}

// ---------------------------------------------------------------------------------
// The kubelet.
// ---------------------------------------------------------------------------------

/// After a Deployment or Job is applied, make it ready (or complete a workspace setup
/// Job), or break its pod, as asked; after a claim is applied, bind it or leave it
/// waiting for its provisioner; after a Tenant is applied, initialize it.
async fn kubelet(shared: &Shared, path: &str, response: &[u8]) {
    let behaviour = *shared.kubelet.lock().unwrap();
    if behaviour == Kubelet::Idle || path.ends_with("/status") {
        return;
    }
    let is_job = path.contains("/jobs/");
    let is_workload = path.contains("/deployments/") || is_job;
    let is_claim = path.contains("/persistentvolumeclaims/");
    let is_tenant = custom_kind_of(path) == Some(Tenant::API);
    if !(is_workload || is_claim || is_tenant) {
        return;
    }
    let Ok(object) = serde_json::from_slice::<Value>(response) else {
        return;
    };
    let patch = |uri: String, body: Value| {
        Request::builder()
            .method(Method::PATCH)
            .uri(uri)
            .header("content-type", "application/merge-patch+json")
            .body(kube::client::Body::from(body.to_string().into_bytes()))
            .expect("a valid request")
    };
    if is_tenant {
        if behaviour == Kubelet::Ready {
            let status =
                json!({"status": {"currentState": "Initialized", "healthStatus": "green"}});
            let _ = shared.send(patch(format!("{path}/status"), status)).await;
        }
        return;
    }
    if is_claim {
        let request = if behaviour == Kubelet::VolumesUnprovisioned {
            patch(
                path.to_string(),
                json!({"metadata": {"annotations": {
                    "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path"}}}),
            )
        } else {
            patch(
                format!("{path}/status"),
                json!({"status": {"phase": "Bound"}}),
            )
        };
        let _ = shared.call(request).await;
        return;
    }
    let template_labels = &object["spec"]["template"]["metadata"]["labels"];
    let workspace_setup =
        is_job && template_labels["app.kubernetes.io/part-of"] == "maia-workspace";
    let status = match behaviour {
        Kubelet::Ready | Kubelet::VolumesUnprovisioned if workspace_setup => json!({
            "active": null, "ready": null, "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True"}]}),
        Kubelet::Ready | Kubelet::VolumesUnprovisioned if is_job => {
            json!({"active": 1, "ready": 1})
        }
        Kubelet::Ready | Kubelet::VolumesUnprovisioned => json!({
            "observedGeneration": object["metadata"]["generation"],
            "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
            "conditions": [{"type": "Available", "status": "True"}]}),
        _ => json!({}),
    };
    let _ = shared
        .call(patch(format!("{path}/status"), json!({"status": status})))
        .await;
    if behaviour == Kubelet::ImagePullBackOff {
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        let name = format!("{}-0", object["metadata"]["name"].as_str().unwrap_or("pod"));
        let image = object["spec"]["template"]["spec"]["containers"][0]["image"].clone();
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": template_labels},
            "spec": {"containers": [{"name": "main", "image": image}]},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "main",
                "state": {"waiting": {"reason": "ImagePullBackOff",
                    "message": format!("Back-off pulling image {image}")}}}]}});
        let create = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/namespaces/{ns}/pods"))
            .header("content-type", "application/json")
            .body(kube::client::Body::from(pod.to_string().into_bytes()))
            .expect("a valid request");
        let _ = shared.call(create).await;
    }
}
