//! `MAIAKubeGate_create_MAIA_Addons_config`: the workspace guide's name for
//! `MAIA_create_MAIA_Addons_config`.

fn main() -> std::process::ExitCode {
    maia_cli::compat::addons("MAIAKubeGate_create_MAIA_Addons_config")
}
