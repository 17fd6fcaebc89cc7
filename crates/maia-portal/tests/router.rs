//! The portal's routes through its router, without a socket: what each answers and the
//! headers every response carries.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use maia_portal::{CONTENT_SECURITY_POLICY, MAX_BODY_BYTES, Portal, router};
use tower::ServiceExt;

fn portal() -> Portal {
    Portal {
        config: Some(maia_spec::workspace::Portal {
            url: "https://maia.example.org".into(),
            host: "maia.example.org".into(),
            client_id: "maia-portal".into(),
            client_secret_file: None,
        }),
    }
}

async fn send(request: Request<Body>) -> (Response<Body>, String) {
    let response = router(portal()).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        Response::from_parts(parts, Body::empty()),
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

async fn get(path: &str) -> (Response<Body>, String) {
    send(Request::get(path).body(Body::empty()).unwrap()).await
}

fn assert_security_headers(path: &str, response: &Response<Body>) {
    let h = response.headers();
    assert_eq!(
        h[header::CONTENT_SECURITY_POLICY],
        CONTENT_SECURITY_POLICY,
        "{path}"
    );
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
    assert_eq!(h[header::REFERRER_POLICY], "same-origin", "{path}");
}

#[tokio::test]
async fn every_route_answers_with_the_security_headers() {
    for (path, status, content_type) in [
        ("/", StatusCode::OK, "text/html"),
        ("/healthz", StatusCode::OK, "text/plain"),
        ("/login", StatusCode::NOT_IMPLEMENTED, "text/html"),
        ("/static/maia.css", StatusCode::OK, "text/css"),
        ("/no/such/page", StatusCode::NOT_FOUND, "text/html"),
    ] {
        let (response, _) = get(path).await;
        assert_eq!(response.status(), status, "{path}");
        let ct = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
        assert!(ct.starts_with(content_type), "{path}: {ct}");
        assert_security_headers(path, &response);
    }
}

#[tokio::test]
async fn health_is_ok() {
    let (response, body) = get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body, "ok");
}

#[tokio::test]
async fn the_home_page_says_what_maia_is_and_links_to_sign_in() {
    let (_, body) = get("/").await;
    assert!(body.starts_with("<!doctype html>"), "{body}");
    assert!(body.contains("<html lang=\"en\">"), "{body}");
    assert!(body.contains("name=\"viewport\""), "{body}");
    assert!(body.contains("research workspaces"), "{body}");
    assert!(
        body.contains("<a class=\"button\" href=\"/login\">Sign in</a>"),
        "{body}"
    );
    assert!(body.contains("href=\"/static/maia.css\""), "{body}");
    // No script, inline or not: the CSP would block it anyway.
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("style="), "{body}");
}

#[tokio::test]
async fn sign_in_says_it_is_not_configured_yet() {
    let (response, body) = get("/login").await;
    assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
    assert!(body.contains("sign-in is not configured yet"), "{body}");
    assert!(body.contains("<h1>"), "{body}");
}

#[tokio::test]
async fn an_unknown_route_is_a_404_page() {
    let (response, body) = get("/admin/../etc/passwd").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"), "{body}");
    assert!(body.contains("href=\"/\""), "{body}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let big = vec![b'x'; MAX_BODY_BYTES + 1];
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .unwrap();
    let (response, _) = send(request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_security_headers("POST /login", &response);
    // Within the limit the route answers as usual (here: no POST on /login).
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .body(Body::from(vec![b'x'; MAX_BODY_BYTES]))
        .unwrap();
    let (response, _) = send(request).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn text_is_escaped_in_pages() {
    // The portal URL comes from the cluster config: shown escaped.
    let mut p = portal();
    if let Some(c) = p.config.as_mut() {
        c.url = "https://x.org/<script>".into();
    }
    let response = router(p)
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(!body.contains("<script>"), "{body}");
    assert!(
        body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"),
        "{body}"
    );
}
