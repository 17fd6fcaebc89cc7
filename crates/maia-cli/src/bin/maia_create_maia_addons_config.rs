//! `MAIA_create_MAIA_Addons_config`: writes the addons of a group's workspace (SSH and
//! jupyter Services, nginx proxy, ingresses) and prints the commands that install
//! them, as the original toolkit did. The whole bundle is written alongside.

fn main() -> std::process::ExitCode {
    maia_cli::compat::addons("MAIA_create_MAIA_Addons_config")
}
