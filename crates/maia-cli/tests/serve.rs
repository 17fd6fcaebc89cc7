//! `maia serve` as a user runs it: on a free loopback port, answering pages, and
//! stopping cleanly (exit 0) on SIGTERM; `--print-manifests` without a portal section.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

const NGINX: &str = include_str!("../../../examples/workspace/cluster-nginx.yaml");

fn cluster_file(dir: &tempfile::TempDir, portal: bool) -> std::path::PathBuf {
    let path = dir.path().join("cluster.yaml");
    let mut text = NGINX.to_string();
    if portal {
        text.push_str("\nportal:\n  url: http://localhost:8080\n  client_id: maia-portal\n");
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// A GET over loopback: the status line and the body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.lines().next().unwrap_or_default().to_string();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_answers_on_loopback_and_stops_on_sigterm_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = cluster_file(&dir, true);
    let mut child = Command::new(env!("CARGO_BIN_EXE_maia"))
        .args(["serve", "--cluster-config-file"])
        .arg(&file)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("maia serve ended before listening");
        }
        if let Some(addr) = line.trim().strip_prefix("maia serve: listening on http://") {
            break addr.to_string();
        }
    };
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert!(!addr.ends_with(":0"), "a free port was taken: {addr}");

    let (status, body) = get(&addr, "/healthz");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(body, "ok");
    let (status, body) = get(&addr, "/");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(body.contains("href=\"/login\""), "{body}");
    let (status, _) = get(&addr, "/nowhere");
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("maia serve: stopped"), "{rest}");
}

#[test]
fn serve_on_a_bad_address_fails_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let file = cluster_file(&dir, true);
    let out = Command::new(env!("CARGO_BIN_EXE_maia"))
        .args(["serve", "--cluster-config-file"])
        .arg(&file)
        .args(["--listen", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on not-an-address"), "{err}");
    assert!(err.contains("--listen"), "{err}");
}

#[test]
fn print_manifests_needs_the_portal_section() {
    let dir = tempfile::tempdir().unwrap();
    let file = cluster_file(&dir, false);
    let out = Command::new(env!("CARGO_BIN_EXE_maia"))
        .args(["serve", "--print-manifests", "--cluster-config-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("portal section"), "{err}");
    assert!(err.contains("add portal:"), "{err}");
}

#[test]
fn print_manifests_prints_the_portals_objects_for_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.yaml");
    std::fs::write(
        &path,
        format!("{NGINX}\nportal:\n  url: https://maia.example.org\n  client_id: maia-portal\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_maia"))
        .args(["serve", "--print-manifests", "--cluster-config-file"])
        .arg(&path)
        .args(["--image", "registry.example.org/maia:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let kinds: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Service",
            "Ingress"
        ]
    );
    assert!(text.contains("- host: maia.example.org"), "{text}");
    assert!(
        text.contains("image: registry.example.org/maia:1"),
        "{text}"
    );
}
