//! The small steady load the faults are injected under (writers that create and grant
//! tickets, readers by session and by API token, sign-ins, `/readyz` polls, a live subscriber)
//! and what it saw: every answer, its kind and how long it took.

use crate::support::{PASSWORD, Who};
use futures::{SinkExt, StreamExt};
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

/// One answer a client got.
#[derive(Debug, Clone)]
pub struct Seen {
    at: Instant,
    /// `mutation`, `query`, `token`, `sign-in`, `readyz`.
    kind: &'static str,
    /// `200`, `503 UNAVAILABLE`, `refused`, `no answer`...
    answer: String,
    ok: bool,
    took: Duration,
}

#[derive(Default)]
pub struct Load {
    pub seen: Mutex<Vec<Seen>>,
    /// Tickets whose creation was answered: they must exist at the end.
    pub created: Mutex<BTreeSet<i64>>,
    /// Tickets whose grant was answered: GRANTED at the end, with their emails SENT.
    pub granted: Mutex<BTreeSet<i64>>,
    /// Ticket event ids the live subscriber received.
    pub live: Mutex<BTreeSet<i64>>,
    pub stop: AtomicBool,
}

impl Load {
    pub fn record(&self, kind: &'static str, started: Instant, answer: String, ok: bool) {
        self.seen.lock().unwrap().push(Seen {
            at: started,
            kind,
            answer,
            ok,
            took: started.elapsed(),
        });
    }

    /// The first successful answer of `kind` to a request sent after `after`.
    pub fn first_ok_after(&self, kind: &str, after: Instant) -> Option<Instant> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.kind == kind && s.ok && s.at >= after)
            .map(|s| s.at + s.took)
            .min()
    }

    /// What the clients saw from `from` to `to`: per kind, each answer with its count and
    /// the slowest.
    pub fn saw(&self, from: Instant, to: Instant) -> (String, Duration, BTreeMap<String, u64>) {
        let seen = self.seen.lock().unwrap();
        let mut groups: BTreeMap<(&str, String), (u64, Duration)> = BTreeMap::new();
        let mut slowest = Duration::ZERO;
        let mut answers = BTreeMap::new();
        for s in seen.iter().filter(|s| s.at >= from && s.at <= to) {
            let entry = groups
                .entry((s.kind, s.answer.clone()))
                .or_insert((0, Duration::ZERO));
            entry.0 += 1;
            entry.1 = entry.1.max(s.took);
            slowest = slowest.max(s.took);
            *answers.entry(s.answer.clone()).or_default() += 1;
        }
        let failures: Vec<String> = groups
            .iter()
            .filter(|((_, answer), _)| !answer.starts_with("200") && answer != "204")
            .map(|((kind, answer), (n, max))| {
                format!("{kind} {answer} ×{n} (≤{} ms)", max.as_millis())
            })
            .collect();
        let text = if failures.is_empty() {
            "all answered 200".to_string()
        } else {
            failures.join("; ")
        };
        (text, slowest, answers)
    }
}

fn answer_of(result: &Result<reqwest::Response, reqwest::Error>) -> Option<u16> {
    result.as_ref().ok().map(|r| r.status().as_u16())
}

pub fn error_answer(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "no answer (client timeout)".into()
    } else if err.is_connect() {
        "refused".into()
    } else {
        "connection dropped".into()
    }
}

/// A GraphQL request: the body when it was answered 200 without errors.
async fn graphql(
    load: &Load,
    kind: &'static str,
    request: reqwest::RequestBuilder,
    query: &str,
    variables: Value,
) -> Option<Value> {
    let started = Instant::now();
    let result = request
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await;
    let status = answer_of(&result);
    match result {
        Err(err) => {
            load.record(kind, started, error_answer(&err), false);
            None
        }
        Ok(response) => {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let code = body["errors"][0]["extensions"]["code"].as_str();
            let status = status.unwrap_or_default();
            match code {
                None if status == 200 => {
                    load.record(kind, started, "200".into(), true);
                    Some(body)
                }
                code => {
                    load.record(
                        kind,
                        started,
                        format!("{status} {}", code.unwrap_or("?")),
                        false,
                    );
                    None
                }
            }
        }
    }
}

const CREATE: &str = "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2028\", count: 1}) { id } }";
const GRANT: &str = "mutation($id: ID!) { grantTicket(ticketId: $id) { state } }";

/// Creates and grants tickets, one after the other: each grant emails the owner and their FSS.
pub async fn writer(
    load: Arc<Load>,
    client: reqwest::Client,
    url: String,
    cookie: String,
    owner: i64,
) {
    let post = || {
        client
            .post(format!("{url}/graphql"))
            .header(COOKIE, &cookie)
    };
    while !load.stop.load(Ordering::SeqCst) {
        if let Some(body) = graphql(
            &load,
            "mutation",
            post(),
            CREATE,
            json!({"o": owner.to_string()}),
        )
        .await
            && let Some(id) = body["data"]["createTickets"][0]["id"]
                .as_str()
                .and_then(|id| id.parse::<i64>().ok())
        {
            load.created.lock().unwrap().insert(id);
            if graphql(
                &load,
                "mutation",
                post(),
                GRANT,
                json!({"id": id.to_string()}),
            )
            .await
            .is_some()
            {
                load.granted.lock().unwrap().insert(id);
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Reads with the session and with an API token.
pub async fn reader(
    load: Arc<Load>,
    client: reqwest::Client,
    url: String,
    cookie: String,
    token: String,
) {
    while !load.stop.load(Ordering::SeqCst) {
        let by_session = client
            .post(format!("{url}/graphql"))
            .header(COOKIE, &cookie);
        graphql(
            &load,
            "query",
            by_session,
            "{ ticketStats { total } }",
            json!({}),
        )
        .await;
        let by_token = client
            .post(format!("{url}/graphql"))
            .header(AUTHORIZATION, format!("Bearer {token}"));
        graphql(&load, "token", by_token, "{ me { id } }", json!({})).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Signs in now and then.
pub async fn signer(load: Arc<Load>, client: reqwest::Client, url: String) {
    while !load.stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let result = client
            .post(format!("{url}/auth/login"))
            .json(&json!({"email": Who::Grad.email(), "password": PASSWORD}))
            .send()
            .await;
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                load.record("sign-in", started, status.to_string(), status == 200);
            }
            Err(err) => load.record("sign-in", started, error_answer(&err), false),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Polls `/readyz`.
pub async fn ready_poller(load: Arc<Load>, client: reqwest::Client, url: String) {
    while !load.stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        match client.get(format!("{url}/readyz")).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let down = if status == 200 {
                    String::new()
                } else {
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    format!(" {}", body["down"])
                };
                load.record("readyz", started, format!("{status}{down}"), status == 200);
            }
            Err(err) => load.record("readyz", started, error_answer(&err), false),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A live subscriber to every ticket event, resuming with `after` whenever its connection
/// ends (the web client does the same).
pub async fn subscriber(load: Arc<Load>, url: String, cookie: String) {
    let mut after: Option<String> = None;
    while !load.stop.load(Ordering::SeqCst) {
        let _ = follow(&load, &url, &cookie, &mut after).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn follow(
    load: &Load,
    url: &str,
    cookie: &str,
    after: &mut Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut request = format!("{}/graphql", url.replacen("http", "ws", 1)).into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(cookie)?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    socket
        .send(Message::text(
            json!({"type": "connection_init"}).to_string(),
        ))
        .await?;
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription($after: ID) { ticketEvents(after: $after) { id } }",
                "variables": {"after": after},
            }})
            .to_string(),
        ))
        .await?;
    while let Some(message) = socket.next().await {
        if load.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let Message::Text(text) = message? else {
            continue;
        };
        let message: Value = serde_json::from_str(text.as_str())?;
        if message["type"] == "next"
            && let Some(id) = message["payload"]["data"]["ticketEvents"]["id"].as_str()
        {
            if let Ok(n) = id.parse::<i64>() {
                load.live.lock().unwrap().insert(n);
            }
            *after = Some(id.to_string());
        } else if message["type"] != "connection_ack" && message["type"] != "ping" {
            return Ok(());
        }
    }
    Ok(())
}
