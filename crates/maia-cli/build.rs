//! Records the commit maia is built from, for `maia version` and `--version`.
//!
//! A build outside a git checkout (a source tarball, a vendored copy) or without git on
//! PATH is not an error: the commit is then "unknown", or whatever MAIA_COMMIT says (a
//! packager who knows it can set it).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=MAIA_COMMIT");
    let commit = match std::env::var("MAIA_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => {
            // Built again when HEAD moves: a checkout or commit changes HEAD itself (a
            // detached HEAD) or the branch's ref, loose or packed. Only files that exist
            // are named: cargo reruns a build script on every build while one it
            // watches is missing.
            let branch = git(&["symbolic-ref", "-q", "HEAD"]);
            for path in ["HEAD", "packed-refs"].into_iter().chain(branch.as_deref()) {
                if let Some(p) = git(&["rev-parse", "--git-path", path])
                    && std::path::Path::new(&p).exists()
                {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into())
        }
    };
    println!("cargo:rustc-env=MAIA_COMMIT={commit}");
}
