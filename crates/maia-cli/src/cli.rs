//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;

/// What `maia --version` and `maia version` say: the release and the commit it was
/// built from (recorded by build.rs; "unknown" outside a git checkout).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MAIA_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "maia",
    version = VERSION,
    about = "Provision MAIA medical-AI research workspaces and deploy custom applications on Kubernetes",
    long_about = "maia turns a research group's request into Kubernetes objects.\n\n\
        It reads the same configuration files as the MAIA Toolkit (app JSON, group form, \
        cluster config), checks them with precise errors, and renders typed Kubernetes \
        objects. Rendering needs no cluster.",
    after_help = "Examples:\n  \
        maia app render --config-file examples/app/jupyterlab.json\n  \
        maia app render --config-file app.json -o json\n  \
        maia app render --config-file app.json --out rendered/\n  \
        maia app plan --config-file app.json\n  \
        maia app deploy --config-file app.json --wait\n  \
        maia app status jupyterlab-1-v1 -n demo\n  \
        maia namespace render --namespace-config-file group.yaml --cluster-config-file cluster.yaml --config-folder out/\n  \
        maia fleet render --forms forms/ --cluster-config-file cluster.yaml --config-folder out/\n  \
        maia config validate app.json\n  \
        maia config schema app > app.schema.json"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Custom applications: a researcher's container as a Job or a Deployment
    #[command(subcommand)]
    App(AppCommand),
    /// Check configuration files and print their JSON Schemas
    #[command(subcommand)]
    Config(ConfigCommand),
    /// MAIA workspaces: a research group's namespace with every component
    #[command(subcommand)]
    Namespace(NamespaceCommand),
    /// Many groups at once: every group form of a folder, in one run
    #[command(
        subcommand,
        long_about = "Many groups at once: every group form of a folder, in one run.\n\n\
            `maia fleet render` renders the workspaces of all the groups whose forms are in \
            one folder, for one cluster, into one config folder: the same bundles \
            `maia namespace render` writes group by group, in one process, on every core, \
            with one pass giving out the SSH ports of the whole fleet (and, with --gitops \
            argocd, a tree Argo CD syncs). `maia fleet plan | deploy | status` do what \
            `maia namespace plan | deploy | status` do, for every group, a few at a time.",
        after_help = "Examples:\n  \
            maia fleet render --forms forms/ --cluster-config-file cluster.yaml --config-folder out/\n  \
            maia fleet plan   --forms forms/ --cluster-config-file cluster.yaml\n  \
            maia fleet deploy --forms forms/ --cluster-config-file cluster.yaml --config-folder out/\n  \
            maia fleet status\n  \
            maia fleet render --help"
    )]
    Fleet(FleetCommand),
    /// A workspace's group, members and clients in Keycloak (needs keycloak_admin)
    #[command(
        subcommand,
        long_about = "A workspace's group, members and clients in Keycloak.\n\n\
            With the cluster config's keycloak_admin section, maia keeps the group \
            MAIA:<group_ID> and its members in Keycloak: a member without an account gets \
            one (no password) and Keycloak's own invitation e-mail; a member who left the \
            form is taken out of the group (the account stays). With \
            per_workspace_clients, the workspace also gets its own clients with exact \
            redirect URIs. Reads are exact searches; an unchanged workspace costs no \
            write. The admin client's secret comes from keycloak_admin.client_secret_file \
            or MAIA_KEYCLOAK_ADMIN_SECRET, never from the command line.",
        after_help = "Examples:\n  \
            maia keycloak plan   --namespace-config-file group.yaml --cluster-config-file cluster.yaml\n  \
            maia keycloak sync   --namespace-config-file group.yaml --cluster-config-file cluster.yaml\n  \
            maia keycloak status --namespace-config-file group.yaml --cluster-config-file cluster.yaml -o json"
    )]
    Keycloak(KeycloakCommand),
    /// Serve the self-service portal (or print the objects that run it in the cluster)
    #[command(
        long_about = "Serve the self-service portal of the workspaces over HTTP until SIGINT \
            or SIGTERM (then requests under way finish and maia exits 0). For now the \
            portal has its home page and health check; sign-in with the cluster config's \
            portal client comes next. With --print-manifests, print instead the \
            ServiceAccount, least-privilege ClusterRole and binding, Deployment, Service \
            and Ingress (host from portal.url) that run it in the cluster, as a YAML \
            stream for kubectl apply -f -.",
        after_help = "Examples:\n  \
            maia serve --cluster-config-file cluster.yaml                      # http://127.0.0.1:8080\n  \
            maia serve --cluster-config-file cluster.yaml --listen 0.0.0.0:8080\n  \
            maia serve --cluster-config-file cluster.yaml --print-manifests | kubectl apply -f -"
    )]
    Serve(ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(
        long_about = "Print a shell completion script: after loading it, Tab completes maia's \
            commands, flags and their fixed values (output formats, config kinds, shells).",
        after_help = "Examples:\n  \
            source <(maia completion bash)                      # this shell; add it to ~/.bashrc to keep it\n  \
            maia completion zsh > \"${fpath[1]}/_maia\"          # then start a new zsh\n  \
            maia completion fish > ~/.config/fish/completions/maia.fish"
    )]
    Completion {
        /// The shell the script is for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print maia's version and the commit it was built from
    #[command(after_help = "Examples:\n  maia version\n  maia version -o json")]
    Version {
        /// Output
        #[arg(long, short = 'o', value_enum, default_value_t = VersionFormat::Text)]
        output: VersionFormat,
    },
}

/// The arguments of `maia serve`.
#[derive(Debug, Args, Clone)]
pub(crate) struct ServeArgs {
    /// The cluster config (its portal section: public URL and OIDC client)
    #[arg(long, value_name = "FILE", alias = "cluster-config")]
    pub(crate) cluster_config_file: PathBuf,
    /// The address to listen on (port 0 takes a free one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,
    /// Print the portal's Kubernetes objects as YAML instead of serving
    #[arg(long, conflicts_with = "listen")]
    pub(crate) print_manifests: bool,
    /// With --print-manifests: the namespace of the portal's objects
    #[arg(
        long,
        value_name = "NAMESPACE",
        default_value = "maia-system",
        requires = "print_manifests"
    )]
    pub(crate) namespace: String,
    /// With --print-manifests: the image of the maia binary
    #[arg(long, value_name = "IMAGE", requires = "print_manifests")]
    pub(crate) image: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeycloakCommand {
    /// What a sync would change in Keycloak: exit 0 nothing, 1 something, 2 error
    Plan(KeycloakArgs),
    /// Make Keycloak hold the workspace's group, members and clients
    Sync(KeycloakArgs),
    /// The group, each member (active, invited, missing, extra) and the clients: exit 0
    /// all in place, 1 not, 2 error
    Status(KeycloakArgs),
}

/// The arguments of `maia keycloak plan | sync | status`.
#[derive(Debug, Args)]
pub(crate) struct KeycloakArgs {
    /// The workspace's config files.
    #[command(flatten)]
    pub(crate) files: WorkspaceFileArgs,
    /// As the workspace's --minimal install: only the hub's client
    #[arg(long)]
    pub(crate) minimal: bool,
    /// Output
    #[arg(long, short = 'o', value_enum, default_value_t = EventFormat::Text)]
    pub(crate) output: EventFormat,
    /// How unknown fields in the config files are taken.
    #[command(flatten)]
    pub(crate) strictness: Strictness,
}

/// How `maia version` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum VersionFormat {
    /// One line, as `--version` prints it
    #[default]
    Text,
    /// {"version": …, "commit": …}
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FleetCommand {
    /// Render every group form of a folder into one config folder, without a cluster
    #[command(
        long_about = "Render every group form of a folder into one config folder, without a cluster.\n\n\
            Each *.yaml, *.yml and *.json file of the --forms folder (sorted by name; \
            subfolders and other files are ignored) is a group form. Every group is rendered \
            as `maia namespace render` renders it, into <config folder>/<group_ID>/, in one \
            process on every core: the cluster config and the MAIA config are read once, and \
            the config folder is locked once (<config folder>/.maia/lock) for the whole run.\n\n\
            SSH ports are given in one pass before rendering, group after group in the order \
            of their group_IDs: a user keeps the port their group's credentials.yaml gives \
            them (even outside a changed port_range: their SSH config names it; a warning \
            says so); a new user gets the lowest port of port_range that no user of any group \
            under the config folder has (<config folder>/.maia/ssh-ports.json). The bundles and \
            the ledger are the same, byte for byte, as running `maia namespace render` for \
            each group in that order.\n\n\
            Only files whose bytes change are written, so a second run with the same forms \
            writes nothing. Each group is reported as new (its first render), changed, \
            unchanged or error. A bad form stops only its own group: its errors are printed \
            with the file, line, field and a hint, and the other groups are rendered. Two \
            forms whose groups map to one namespace (Brain_MRI, brain.mri, brain-mri) are \
            both refused.\n\n\
            With --gitops argocd --repo-url URL, a tree for Argo CD is written too (default \
            <config folder>/gitops/): per group its manifests without any Secret, its charts' \
            values and an application.yaml (an Argo CD Application reading them from the \
            repository under --repo-path, each chart at its pinned version), and for the \
            fleet an applicationset.yaml (a git directory generator over the group folders). \
            Commit the tree, apply the Secrets with `maia fleet deploy --secrets-only`, then \
            apply the ApplicationSet.",
        after_help = "Examples:\n  \
            maia fleet render --forms forms/ --cluster-config-file examples/workspace/cluster-nginx.yaml \\\n      \
            --config-folder out/\n  \
            maia fleet render --forms forms/ --cluster-config-file cluster.yaml \\\n      \
            --maia-config-file maia.yaml --config-folder out/ --minimal\n  \
            maia fleet render --forms forms/ --cluster-config-file cluster.yaml --config-folder out/ -o json \\\n      \
            | jq '.groups[] | select(.status != \"unchanged\")'\n  \
            maia fleet render --forms forms/ --cluster-config-file cluster.yaml --config-folder out/ \\\n      \
            --gitops argocd --repo-url https://git.example.org/maia/fleet.git --repo-path clusters/prod\n  \
            out/Brain_MRI/deploy.sh    # each bundle, after review, with KUBECONFIG set\n\n\
            Exit codes: 0 every group rendered; 2 bad input: a form is invalid, two groups \
            share a namespace, or the cluster or MAIA config is invalid (then nothing is \
            rendered); 1 another failure, e.g. a file that cannot be written."
    )]
    Render(FleetRenderArgs),
    /// Deploy every group of a folder to the cluster, a few groups at a time
    #[command(
        long_about = "Deploy every group whose form is in --forms to the cluster, a few groups at a time.\n\n\
            Each group is deployed as `maia namespace deploy` deploys it (preflight, credentials \
            and SSH ports from the cluster, maia's objects by server-side apply, the charts with \
            helm, KubeFlow once), --concurrency groups at a time (default 4). A line is printed \
            as each group ends, then a table of them all. A group that fails does not stop the \
            others; its errors are printed with their causes and hints. When KubeFlow Pipelines \
            is to be installed, the first group goes alone, so the shared install runs once.\n\n\
            --secrets-only is the GitOps hand-over: only each group's Namespace and Secrets \
            are applied, nothing is pruned and no helm runs; Argo CD applies the rest from the \
            tree `maia fleet render --gitops argocd` wrote.",
        after_help = "Examples:\n  \
            maia fleet deploy --forms forms/ --cluster-config-file cluster.yaml\n  \
            maia fleet deploy --forms forms/ --cluster-config-file cluster.yaml --config-folder out/ --concurrency 8 --wait\n  \
            maia fleet deploy --forms forms/ --cluster-config-file cluster.yaml --config-folder out/ --secrets-only\n  \
            maia fleet deploy ... -o json | jq '.groups[] | select(.status != \"deployed\")'\n\n\
            Exit codes: 0 every group deployed; 2 bad input (a form, a config file, or a \
            preflight problem in the input) for some group; 1 another failure for some group."
    )]
    Deploy(FleetDeployArgs),
    /// Show what `fleet deploy` would change, group by group, without changing anything
    #[command(after_help = "Examples:\n  \
            maia fleet plan --forms forms/ --cluster-config-file cluster.yaml\n  \
            maia fleet plan --forms forms/ --cluster-config-file cluster.yaml -o json | jq '.groups[] | select(.changes)'\n\n\
            Exit codes (as `terraform plan -detailed-exitcode`): 0 no group would change, \
            1 some group would change, 2 an error for some group.")]
    Plan(FleetPlanArgs),
    /// Show every group's workspace on the cluster: each ready or not, and why
    #[command(
        long_about = "Show every group's workspace on the cluster: ready or not, and why.\n\n\
            With --forms (and --cluster-config-file), the groups of those forms, each found \
            on the cluster or reported as not deployed; without, every workspace maia \
            deployed on the cluster.",
        after_help = "Examples:\n  \
            maia fleet status\n  \
            maia fleet status --forms forms/ --cluster-config-file cluster.yaml -o json\n\n\
            Exit codes: 0 every workspace ready; 1 some workspace not ready or not \
            deployed; 2 an error (a form, the cluster)."
    )]
    Status(FleetStatusArgs),
}

/// The files every fleet command that takes forms reads (render, plan, deploy): the
/// fleet's counterpart of [`WorkspaceFileArgs`].
#[derive(Debug, Args)]
pub(crate) struct FleetFileArgs {
    /// Folder of group forms: its *.yaml, *.yml and *.json files
    #[arg(long, value_name = "DIR")]
    pub(crate) forms: PathBuf,
    /// The cluster config of every group (domain, ingress, SSH, Keycloak, …)
    #[arg(long, value_name = "FILE", alias = "cluster-config")]
    pub(crate) cluster_config_file: PathBuf,
    /// The MAIA config (images and chart versions); built-in defaults when left out
    #[arg(long, value_name = "FILE")]
    pub(crate) maia_config_file: Option<PathBuf>,
}

/// The arguments of `maia fleet deploy` and `maia fleet plan`.
#[derive(Debug, Args)]
pub(crate) struct FleetDeployArgs {
    /// The group forms and the configs every group shares.
    #[command(flatten)]
    pub(crate) files: FleetFileArgs,
    /// The config folder `fleet render` wrote: each group's credentials.yaml is read,
    /// and (unless --secrets-only) its bundle written after its deploy
    #[arg(long, value_name = "DIR")]
    pub(crate) config_folder: Option<PathBuf>,
    /// How many groups are deployed at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) concurrency: u16,
    /// The cluster to deploy to.
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Only the namespace, pull secret, shared volume, SSH Services and JupyterHub
    #[arg(long)]
    pub(crate) minimal: bool,
    /// Wait for each component to be ready before the next
    #[arg(long)]
    pub(crate) wait: bool,
    /// How long --wait waits for each group, e.g. 10m, 1h
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub(crate) timeout: std::time::Duration,
    /// Take over fields another field manager owns (and adopt objects maia did not create)
    #[arg(long)]
    pub(crate) force_conflicts: bool,
    /// Do not run helm: install the charts yourself
    #[arg(long)]
    pub(crate) skip_helm: bool,
    /// Do not install KubeFlow Pipelines
    #[arg(long)]
    pub(crate) skip_kubeflow: bool,
    /// Apply only each group's Namespace and Secrets, prune nothing, run no helm (GitOps)
    #[arg(long, conflicts_with_all = ["wait", "skip_helm", "skip_kubeflow"])]
    pub(crate) secrets_only: bool,
    /// Namespace holding maia's state (credentials Secrets, the SSH ports Lease)
    #[arg(long, value_name = "NAMESPACE", default_value = "maia-system")]
    pub(crate) state_namespace: String,
    /// Output
    #[arg(long, short = 'o', value_enum, default_value_t = FleetFormat::Text)]
    pub(crate) output: FleetFormat,
    /// How unknown fields in the config files are taken.
    #[command(flatten)]
    pub(crate) strictness: Strictness,
}

/// The arguments of `maia fleet plan`: those of `fleet deploy` without --wait and
/// --timeout, which only change how a deploy runs.
#[derive(Debug, Args)]
pub(crate) struct FleetPlanArgs {
    /// The group forms and the configs every group shares.
    #[command(flatten)]
    pub(crate) files: FleetFileArgs,
    /// The config folder `fleet render` wrote: each group's credentials.yaml is read
    /// (nothing is written)
    #[arg(long, value_name = "DIR")]
    pub(crate) config_folder: Option<PathBuf>,
    /// How many groups are planned at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) concurrency: u16,
    /// The cluster to plan against.
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Plan as `fleet deploy --minimal` would
    #[arg(long)]
    pub(crate) minimal: bool,
    /// Plan as `fleet deploy --force-conflicts` would
    #[arg(long)]
    pub(crate) force_conflicts: bool,
    /// Plan as `fleet deploy --skip-helm` would
    #[arg(long)]
    pub(crate) skip_helm: bool,
    /// Plan as `fleet deploy --skip-kubeflow` would
    #[arg(long)]
    pub(crate) skip_kubeflow: bool,
    /// Plan as `fleet deploy --secrets-only` would
    #[arg(long, conflicts_with_all = ["skip_helm", "skip_kubeflow"])]
    pub(crate) secrets_only: bool,
    /// Namespace holding maia's state (credentials Secrets, the SSH ports Lease)
    #[arg(long, value_name = "NAMESPACE", default_value = "maia-system")]
    pub(crate) state_namespace: String,
    /// Output
    #[arg(long, short = 'o', value_enum, default_value_t = FleetFormat::Text)]
    pub(crate) output: FleetFormat,
    /// How unknown fields in the config files are taken.
    #[command(flatten)]
    pub(crate) strictness: Strictness,
}

impl From<FleetPlanArgs> for FleetDeployArgs {
    fn from(a: FleetPlanArgs) -> Self {
        FleetDeployArgs {
            files: a.files,
            config_folder: a.config_folder,
            concurrency: a.concurrency,
            cluster: a.cluster,
            minimal: a.minimal,
            wait: false,
            timeout: std::time::Duration::ZERO,
            force_conflicts: a.force_conflicts,
            skip_helm: a.skip_helm,
            skip_kubeflow: a.skip_kubeflow,
            secrets_only: a.secrets_only,
            state_namespace: a.state_namespace,
            output: a.output,
            strictness: a.strictness,
        }
    }
}

/// The arguments of `maia fleet status`.
#[derive(Debug, Args)]
pub(crate) struct FleetStatusArgs {
    /// Folder of group forms; every workspace on the cluster when left out
    #[arg(long, value_name = "DIR", requires = "cluster_config_file")]
    pub(crate) forms: Option<PathBuf>,
    /// The cluster config the forms are checked with
    #[arg(
        long,
        value_name = "FILE",
        alias = "cluster-config",
        requires = "forms"
    )]
    pub(crate) cluster_config_file: Option<PathBuf>,
    /// The MAIA config; built-in defaults when left out
    #[arg(long, value_name = "FILE", requires = "forms")]
    pub(crate) maia_config_file: Option<PathBuf>,
    /// How many workspaces are read at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) concurrency: u16,
    /// The cluster.
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Output
    #[arg(long, short = 'o', value_enum, default_value_t = FleetFormat::Text)]
    pub(crate) output: FleetFormat,
    /// How unknown fields in the config files are taken.
    #[command(flatten)]
    pub(crate) strictness: Strictness,
}

/// The arguments of `maia fleet render`.
#[derive(Debug, Args)]
pub(crate) struct FleetRenderArgs {
    /// The group forms and the configs every group shares.
    #[command(flatten)]
    pub(crate) files: FleetFileArgs,
    /// Folder the bundles are written under (as DIR/<group_ID>/)
    #[arg(long, value_name = "DIR")]
    pub(crate) config_folder: PathBuf,
    /// Only the namespace, pull secret, shared volume, SSH Services and JupyterHub
    #[arg(long)]
    pub(crate) minimal: bool,
    /// Output
    #[arg(long, short = 'o', value_enum, default_value_t = FleetFormat::Text)]
    pub(crate) output: FleetFormat,
    /// A GitOps tree for Argo CD as well.
    #[command(flatten)]
    pub(crate) gitops: GitOpsArgs,
    /// Where the credentials and ports of the groups already deployed come from.
    #[command(flatten)]
    pub(crate) source: RenderSource,
    /// How unknown fields in the config files are taken.
    #[command(flatten)]
    pub(crate) strictness: Strictness,
}

/// The GitOps hand-over: where the tree is committed and how Argo CD syncs it.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "GitOps hand-over")]
pub struct GitOpsArgs {
    /// Also write a tree without any Secret for this GitOps tool to sync (needs --repo-url)
    #[arg(long, value_enum, value_name = "TOOL", requires = "repo_url")]
    pub gitops: Option<GitOpsTool>,
    /// The git repository the tree is committed to, as Argo CD reaches it; without
    /// credentials (they would be committed): give those to Argo CD
    #[arg(long, value_name = "URL", requires = "gitops")]
    pub repo_url: Option<String>,
    /// The tree's folder inside the repository (default: the repository's root)
    #[arg(long, value_name = "PREFIX", default_value = "", requires = "gitops")]
    pub repo_path: String,
    /// The branch, tag or commit Argo CD follows
    #[arg(long, value_name = "REV", default_value = "HEAD", requires = "gitops")]
    pub target_revision: String,
    /// Where the tree is written (default: <config folder>/gitops), outside every
    /// group's bundle folder; commit its content under --repo-path
    #[arg(long, value_name = "DIR", requires = "gitops")]
    pub gitops_folder: Option<PathBuf>,
    /// Argo CD syncs only when asked (no syncPolicy.automated)
    #[arg(long, requires = "gitops")]
    pub no_auto_sync: bool,
    /// Automated sync leaves what left the tree in place (automated.prune false)
    #[arg(long, requires = "gitops", conflicts_with = "no_auto_sync")]
    pub no_prune: bool,
    /// Automated sync leaves changes made by hand in place (automated.selfHeal false)
    #[arg(long, requires = "gitops", conflicts_with = "no_auto_sync")]
    pub no_self_heal: bool,
}

/// The GitOps tools maia writes a tree for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GitOpsTool {
    /// Argo CD: an Application per group, an ApplicationSet for the fleet
    Argocd,
}

/// How `maia fleet render` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum FleetFormat {
    /// A line per group, then the totals
    #[default]
    Text,
    /// One JSON object: each group's result and the totals
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum NamespaceCommand {
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
            group rendered under the config folder has (DIR/.maia/ssh-ports.json keeps them all; runs into one folder take turns through DIR/.maia/lock); a \
            removed user frees theirs.",
        after_help = "Examples:\n  \
            maia namespace render --namespace-config-file examples/workspace/group.yaml \\\n      \
            --cluster-config-file examples/workspace/cluster-nginx.yaml --config-folder out/\n  \
            maia namespace render --namespace-config-file group.yaml --cluster-config-file cluster.yaml \\\n      \
            --maia-config-file maia.yaml --config-folder out/ --minimal\n  \
            out/Brain_MRI/deploy.sh    # after review, with KUBECONFIG set"
    )]
    Render(NamespaceRenderArgs),
    /// Deploy a group's workspace to the cluster: preflight, then every component in order
    #[command(
        long_about = "Deploy a group's whole workspace to the cluster.\n\n\
            First a preflight, which changes nothing and reports every problem at once: the \
            API server answers; you may do what the deploy needs; the CRDs it uses exist \
            (MinIO Tenant, Traefik Middleware); the storage and ingress classes the cluster \
            config names exist; helm, kubectl and git are on PATH; the namespace is not \
            reserved, no other group holds it and it is not being deleted; the form's quota \
            covers what the workspace requests; no object of the workspace's names was made \
            by someone else; --config-folder can be written.\n\n\
            Then, component by component in dependency order: maia's own objects by \
            server-side apply (field manager maia, pruned by inventory), the third-party \
            charts with `helm upgrade --install` (values in a private temporary file, skipped \
            when the deployed values and version already match), KubeFlow Pipelines with \
            `kubectl apply --server-side -k` (skipped when that version runs).\n\n\
            Credentials live in the cluster, in Secret maia-credentials-<namespace> of \
            maia-system, and are reused by every later run from any machine. SSH ports come \
            from the cluster: a user keeps theirs (even outside a changed port_range, with a \
            warning), a new user gets the lowest free port of port_range, allocated under the \
            Lease maia-ssh-ports so concurrent deploys never collide. A second run changes \
            nothing.\n\n\
            One operation per group at a time: deploy and delete hold the Lease \
            maia-op-<namespace> in maia-system while they run (renewed every 5s); another \
            run on the same group is refused, naming who holds it. Ctrl-C or SIGTERM stops \
            helm and kubectl, removes their temporary files, gives the Leases back and exits \
            130 or 143.",
        after_help = "Examples:\n  \
            maia namespace deploy --namespace-config-file group.yaml --cluster-config-file cluster.yaml\n  \
            maia namespace deploy --namespace-config-file group.yaml --cluster-config-file cluster.yaml --wait --timeout 20m\n  \
            maia namespace deploy ... --skip-helm --skip-kubeflow   # prints those steps for you to run\n  \
            maia namespace deploy ... --config-folder out/          # also writes the bundle and credentials.yaml\n  \
            maia namespace deploy ... --config-folder out/ --secrets-only   # GitOps: Argo CD applies the rest\n  \
            maia namespace deploy ... --dry-run               # the API server checks every object, stores nothing\n\n\
            Exit codes: 0 deployed, 1 the cluster refused or a component failed, 2 bad input \
            (or a preflight problem in the input)."
    )]
    Deploy(NamespaceDeployArgs),
    /// Show what `namespace deploy` would change: objects field by field, helm releases, KubeFlow
    #[command(after_help = "Examples:\n  \
            maia namespace plan --namespace-config-file group.yaml --cluster-config-file cluster.yaml\n  \
            maia namespace plan ... -o json | jq '.segments[].helm'\n\n\
            Exit codes: 0 nothing would change, 1 something would change, 2 error.")]
    Plan(NamespacePlanArgs),
    /// Show a deployed workspace: each component ready or not and why, every URL, each member's SSH command
    #[command(
        after_help = "Judged from what the workspace should hold (the record and inventory `namespace deploy` \
            keeps in its namespace) and its helm releases: a missing object, a release not deployed, a rollout \
            in progress or a deleted workspace is not ready.\n\n\
            Examples:\n  maia namespace status Brain_MRI\n  maia namespace status brain-mri -o json\n\n\
            Exit codes: 0 ready, 1 not ready (or deleted), 2 error."
    )]
    Status(NamespaceStatusArgs),
    /// List the workspaces maia deployed on the cluster
    #[command(after_help = "Examples:\n  maia namespace list\n  maia namespace list -o json")]
    List(NamespaceListArgs),
    /// Remove a workspace; volumes, the namespace and credentials stay unless --delete-data
    #[command(after_help = "Examples:\n  \
            maia namespace delete Brain_MRI\n  \
            maia namespace delete Brain_MRI --delete-data --dry-run   # what would go; nothing is deleted\n  \
            maia namespace delete Brain_MRI --delete-data --yes\n\n\
            GROUP is the group_ID or the namespace. Helm releases are uninstalled and maia's \
            objects deleted in reverse order; the shared KubeFlow install is left alone. On a \
            terminal maia asks first (with --delete-data, listing the researchers' apps and \
            volumes that go with the namespace); --yes skips the question, and without a \
            terminal --yes is required. --dry-run sends each DELETE maia would send with \
            dryRun=All (the API server checks it, deletes nothing), asks helm only which \
            releases are installed, takes no lock and asks no question.")]
    Delete(NamespaceDeleteArgs),
    /// Print a kubeconfig for the group's members: kubectl in their namespace, logged in through Keycloak
    #[command(
        long_about = "Print a kubeconfig for the group's members.\n\n\
            The cluster entry (API server and its CA) comes from your kubeconfig's context; \
            none of your credentials is copied. The user logs in through Keycloak with the \
            kubelogin exec plugin (`kubectl oidc-login`, https://github.com/int128/kubelogin), \
            with the issuer of the cluster config's keycloak settings and its \
            kubectl_client_id (default the Keycloak client_id). The context's namespace is the \
            group's. What members may do there is the Role maia-member, bound to the OIDC \
            group <oidc_groups_prefix>MAIA:<group_ID>: their own workloads, Services, \
            ConfigMaps, claims and Jobs, and nothing in other namespaces.\n\n\
            The API server must accept Keycloak's tokens (--oidc-issuer-url, \
            --oidc-client-id, --oidc-groups-claim=groups, --oidc-groups-prefix).",
        after_help = "Examples:\n  \
            maia namespace kubeconfig Brain_MRI --cluster-config-file cluster.yaml > brain-mri.kubeconfig\n  \
            KUBECONFIG=brain-mri.kubeconfig kubectl get pods    # a member, after `kubectl krew install oidc-login`"
    )]
    Kubeconfig(NamespaceKubeconfigArgs),
}

/// The arguments of `maia namespace kubeconfig`.
#[derive(Debug, Args)]
pub(crate) struct NamespaceKubeconfigArgs {
    /// The group_ID (or the namespace)
    pub(crate) group: String,
    /// The cluster config (its keycloak issuer_url and client id)
    #[arg(long, value_name = "FILE", alias = "cluster-config")]
    pub(crate) cluster_config_file: PathBuf,
    /// The kubeconfig whose context names the API server.
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
}

/// The arguments of `maia namespace deploy` and `plan` (and `MAIA_deploy_MAIA_namespace`).
#[derive(Debug, Args, Clone)]
pub struct NamespaceDeployArgs {
    /// The workspace's config files.
    #[command(flatten)]
    pub files: WorkspaceFileArgs,
    /// The cluster to deploy to.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Only the namespace, pull secret, shared volume, SSH Services and JupyterHub
    #[arg(long)]
    pub minimal: bool,
    /// Wait for each component to be ready before the next
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits in all, e.g. 10m, 1h
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// Take over fields another field manager owns (and adopt objects maia did not create)
    #[arg(long)]
    pub force_conflicts: bool,
    /// Do not run helm: print the chart installs for you to run
    #[arg(long)]
    pub skip_helm: bool,
    /// Do not install KubeFlow Pipelines: print the kubectl commands for you to run
    #[arg(long)]
    pub skip_kubeflow: bool,
    /// Apply only the Namespace and the Secrets, prune nothing, run no helm: the GitOps
    /// hand-over, where Argo CD applies the rest from the committed tree
    #[arg(long, conflicts_with_all = ["wait", "skip_helm", "skip_kubeflow"])]
    pub secrets_only: bool,
    /// Deploy into a namespace that exists but was not created by maia, making it the
    /// workspace's (its quota, default-deny policy, Pod Security and member access then
    /// cover what already runs there); without it such a namespace is refused
    #[arg(long)]
    pub adopt_namespace: bool,
    /// Send every write as a server-side dry run: the API server checks each object
    /// (validation, admission, quota, conflicts) and stores nothing; helm and kubectl
    /// are not run, no credential is kept, no file written (the workspace must exist)
    #[arg(long, conflicts_with_all = ["wait", "secrets_only"])]
    pub dry_run: bool,
    /// Namespace holding maia's state (credentials Secrets, the SSH ports Lease)
    #[arg(long, value_name = "NAMESPACE", default_value = "maia-system")]
    pub state_namespace: String,
    /// Also write the bundle (manifests, values, credentials.yaml) under DIR/<group_ID>/;
    /// its credentials.yaml is read first (with --secrets-only it is only read)
    #[arg(long, value_name = "DIR")]
    pub config_folder: Option<PathBuf>,
    /// Output
    #[arg(long, short = 'o', value_enum, default_value_t = EventFormat::Text)]
    pub output: EventFormat,
    /// Leave out the lines of what is unchanged (text output)
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// How unknown fields in the config files are taken.
    #[command(flatten)]
    pub strictness: Strictness,
}

/// The arguments of `maia namespace plan`: those of deploy that change what would be
/// done, without the ones that only change how a deploy runs (--wait, --timeout).
#[derive(Debug, Args, Clone)]
pub(crate) struct NamespacePlanArgs {
    /// The workspace's config files.
    #[command(flatten)]
    pub(crate) files: WorkspaceFileArgs,
    /// The cluster to plan against.
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Plan as `deploy --minimal` would
    #[arg(long)]
    pub(crate) minimal: bool,
    /// Plan as `deploy --force-conflicts` would
    #[arg(long)]
    pub(crate) force_conflicts: bool,
    /// Plan as `deploy --skip-helm` would (the charts are shown as skipped)
    #[arg(long)]
    pub(crate) skip_helm: bool,
    /// Plan as `deploy --skip-kubeflow` would
    #[arg(long)]
    pub(crate) skip_kubeflow: bool,
    /// Plan as `deploy --secrets-only` would: the Namespace and the Secrets
    #[arg(long, conflicts_with_all = ["skip_helm", "skip_kubeflow"])]
    pub(crate) secrets_only: bool,
    /// Plan as `deploy --adopt-namespace` would: a namespace maia did not create is
    /// planned for, not refused
    #[arg(long)]
    pub(crate) adopt_namespace: bool,
    /// Namespace holding maia's state (credentials Secrets, the SSH ports Lease)
    #[arg(long, value_name = "NAMESPACE", default_value = "maia-system")]
    pub(crate) state_namespace: String,
    /// The config folder whose DIR/<group_ID>/credentials.yaml is read (nothing is written)
    #[arg(long, value_name = "DIR")]
    pub(crate) config_folder: Option<PathBuf>,
    /// Output
    #[arg(long, short = 'o', value_enum, default_value_t = EventFormat::Text)]
    pub(crate) output: EventFormat,
    /// Leave out the lines of what is unchanged (text output)
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    /// How unknown fields in the config files are taken.
    #[command(flatten)]
    pub(crate) strictness: Strictness,
}

impl From<NamespacePlanArgs> for NamespaceDeployArgs {
    fn from(a: NamespacePlanArgs) -> Self {
        NamespaceDeployArgs {
            files: a.files,
            cluster: a.cluster,
            minimal: a.minimal,
            wait: false,
            timeout: std::time::Duration::ZERO,
            force_conflicts: a.force_conflicts,
            skip_helm: a.skip_helm,
            skip_kubeflow: a.skip_kubeflow,
            secrets_only: a.secrets_only,
            adopt_namespace: a.adopt_namespace,
            dry_run: false,
            state_namespace: a.state_namespace,
            config_folder: a.config_folder,
            output: a.output,
            quiet: a.quiet,
            strictness: a.strictness,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct NamespaceStatusArgs {
    /// The group_ID or the namespace
    pub(crate) group: String,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// The cluster config: with its keycloak_admin, Keycloak's group, members (active
    /// or invited) and clients are shown too
    #[arg(long, value_name = "FILE", alias = "cluster-config")]
    pub(crate) cluster_config_file: Option<PathBuf>,
    #[arg(long, short = 'o', value_enum, default_value_t = StatusFormat::Text)]
    pub(crate) output: StatusFormat,
}

#[derive(Debug, Args)]
pub(crate) struct NamespaceListArgs {
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[arg(long, short = 'o', value_enum, default_value_t = StatusFormat::Text)]
    pub(crate) output: StatusFormat,
}

#[derive(Debug, Args)]
pub(crate) struct NamespaceDeleteArgs {
    /// The group_ID or the namespace
    pub(crate) group: String,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Also delete the volumes, the namespace and the group's credentials
    #[arg(long)]
    pub(crate) delete_data: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Show what would be deleted, and delete nothing (the API server checks each DELETE)
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// The cluster config: with its keycloak_admin, the workspace's Keycloak clients are
    /// deleted too (and with --delete-data its group; accounts never)
    #[arg(long, value_name = "FILE", alias = "cluster-config")]
    pub(crate) cluster_config_file: Option<PathBuf>,
    /// Namespace holding maia's state
    #[arg(long, value_name = "NAMESPACE", default_value = "maia-system")]
    pub(crate) state_namespace: String,
}

/// The three files a workspace is rendered from.
#[derive(Debug, Args, Clone)]
pub struct WorkspaceFileArgs {
    /// The group form (group_ID, users, resources_limits, …)
    #[arg(long, value_name = "FILE")]
    pub namespace_config_file: PathBuf,
    /// The cluster config (domain, ingress, SSH, Keycloak, …)
    #[arg(long, value_name = "FILE", alias = "cluster-config")]
    pub cluster_config_file: PathBuf,
    /// The MAIA config (images and chart versions); built-in defaults when left out
    #[arg(long, value_name = "FILE")]
    pub maia_config_file: Option<PathBuf>,
}

/// The arguments of `maia namespace render` (and of the toolkit's entry points that
/// write a bundle).
#[derive(Debug, Args, Clone)]
pub struct NamespaceRenderArgs {
    /// The workspace's config files.
    #[command(flatten)]
    pub files: WorkspaceFileArgs,
    /// Folder the bundle is written under (as DIR/<group_ID>/)
    #[arg(long, value_name = "DIR")]
    pub config_folder: PathBuf,
    /// Only the namespace, pull secret, shared volume, SSH Services and JupyterHub
    #[arg(long)]
    pub minimal: bool,
    /// Draw a new value for this credential (repeatable), e.g. one missing from a
    /// damaged credentials.yaml; deploy again so the workspace gets it
    #[arg(long, value_name = "KEY")]
    pub regenerate: Vec<String>,
    /// Fetch the group's environment file (minio_env_name) again instead of using the
    /// bundle's copy
    #[arg(long)]
    pub refresh_env: bool,
    /// A GitOps tree for Argo CD as well.
    #[command(flatten)]
    pub gitops: GitOpsArgs,
    /// Where the credentials and ports of a deployed workspace come from.
    #[command(flatten)]
    pub source: RenderSource,
    /// How unknown fields in the config files are taken.
    #[command(flatten)]
    pub strictness: Strictness,
}

/// Where a render takes the facts of a workspace that may already be deployed. Without
/// a cluster the bundle is for a new workspace (credentials.yaml's, or drawn now), and
/// maia says so: applied over a deployed one it would replace its passwords and keys.
#[derive(Debug, Args, Clone)]
pub struct RenderSource {
    /// Take the credentials and SSH ports from the cluster (found as kubectl finds it),
    /// so the bundle matches the deployed workspace; implied by --kubeconfig or --context
    #[arg(long)]
    pub from_cluster: bool,
    /// Kubeconfig of the group's cluster (implies --from-cluster)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context of the group's cluster (implies --from-cluster)
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace holding maia's state on the cluster (the credentials Secrets)
    #[arg(long, value_name = "NAMESPACE", default_value = "maia-system")]
    pub state_namespace: String,
}

impl Default for RenderSource {
    fn default() -> Self {
        RenderSource {
            from_cluster: false,
            kubeconfig: None,
            context: None,
            state_namespace: maia_deploy::workspace::STATE_NAMESPACE.into(),
        }
    }
}

impl RenderSource {
    /// The cluster to read, when one was asked for.
    pub fn cluster(&self) -> Option<ClusterArgs> {
        (self.from_cluster || self.kubeconfig.is_some() || self.context.is_some()).then(|| {
            ClusterArgs {
                kubeconfig: self.kubeconfig.clone(),
                context: self.context.clone(),
            }
        })
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum AppCommand {
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
    /// Deploy an app to the cluster (server-side apply), then prune what it no longer has
    #[command(
        long_about = "Deploy an app to the cluster.\n\n\
            Renders the config and applies the objects with server-side apply (field manager \
            `maia`), in order: ConfigMap, PersistentVolumeClaims, Service, Job or Deployment, \
            Ingress. Objects that have not changed are skipped without a write, so deploying \
            the same file again changes nothing. Objects the app no longer has are deleted \
            (volumes are kept and reported). maia never overwrites an object it did not \
            create. The cluster is found as kubectl finds it (--kubeconfig, KUBECONFIG, \
            ~/.kube/config, in-cluster); `clusters` in the config names kubeconfig contexts \
            to deploy to, one after the other.",
        after_help = "Examples:\n  \
            maia app deploy --config-file app.json\n  \
            maia app deploy -f app.json --create-namespace --wait --timeout 10m\n  \
            maia app deploy -f app.json --context gpu-cluster -o json | jq -c .\n  \
            maia app deploy -f app.json --replace          # a changed Job: delete and recreate it\n  \
            maia app deploy -f app.json --force-conflicts  # take fields over from another manager\n\n\
            Exit codes: 0 deployed, 1 the cluster refused or the app did not become ready, 2 bad input."
    )]
    Deploy(DeployArgs),
    /// Show what `deploy` would change, field by field, without changing anything
    #[command(after_help = "Examples:\n  \
            maia app plan --config-file app.json\n  \
            maia app plan -f app.json -o json | jq '.steps[] | select(.change.action != \"unchanged\")'\n\n\
            Exit codes (as `terraform plan -detailed-exitcode`): 0 nothing would change, \
            1 something would change, 2 error.")]
    Plan(PlanArgs),
    /// Show an app: ready or not and why, time left for Jobs, ports, ingress URLs
    #[command(after_help = "Examples:\n  \
            maia app status jupyterlab-1-v1 -n demo\n  \
            maia app status jupyterlab-1-v1 -n demo -o yaml\n\n\
            Ready means it serves: every object its inventory lists exists, its Deployment \
            is available or its Job's pod runs and is ready, and its volumes are bound (or wait \
            for their first consumer). A Job that has finished or whose allocation time is over \
            is not ready.\n\n\
            Exit codes: 0 ready, 1 not ready (or no such app), 2 error.")]
    Status(StatusArgs),
    /// List the apps maia deployed in a namespace (or in all with -A)
    #[command(after_help = "Examples:\n  maia app list -n demo\n  maia app list -A -o json")]
    List(ListArgs),
    /// Remove an app: everything it owns except its volumes (unless --delete-volumes)
    #[command(after_help = "Examples:\n  \
            maia app delete jupyterlab-1-v1 -n demo\n  \
            maia app delete jupyterlab-1-v1 -n demo --delete-volumes --dry-run   # what would go\n  \
            maia app delete jupyterlab-1-v1 -n demo --delete-volumes --yes\n\n\
            NAME is the config's chart_name. On a terminal maia asks before deleting; --yes skips the \
            question, and without a terminal --yes is required. --dry-run sends each DELETE with \
            dryRun=All (the API server checks it, deletes nothing) and asks no question. A \
            workspace's own MySQL and MLflow are not apps: use maia namespace delete.")]
    Delete(DeleteArgs),
}

/// Which cluster to talk to, as kubectl takes it.
#[derive(Debug, Args, Clone, Default)]
pub struct ClusterArgs {
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context; an app config's `clusters`, when
    /// it names any, for app deploy and plan)
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// How a deploy or plan reports what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum EventFormat {
    /// One line per object, and a progress display while waiting
    #[default]
    Text,
    /// One JSON object per line, for scripts
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The app config (JSON, as for MAIA_deploy_helm_chart; YAML also accepted)
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) config_file: PathBuf,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Create the namespace if it does not exist
    #[arg(long)]
    pub(crate) create_namespace: bool,
    /// Wait until the workload is ready (Deployment available, Job's pod running)
    #[arg(long)]
    pub(crate) wait: bool,
    /// How long --wait waits, e.g. 90s, 5m, 1h
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub(crate) timeout: std::time::Duration,
    /// Take over fields another field manager owns (and adopt objects maia did not create)
    #[arg(long)]
    pub(crate) force_conflicts: bool,
    /// Delete and recreate a Job whose spec changed (a Job cannot be changed in place)
    #[arg(long)]
    pub(crate) replace: bool,
    /// Send every write as a server-side dry run: the API server checks it (validation,
    /// admission, conflicts) and changes nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Output
    #[arg(long, short = 'o', value_enum, default_value_t = EventFormat::Text)]
    pub(crate) output: EventFormat,
    /// Leave out the lines of what is unchanged (text output)
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) mount_files: MountFiles,
    #[command(flatten)]
    pub(crate) strictness: Strictness,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The app config
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) config_file: PathBuf,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Plan as `deploy --create-namespace` would
    #[arg(long)]
    pub(crate) create_namespace: bool,
    /// Plan as `deploy --force-conflicts` would
    #[arg(long)]
    pub(crate) force_conflicts: bool,
    /// Plan as `deploy --replace` would
    #[arg(long)]
    pub(crate) replace: bool,
    /// Output
    #[arg(long, short = 'o', value_enum, default_value_t = EventFormat::Text)]
    pub(crate) output: EventFormat,
    /// Leave out the lines of what is unchanged (text output)
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) mount_files: MountFiles,
    #[command(flatten)]
    pub(crate) strictness: Strictness,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum StatusFormat {
    #[default]
    Text,
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The app's name (the config's chart_name)
    pub(crate) name: String,
    /// Its namespace (default: the context's namespace)
    #[arg(long, short = 'n')]
    pub(crate) namespace: Option<String>,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[arg(long, short = 'o', value_enum, default_value_t = StatusFormat::Text)]
    pub(crate) output: StatusFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// The namespace (default: the context's namespace)
    #[arg(long, short = 'n', conflicts_with = "all_namespaces")]
    pub(crate) namespace: Option<String>,
    /// List apps in all namespaces
    #[arg(long, short = 'A')]
    pub(crate) all_namespaces: bool,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[arg(long, short = 'o', value_enum, default_value_t = StatusFormat::Text)]
    pub(crate) output: StatusFormat,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The app's name (the config's chart_name)
    pub(crate) name: String,
    /// Its namespace (default: the context's namespace)
    #[arg(long, short = 'n')]
    pub(crate) namespace: Option<String>,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Also delete its PersistentVolumeClaims, and the data in them
    #[arg(long)]
    pub(crate) delete_volumes: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Show what would be deleted, and delete nothing (the API server checks each DELETE)
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// The cluster config: with its keycloak_admin, the workspace's Keycloak clients are
    /// deleted too (and with --delete-data its group; accounts never)
    #[arg(long, value_name = "FILE", alias = "cluster-config")]
    pub(crate) cluster_config_file: Option<PathBuf>,
}

/// The longest timeout accepted: a week.
const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

/// "90s", "5m", "1h", "1h30m", or plain seconds; at most a week.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let secs = parse_seconds(text)?;
    if secs > MAX_TIMEOUT_SECS {
        return Err(format!(
            "{text:?} is longer than a week ({MAX_TIMEOUT_SECS}s), the longest timeout maia waits"
        ));
    }
    Ok(std::time::Duration::from_secs(secs))
}

fn parse_seconds(text: &str) -> Result<u64, String> {
    let wrong = || format!("{text:?} is not a duration; write e.g. 90s, 5m or 1h30m");
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs);
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(wrong()),
        };
        let n: u64 = number.parse().map_err(|_| wrong())?;
        total = n
            .checked_mul(unit)
            .and_then(|t| total.checked_add(t))
            .ok_or_else(wrong)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(wrong());
    }
    Ok(total)
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// The app config (JSON, as for MAIA_deploy_helm_chart; YAML also accepted)
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) config_file: PathBuf,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Yaml)]
    pub(crate) output: Format,
    /// Write one file per object into DIR instead of printing
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) mount_files: MountFiles,
    #[command(flatten)]
    pub(crate) strictness: Strictness,
}

/// Which files an app's `mount_files` may read.
#[derive(Debug, Args, Clone, Copy, Default)]
pub(crate) struct MountFiles {
    /// Let mount_files read regular files outside the config file's folder (their
    /// content goes into a ConfigMap the research group can read)
    #[arg(long)]
    pub(crate) allow_outside_files: bool,
}

impl MountFiles {
    /// The load options of an app command.
    pub(crate) fn options(self, strictness: Strictness) -> maia_spec::LoadOptions {
        maia_spec::LoadOptions {
            lenient: strictness.lenient,
            mount_files: if self.allow_outside_files {
                maia_spec::app::MountFileAccess::Anywhere
            } else {
                maia_spec::app::MountFileAccess::ConfigFolder
            },
        }
    }
}

/// Whether unknown fields in a config file are errors or warnings.
#[derive(Debug, Args, Clone, Copy)]
pub struct Strictness {
    /// Report unknown fields as warnings instead of errors (for files written for the
    /// original toolkit, which ignored them)
    #[arg(long)]
    pub lenient: bool,
}

impl From<Strictness> for maia_spec::LoadOptions {
    fn from(s: Strictness) -> Self {
        maia_spec::LoadOptions {
            lenient: s.lenient,
            ..Default::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
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
pub(crate) enum Kind {
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
