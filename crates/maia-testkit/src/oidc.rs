//! A real OpenID provider on loopback for sign-in tests: panva's certified
//! `oidc-provider` (Node.js, pinned in `oidc-provider/package-lock.json` beside this
//! crate's manifest), started by [`OidcProvider::start`] as a child process and killed
//! on drop. It serves discovery, the authorization code flow with PKCE (S256, required),
//! RS256 ID tokens with a JWKS and a `groups` claim, and RP-initiated logout, for one
//! confidential client and the users given in [`OidcConfig`].
//!
//! Its sign-in page is a plain HTML form (no JavaScript) and consent is automatic, so
//! [`Browser`] can play the user's browser over HTTP with a cookie jar, without
//! Chromium: [`OidcProvider::login`] goes from an authorization URL to the redirect
//! back to the client with its `code`.
//!
//! Setup (once, and in CI by `.ci/run`): `cd crates/maia-testkit/oidc-provider && npm ci`.

// Test support: `start` panics with a message rather than make every test unwrap.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::json;

/// What went wrong while playing the browser.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The request itself failed (connection, I/O).
    #[error("HTTP request to {url} failed")]
    Http {
        /// The URL requested.
        url: String,
        /// Why.
        #[source]
        source: ureq::Error,
    },
    /// The sign-in form answered 401.
    #[error("the provider refused the username or password of {username:?}")]
    InvalidCredentials {
        /// The username tried.
        username: String,
    },
    /// A page that is neither a redirect nor a known form (an error page, say).
    #[error("unexpected answer {status} from {url}: {body}")]
    Unexpected {
        /// The URL requested.
        url: String,
        /// Its HTTP status.
        status: u16,
        /// Its body.
        body: String,
    },
    /// A redirect loop within the provider.
    #[error("more than {0} redirects without leaving the provider")]
    TooManyRedirects(usize),
}

/// One user the provider knows: the password checked by its sign-in form, and the
/// claims of its ID tokens (`preferred_username`, `name`, `email`, `groups`).
#[derive(Debug, Clone)]
pub struct OidcUser {
    /// `preferred_username`, and the account's `sub`.
    pub username: String,
    /// What the sign-in form accepts.
    pub password: String,
    /// The `email` claim (`email_verified` is true).
    pub email: String,
    /// The `name` claim.
    pub name: String,
    /// The `groups` claim (scope `groups`), e.g. `MAIA:admin`.
    pub groups: Vec<String>,
}

impl OidcUser {
    /// A user named after its username.
    pub fn new(username: &str, password: &str, email: &str, groups: &[&str]) -> Self {
        OidcUser {
            username: username.to_owned(),
            password: password.to_owned(),
            email: email.to_owned(),
            name: username.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }
}

/// The provider's one client and its users. `port` 0 lets the system choose.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The port on 127.0.0.1 (0: any free one).
    pub port: u16,
    /// The confidential client's id.
    pub client_id: String,
    /// Its secret (`client_secret_basic` at the token endpoint).
    pub client_secret: String,
    /// Its allowed redirect URIs (exact match).
    pub redirect_uris: Vec<String>,
    /// Its allowed `post_logout_redirect_uri`s.
    pub post_logout_redirect_uris: Vec<String>,
    /// The accounts that can sign in.
    pub users: Vec<OidcUser>,
}

impl OidcConfig {
    /// A client with one redirect URI and one post-logout redirect URI, no users yet.
    pub fn new(
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        post_logout: &str,
    ) -> Self {
        OidcConfig {
            port: 0,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
            post_logout_redirect_uris: vec![post_logout.to_owned()],
            users: Vec::new(),
        }
    }

    /// Adds a user.
    pub fn user(mut self, user: OidcUser) -> Self {
        self.users.push(user);
        self
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "port": self.port,
            "client": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "redirect_uris": self.redirect_uris,
                "post_logout_redirect_uris": self.post_logout_redirect_uris,
            },
            "users": self.users.iter().map(|u| json!({
                "username": u.username,
                "password": u.password,
                "email": u.email,
                "name": u.name,
                "groups": u.groups,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The running provider (a `node` child process), killed on drop.
pub struct OidcProvider {
    child: Child,
    issuer: String,
    client_id: String,
    client_secret: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OidcProvider {
    /// The folder of `provider.mjs` and its `package-lock.json`.
    pub fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc-provider")
    }

    /// The command that installs the provider's locked packages.
    pub fn setup_command() -> String {
        format!("cd {} && npm ci", Self::dir().display())
    }

    /// Starts the provider on 127.0.0.1 and waits until it listens.
    ///
    /// # Panics
    /// When Node.js or the npm packages are missing (the message says what to run), or
    /// when the provider does not start (the message carries its stderr).
    pub fn start(config: OidcConfig) -> OidcProvider {
        let setup = Self::setup_command();
        let node = Command::new("node").arg("--version").output();
        assert!(
            node.as_ref().is_ok_and(|o| o.status.success()),
            "OidcProvider needs Node.js 20.19 or newer on PATH (`node`): install it \
             (e.g. `apt-get install nodejs npm`), then run `{setup}`"
        );
        assert!(
            Self::dir().join("node_modules/oidc-provider").is_dir(),
            "OidcProvider needs the oidc-provider package installed: run `{setup}`"
        );
        let mut child = Command::new("node")
            .arg(Self::dir().join("provider.mjs"))
            .current_dir(Self::dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn node provider.mjs");
        // The config holds the client secret and passwords: stdin, never argv.
        {
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin
                .write_all(config.to_json().to_string().as_bytes())
                .expect("write the provider's config to its stdin");
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&text);
            }
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            let _ = lines.read_line(&mut first);
            let _ = tx.send(first);
            // Keep draining so that the child never blocks on a full pipe.
            let _ = std::io::copy(&mut lines, &mut std::io::sink());
        });
        // A guard against a hung child, not a timing assertion.
        let first = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let Ok(port) = first.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
            panic!("the OpenID provider did not start (first line {first:?}):\n{err}");
        };
        OidcProvider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
            client_id: config.client_id,
            client_secret: config.client_secret,
            stderr,
        }
    }

    /// The issuer, `http://127.0.0.1:PORT`; discovery is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client's secret.
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// What the provider wrote on stderr so far (warnings, errors).
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A browser with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.issuer)
    }

    /// Plays a fresh browser from `authorize_url` through the sign-in form as
    /// `username`, and returns where the provider sends it back to the client: the
    /// redirect URI with `code`, `state` and `iss` (or with `error` if refused).
    pub fn login(
        &self,
        authorize_url: &str,
        username: &str,
        password: &str,
    ) -> Result<String, OidcError> {
        self.browser().login(authorize_url, username, password)
    }
}

/// A user's browser against the provider: follows redirects within the provider,
/// keeps its cookies (one jar, by name), fills in its HTML forms.
pub struct Browser {
    agent: ureq::Agent,
    origin: String,
    jar: BTreeMap<String, String>,
}

const MAX_HOPS: usize = 20;

struct Page {
    url: String,
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(issuer: &str) -> Self {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .max_redirects(0)
                .http_status_as_error(false)
                .build(),
        );
        Browser {
            agent,
            origin: issuer.trim_end_matches('/').to_owned(),
            jar: BTreeMap::new(),
        }
    }

    /// Signs in from `authorize_url`; see [`OidcProvider::login`]. With the session
    /// cookie of an earlier sign-in, the provider answers without the form.
    pub fn login(
        &mut self,
        authorize_url: &str,
        username: &str,
        password: &str,
    ) -> Result<String, OidcError> {
        let mut page = self.request(authorize_url, None)?;
        for _ in 0..MAX_HOPS {
            if let Some(next) = page.location.take() {
                if !self.is_provider(&next) {
                    return Ok(next);
                }
                page = self.request(&next, None)?;
            } else if page.status == 401 {
                return Err(OidcError::InvalidCredentials {
                    username: username.to_owned(),
                });
            } else if page.status == 200 && page.body.contains("name=\"password\"") {
                let action = form_action(&page.body, &page.url);
                let form = [("username", username), ("password", password)];
                page = self.request(&action, Some(&form))?;
            } else {
                return Err(unexpected(page));
            }
        }
        Err(OidcError::TooManyRedirects(MAX_HOPS))
    }

    /// Follows `end_session_url` (the provider's `end_session_endpoint` with the
    /// client's parameters), confirms the sign-out form, and returns where the provider
    /// sends the browser (the `post_logout_redirect_uri`, or its own "signed out" page).
    pub fn logout(&mut self, end_session_url: &str) -> Result<String, OidcError> {
        let mut page = self.request(end_session_url, None)?;
        for _ in 0..MAX_HOPS {
            if let Some(next) = page.location.take() {
                if !self.is_provider(&next) {
                    return Ok(next);
                }
                page = self.request(&next, None)?;
            } else if page.status == 200 && page.body.contains("op.logoutForm") {
                let action = form_action(&page.body, &page.url);
                let mut form = hidden_inputs(&page.body);
                form.push(("logout".to_owned(), "yes".to_owned()));
                let form: Vec<(&str, &str)> =
                    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                page = self.request(&action, Some(&form))?;
            } else if page.status == 200 {
                return Ok(page.url);
            } else {
                return Err(unexpected(page));
            }
        }
        Err(OidcError::TooManyRedirects(MAX_HOPS))
    }

    fn is_provider(&self, url: &str) -> bool {
        url.starts_with('/') || url.starts_with(&format!("{}/", self.origin))
    }

    fn request(&mut self, url: &str, form: Option<&[(&str, &str)]>) -> Result<Page, OidcError> {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.origin)
        } else {
            url.to_owned()
        };
        let cookies = self
            .jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let http = |source| OidcError::Http {
            url: url.clone(),
            source,
        };
        let mut resp = match form {
            Some(form) => {
                let req = self.agent.post(&url);
                let req = if cookies.is_empty() {
                    req
                } else {
                    req.header("cookie", &cookies)
                };
                req.send_form(form.iter().copied()).map_err(http)?
            }
            None => {
                let req = self.agent.get(&url);
                let req = if cookies.is_empty() {
                    req
                } else {
                    req.header("cookie", &cookies)
                };
                req.call().map_err(http)?
            }
        };
        for set in resp.headers().get_all("set-cookie") {
            let Ok(set) = set.to_str() else { continue };
            let mut parts = set.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let expired = value.is_empty()
                || parts.any(|a| {
                    let a = a.trim().to_ascii_lowercase();
                    a.starts_with("max-age=0") || a.contains("1970")
                });
            if expired {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = resp.status().as_u16();
        let location = if resp.status().is_redirection() {
            resp.headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned)
        } else {
            None
        };
        let body = resp.body_mut().read_to_string().map_err(http)?;
        Ok(Page {
            url,
            status,
            location,
            body,
        })
    }
}

fn unexpected(page: Page) -> OidcError {
    OidcError::Unexpected {
        url: page.url,
        status: page.status,
        body: page.body,
    }
}

/// The `action` of the page's first form (the page's own URL if it has none).
fn form_action(html: &str, page_url: &str) -> String {
    html.find("<form")
        .map(|i| &html[i..])
        .and_then(|form| attr(&form[..form.find('>').unwrap_or(form.len())], "action"))
        .unwrap_or_else(|| page_url.to_owned())
}

/// `name`/`value` of every `<input type="hidden">` of the page.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .map(|tag| &tag[..tag.find('>').unwrap_or(tag.len())])
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default())))
        .collect()
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].replace("&amp;", "&"))
}
