//! API tokens through the gateway: management with a session, `Authorization: Bearer` on
//! `/graphql`, what each scope allows, every way a token is refused, offline attenuation,
//! revocation and `lastUsedAt`.

mod managing;
mod refusals;
mod scopes;

use crate::support::{Platform, Who, code};
use db::entity::api_token;
use db::sea_orm::{ActiveModelTrait, Set};
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use std::time::SystemTime;

pub const CREATE: &str = "mutation($n: String!, $s: [ApiScope!]!, $e: DateTime) {
  createApiToken(name: $n, scopes: $s, expiresAt: $e) {
    token apiToken { id name scopes createdAt expiresAt revoked lastUsedAt }
  }
}";

pub const REVOKE: &str = "mutation($id: ID!) { revokeApiToken(id: $id) { id revoked } }";

/// Creates a token through `client`'s session and returns (token, id).
pub async fn create(
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
pub async fn with_header(
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

pub async fn bearer(app: &Platform, token: &str, query: &str, variables: Value) -> (u16, Value) {
    with_header(app, &format!("Bearer {token}"), query, variables).await
}

/// Asserts that `token` is refused as a credential: 401, UNAUTHENTICATED, no data.
pub async fn assert_refused(app: &Platform, token: &str, why: &str) {
    let (status, body) = bearer(app, token, "{ me { id } }", json!({})).await;
    assert_eq!(status, 401, "{why}: {body}");
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{why}: {body}");
    assert!(body["data"].is_null(), "{why}: {body}");
}

/// Asserts that the operation was refused as FORBIDDEN without running.
pub fn assert_forbidden(body: &Value, why: &str) {
    assert_eq!(code(body), Some("FORBIDDEN"), "{why}: {body}");
    assert!(body["data"].is_null(), "{why}: {body}");
}

/// Appends a block to a token, as a holder with the biscuit library or CLI would: no key.
pub fn attenuate(token: &str, block: &str) -> String {
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
pub async fn issued(
    app: &Platform,
    who: Who,
    hours_ago: i64,
    expires: Option<SystemTime>,
) -> String {
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
pub async fn ticket(app: &Platform, budget: &reqwest::Client) -> String {
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

pub const GRANT: &str = "mutation($t: ID!) { grantTicket(ticketId: $t) { state } }";
pub const NOTE: &str =
    "mutation($t: ID!) { addNote(ticketId: $t, body: \"from the dashboard\") { id } }";
pub const NOTES: &str = "query($t: ID!) { ticket(id: $t) { state notes { body } } }";
pub const READ: &str = "{ me { id } tickets { totalCount } }";
