//! Members with real e-mails (issue 16) deployed against the in-memory cluster: every
//! address gets its Services, a second run finds their ports again and writes nothing,
//! and status names each member by e-mail.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::FakeExt;
use std::time::Duration;

use maia_deploy::tools::ToolTarget;
use maia_deploy::workspace::deploy::{Request, deploy, prepare};
use maia_deploy::workspace::manage;
use maia_deploy::workspace::preflight::Needs;
use maia_render::workspace::credentials::CountingSource;
use maia_spec::workspace::{WorkspaceSpec, member_name};
use maia_testkit::StandIns;
use maia_testkit::{FakeCluster, Kubelet};

fn request(spec: WorkspaceSpec, tools: &StandIns) -> Request {
    Request {
        needs: Needs {
            helm: true,
            kubeflow: !spec.minimal,
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
    }
}

async fn run(c: &FakeCluster, request: &Request) -> maia_deploy::Result<()> {
    let cluster = c.cluster();
    let prepared = prepare(&cluster, request, &mut CountingSource::default(), true).await?;
    deploy(&cluster, request, prepared, None, &mut |_| {}).await
}

fn real_e_mails() -> Vec<String> {
    vec![
        "anna-karin.lindqvist-johansson@sll.karolinska.se".into(),
        "alice+maia@example.org".into(),
        format!("{}@example.org", "l".repeat(64)),
        format!("{}.one@example.org", "x".repeat(70)),
        format!("{}.two@example.org", "x".repeat(70)),
        "alice@example.org".into(),
    ]
}

#[tokio::test]
async fn members_with_real_e_mails_deploy_keep_their_ports_and_show_by_e_mail() {
    let c = FakeCluster::ready_for_workspaces().await;
    c.set_kubelet(Kubelet::Ready);
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let mut spec = WorkspaceSpec::test().minimal();
    spec.users = real_e_mails();
    let request = request(spec.clone(), &tools);
    run(&c, &request).await.unwrap();

    let services = c.objects("/api/v1/namespaces/brain-mri/services").await;
    let port_of = |user: &str| {
        services
            .iter()
            .find(|s| s["metadata"]["name"] == format!("{}-ssh", member_name(user)))
            .unwrap_or_else(|| panic!("no SSH Service for {user}"))["spec"]["ports"][0]["nodePort"]
            .as_u64()
            .unwrap()
    };
    let ports: Vec<u64> = spec.users.iter().map(|u| port_of(u)).collect();
    let distinct: std::collections::BTreeSet<_> = ports.iter().collect();
    assert_eq!(distinct.len(), ports.len(), "{ports:?}");

    // The second run finds every member's Service, so their ports, again.
    c.clear_requests();
    run(&c, &request).await.unwrap();
    assert_eq!(c.object_writes(), []);

    let cluster = c.cluster();
    let entry = manage::find(&cluster, "Brain_MRI").await.unwrap();
    let helm = maia_deploy::tools::Helm::new(tools.helm(), ToolTarget::default());
    let status = manage::status(&cluster, &entry, Some(&helm)).await.unwrap();
    let mut shown: Vec<(String, Option<u16>)> = status
        .users
        .iter()
        .map(|u| (u.email.clone(), u.ssh_port))
        .collect();
    shown.sort();
    let mut wanted: Vec<(String, Option<u16>)> = spec
        .users
        .iter()
        .zip(&ports)
        .map(|(u, p)| (u.clone(), u16::try_from(*p).ok()))
        .collect();
    wanted.sort();
    assert_eq!(shown, wanted);
}
