//! The library as a front end uses it: typed inputs, events through a sink, a cancel
//! handle, typed results; against the in-memory cluster with recording stand-ins for
//! helm, kubectl and git, and nothing read from the process's environment.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use maia::workspace::{self, DeployInput};
use maia::{Cancel, Env, Error, Event};
use maia_spec::workspace::WorkspaceSpec;
use maia_testkit::{FakeCluster, StandIns};

fn input(spec: WorkspaceSpec, folder: Option<&std::path::Path>) -> DeployInput {
    DeployInput {
        spec,
        form: "group.yaml".into(),
        config_folder: folder.map(Into::into),
        state_namespace: "maia-system".into(),
        skip_helm: false,
        skip_kubeflow: false,
        secrets_only: false,
        adopt_namespace: false,
        force_conflicts: false,
        wait: None,
        dry_run: false,
    }
}

/// The environment is what the caller passes: helm and kubectl are the stand-ins on
/// this PATH, whatever the test process's own PATH holds.
fn env(tools: &StandIns) -> Env {
    Env {
        path: Some(tools.path()),
        tools: Default::default(),
        holder: "portal (admin@example.org)".into(),
        keycloak_secret: None,
    }
}

fn applied_changes(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| {
            matches!(e, Event::Cluster(maia_deploy::Event::Applied { outcome, .. })
                if *outcome != maia_deploy::Outcome::Unchanged)
        })
        .count()
}

#[tokio::test]
async fn a_deploy_reports_events_returns_its_result_and_a_second_run_writes_nothing() {
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let input = input(WorkspaceSpec::test(), Some(folder.path()));
    let mut events = Vec::new();
    let deployed = workspace::deploy(&cluster, &env(&tools), &input, &Cancel::new(), &mut |e| {
        events.push(e)
    })
    .await
    .unwrap();
    // The preflight passed before the first write was reported.
    let preflight = events
        .iter()
        .position(|e| matches!(e, Event::PreflightPassed { .. }))
        .unwrap();
    let first_write = events
        .iter()
        .position(|e| matches!(e, Event::Cluster(_)))
        .unwrap();
    assert!(preflight < first_write, "{events:?}");
    assert!(applied_changes(&events) > 0);
    // Each chart's install is announced before helm runs (helm --wait can take
    // minutes), and its outcome follows.
    let mut charts = 0;
    for (i, e) in events.iter().enumerate() {
        if let Event::Cluster(maia_deploy::Event::Helm {
            release, outcome, ..
        }) = e
            && outcome == "installed"
        {
            charts += 1;
            let announced = events[..i].iter().rev().find_map(|e| match e {
                Event::Cluster(maia_deploy::Event::Running { step }) => Some(step.clone()),
                _ => None,
            });
            let announced = announced.unwrap_or_default();
            assert!(
                announced.starts_with(&format!("helm upgrade --install {release} ")),
                "{release}: {announced:?}"
            );
        }
    }
    assert!(charts >= 3, "{events:?}");
    // The bundle went to the config folder, each file reported, credentials.yaml too.
    assert!(deployed.fresh > 0);
    assert!(
        deployed
            .written
            .iter()
            .any(|p| p.ends_with("Brain_MRI/credentials.yaml")),
        "{:?}",
        deployed.written
    );
    let wrote = events
        .iter()
        .filter(|e| matches!(e, Event::Wrote { .. }))
        .count();
    assert_eq!(wrote, deployed.written.len());
    // What the group is told: every component's URL and each member's SSH command.
    assert!(
        deployed
            .hand_over
            .urls
            .iter()
            .any(|(c, u)| c == "jupyterhub" && u.starts_with("https://")),
        "{:?}",
        deployed.hand_over
    );
    assert!(!deployed.hand_over.members.is_empty());
    for (email, ssh) in &deployed.hand_over.members {
        let ssh = ssh.as_deref().unwrap_or_default();
        assert!(ssh.starts_with("ssh -p "), "{email}: {ssh:?}");
    }
    assert_eq!(deployed.left_to_admin, Vec::<String>::new());
    // No event carries a secret.
    let text = format!("{events:?}");
    for value in deployed.bundle.credentials.0.values() {
        assert!(
            !text.contains(value.as_str()),
            "an event holds a credential"
        );
    }

    c.clear_requests();
    let mut again = Vec::new();
    let redeployed = workspace::deploy(&cluster, &env(&tools), &input, &Cancel::new(), &mut |e| {
        again.push(e)
    })
    .await
    .unwrap();
    assert_eq!(redeployed.fresh, 0);
    assert_eq!(applied_changes(&again), 0);
    assert_eq!(c.object_writes(), [], "a second deploy writes nothing");
}

#[tokio::test]
async fn a_cancelled_deploy_stops_after_the_write_in_flight_and_a_rerun_converges() {
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let input = input(WorkspaceSpec::test(), None);
    let cancel = Cancel::new();
    let mut events = Vec::new();
    // The front end cancels as soon as it sees the first object applied.
    let result = {
        let cancel_on_first = cancel.clone();
        workspace::deploy(&cluster, &env(&tools), &input, &cancel, &mut |e: Event| {
            if matches!(e, Event::Cluster(maia_deploy::Event::Applied { .. })) {
                cancel_on_first.cancel();
            }
            events.push(e);
        })
        .await
    };
    let Err(Error::Cancelled { during, .. }) = result else {
        panic!("expected a cancelled deploy, got {result:?}");
    };
    assert_eq!(during, "namespace deploy of Brain_MRI");
    // It stopped: no helm release was installed, no later component was applied.
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Cluster(maia_deploy::Event::Helm { .. }))),
        "{events:?}"
    );
    let applied_before = applied_changes(&events);
    // Its Leases were given back: a re-run does not wait for them, and converges.
    let mut rerun = Vec::new();
    workspace::deploy(&cluster, &env(&tools), &input, &Cancel::new(), &mut |e| {
        rerun.push(e)
    })
    .await
    .unwrap();
    assert!(applied_changes(&rerun) > 0, "the re-run finished the work");
    assert!(
        rerun
            .iter()
            .any(|e| matches!(e, Event::Cluster(maia_deploy::Event::Helm { .. }))),
        "{rerun:?}"
    );
    c.clear_requests();
    workspace::deploy(
        &cluster,
        &env(&tools),
        &input,
        &Cancel::new(),
        &mut maia::Discard,
    )
    .await
    .unwrap();
    assert_eq!(
        c.object_writes(),
        [],
        "converged: a third run writes nothing"
    );
    assert!(applied_before > 0);
}

#[tokio::test]
async fn plan_writes_nothing_and_says_what_a_deploy_would_do() {
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let planned = workspace::plan(
        &cluster,
        &env(&tools),
        &input(WorkspaceSpec::test(), None),
        &mut maia::Discard,
    )
    .await
    .unwrap();
    assert!(planned.changes);
    assert!(!planned.new_credentials.is_empty());
    assert_eq!(c.writes(), [], "a plan writes nothing");
    let helm = tools.log("helm.log");
    assert!(helm.iter().all(|c| !c.contains("upgrade")), "{helm:?}");
}

fn app_example() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/app/jupyterlab.json")
}

#[tokio::test]
async fn an_app_deploys_reads_back_and_deletes_through_the_library() {
    let c = FakeCluster::new(&["demo"]).await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let (app, objects) =
        maia::app::load_and_render(&app_example(), maia_spec::LoadOptions::default()).unwrap();
    let release = app.spec.release.to_string();
    let plan = maia::app::plan(&cluster, &app, &objects, Default::default())
        .await
        .unwrap();
    assert!(plan.has_changes());
    assert_eq!(c.writes(), [], "a plan writes nothing");
    let mut events = Vec::new();
    maia::app::deploy(
        &cluster,
        &app,
        &objects,
        Default::default(),
        &Cancel::new(),
        &mut |e| events.push(e),
    )
    .await
    .unwrap();
    assert_eq!(applied_changes(&events), objects.len(), "{events:?}");
    let listed = maia::app::list(&cluster, Some("demo")).await.unwrap();
    assert_eq!(
        listed.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        [release.as_str()]
    );
    let status = maia::app::status(&cluster, "demo", &release).await.unwrap();
    assert_eq!(status.name, release);
    maia::app::check_delete(&cluster, "demo", &release)
        .await
        .unwrap();
    // With its volumes: kept, a claim would still show the app.
    maia::app::delete(
        &cluster,
        "demo",
        &release,
        true,
        false,
        &Cancel::new(),
        &mut maia::Discard,
    )
    .await
    .unwrap();
    // Gone: its status is "not found", which a front end tells from a failure.
    let gone = maia::app::status(&cluster, "demo", &release).await;
    assert!(
        matches!(
            gone,
            Err(Error::Deploy(maia_deploy::DeployError::Kube(
                maia_kube::KubeError::AppNotFound { .. }
            )))
        ),
        "{gone:?}"
    );
}

#[tokio::test]
async fn a_cancelled_app_deploy_applies_nothing_and_says_so() {
    let c = FakeCluster::new(&["demo"]).await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let (app, objects) =
        maia::app::load_and_render(&app_example(), maia_spec::LoadOptions::default()).unwrap();
    let cancel = Cancel::new();
    cancel.cancel();
    let result = maia::app::deploy(
        &cluster,
        &app,
        &objects,
        Default::default(),
        &cancel,
        &mut maia::Discard,
    )
    .await;
    let Err(Error::Cancelled { during, .. }) = result else {
        panic!("expected a cancelled deploy, got {result:?}");
    };
    assert!(during.starts_with("app deploy of "), "{during}");
    assert_eq!(c.object_writes(), [], "cancelled before the first write");
}

/// What a fleet run reported, in order.
#[derive(Default)]
struct Seen {
    loaded: Vec<String>,
    ended: Vec<String>,
}

impl maia::fleet::FleetSink for Seen {
    fn warnings(&mut self, _: &[maia_spec::Diagnostic]) {}
    fn loaded(&mut self, group_ids: &[&str]) {
        self.loaded = group_ids.iter().map(ToString::to_string).collect();
    }
    fn ended(&mut self, row: &maia::fleet::Row) {
        self.ended.push(format!("{} {}", row.group_id, row.word()));
    }
}

#[tokio::test]
async fn a_fleet_deploys_every_group_reports_each_as_it_ends_and_a_bad_form_stops_no_other() {
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let forms = dir.path().join("forms");
    std::fs::create_dir_all(&forms).unwrap();
    for (file, group) in [("a.yaml", "Brain_MRI"), ("b.yaml", "Lung_CT")] {
        std::fs::write(
            forms.join(file),
            format!(
                "group_ID: {group}\nusers:\n  - alice@example.org\nresources_limits:\n  memory: [\"4G\", \"8G\"]\n  cpu: [2, 4]\n"
            ),
        )
        .unwrap();
    }
    std::fs::write(forms.join("c.yaml"), "group_ID: [not, a, name]\n").unwrap();
    let input = maia::fleet::FleetInput {
        forms,
        cluster_config_file: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/workspace/cluster-nginx.yaml"),
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
    let mut seen = Seen::default();
    let rows = maia::fleet::deploy(&cluster, &env(&tools), &input, &Cancel::new(), &mut seen)
        .await
        .unwrap();
    let words: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.group_id, r.word()))
        .collect();
    assert_eq!(words, ["Brain_MRI deployed", "Lung_CT deployed", "- error"]);
    assert_eq!(seen.loaded, ["Brain_MRI", "Lung_CT", "-"]);
    // Each group was reported as it ended: the bad form at once, before any deploy.
    assert_eq!(seen.ended.len(), 3);
    assert_eq!(seen.ended[0], "- error");
    let maia::fleet::Ended::Failed(e) = &rows[2].result else {
        panic!("the bad form failed");
    };
    assert!(e.is_bad_input(), "{e}");
    // Both workspaces are there; a second run changes nothing.
    let listed = workspace::list(&cluster).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    c.clear_requests();
    maia::fleet::deploy(
        &cluster,
        &env(&tools),
        &input,
        &Cancel::new(),
        &mut Seen::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        c.object_writes(),
        [],
        "a second fleet deploy writes nothing"
    );
}

#[tokio::test]
async fn a_dry_run_has_every_write_checked_stores_nothing_and_runs_no_helm() {
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let spec = WorkspaceSpec::test();

    // A workspace that does not exist yet cannot be checked in its namespace: said
    // before anything is sent, as bad input.
    let mut first = input(spec.clone(), None);
    first.dry_run = true;
    let refused = workspace::deploy(
        &cluster,
        &env(&tools),
        &first,
        &Cancel::new(),
        &mut maia::Discard,
    )
    .await;
    let Err(e) = refused else {
        panic!("a dry run of a new workspace was not refused");
    };
    assert!(e.is_bad_input(), "{e}");
    assert!(e.to_string().contains("does not exist yet"), "{e}");
    assert_eq!(c.writes(), []);

    workspace::deploy(
        &cluster,
        &env(&tools),
        &input(spec.clone(), None),
        &Cancel::new(),
        &mut maia::Discard,
    )
    .await
    .unwrap();
    let helm_before = tools.log("helm.log").len();

    // A new member: a dry run reports the SSH Service and the rest as checked only.
    let mut grown = spec.clone();
    grown.users.push("bob@example.org".into());
    let mut dry = input(grown.clone(), None);
    dry.dry_run = true;
    let mut events = Vec::new();
    workspace::deploy(&cluster, &env(&tools), &dry, &Cancel::new(), &mut |e| {
        events.push(e)
    })
    .await
    .unwrap();
    let applied: Vec<&maia_deploy::Event> = events
        .iter()
        .filter_map(|e| match e {
            Event::Cluster(e @ maia_deploy::Event::Applied { .. }) => Some(e),
            _ => None,
        })
        .collect();
    assert!(applied_changes(&events) > 0, "{events:?}");
    assert!(
        applied
            .iter()
            .all(|e| matches!(e, maia_deploy::Event::Applied { dry_run: true, .. })),
        "{applied:?}"
    );
    // helm was only asked what runs (list, get), never to install or upgrade.
    let helm: Vec<String> = tools.log("helm.log")[helm_before..].to_vec();
    assert!(helm.iter().all(|c| !c.starts_with("upgrade")), "{helm:?}");
    // Nothing was stored: the change is still to be made.
    let planned = workspace::plan(
        &cluster,
        &env(&tools),
        &input(grown, None),
        &mut maia::Discard,
    )
    .await
    .unwrap();
    assert!(planned.changes, "the dry run stored its change");
}

/// The objects and helm releases a delete's events name, dry run or not.
fn removed(events: &[Event]) -> (Vec<maia_deploy::ObjectRef>, Vec<String>, Vec<bool>) {
    let (mut objects, mut releases, mut dry) = (Vec::new(), Vec::new(), Vec::new());
    for e in events {
        match e {
            Event::Cluster(maia_deploy::Event::Pruned { object, dry_run }) => {
                objects.push(object.clone());
                dry.push(*dry_run);
            }
            Event::Cluster(maia_deploy::Event::Helm {
                release, outcome, ..
            }) => {
                releases.push(release.clone());
                dry.push(outcome.ends_with("(dry run)"));
            }
            _ => {}
        }
    }
    (objects, releases, dry)
}

#[tokio::test]
async fn a_delete_dry_run_names_what_the_delete_then_removes_and_removes_nothing() {
    let c = FakeCluster::ready_for_workspaces().await;
    let cluster = maia::Cluster::from_client(c.client(), "https://fake.invalid");
    let dir = tempfile::tempdir().unwrap();
    let tools = StandIns::write(dir.path()).unwrap();
    let spec = WorkspaceSpec::test();
    workspace::deploy(
        &cluster,
        &env(&tools),
        &input(spec.clone(), None),
        &Cancel::new(),
        &mut maia::Discard,
    )
    .await
    .unwrap();
    let entry = workspace::find(&cluster, &spec.group_id).await.unwrap();
    let ns = entry.namespace.clone();
    let delete = |dry_run| workspace::DeleteInput {
        state_namespace: "maia-system".into(),
        delete_data: true,
        dry_run,
        keycloak: None,
    };
    let credentials = format!("/api/v1/namespaces/maia-system/secrets/maia-credentials-{ns}");
    let held = |path: &str| {
        let path = path.to_string();
        let c = &c;
        async move {
            let (dir, name) = path.rsplit_once('/').unwrap();
            c.objects(dir)
                .await
                .iter()
                .any(|o| o["metadata"]["name"] == name)
        }
    };
    assert!(held(&credentials).await, "the deploy kept no credentials");
    let deployments = format!("/apis/apps/v1/namespaces/{ns}/deployments");
    let before = c.objects(&deployments).await.len();
    assert!(before > 0);
    c.clear_requests();
    let helm_before = tools.log("helm.log").len();

    let mut events = Vec::new();
    let dry = workspace::delete(
        &cluster,
        &env(&tools),
        &entry,
        &delete(true),
        &Cancel::new(),
        &mut |e| events.push(e),
    )
    .await
    .unwrap();
    let (dry_objects, dry_releases, flags) = removed(&events);
    assert!(flags.iter().all(|d| *d), "{events:?}");
    assert!(dry.dry_run);
    assert_eq!(dry.objects, dry_objects);
    assert_eq!(dry.releases, dry_releases);
    // Everything is still there: the objects, the namespace, the credentials, the
    // releases (helm was only asked which are installed), and no Lease was taken.
    assert_eq!(c.objects(&deployments).await.len(), before);
    assert!(c.namespaces().contains(&ns));
    assert!(held(&credentials).await);
    let helm: Vec<String> = tools.log("helm.log")[helm_before..].to_vec();
    assert!(helm.iter().all(|h| h.starts_with("list")), "{helm:?}");
    let leases: Vec<_> = c
        .writes()
        .into_iter()
        .filter(|w| w.path.starts_with("/apis/coordination.k8s.io/"))
        .collect();
    assert_eq!(leases, [], "a dry run took a Lease");
    // Every write was a DELETE, each sent with dryRun=All.
    assert!(
        c.writes().iter().all(|w| w.method == "DELETE"),
        "{:?}",
        c.writes()
    );
    // With --delete-data, what else the namespace takes is said.
    assert!(
        events.iter().any(|e| matches!(e, Event::Note { message }
            if message.starts_with(&format!("namespace {ns} would go with everything in it")))),
        "{events:?}"
    );

    // The delete then removes exactly what the dry run named.
    let mut events = Vec::new();
    let real = workspace::delete(
        &cluster,
        &env(&tools),
        &entry,
        &delete(false),
        &Cancel::new(),
        &mut |e| events.push(e),
    )
    .await
    .unwrap();
    let (objects, releases, flags) = removed(&events);
    assert!(flags.iter().all(|d| !*d), "{events:?}");
    assert!(!real.dry_run);
    assert_eq!(objects, dry_objects);
    assert_eq!(releases, dry_releases);
    assert_eq!(releases.len(), 3, "{releases:?}");
    assert!(
        objects.iter().any(|o| o.kind == "Secret"
            && o.namespace == "maia-system"
            && o.name == format!("maia-credentials-{ns}")),
        "{objects:?}"
    );
    assert_eq!(objects.last().map(|o| o.kind.as_str()), Some("Namespace"));
    assert!(!c.namespaces().contains(&ns));
    assert!(!held(&credentials).await);
}
