//! The store's behaviour, the same cases against SQLite (a temporary file, one test per
//! case) and against a real PostgreSQL server (started once by maia-testkit, one fresh
//! database per case): request lifecycles and the refused state changes, one open
//! request per group, join requests, the audit log's queries, paging, exports and its
//! append-only guarantee, migrations re-run on reopen.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use maia_store::{
    AuditEntry, AuditQuery, Error, NewAuditEntry, NewWorkspaceRequest, RequestFilter, RequestState,
    Store, audit_to_csv, audit_to_json,
};
use serde_json::json;

/// A clock the test moves by hand.
struct TestClock(AtomicI64);

impl maia_store::Clock for TestClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Ctx {
    url: String,
    clock: Arc<TestClock>,
}

impl Ctx {
    fn new(url: String) -> Ctx {
        Ctx {
            url,
            clock: Arc::new(TestClock(AtomicI64::new(1_000_000))),
        }
    }

    async fn open(&self) -> Store {
        Store::open_with_clock(&self.url, self.clock.clone())
            .await
            .unwrap()
    }

    fn set_time(&self, millis: i64) {
        self.clock.0.store(millis, Ordering::SeqCst);
    }
}

fn request(group: &str, requester: &str) -> NewWorkspaceRequest {
    NewWorkspaceRequest {
        requester: requester.into(),
        group_id: group.into(),
        form: format!("group_ID: {group}\nmembers:\n  - {requester}\n"),
        justification: "Segmentation of \"CT\" scans, phase 2".into(),
        pi_email: "pi@example.org".into(),
        end_date: "2027-06-30".into(),
    }
}

async fn workspace_request_lifecycle(ctx: Ctx) {
    let store = ctx.open().await;
    let submitted = store
        .submit_workspace_request(&request("radiology", "ana@example.org"))
        .await
        .unwrap();
    assert_eq!(submitted.state, RequestState::Pending);
    assert_eq!(submitted.created_at, 1_000_000);
    assert_eq!(submitted.updated_at, 1_000_000);
    assert_eq!(submitted.reason, None);
    let stored = store.workspace_request(submitted.id).await.unwrap();
    assert_eq!(stored, submitted);
    assert_eq!(
        stored.form,
        "group_ID: radiology\nmembers:\n  - ana@example.org\n"
    );
    assert_eq!(
        stored.justification,
        "Segmentation of \"CT\" scans, phase 2"
    );
    assert_eq!(stored.pi_email, "pi@example.org");
    assert_eq!(stored.end_date, "2027-06-30");

    ctx.set_time(2_000_000);
    let approved = store.approve_workspace_request(submitted.id).await.unwrap();
    assert_eq!(approved.state, RequestState::Approved);
    assert_eq!(approved.created_at, 1_000_000);
    assert_eq!(approved.updated_at, 2_000_000);

    ctx.set_time(3_000_000);
    let deployed = store.mark_workspace_deployed(submitted.id).await.unwrap();
    assert_eq!(deployed.state, RequestState::Deployed);
    assert_eq!(deployed.updated_at, 3_000_000);
    store.close().await;

    // Reopening runs the migrations again (nothing to do) and finds the record.
    let reopened = ctx.open().await;
    assert_eq!(
        reopened.workspace_request(submitted.id).await.unwrap(),
        deployed
    );
}

async fn refused_state_changes(ctx: Ctx) {
    let store = ctx.open().await;
    let a = store
        .submit_workspace_request(&request("a", "ana@example.org"))
        .await
        .unwrap()
        .id;
    let invalid = |e: Error, from, to| match e {
        Error::InvalidTransition {
            from: f, to: t, id, ..
        } => {
            assert_eq!((id, f, t), (a, from, to));
        }
        other => panic!("expected InvalidTransition, got {other:?}"),
    };
    // Pending cannot be deployed without approval.
    invalid(
        store.mark_workspace_deployed(a).await.unwrap_err(),
        RequestState::Pending,
        RequestState::Deployed,
    );
    store.approve_workspace_request(a).await.unwrap();
    // Approved cannot be rejected nor approved again.
    invalid(
        store
            .reject_workspace_request(a, "too late")
            .await
            .unwrap_err(),
        RequestState::Approved,
        RequestState::Rejected,
    );
    invalid(
        store.approve_workspace_request(a).await.unwrap_err(),
        RequestState::Approved,
        RequestState::Approved,
    );
    store.mark_workspace_deployed(a).await.unwrap();
    invalid(
        store.mark_workspace_deployed(a).await.unwrap_err(),
        RequestState::Deployed,
        RequestState::Deployed,
    );
    // The refusals changed nothing.
    let stored = store.workspace_request(a).await.unwrap();
    assert_eq!(stored.state, RequestState::Deployed);
    assert_eq!(stored.reason, None);

    // Rejected is final.
    let b = store
        .submit_workspace_request(&request("b", "ana@example.org"))
        .await
        .unwrap()
        .id;
    assert!(matches!(
        store.reject_workspace_request(b, "  ").await,
        Err(Error::ReasonRequired)
    ));
    let rejected = store
        .reject_workspace_request(b, "No ethics approval attached")
        .await
        .unwrap();
    assert_eq!(rejected.state, RequestState::Rejected);
    assert_eq!(
        rejected.reason.as_deref(),
        Some("No ethics approval attached")
    );
    assert!(matches!(
        store.approve_workspace_request(b).await,
        Err(Error::InvalidTransition {
            from: RequestState::Rejected,
            to: RequestState::Approved,
            ..
        })
    ));

    assert!(matches!(
        store.approve_workspace_request(9999).await,
        Err(Error::WorkspaceRequestNotFound { id: 9999 })
    ));
    assert!(matches!(
        store.workspace_request(9999).await,
        Err(Error::WorkspaceRequestNotFound { id: 9999 })
    ));
}

async fn one_open_request_per_group(ctx: Ctx) {
    let store = ctx.open().await;
    let first = store
        .submit_workspace_request(&request("oncology", "ana@example.org"))
        .await
        .unwrap();
    match store
        .submit_workspace_request(&request("oncology", "ben@example.org"))
        .await
    {
        Err(Error::WorkspaceRequestOpen { group_id }) => assert_eq!(group_id, "oncology"),
        other => panic!("expected WorkspaceRequestOpen, got {other:?}"),
    }
    store.approve_workspace_request(first.id).await.unwrap();
    assert!(matches!(
        store
            .submit_workspace_request(&request("oncology", "ben@example.org"))
            .await,
        Err(Error::WorkspaceRequestOpen { .. })
    ));
    // Another group is fine; a rejected request does not block a new one.
    let other = store
        .submit_workspace_request(&request("cardio", "ben@example.org"))
        .await
        .unwrap();
    store
        .reject_workspace_request(other.id, "Use the oncology workspace")
        .await
        .unwrap();
    let again = store
        .submit_workspace_request(&request("cardio", "ben@example.org"))
        .await
        .unwrap();

    let ids =
        |v: Vec<maia_store::WorkspaceRequest>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = store
        .workspace_requests(&RequestFilter::default())
        .await
        .unwrap();
    assert_eq!(ids(all), vec![first.id, other.id, again.id]);
    let bens = store
        .workspace_requests(&RequestFilter {
            requester: Some("ben@example.org".into()),
            ..RequestFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(bens), vec![other.id, again.id]);
    let pending_cardio = store
        .workspace_requests(&RequestFilter {
            group_id: Some("cardio".into()),
            state: Some(RequestState::Pending),
            ..RequestFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(pending_cardio), vec![again.id]);
}

async fn concurrent_decisions(ctx: Ctx) {
    let store = ctx.open().await;
    let id = store
        .submit_workspace_request(&request("race", "ana@example.org"))
        .await
        .unwrap()
        .id;
    // Two admins decide at the same moment: exactly one wins.
    let (approve, reject) = tokio::join!(
        store.approve_workspace_request(id),
        store.reject_workspace_request(id, "duplicate")
    );
    let final_state = store.workspace_request(id).await.unwrap().state;
    match (approve, reject) {
        (Ok(a), Err(Error::InvalidTransition { .. })) => {
            assert_eq!(a.state, RequestState::Approved);
            assert_eq!(final_state, RequestState::Approved);
        }
        (Err(Error::InvalidTransition { .. }), Ok(r)) => {
            assert_eq!(r.state, RequestState::Rejected);
            assert_eq!(final_state, RequestState::Rejected);
        }
        other => panic!("expected exactly one decision to win, got {other:?}"),
    }
}

async fn join_requests(ctx: Ctx) {
    let store = ctx.open().await;
    let asked = store
        .submit_join_request("cara@example.org", "radiology")
        .await
        .unwrap();
    assert_eq!(asked.state, RequestState::Pending);
    assert_eq!(asked.decided_by, None);
    match store
        .submit_join_request("cara@example.org", "radiology")
        .await
    {
        Err(Error::JoinRequestOpen {
            requester,
            group_id,
        }) => assert_eq!(
            (requester.as_str(), group_id.as_str()),
            ("cara@example.org", "radiology")
        ),
        other => panic!("expected JoinRequestOpen, got {other:?}"),
    }
    let other = store
        .submit_join_request("dan@example.org", "radiology")
        .await
        .unwrap();

    ctx.set_time(5_000_000);
    let approved = store
        .approve_join_request(asked.id, "pi@example.org")
        .await
        .unwrap();
    assert_eq!(approved.state, RequestState::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("pi@example.org"));
    assert_eq!(approved.updated_at, 5_000_000);
    assert!(matches!(
        store
            .reject_join_request(asked.id, "admin@example.org", "changed my mind")
            .await,
        Err(Error::InvalidTransition {
            from: RequestState::Approved,
            to: RequestState::Rejected,
            ..
        })
    ));
    assert!(matches!(
        store
            .reject_join_request(other.id, "pi@example.org", "")
            .await,
        Err(Error::ReasonRequired)
    ));
    let rejected = store
        .reject_join_request(other.id, "pi@example.org", "Not in the study")
        .await
        .unwrap();
    assert_eq!(rejected.reason.as_deref(), Some("Not in the study"));
    assert_eq!(store.join_request(other.id).await.unwrap(), rejected);
    // Once answered, the member may ask again.
    store
        .submit_join_request("cara@example.org", "radiology")
        .await
        .unwrap();
    let pending = store
        .join_requests(&RequestFilter {
            group_id: Some("radiology".into()),
            state: Some(RequestState::Pending),
            ..RequestFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].requester, "cara@example.org");
    assert!(matches!(
        store.join_request(9999).await,
        Err(Error::JoinRequestNotFound { id: 9999 })
    ));
}

async fn append(store: &Store, actor: &str, action: &str, target: &str) -> AuditEntry {
    store
        .audit(&NewAuditEntry {
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            detail: json!({ "note": format!("{action} {target}") }),
        })
        .await
        .unwrap()
}

async fn audit_queries_and_paging(ctx: Ctx) {
    let store = ctx.open().await;
    let mut all = Vec::new();
    for (i, (actor, action, target)) in [
        ("ana@example.org", "workspace.request", "radiology"),
        ("admin@example.org", "workspace.approve", "radiology"),
        ("system", "workspace.deploy", "radiology"),
        ("ben@example.org", "workspace.request", "cardio"),
        ("admin@example.org", "workspace.reject", "cardio"),
    ]
    .into_iter()
    .enumerate()
    {
        ctx.set_time(10_000 * (i as i64 + 1));
        all.push(append(&store, actor, action, target).await);
    }
    assert_eq!(all[0].at, 10_000);
    assert_eq!(
        all[0].detail,
        json!({ "note": "workspace.request radiology" })
    );
    let newest_first: Vec<AuditEntry> = all.iter().rev().cloned().collect();

    let page = |q: AuditQuery| {
        let store = store.clone();
        async move { store.audit_entries(&q).await.unwrap() }
    };
    let everything = page(AuditQuery::default()).await;
    assert_eq!(everything.entries, newest_first);
    assert_eq!(everything.next, None);

    let by_actor = page(AuditQuery {
        actor: Some("admin@example.org".into()),
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(by_actor.entries, vec![all[4].clone(), all[1].clone()]);
    let by_action = page(AuditQuery {
        action: Some("workspace.request".into()),
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(by_action.entries, vec![all[3].clone(), all[0].clone()]);
    let by_target_and_time = page(AuditQuery {
        target: Some("radiology".into()),
        since: Some(20_000),
        until: Some(30_000),
        ..AuditQuery::default()
    })
    .await;
    // `since` is inclusive, `until` exclusive.
    assert_eq!(by_target_and_time.entries, vec![all[1].clone()]);

    // Pages of two: 5, 4 | 3, 2 | 1, nothing repeated or skipped.
    let mut seen = Vec::new();
    let mut before_id = None;
    let mut pages = 0;
    loop {
        let p = page(AuditQuery {
            limit: 2,
            before_id,
            ..AuditQuery::default()
        })
        .await;
        pages += 1;
        assert!(p.entries.len() <= 2);
        seen.extend(p.entries);
        match p.next {
            Some(next) => before_id = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, newest_first);
}

async fn audit_exports(ctx: Ctx) {
    let store = ctx.open().await;
    let entry = store
        .audit(&NewAuditEntry {
            actor: "ana@example.org".into(),
            action: "workspace.reject".into(),
            target: "rad,iology".into(),
            detail: json!({ "reason": "say \"please\",\nthen ask again" }),
        })
        .await
        .unwrap();
    let entries = store
        .audit_entries(&AuditQuery::default())
        .await
        .unwrap()
        .entries;
    assert_eq!(entries, vec![entry.clone()]);

    let exported: serde_json::Value =
        serde_json::from_str(&audit_to_json(&entries).unwrap()).unwrap();
    assert_eq!(
        exported,
        json!([{
            "id": entry.id,
            "at": 1_000_000,
            "actor": "ana@example.org",
            "action": "workspace.reject",
            "target": "rad,iology",
            "detail": { "reason": "say \"please\",\nthen ask again" },
        }])
    );

    let csv = audit_to_csv(&entries);
    assert_eq!(
        csv,
        format!(
            "\"id\",\"at\",\"actor\",\"action\",\"target\",\"detail\"\r\n\
             \"{}\",\"1000000\",\"ana@example.org\",\"workspace.reject\",\"rad,iology\",\
             \"{{\"\"reason\"\":\"\"say \\\"\"please\\\"\",\\nthen ask again\"\"}}\"\r\n",
            entry.id
        )
    );
}

async fn audit_is_append_only(ctx: Ctx) {
    let store = ctx.open().await;
    let entry = append(&store, "ana@example.org", "workspace.request", "radiology").await;
    // Even with direct access to the database, the log cannot be rewritten.
    let pool = sqlx::AnyPool::connect(&ctx.url).await.unwrap();
    let update = sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE id = $1")
        .bind(entry.id)
        .execute(&pool)
        .await;
    assert!(update.is_err(), "an UPDATE of the audit log went through");
    let delete = sqlx::query("DELETE FROM audit_log").execute(&pool).await;
    assert!(delete.is_err(), "a DELETE of the audit log went through");
    pool.close().await;
    let entries = store
        .audit_entries(&AuditQuery::default())
        .await
        .unwrap()
        .entries;
    assert_eq!(entries, vec![entry]);
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite://{}", dir.path().join("store.db").display());
                    super::$case(super::Ctx::new(url)).await;
                }
            )*
        }

        /// One server for the whole suite, one database per case.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            let server = maia_testkit::postgres::PostgresServer::start()
                .unwrap_or_else(|e| panic!("cannot start PostgreSQL for the store tests: {e}"));
            $(
                eprintln!("PostgreSQL: {}", stringify!($case));
                let url = server.create_database(stringify!($case)).unwrap();
                $case(Ctx::new(url)).await;
            )*
        }
    };
}

suite!(
    workspace_request_lifecycle,
    refused_state_changes,
    one_open_request_per_group,
    concurrent_decisions,
    join_requests,
    audit_queries_and_paging,
    audit_exports,
    audit_is_append_only,
);

#[tokio::test]
async fn sqlite_file_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portal.db");
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(store.dialect(), maia_store::Dialect::Sqlite);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "the SQLite file is readable by others: {mode:o}"
    );
}

#[tokio::test]
async fn unknown_url_is_refused_without_echoing_it() {
    let err = Store::open("mysql://root:hunter2@db/portal")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedUrl { ref scheme } if scheme == "mysql"));
    assert!(!err.to_string().contains("hunter2"));
}
