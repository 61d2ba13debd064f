//! API tokens through the gateway: management with a session, `Authorization: Bearer` on
//! `/graphql`, what each scope allows, every way a token is refused, offline attenuation,
//! revocation and `lastUsedAt`.

use crate::on_both_databases;
use crate::support::{Backend, Platform, Who, code};
use db::entity::api_token;
use db::sea_orm::{ActiveModelTrait, Set};
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime};

const CREATE: &str = "mutation($n: String!, $s: [ApiScope!]!, $e: DateTime) {
  createApiToken(name: $n, scopes: $s, expiresAt: $e) {
    token apiToken { id name scopes createdAt expiresAt revoked lastUsedAt }
  }
}";

const REVOKE: &str = "mutation($id: ID!) { revokeApiToken(id: $id) { id revoked } }";

/// Creates a token through `client`'s session and returns (token, id).
async fn create(
    app: &Platform,
    client: &reqwest::Client,
    scopes: &[&str],
    expires: Option<&str>,
) -> (String, String) {
    let body = app
        .gql(
            client,
            CREATE,
            json!({"n": format!("{scopes:?}"), "s": scopes, "e": expires}),
        )
        .await;
    let created = &body["data"]["createApiToken"];
    assert!(created["token"].is_string(), "{body}");
    assert_eq!(created["apiToken"]["revoked"], false, "{body}");
    assert_eq!(created["apiToken"]["scopes"], json!(scopes), "{body}");
    (
        created["token"].as_str().unwrap().to_string(),
        created["apiToken"]["id"].as_str().unwrap().to_string(),
    )
}

/// POSTs a GraphQL request with `Authorization: <authorization>`: the status and the body.
async fn with_header(
    app: &Platform,
    authorization: &str,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.url))
        .header(AUTHORIZATION, authorization)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn bearer(app: &Platform, token: &str, query: &str, variables: Value) -> (u16, Value) {
    with_header(app, &format!("Bearer {token}"), query, variables).await
}

/// Asserts that `token` is refused as a credential: 401, UNAUTHENTICATED, no data.
async fn assert_refused(app: &Platform, token: &str, why: &str) {
    let (status, body) = bearer(app, token, "{ me { id } }", json!({})).await;
    assert_eq!(status, 401, "{why}: {body}");
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{why}: {body}");
    assert!(body["data"].is_null(), "{why}: {body}");
}

/// Asserts that the operation was refused as FORBIDDEN without running.
fn assert_forbidden(body: &Value, why: &str) {
    assert_eq!(code(body), Some("FORBIDDEN"), "{why}: {body}");
    assert!(body["data"].is_null(), "{why}: {body}");
}

/// Appends a block to a token, as a holder with the biscuit library or CLI would: no key.
fn attenuate(token: &str, block: &str) -> String {
    let block = biscuit_auth::BlockBuilder::new().code(block).unwrap();
    biscuit_auth::UnverifiedBiscuit::from_base64(token)
        .unwrap()
        .append(block)
        .unwrap()
        .to_base64()
        .unwrap()
}

/// A TICKETS_READ token of `who`'s, issued `hours_ago` (as `createApiToken` would have,
/// then), expiring at `expires`.
async fn issued(app: &Platform, who: Who, hours_ago: i64, expires: Option<SystemTime>) -> String {
    let user = app.id(who);
    let minted = app
        .minter
        .mint_api_token(user, &[common::ApiScope::TicketsRead], expires)
        .unwrap();
    api_token::ActiveModel {
        user_id: Set(user),
        name: Set(format!("issued {hours_ago} hours ago")),
        scopes: Set("TICKETS_READ".into()),
        revocation_id: Set(minted.revocation_id),
        created_at: Set(db::now() - chrono::Duration::hours(hours_ago)),
        expires_at: Set(expires.map(Into::into)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    minted.token
}

/// A new ticket of Alice's, created by the budget director; returns its id.
async fn ticket(app: &Platform, budget: &reqwest::Client) -> String {
    let body = app
        .gql(
            budget,
            "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\"}) { id } }",
            json!({"o": app.id(Who::FacultyA).to_string()}),
        )
        .await;
    body["data"]["createTickets"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

const GRANT: &str = "mutation($t: ID!) { grantTicket(ticketId: $t) { state } }";
const NOTE: &str =
    "mutation($t: ID!) { addNote(ticketId: $t, body: \"from the dashboard\") { id } }";
const NOTES: &str = "query($t: ID!) { ticket(id: $t) { state notes { body } } }";
const READ: &str = "{ me { id } tickets { totalCount } }";

async fn scopes_allow_what_they_should_and_nothing_more(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let id = ticket(&app, &budget).await;
    let me = app.id(Who::Budget).to_string();

    // TICKETS_READ: every query, over POST and GET; `me` is the token's user; no mutation.
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

    // TICKETS_WRITE alone: the ticket and note mutations, no query.
    let (write, _) = create(&app, &budget, &["TICKETS_WRITE"], None).await;
    let (_, body) = bearer(&app, &write, READ, json!({})).await;
    assert_forbidden(&body, "TICKETS_WRITE reads");
    let (_, body) = bearer(&app, &write, GRANT, json!({"t": id})).await;
    assert_eq!(body["data"]["grantTicket"]["state"], "GRANTED", "{body}");
    let (_, body) = bearer(&app, &write, NOTE, json!({"t": id})).await;
    assert!(body["data"]["addNote"]["id"].is_string(), "{body}");

    // Nothing the refused requests above asked for happened.
    let body = app.gql(&budget, NOTES, json!({"t": id})).await;
    assert_eq!(body["data"]["ticket"]["state"], "GRANTED", "{body}");
    assert_eq!(
        body["data"]["ticket"]["notes"],
        json!([{"body": "from the dashboard"}])
    );

    // EXPORTS alone: neither reads nor ticket changes.
    let (exports, _) = create(&app, &budget, &["EXPORTS"], None).await;
    let (_, body) = bearer(&app, &exports, READ, json!({})).await;
    assert_forbidden(&body, "EXPORTS reads");
    let (_, body) = bearer(&app, &exports, NOTE, json!({"t": id})).await;
    assert_forbidden(&body, "EXPORTS writes notes");

    // Every scope: still no token management, no admin mutation, no preferences; one
    // forbidden root field refuses the whole operation.
    let (all, token_id) = create(
        &app,
        &budget,
        &["TICKETS_READ", "TICKETS_WRITE", "EXPORTS"],
        None,
    )
    .await;
    let (_, body) = bearer(&app, &all, READ, json!({})).await;
    assert_eq!(body["data"]["me"]["id"], me, "{body}");
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
    let body = app.gql(&budget, NOTES, json!({"t": id})).await;
    assert_eq!(body["data"]["ticket"]["notes"].as_array().unwrap().len(), 1);
    let body = app
        .gql(&budget, "{ apiTokens { revoked } }", json!({}))
        .await;
    assert_eq!(body["data"]["apiTokens"].as_array().unwrap().len(), 4);
    assert!(
        body["data"]["apiTokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["revoked"] == false)
    );

    // An administrator's token cannot administer.
    let admin = app.signed_in(Who::Admin).await;
    let (admin_all, _) = create(
        &app,
        &admin,
        &["TICKETS_READ", "TICKETS_WRITE", "EXPORTS"],
        None,
    )
    .await;
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

async fn refused_tokens_are_unauthenticated(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let user = app.id(Who::Budget);
    let (token, id) = create(&app, &budget, &["TICKETS_READ"], None).await;
    let (status, _) = bearer(&app, &token, "{ me { id } }", json!({})).await;
    assert_eq!(status, 200);

    for header in [
        "Basic YWxpY2U6c2VjcmV0",
        "Bearer",
        "Bearer    ",
        token.as_str(),
    ] {
        let (status, body) = with_header(&app, header, "{ me { id } }", json!({})).await;
        assert_eq!(status, 401, "{header}: {body}");
        assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{header}: {body}");
    }
    assert_refused(&app, "not-a-token", "garbage").await;

    // One character changed in the signed payload.
    let mut tampered: Vec<char> = token.chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    assert_refused(&app, &tampered, "tampered").await;

    // The same kind of token, signed by another key.
    let other = common::TokenMinter::new(biscuit_auth::KeyPair::new())
        .mint_api_token(user, &[common::ApiScope::TicketsRead], None)
        .unwrap();
    assert_refused(&app, &other.token, "another key").await;

    // Signed by our key but never issued (no row), and a per-request token (not an API
    // token at all) that leaked.
    let unissued = app
        .minter
        .mint_api_token(user, &[common::ApiScope::TicketsRead], None)
        .unwrap();
    assert_refused(&app, &unissued.token, "unissued").await;
    let request_token = app
        .minter
        .mint(&common::Principal::user(
            user,
            vec![common::Role::BudgetDirector],
            vec![],
        ))
        .unwrap();
    assert_refused(&app, &request_token, "a per-request token").await;

    // Expired: issued an hour ago with an expiry that has passed.
    let past = SystemTime::now() - Duration::from_secs(60);
    let expired = issued(&app, Who::Budget, 1, Some(past)).await;
    assert_refused(&app, &expired, "expired").await;

    // Revoked: refused from the next request on this replica.
    let body = app.gql(&budget, REVOKE, json!({"id": id})).await;
    assert_eq!(body["data"]["revokeApiToken"]["revoked"], true, "{body}");
    assert_refused(&app, &token, "revoked").await;
    let body = app.gql(&budget, REVOKE, json!({"id": id})).await;
    assert_eq!(
        body["data"]["revokeApiToken"]["revoked"], true,
        "revoking again: {body}"
    );

    // Deactivated: Alice's token stops working (within the row cache's second).
    let alice = app.signed_in(Who::FacultyA).await;
    let (alices, _) = create(&app, &alice, &["TICKETS_READ"], None).await;
    let (status, _) = bearer(&app, &alices, "{ me { id } }", json!({})).await;
    assert_eq!(status, 200);
    let admin = app.signed_in(Who::Admin).await;
    let body = app
        .gql(
            &admin,
            "mutation($id: ID!) { updateUser(input: {id: $id, active: false}) { active } }",
            json!({"id": app.id(Who::FacultyA).to_string()}),
        )
        .await;
    assert_eq!(body["data"]["updateUser"]["active"], false, "{body}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = bearer(&app, &alices, "{ me { id } }", json!({})).await;
        if status == 401 {
            assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
            break;
        }
        assert_eq!(body["data"]["me"]["id"], app.id(Who::FacultyA).to_string());
        assert!(
            Instant::now() < deadline,
            "a deactivated user's token still works"
        );
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

async fn managing_tokens(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;

    // Signed out: no token management.
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

    // Bad input names the argument.
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

    // Created with an expiry; listed newest first; only the owner's.
    let body = app
        .gql(
            &budget,
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
    let (_, newest) = create(&app, &budget, &["EXPORTS"], None).await;
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

    // A use shows up as lastUsedAt once the batch is written.
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
        let body = app.gql(&budget, query, variables).await;
        assert_eq!(code(&body), Some("UNAVAILABLE"), "{query}: {body}");
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
    scopes_allow_what_they_should_and_nothing_more,
    refused_tokens_are_unauthenticated,
    attenuated_tokens_are_narrower,
    managing_tokens,
    a_database_failure_is_unavailable,
);
