//! Every way a token is refused as a credential (401 UNAUTHENTICATED, no data): malformed,
//! tampered, signed by another key, never issued, not an API token, expired, revoked, or its
//! user deactivated.

use super::{REVOKE, assert_refused, bearer, create, issued, with_header};
use crate::on_both_databases;
use crate::support::{Backend, Platform, Who, code};
use serde_json::json;
use std::time::{Duration, Instant, SystemTime};

/// A platform and a working TICKETS_READ token of the budget director's: the app, her client,
/// the token and its id.
async fn with_a_token(backend: Backend) -> (Platform, reqwest::Client, String, String) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let (token, id) = create(&app, &budget, &["TICKETS_READ"], None).await;
    let (status, _) = bearer(&app, &token, "{ me { id } }", json!({})).await;
    assert_eq!(status, 200);
    (app, budget, token, id)
}

async fn malformed_and_tampered_tokens_are_unauthenticated(backend: Backend) {
    let (app, _, token, _) = with_a_token(backend).await;
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
    app.cleanup().await;
}

async fn tokens_we_did_not_issue_are_unauthenticated(backend: Backend) {
    let (app, _, _, _) = with_a_token(backend).await;
    let user = app.id(Who::Budget);
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
    app.cleanup().await;
}

async fn expired_and_revoked_tokens_are_unauthenticated(backend: Backend) {
    let (app, budget, token, id) = with_a_token(backend).await;
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
    app.cleanup().await;
}

/// Deactivated: Alice's token stops working (within the row cache's second).
async fn a_deactivated_users_token_stops_working(backend: Backend) {
    let app = Platform::spawn(backend).await;
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

on_both_databases!(
    malformed_and_tampered_tokens_are_unauthenticated,
    tokens_we_did_not_issue_are_unauthenticated,
    expired_and_revoked_tokens_are_unauthenticated,
    a_deactivated_users_token_stops_working,
);
