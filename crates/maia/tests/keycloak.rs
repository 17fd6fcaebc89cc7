//! A workspace deploy with the cluster config's keycloak_admin, through the library:
//! Keycloak is part of the plan and of the deploy (group, members, the workspace's own
//! clients, whose secrets the components are rendered with), against the in-memory
//! cluster and the fake Keycloak.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maia::workspace::{self, DeployInput};
use maia::{Cancel, Env, Event, Hidden};
use maia_spec::workspace::{KeycloakAdmin, WorkspaceSpec};
use maia_testkit::keycloak::{ADMIN_CLIENT_ID, FakeKeycloak, REALM};
use maia_testkit::{FakeCluster, StandIns};

fn spec(kc: &FakeKeycloak) -> WorkspaceSpec {
    let mut spec = WorkspaceSpec::test();
    spec.cluster.keycloak_admin = Some(KeycloakAdmin {
        url: kc.url(),
        realm: REALM.into(),
        client_id: ADMIN_CLIENT_ID.into(),
        client_secret_file: None,
        invite_lifespan: 86_400,
        per_workspace_clients: true,
    });
    spec
}

fn input(spec: WorkspaceSpec) -> DeployInput {
    DeployInput {
        spec,
        form: "group.yaml".into(),
        config_folder: None,
        state_namespace: "maia-system".into(),
        skip_helm: false,
        // KubeFlow is shared by every group, and not this test's subject.
        skip_kubeflow: true,
        secrets_only: false,
        adopt_namespace: false,
        force_conflicts: false,
        wait: None,
        dry_run: false,
    }
}

fn env(tools: &StandIns, kc: &FakeKeycloak) -> Env {
    Env {
        path: Some(tools.path()),
        tools: Default::default(),
        holder: "test".into(),
        keycloak_secret: Some(Hidden(kc.admin_secret())),
    }
}

#[tokio::test]
async fn keycloak_is_planned_then_deployed_first_and_its_client_secrets_reach_the_components() {
    let kc = FakeKeycloak::start();
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let env = env(&tools, &kc);
    let input = input(spec(&kc));

    // The plan shows Keycloak's changes and writes nowhere.
    let planned = workspace::plan(&cluster, &env, &input, &mut maia::Discard)
        .await
        .unwrap();
    let keycloak = planned.keycloak.clone().unwrap();
    assert!(keycloak.create_group && keycloak.has_changes());
    assert!(planned.changes);
    let text = maia::text::workspace_plan(&planned);
    assert!(
        text.contains("  + keycloak group MAIA:Brain_MRI  create"),
        "{text}"
    );
    assert!(
        text.contains("+ keycloak client maia-brain-mri-hub  create"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("Keycloak would change."),
        "{text}"
    );
    assert_eq!(kc.writes(), []);

    // The deploy: Keycloak first, then the cluster, with Keycloak's secrets.
    let mut events = Vec::new();
    let deployed = workspace::deploy(&cluster, &env, &input, &Cancel::new(), &mut |e| {
        events.push(e)
    })
    .await
    .unwrap();
    let first_keycloak = events
        .iter()
        .position(|e| matches!(e, Event::Keycloak { .. }))
        .unwrap();
    let first_write = events
        .iter()
        .position(|e| matches!(e, Event::Cluster(_)))
        .unwrap();
    assert!(first_keycloak < first_write, "{events:?}");
    assert_eq!(
        kc.members("MAIA:Brain_MRI").unwrap(),
        input.spec.users.clone()
    );
    let hub_secret = kc.client_secret("maia-brain-mri-hub").unwrap();
    assert_eq!(
        deployed.bundle.credentials.0["keycloak.hub.client_secret"],
        hub_secret
    );
    // No event carries a client secret.
    let said = format!("{events:?}");
    for s in ["hub", "proxy", "minio"] {
        let secret = kc.client_secret(&format!("maia-brain-mri-{s}")).unwrap();
        assert!(!said.contains(&secret), "{s}");
    }

    // A second deploy writes nothing to Keycloak, and nothing of the group's.
    let writes = kc.writes().len();
    let mut events = Vec::new();
    workspace::deploy(&cluster, &env, &input, &Cancel::new(), &mut |e| {
        events.push(e)
    })
    .await
    .unwrap();
    assert_eq!(kc.writes().len(), writes, "Keycloak was written again");
    assert!(!events.iter().any(|e| matches!(e, Event::Keycloak { .. })));
    let planned = workspace::plan(&cluster, &env, &input, &mut maia::Discard)
        .await
        .unwrap();
    assert!(!planned.changes, "{}", maia::text::workspace_plan(&planned));
}

#[tokio::test]
async fn a_workspace_the_cluster_refuses_changes_nothing_in_keycloak() {
    let kc = FakeKeycloak::start();
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    // helm is not on this PATH: the preflight refuses the deploy.
    let mut env = env(&tools, &kc);
    env.path = Some(dir.path().join("nowhere").into_os_string());
    let err = workspace::deploy(
        &cluster,
        &env,
        &input(spec(&kc)),
        &Cancel::new(),
        &mut maia::Discard,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("preflight"), "{err}");
    assert_eq!(
        kc.writes(),
        [],
        "Keycloak was changed for a refused workspace"
    );
}

#[tokio::test]
async fn deleting_the_workspace_removes_its_clients_and_with_its_data_its_group_never_an_account() {
    let kc = FakeKeycloak::start();
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let env = env(&tools, &kc);
    let spec = spec(&kc);
    let settings = spec.cluster.keycloak_admin.clone();
    workspace::deploy(
        &cluster,
        &env,
        &input(spec.clone()),
        &Cancel::new(),
        &mut maia::Discard,
    )
    .await
    .unwrap();
    let entry = workspace::find(&cluster, &spec.group_id).await.unwrap();
    let delete = |dry_run| workspace::DeleteInput {
        state_namespace: "maia-system".into(),
        delete_data: true,
        dry_run,
        keycloak: settings.clone(),
    };
    let clients = |kc: &FakeKeycloak| {
        kc.client_ids()
            .into_iter()
            .filter(|c| c.starts_with("maia-brain-mri-"))
            .count()
    };

    // A dry run says what would go in Keycloak, and removes nothing there.
    let mut events = Vec::new();
    workspace::delete(
        &cluster,
        &env,
        &entry,
        &delete(true),
        &Cancel::new(),
        &mut |e| events.push(e),
    )
    .await
    .unwrap();
    let said: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Keycloak { change } => Some(change.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(said.len(), 4, "{said:?}");
    assert!(said.iter().all(|s| s.contains("(dry run)")), "{said:?}");
    assert_eq!(clients(&kc), 3);
    assert!(kc.group_id("MAIA:Brain_MRI").is_some());

    workspace::delete(
        &cluster,
        &env,
        &entry,
        &delete(false),
        &Cancel::new(),
        &mut maia::Discard,
    )
    .await
    .unwrap();
    assert_eq!(clients(&kc), 0);
    assert!(kc.group_id("MAIA:Brain_MRI").is_none());
    for user in &spec.users {
        assert!(kc.user(user).is_some(), "{user}'s account was deleted");
    }
}

#[tokio::test]
async fn a_fleet_deploy_keeps_each_groups_keycloak_part() {
    let kc = FakeKeycloak::start();
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let forms = dir.path().join("forms");
    std::fs::create_dir_all(&forms).unwrap();
    for (file, group, user) in [
        ("a.yaml", "Brain_MRI", "alice@example.org"),
        ("b.yaml", "Lung_CT", "bob@example.org"),
    ] {
        std::fs::write(
            forms.join(file),
            format!(
                "group_ID: {group}\nusers:\n  - {user}\nresources_limits:\n  memory: [\"4G\", \"8G\"]\n  cpu: [2, 4]\n"
            ),
        )
        .unwrap();
    }
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workspace/cluster-nginx.yaml");
    let cluster_config = dir.path().join("cluster.yaml");
    std::fs::write(
        &cluster_config,
        format!(
            "{}\nkeycloak_admin:\n  url: {}\n  realm: {REALM}\n  client_id: {ADMIN_CLIENT_ID}\n  per_workspace_clients: true\n",
            std::fs::read_to_string(example).unwrap(),
            kc.url()
        ),
    )
    .unwrap();
    let input = maia::fleet::FleetInput {
        forms,
        cluster_config_file: cluster_config,
        maia_config_file: None,
        minimal: true,
        options: maia_spec::LoadOptions::default(),
        config_folder: None,
        state_namespace: "maia-system".into(),
        skip_helm: false,
        skip_kubeflow: true,
        secrets_only: false,
        force_conflicts: false,
        wait: None,
        concurrency: 2,
    };
    let rows = maia::fleet::deploy(
        &cluster,
        &env(&tools, &kc),
        &input,
        &Cancel::new(),
        &mut Quiet,
    )
    .await
    .unwrap();
    assert!(
        rows.iter().all(|r| r.word() == "deployed"),
        "{:?}",
        rows.iter().map(|r| r.word()).collect::<Vec<_>>()
    );
    assert_eq!(kc.members("MAIA:Brain_MRI").unwrap(), ["alice@example.org"]);
    assert_eq!(kc.members("MAIA:Lung_CT").unwrap(), ["bob@example.org"]);
    // --minimal: only the hub logs in, so each group has one client of its own.
    let mut own: Vec<String> = kc
        .client_ids()
        .into_iter()
        .filter(|c| c.starts_with("maia-"))
        .filter(|c| c != ADMIN_CLIENT_ID)
        .collect();
    own.sort();
    assert_eq!(own, ["maia-brain-mri-hub", "maia-lung-ct-hub"]);
}

/// A fleet sink that says nothing.
struct Quiet;

impl maia::fleet::FleetSink for Quiet {
    fn warnings(&mut self, _: &[maia_spec::Diagnostic]) {}
    fn loaded(&mut self, _: &[&str]) {}
    fn ended(&mut self, _: &maia::fleet::Row) {}
}
