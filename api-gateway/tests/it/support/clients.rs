//! Clients of a running gateway over plain HTTP and over its websocket: a session cookie for a
//! member of the cast, a GraphQL call with it, a ticket created with it, and a
//! graphql-transport-ws client that subscribes and reads events, with `open_subscriptions` to
//! wait until the gateway has them live.

use super::{
    METRICS_TOKEN,
    cast::{PASSWORD, Who},
};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// How long a test waits for something that should come at once before it fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A graphql-transport-ws client.
pub struct Ws {
    pub socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Ws {
    /// Opens a websocket to `base`'s `/graphql` with `headers` (cookie, origin).
    pub async fn open(base: &str, headers: &[(&str, &str)]) -> Ws {
        let url = format!("{}/graphql", base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        for (name, value) in headers {
            let name =
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap();
            request
                .headers_mut()
                .insert(name, HeaderValue::from_str(value).unwrap());
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        Ws { socket }
    }

    /// Opens and initialises a connection with a session cookie.
    pub async fn signed_in(base: &str, cookie: &str) -> Ws {
        let mut ws = Ws::open(base, &[("cookie", cookie)]).await;
        ws.send(json!({"type": "connection_init"})).await;
        assert_eq!(ws.next().await["type"], "connection_ack");
        ws
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// The next protocol message; panics when the connection closes or nothing comes.
    pub async fn next(&mut self) -> Value {
        match self.next_or_close().await {
            Ok(message) => message,
            Err(close) => panic!("the connection closed: {close:?}"),
        }
    }

    /// The next protocol message, or the close code and reason.
    pub async fn next_or_close(&mut self) -> Result<Value, (u16, String)> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a message in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(text.as_str()).unwrap());
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new())));
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err((1006, err.to_string())),
                None => return Err((1006, "ended".into())),
            }
        }
    }

    /// Waits for the server to close the connection; its code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            if let Err(close) = self.next_or_close().await {
                return close;
            }
        }
    }

    /// The next `next` payload of subscription `id` (other messages are not expected).
    pub async fn event(&mut self, id: &str) -> Value {
        let message = self.next().await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id, "{message}");
        message["payload"].clone()
    }
}

/// Signs `who` in and returns the session cookie (`name=value`).
pub async fn cookie(base: &str, who: Who) -> String {
    let login = reqwest::Client::new()
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": who.email(), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

pub async fn gql(base: &str, cookie: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("cookie", cookie)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until `base` has `n` subscriptions open (they are live from then on).
pub async fn open_subscriptions(base: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let metrics = reqwest::Client::new()
            .get(format!("{base}/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let open = metrics
            .lines()
            .find_map(|l| l.strip_prefix("tessera_gateway_subscriptions_open "))
            .and_then(|v| v.trim().parse::<usize>().ok());
        if open == Some(n) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{base} never had {n} subscriptions open: {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates one ticket for `owner`; its id.
pub async fn create_ticket(base: &str, cookie: &str, owner: i64) -> String {
    let created = gql(
        base,
        cookie,
        "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\", count: 1}) { id } }",
        json!({"o": owner.to_string()}),
    )
    .await;
    created["data"]["createTickets"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string()
}

pub const EVENTS: &str = "subscription($after: ID) { ticketEvents(after: $after) { id kind ticket { id owner { name } } actor { name } } }";
