//! `maia namespace status` judged from what the workspace should be (its record,
//! inventory and helm releases), not from whatever objects happen to be left (issue
//! 16, item 17): a missing Deployment, a deleted workspace and a rollout in progress
//! are not ready; every URL and each member's SSH command are shown.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::FakeExt;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DeleteParams};
use maia_deploy::Status;
use maia_deploy::tools::{Helm, ToolTarget};
use maia_deploy::workspace::deploy::{Request, deploy, prepare};
use maia_deploy::workspace::manage::{self, WorkspaceStatus};
use maia_deploy::workspace::preflight::Needs;
use maia_render::workspace::credentials::CountingSource;
use maia_spec::workspace::WorkspaceSpec;
use maia_testkit::StandIns;
use maia_testkit::{FakeCluster, Kubelet};

struct Env {
    c: FakeCluster,
    _dir: tempfile::TempDir,
    tools: StandIns,
}

impl Env {
    async fn deployed(kubelet: Kubelet) -> Env {
        let c = FakeCluster::ready_for_workspaces().await;
        c.set_kubelet(kubelet);
        let dir = tempfile::tempdir().unwrap();
        let tools = StandIns::write(dir.path()).unwrap();
        let spec = WorkspaceSpec::test();
        let request = Request {
            needs: Needs {
                helm: true,
                kubeflow: true,
            },
            spec,
            state_namespace: "maia-system".into(),
            path: Some(tools.path()),
            tool_target: ToolTarget::default(),
            force_conflicts: false,
            file_credentials: None,
            given_credentials: Default::default(),
            lease_timeout: Duration::from_secs(30),
            holder: maia_deploy::lease::Holder::new("tester@test (pid 1)"),
            env_file: None,
            secrets_only: false,
            adopt_namespace: false,
        };
        let cluster = c.cluster();
        let prepared = prepare(&cluster, &request, &mut CountingSource::default(), true)
            .await
            .unwrap();
        deploy(&cluster, &request, prepared, None, &mut |_| {})
            .await
            .unwrap();
        Env {
            c,
            _dir: dir,
            tools,
        }
    }

    fn helm(&self) -> Helm {
        Helm::new(self.tools.helm(), ToolTarget::default())
    }

    async fn status(&self) -> WorkspaceStatus {
        let cluster = self.c.cluster();
        let entry = manage::find(&cluster, "Brain_MRI").await.unwrap();
        manage::status(&cluster, &entry, Some(&self.helm()))
            .await
            .unwrap()
    }
}

fn component<'a>(s: &'a WorkspaceStatus, name: &str) -> &'a manage::ComponentStatus {
    s.components
        .iter()
        .find(|c| c.component == name)
        .unwrap_or_else(|| panic!("no component {name} in {:#?}", s.components))
}

#[tokio::test]
async fn a_deployed_workspace_is_ready_with_every_url_and_ssh_command() {
    let env = Env::deployed(Kubelet::Ready).await;
    let s = env.status().await;
    assert!(s.ready, "{:#?}", s.components);
    assert!(s.components.iter().all(|c| c.status.is_ready()));
    assert_eq!(
        component(&s, "jupyterhub").urls,
        ["https://brain-mri.maia.example.org/"]
    );
    // Every URL of a component, not the first.
    assert_eq!(component(&s, "orthanc_ohif").urls.len(), 2, "{s:#?}");
    let emails: Vec<&str> = s.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["alice@example.org", "bob.smith@example.org"]);
    for u in &s.users {
        let port = u.ssh_port.unwrap();
        assert_eq!(
            u.ssh_command.as_deref(),
            Some(format!("ssh -p {port} maia-user@ssh.maia.example.org").as_str())
        );
    }
}

#[tokio::test]
async fn a_missing_mysql_deployment_is_a_failed_mysql() {
    let env = Env::deployed(Kubelet::Ready).await;
    let api: Api<Deployment> = Api::namespaced(env.c.backend(), "brain-mri");
    api.delete("mysql-db-v1-mkg", &DeleteParams::default())
        .await
        .unwrap();
    let s = env.status().await;
    assert!(!s.ready);
    let mysql = component(&s, "mysql");
    assert!(
        matches!(&mysql.status, Status::Failed(r) if r.contains("Deployment/mysql-db-v1-mkg is missing")),
        "{mysql:?}"
    );
}

#[tokio::test]
async fn a_deleted_workspace_is_not_ready() {
    let env = Env::deployed(Kubelet::Ready).await;
    let cluster = env.c.cluster();
    let entry = manage::find(&cluster, "Brain_MRI").await.unwrap();
    manage::delete(
        &cluster,
        &entry,
        Some(&env.helm()),
        "maia-system",
        false,
        &maia_deploy::lease::Holder::new("tester@test (pid 1)"),
        &mut |_| {},
    )
    .await
    .unwrap();
    let s = env.status().await;
    assert!(!s.ready);
    assert!(
        !s.components.iter().any(|c| c.status.is_ready()),
        "{:#?}",
        s.components
    );
    let w = component(&s, "workspace");
    assert!(w.status.reason().unwrap().starts_with("deleted"), "{w:?}");
}

#[tokio::test]
async fn a_rollout_in_progress_is_not_ready() {
    let env = Env::deployed(Kubelet::Idle).await;
    let s = env.status().await;
    assert!(!s.ready);
    assert!(matches!(
        component(&s, "mysql").status,
        Status::InProgress(_)
    ));
}

#[tokio::test]
async fn an_uninstalled_release_is_a_failed_component() {
    let env = Env::deployed(Kubelet::Ready).await;
    env.helm()
        .uninstall("label-studio", "brain-mri")
        .await
        .unwrap();
    let s = env.status().await;
    assert!(!s.ready);
    assert!(
        matches!(&component(&s, "label_studio").status, Status::Failed(r) if r.contains("label-studio is not installed")),
        "{s:#?}"
    );
}
