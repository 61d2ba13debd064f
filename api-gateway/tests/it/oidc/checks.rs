//! The ID token checks: a forged, tampered, foreign or stale token never opens a session;
//! the provider's keys are refetched when it rotates them, at most once per floor; a
//! provider that is down at start does not stop the gateway and is discovered later;
//! failures are rate limited.

use super::fake::{self, CLIENT_SECRET, FIRST, FakeProvider, SECOND};
use super::{browser, me, platform, sign_in, sign_in_with};
use crate::on_both_databases;
use crate::support::{Backend, Options, Platform, Who, free_port};
use reqwest::header::{LOCATION, RETRY_AFTER};
use serde_json::{Value, json};

const INVALID: &str = "/?oidc_error=invalid";

/// Builds an ID token for a sign-in's nonce.
type MakeToken<'a> = Box<dyn Fn(&str) -> String + 'a>;

async fn forged_tokens_are_refused(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(backend, &provider, &[]).await;
    let alice = Who::FacultyA.email();
    let now = chrono::Utc::now().timestamp();
    let with = |nonce: &str, change: &[(&str, Value)]| {
        let mut claims = provider.claims(alice, nonce);
        for (name, value) in change {
            claims[*name] = value.clone();
        }
        claims
    };
    let cases: Vec<(&str, MakeToken)> = vec![
        (
            "a claim changed after signing",
            Box::new(|n| {
                let good = fake::sign(&with(n, &[]), &FIRST);
                fake::tampered(&good, &with(n, &[("email", json!(Who::Admin.email()))]))
            }),
        ),
        (
            "another audience",
            Box::new(|n| fake::sign(&with(n, &[("aud", json!("someone-else"))]), &FIRST)),
        ),
        (
            "another issuer",
            Box::new(|n| fake::sign(&with(n, &[("iss", json!("http://127.0.0.1:1"))]), &FIRST)),
        ),
        (
            "expired beyond the clock skew",
            Box::new(|n| fake::sign(&with(n, &[("exp", json!(now - 120))]), &FIRST)),
        ),
        (
            "another sign-in's nonce",
            Box::new(|n| fake::sign(&with(&format!("{n}x"), &[]), &FIRST)),
        ),
        ("alg none", Box::new(|n| fake::unsigned(&with(n, &[])))),
        (
            "HS256 with the client secret",
            Box::new(|n| fake::sign_hs256(&with(n, &[]), CLIENT_SECRET)),
        ),
    ];
    for (case, make) in &cases {
        let browser = browser();
        let to = sign_in_with(&app, &provider, &browser, |n| make(n)).await;
        assert_eq!(to, INVALID, "{case}");
        assert_eq!(me(&app, &browser).await, Value::Null, "{case}");
    }
    // A code redeemed without the verifier of its challenge (PKCE) gets no token at all.
    let pkce = browser();
    let begun = super::begin(&app, &pkce, None).await;
    let token = fake::sign(&provider.claims(alice, &begun.nonce), &FIRST);
    provider.grant("pkce", token, "another-challenge");
    let params = [("code", "pkce"), ("state", begun.state.as_str())];
    let refused = super::callback(&app, &pkce, &params).await;
    assert_eq!(refused.headers()[LOCATION], INVALID);
    assert_eq!(me(&app, &pkce).await, Value::Null);
    // A token that expired within the clock skew (60 s) still counts.
    let browser = browser();
    let to = sign_in_with(&app, &provider, &browser, |n| {
        fake::sign(&with(n, &[("exp", json!(now - 30))]), &FIRST)
    })
    .await;
    assert_eq!(to, "/");
    assert_eq!(me(&app, &browser).await["email"], alice);
    app.cleanup().await;
}

async fn rotated_keys_are_refetched_at_most_once_per_floor(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(backend, &provider, &[]).await;
    let alice = Who::FacultyA.email();
    // Discovery fetched the keys at start.
    assert_eq!(provider.key_fetches(), 1);
    let first = browser();
    assert_eq!(sign_in(&app, &provider, &first, alice, &FIRST).await, "/");
    assert_eq!(provider.key_fetches(), 1);

    // The provider rotates its key between two sign-ins: the second still works.
    provider.rotate(&[SECOND]);
    let second = browser();
    assert_eq!(sign_in(&app, &provider, &second, alice, &SECOND).await, "/");
    assert_eq!(me(&app, &second).await["email"], alice);
    assert_eq!(provider.key_fetches(), 2);

    // A token naming a key nobody has cannot make the gateway fetch again at once.
    let unknown = fake::Key {
        kid: "unknown",
        ..FIRST
    };
    for _ in 0..3 {
        let to = sign_in(&app, &provider, &browser(), alice, &unknown).await;
        assert_eq!(to, INVALID);
    }
    assert_eq!(provider.key_fetches(), 2);
    app.cleanup().await;
}

async fn a_provider_down_at_start_is_discovered_later(backend: Backend) {
    // Nothing listens at the issuer: the gateway starts anyway and passwords keep working.
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut env = vec![
        ("OIDC_ISSUER", issuer),
        ("OIDC_CLIENT_ID", "tessera".to_string()),
        (
            "OIDC_REDIRECT_URL",
            "http://127.0.0.1/auth/oidc/callback".to_string(),
        ),
    ];
    env.push(("OIDC_DISPLAY_NAME", "Campus ID".to_string()));
    let app = Platform::spawn_with(
        backend,
        Options {
            env,
            ..Options::default()
        },
    )
    .await;
    let response = browser()
        .get(format!("{}/auth/oidc/login", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()[LOCATION], "/?oidc_error=unavailable");
    app.signed_in(Who::FacultyA).await;

    // Once the provider answers, a later sign-in discovers it (failed discoveries are
    // retried a few seconds apart, so the test asks until it does).
    let provider = FakeProvider::start_on(port, &[FIRST]).await;
    let browser = browser();
    let mut tries = 0;
    let begun = loop {
        let response = browser
            .get(format!("{}/auth/oidc/login", app.url))
            .send()
            .await
            .unwrap();
        let location = response.headers()[LOCATION].to_str().unwrap().to_string();
        if location != "/?oidc_error=unavailable" {
            break location;
        }
        tries += 1;
        assert!(tries < 120, "the provider was never discovered");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert!(
        begun.starts_with(&format!("{}/authorize?", provider.issuer)),
        "{begun}"
    );
    app.cleanup().await;
}

async fn failures_are_rate_limited_with_passwords(backend: Backend) {
    let provider = FakeProvider::start(&[FIRST]).await;
    let app = platform(backend, &provider, &[]).await;
    // Twenty failures from one address (the password limit per address) ...
    for _ in 0..20 {
        let to = sign_in(&app, &provider, &browser(), "nobody@test.edu", &FIRST).await;
        assert_eq!(to, "/?oidc_error=no_user");
    }
    // Counted like password failures.
    let metrics = reqwest::get(format!("{}/metrics", app.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"login_attempts_total{outcome="oidc_no_user"} 20"#),
        "{metrics}"
    );
    // ... and the next sign-in from it, of either kind, waits.
    let locked = browser()
        .get(format!("{}/auth/oidc/login", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(locked.headers()[LOCATION], "/?oidc_error=locked");
    let wait: u64 = locked.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0);
    let password = app
        .login(
            &app.client(),
            Who::FacultyA.email(),
            crate::support::PASSWORD,
        )
        .await;
    assert_eq!(password.status(), 429);
    app.cleanup().await;
}

on_both_databases!(
    forged_tokens_are_refused,
    rotated_keys_are_refetched_at_most_once_per_floor,
    a_provider_down_at_start_is_discovered_later,
    failures_are_rate_limited_with_passwords,
);
