//! `maia app render`.

use crate::cli::RenderArgs;
use crate::error::{CliError, Result};
use crate::output;

/// `maia app render`: prints the objects, or writes one file per object.
pub(crate) fn render(args: &RenderArgs) -> Result<()> {
    let (_, objects) = crate::deploy::load_and_render(
        &args.config_file,
        args.mount_files.options(args.strictness),
    )?;
    match &args.out {
        None => output::print(&objects, args.output),
        Some(dir) => {
            let (written, stale) = maia::output::write_dir(&objects, args.output.into(), dir)
                .map_err(CliError::from)?;
            for p in &written {
                println!("wrote {}", p.display());
            }
            for p in &stale {
                eprintln!(
                    "warning: {} is left from an earlier render; remove it before applying the folder",
                    p.display()
                );
            }
            Ok(())
        }
    }
}
