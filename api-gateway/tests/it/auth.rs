//! Sign-in, sessions, sign-out and expiry (the brute-force limits are in `hardening`).

use crate::on_both_databases;
use crate::support::{Backend, Options, PASSWORD, Platform, Who, code, redis_or_skip};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use std::time::Duration;

const ME: &str = "{ me { id email roles } }";

/// Signs in without a cookie jar and returns the raw cookie pair `tessera_session=...`.
async fn raw_session(app: &Platform, who: Who) -> String {
    let response = app
        .login(&reqwest::Client::new(), who.email(), PASSWORD)
        .await;
    assert_eq!(response.status(), 200);
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], who.email());
    assert_eq!(body["user"]["id"], app.id(who).to_string());
    set.split(';').next().unwrap().to_string()
}

/// `me` with a raw cookie: the status and the body.
async fn me_with_cookie(app: &Platform, cookie: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.url))
        .header(COOKIE, cookie)
        .json(&json!({"query": ME}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Whether a raw cookie still opens a session.
async fn signed_in_with(app: &Platform, cookie: &str) -> bool {
    let (status, body) = me_with_cookie(app, cookie).await;
    assert_eq!(status, 200, "{body}");
    !body["data"]["me"].is_null()
}

async fn with_cookie(app: &Platform, cookie: &str, query: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/graphql", app.url))
        .header(COOKIE, cookie)
        .json(&json!({"query": query}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn sign_in_and_out(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let cookie = raw_session(&app, Who::FssA).await;
    let (status, body) = me_with_cookie(&app, &cookie).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["email"], Who::FssA.email(), "{body}");
    assert_eq!(body["data"]["me"]["roles"], json!(["FSS"]));

    let out = reqwest::Client::new()
        .post(format!("{}/auth/logout", app.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    // The cookie alone is worthless now: the caller is signed out.
    let (status, body) = me_with_cookie(&app, &cookie).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"data": {"me": null}}));
    let body = with_cookie(&app, &cookie, "{ ticketStats { total } }").await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
    app.cleanup().await;
}

async fn wrong_passwords_look_like_unknown_emails(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let client = reqwest::Client::new();
    let wrong = app
        .login(&client, Who::Chair.email(), "not the password")
        .await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    let wrong: Value = wrong.json().await.unwrap();
    let unknown = app.login(&client, "nobody@test.edu", PASSWORD).await;
    assert_eq!(unknown.status(), 401);
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(wrong, unknown);
    assert_eq!(
        wrong,
        json!({"error": {"code": "UNAUTHENTICATED", "message": "invalid email or password"}})
    );
    // Emails are matched case-insensitively.
    let shouted = app.login(&client, "CHAIR@TEST.EDU", PASSWORD).await;
    assert_eq!(shouted.status(), 200);
    // A body that is not a sign-in is a 400, not a crash.
    let bad = client
        .post(format!("{}/auth/login", app.url))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("email=x")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    app.cleanup().await;
}

async fn deactivated_users_lose_their_session(backend: Backend) {
    use db::sea_orm::{ConnectionTrait, Statement};
    let app = Platform::spawn(backend).await;
    let cookie = raw_session(&app, Who::FacultyB).await;
    assert!(signed_in_with(&app, &cookie).await);
    let backend = app.db.get_database_backend();
    app.db
        .execute(Statement::from_string(
            backend,
            format!(
                "UPDATE users SET active = false WHERE id = {}",
                app.id(Who::FacultyB)
            ),
        ))
        .await
        .unwrap();
    // The principal cache holds a user for a few seconds; after that the session is over.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(!signed_in_with(&app, &cookie).await);
    let again = app
        .login(&reqwest::Client::new(), Who::FacultyB.email(), PASSWORD)
        .await;
    assert_eq!(again.status(), 401);
    app.cleanup().await;
}

on_both_databases!(
    sign_in_and_out,
    wrong_passwords_look_like_unknown_emails,
    deactivated_users_lose_their_session
);

async fn sessions_expire(options: Options) {
    let app = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            // Sessions count whole seconds: a 3 s idle limit ends 2 to 3 s after the last
            // use, which leaves a loaded machine time for the first check.
            session: Some((Duration::from_secs(3), Duration::from_secs(3600))),
            ..options
        },
    )
    .await;
    let cookie = raw_session(&app, Who::Budget).await;
    assert!(signed_in_with(&app, &cookie).await);
    tokio::time::sleep(Duration::from_millis(4000)).await;
    // Signed out, and told to forget the cookie.
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.url))
        .header(COOKIE, &cookie)
        .json(&json!({"query": ME}))
        .send()
        .await
        .unwrap();
    let cleared = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"data": {"me": null}}));
    app.cleanup().await;

    // The absolute limit holds even for a session in constant use.
    let app = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            session: Some((Duration::from_secs(3600), Duration::from_secs(3))),
            ..Options::default()
        },
    )
    .await;
    let cookie = raw_session(&app, Who::Budget).await;
    assert!(signed_in_with(&app, &cookie).await);
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert!(!signed_in_with(&app, &cookie).await);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_in_process() {
    sessions_expire(Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_in_redis() {
    if let Some(redis) = redis_or_skip().await {
        sessions_expire(Options {
            redis: Some(redis),
            ..Options::default()
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_get_null_me_and_nothing_else() {
    let app = Platform::spawn(Backend::Sqlite).await;
    let client = app.client();
    let body = app
        .gql(&client, "{ __typename me { id } }", json!({}))
        .await;
    assert_eq!(body, json!({"data": {"__typename": "Query", "me": null}}));
    let body = app
        .gql(&client, "{ tickets { totalCount } }", json!({}))
        .await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
    // A forged cookie is not a session; a bearer token that is not valid is refused.
    assert!(!signed_in_with(&app, "tessera_session=forged").await);
    let body = with_cookie(&app, "tessera_session=forged", "{ ticketStats { total } }").await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
    let refused = reqwest::Client::new()
        .post(format!("{}/graphql", app.url))
        .bearer_auth("not-a-token")
        .json(&json!({"query": ME}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_is_bootstrapped_once() {
    let app = Platform::spawn(Backend::Sqlite).await;
    // The cast already has an admin: nothing is created.
    assert!(
        !api_gateway::auth::bootstrap_admin(&app.db, "root@test.edu", "long enough password")
            .await
            .unwrap()
    );
    use db::sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    app.db
        .execute(Statement::from_string(
            backend,
            "UPDATE users SET active = false WHERE email = 'admin@test.edu'",
        ))
        .await
        .unwrap();
    assert!(
        api_gateway::auth::bootstrap_admin(&app.db, "root@test.edu", "long enough password")
            .await
            .unwrap()
    );
    let client = app.client();
    let r = app
        .login(&client, "ROOT@test.edu", "long enough password")
        .await;
    assert_eq!(r.status(), 200);
    let body = app.gql(&client, "{ me { roles } }", json!({})).await;
    assert_eq!(body["data"]["me"]["roles"], json!(["ADMIN"]));
    app.cleanup().await;
}
