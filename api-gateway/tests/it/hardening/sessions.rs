//! Findings 2, 3 and 8: sign-in and sign-out take JSON from this site only; a new password
//! ends the old sessions; failed sign-ins never lock an account's owner out.

use super::ME;
use crate::on_both_databases;
use crate::support::{Backend, Options, PASSWORD, Platform, Who};
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Finding 2: sign-in and sign-out take JSON from this site only, like `/graphql`.
async fn sign_in_and_out_refuse_forms_and_other_sites(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let client = reqwest::Client::new();
    let credentials = json!({"email": Who::Grad.email(), "password": PASSWORD}).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut request = client
            .post(format!("{}/auth/login", app.url))
            .body(credentials.clone());
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
        assert!(response.headers().get(SET_COOKIE).is_none());
    }
    let cross_site = client
        .post(format!("{}/auth/login", app.url))
        .header(CONTENT_TYPE, "application/json")
        .header(ORIGIN, "https://evil.example.com")
        .body(credentials.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert!(cross_site.headers().get(SET_COOKIE).is_none());

    let cookie = app.session_cookie(Who::Grad, PASSWORD).await;
    // A forged sign-out (a form, or a script on another site) leaves the session alone.
    let form = client
        .post(format!("{}/auth/logout", app.url))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let other_site = client
        .post(format!("{}/auth/logout", app.url))
        .header(COOKIE, &cookie)
        .header(ORIGIN, "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(other_site.status(), 403);
    assert!(signed_in_with(&app, &cookie).await);
    // The web client's own sign-out: no body, same origin.
    let own = client
        .post(format!("{}/auth/logout", app.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 204);
    assert!(!signed_in_with(&app, &cookie).await);
    app.cleanup().await;
}

async fn signed_in_with(app: &Platform, cookie: &str) -> bool {
    let body: Value = reqwest::Client::new()
        .post(format!("{}/graphql", app.url))
        .header(COOKIE, cookie)
        .json(&json!({"query": ME}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    !body["data"]["me"].is_null()
}

/// Waits (at most a minute) until `cookie` no longer opens a session: the gateway reloads a
/// user at most every few seconds.
async fn until_signed_out(app: &Platform, cookie: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if !signed_in_with(app, cookie).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

const SET_PASSWORD: &str =
    "mutation($id: ID!, $p: String!) { updateUser(input: {id: $id, password: $p}) { id } }";

async fn set_password(app: &Platform, admin_cookie: &str, who: Who, password: &str) {
    let body: Value = reqwest::Client::new()
        .post(format!("{}/graphql", app.url))
        .header(COOKIE, admin_cookie)
        .json(&json!({"query": SET_PASSWORD, "variables": {"id": app.id(who).to_string(), "p": password}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
}

/// Finding 3: a password set by an administrator ends the user's sessions; an administrator
/// who sets their own keeps the session they did it in and loses the others.
async fn a_new_password_ends_the_old_sessions(options: Options) {
    let app = Platform::spawn_with(Backend::Sqlite, options).await;
    let admin = app.session_cookie(Who::Admin, PASSWORD).await;
    let laptop = app.session_cookie(Who::FacultyB, PASSWORD).await;
    let phone = app.session_cookie(Who::FacultyB, PASSWORD).await;
    set_password(&app, &admin, Who::FacultyB, "a brand new password").await;
    assert!(
        until_signed_out(&app, &laptop).await,
        "the old session held"
    );
    assert!(until_signed_out(&app, &phone).await, "the old session held");
    let again = app
        .session_cookie(Who::FacultyB, "a brand new password")
        .await;
    assert!(signed_in_with(&app, &again).await);

    let other_admin_session = app.session_cookie(Who::Admin, PASSWORD).await;
    set_password(&app, &admin, Who::Admin, "the admin's new password").await;
    assert!(
        until_signed_out(&app, &other_admin_session).await,
        "the admin's other session held"
    );
    assert!(
        signed_in_with(&app, &admin).await,
        "the session that changed the password ended"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_the_old_sessions_in_process() {
    a_new_password_ends_the_old_sessions(Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_the_old_sessions_in_redis() {
    if let Some(redis) = crate::support::redis_or_skip().await {
        a_new_password_ends_the_old_sessions(Options {
            redis: Some(redis),
            ..Options::default()
        })
        .await;
    }
}

/// A client whose connections come from `address` (any 127.0.0.0/8 address reaches the
/// gateway on 127.0.0.1): another client address, as far as the gateway can tell.
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .build()
        .unwrap()
}

/// Finding 8: failures lock one address out of one account, and an address out of
/// everything, but never the account: its owner signs in from an address that has not
/// failed.
async fn nobody_can_lock_someone_else_out(options: Options) {
    let app = Platform::spawn_with(Backend::Sqlite, options).await;
    let attacker = client_from([127, 0, 0, 1]);
    for _ in 0..5 {
        let r = app.login(&attacker, Who::Grad.email(), "wrong").await;
        assert_eq!(r.status(), 401);
    }
    // This address is done with this account, even with the right password...
    let locked = app.login(&attacker, Who::Grad.email(), PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    let body: Value = locked.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    // ...but the owner, elsewhere, signs in (after a short wait the account's failures
    // impose on every attempt).
    let owner = client_from([127, 0, 0, 2]);
    assert_eq!(
        app.login(&owner, Who::Grad.email(), PASSWORD)
            .await
            .status(),
        200
    );
    // The attacker's address may still sign in to other accounts...
    assert_eq!(
        app.login(&attacker, Who::Chair.email(), PASSWORD)
            .await
            .status(),
        200
    );
    // ...until it has failed too often, whatever the emails; other addresses are unaffected.
    for i in 0..15 {
        let r = app
            .login(&attacker, &format!("guess{i}@test.edu"), "wrong")
            .await;
        assert_eq!(r.status(), 401);
    }
    let blocked = app.login(&attacker, Who::Budget.email(), PASSWORD).await;
    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().contains_key("retry-after"));
    let elsewhere = client_from([127, 0, 0, 3]);
    assert_eq!(
        app.login(&elsewhere, Who::Budget.email(), PASSWORD)
            .await
            .status(),
        200
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_in_process() {
    nobody_can_lock_someone_else_out(Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_in_redis() {
    if let Some(redis) = crate::support::redis_or_skip().await {
        nobody_can_lock_someone_else_out(Options {
            redis: Some(redis),
            ..Options::default()
        })
        .await;
    }
}

on_both_databases!(sign_in_and_out_refuse_forms_and_other_sites);
