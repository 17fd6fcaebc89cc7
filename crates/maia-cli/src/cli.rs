//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;

#[derive(Debug, Parser)]
#[command(
    name = "maia",
    version,
    about = "Provision MAIA medical-AI research workspaces and deploy custom applications on Kubernetes",
    long_about = "maia turns a research group's request into Kubernetes objects.\n\n\
        It reads the same configuration files as the MAIA Toolkit (app JSON, group form, \
        cluster config), checks them with precise errors, and renders typed Kubernetes \
        objects. Rendering needs no cluster.",
    after_help = "Examples:\n  \
        maia app render --config-file examples/app/jupyterlab.json\n  \
        maia app render --config-file app.json -o json\n  \
        maia app render --config-file app.json --out rendered/\n  \
        maia namespace render --namespace-config-file group.yaml --cluster-config-file cluster.yaml --config-folder out/\n  \
        maia config validate app.json\n  \
        maia config schema app > app.schema.json"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Custom applications: a researcher's container as a Job or a Deployment
    #[command(subcommand)]
    App(AppCommand),
    /// Check configuration files and print their JSON Schemas
    #[command(subcommand)]
    Config(ConfigCommand),
    /// MAIA workspaces: a research group's namespace with every component
    #[command(subcommand)]
    Namespace(NamespaceCommand),
}

#[derive(Debug, Subcommand)]
pub enum NamespaceCommand {
    /// Render a group's whole workspace into a reviewable bundle, without a cluster
    #[command(
        long_about = "Render a group's whole workspace into a reviewable bundle, without a cluster.\n\n\
            Writes DIR/<group_ID>/: manifests/ (maia's own objects, one file per component, \
            numbered in apply order), helm/ (values, chart, repository and pinned version of \
            each third-party chart), deploy.sh (applies it all, in order; holds no secret), \
            credentials.yaml (every generated secret and each user's SSH port, mode 0600) and \
            summary.md / summary.json (URLs and SSH commands).\n\n\
            Running it again with the same files rewrites the same bytes: credentials and SSH \
            ports are read back from credentials.yaml. A new user gets a port no user of any \
            group rendered under the config folder has (DIR/ssh-ports.json keeps them all); a \
            removed user frees theirs.",
        after_help = "Examples:\n  \
            maia namespace render --namespace-config-file examples/workspace/group.yaml \\\n      \
            --cluster-config-file examples/workspace/cluster-nginx.yaml --config-folder out/\n  \
            maia namespace render --namespace-config-file group.yaml --cluster-config-file cluster.yaml \\\n      \
            --maia-config-file maia.yaml --config-folder out/ --minimal\n  \
            out/Brain_MRI/deploy.sh    # after review, with KUBECONFIG set"
    )]
    Render(NamespaceRenderArgs),
}

/// The three files a workspace is rendered from.
#[derive(Debug, Args, Clone)]
pub struct WorkspaceFileArgs {
    /// The group form (group_ID, users, resources_limits, …)
    #[arg(long, value_name = "FILE")]
    pub namespace_config_file: PathBuf,
    /// The cluster config (domain, ingress, SSH, Keycloak, …)
    #[arg(long, value_name = "FILE")]
    pub cluster_config_file: PathBuf,
    /// The MAIA config (images and chart versions); built-in defaults when left out
    #[arg(long, value_name = "FILE")]
    pub maia_config_file: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct NamespaceRenderArgs {
    #[command(flatten)]
    pub files: WorkspaceFileArgs,
    /// Folder the bundle is written under (as DIR/<group_ID>/)
    #[arg(long, value_name = "DIR")]
    pub config_folder: PathBuf,
    /// Only the namespace, pull secret, shared volume, SSH Services and JupyterHub
    #[arg(long)]
    pub minimal: bool,
    #[command(flatten)]
    pub strictness: Strictness,
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Render an app config to Kubernetes objects, without a cluster
    #[command(
        long_about = "Render an app config to Kubernetes objects, without a cluster.\n\n\
            Prints, in apply order: the ConfigMap of mount_files, the PersistentVolumeClaims, \
            the Service, the Job or Deployment and the Ingress. Every object carries its \
            namespace, so the output can be piped to `kubectl apply --server-side -f -`.",
        after_help = "Examples:\n  \
            maia app render --config-file app.json\n  \
            maia app render --config-file app.json -o json | jq '.items[].kind'\n  \
            maia app render --config-file app.json --out manifests/"
    )]
    Render(RenderArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The app config (JSON, as for MAIA_deploy_helm_chart; YAML also accepted)
    #[arg(long, short = 'f', value_name = "FILE")]
    pub config_file: PathBuf,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Yaml)]
    pub output: Format,
    /// Write one file per object into DIR instead of printing
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub strictness: Strictness,
}

#[derive(Debug, Args, Clone, Copy)]
pub struct Strictness {
    /// Report unknown fields as warnings instead of errors (for files written for the
    /// original toolkit, which ignored them)
    #[arg(long)]
    pub lenient: bool,
}

impl From<Strictness> for maia_spec::LoadOptions {
    fn from(s: Strictness) -> Self {
        maia_spec::LoadOptions { lenient: s.lenient }
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config file; exit 0 when it is valid, 2 when it is not
    #[command(
        after_help = "Examples:\n  maia config validate app.json\n  maia config validate examples/workspace/group.yaml\n  maia config validate --kind cluster cluster.yaml\n  maia config validate --kind app legacy.yaml --lenient"
    )]
    Validate {
        /// The file to check
        file: PathBuf,
        /// What the file is (default: app for .json files, otherwise guessed from its fields)
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        #[command(flatten)]
        strictness: Strictness,
    },
    /// Print the JSON Schema of a config file (for editor completion and checks)
    #[command(
        after_help = "Examples:\n  maia config schema app > app.schema.json\n  maia config schema group\n  maia config schema cluster\n  maia config schema maia"
    )]
    Schema {
        #[arg(value_enum)]
        kind: Kind,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Custom application config (JSON)
    App,
    /// Group form: a research group's workspace request
    Group,
    /// Cluster config: registry, storage, ingress, SSH and Keycloak of the cluster
    Cluster,
    /// MAIA config: images and chart versions (all optional)
    Maia,
}

impl From<Kind> for maia_spec::ConfigKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::App => maia_spec::ConfigKind::App,
            Kind::Group => maia_spec::ConfigKind::Group,
            Kind::Cluster => maia_spec::ConfigKind::Cluster,
            Kind::Maia => maia_spec::ConfigKind::Maia,
        }
    }
}
