//! A research group's workspace: rendered into a bundle ([`render()`]), or planned,
//! deployed, read, listed and deleted on its cluster.

mod cluster;
pub(crate) mod render;

pub use cluster::{
    DeleteInput, Deleted, DeployInput, Deployed, HandOver, Planned, check_writable, contents,
    delete, delete_question, deploy, find, hand_over, helm, kubeconfig, left_to_admin, list,
    member_login, plan, status, write_bundle,
};
pub use maia_deploy::workspace::manage::{Contents, WorkspaceEntry, WorkspaceStatus};
pub use maia_deploy::workspace::{HelmChange, KubeflowChange, WorkspacePlan};
pub use render::{
    ConfigFolder, Files, RenderInput, Rendered, install_commands, load, render, render_from,
    render_spec, write_namespace_script,
};
