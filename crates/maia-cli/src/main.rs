//! `maia`: provision MAIA research workspaces and deploy custom applications on
//! Kubernetes. The commands live in the library ([`maia_cli::run`]).

fn main() -> std::process::ExitCode {
    maia_cli::run()
}
