//! What each scope allows, and what no token does whatever its scopes: manage tokens or
//! webhooks, change preferences, administer.

use super::{CREATE, GRANT, NOTE, NOTES, READ, REVOKE, assert_forbidden, bearer, create, ticket};
use crate::on_both_databases;
use crate::support::{Backend, Platform, Who};
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

/// A platform with one ticket of Alice's; the budget director's client and the ticket's id.
async fn with_a_ticket(backend: Backend) -> (Platform, reqwest::Client, String) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let id = ticket(&app, &budget).await;
    (app, budget, id)
}

/// TICKETS_READ: every query, over POST and GET; `me` is the token's user; no mutation.
async fn a_read_token_queries_over_post_and_get_and_never_mutates(backend: Backend) {
    let (app, budget, id) = with_a_ticket(backend).await;
    let me = app.id(Who::Budget).to_string();
    let (read, _) = create(&app, &budget, &["TICKETS_READ"], None).await;
    let (status, body) = bearer(&app, &read, READ, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["id"], me, "{body}");
    assert_eq!(body["data"]["tickets"]["totalCount"], 1, "{body}");
    let got: Value = reqwest::Client::new()
        .get(format!("{}/graphql", app.url))
        .query(&[("query", "{ me { id } }")])
        .header(AUTHORIZATION, format!("Bearer {read}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["data"]["me"]["id"], me, "{got}");
    for mutation in [GRANT, NOTE] {
        let (status, body) = bearer(&app, &read, mutation, json!({"t": id})).await;
        assert_eq!(status, 200, "{body}");
        assert_forbidden(&body, "TICKETS_READ mutates");
    }
    // Nothing the refused requests asked for happened.
    let body = app.gql(&budget, NOTES, json!({"t": id})).await;
    assert_eq!(body["data"]["ticket"]["state"], "INITIAL", "{body}");
    assert_eq!(body["data"]["ticket"]["notes"], json!([]), "{body}");
    app.cleanup().await;
}

/// TICKETS_WRITE alone: the ticket and note mutations, no query.
async fn a_write_token_mutates_and_never_reads(backend: Backend) {
    let (app, budget, id) = with_a_ticket(backend).await;
    let (write, _) = create(&app, &budget, &["TICKETS_WRITE"], None).await;
    let (_, body) = bearer(&app, &write, READ, json!({})).await;
    assert_forbidden(&body, "TICKETS_WRITE reads");
    let (_, body) = bearer(&app, &write, GRANT, json!({"t": id})).await;
    assert_eq!(body["data"]["grantTicket"]["state"], "GRANTED", "{body}");
    let (_, body) = bearer(&app, &write, NOTE, json!({"t": id})).await;
    assert!(body["data"]["addNote"]["id"].is_string(), "{body}");
    let body = app.gql(&budget, NOTES, json!({"t": id})).await;
    assert_eq!(body["data"]["ticket"]["state"], "GRANTED", "{body}");
    assert_eq!(
        body["data"]["ticket"]["notes"],
        json!([{"body": "from the dashboard"}])
    );
    app.cleanup().await;
}

/// EXPORTS alone: neither reads nor ticket changes.
async fn an_exports_token_neither_reads_nor_writes_notes(backend: Backend) {
    let (app, budget, id) = with_a_ticket(backend).await;
    let (exports, _) = create(&app, &budget, &["EXPORTS"], None).await;
    let (_, body) = bearer(&app, &exports, READ, json!({})).await;
    assert_forbidden(&body, "EXPORTS reads");
    let (_, body) = bearer(&app, &exports, NOTE, json!({"t": id})).await;
    assert_forbidden(&body, "EXPORTS writes notes");
    app.cleanup().await;
}

/// Every scope: still no token or webhook management, no admin mutation, no preferences; one
/// forbidden root field refuses the whole operation.
async fn no_token_manages_tokens_or_preferences(backend: Backend) {
    let (app, budget, id) = with_a_ticket(backend).await;
    let all_scopes = ["TICKETS_READ", "TICKETS_WRITE", "EXPORTS"];
    let (all, token_id) = create(&app, &budget, &all_scopes, None).await;
    let (_, body) = bearer(&app, &all, READ, json!({})).await;
    assert_eq!(
        body["data"]["me"]["id"],
        app.id(Who::Budget).to_string(),
        "{body}"
    );
    let session_only = [
        (CREATE, json!({"n": "x", "s": ["TICKETS_READ"]})),
        (REVOKE, json!({"id": token_id})),
        ("{ apiTokens { id } }", json!({})),
        ("{ me { id } apiTokens { id } }", json!({})),
        (
            "mutation { updateNotificationPreferences(email: false) { email } }",
            json!({}),
        ),
        (
            "mutation($t: ID!) { addNote(ticketId: $t, body: \"twice\") { id } updateNotificationPreferences(notes: true) { notes } }",
            json!({"t": id}),
        ),
        (HOOK, json!({})),
        ("{ webhooks { id } }", json!({})),
        ("{ me { id } webhook(id: \"1\") { id } }", json!({})),
        (
            "mutation { rotateWebhookSecret(id: \"1\") { secret } }",
            json!({}),
        ),
        (
            "mutation { sendTestWebhookEvent(id: \"1\") { id } }",
            json!({}),
        ),
    ];
    for (query, variables) in session_only {
        let (status, body) = bearer(&app, &all, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert_forbidden(&body, query);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("session"),
            "{body}"
        );
    }
    // Nothing the refused operations asked for happened: no note, no token made or revoked.
    let body = app.gql(&budget, NOTES, json!({"t": id})).await;
    assert_eq!(body["data"]["ticket"]["notes"], json!([]), "{body}");
    let body = app
        .gql(&budget, "{ apiTokens { revoked } }", json!({}))
        .await;
    assert_eq!(body["data"]["apiTokens"], json!([{"revoked": false}]));
    let body = app.gql(&budget, "{ webhooks { id } }", json!({})).await;
    assert_eq!(body["data"]["webhooks"], json!([]), "{body}");
    // The session itself manages webhooks through the gateway.
    let body = app.gql(&budget, HOOK, json!({})).await;
    let secret = body["data"]["createWebhook"]["secret"]
        .as_str()
        .unwrap_or_default();
    assert!(secret.starts_with("whsec_"), "{body}");
    app.cleanup().await;
}

/// Making a webhook.
const HOOK: &str =
    "mutation { createWebhook(input: {url: \"https://hooks.example.org/in\"}) { secret } }";

/// An administrator's token cannot administer.
async fn an_administrators_token_cannot_administer(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let admin = app.signed_in(Who::Admin).await;
    let all_scopes = ["TICKETS_READ", "TICKETS_WRITE", "EXPORTS"];
    let (admin_all, _) = create(&app, &admin, &all_scopes, None).await;
    let (_, body) = bearer(
        &app,
        &admin_all,
        "mutation { createUser(input: {email: \"new@test.edu\", name: \"N\", roles: [FACULTY], password: \"long enough password\"}) { id } }",
        json!({}),
    )
    .await;
    assert_forbidden(&body, "a token creates a user");
    let (_, body) = bearer(
        &app,
        &admin_all,
        "mutation($id: ID!) { updateUser(input: {id: $id, active: false}) { id } }",
        json!({"id": app.id(Who::FacultyB).to_string()}),
    )
    .await;
    assert_forbidden(&body, "a token deactivates a user");
    app.cleanup().await;
}

on_both_databases!(
    a_read_token_queries_over_post_and_get_and_never_mutates,
    a_write_token_mutates_and_never_reads,
    an_exports_token_neither_reads_nor_writes_notes,
    no_token_manages_tokens_or_preferences,
    an_administrators_token_cannot_administer,
);
