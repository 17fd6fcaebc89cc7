//! An in-memory cluster for tests: kube-fake-client's API server behind a layer that
//! records every request (to count writes), injects HTTP errors, answers the Namespace
//! paths kube-fake-client 0.3 cannot parse, and plays a tiny kubelet (marks workloads
//! ready, or gives their pod an image pull error). Served in-process as a
//! `kube::Client`, or on 127.0.0.1 for end-to-end tests of the binary.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::cluster::Cluster;

/// One request as the API server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
}

impl Recorded {
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// What the pretend kubelet does to a Deployment or Job once it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kubelet {
    /// Nothing: workloads never become ready.
    #[default]
    Idle,
    /// Workloads become ready at once.
    Ready,
    /// Their pod cannot pull its image.
    ImagePullBackOff,
    /// Workloads become ready, but their volume claims stay Pending: a provisioner was
    /// asked for the volume and never made it.
    VolumesUnprovisioned,
}

struct Fault {
    method: Method,
    path_contains: String,
    code: u16,
    remaining: usize,
}

struct Shared {
    backend: kube::Client,
    namespaces: Mutex<BTreeSet<String>>,
    requests: Mutex<Vec<Recorded>>,
    faults: Mutex<Vec<Fault>>,
    kubelet: Mutex<Kubelet>,
}

#[derive(Clone)]
pub struct FakeCluster {
    shared: Arc<Shared>,
}

impl FakeCluster {
    /// An empty cluster holding the given namespaces.
    pub async fn new(namespaces: &[&str]) -> Self {
        let backend = kube_fake_client::ClientBuilder::new()
            .build()
            .await
            .expect("an empty fake cluster always builds");
        FakeCluster {
            shared: Arc::new(Shared {
                backend,
                namespaces: Mutex::new(namespaces.iter().map(|s| s.to_string()).collect()),
                requests: Mutex::default(),
                faults: Mutex::default(),
                kubelet: Mutex::default(),
            }),
        }
    }

    /// A client whose requests go through the recording layer.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(Layer(self.shared.clone()), "default")
    }

    pub fn cluster(&self) -> Cluster {
        Cluster::from_client(self.client(), "https://fake.invalid")
    }

    /// The fake API server itself, for seeding and inspecting without being counted.
    pub fn backend(&self) -> kube::Client {
        self.shared.backend.clone()
    }

    pub fn set_kubelet(&self, kubelet: Kubelet) {
        *self.shared.kubelet.lock().unwrap() = kubelet;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_write)
            .collect()
    }

    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    pub fn namespaces(&self) -> BTreeSet<String> {
        self.shared.namespaces.lock().unwrap().clone()
    }

    /// The next `times` requests with this method whose path contains `path_contains`
    /// fail with HTTP `code` (403, 409, 500, … with the API server's usual message).
    pub fn fail(&self, method: Method, path_contains: &str, code: u16, times: usize) {
        self.shared.faults.lock().unwrap().push(Fault {
            method,
            path_contains: path_contains.into(),
            code,
            remaining: times,
        });
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

#[derive(Clone)]
struct Layer(Arc<Shared>);

impl tower::Service<Request<kube::client::Body>> for Layer {
    type Response = Response<Full<Bytes>>;
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
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
               "code": code, "reason": reason, "message": message}),
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

/// Reads a request whole, from the loopback server or the in-process client alike.
async fn receive<B: hyper::body::Body>(shared: &Shared, req: Request<B>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    handle(shared, parts, body).await
}

async fn handle(
    shared: &Shared,
    parts: http::request::Parts,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    shared.requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
    });
    {
        let mut faults = shared.faults.lock().unwrap();
        if let Some(f) = faults.iter_mut().find(|f| {
            f.remaining > 0 && f.method == parts.method && path.contains(&f.path_contains)
        }) {
            f.remaining -= 1;
            return injected(f.code, &parts.method, &path);
        }
    }
    if let Some(rest) = path.strip_prefix("/api/v1/namespaces")
        && !rest.trim_start_matches('/').contains('/')
    {
        let dry_run = query.contains("dryRun");
        return namespaces(
            shared,
            &parts.method,
            rest.trim_start_matches('/'),
            &body,
            dry_run,
        );
    }
    // Like the API server: nothing is written into a namespace that does not exist,
    // not even as a dry run.
    if parts.method != Method::GET
        && let Some(ns) = namespace_of(&path)
        && !shared.namespaces.lock().unwrap().contains(ns)
    {
        return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
    }
    let mut forward = Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone());
    if let Some(ct) = parts.headers.get("content-type") {
        forward = forward.header("content-type", ct);
    }
    let forward = forward
        .body(kube::client::Body::from(body.to_vec()))
        .expect("a request copied from a valid one");
    let response = match shared.backend.send(forward).await {
        Ok(r) => r,
        Err(e) => return status(500, "InternalError", &e.to_string()),
    };
    let (rparts, rbody) = response.into_parts();
    let bytes = rbody
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if parts.method == Method::PATCH && rparts.status.is_success() && !query.contains("dryRun") {
        kubelet(shared, &path, &bytes).await;
    }
    let mut out = Response::builder().status(rparts.status);
    if let Some(ct) = rparts.headers.get("content-type") {
        out = out.header("content-type", ct);
    }
    out.body(Full::new(bytes))
        .expect("a response copied from a valid one")
}

/// The namespace of a namespaced path (`/api/v1/namespaces/NS/…`, `/apis/G/V/namespaces/NS/…`).
fn namespace_of(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once("/namespaces/")?;
    let (ns, _) = rest.split_once('/')?;
    Some(ns)
}

fn namespaces(
    shared: &Shared,
    method: &Method,
    name: &str,
    body: &[u8],
    dry_run: bool,
) -> Response<Full<Bytes>> {
    let object = |n: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}, "status": {"phase": "Active"}});
    let mut set = shared.namespaces.lock().unwrap();
    match (method.as_str(), name) {
        ("GET", "") => respond(
            200,
            json!({"apiVersion": "v1", "kind": "NamespaceList", "metadata": {},
                   "items": set.iter().map(|n| object(n)).collect::<Vec<_>>()}),
        ),
        ("GET", n) if set.contains(n) => respond(200, object(n)),
        ("GET", n) | ("DELETE", n) if !set.contains(n) => {
            status(404, "NotFound", &format!("namespaces \"{n}\" not found"))
        }
        ("PATCH", n) => {
            if !dry_run {
                set.insert(n.to_string());
            }
            respond(200, object(n))
        }
        ("POST", "") => {
            let n = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v["metadata"]["name"].as_str().map(str::to_string))
                .unwrap_or_default();
            if !dry_run {
                set.insert(n.clone());
            }
            respond(201, object(&n))
        }
        ("DELETE", n) => {
            if !dry_run {
                set.remove(n);
            }
            respond(200, object(n))
        }
        _ => status(405, "MethodNotAllowed", "not supported by the fake"),
    }
}

/// After a Deployment or Job is applied, make it ready or break its pod, as asked; after
/// a claim is applied, bind it or leave it waiting for its provisioner.
async fn kubelet(shared: &Shared, path: &str, response: &[u8]) {
    let behaviour = *shared.kubelet.lock().unwrap();
    let is_workload = path.contains("/deployments/") || path.contains("/jobs/");
    let is_claim = path.contains("/persistentvolumeclaims/");
    if behaviour == Kubelet::Idle || !(is_workload || is_claim) {
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
        let _ = shared.backend.send(request).await;
        return;
    }
    let status = match behaviour {
        Kubelet::Ready | Kubelet::VolumesUnprovisioned if path.contains("/jobs/") => {
            json!({"active": 1, "ready": 1})
        }
        Kubelet::Ready | Kubelet::VolumesUnprovisioned => json!({
            "observedGeneration": object["metadata"]["generation"],
            "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
            "conditions": [{"type": "Available", "status": "True"}]}),
        _ => json!({}),
    };
    let _ = shared
        .backend
        .send(patch(format!("{path}/status"), json!({"status": status})))
        .await;
    if behaviour == Kubelet::ImagePullBackOff {
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        let name = format!("{}-0", object["metadata"]["name"].as_str().unwrap_or("pod"));
        let image = object["spec"]["template"]["spec"]["containers"][0]["image"].clone();
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": object["spec"]["template"]["metadata"]["labels"]},
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
        let _ = shared.backend.send(create).await;
    }
}
