#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Replays the fuzz corpora as ordinary tests: every file of `fuzz/corpus/<target>/`
//! and `fuzz/regressions/<target>/` goes through the same body the cargo-fuzz target
//! runs (`fuzz/bodies.rs`, shared), so CI catches a panic on any of them without
//! cargo-fuzz or libFuzzer. See `fuzz/README.md`.

#[path = "../../../fuzz/bodies.rs"]
mod bodies;

use std::path::{Path, PathBuf};

/// The inputs of one target, corpus first, in name order (dotfiles are not inputs).
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut all = Vec::new();
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        files.sort();
        all.extend(files);
    }
    all
}

fn replay(target: &str) {
    let body = bodies::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, body)| *body)
        .unwrap();
    let files = inputs(target);
    assert!(!files.is_empty(), "fuzz/corpus/{target}/ has no inputs");
    for file in files {
        let data = std::fs::read(&file).unwrap();
        // Shown (with the panic) when an input fails.
        eprintln!("{}", file.display());
        body(&data);
    }
}

#[test]
fn app_config_corpus_runs_without_panics() {
    replay("app_config");
}

#[test]
fn group_form_corpus_runs_without_panics() {
    replay("group_form");
}

#[test]
fn cluster_config_corpus_runs_without_panics() {
    replay("cluster_config");
}

#[test]
fn maia_config_corpus_runs_without_panics() {
    replay("maia_config");
}

#[test]
fn live_diff_corpus_runs_without_panics() {
    replay("live_diff");
}

#[test]
fn every_target_has_a_test() {
    let names: Vec<&str> = bodies::TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "app_config",
            "group_form",
            "cluster_config",
            "maia_config",
            "live_diff"
        ]
    );
}
