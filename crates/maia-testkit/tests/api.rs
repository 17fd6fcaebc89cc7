//! What a client relies on from the API server, asked of the fake through kube-rs as a
//! client asks it: `dryRun=All` stores nothing, selectors select on every kind, and
//! watches stream every change (in process and over loopback HTTP).

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use maia_testkit::FakeCluster;
use serde_json::json;

fn config_map(name: &str, labels: &[(&str, &str)], value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("key".to_string(), value.to_string())])),
        ..Default::default()
    }
}

fn dry() -> PostParams {
    PostParams {
        dry_run: true,
        ..Default::default()
    }
}

fn api_code<T: std::fmt::Debug>(result: kube::Result<T>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(s)) => (s.code, s.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn data(cm: &ConfigMap) -> &str {
    cm.data.as_ref().and_then(|d| d.get("key")).unwrap()
}

/// The version a LIST of config maps reports (what a cache resumes a watch from).
async fn list_version(api: &Api<ConfigMap>) -> String {
    api.list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap()
}

/// The next event that is not a bookmark. A guard against a hang, not a timing check.
async fn next<K>(
    stream: &mut (impl Stream<Item = kube::Result<WatchEvent<K>>> + Unpin),
) -> WatchEvent<K> {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("an event within 20 s")
            .expect("the watch goes on")
            .expect("a well-formed event");
        if !matches!(event, WatchEvent::Bookmark(_)) {
            return event;
        }
    }
}

fn named<K: kube::Resource>(event: &WatchEvent<K>) -> (&'static str, String) {
    let (kind, object) = match event {
        WatchEvent::Added(o) => ("ADDED", o),
        WatchEvent::Modified(o) => ("MODIFIED", o),
        WatchEvent::Deleted(o) => ("DELETED", o),
        other => panic!("expected an object event, got {other:?}"),
    };
    (kind, object.meta().name.clone().unwrap_or_default())
}

#[tokio::test]
async fn a_dry_run_create_is_checked_and_answered_but_not_stored() {
    let fake = FakeCluster::new(&["demo"]).await;
    let api: Api<ConfigMap> = Api::namespaced(fake.client(), "demo");
    let before = list_version(&api).await;

    let answer = api
        .create(&dry(), &config_map("cm", &[], "one"))
        .await
        .unwrap();
    assert_eq!(answer.metadata.name.as_deref(), Some("cm"));
    assert_eq!(answer.metadata.namespace.as_deref(), Some("demo"));
    assert_eq!(data(&answer), "one");
    assert_eq!(
        answer.metadata.resource_version, None,
        "a dry run stores nothing"
    );
    assert_eq!(api_code(api.get("cm").await).0, 404);
    assert_eq!(list_version(&api).await, before, "no version went by");

    // Still checked as a real create: the name is taken, the namespace missing.
    api.create(&PostParams::default(), &config_map("cm", &[], "one"))
        .await
        .unwrap();
    assert_eq!(
        api_code(api.create(&dry(), &config_map("cm", &[], "two")).await).0,
        409
    );
    let elsewhere: Api<ConfigMap> = Api::namespaced(fake.client(), "nowhere");
    assert_eq!(
        api_code(elsewhere.create(&dry(), &config_map("cm", &[], "x")).await).0,
        404
    );

    // A namespace too.
    let namespaces: Api<Namespace> = Api::all(fake.client());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("new".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = namespaces.create(&dry(), &ns).await.unwrap();
    assert_eq!(answer.metadata.name.as_deref(), Some("new"));
    assert_eq!(answer.metadata.resource_version, None);
    assert!(!fake.namespaces().contains("new"));
}

#[tokio::test]
async fn dry_run_apply_update_and_delete_answer_the_result_and_keep_the_object() {
    let fake = FakeCluster::new(&["demo"]).await;
    let api: Api<ConfigMap> = Api::namespaced(fake.client(), "demo");
    let stored = api
        .create(&PostParams::default(), &config_map("cm", &[], "one"))
        .await
        .unwrap();
    let version = stored.metadata.resource_version.clone();
    let list_before = list_version(&api).await;

    // Server-side apply.
    let mut apply = PatchParams::apply("test").force();
    apply.dry_run = true;
    let patch = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm"}, "data": {"key": "two"}});
    let answer = api
        .patch("cm", &apply, &Patch::Apply(&patch))
        .await
        .unwrap();
    assert_eq!(data(&answer), "two", "the object the apply would leave");
    assert_eq!(answer.metadata.resource_version, version, "no new version");
    assert_eq!(data(&api.get("cm").await.unwrap()), "one", "nothing stored");

    // An apply that would create.
    let new = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "fresh"}, "data": {"key": "x"}});
    let answer = api
        .patch("fresh", &apply, &Patch::Apply(&new))
        .await
        .unwrap();
    assert_eq!(data(&answer), "x");
    assert_eq!(api_code(api.get("fresh").await).0, 404);

    // Update, with the optimistic lock checked.
    let mut changed = stored.clone();
    changed.data = Some(BTreeMap::from([("key".into(), "three".into())]));
    let answer = api.replace("cm", &dry(), &changed).await.unwrap();
    assert_eq!(data(&answer), "three");
    assert_eq!(answer.metadata.resource_version, version);
    changed.metadata.resource_version = Some("12345".into());
    assert_eq!(api_code(api.replace("cm", &dry(), &changed).await).0, 409);
    assert_eq!(data(&api.get("cm").await.unwrap()), "one");

    // Delete.
    let delete = DeleteParams {
        dry_run: true,
        ..Default::default()
    };
    api.delete("cm", &delete).await.unwrap();
    assert_eq!(api_code(api.delete("gone", &delete).await).0, 404);
    let kept = api.get("cm").await.unwrap();
    assert_eq!(
        kept.metadata.resource_version, version,
        "still there, unchanged"
    );
    assert_eq!(list_version(&api).await, list_before);

    // An unknown dry-run mode is refused.
    let (code, _) = api_code(
        fake.client()
            .request::<ConfigMap>(
                http::Request::delete("/api/v1/namespaces/demo/configmaps/cm?dryRun=Some")
                    .body(Vec::new())
                    .unwrap(),
            )
            .await,
    );
    assert_eq!(code, 400);
}

#[tokio::test]
async fn a_watch_hears_no_dry_run() {
    let fake = FakeCluster::new(&["demo"]).await;
    let api: Api<ConfigMap> = Api::namespaced(fake.client(), "demo");
    api.create(&PostParams::default(), &config_map("cm", &[], "one"))
        .await
        .unwrap();
    let from = list_version(&api).await;
    let mut events = api
        .watch(&WatchParams::default(), &from)
        .await
        .unwrap()
        .boxed();
    api.create(&dry(), &config_map("dry", &[], "x"))
        .await
        .unwrap();
    let mut apply = PatchParams::apply("test").force();
    apply.dry_run = true;
    let patch = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
        "data": {"key": "dry"}});
    api.patch("cm", &apply, &Patch::Apply(&patch))
        .await
        .unwrap();
    api.delete(
        "cm",
        &DeleteParams {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    api.create(&PostParams::default(), &config_map("real", &[], "x"))
        .await
        .unwrap();
    assert_eq!(named(&next(&mut events).await), ("ADDED", "real".into()));
}

#[tokio::test]
async fn label_selectors_select_config_maps_and_namespaces_alike() {
    let fake = FakeCluster::new(&[]).await;
    for (name, labels) in [
        ("a", vec![("app", "web"), ("tier", "front")]),
        ("b", vec![("app", "db")]),
        ("c", vec![]),
    ] {
        let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}});
        for (k, v) in &labels {
            ns["metadata"]["labels"][k] = json!(v);
            cm["metadata"]["labels"][k] = json!(v);
        }
        fake.seed(ns).await;
        fake.seed(cm).await;
    }
    fake.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}))
        .await;
    let namespaces: Api<Namespace> = Api::all(fake.client());
    let maps: Api<ConfigMap> = Api::namespaced(fake.client(), "default");
    for (selector, wanted) in [
        ("app=web", vec!["a"]),
        ("app==db", vec!["b"]),
        ("app!=web", vec!["b", "c"]),
        ("app in (web,db)", vec!["a", "b"]),
        ("app notin (web)", vec!["b", "c"]),
        ("app", vec!["a", "b"]),
        ("!app", vec!["c"]),
        ("app,tier=front", vec!["a"]),
    ] {
        let lp = ListParams::default().labels(selector);
        let mut got: Vec<String> = maps
            .list(&lp)
            .await
            .unwrap()
            .items
            .iter()
            .filter_map(|o| o.metadata.name.clone())
            .collect();
        got.sort();
        assert_eq!(got, wanted, "config maps with {selector}");
        let mut got: Vec<String> = namespaces
            .list(&lp)
            .await
            .unwrap()
            .items
            .iter()
            .filter_map(|o| o.metadata.name.clone())
            .filter(|n| n != "default")
            .collect();
        got.sort();
        // `!app` and `app!=web` also match `default`, filtered out above.
        assert_eq!(got, wanted, "namespaces with {selector}");
    }
    // A malformed selector is refused, not taken as matching nothing.
    for selector in ["app in web", "=web", "a b"] {
        let lp = ListParams::default().labels(selector);
        assert_eq!(api_code(maps.list(&lp).await).0, 400, "{selector}");
        assert_eq!(api_code(namespaces.list(&lp).await).0, 400, "{selector}");
    }
}

#[tokio::test]
async fn field_selectors_select_by_name_namespace_and_pod_phase() {
    let fake = FakeCluster::new(&["one", "two"]).await;
    for (ns, name, phase) in [
        ("one", "p1", "Running"),
        ("one", "p2", "Pending"),
        ("two", "p1", "Running"),
    ] {
        fake.seed(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": phase}}))
            .await;
    }
    let all: Api<Pod> = Api::all(fake.client());
    let names = |list: kube::core::ObjectList<Pod>| {
        let mut names: Vec<String> = list
            .items
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    p.metadata.namespace.clone().unwrap_or_default(),
                    p.metadata.name.clone().unwrap_or_default()
                )
            })
            .collect();
        names.sort();
        names
    };
    for (selector, wanted) in [
        ("metadata.name=p1", vec!["one/p1", "two/p1"]),
        ("metadata.namespace=two", vec!["two/p1"]),
        ("metadata.namespace!=two", vec!["one/p1", "one/p2"]),
        (
            "status.phase=Running,metadata.namespace==one",
            vec!["one/p1"],
        ),
        ("status.phase!=Running", vec!["one/p2"]),
    ] {
        let got = names(
            all.list(&ListParams::default().fields(selector))
                .await
                .unwrap(),
        );
        assert_eq!(got, wanted, "pods with {selector}");
    }
    let namespaces: Api<Namespace> = Api::all(fake.client());
    let got = namespaces
        .list(&ListParams::default().fields("metadata.name=two"))
        .await
        .unwrap();
    assert_eq!(got.items.len(), 1);
    // A field the kind is not indexed by is refused, as the API server does.
    let maps: Api<ConfigMap> = Api::all(fake.client());
    let (code, message) = api_code(maps.list(&ListParams::default().fields("data.key=x")).await);
    assert_eq!(
        (code, message.as_str()),
        (400, "field label not supported: data.key")
    );
}

#[tokio::test]
async fn a_watch_streams_changes_after_a_version_with_its_selector() {
    let fake = FakeCluster::new(&["demo"]).await;
    let api: Api<ConfigMap> = Api::namespaced(fake.client(), "demo");
    api.create(
        &PostParams::default(),
        &config_map("before", &[("app", "x")], "0"),
    )
    .await
    .unwrap();
    let from = list_version(&api).await;
    let params = WatchParams::default().labels("app=x");
    let mut events = api.watch(&params, &from).await.unwrap().boxed();
    // Not selected: another label, another namespace.
    api.create(
        &PostParams::default(),
        &config_map("other", &[("app", "y")], "0"),
    )
    .await
    .unwrap();
    fake.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "else"}}))
        .await;
    Api::<ConfigMap>::namespaced(fake.client(), "else")
        .create(
            &PostParams::default(),
            &config_map("x", &[("app", "x")], "0"),
        )
        .await
        .unwrap();
    api.create(
        &PostParams::default(),
        &config_map("cm", &[("app", "x")], "1"),
    )
    .await
    .unwrap();
    let patch = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
        "data": {"key": "2"}});
    api.patch(
        "cm",
        &PatchParams::apply("test").force(),
        &Patch::Apply(&patch),
    )
    .await
    .unwrap();
    api.delete("cm", &DeleteParams::default()).await.unwrap();

    let added = next(&mut events).await;
    assert_eq!(named(&added), ("ADDED", "cm".into()));
    let modified = next(&mut events).await;
    assert_eq!(named(&modified), ("MODIFIED", "cm".into()));
    if let WatchEvent::Modified(cm) = &modified {
        assert_eq!(data(cm), "2");
    }
    let deleted = next(&mut events).await;
    assert_eq!(named(&deleted), ("DELETED", "cm".into()));
    // Versions only go up, so a client can resume from the last it saw.
    let version = |e: &WatchEvent<ConfigMap>| match e {
        WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o
            .metadata
            .resource_version
            .clone()
            .unwrap()
            .parse::<u64>()
            .unwrap(),
        _ => 0,
    };
    assert!(version(&added) < version(&modified));
    assert!(version(&modified) < version(&deleted));

    // Resuming after the MODIFIED event gives only what came after it.
    let mut resumed = api
        .watch(&params, &version(&modified).to_string())
        .await
        .unwrap()
        .boxed();
    assert_eq!(named(&next(&mut resumed).await), ("DELETED", "cm".into()));
}

#[tokio::test]
async fn a_watch_without_a_version_starts_with_the_objects_and_bookmarks_when_asked() {
    let fake = FakeCluster::new(&["demo", "other"]).await;
    let namespaces: Api<Namespace> = Api::all(fake.client());
    let mut events = namespaces
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    let mut seen = vec![
        named(&next(&mut events).await).1,
        named(&next(&mut events).await).1,
    ];
    seen.sort();
    assert_eq!(seen, ["demo", "other"]);
    fake.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "third"}}))
        .await;
    assert_eq!(named(&next(&mut events).await), ("ADDED", "third".into()));
    namespaces
        .delete("other", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(named(&next(&mut events).await), ("DELETED", "other".into()));

    // Bookmarks, when asked for, carry the version to resume from.
    let api: Api<ConfigMap> = Api::namespaced(fake.client(), "demo");
    let from = list_version(&api).await;
    let mut events = api
        .watch(&WatchParams::default(), &from)
        .await
        .unwrap()
        .boxed();
    let first = events.next().await.unwrap().unwrap();
    match first {
        WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, from),
        other => panic!("expected a bookmark, got {other:?}"),
    }
    // …and without them, none comes.
    let mut quiet = api
        .watch(&WatchParams::default().disable_bookmarks(), &from)
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &config_map("cm", &[], "1"))
        .await
        .unwrap();
    let first = quiet.next().await.unwrap().unwrap();
    assert_eq!(named(&first), ("ADDED", "cm".into()), "no bookmark first");
}

#[tokio::test]
async fn a_watch_from_a_forgotten_version_is_gone() {
    let fake = FakeCluster::new(&["demo"]).await;
    fake.keep_watch_history(2);
    let api: Api<ConfigMap> = Api::namespaced(fake.client(), "demo");
    let old = list_version(&api).await;
    for i in 0..4 {
        api.create(
            &PostParams::default(),
            &config_map(&format!("cm{i}"), &[], "x"),
        )
        .await
        .unwrap();
    }
    let mut events = api
        .watch(&WatchParams::default(), &old)
        .await
        .unwrap()
        .boxed();
    match next(&mut events).await {
        WatchEvent::Error(status) => {
            assert_eq!(status.code, 410);
            assert_eq!(status.reason, "Expired");
        }
        other => panic!("expected 410 Expired, got {other:?}"),
    }
    // From the current version, the watch works.
    let now = list_version(&api).await;
    let mut events = api
        .watch(&WatchParams::default(), &now)
        .await
        .unwrap()
        .boxed();
    api.delete("cm0", &DeleteParams::default()).await.unwrap();
    assert_eq!(named(&next(&mut events).await), ("DELETED", "cm0".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_works_over_loopback_http() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeCluster::new(&["demo"]).await;
    let addr = fake.serve().await.unwrap();
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "demo");
    let from = list_version(&api).await;
    let mut events = api
        .watch(&WatchParams::default(), &from)
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &config_map("cm", &[], "1"))
        .await
        .unwrap();
    assert_eq!(named(&next(&mut events).await), ("ADDED", "cm".into()));
    fake.remove("/api/v1/namespaces/demo/configmaps/cm").await;
    assert_eq!(named(&next(&mut events).await), ("DELETED", "cm".into()));
    // The watch is counted like any request.
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.query.contains("watch=true"))
    );
}

#[tokio::test]
async fn a_streaming_list_ends_its_initial_events_with_a_marked_bookmark() {
    let fake = FakeCluster::new(&["demo"]).await;
    let api: Api<ConfigMap> = Api::namespaced(fake.client(), "demo");
    for name in ["a", "b"] {
        api.create(&PostParams::default(), &config_map(name, &[], "x"))
            .await
            .unwrap();
    }
    let mut events = api
        .watch(&WatchParams::streaming_lists(), "")
        .await
        .unwrap()
        .boxed();
    let mut names = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.next())
            .await
            .expect("an event within 20 s")
            .unwrap()
            .unwrap();
        match event {
            WatchEvent::Added(cm) => names.push(cm.metadata.name.unwrap()),
            WatchEvent::Bookmark(b) => {
                assert_eq!(
                    b.metadata
                        .annotations
                        .get("k8s.io/initial-events-end")
                        .map(String::as_str),
                    Some("true")
                );
                assert_eq!(b.metadata.resource_version, list_version(&api).await);
                break;
            }
            other => panic!("expected the initial objects, got {other:?}"),
        }
    }
    names.sort();
    assert_eq!(names, ["a", "b"]);
    api.delete("a", &DeleteParams::default()).await.unwrap();
    assert_eq!(named(&next(&mut events).await), ("DELETED", "a".into()));
}
