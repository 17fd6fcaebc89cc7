//! `MAIAKubeGate_create_jupyterHub_config`: the workspace guide's name for
//! `MAIA_create_JupyterHub_config`.

fn main() -> std::process::ExitCode {
    maia_cli::compat::jupyterhub("MAIAKubeGate_create_jupyterHub_config")
}
