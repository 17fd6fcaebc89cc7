//! `maia app …`

use std::path::Path;

use maia_render::Object;
use maia_spec::LoadOptions;
use maia_spec::app::LoadedApp;

use crate::cli::RenderArgs;
use crate::error::Result;
use crate::{output, report};

/// Reads, checks and renders an app config; warnings are printed on stderr.
pub fn load_and_render(path: &Path, options: LoadOptions) -> Result<(LoadedApp, Vec<Object>)> {
    let app = maia_spec::app::load(path, options)?;
    report::diagnostics(&app.warnings);
    let files = app.read_mount_files_with(options.mount_files)?;
    let objects = maia_render::app::render(&app.spec, &files)?;
    Ok((app, objects))
}

/// `maia app render`: prints the objects, or writes one file per object.
pub(crate) fn render(args: &RenderArgs) -> Result<()> {
    let (_, objects) =
        load_and_render(&args.config_file, args.mount_files.options(args.strictness))?;
    match &args.out {
        None => output::print(&objects, args.output),
        Some(dir) => {
            let (written, stale) = output::write_dir(&objects, args.output, dir)?;
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
