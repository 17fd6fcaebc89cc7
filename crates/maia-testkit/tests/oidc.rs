//! The local OpenID provider (`maia_testkit::oidc`, panva's `oidc-provider`) does what
//! the portal's sign-in relies on, played over plain HTTP as a relying party and its
//! user's browser would: discovery, authorization code + PKCE, RS256 ID tokens checked
//! against the JWKS, the `groups` claim, refusals, and RP-initiated logout.
//!
//! Needs Node.js and `cd crates/maia-testkit/oidc-provider && npm ci` (`.ci/run` does
//! it); without them every test fails saying so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use maia_testkit::oidc::{OidcConfig, OidcError, OidcProvider, OidcUser};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, signature};
use serde_json::Value;

const CLIENT_ID: &str = "maia-portal";
const SECRET: &str = "portal-secret-for-tests";
// Never contacted: the flow stops at the redirect back to the client.
const REDIRECT: &str = "http://127.0.0.1:9/auth/callback";
const AFTER_LOGOUT: &str = "http://127.0.0.1:9/signed-out";

fn provider() -> OidcProvider {
    OidcProvider::start(
        OidcConfig::new(CLIENT_ID, SECRET, REDIRECT, AFTER_LOGOUT)
            .user(OidcUser::new(
                "ann",
                "ann-password",
                "ann@example.org",
                &["MAIA:admin", "MAIA:brain-lab"],
            ))
            .user(OidcUser::new(
                "bob",
                "bob-password",
                "bob@example.org",
                &["MAIA:brain-lab"],
            )),
    )
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build(),
    )
}

fn get_json(url: &str) -> Value {
    let mut resp = agent().get(url).call().unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

fn discovery(op: &OidcProvider) -> Value {
    get_json(&format!("{}/.well-known/openid-configuration", op.issuer()))
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).unwrap();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn param(url: &str, name: &str) -> Option<String> {
    url.split_once('?')?
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
}

fn authorize_url(disc: &Value, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("client_id", CLIENT_ID),
        ("response_type", "code"),
        ("scope", "openid profile email groups"),
        ("redirect_uri", REDIRECT),
    ];
    params.extend_from_slice(extra);
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!(
        "{}?{}",
        disc["authorization_endpoint"].as_str().unwrap(),
        query.join("&")
    )
}

/// The token endpoint's answer to `code` with `verifier`: status and JSON body.
fn exchange(disc: &Value, code: &str, verifier: &str) -> (u16, Value) {
    let basic = STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"));
    let mut resp = agent()
        .post(disc["token_endpoint"].as_str().unwrap())
        .header("authorization", &format!("Basic {basic}"))
        .send_form([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap())
}

/// A signed-in user's authorization code: (code, verifier, nonce).
fn sign_in(
    op: &OidcProvider,
    disc: &Value,
    user: &str,
    password: &str,
) -> (String, String, String) {
    let (state, nonce, verifier) = (random(), random(), random());
    let url = authorize_url(
        disc,
        &[
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge(&verifier)),
            ("code_challenge_method", "S256"),
        ],
    );
    let back = op.login(&url, user, password).unwrap();
    assert!(back.starts_with(&format!("{REDIRECT}?")), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some(state.as_str()));
    assert_eq!(param(&back, "iss").as_deref(), Some(op.issuer()));
    let code = param(&back, "code").expect("a code in the redirect");
    (code, verifier, nonce)
}

fn json_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Whether the JWT's RS256 signature verifies with the JWKS key its header names.
fn rs256_valid(jwt: &str, jwks: &Value) -> bool {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let header = json_part(parts[0]);
    assert_eq!(header["alg"], "RS256");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the ID token's kid is in the JWKS");
    assert_eq!(key["kty"], "RSA");
    let b64 = |f: &str| URL_SAFE_NO_PAD.decode(key[f].as_str().unwrap()).unwrap();
    let public = signature::RsaPublicKeyComponents {
        n: b64("n"),
        e: b64("e"),
    };
    let signed = format!("{}.{}", parts[0], parts[1]);
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    public
        .verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &sig,
        )
        .is_ok()
}

#[test]
fn a_code_flow_with_pkce_gives_a_signed_id_token_with_the_users_groups() {
    let op = provider();
    let disc = discovery(&op);
    assert_eq!(disc["issuer"], op.issuer());
    assert_eq!(
        disc["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        disc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert!(
        disc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&"RS256".into())
    );
    assert!(
        disc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&"groups".into())
    );

    let (code, verifier, nonce) = sign_in(&op, &disc, "ann", "ann-password");
    let (status, tokens) = exchange(&disc, &code, &verifier);
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    let id_token = tokens["id_token"].as_str().expect("an ID token");

    let jwks = get_json(disc["jwks_uri"].as_str().unwrap());
    assert!(rs256_valid(id_token, &jwks), "signature must verify");
    // The check is real: a payload changed after signing does not verify.
    let parts: Vec<&str> = id_token.split('.').collect();
    let mut claims = json_part(parts[1]);
    claims["groups"] = serde_json::json!(["MAIA:admin", "MAIA:other-lab"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert!(!rs256_valid(&forged, &jwks));

    let claims = json_part(parts[1]);
    assert_eq!(claims["iss"], op.issuer());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["sub"], "ann");
    assert_eq!(claims["preferred_username"], "ann");
    assert_eq!(claims["email"], "ann@example.org");
    assert_eq!(
        claims["groups"],
        serde_json::json!(["MAIA:admin", "MAIA:brain-lab"])
    );
    assert!(claims["exp"].as_u64() > claims["iat"].as_u64());

    // A code is good once.
    let (status, err) = exchange(&disc, &code, &verifier);
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[test]
fn each_user_gets_their_own_groups() {
    let op = provider();
    let disc = discovery(&op);
    let (code, verifier, _) = sign_in(&op, &disc, "bob", "bob-password");
    let (status, tokens) = exchange(&disc, &code, &verifier);
    assert_eq!(status, 200, "{tokens}");
    let payload = tokens["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims = json_part(payload);
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["groups"], serde_json::json!(["MAIA:brain-lab"]));
}

#[test]
fn a_wrong_code_verifier_is_refused() {
    let op = provider();
    let disc = discovery(&op);
    let (code, _verifier, _) = sign_in(&op, &disc, "ann", "ann-password");
    let (status, err) = exchange(&disc, &code, &random());
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "{err}"
    );
    assert!(err.get("id_token").is_none());
}

#[test]
fn an_authorization_request_without_s256_pkce_is_refused() {
    let op = provider();
    let disc = discovery(&op);
    let verifier = random();
    for extra in [
        vec![("state", "s1")],
        vec![
            ("state", "s1"),
            ("code_challenge", verifier.as_str()),
            ("code_challenge_method", "plain"),
        ],
    ] {
        let url = authorize_url(&disc, &extra);
        let back = op.login(&url, "ann", "ann-password").unwrap();
        assert!(back.starts_with(&format!("{REDIRECT}?")), "{back}");
        assert_eq!(
            param(&back, "error").as_deref(),
            Some("invalid_request"),
            "{back}"
        );
        assert_eq!(param(&back, "code"), None);
    }
}

#[test]
fn a_wrong_password_is_refused() {
    let op = provider();
    let disc = discovery(&op);
    let verifier = random();
    let url = authorize_url(
        &disc,
        &[
            ("state", "s"),
            ("nonce", "n"),
            ("code_challenge", &challenge(&verifier)),
            ("code_challenge_method", "S256"),
        ],
    );
    for (user, password) in [("ann", "bob-password"), ("nobody", "ann-password")] {
        match op.login(&url, user, password) {
            Err(OidcError::InvalidCredentials { username }) => assert_eq!(username, user),
            other => panic!("{user}: expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn rp_initiated_logout_ends_the_provider_session() {
    let op = provider();
    let disc = discovery(&op);
    let end_session = disc["end_session_endpoint"]
        .as_str()
        .expect("an end_session_endpoint");
    let authorize = |state: &str| {
        let verifier = random();
        authorize_url(
            &disc,
            &[
                ("state", state),
                ("nonce", "n"),
                ("code_challenge", &challenge(&verifier)),
                ("code_challenge_method", "S256"),
            ],
        )
    };
    let mut browser = op.browser();
    let back = browser
        .login(&authorize("one"), "ann", "ann-password")
        .unwrap();
    assert!(param(&back, "code").is_some(), "{back}");
    // Signed in at the provider: the next request needs no password.
    let back = browser
        .login(&authorize("two"), "ann", "not-asked")
        .unwrap();
    assert!(param(&back, "code").is_some(), "{back}");

    let logout = format!(
        "{end_session}?client_id={CLIENT_ID}&post_logout_redirect_uri={}&state=bye",
        encode(AFTER_LOGOUT)
    );
    let back = browser.logout(&logout).unwrap();
    assert_eq!(back, format!("{AFTER_LOGOUT}?state=bye"));
    // Signed out: the form is back and checks the password again.
    assert!(matches!(
        browser.login(&authorize("three"), "ann", "not-asked"),
        Err(OidcError::InvalidCredentials { .. })
    ));
}
