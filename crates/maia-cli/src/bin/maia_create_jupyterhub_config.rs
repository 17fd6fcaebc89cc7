//! `MAIA_create_JupyterHub_config`: writes the JupyterHub values of a group's hub and
//! prints the helm commands that install it, as the original toolkit did. The whole
//! bundle is written alongside, so the credentials the values use are kept.

fn main() -> std::process::ExitCode {
    maia_cli::compat::jupyterhub("MAIA_create_JupyterHub_config")
}
