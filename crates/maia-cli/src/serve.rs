//! `maia serve`: the cluster config to `maia_portal` calls; SIGINT/SIGTERM to a
//! graceful shutdown (exit 0).

use maia_spec::workspace::ClusterSpec;

use crate::cli::ServeArgs;
use crate::deploy::runtime;
use crate::error::{CliError, Result};
use crate::report;

/// Reads and checks the cluster config, printing its warnings.
fn cluster(args: &ServeArgs) -> Result<ClusterSpec> {
    let (spec, warnings) = maia::config::cluster(&args.cluster_config_file)?;
    report::diagnostics(&warnings);
    Ok(spec)
}

/// `maia serve`.
pub(crate) fn run(args: &ServeArgs) -> Result<()> {
    let spec = cluster(args)?;
    if args.print_manifests {
        return print_manifests(args, &spec);
    }
    if spec.portal.is_none() {
        eprintln!(
            "note: {} has no portal section: sign-in is not available",
            args.cluster_config_file.display()
        );
    }
    let portal = maia_portal::Portal {
        config: spec.portal,
    };
    runtime()?.block_on(async {
        let listener = maia_portal::bind(&args.listen).await?;
        let addr = listener
            .local_addr()
            .map_err(maia_portal::PortalError::Serve)?;
        eprintln!("maia serve: listening on http://{addr}");
        maia_portal::serve(listener, portal, shutdown()).await?;
        eprintln!("maia serve: stopped");
        Ok(())
    })
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        // No handler: the default action (the process ends) is all there is.
        _ => std::future::pending().await,
    }
}

/// `maia serve --print-manifests`: the portal's objects as a YAML stream.
fn print_manifests(args: &ServeArgs, spec: &ClusterSpec) -> Result<()> {
    let Some(portal) = &spec.portal else {
        return Err(CliError::usage(
            format!(
                "{}: the portal's manifests need its portal section",
                args.cluster_config_file.display()
            ),
            "add portal: with url (https://maia.example.org) and client_id (see maia config schema cluster)",
        ));
    };
    let options = maia_portal::ManifestOptions {
        namespace: args.namespace.clone(),
        image: args
            .image
            .clone()
            .unwrap_or_else(|| format!("ghcr.io/maia-rs/maia:{}", env!("CARGO_PKG_VERSION"))),
    };
    let manifests = maia_portal::manifests(spec, portal, &options);
    print!("{}", manifests.to_yaml()?);
    Ok(())
}
