//! The graphql-transport-ws protocol as the gateway speaks it: who may connect, what closes a
//! connection and with which code, what a good connection answers, and API tokens in
//! `connection_init`.

use super::options;
use crate::on_both_databases;
use crate::support::clients::{EVENTS, Ws, cookie, create_ticket, gql, open_subscriptions};
use crate::support::{Backend, Platform, Who};
use serde_json::json;

/// An API token of the session's user with `scopes` (a GraphQL list).
async fn api_token(base: &str, cookie: &str, scopes: &str) -> String {
    let made = gql(
        base,
        cookie,
        &format!("mutation {{ createApiToken(name: \"t\", scopes: {scopes}) {{ token }} }}"),
        json!({}),
    )
    .await;
    made["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn connections_without_the_protocol_or_a_session_are_refused(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let alice = cookie(&app.url, Who::FacultyA).await;
    // No subprotocol: not a graphql-transport-ws client.
    let url = format!("{}/graphql", app.url.replacen("http", "ws", 1));
    let refused = tokio_tungstenite::connect_async(url).await.unwrap_err();
    assert!(refused.to_string().contains("400"), "{refused}");

    // Nobody signed in, a forged cookie, a bad token, another site's page: 4403.
    for headers in [
        vec![],
        vec![("cookie", "tessera_session=forged")],
        vec![
            ("cookie", alice.as_str()),
            ("origin", "https://evil.example.com"),
        ],
    ] {
        let mut ws = Ws::open(&app.url, &headers).await;
        ws.send(json!({"type": "connection_init"})).await;
        assert_eq!(ws.closed().await.0, 4403, "{headers:?}");
    }
    let mut ws = Ws::open(&app.url, &[]).await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
        .await;
    assert_eq!(ws.closed().await.0, 4403);

    app.cleanup().await;
}

/// Subscribing before the ack (4401), a message that is not the protocol's (4400), a second
/// init (4429), an id in use (4409).
async fn protocol_violations_close_the_connection(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let alice = cookie(&app.url, Who::FacultyA).await;
    // Subscribing before the ack, a message that is not the protocol's, a second init, an
    // id in use.
    let mut ws = Ws::open(&app.url, &[("cookie", &alice)]).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(ws.closed().await.0, 4401);
    let mut ws = Ws::signed_in(&app.url, &alice).await;
    ws.send(json!({"type": "shout"})).await;
    assert_eq!(ws.closed().await.0, 4400);
    let mut ws = Ws::signed_in(&app.url, &alice).await;
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(ws.closed().await.0, 4429);
    let mut ws = Ws::signed_in(&app.url, &alice).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(ws.closed().await.0, 4409);

    app.cleanup().await;
}

async fn a_good_connection_answers_pings_queries_and_errors_per_operation(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let alice = cookie(&app.url, Who::FacultyA).await;
    // On a good connection: ping, a query (one result, then complete), errors per operation.
    let mut ws = Ws::signed_in(&app.url, &alice).await;
    ws.send(json!({"type": "ping", "payload": {"n": 1}})).await;
    assert_eq!(
        ws.next().await,
        json!({"type": "pong", "payload": {"n": 1}})
    );
    ws.subscribe("q", "{ me { name } }", json!({})).await;
    assert_eq!(ws.event("q").await["data"]["me"]["name"], "Alice Faculty");
    assert_eq!(ws.next().await, json!({"id": "q", "type": "complete"}));
    for (id, query, code) in [
        (
            "e1",
            "subscription { ticketEvents { nope } }",
            "BAD_USER_INPUT",
        ),
        (
            "e2",
            "subscription { ticketEvents(states: [SOLD]) { id } }",
            "BAD_USER_INPUT",
        ),
        (
            "e3",
            "subscription($t: ID) { ticketEvents(ticketId: $t) { id } }",
            "BAD_USER_INPUT",
        ),
        (
            "e4",
            "subscription { exportProgress(id: \"999999\") { id } }",
            "NOT_FOUND",
        ),
    ] {
        ws.subscribe(id, query, json!({"t": "not-a-number"})).await;
        let error = ws.next().await;
        assert_eq!(error["type"], "error", "{id}: {error}");
        assert_eq!(error["id"], id);
        assert_eq!(
            error["payload"][0]["extensions"]["code"], code,
            "{id}: {error}"
        );
    }
    // Over HTTP, a subscription is refused with where to go instead.
    let over_http = gql(&app.url, &alice, EVENTS, json!({})).await;
    assert_eq!(
        over_http["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{over_http}"
    );
    assert!(
        over_http["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("websocket")
    );

    app.cleanup().await;
}

async fn an_api_token_subscribes_only_with_tickets_read(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let alice = cookie(&app.url, Who::FacultyA).await;
    // API tokens: in connection_init; a token without TICKETS_READ may not subscribe.
    let tokens = [
        api_token(&app.url, &alice, "[TICKETS_READ]").await,
        api_token(&app.url, &alice, "[EXPORTS]").await,
    ];
    let budget = cookie(&app.url, Who::Budget).await;
    let mut reader = Ws::open(&app.url, &[]).await;
    reader
        .send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", tokens[0])}}))
        .await;
    assert_eq!(reader.next().await["type"], "connection_ack");
    reader.subscribe("1", EVENTS, json!({})).await;
    let mut exporter = Ws::open(&app.url, &[]).await;
    exporter
        .send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", tokens[1])}}))
        .await;
    assert_eq!(exporter.next().await["type"], "connection_ack");
    exporter.subscribe("1", EVENTS, json!({})).await;
    let error = exporter.next().await;
    assert_eq!(
        error["payload"][0]["extensions"]["code"], "FORBIDDEN",
        "{error}"
    );
    open_subscriptions(&app.url, 1).await;
    let id = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = reader.event("1").await;
    assert_eq!(seen["data"]["ticketEvents"]["ticket"]["id"], id.as_str());
    app.cleanup().await;
}

on_both_databases!(
    connections_without_the_protocol_or_a_session_are_refused,
    protocol_violations_close_the_connection,
    a_good_connection_answers_pings_queries_and_errors_per_operation,
    an_api_token_subscribes_only_with_tickets_read,
);
