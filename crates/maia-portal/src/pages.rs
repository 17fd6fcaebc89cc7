//! The pages: askama templates compiled into the binary, HTML-escaped by default.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::Portal;

/// The stylesheet, embedded in the binary.
const STYLESHEET: &str = include_str!("../static/maia.css");

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    /// The portal's public URL, when the cluster config gives it.
    url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    title: &'a str,
    text: &'a str,
}

fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        // The templates take only strings: rendering fails only if writing to a
        // String does, which it does not; answer plainly all the same.
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot render the page").into_response(),
    }
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, &Message { title, text })
}

/// `/`: what maia is, and the way to sign in.
pub(crate) async fn home(State(portal): State<Arc<Portal>>) -> Response {
    let url = portal.config.as_ref().map(|c| c.url.as_str());
    page(StatusCode::OK, &Home { url })
}

/// `/healthz`: the process answers.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `/login`: sign-in comes with the OpenID Connect session; until then, 501.
pub(crate) async fn login() -> Response {
    message(
        StatusCode::NOT_IMPLEMENTED,
        "Sign-in is not available",
        "sign-in is not configured yet",
    )
}

/// `/static/maia.css`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Any other route.
pub(crate) async fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}
