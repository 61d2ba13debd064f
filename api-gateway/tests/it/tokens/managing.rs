//! Managing tokens with a session (created, listed newest first to their owner only,
//! revoked, `lastUsedAt` once used), offline attenuation, and a database that cannot be read.

use super::{
    CREATE, GRANT, READ, REVOKE, assert_forbidden, assert_refused, attenuate, bearer, create,
    issued, ticket,
};
use crate::on_both_databases;
use crate::support::{Backend, Platform, Who, code};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Signed out: no token management. Bad input names the argument.
async fn managing_tokens_takes_a_session_and_good_input(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let body = app
        .gql(
            &app.client(),
            CREATE,
            json!({"n": "x", "s": ["TICKETS_READ"]}),
        )
        .await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
    let body = app
        .gql(&app.client(), "{ apiTokens { id } }", json!({}))
        .await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");

    for (variables, field) in [
        (json!({"n": "  ", "s": ["TICKETS_READ"]}), "name"),
        (json!({"n": "x".repeat(101), "s": ["TICKETS_READ"]}), "name"),
        (json!({"n": "dashboard", "s": []}), "scopes"),
        (
            json!({"n": "dashboard", "s": ["TICKETS_READ"], "e": "2020-01-01T00:00:00Z"}),
            "expiresAt",
        ),
    ] {
        let body = app.gql(&budget, CREATE, variables).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    app.cleanup().await;
}

/// "admissions", created with an expiry (its name trimmed, its scopes deduplicated, never
/// used), then a newer EXPORTS token: the admissions token and the newer one's id.
async fn admissions_then_a_newer_token(
    app: &Platform,
    budget: &reqwest::Client,
) -> (String, String) {
    let body = app
        .gql(
            budget,
            CREATE,
            json!({"n": " admissions ", "s": ["TICKETS_READ", "TICKETS_READ"], "e": "2099-06-30T12:00:00Z"}),
        )
        .await;
    let created = &body["data"]["createApiToken"]["apiToken"];
    assert_eq!(created["name"], "admissions", "{body}");
    assert_eq!(created["scopes"], json!(["TICKETS_READ"]), "{body}");
    let expires = chrono::DateTime::parse_from_rfc3339(created["expiresAt"].as_str().unwrap());
    assert_eq!(
        expires.unwrap(),
        chrono::DateTime::parse_from_rfc3339("2099-06-30T12:00:00Z").unwrap()
    );
    assert_eq!(created["lastUsedAt"], Value::Null, "{body}");
    let admissions = body["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, newest) = create(app, budget, &["EXPORTS"], None).await;
    (admissions, newest)
}

/// Created with an expiry; listed newest first; only the owner's.
async fn tokens_are_listed_newest_first_to_their_owner_only(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let (_, newest) = admissions_then_a_newer_token(&app, &budget).await;
    let body = app
        .gql(&budget, "{ apiTokens { id name } }", json!({}))
        .await;
    let list = body["data"]["apiTokens"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{body}");
    assert_eq!(list[0]["id"], newest.as_str(), "{body}");
    assert_eq!(list[1]["name"], "admissions", "{body}");
    let alice = app.signed_in(Who::FacultyA).await;
    let body = app.gql(&alice, "{ apiTokens { id } }", json!({})).await;
    assert_eq!(body["data"]["apiTokens"], json!([]), "{body}");
    // Someone else's token, or no token at all, is not found.
    for id in [newest.as_str(), "999999", "nope"] {
        let body = app.gql(&alice, REVOKE, json!({"id": id})).await;
        assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    }
    app.cleanup().await;
}

/// A use shows up as lastUsedAt once the batch is written (and only on the token used).
async fn a_use_shows_up_as_last_used_at(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let (admissions, _) = admissions_then_a_newer_token(&app, &budget).await;
    let (status, _) = bearer(&app, &admissions, "{ me { id } }", json!({})).await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let body = app
            .gql(&budget, "{ apiTokens { name lastUsedAt } }", json!({}))
            .await;
        let used = &body["data"]["apiTokens"][1];
        assert_eq!(used["name"], "admissions", "{body}");
        if used["lastUsedAt"].is_string() {
            assert!(
                body["data"]["apiTokens"][0]["lastUsedAt"].is_null(),
                "{body}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "lastUsedAt never written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.cleanup().await;
}

async fn attenuated_tokens_are_narrower(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let id = ticket(&app, &budget).await;
    let (token, token_id) = create(&app, &budget, &["TICKETS_READ", "TICKETS_WRITE"], None).await;

    // Queries only.
    let queries = attenuate(&token, r#"check if operation("query");"#);
    let (_, body) = bearer(&app, &queries, READ, json!({})).await;
    assert_eq!(body["data"]["tickets"]["totalCount"], 1, "{body}");
    let (_, body) = bearer(&app, &queries, GRANT, json!({"t": id})).await;
    assert_forbidden(&body, "a queries-only token mutates");
    let (_, body) = bearer(&app, &token, GRANT, json!({"t": id})).await;
    assert_eq!(body["data"]["grantTicket"]["state"], "GRANTED", "{body}");

    // One root field only.
    let stats = attenuate(&token, r#"check all field($f), $f == "ticketStats";"#);
    let (_, body) = bearer(&app, &stats, "{ ticketStats { total } }", json!({})).await;
    assert_eq!(body["data"]["ticketStats"]["total"], 1, "{body}");
    let (_, body) = bearer(&app, &stats, READ, json!({})).await;
    assert_forbidden(&body, "a ticketStats-only token reads tickets");

    // A shorter expiry: a later one still works, a past one makes it expired.
    let later = attenuate(&token, "check if time($t), $t < 2099-01-01T00:00:00Z;");
    let (status, _) = bearer(&app, &later, READ, json!({})).await;
    assert_eq!(status, 200);
    // A token issued two hours ago, narrowed to an hour ago: its added expiry has passed.
    let old = issued(&app, Who::Budget, 2, None).await;
    let (status, _) = bearer(&app, &old, READ, json!({})).await;
    assert_eq!(status, 200);
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let lapsed = attenuate(&old, &format!("check if time($t), $t < {an_hour_ago};"));
    let (status, body) = bearer(&app, &lapsed, READ, json!({})).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );

    // An appended block cannot make the token someone else's or add scopes.
    let forged = attenuate(
        &token,
        &format!(
            r#"user({}); token("api"); requires("TICKETS_READ"); check if true;"#,
            app.id(Who::Admin)
        ),
    );
    let (_, body) = bearer(&app, &forged, "{ me { id roles } }", json!({})).await;
    assert_eq!(
        body["data"]["me"]["id"],
        app.id(Who::Budget).to_string(),
        "{body}"
    );
    let (_, body) = bearer(&app, &forged, CREATE, json!({"n": "x", "s": ["EXPORTS"]})).await;
    assert_forbidden(&body, "an attenuated token manages tokens");

    // Revoking the token revokes every copy made from it.
    let body = app.gql(&budget, REVOKE, json!({"id": token_id})).await;
    assert_eq!(body["data"]["revokeApiToken"]["revoked"], true, "{body}");
    assert_refused(&app, &queries, "an attenuated copy of a revoked token").await;
    assert_refused(&app, &later, "an attenuated copy of a revoked token").await;
    app.cleanup().await;
}

async fn a_database_failure_is_unavailable(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let (token, _) = create(&app, &budget, &["TICKETS_READ"], None).await;
    use db::sea_orm::{ConnectionTrait, Statement};
    app.db
        .execute(Statement::from_string(
            app.db.get_database_backend(),
            "DROP TABLE api_tokens",
        ))
        .await
        .unwrap();
    // The token's row cannot be read: not a refusal, a dependency down.
    let (status, body) = bearer(&app, &token, "{ me { id } }", json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(code(&body), Some("UNAVAILABLE"), "{body}");
    for (query, variables) in [
        ("{ apiTokens { id } }", json!({})),
        (CREATE, json!({"n": "x", "s": ["TICKETS_READ"]})),
        (REVOKE, json!({"id": "1"})),
    ] {
        // The auth subgraph classifies database errors as every subgraph does: a missing table
        // is not an outage a retry would outlast, so INTERNAL (never UNAVAILABLE), naming nothing.
        let body = app.gql(&budget, query, variables).await;
        assert_eq!(code(&body), Some("INTERNAL"), "{query}: {body}");
        assert!(
            !body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("api_tokens"),
            "{body}"
        );
    }
    app.cleanup().await;
}

on_both_databases!(
    managing_tokens_takes_a_session_and_good_input,
    tokens_are_listed_newest_first_to_their_owner_only,
    a_use_shows_up_as_last_used_at,
    attenuated_tokens_are_narrower,
    a_database_failure_is_unavailable,
);
