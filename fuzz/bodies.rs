//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` (libFuzzer) and
//! `crates/maia-cli/tests/fuzz_corpus.rs` (CI replays the corpus as ordinary tests),
//! so the two cannot drift. Both pull this file in with `#[path]`.
//!
//! Every body goes through the public functions the `maia` CLI itself calls, and
//! formats what the CLI would print (diagnostics, errors, rendered objects, the plan),
//! so a panic anywhere on the path a hostile file or API server can reach is found.
//! A body returns normally for any input; it panics only where maia would.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use maia_spec::app::MountFileAccess;
use maia_spec::workspace::cluster::Install;
use maia_spec::workspace::load::{self as ws, WorkspaceFiles};
use maia_spec::{ConfigKind, LoadOptions, SpecError};

/// A fuzz target's body: takes any bytes, panics only where maia would.
pub type Body = fn(&[u8]);

/// The targets, by name: the folders under `fuzz/corpus/` and `fuzz/regressions/`.
pub const TARGETS: [(&str, Body); 5] = [
    ("app_config", app_config),
    ("group_form", group_form),
    ("cluster_config", cluster_config),
    ("maia_config", maia_config),
    ("live_diff", live_diff),
];

const GROUP: &str = include_str!("../examples/workspace/group.yaml");
const CLUSTER: &str = include_str!("../examples/workspace/cluster-nginx.yaml");
const MAIA: &str = include_str!("../examples/workspace/maia.yaml");
const GPU_APP: &str = include_str!("../examples/app/gpu-service.json");
const MYSQL_APP: &str = include_str!("../examples/app/mysql.json");
const TRAIN: &str = include_str!("../examples/app/train.yaml");
const LABELS: &str = include_str!("../examples/app/labels.json");

/// A folder of this thread's own (tests run in parallel), holding the example files
/// the bodies pair a fuzzed file with; removed when the thread ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("maia-fuzz-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the temp folder is writable");
        for (name, text) in [
            ("group.yaml", GROUP),
            ("cluster.yaml", CLUSTER),
            ("maia.yaml", MAIA),
            ("gpu-service.json", GPU_APP),
            ("mysql.json", MYSQL_APP),
            // The mount files of gpu-service.json, so fuzzed apps can read them too.
            ("train.yaml", TRAIN),
            ("labels.json", LABELS),
        ] {
            std::fs::write(dir.join(name), text).expect("the temp folder is writable");
        }
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

thread_local! {
    static SCRATCH: Scratch = Scratch::new();
}

/// Writes `data` as `name` in this thread's folder and returns its path.
fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    SCRATCH.with(|s| {
        let path = s.0.join(name);
        std::fs::write(&path, data).expect("the temp folder is writable");
        path
    })
}

fn scratch_path(name: &str) -> PathBuf {
    SCRATCH.with(|s| s.0.join(name))
}

fn options(lenient: bool) -> LoadOptions {
    LoadOptions {
        lenient,
        mount_files: MountFileAccess::ConfigFolder,
    }
}

/// What the CLI prints for diagnostics (`report::diagnostics` writes their `Display`).
fn show_diagnostics(diagnostics: &[maia_spec::Diagnostic]) {
    for d in diagnostics {
        std::hint::black_box(d.to_string());
    }
}

/// What the CLI prints for an error (`report::error`): its diagnostics, the error and
/// the chain of its causes.
fn show_error(error: &dyn std::error::Error) {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    debug(&text);
    std::hint::black_box(text);
}

/// `MAIA_FUZZ_DEBUG=1` prints what a body saw (to look into one input).
fn debug(text: &str) {
    if std::env::var_os("MAIA_FUZZ_DEBUG").is_some() {
        eprintln!("{text}");
    }
}

fn show_spec_error(error: &SpecError) {
    show_diagnostics(error.diagnostics());
    show_error(error);
}

fn show_result<T>(result: Result<(T, Vec<maia_spec::Diagnostic>), SpecError>) -> Option<T> {
    match result {
        Ok((value, warnings)) => {
            show_diagnostics(&warnings);
            Some(value)
        }
        Err(e) => {
            show_spec_error(&e);
            None
        }
    }
}

/// `maia config validate` / `maia app render|plan --config-file`: an app config, as
/// JSON (`app.json`) and as YAML (`app.yaml`), strict and `--lenient`; a valid one is
/// rendered and printed as YAML and JSON.
pub fn app_config(data: &[u8]) {
    for name in ["app.json", "app.yaml"] {
        let path = scratch_file(name, data);
        // `maia config validate` without --kind guesses the kind first.
        std::hint::black_box(ConfigKind::detect(&path));
        for lenient in [false, true] {
            let options = options(lenient);
            let app = match maia_spec::app::load(&path, options) {
                Ok(app) => app,
                Err(e) => {
                    show_spec_error(&e);
                    continue;
                }
            };
            show_diagnostics(&app.warnings);
            let files = match app.read_mount_files_with(options.mount_files) {
                Ok(files) => files,
                Err(e) => {
                    show_spec_error(&e);
                    continue;
                }
            };
            // As `maia app render` prints them: a YAML stream, or a JSON `List`.
            match maia_render::app::render(&app.spec, &files) {
                Ok(objects) => {
                    match maia_render::to_yaml_stream(&objects) {
                        Ok(text) => {
                            std::hint::black_box(text);
                        }
                        Err(e) => show_error(&e),
                    }
                    match maia_render::to_json_list(&objects) {
                        Ok(list) => {
                            std::hint::black_box(serde_json::to_string_pretty(&list).ok());
                        }
                        Err(e) => show_error(&e),
                    }
                }
                Err(e) => show_error(&e),
            }
        }
    }
}

/// The text of a file as `maia config validate` reads a workspace file
/// (`std::fs::read_to_string`: not UTF-8 is an error before any parsing).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// `maia config validate --kind group` (YAML and JSON, strict and lenient), and the
/// group form of a whole workspace as `maia namespace …` reads it (with the example
/// cluster and MAIA configs, full and `--minimal`).
pub fn group_form(data: &[u8]) {
    if let Some(text) = text(data) {
        for name in ["group.yaml", "group.json"] {
            for lenient in [false, true] {
                match ws::check_group_text((name, text), options(lenient)) {
                    Ok(warnings) => show_diagnostics(&warnings),
                    Err(e) => show_spec_error(&e),
                }
            }
        }
    }
    let group = scratch_file("fuzzed-group.yaml", data);
    std::hint::black_box(ConfigKind::detect(&group));
    workspace(
        &group,
        &scratch_path("cluster.yaml"),
        &scratch_path("maia.yaml"),
    );
}

/// `maia config validate --kind cluster` (checked for a full install, as there), and the
/// cluster config of a whole workspace (with the example group form and MAIA config,
/// full and `--minimal`, which adds the port range check for the group's users).
pub fn cluster_config(data: &[u8]) {
    if let Some(text) = text(data) {
        for name in ["cluster.yaml", "cluster.json"] {
            for lenient in [false, true] {
                show_result(ws::check_cluster_text(
                    (name, text),
                    Install::Full,
                    None,
                    options(lenient),
                ));
            }
        }
    }
    let cluster = scratch_file("fuzzed-cluster.yaml", data);
    std::hint::black_box(ConfigKind::detect(&cluster));
    workspace(
        &scratch_path("group.yaml"),
        &cluster,
        &scratch_path("maia.yaml"),
    );
}

/// `maia config validate --kind maia`, and the MAIA config of a whole workspace.
pub fn maia_config(data: &[u8]) {
    if let Some(text) = text(data) {
        for name in ["maia.yaml", "maia.json"] {
            for lenient in [false, true] {
                show_result(ws::check_maia_text((name, text), options(lenient)));
            }
        }
    }
    let maia = scratch_file("fuzzed-maia.yaml", data);
    std::hint::black_box(ConfigKind::detect(&maia));
    workspace(
        &scratch_path("group.yaml"),
        &scratch_path("cluster.yaml"),
        &maia,
    );
}

/// The three workspace files as `maia namespace render|deploy|plan` reads them
/// (`maia_spec::workspace::load`, as `maia_cli::namespace::load` calls it).
fn workspace(group: &Path, cluster: &Path, maia: &Path) {
    for minimal in [false, true] {
        for lenient in [false, true] {
            let files = WorkspaceFiles {
                group,
                cluster,
                maia: Some(maia),
            };
            match maia_spec::workspace::load(files, minimal, options(lenient)) {
                Ok(loaded) => {
                    show_diagnostics(&loaded.warnings);
                    std::hint::black_box(loaded.spec);
                }
                Err(e) => show_spec_error(&e),
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// live_diff: `maia app plan` against an API server that answers with fuzzed objects.

/// The fuzz input the fake API server answers with, and the lock that keeps one
/// plan at a time using them.
static LIVE: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static PLAN_LOCK: Mutex<()> = Mutex::new(());

/// The namespace of the desired objects (that of the example apps).
const NAMESPACE: &str = "brain-mri";

/// A minimal Kubernetes API server on the loopback interface. The fuzz input is up to
/// three sections split at NUL bytes: live objects, ResourceQuotas, LimitRanges. The
/// server says the namespace exists, answers every LIST of the app's kinds with the
/// first section spliced in as the list's items, every GET of one object with that
/// section as it is, and the LISTs of ResourceQuotas and LimitRanges with the second
/// and third sections as their items. Returns its address.
fn api_server() -> String {
    static ADDRESS: OnceLock<String> = OnceLock::new();
    ADDRESS
        .get_or_init(|| {
            let listener = TcpListener::bind("127.0.0.1:0").expect("loopback is available");
            let address = listener
                .local_addr()
                .expect("a bound socket has an address");
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    std::thread::spawn(move || serve(stream));
                }
            });
            format!("http://{address}")
        })
        .clone()
}

/// What the client asks the fake API server for.
enum Request {
    /// `GET /api/v1/namespaces/<NAMESPACE>`.
    Namespace,
    /// A LIST: `/api/v1/[namespaces/<ns>/]<plural>` or `/apis/<group>/<version>/…`.
    List,
    /// A GET of one object.
    Object,
}

impl Request {
    fn of(path: &str) -> Self {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let rest = match segments.first() {
            Some(&"api") => segments.get(2..),
            Some(&"apis") => segments.get(3..),
            _ => None,
        };
        match rest.unwrap_or_default() {
            ["namespaces", ns] if *ns == NAMESPACE => Request::Namespace,
            ["namespaces", _, _] | [_] => Request::List,
            _ => Request::Object,
        }
    }
}

/// Answers the requests of one connection (HTTP/1.1, kept alive) until it closes.
fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut body_len = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                body_len = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; body_len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let target = request_line.split(' ').nth(1).unwrap_or("");
        let path = target.split_once('?').map_or(target, |(path, _)| path);
        let input = LIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // The input's sections, split at NUL bytes (which JSON text cannot hold): the
        // live objects, then the namespace's ResourceQuotas, then its LimitRanges.
        let mut sections = input.splitn(3, |b| *b == 0);
        let objects = sections.next().unwrap_or_default();
        let quotas = sections.next().unwrap_or_default();
        let limit_ranges = sections.next().unwrap_or_default();
        let list = |items: &[u8]| {
            let mut list =
                br#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":"1"},"items":["#
                    .to_vec();
            list.extend_from_slice(items);
            list.extend_from_slice(b"]}");
            list
        };
        let response: Vec<u8> = match Request::of(path) {
            Request::Namespace => format!(
                r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{NAMESPACE}"}}}}"#
            )
            .into_bytes(),
            Request::List if path.ends_with("/resourcequotas") => list(quotas),
            Request::List if path.ends_with("/limitranges") => list(limit_ranges),
            Request::List => list(objects),
            Request::Object => objects.to_vec(),
        };
        debug(request_line.trim_end());
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            response.len()
        )
        .into_bytes();
        answer.extend_from_slice(&response);
        // One write per answer: two small ones would wait on delayed ACKs.
        if writer.write_all(&answer).is_err() {
            return;
        }
    }
}

/// The runtime, the connected cluster, and the desired objects of the plan: the
/// example apps `gpu-service.json` (ConfigMap, Service, Job, Ingress) and `mysql.json`
/// (PersistentVolumeClaim, Service, Deployment), rendered as `maia app plan` renders them.
struct Planner {
    runtime: tokio::runtime::Runtime,
    cluster: maia_deploy::Cluster,
    release: String,
    objects: Vec<maia_render::Object>,
}

fn planner() -> &'static Planner {
    static PLANNER: OnceLock<Planner> = OnceLock::new();
    PLANNER.get_or_init(|| {
        // As `maia_cli::deploy::install_crypto` does: one rustls provider for kube.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fuzz\n  cluster:\n    server: {}\n\
             contexts:\n- name: fuzz\n  context:\n    cluster: fuzz\n    user: fuzz\n\
             current-context: fuzz\nusers:\n- name: fuzz\n  user: {{}}\n",
            api_server()
        );
        let kubeconfig = scratch_file("kubeconfig", kubeconfig.as_bytes());
        let mut objects = Vec::new();
        let mut release = String::new();
        for app in ["gpu-service.json", "mysql.json"] {
            // As `maia_cli::app::load_and_render` does.
            let app = maia_spec::app::load(&scratch_path(app), LoadOptions::default())
                .expect("the example apps are valid");
            let files = app
                .read_mount_files()
                .expect("the example apps' mount files are there");
            let rendered =
                maia_render::app::render(&app.spec, &files).expect("the example apps render");
            if release.is_empty() {
                release = app.spec.release.to_string();
            }
            objects.extend(rendered);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime can be built");
        let target = maia_deploy::Target {
            kubeconfig: Some(kubeconfig),
            context: None,
        };
        let cluster = runtime
            .block_on(maia_deploy::Cluster::connect(&target))
            .expect("the kubeconfig is valid");
        Planner {
            runtime,
            cluster,
            release,
            objects,
        }
    })
}

/// `maia app plan`: the API server's LIST and GET answers carry the fuzzed live object
/// (the bytes are spliced in as the list's items, so several comma-separated objects
/// work too; see [`api_server`] for the quota sections), which maia reads, checks
/// against the namespace's quota, and diffs against the desired objects field by field;
/// the plan is then printed as JSON. Run plain and with `--force-conflicts
/// --replace`.
pub fn live_diff(data: &[u8]) {
    let planner = planner();
    let _one_at_a_time = PLAN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    *LIVE.lock().unwrap_or_else(|e| e.into_inner()) = data.to_vec();
    for options in [
        maia_deploy::PlanOptions::default(),
        maia_deploy::PlanOptions {
            create_namespace: false,
            force_conflicts: true,
            replace: true,
        },
    ] {
        let result = planner.runtime.block_on(maia_deploy::plan(
            &planner.cluster,
            NAMESPACE,
            &planner.release,
            &planner.objects,
            options,
        ));
        match result {
            // As `maia app plan -o json` prints it.
            Ok(plan) => {
                let json = serde_json::to_string_pretty(&plan).ok();
                debug(json.as_deref().unwrap_or("(plan not serialisable)"));
                std::hint::black_box(json);
                std::hint::black_box(plan.has_changes());
            }
            Err(e) => show_error(&e),
        }
    }
}
