//! `MAIA_deploy_helm_chart`: the original toolkit's entry point, kept so scripts and
//! habits keep working. Without `--print-helm-values-only` it deploys the app as
//! `maia app deploy` does (to the cluster of KUBECONFIG); with it, it writes the `mkg`
//! chart values.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use maia_cli::{CliError, finish};

#[derive(Debug, Parser)]
#[command(
    name = "MAIA_deploy_helm_chart",
    version = maia_cli::cli::VERSION,
    about = "Deploy a custom application from its JSON config (MAIA Toolkit compatible)",
    after_help = "Examples:\n  \
        MAIA_deploy_helm_chart --config-file app.json\n  \
        MAIA_deploy_helm_chart --config-file app.json --print-helm-values-only values.yaml\n\n\
        The same jobs with maia's own commands:\n  \
        maia app deploy --config-file app.json\n  \
        maia app render --config-file app.json"
)]
struct Args {
    /// The app config (JSON)
    #[arg(long, value_name = "FILE")]
    config_file: PathBuf,
    /// Write the Helm values for the mkg chart to OUT and stop (needs no cluster)
    #[arg(long, value_name = "OUT")]
    print_helm_values_only: Option<PathBuf>,
    /// Report unknown fields as warnings (the original ignored them)
    #[arg(long)]
    lenient: bool,
    /// Create the app's namespace if it does not exist
    #[arg(long)]
    create_namespace: bool,
    /// Let mount_files read files outside the config file's folder
    #[arg(long)]
    allow_outside_files: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    maia_cli::deploy::install_crypto();
    finish(run(args))
}

fn run(args: Args) -> maia_cli::Result<()> {
    let options = maia_spec::LoadOptions {
        lenient: args.lenient,
        mount_files: if args.allow_outside_files {
            maia_spec::app::MountFileAccess::Anywhere
        } else {
            maia_spec::app::MountFileAccess::ConfigFolder
        },
    };
    let Some(out) = args.print_helm_values_only else {
        let settings = maia_cli::deploy::DeploySettings {
            plan: maia_deploy::PlanOptions {
                create_namespace: args.create_namespace,
                ..Default::default()
            },
            ..Default::default()
        };
        return maia_cli::deploy::deploy_file(
            &args.config_file,
            options,
            &maia_cli::cli::ClusterArgs::default(),
            settings,
        );
    };
    let (app, _) = maia_cli::deploy::load_and_render(&args.config_file, options)?;
    let values = maia_render::app::helm_values(&app.spec);
    // Helm reads YAML 1.1, where a plain `yes` or `on` is a boolean: quote every string.
    let text = maia_render::helm_yaml::to_string(&values);
    // Never through a link planted where the file goes; replaced, not opened for
    // writing, 0644 whatever the umask.
    if std::fs::symlink_metadata(&out).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(CliError::usage(
            format!(
                "{} is a symbolic link: maia does not write through links",
                out.display()
            ),
            "remove the link, or name another file",
        ));
    }
    maia_deploy::workspace::folder::write_file(&out, &text, 0o644)?;
    eprintln!(
        "wrote Helm values for release {} to {}",
        app.spec.release,
        out.display()
    );
    Ok(())
}
