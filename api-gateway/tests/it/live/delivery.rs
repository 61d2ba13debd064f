//! Delivery under strain: a client that reads nothing is let go, and replicas share live
//! updates through Redis.

use super::options;
use crate::on_both_databases;
use crate::support::clients::{
    EVENTS, PATIENCE, Ws, cookie, create_ticket, gql, open_subscriptions,
};
use crate::support::{Backend, Options, Platform, Who, redis_or_skip};
use futures::StreamExt;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::{
    MaybeTlsStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// A client that reads nothing is let go once its events back up, instead of the gateway
/// holding them for it without end.
async fn a_client_that_does_not_read_is_disconnected(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let grad = cookie(&app.url, Who::Grad).await;
    // A socket with a small receive buffer, so the backlog shows up at the gateway quickly.
    let address: std::net::SocketAddr = app.url.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(address).await.unwrap();
    let mut request = format!("ws://{address}/graphql")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(&grad).unwrap());
    let (socket, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    let mut slow = Ws { socket };
    slow.send(json!({"type": "connection_init"})).await;
    assert_eq!(slow.next().await["type"], "connection_ack");
    // Large events (aliases repeat the ticket), so fewer of them fill the buffers.
    let ticket = "ticket { id number cycle residency state createdAt updatedAt owner { id name email roles } }";
    let fields: Vec<String> = (0..20).map(|i| format!("t{i}: {ticket}")).collect();
    let query = format!(
        "subscription {{ ticketEvents {{ id kind at {} }} }}",
        fields.join(" ")
    );
    slow.subscribe("1", &query, json!({})).await;
    open_subscriptions(&app.url, 1).await;
    // Events far beyond what the subscription's queue and the socket buffers hold.
    let owner = app.id(Who::FacultyA).to_string();
    let mut created = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let made = gql(
            &app.url,
            &budget,
            "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\", count: 50}) { id } }",
            json!({"o": owner}),
        )
        .await;
        assert!(made["errors"].is_null(), "{made}");
        created += 50;
        let metrics = reqwest::get(format!("{}/metrics", app.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("tessera_gateway_subscriptions_open 0") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still subscribed after {created} events"
        );
    }
    // What the client finally reads ends, with 4008 when the close frame got through.
    let mut code = None;
    while let Ok(message) = tokio::time::timeout(PATIENCE, slow.socket.next()).await {
        match message {
            Some(Ok(Message::Close(frame))) => {
                code = frame.map(|f| u16::from(f.code));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        }
    }
    assert!(matches!(code, None | Some(4008)), "{code:?}");
    app.cleanup().await;
}

on_both_databases!(a_client_that_does_not_read_is_disconnected);

/// Two gateway replicas sharing Redis: a change made through one reaches a subscriber of the
/// other, and a logout on one closes the session's connections on the other.
async fn replicas_share_live_updates_through_redis(backend: Backend) {
    let Some(redis) = redis_or_skip().await else {
        return;
    };
    let app = Platform::spawn_with(
        backend,
        Options {
            relay: true,
            redis: Some(redis),
            ..Options::default()
        },
    )
    .await;
    let second = app.another_gateway().await;
    let budget = cookie(&app.url, Who::Budget).await;
    let alice = cookie(&app.url, Who::FacultyA).await;
    let mut ws = Ws::signed_in(&second, &alice).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    open_subscriptions(&second, 1).await;
    let id = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = ws.event("1").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        id.as_str(),
        "{seen}"
    );
    let seen_id = seen["data"]["ticketEvents"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Resuming on the other replica works from the same ids.
    let missed = create_ticket(&second, &budget, app.id(Who::FacultyA)).await;
    let mut again = Ws::signed_in(&app.url, &alice).await;
    again
        .subscribe("2", EVENTS, json!({"after": seen_id}))
        .await;
    let seen = again.event("2").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        missed.as_str(),
        "{seen}"
    );

    let out = reqwest::Client::new()
        .post(format!("{}/auth/logout", app.url))
        .header("cookie", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(ws.closed().await.0, 4403, "closed on the other replica");
    assert_eq!(again.closed().await.0, 4403);
    app.cleanup().await;
}

on_both_databases!(replicas_share_live_updates_through_redis);
