//! The fake Keycloak over HTTP, as maia's admin client and the official one see it:
//! status codes, Location headers, 409 and 404 bodies, pagination, exact search, token
//! lifetime, and 403 per missing realm-management role. The last test runs Keycloak's
//! own admin client (`tests/keycloak-client/`) against it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use maia_testkit::keycloak::{ADMIN_CLIENT_ID, FakeKeycloak, REALM, SeedUser, Smtp};
use serde_json::{Value, json};

/// An answer: status, Location header, body (JSON, or Null when empty).
#[derive(Debug)]
struct Answer {
    status: u16,
    location: Option<String>,
    content_type: Option<String>,
    body: Value,
}

struct Api {
    agent: ureq::Agent,
    base: String,
    token: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    )
}

fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Answer {
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = match body {
        Some(b) => agent.run(req.body(b).unwrap()),
        None => agent.run(req.body(()).unwrap()),
    }
    .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|l| l.to_str().unwrap().to_string());
    let text = resp.body_mut().read_to_string().unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    Answer {
        status,
        location,
        content_type,
        body,
    }
}

fn token_request(kc: &FakeKeycloak, form: &str, basic: Option<&str>) -> Answer {
    let url = format!("{}/realms/{REALM}/protocol/openid-connect/token", kc.url());
    let auth = basic.map(|b| format!("Basic {b}"));
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    send(&agent(), "POST", &url, &headers, Some(form.to_string()))
}

fn token(kc: &FakeKeycloak) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id={ADMIN_CLIENT_ID}&client_secret={}",
        kc.admin_secret()
    );
    let a = token_request(kc, &form, None);
    assert_eq!(a.status, 200, "{a:?}");
    a.body["access_token"].as_str().unwrap().to_string()
}

impl Api {
    fn new(kc: &FakeKeycloak) -> Api {
        Api {
            agent: agent(),
            base: format!("{}/admin/realms/{REALM}", kc.url()),
            token: token(kc),
        }
    }
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        send(
            &self.agent,
            method,
            &url,
            &headers,
            body.map(|b| b.to_string()),
        )
    }
    fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None)
    }
    fn post(&self, path: &str, body: Value) -> Answer {
        self.call("POST", path, Some(body))
    }
    fn put(&self, path: &str, body: Value) -> Answer {
        self.call("PUT", path, Some(body))
    }
    fn delete(&self, path: &str) -> Answer {
        self.call("DELETE", path, None)
    }
    /// Creates and returns the new id, checking the 201 and its Location.
    fn create(&self, path: &str, body: Value) -> String {
        let a = self.post(path, body);
        assert_eq!(a.status, 201, "{a:?}");
        assert_eq!(a.body, Value::Null, "a create answers no body");
        let location = a.location.expect("a Location header");
        let prefix = format!("{}{path}/", self.base);
        assert!(location.starts_with(&prefix), "{location} under {prefix}");
        location[prefix.len()..].to_string()
    }
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_token_endpoint_takes_client_credentials_in_the_form_or_as_basic() {
    let kc = FakeKeycloak::start();
    let secret = kc.admin_secret();
    let form =
        format!("grant_type=client_credentials&client_id={ADMIN_CLIENT_ID}&client_secret={secret}");
    let a = token_request(&kc, &form, None);
    assert_eq!(a.status, 200);
    assert_eq!(a.body["token_type"], "Bearer");
    assert_eq!(a.body["expires_in"], 300);
    assert!(a.body["access_token"].as_str().unwrap().len() > 20);
    assert!(a.body.get("refresh_token").is_none());

    let basic = base64(&format!("{ADMIN_CLIENT_ID}:{secret}"));
    let a = token_request(&kc, "grant_type=client_credentials", Some(&basic));
    assert_eq!(a.status, 200, "{a:?}");

    let wrong =
        format!("grant_type=client_credentials&client_id={ADMIN_CLIENT_ID}&client_secret=nope");
    let a = token_request(&kc, &wrong, None);
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body,
        json!({"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"})
    );
    let basic = base64(&format!("{ADMIN_CLIENT_ID}:nope"));
    assert_eq!(
        token_request(&kc, "grant_type=client_credentials", Some(&basic)).status,
        401
    );

    let unknown = "grant_type=client_credentials&client_id=nobody&client_secret=x";
    let a = token_request(&kc, unknown, None);
    assert_eq!(a.status, 401);
    assert_eq!(a.body["error"], "invalid_client");

    // A confidential client without a service account gets no token.
    kc.add_client(json!({"clientId": "web", "secret": "s3cret"}));
    let a = token_request(
        &kc,
        "grant_type=client_credentials&client_id=web&client_secret=s3cret",
        None,
    );
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body["error_description"],
        "Client not enabled to retrieve service account"
    );
}

#[test]
fn tokens_expire_after_their_lifetime_or_when_the_test_says() {
    let kc = FakeKeycloak::start();
    let api = Api::new(&kc);
    assert_eq!(api.get("/users").status, 200);

    kc.set_token_lifespan(60);
    let form = format!(
        "grant_type=client_credentials&client_id={ADMIN_CLIENT_ID}&client_secret={}",
        kc.admin_secret()
    );
    assert_eq!(token_request(&kc, &form, None).body["expires_in"], 60);

    kc.expire_tokens();
    let a = api.get("/users");
    assert_eq!(a.status, 401);
    assert_eq!(a.body, json!({"error": "HTTP 401 Unauthorized"}));
    // A new token works again.
    assert_eq!(Api::new(&kc).get("/users").status, 200);

    // No token, or one the fake never issued.
    let none = send(
        &agent(),
        "GET",
        &format!("{}/admin/realms/{REALM}/users", kc.url()),
        &[],
        None,
    );
    assert_eq!(none.status, 401);
    let bogus = Api {
        agent: agent(),
        base: format!("{}/admin/realms/{REALM}", kc.url()),
        token: "made-up".into(),
    };
    assert_eq!(bogus.get("/groups").status, 401);

    // A token of lifetime 0 is dead at once.
    kc.set_token_lifespan(0);
    let a = token_request(&kc, &form, None);
    let dead = Api {
        agent: agent(),
        base: format!("{}/admin/realms/{REALM}", kc.url()),
        token: a.body["access_token"].as_str().unwrap().to_string(),
    };
    assert_eq!(dead.get("/users").status, 401);
}

#[test]
fn users_are_created_with_a_location_and_conflict_on_username_or_email() {
    let kc = FakeKeycloak::start();
    let api = Api::new(&kc);
    let id = api.create(
        "/users",
        json!({"username": "Ann@Example.org", "email": "Ann@Example.org",
               "requiredActions": ["VERIFY_EMAIL", "UPDATE_PASSWORD"]}),
    );
    let u = api.get(&format!("/users/{id}"));
    assert_eq!(u.status, 200);
    assert_eq!(
        u.content_type.as_deref(),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(
        u.body["access"],
        json!({"manageGroupMembership": true, "resetPassword": true, "view": true,
               "mapRoles": true, "impersonate": false, "manage": true})
    );
    assert_eq!(u.body["id"], id.as_str());
    assert_eq!(u.body["username"], "ann@example.org");
    assert_eq!(u.body["email"], "ann@example.org");
    assert_eq!(
        u.body["enabled"], false,
        "Keycloak leaves a user disabled unless told"
    );
    assert_eq!(u.body["emailVerified"], false);
    assert_eq!(
        u.body["requiredActions"],
        json!(["VERIFY_EMAIL", "UPDATE_PASSWORD"])
    );

    let a = api.post("/users", json!({"username": "ann@example.org"}));
    assert_eq!(a.status, 409);
    assert_eq!(
        a.body,
        json!({"errorMessage": "User exists with same username"})
    );
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    let a = api.post(
        "/users",
        json!({"username": "ann2", "email": "ANN@example.org"}),
    );
    assert_eq!(a.status, 409);
    assert_eq!(
        a.body,
        json!({"errorMessage": "User exists with same email"})
    );
    let a = api.post("/users", json!({"email": "x@example.org"}));
    assert_eq!(a.status, 400);
    assert_eq!(a.body, json!({"errorMessage": "User name is missing"}));
    // No body at all: Keycloak's resource fails on the null representation.
    let a = api.call("POST", "/users", None);
    assert_eq!(a.status, 500);
    assert_eq!(a.body["error"], "unknown_error");
    let a = api.call("POST", "/users", Some(json!("not an object")));
    assert_eq!(
        a.body,
        json!({"error": "invalid_request", "error_description": "Cannot parse the JSON"})
    );

    let a = api.put(
        &format!("/users/{id}"),
        json!({"enabled": true, "requiredActions": ["VERIFY_EMAIL"]}),
    );
    assert_eq!(a.status, 204);
    assert_eq!(
        kc.required_actions("ann@example.org").unwrap(),
        vec!["VERIFY_EMAIL"]
    );
    assert_eq!(kc.user("ann@example.org").unwrap()["enabled"], true);

    assert_eq!(api.delete(&format!("/users/{id}")).status, 204);
    let a = api.get(&format!("/users/{id}"));
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"error": "User not found"}));
    assert!(kc.usernames().is_empty());
}

#[test]
fn user_search_is_exact_only_when_asked_and_paginated_with_keycloaks_defaults() {
    let kc = FakeKeycloak::start();
    for email in ["ann@x.org", "joann@x.org", "bob@x.org"] {
        kc.add_user(SeedUser::active(email));
    }
    let api = Api::new(&kc);
    let a = api.get("/users?email=ann%40x.org&exact=true");
    assert_eq!(names(&a.body, "email"), vec!["ann@x.org"]);
    let a = api.get("/users?email=ann%40x.org");
    assert_eq!(
        names(&a.body, "email"),
        vec!["ann@x.org", "joann@x.org"],
        "infix without exact"
    );
    let a = api.get("/users?username=ANN%40X.ORG&exact=true");
    assert_eq!(
        names(&a.body, "username"),
        vec!["ann@x.org"],
        "case-insensitive"
    );
    // search: a prefix of any field, `*` a wildcard, quotes exact.
    assert_eq!(
        names(&api.get("/users?search=ann").body, "username"),
        vec!["ann@x.org"]
    );
    assert_eq!(
        names(&api.get("/users?search=*ann").body, "username"),
        vec!["ann@x.org", "joann@x.org"]
    );
    assert_eq!(api.get("/users?search=%22ann%22").body, json!([]));
    assert_eq!(api.get("/users/count").body, json!(3));
    assert_eq!(api.get("/users/count?email=ann%40x.org").body, json!(2));
    let brief = api.get("/users?briefRepresentation=true&max=1").body;
    assert!(brief[0].get("requiredActions").is_none());
    assert_eq!(brief[0]["access"], json!({"manage": true}));
    assert_eq!(
        api.get("/users?max=1").body[0]["access"],
        json!({"manage": true}),
        "a listing, brief or not, tells only whether the caller may manage"
    );
    assert!(
        api.get("/users?max=1").body[0]
            .get("requiredActions")
            .is_some()
    );

    // Pagination: sorted by username; `max` defaults to 100.
    for i in 0..105 {
        kc.add_user(SeedUser::active(&format!("u{i:03}@y.org")));
    }
    assert_eq!(api.get("/users").body.as_array().unwrap().len(), 100);
    assert_eq!(api.get("/users?max=-1").body.as_array().unwrap().len(), 108);
    let page = api.get("/users?first=1&max=2").body;
    assert_eq!(names(&page, "username"), vec!["bob@x.org", "joann@x.org"]);
    assert_eq!(
        api.get("/users?first=107&max=5")
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get("/users?first=abc").body,
        json!({"error": "HTTP 404 Not Found"})
    );
    // A known path with a method it does not serve, and an unknown path: both 404.
    assert_eq!(
        api.call("PATCH", "/users", None).body,
        json!({"error": "HTTP 404 Not Found"})
    );
    assert_eq!(
        api.get("/no-such-thing").body,
        json!({"error": "Unable to find matching target resource method"})
    );
}

#[test]
fn groups_and_memberships_follow_keycloak() {
    let kc = FakeKeycloak::start();
    let api = Api::new(&kc);
    let gid = api.create("/groups", json!({"name": "MAIA:lab"}));
    let other = api.create("/groups", json!({"name": "MAIA:lab-two"}));
    let a = api.post("/groups", json!({"name": "MAIA:lab"}));
    assert_eq!(a.status, 409);
    assert_eq!(
        a.body,
        json!({"errorMessage": "Top level group named 'MAIA:lab' already exists."})
    );
    assert_eq!(api.post("/groups", json!({"name": " "})).status, 400);

    let a = api.get("/groups?search=MAIA%3Alab&exact=true");
    assert_eq!(names(&a.body, "id"), vec![gid.clone()]);
    assert_eq!(a.body[0]["path"], "/MAIA:lab");
    assert!(a.body[0].get("attributes").is_none(), "brief by default");
    let a = api.get("/groups?search=maia%3Alab");
    assert_eq!(names(&a.body, "name"), vec!["MAIA:lab", "MAIA:lab-two"]);
    assert_eq!(
        names(&api.get("/groups?first=1&max=1").body, "name"),
        vec!["MAIA:lab-two"]
    );
    assert_eq!(api.get("/groups/count").body, json!({"count": 2}));
    let a = api.get("/group-by-path/MAIA:lab");
    assert_eq!(a.body["id"], gid.as_str());
    assert_eq!(
        api.get("/group-by-path/nope").body,
        json!({"error": "Group path does not exist"})
    );
    let a = api.get("/groups/not-an-id");
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"error": "Could not find group by id"}));
    assert_eq!(
        api.put(&format!("/groups/{other}"), json!({"name": "MAIA:lab"}))
            .status,
        409
    );

    // A public client has no secret to show.
    let public = api.create("/clients", json!({"clientId": "spa", "publicClient": true}));
    assert!(
        api.get(&format!("/clients/{public}"))
            .body
            .get("secret")
            .is_none()
    );
    assert_eq!(
        api.get(&format!("/clients/{public}/client-secret")).body,
        json!({"type": "secret"})
    );

    let ann = kc.add_user(SeedUser::active("ann@x.org"));
    let bob = kc.add_user(SeedUser::active("bob@x.org"));
    for u in [&ann, &bob] {
        assert_eq!(
            api.call("PUT", &format!("/users/{u}/groups/{gid}"), None)
                .status,
            204
        );
    }
    // Joining twice is no error.
    assert_eq!(
        api.call("PUT", &format!("/users/{ann}/groups/{gid}"), None)
            .status,
        204
    );
    let a = api.call("PUT", &format!("/users/{ann}/groups/nope"), None);
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"error": "Group not found"}));
    assert_eq!(
        kc.members("MAIA:lab").unwrap(),
        vec!["ann@x.org", "bob@x.org"]
    );
    let m = api
        .get(&format!("/groups/{gid}/members?first=1&max=1"))
        .body;
    assert_eq!(names(&m, "username"), vec!["bob@x.org"]);
    assert!(m[0].get("access").is_none(), "members come without access");
    assert!(
        m[0].get("requiredActions").is_some(),
        "and in full by default"
    );
    let g = api.get(&format!("/users/{ann}/groups")).body;
    assert_eq!(
        g,
        json!([{"id": gid, "name": "MAIA:lab", "path": "/MAIA:lab", "subGroups": []}])
    );

    assert_eq!(
        api.delete(&format!("/users/{ann}/groups/{gid}")).status,
        204
    );
    assert_eq!(kc.members("MAIA:lab").unwrap(), vec!["bob@x.org"]);
    assert_eq!(api.delete(&format!("/groups/{gid}")).status, 204);
    assert_eq!(kc.group_names(), vec!["MAIA:lab-two"]);
    assert_eq!(
        kc.usernames(),
        vec!["ann@x.org", "bob@x.org"],
        "accounts stay"
    );
}

#[test]
fn clients_keep_mappers_generate_secrets_and_conflict_on_client_id() {
    let kc = FakeKeycloak::start();
    let api = Api::new(&kc);
    let id = api.create(
        "/clients",
        json!({
            "clientId": "maia-lab-hub",
            "redirectUris": ["https://hub.lab.example.org/hub/oauth_callback"],
            "attributes": {"post.logout.redirect.uris": "https://hub.lab.example.org/"},
            "protocolMappers": [{"name": "groups", "protocol": "openid-connect",
                "protocolMapper": "oidc-group-membership-mapper",
                "config": {"claim.name": "groups", "full.path": "false"}}],
        }),
    );
    let c = api.get(&format!("/clients/{id}")).body;
    assert_eq!(c["clientId"], "maia-lab-hub");
    assert_eq!(c["publicClient"], false);
    assert_eq!(c["protocol"], "openid-connect");
    assert!(c["protocolMappers"][0]["id"].is_string());
    let secret = c["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32);
    assert_eq!(kc.client_secret("maia-lab-hub").unwrap(), secret);

    let a = api.post("/clients", json!({"clientId": "maia-lab-hub"}));
    assert_eq!(a.status, 409);
    assert_eq!(
        a.body,
        json!({"errorMessage": "Client maia-lab-hub already exists"})
    );

    let a = api.get("/clients?clientId=maia-lab-hub");
    assert_eq!(names(&a.body, "id"), vec![id.clone()]);
    assert_eq!(
        api.get("/clients?clientId=maia-lab").body,
        json!([]),
        "exact by default"
    );
    let a = api.get("/clients?clientId=LAB-HUB&search=true");
    assert_eq!(names(&a.body, "clientId"), vec!["maia-lab-hub"]);
    // The built-in clients and the admin client are there too.
    let all = api.get("/clients").body;
    assert_eq!(all.as_array().unwrap().len(), 8);
    assert_eq!(
        names(&api.get("/clients?first=0&max=2").body, "clientId"),
        vec!["account", "account-console"]
    );

    let a = api.get(&format!("/clients/{id}/client-secret"));
    assert_eq!(a.body, json!({"type": "secret", "value": secret}));
    let a = api.call("POST", &format!("/clients/{id}/client-secret"), None);
    assert_eq!(a.status, 200);
    assert_eq!(a.body["type"], "secret");
    assert_ne!(a.body["value"], secret.as_str());
    assert_eq!(
        kc.client_secret("maia-lab-hub").unwrap(),
        a.body["value"].as_str().unwrap()
    );

    let models = format!("/clients/{id}/protocol-mappers/models");
    let mapper = json!({"name": "aud", "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper", "config": {"included.client.audience": "x"}});
    let mid = api.create(&models, mapper.clone());
    let a = api.post(&models, mapper);
    assert_eq!(a.status, 409);
    assert_eq!(
        a.body,
        json!({"errorMessage": "Protocol mapper exists with same name"})
    );
    let unknown = json!({"name": "x", "protocol": "openid-connect", "protocolMapper": "oidc-nope"});
    let a = api.post(&models, unknown);
    assert_eq!(
        (a.status, a.body),
        (404, json!({"error": "ProtocolMapper provider not found"}))
    );
    assert_eq!(api.get(&models).body.as_array().unwrap().len(), 2);
    let a = api.put(
        &format!("{models}/{mid}"),
        json!({"name": "aud", "config": {"included.client.audience": "y"}}),
    );
    assert_eq!(a.status, 204);
    assert_eq!(
        api.get(&format!("{models}/{mid}")).body["config"]["included.client.audience"],
        "y"
    );
    assert_eq!(api.delete(&format!("{models}/{mid}")).status, 204);
    assert_eq!(
        api.get(&format!("{models}/{mid}")).body,
        json!({"error": "Model not found"})
    );
    assert_eq!(kc.mappers("maia-lab-hub").len(), 1);

    let a = api.put(
        &format!("/clients/{id}"),
        json!({"redirectUris": ["https://b/cb"], "attributes": {"x": "1"}}),
    );
    assert_eq!(a.status, 204);
    assert_eq!(kc.redirect_uris("maia-lab-hub"), vec!["https://b/cb"]);
    let c = kc.client("maia-lab-hub").unwrap();
    assert_eq!(
        c["attributes"]["post.logout.redirect.uris"], "https://hub.lab.example.org/",
        "merged"
    );
    assert_eq!(
        api.put(&format!("/clients/{id}"), json!({"clientId": "account"}))
            .status,
        409
    );

    assert_eq!(api.delete(&format!("/clients/{id}")).status, 204);
    let a = api.get(&format!("/clients/{id}"));
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"error": "Could not find client"}));
}

#[test]
fn execute_actions_email_is_recorded_or_fails_like_a_realm_without_smtp() {
    let kc = FakeKeycloak::start();
    kc.add_client(json!({"clientId": "hub", "redirectUris": ["https://hub.example.org/*"]}));
    let api = Api::new(&kc);
    let id = api.create(
        "/users",
        json!({"username": "ann@x.org", "email": "ann@x.org", "enabled": true}),
    );
    let path = format!("/users/{id}/execute-actions-email");
    let a = api.put(
        &format!(
            "{path}?lifespan=604800&client_id=hub&redirect_uri=https%3A%2F%2Fhub.example.org%2F"
        ),
        json!(["VERIFY_EMAIL", "UPDATE_PASSWORD"]),
    );
    assert_eq!(a.status, 204, "{a:?}");
    let mails = kc.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "ann@x.org");
    assert_eq!(mails[0].actions, vec!["VERIFY_EMAIL", "UPDATE_PASSWORD"]);
    assert_eq!(mails[0].lifespan, 604_800);
    assert_eq!(mails[0].client_id, "hub");
    assert_eq!(
        mails[0].redirect_uri.as_deref(),
        Some("https://hub.example.org/")
    );

    let a = api.put(
        &format!("{path}?client_id=hub&redirect_uri=https%3A%2F%2Fevil.org%2F"),
        json!([]),
    );
    assert_eq!(a.body, json!({"errorMessage": "Invalid redirect uri."}));
    let a = api.put(
        &format!("{path}?redirect_uri=https%3A%2F%2Fhub.example.org%2F"),
        json!([]),
    );
    assert_eq!(a.body, json!({"errorMessage": "Client id missing"}));
    let a = api.put(&path, json!(["MAKE_COFFEE"]));
    assert_eq!(
        a.body,
        json!({"errorMessage": "Provided invalid required actions"})
    );
    let a = api.put(&path, json!(["VERIFY_EMAIL"]));
    assert_eq!(a.status, 204);
    assert_eq!(kc.mails()[1].lifespan, 43_200, "the realm's default");
    assert_eq!(kc.mails()[1].client_id, "account");

    kc.fail_emails(true);
    let a = api.put(&path, json!(["VERIFY_EMAIL"]));
    assert_eq!(a.status, 500);
    let message = a.body["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("Failed to send execute actions email: Invalid sender address 'null'."),
        "{message}"
    );
    kc.set_smtp(Smtp::Unreachable);
    let a = api.put(&path, json!(["VERIFY_EMAIL"]));
    assert_eq!(
        (a.status, a.body),
        (
            500,
            json!({"errorMessage": "Failed to send execute actions email: Error when attempting to send the email to the server. More information is available in the server log."})
        )
    );
    assert_eq!(kc.mails().len(), 2, "no mail recorded when sending fails");

    let no_mail = api.create("/users", json!({"username": "nomail", "enabled": true}));
    let a = api.put(
        &format!("/users/{no_mail}/execute-actions-email"),
        json!([]),
    );
    assert_eq!(
        (a.status, a.body),
        (400, json!({"errorMessage": "User email missing"}))
    );
}

fn forbidden(a: &Answer) {
    assert_eq!(a.status, 403, "{a:?}");
    assert_eq!(a.body, json!({"error": "HTTP 403 Forbidden"}));
}

#[test]
fn each_missing_role_is_a_403_on_what_needs_it() {
    let kc = FakeKeycloak::start();
    let gid = kc.add_group("MAIA:lab");
    let uid = kc.add_user(SeedUser::active("ann@x.org"));
    let cid = kc.add_client(json!({"clientId": "hub"}));

    kc.remove_admin_role("manage-users");
    let api = Api::new(&kc);
    forbidden(&api.post("/users", json!({"username": "x"})));
    forbidden(&api.post("/groups", json!({"name": "g"})));
    forbidden(&api.call("PUT", &format!("/users/{uid}/groups/{gid}"), None));
    forbidden(&api.put(&format!("/users/{uid}/execute-actions-email"), json!([])));
    assert_eq!(
        api.get("/users?email=ann%40x.org&exact=true")
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(api.get(&format!("/groups/{gid}/members")).status, 200);

    kc.set_admin_roles(&["query-users", "query-groups"]);
    let api = Api::new(&kc);
    assert_eq!(
        api.get("/users").body,
        json!([]),
        "query-users alone sees no user"
    );
    assert_eq!(api.get("/users/count").body, json!(0));
    forbidden(&api.get(&format!("/users/{uid}")));
    assert_eq!(
        api.get("/users/nope").status,
        404,
        "query-users may learn an id is unknown"
    );
    assert_eq!(api.get("/groups").status, 200);
    forbidden(&api.get(&format!("/groups/{gid}/members")));
    forbidden(&api.get("/clients"));
    forbidden(&api.get("/clients/nope"));

    kc.set_admin_roles(&["view-users"]);
    let api = Api::new(&kc);
    assert_eq!(api.get("/groups").status, 200, "view-users lists groups");
    forbidden(&api.delete(&format!("/groups/{gid}")));

    kc.set_admin_roles(&["manage-users"]);
    let api = Api::new(&kc);
    assert_eq!(api.get("/groups?search=MAIA%3Alab&exact=true").status, 200);
    kc.set_admin_roles(&["query-clients"]);
    let api = Api::new(&kc);
    forbidden(&api.get("/groups"));
    assert_eq!(
        api.get("/clients?clientId=hub").body,
        json!([]),
        "query-clients alone sees no client"
    );
    forbidden(&api.get(&format!("/clients/{cid}")));

    kc.set_admin_roles(&["view-clients"]);
    let api = Api::new(&kc);
    assert_eq!(
        api.get(&format!("/clients/{cid}/client-secret")).status,
        200
    );
    forbidden(&api.post("/clients", json!({"clientId": "new"})));
    forbidden(&api.call("POST", &format!("/clients/{cid}/client-secret"), None));
    forbidden(&api.post(
        &format!("/clients/{cid}/protocol-mappers/models"),
        json!({"name": "m"}),
    ));
    forbidden(&api.delete(&format!("/clients/{cid}")));

    // Roles are in the token: a token taken before the change keeps its roles.
    kc.set_admin_roles(&["manage-clients"]);
    let api_with_clients = Api::new(&kc);
    kc.set_admin_roles(&[]);
    assert_eq!(api_with_clients.get(&format!("/clients/{cid}")).status, 200);
    forbidden(&Api::new(&kc).get(&format!("/clients/{cid}")));
    assert!(kc.admin_roles().is_empty());
}

#[test]
fn the_request_log_tells_reads_from_writes() {
    let kc = FakeKeycloak::start();
    let api = Api::new(&kc);
    let gid = api.create("/groups", json!({"name": "MAIA:lab"}));
    kc.clear_requests();
    api.get("/groups?search=MAIA%3Alab&exact=true");
    api.get(&format!("/groups/{gid}/members"));
    Api::new(&kc);
    assert!(kc.writes().is_empty(), "{:?}", kc.writes());
    let log = kc.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, format!("/admin/realms/{REALM}/groups"));
    assert_eq!(log[0].query, "search=MAIA%3Alab&exact=true");
    assert_eq!(log[0].status, 200);
    assert!(log[2].is_token());

    api.post("/groups", json!({"name": "MAIA:lab"}));
    let writes = kc.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!((writes[0].method.as_str(), writes[0].status), ("POST", 409));
}

fn base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Keycloak's own admin client (`@keycloak/keycloak-admin-client` 26.x, pinned in
/// `tests/keycloak-client/package-lock.json`) against the fake: if the fake spoke
/// anything but the API real clients speak, the script fails.
#[test]
fn the_official_admin_client_works_against_the_fake() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keycloak-client");
    let setup = format!("cd {} && npm ci", dir.display());
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "this test needs Node.js 18 or newer on PATH (`node`): install it \
         (e.g. `apt-get install nodejs npm`), then run `{setup}`"
    );
    assert!(
        dir.join("node_modules/@keycloak/keycloak-admin-client")
            .is_dir(),
        "this test needs Keycloak's admin client installed: run `{setup}`"
    );
    let kc = FakeKeycloak::start();
    let out = Command::new("node")
        .arg(dir.join("check.mjs"))
        .env("KC_URL", kc.url())
        .env("KC_REALM", REALM)
        .env("KC_CLIENT_ID", ADMIN_CLIENT_ID)
        // The secret goes through the environment, never argv.
        .env("KC_CLIENT_SECRET", kc.admin_secret())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "check.mjs failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
    // What the script did is visible in the fake.
    let mails = kc.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "ann@example.org");
    assert_eq!(mails[0].actions, vec!["VERIFY_EMAIL", "UPDATE_PASSWORD"]);
    assert_eq!(
        (mails[0].lifespan, mails[0].client_id.as_str()),
        (604_800, "account")
    );
    assert!(
        kc.group_names().is_empty(),
        "the script cleans up its groups"
    );
    assert!(
        kc.writes()
            .iter()
            .any(|w| w.path.ends_with("/protocol-mappers/models"))
    );
}
