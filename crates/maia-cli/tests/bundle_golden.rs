//! Golden bundles: every file `maia namespace render` writes for the shipped examples,
//! with secrets drawn from a counter so the text is stable. Review changes to the
//! snapshots as you would review a deploy.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{GROUP, MAIA, NGINX, TRAEFIK};

/// The bundle as one text: each file under a header with its mode.
fn bundle(group: &str, cluster: &str, maia: Option<&str>, minimal: bool) -> String {
    // An empty folder, with no credentials.yaml: everything is drawn (from the counter).
    let rendered = common::render(group, cluster, maia, minimal);
    let mut out = String::new();
    for f in &rendered.files {
        let mode = if f.secret {
            "0600"
        } else if f.executable {
            "0755"
        } else {
            "0644"
        };
        out.push_str(&format!(
            "=== {} ({mode}) ===\n{}\n",
            f.path.display(),
            f.text
        ));
    }
    out
}

#[test]
fn full_subdomain_nginx_nodeport() {
    insta::assert_snapshot!(bundle(GROUP, NGINX, None, false));
}

#[test]
fn full_subpath_traefik_loadbalancer() {
    insta::assert_snapshot!(bundle(GROUP, TRAEFIK, Some(MAIA), false));
}

#[test]
fn minimal() {
    insta::assert_snapshot!(bundle(GROUP, NGINX, None, true));
}

#[test]
fn gpu_group() {
    let gpu = common::gpu_group();
    assert_ne!(gpu, GROUP);
    insta::assert_snapshot!(bundle(&gpu, NGINX, None, false));
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    assert_eq!(
        bundle(GROUP, TRAEFIK, Some(MAIA), false),
        bundle(GROUP, TRAEFIK, Some(MAIA), false)
    );
}
