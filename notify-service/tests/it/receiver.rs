//! A webhook receiver for tests: it verifies every request with Standard Webhooks' reference
//! library (`standardwebhooks`), never with Tessera's own code, records what it accepted and
//! rejected, and answers as scripted (a queue of statuses, then 200).

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::Value;
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-signature`, as sent.
    pub signature: String,
    /// Which of the receiver's secrets verified it (by index), none if rejected.
    pub verified_by: Vec<usize>,
    /// The body.
    pub body: Value,
    /// The raw body.
    pub raw: Bytes,
    /// The headers.
    pub headers: HeaderMap,
}

#[derive(Default)]
struct Shared {
    delay: Duration,
    secrets: Vec<String>,
    script: VecDeque<u16>,
    /// Scripted answers for one message id (before `script`).
    script_for: HashMap<String, VecDeque<u16>>,
    received: Vec<Received>,
    /// Requests being answered now, and the most there ever were at once.
    in_flight: usize,
    most_in_flight: usize,
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    shared: Arc<Mutex<Shared>>,
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
}

/// Whether `secret` verifies the request, by the reference library.
pub fn verifies(secret: &str, raw: &[u8], headers: &HeaderMap) -> bool {
    standardwebhooks::Webhook::new(secret)
        .and_then(|hook| hook.verify(raw, headers))
        .is_ok()
}

async fn receive(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    raw: Bytes,
) -> StatusCode {
    let delay = {
        let mut shared = shared.lock().unwrap();
        shared.in_flight += 1;
        shared.most_in_flight = shared.most_in_flight.max(shared.in_flight);
        shared.delay
    };
    tokio::time::sleep(delay).await;
    let mut shared = shared.lock().unwrap();
    shared.in_flight -= 1;
    let verified_by: Vec<usize> = shared
        .secrets
        .iter()
        .enumerate()
        .filter(|(_, secret)| verifies(secret, &raw, &headers))
        .map(|(i, _)| i)
        .collect();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let accepted = !verified_by.is_empty();
    shared.received.push(Received {
        id: header("webhook-id"),
        signature: header("webhook-signature"),
        verified_by,
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw: raw.clone(),
        headers: headers.clone(),
    });
    if !accepted {
        return StatusCode::UNAUTHORIZED;
    }
    let id = header("webhook-id");
    let code = match shared.script_for.get_mut(&id).and_then(|s| s.pop_front()) {
        Some(code) => code,
        None => shared.script.pop_front().unwrap_or(200),
    };
    StatusCode::from_u16(code).unwrap()
}

impl Receiver {
    /// A receiver on a free loopback port.
    pub async fn start() -> Self {
        Self::slow(Duration::ZERO).await
    }

    /// A receiver that takes `delay` over each request.
    pub async fn slow(delay: Duration) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            delay,
            ..Shared::default()
        }));
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            shared,
            url: format!("http://127.0.0.1:{port}/hook"),
        }
    }

    /// The secrets requests are verified against (as many as the test knows).
    pub fn trust(&self, secrets: &[&str]) {
        self.shared.lock().unwrap().secrets = secrets.iter().map(|s| s.to_string()).collect();
    }

    /// The statuses of the next answers (then 200).
    pub fn script(&self, codes: &[u16]) {
        self.shared.lock().unwrap().script = codes.iter().copied().collect();
    }

    /// The statuses of the next answers to message `id` (then as for any other).
    pub fn script_for(&self, id: &str, codes: &[u16]) {
        let mut shared = self.shared.lock().unwrap();
        shared
            .script_for
            .insert(id.to_string(), codes.iter().copied().collect());
    }

    /// The most requests that were being answered at once.
    pub fn most_in_flight(&self) -> usize {
        self.shared.lock().unwrap().most_in_flight
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// What was received once at least `count` requests came (or after a generous wait,
    /// so the assertion that follows fails instead of the test hanging).
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..1_200 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.received()
    }
}
