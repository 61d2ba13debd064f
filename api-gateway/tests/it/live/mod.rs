//! Live updates through the gateway with a real websocket client speaking
//! graphql-transport-ws: events as they commit, only to those who may see them, resumed with
//! `after` without loss or duplicates, across gateway replicas sharing Redis, through a relay
//! that died between commit and publish; sessions that end close their connections; export
//! progress; the protocol's errors.

use crate::on_both_databases;
use crate::support::{Backend, Options, PASSWORD, Platform, Who, redis_or_skip};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// How long a test waits for something that should come at once before it fails.
const PATIENCE: Duration = Duration::from_secs(15);

/// A graphql-transport-ws client.
pub(crate) struct Ws {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Ws {
    /// Opens a websocket to `base`'s `/graphql` with `headers` (cookie, origin).
    async fn open(base: &str, headers: &[(&str, &str)]) -> Ws {
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
    pub(crate) async fn signed_in(base: &str, cookie: &str) -> Ws {
        let mut ws = Ws::open(base, &[("cookie", cookie)]).await;
        ws.send(json!({"type": "connection_init"})).await;
        assert_eq!(ws.next().await["type"], "connection_ack");
        ws
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    pub(crate) async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// The next protocol message; panics when the connection closes or nothing comes.
    async fn next(&mut self) -> Value {
        match self.next_or_close().await {
            Ok(message) => message,
            Err(close) => panic!("the connection closed: {close:?}"),
        }
    }

    /// The next protocol message, or the close code and reason.
    async fn next_or_close(&mut self) -> Result<Value, (u16, String)> {
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
    pub(crate) async fn closed(&mut self) -> (u16, String) {
        loop {
            if let Err(close) = self.next_or_close().await {
                return close;
            }
        }
    }

    /// The next `next` payload of subscription `id` (other messages are not expected).
    pub(crate) async fn event(&mut self, id: &str) -> Value {
        let message = self.next().await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id, "{message}");
        message["payload"].clone()
    }
}

/// Signs `who` in and returns the session cookie (`name=value`).
async fn cookie(base: &str, who: Who) -> String {
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

async fn gql(base: &str, cookie: &str, query: &str, variables: Value) -> Value {
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
pub(crate) async fn open_subscriptions(base: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let metrics = reqwest::Client::new()
            .get(format!("{base}/metrics"))
            .bearer_auth(crate::support::METRICS_TOKEN)
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
async fn create_ticket(base: &str, cookie: &str, owner: i64) -> String {
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

pub(crate) const EVENTS: &str = "subscription($after: ID) { ticketEvents(after: $after) { id kind ticket { id owner { name } } actor { name } } }";

fn options() -> Options {
    Options {
        relay: true,
        ..Options::default()
    }
}

async fn events_arrive_live_and_only_to_those_who_may_see_them(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let mut alice = Ws::signed_in(&app.url, &cookie(&app.url, Who::FacultyA).await).await;
    let mut bob = Ws::signed_in(&app.url, &cookie(&app.url, Who::FacultyB).await).await;
    let mut fss = Ws::signed_in(&app.url, &cookie(&app.url, Who::FssA).await).await;
    let mut office = Ws::signed_in(&app.url, &budget).await;
    alice.subscribe("a", EVENTS, json!({})).await;
    bob.subscribe("b", EVENTS, json!({})).await;
    fss.subscribe("f", EVENTS, json!({})).await;
    office
        .subscribe(
            "o",
            "subscription($t: ID) { ticketEvents(ticketId: $t) { kind ticket { id } } }",
            json!({}),
        )
        .await;
    open_subscriptions(&app.url, 4).await;

    let alices = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let event = alice.event("a").await;
    let event = &event["data"]["ticketEvents"];
    assert_eq!(event["kind"], "CREATED", "{event}");
    assert_eq!(event["ticket"]["id"], alices.as_str());
    // Nested fields resolve through federation like any query.
    assert_eq!(event["ticket"]["owner"]["name"], "Alice Faculty");
    assert_eq!(event["actor"]["name"], "Bea Budget");
    // Alice's support staff see her tickets; the office sees everything.
    let seen = fss.event("f").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        alices.as_str()
    );
    let seen = office.event("o").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        alices.as_str()
    );

    // Bob's first event is his own ticket's: Alice's never reached him (events keep their
    // order, so it would have come first).
    let bobs = create_ticket(&app.url, &budget, app.id(Who::FacultyB)).await;
    let seen = bob.event("b").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        bobs.as_str(),
        "{seen}"
    );
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["owner"]["name"],
        "Bob Faculty"
    );
    let seen = office.event("o").await;
    assert_eq!(seen["data"]["ticketEvents"]["ticket"]["id"], bobs.as_str());

    // A subscription to one ticket gets only that ticket's events.
    office.send(json!({"id": "o", "type": "complete"})).await;
    open_subscriptions(&app.url, 3).await;
    office
        .subscribe(
            "one",
            "subscription($t: ID, $s: [TicketState!]) { ticketEvents(ticketId: $t, states: $s) { kind toState ticket { id state } } }",
            json!({"t": bobs, "s": ["GRANTED"]}),
        )
        .await;
    open_subscriptions(&app.url, 4).await;
    create_ticket(&app.url, &budget, app.id(Who::FacultyB)).await;
    let granted = gql(
        &app.url,
        &budget,
        "mutation($id: ID!) { grantTicket(ticketId: $id) { state } }",
        json!({"id": bobs}),
    )
    .await;
    assert_eq!(
        granted["data"]["grantTicket"]["state"], "GRANTED",
        "{granted}"
    );
    let seen = office.event("one").await;
    assert_eq!(
        seen["data"]["ticketEvents"],
        json!({"kind": "STATE_CHANGED", "toState": "GRANTED", "ticket": {"id": bobs, "state": "GRANTED"}}),
    );
    app.cleanup().await;
}

async fn a_resume_with_after_loses_nothing_and_repeats_nothing(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let alice_cookie = cookie(&app.url, Who::FacultyA).await;
    let mut alice = Ws::signed_in(&app.url, &alice_cookie).await;
    alice.subscribe("1", EVENTS, json!({})).await;
    open_subscriptions(&app.url, 1).await;
    let first = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = alice.event("1").await;
    assert_eq!(seen["data"]["ticketEvents"]["ticket"]["id"], first.as_str());
    let last_seen = seen["data"]["ticketEvents"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    drop(alice);
    open_subscriptions(&app.url, 0).await;

    // Missed while away: two of Alice's tickets (and one of Bob's, not hers to see).
    let mut missed = Vec::new();
    for owner in [Who::FacultyA, Who::FacultyB, Who::FacultyA] {
        let id = create_ticket(&app.url, &budget, app.id(owner)).await;
        if owner == Who::FacultyA {
            missed.push(id);
        }
    }
    let mut alice = Ws::signed_in(&app.url, &alice_cookie).await;
    alice
        .subscribe("2", EVENTS, json!({"after": last_seen}))
        .await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let seen = alice.event("2").await;
        got.push(
            seen["data"]["ticketEvents"]["ticket"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(got, missed, "what was missed, in order");
    // Then live, with nothing repeated in between.
    open_subscriptions(&app.url, 1).await;
    let live = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = alice.event("2").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        live.as_str(),
        "{seen}"
    );

    // An event this server does not have, or not an id at all: said so, on `after`.
    for (after, id) in [("99999999", "3"), ("abc", "4")] {
        alice.subscribe(id, EVENTS, json!({"after": after})).await;
        let error = alice.next().await;
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["id"], id);
        assert_eq!(
            error["payload"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{error}"
        );
        assert_eq!(
            error["payload"][0]["extensions"]["field"], "after",
            "{error}"
        );
    }
    app.cleanup().await;
}

async fn a_relay_killed_between_commit_and_publish_loses_nothing(backend: Backend) {
    let mut app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let mut alice = Ws::signed_in(&app.url, &cookie(&app.url, Who::FacultyA).await).await;
    alice.subscribe("1", EVENTS, json!({})).await;
    open_subscriptions(&app.url, 1).await;
    let before = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = alice.event("1").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        before.as_str()
    );

    // The relay dies; a change commits with nobody to publish it.
    let relay = app.relay.take().unwrap();
    relay.abort();
    let _ = relay.await;
    let during = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    use db::sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let waiting = db::entity::outbox::Entity::find()
        .filter(db::entity::outbox::Column::RelayedAt.is_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(waiting, 1, "committed, not published");

    // A new relay sends it (and, in process, sends the last minutes again: the gateway hands
    // out each event once).
    app.relay = Some(ticket_service::relay::start(
        app.db.clone(),
        app.stream.clone(),
    ));
    let seen = alice.event("1").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        during.as_str(),
        "{seen}"
    );
    let after = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = alice.event("1").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        after.as_str(),
        "{seen}"
    );
    app.cleanup().await;
}

async fn sessions_that_end_close_their_connections(backend: Backend) {
    let app = Platform::spawn_with(
        backend,
        Options {
            relay: true,
            // Whole seconds: the idle session ends 2 to 3 s after its last use.
            session: Some((Duration::from_secs(3), Duration::from_secs(3600))),
            ..Options::default()
        },
    )
    .await;
    // Logout closes the connections of that session at once.
    let alice = cookie(&app.url, Who::FacultyA).await;
    let mut ws = Ws::signed_in(&app.url, &alice).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    open_subscriptions(&app.url, 1).await;
    let out = reqwest::Client::new()
        .post(format!("{}/auth/logout", app.url))
        .header("cookie", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("session ended"), "{reason}");
    open_subscriptions(&app.url, 0).await;

    // Expiry too: an open connection is not activity, the idle session runs out.
    let bob = cookie(&app.url, Who::FacultyB).await;
    let mut ws = Ws::signed_in(&app.url, &bob).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4403, "{reason}");
    let me = gql(&app.url, &bob, "{ me { id } }", json!({})).await;
    assert_eq!(me["data"]["me"], Value::Null, "the session is over: {me}");

    // A revoked API token's connection closes too.
    let grad = cookie(&app.url, Who::Grad).await;
    let made = gql(
        &app.url,
        &grad,
        "mutation { createApiToken(name: \"feed\", scopes: [TICKETS_READ]) { token apiToken { id } } }",
        json!({}),
    )
    .await;
    let token = made["data"]["createApiToken"]["token"].as_str().unwrap();
    let mut ws = Ws::open(&app.url, &[]).await;
    ws.send(
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}),
    )
    .await;
    assert_eq!(ws.next().await["type"], "connection_ack");
    ws.subscribe("1", EVENTS, json!({})).await;
    let grad = cookie(&app.url, Who::Grad).await;
    let revoked = gql(
        &app.url,
        &grad,
        "mutation($id: ID!) { revokeApiToken(id: $id) { revoked } }",
        json!({"id": made["data"]["createApiToken"]["apiToken"]["id"]}),
    )
    .await;
    assert_eq!(
        revoked["data"]["revokeApiToken"]["revoked"], true,
        "{revoked}"
    );
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4403, "{reason}");
    app.cleanup().await;
}

async fn export_progress_follows_a_job_to_its_end(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    for _ in 0..3 {
        create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    }
    let alice = cookie(&app.url, Who::FacultyA).await;
    let job = gql(
        &app.url,
        &alice,
        "mutation { exportTickets { id } }",
        json!({}),
    )
    .await;
    let job = job["data"]["exportTickets"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = Ws::signed_in(&app.url, &alice).await;
    ws.subscribe(
        "p",
        "subscription($id: ID!) { progress: exportProgress(id: $id) { id status rowsWritten downloadUrl requestedBy { name } } }",
        json!({"id": job}),
    )
    .await;
    let mut last = Value::Null;
    loop {
        let message = ws.next().await;
        if message["type"] == "complete" {
            assert_eq!(message["id"], "p");
            break;
        }
        assert_eq!(message["type"], "next", "{message}");
        last = message["payload"]["data"]["progress"].clone();
        assert_eq!(last["id"], job.as_str());
        assert_eq!(last["requestedBy"]["name"], "Alice Faculty");
    }
    assert_eq!(last["status"], "DONE", "{last}");
    assert_eq!(last["rowsWritten"], 3);
    assert_eq!(last["downloadUrl"], format!("/exports/{job}.csv"));

    // Someone else's job does not exist for Bob.
    let mut bob = Ws::signed_in(&app.url, &cookie(&app.url, Who::FacultyB).await).await;
    bob.subscribe(
        "p",
        "subscription($id: ID!) { exportProgress(id: $id) { status } }",
        json!({"id": job}),
    )
    .await;
    let error = bob.next().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(
        error["payload"][0]["extensions"]["code"], "NOT_FOUND",
        "{error}"
    );
    app.cleanup().await;
}

async fn the_protocol_refuses_what_it_should(backend: Backend) {
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

    // API tokens: in connection_init; a token without TICKETS_READ may not subscribe.
    let mut tokens = Vec::new();
    for scopes in ["[TICKETS_READ]", "[EXPORTS]"] {
        let made = gql(
            &app.url,
            &alice,
            &format!("mutation {{ createApiToken(name: \"t\", scopes: {scopes}) {{ token }} }}"),
            json!({}),
        )
        .await;
        tokens.push(
            made["data"]["createApiToken"]["token"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
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

on_both_databases!(
    a_client_that_does_not_read_is_disconnected,
    events_arrive_live_and_only_to_those_who_may_see_them,
    a_resume_with_after_loses_nothing_and_repeats_nothing,
    a_relay_killed_between_commit_and_publish_loses_nothing,
    sessions_that_end_close_their_connections,
    export_progress_follows_a_job_to_its_end,
    the_protocol_refuses_what_it_should,
);

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
