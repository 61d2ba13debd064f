//! The flow: PKCE, state and nonce on the way out; the session cookie on the way back;
//! sign-out at the provider too; `state` once and only in the browser that began it; local
//! redirects only; the provider's own errors.

use super::fake::{FIRST, FakeProvider};
use super::{begin, browser, callback, me, platform, sign_in, sign_in_with, ways_in};
use crate::on_both_databases;
use crate::support::{Backend, Options, Platform, Who, redis_or_skip};
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};

async fn signs_in_and_out(app: Platform, provider: FakeProvider) {
    let browser = browser();
    let begun = begin(&app, &browser, Some("/tickets?state=OFFER_PENDING")).await;
    // The authorization code flow with PKCE (S256), a nonce, and the configured scopes.
    assert_eq!(begun.query["response_type"], "code");
    assert_eq!(begun.query["code_challenge_method"], "S256");
    assert_eq!(begun.query["client_id"], super::fake::CLIENT_ID);
    assert_eq!(
        begun.query["redirect_uri"],
        "http://127.0.0.1/auth/oidc/callback"
    );
    assert_eq!(begun.query["scope"], "openid email profile");
    // The email matches case-insensitively.
    let token = super::fake::sign(&provider.claims("A@Test.EDU", &begun.nonce), &FIRST);
    provider.grant("the-code", token, &begun.challenge);
    let response = callback(
        &app,
        &browser,
        &[("code", "the-code"), ("state", &begun.state)],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()[LOCATION], "/tickets?state=OFFER_PENDING");
    let cookies: Vec<&str> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("tessera_session=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")
            && c.split("; ").any(|part| part == "Path=/")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("tessera_oidc_state=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    // The same session as a password sign-in: GraphQL works with it.
    let signed_in = me(&app, &browser).await;
    assert_eq!(signed_in["email"], Who::FacultyA.email(), "{signed_in}");
    assert_eq!(signed_in["roles"], json!(["FACULTY"]));
    // Everything that needs a signed-in session works with it, token management included.
    let created: Value = browser
        .post(format!("{}/graphql", app.url))
        .json(&json!({"query": "mutation { createApiToken(name: \"sync\", scopes: [TICKETS_READ]) { token } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        created["data"]["createApiToken"]["token"].is_string(),
        "{created}"
    );

    // Sign-out ends the session here and says where to end it at the provider.
    let out = browser
        .post(format!("{}/auth/logout", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let there = out.headers()["tessera-provider-logout"].to_str().unwrap();
    let there = reqwest::Url::parse(there).unwrap();
    assert_eq!(there.path(), "/logout");
    let query: std::collections::HashMap<_, _> = there.query_pairs().into_owned().collect();
    assert_eq!(query["post_logout_redirect_uri"], "http://127.0.0.1/");
    assert_eq!(query["client_id"], super::fake::CLIENT_ID);
    assert_eq!(query["id_token_hint"].split('.').count(), 3);
    assert_eq!(me(&app, &browser).await, Value::Null);
    app.cleanup().await;
}

async fn sign_in_and_out(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(backend, &provider, &[]).await;
    signs_in_and_out(app, provider).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_out_with_redis() {
    if let Some(redis) = redis_or_skip().await {
        let provider = FakeProvider::start(&[FIRST]).await;
        let mut env = provider.env();
        env.push(("RATE_LIMIT_PER_ADDRESS", "0".into()));
        let app = Platform::spawn_with(
            Backend::Sqlite,
            Options {
                redis: Some(redis),
                env,
                ..Options::default()
            },
        )
        .await;
        signs_in_and_out(app, provider).await;
    }
}

async fn the_sign_in_page_learns_the_ways_in(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(backend, &provider, &[]).await;
    let config = ways_in(&app).await;
    assert_eq!(
        config,
        json!({"password": true, "provider": {"name": "Campus ID", "login": "/auth/oidc/login"}})
    );
    app.cleanup().await;

    let app = Platform::spawn(Backend::Sqlite).await;
    let config = ways_in(&app).await;
    assert_eq!(config, json!({"password": true, "provider": null}));
    // Without a provider, its routes send the browser back to sign in with passwords.
    let response = browser()
        .get(format!("{}/auth/oidc/login", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[LOCATION], "/?oidc_error=not_configured");
    app.cleanup().await;
}

async fn state_is_used_once_and_only_by_its_browser(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(backend, &provider, &[]).await;
    let expired = "/?oidc_error=expired";
    let alice = Who::FacultyA.email();

    // Another browser (an attacker's link, a login CSRF) carries a state it did not begin.
    let mine = browser();
    let begun = begin(&app, &mine, None).await;
    let token = super::fake::sign(&provider.claims(alice, &begun.nonce), &FIRST);
    provider.grant("code-1", token.clone(), &begun.challenge);
    let params = [("code", "code-1"), ("state", begun.state.as_str())];
    let foreign = callback(&app, &browser(), &params).await;
    assert_eq!(foreign.headers()[LOCATION], expired);
    // The browser that began it still can, once.
    let first = callback(&app, &mine, &params).await;
    assert_eq!(first.headers()[LOCATION], "/");
    provider.grant("code-1", token, &begun.challenge);
    let again = browser();
    // A replay, even with the state cookie the first browser had, finds nothing.
    let replayed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!(
            "{}/auth/oidc/callback?code=code-1&state={}",
            app.url, begun.state
        ))
        .header("cookie", format!("tessera_oidc_state={}", begun.state))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.headers()[LOCATION], expired);
    assert_eq!(me(&app, &again).await, Value::Null);
    // No state at all.
    let none = callback(&app, &again, &[("code", "code-1")]).await;
    assert_eq!(none.headers()[LOCATION], expired);

    // The provider's own answers: the person cancelled, or it refused.
    let replay = begin(&app, &again, None).await;
    let cancelled = callback(
        &app,
        &again,
        &[("error", "access_denied"), ("state", &replay.state)],
    )
    .await;
    assert_eq!(cancelled.headers()[LOCATION], "/?oidc_error=cancelled");
    let other = begin(&app, &again, None).await;
    let denied = callback(
        &app,
        &again,
        &[("error", "login_required"), ("state", &other.state)],
    )
    .await;
    assert_eq!(denied.headers()[LOCATION], "/?oidc_error=denied");
    app.cleanup().await;
}

async fn lands_only_on_local_paths(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(backend, &provider, &[]).await;
    for target in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "evil.example",
    ] {
        let browser = browser();
        let begun = begin(&app, &browser, Some(target)).await;
        let token = super::fake::sign(
            &provider.claims(Who::FacultyA.email(), &begun.nonce),
            &FIRST,
        );
        let code = format!("code-{target}");
        provider.grant(&code, token, &begun.challenge);
        let back = callback(&app, &browser, &[("code", &code), ("state", &begun.state)]).await;
        assert_eq!(back.headers()[LOCATION], "/", "{target}");
        assert!(!me(&app, &browser).await.is_null());
    }
    // And the default is the dashboard.
    let to = sign_in(&app, &provider, &browser(), Who::Grad.email(), &FIRST).await;
    assert_eq!(to, "/");
    let to = sign_in_with(&app, &provider, &browser(), |_| "not a token".into()).await;
    assert_eq!(to, "/?oidc_error=invalid");
    app.cleanup().await;
}

on_both_databases!(
    sign_in_and_out,
    the_sign_in_page_learns_the_ways_in,
    state_is_used_once_and_only_by_its_browser,
    lands_only_on_local_paths,
);
