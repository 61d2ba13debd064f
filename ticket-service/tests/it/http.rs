//! The subgraph answers only requests signed by the gateway, and exposes federation SDL.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, ok};
use common::{Principal, Role};
use serde_json::json;
use std::time::{Duration, SystemTime};

async fn only_gateway_signed_requests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({"query": "{ me { id } }"});
    let post = |token: Option<String>| {
        let mut req = app.client.post(format!("{}/graphql", app.url)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    // No token, a token from another key, an expired token, garbage, and a user id header.
    let other = common::TokenMinter::new(biscuit_auth::KeyPair::new());
    let admin = Principal::user(app.id(Who::Admin), vec![Role::Admin], vec![]);
    let expired = app
        .minter
        .mint_expiring(&admin, SystemTime::now() - Duration::from_secs(1))
        .unwrap();
    for token in [
        None,
        Some(other.mint(&admin).unwrap()),
        Some(expired),
        Some("garbage".into()),
    ] {
        let r = post(token).await.unwrap();
        assert_eq!(r.status(), 401);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(code(&v), "UNAUTHENTICATED");
    }
    let r = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("x-user-id", "1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // An anonymous (but signed) request: `me` is null, everything else UNAUTHENTICATED.
    let anonymous = Principal::anonymous();
    let r = app.gql_as(&anonymous, "{ me { id } }", json!({})).await;
    assert_eq!(ok(&r)["me"], json!(null));
    for q in [
        "{ tickets { totalCount } }",
        "{ users { id } }",
        "{ ticket(id: \"1\") { id } }",
        "mutation { addNote(ticketId: \"1\", body: \"x\") { id } }",
    ] {
        let r = app.gql_as(&anonymous, q, json!({})).await;
        assert_eq!(code(&r), "UNAUTHENTICATED", "{q}");
    }
    let r = app
        .client
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.cleanup().await;
}

async fn federation_entities_respect_visibility(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.create_tickets(Who::FacultyA, 1).await.remove(0);
    let q = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Ticket { number owner { name } } ... on User { name } } }";
    let reps = json!({"r": [{"__typename": "Ticket", "id": t}, {"__typename": "User", "id": app.id(Who::FacultyB).to_string()}]});
    let r = app.gql(Who::FssA, q, reps.clone()).await;
    assert_eq!(ok(&r)["_entities"][0]["owner"]["name"], "Alice Faculty");
    assert_eq!(ok(&r)["_entities"][1]["name"], "Bob Faculty");
    let r = app.gql(Who::FssB, q, reps).await;
    assert_eq!(ok(&r)["_entities"][0], json!(null));
    let r = app.gql(Who::FssB, "{ _service { sdl } }", json!({})).await;
    let sdl = ok(&r)["_service"]["sdl"].as_str().unwrap();
    assert!(sdl.contains("type Ticket @key(fields: \"id\")"), "{sdl}");
    assert!(sdl.contains("type User @key(fields: \"id\")"), "{sdl}");
    app.cleanup().await;
}

async fn an_oversized_body_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = format!("{}/graphql", app.url);
    testkit::subgraph::assert_refuses_oversized(&url, common::server::MAX_BODY).await;
    app.cleanup().await;
}

on_both_databases!(
    only_gateway_signed_requests,
    federation_entities_respect_visibility,
    an_oversized_body_is_refused
);
