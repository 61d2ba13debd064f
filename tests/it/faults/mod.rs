//! The fault suite. The production wiring of `processes.rs` (compose's commands and
//! environment: ticket-service, two notify-service workers, export-service, the gateway) on a
//! PostgreSQL cluster and a Redis server of the suite's own (the machine's are shared, never
//! stopped) and a fake SendGrid that can be switched to 500s, 429s or slow answers, under a
//! small steady load: sign-ins, queries by session and by API token, ticket mutations that
//! email, `/readyz` polls and a live subscriber. One fault at a time:
//!
//! - Redis killed, started again 5 s later (data intact);
//! - PostgreSQL stopped for 10 s;
//! - SendGrid answering 500 for 20 s, then 429 for 10 s;
//! - `kill -9` of each process under load, then a restart (a notify worker while it holds
//!   emails in flight: the other worker takes them over).
//!
//! For each it prints what the clients saw (answers and how long the slowest took), what was
//! lost and duplicated and how long recovery took, as the README's table; then it asserts what
//! must hold: every request was answered (none cut off by the gateway's 10 s subgraph timeout
//! or the client's own), UNAVAILABLE at once while a dependency was down, nothing committed
//! lost (tickets, their events on the stream, live deliveries), no email FAILED, duplicates
//! within the documented bound, and recovery without restarting anything else, within bounds
//! generous enough for a loaded machine (measured times are printed, not asserted tightly).
//!
//! `FAULTS_ENV` adds settings to every process (see where it is read).
//!
//! `#[ignore]`d: it takes a few minutes. CI runs it as a step of its own, under `timeout`,
//! after `cargo test --workspace` built every binary:
//! `cargo test --workspace --test it faults -- --ignored --nocapture`.

use crate::processes::{Local, Proc, compose, env_file, free_port, wait_ready};
use crate::support::{PASSWORD, Who, seed_cast};
use db::sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use futures::{SinkExt, StreamExt};
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU8, Ordering},
    },
    time::{Duration, Instant},
};
use testkit::private::{PrivatePostgres, PrivateRedis};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

/// `NOTIFY_CONCURRENCY`'s default: the most emails one worker's crash may send twice.
const NOTIFY_CONCURRENCY: u64 = 32;

/// How long the suite waits for recovery before it calls it a failure: far beyond what
/// recovery takes, short of the two minutes a 5-second Redis outage used to cost.
const RECOVERY_BOUND: Duration = Duration::from_secs(60);

/// The gateway's subgraph timeout (`SUBGRAPH_TIMEOUT_MS`'s default): an answer this slow was
/// cut off rather than answered.
const SUBGRAPH_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// The fake SendGrid.

const MODE_OK: u8 = 0;
const MODE_500: u8 = 1;
const MODE_429: u8 = 2;
const MODE_SLOW: u8 = 3;

/// SendGrid's `POST /v3/mail/send`, answering as `mode` says, counting the emails it took.
#[derive(Default)]
struct FakeSendGrid {
    mode: AtomicU8,
    /// Calls that were taken (a 202, or a slow call that reached us: SendGrid may have sent
    /// it even if the caller died before the answer), per notification id.
    taken: Mutex<HashMap<i64, u64>>,
    calls: Mutex<u64>,
}

impl FakeSendGrid {
    async fn start() -> (Arc<Self>, String) {
        let fake = Arc::new(Self::default());
        let state = fake.clone();
        let app = axum::Router::new().route(
            "/v3/mail/send",
            axum::routing::post(move |body: axum::Json<Value>| {
                let fake = state.clone();
                async move {
                    *fake.calls.lock().unwrap() += 1;
                    let id: i64 = body["custom_args"]["tessera_notification_id"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(-1);
                    let take = |fake: &FakeSendGrid| {
                        *fake.taken.lock().unwrap().entry(id).or_default() += 1;
                    };
                    use axum::{http::StatusCode, response::IntoResponse};
                    match fake.mode.load(Ordering::SeqCst) {
                        MODE_500 => {
                            (StatusCode::INTERNAL_SERVER_ERROR, "provider incident").into_response()
                        }
                        MODE_429 => (
                            StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", "1")],
                            "slow down",
                        )
                            .into_response(),
                        mode => {
                            take(&fake);
                            if mode == MODE_SLOW {
                                tokio::time::sleep(Duration::from_millis(1500)).await;
                            }
                            (StatusCode::ACCEPTED, [("x-message-id", "sg")]).into_response()
                        }
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, url)
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    /// Emails taken more than once.
    fn duplicates(&self) -> u64 {
        self.taken
            .lock()
            .unwrap()
            .values()
            .map(|n| n.saturating_sub(1))
            .sum()
    }

    fn taken_ids(&self) -> BTreeSet<i64> {
        self.taken.lock().unwrap().keys().copied().collect()
    }
}

// ---------------------------------------------------------------------------------------
// The load and what it saw.

/// One answer a client got.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    /// `mutation`, `query`, `token`, `sign-in`, `readyz`.
    kind: &'static str,
    /// `200`, `503 UNAVAILABLE`, `refused`, `no answer`...
    answer: String,
    ok: bool,
    took: Duration,
}

#[derive(Default)]
struct Load {
    seen: Mutex<Vec<Seen>>,
    /// Tickets whose creation was answered: they must exist at the end.
    created: Mutex<BTreeSet<i64>>,
    /// Tickets whose grant was answered: GRANTED at the end, with their emails SENT.
    granted: Mutex<BTreeSet<i64>>,
    /// Ticket event ids the live subscriber received.
    live: Mutex<BTreeSet<i64>>,
    stop: AtomicBool,
}

impl Load {
    fn record(&self, kind: &'static str, started: Instant, answer: String, ok: bool) {
        self.seen.lock().unwrap().push(Seen {
            at: started,
            kind,
            answer,
            ok,
            took: started.elapsed(),
        });
    }

    /// The first successful answer of `kind` to a request sent after `after`.
    fn first_ok_after(&self, kind: &str, after: Instant) -> Option<Instant> {
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
    fn saw(&self, from: Instant, to: Instant) -> (String, Duration, BTreeMap<String, u64>) {
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

fn error_answer(err: &reqwest::Error) -> String {
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
async fn writer(load: Arc<Load>, client: reqwest::Client, url: String, cookie: String, owner: i64) {
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
async fn reader(
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
async fn signer(load: Arc<Load>, client: reqwest::Client, url: String) {
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
async fn ready_poller(load: Arc<Load>, client: reqwest::Client, url: String) {
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
async fn subscriber(load: Arc<Load>, url: String, cookie: String) {
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

// ---------------------------------------------------------------------------------------
// The platform.

struct Platform {
    local: Local,
    compose: BTreeMap<String, crate::processes::Service>,
    extra: Vec<(String, String)>,
    logs: std::path::PathBuf,
    /// By name: `ticket-service`, `notify-service`, `notify-service-2`, `export-service`,
    /// `api-gateway`.
    procs: BTreeMap<&'static str, Proc>,
}

impl Platform {
    fn spawn(&mut self, name: &'static str) {
        let service = name.trim_end_matches("-2");
        let port = *self
            .local
            .ports
            .entry(name.to_string())
            .or_insert_with(free_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{name}.log")))
            .unwrap();
        let child = self
            .local
            .command(&self.compose, service, port, &self.extra)
            .stderr(log)
            .spawn()
            .unwrap();
        self.procs.insert(name, Proc(child));
    }

    /// `kill -9`.
    fn kill(&mut self, name: &'static str) {
        if let Some(mut proc) = self.procs.remove(name) {
            let _ = proc.0.kill();
            let _ = proc.0.wait();
        }
    }

    fn gateway(&self) -> String {
        format!("http://127.0.0.1:{}", self.local.ports["api-gateway"])
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .ok()
        .flatten();
    row.and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(-1)
}

/// Waits until every granted ticket's emails are recorded and none is QUEUED; when.
async fn emails_settled(db: &DatabaseConnection, load: &Load, bound: Duration) -> Option<Instant> {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        let granted = load.granted.lock().unwrap().len() as i64;
        let queued = count(
            db,
            "SELECT count(*) FROM notifications WHERE status = 'QUEUED'",
        )
        .await;
        // Two emails per grant (the owner and their FSS).
        let rows = count(db, "SELECT count(*) FROM notifications").await;
        let unrelayed = count(db, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL").await;
        if queued == 0 && rows >= 2 * granted && unrelayed == 0 {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// One row of the table.
struct Row {
    fault: String,
    saw: String,
    lost: String,
    duplicated: String,
    recovery: String,
}

/// What every scenario checks when it is over: what was lost and duplicated so far.
struct Ledger {
    duplicates_before: u64,
}

/// Committed ticket events the live subscriber has not received, from the first it received
/// on (it subscribed without `after`, so what came before is not its to see).
fn live_missed(events: &BTreeSet<i64>, load: &Load) -> usize {
    let live = load.live.lock().unwrap();
    let Some(first) = live.first() else {
        return events.len();
    };
    events.range(first..).filter(|e| !live.contains(e)).count()
}

/// Waits until the live subscriber has every committed event; when.
async fn live_caught_up(db: &DatabaseConnection, load: &Load, bound: Duration) -> Option<Instant> {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT id FROM ticket_events",
            ))
            .await
            .unwrap_or_default();
        let events: BTreeSet<i64> = rows
            .iter()
            .filter_map(|r| r.try_get_by_index::<i64>(0).ok())
            .collect();
        if !events.is_empty() && live_missed(&events, load) == 0 {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

async fn losses(db: &DatabaseConnection, load: &Load, fake: &FakeSendGrid) -> (u64, String) {
    let created: Vec<i64> = load.created.lock().unwrap().iter().copied().collect();
    let granted: Vec<i64> = load.granted.lock().unwrap().iter().copied().collect();
    let mut missing = 0u64;
    if !created.is_empty() {
        let list = created
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let found = count(
            db,
            &format!("SELECT count(*) FROM tickets WHERE id IN ({list})"),
        )
        .await;
        missing += created.len() as u64 - found.max(0) as u64;
    }
    if !granted.is_empty() {
        let list = granted
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let found = count(
            db,
            &format!("SELECT count(*) FROM tickets WHERE id IN ({list}) AND state <> 'INITIAL'"),
        )
        .await;
        missing += granted.len() as u64 - found.max(0) as u64;
    }
    let failed = count(
        db,
        "SELECT count(*) FROM notifications WHERE status = 'FAILED'",
    )
    .await;
    let sent_ids: BTreeSet<i64> = {
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT id FROM notifications WHERE status = 'SENT'",
            ))
            .await
            .unwrap_or_default();
        rows.iter()
            .filter_map(|r| r.try_get_by_index::<i64>(0).ok())
            .collect()
    };
    let never_taken = sent_ids.difference(&fake.taken_ids()).count();
    let events: BTreeSet<i64> = {
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT id FROM ticket_events",
            ))
            .await
            .unwrap_or_default();
        rows.iter()
            .filter_map(|r| r.try_get_by_index::<i64>(0).ok())
            .collect()
    };
    let live_missed = live_missed(&events, load);
    let text = format!(
        "{missing} changes, {failed} emails FAILED, {never_taken} SENT not at SendGrid, {live_missed} live events"
    );
    let lost = missing + failed.max(0) as u64 + never_taken as u64 + live_missed as u64;
    (lost, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the fault suite takes minutes: CI runs it as its own step (see the module docs)"]
async fn faults() {
    let (Some(mut redis), Some(mut postgres)) = (PrivateRedis::start(), PrivatePostgres::start())
    else {
        return;
    };
    let backend = testkit::Backend::Postgres(postgres.base_url());
    let database = testkit::TestDatabase::create(&backend, "faults").await;
    let data =
        std::env::temp_dir().join(format!("tessera-faults-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data).unwrap();
    let (fake, fake_url) = FakeSendGrid::start().await;
    let compose = compose();
    let local = Local {
        database_url: database.url.clone(),
        redis_url: redis.url(),
        data_dir: data.display().to_string(),
        ports: HashMap::new(),
    };
    let mut extra: Vec<(String, String)> = env_file()
        .into_iter()
        .filter(|(k, _)| k != "TESSERA_SIGNING_KEY")
        .collect();
    for (k, v) in [
        (
            "TESSERA_SIGNING_KEY",
            biscuit_auth::KeyPair::new().private().to_bytes_hex(),
        ),
        ("RATE_LIMIT_PER_ADDRESS", "0".into()),
        ("RATE_LIMIT_PER_USER", "0".into()),
        ("SENDGRID_API_URL", fake_url.clone()),
        ("SENDGRID_API_KEY", "SG.faults".into()),
        // An export long enough to be killed in the middle of; a dead worker's job is taken
        // over after 5 s rather than the default 30.
        ("EXPORT_BATCH_SIZE", "20".into()),
        ("EXPORT_BATCH_PAUSE_MS", "100".into()),
        ("EXPORT_LEASE_MS", "5000".into()),
    ] {
        extra.push((k.to_string(), v));
    }
    // `FAULTS_ENV="NAME=value ..."`: more settings for every process, such as the defaults
    // before issue 19 (`SENDGRID_MAX_ATTEMPTS=5 SENDGRID_RETRY_MAX_MS=60000
    // NOTIFY_CLAIM_IDLE_MS=60000`) to see those findings again.
    if let Ok(more) = std::env::var("FAULTS_ENV") {
        for setting in more.split_whitespace() {
            if let Some((k, v)) = setting.split_once('=') {
                extra.push((k.to_string(), v.to_string()));
            }
        }
    }
    let migrated = local.command(&compose, "migrate", 0, &[]).status().unwrap();
    assert!(migrated.success(), "db migrate failed");
    let db = db::connect(&database.url).await.unwrap();
    let ids = seed_cast(&db).await;
    let mut platform = Platform {
        local,
        compose,
        extra,
        logs: data.clone(),
        procs: BTreeMap::new(),
    };
    for name in [
        "ticket-service",
        "notify-service",
        "notify-service-2",
        "export-service",
    ] {
        platform.spawn(name);
    }
    platform.spawn("api-gateway");
    let url = platform.gateway();
    wait_ready(&url).await;
    println!("fault suite: processes' logs in {}", data.display());

    // The clients: a budget director's session and API token, with a 30 s patience (a
    // request answered only by that is a hang).
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let sign_in = |who: Who| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let login = client
                .post(format!("{url}/auth/login"))
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
    };
    let budget = sign_in(Who::Budget).await;
    let created = client
        .post(format!("{url}/graphql"))
        .header(COOKIE, &budget)
        .json(&json!({"query": "mutation { createApiToken(name: \"faults\", scopes: [TICKETS_READ]) { token } }"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let token = created["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();

    let load = Arc::new(Load::default());
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(subscriber(
        load.clone(),
        url.clone(),
        budget.clone(),
    )));
    // Let the subscriber connect before the first change.
    tokio::time::sleep(Duration::from_millis(500)).await;
    tasks.push(tokio::spawn(writer(
        load.clone(),
        client.clone(),
        url.clone(),
        budget.clone(),
        ids[&Who::FacultyA],
    )));
    tasks.push(tokio::spawn(reader(
        load.clone(),
        client.clone(),
        url.clone(),
        budget.clone(),
        token,
    )));
    tasks.push(tokio::spawn(signer(
        load.clone(),
        client.clone(),
        url.clone(),
    )));
    tasks.push(tokio::spawn(ready_poller(
        load.clone(),
        client.clone(),
        url.clone(),
    )));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut ledger = Ledger {
        duplicates_before: 0,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut failures: Vec<String> = Vec::new();

    // Every scenario: inject, restore, wait until every kind of request succeeds again and
    // every email is settled, then account.
    let kinds = ["mutation", "query", "token", "sign-in", "readyz"];
    macro_rules! finish {
        ($fault:expr, $began:expr, $restored:expr, $expect_unavailable:expr) => {{
            let began: Instant = $began;
            let restored: Instant = $restored;
            let deadline = restored + RECOVERY_BOUND;
            let mut back = None;
            while Instant::now() < deadline {
                let all: Option<Vec<Instant>> = kinds
                    .iter()
                    .map(|k| load.first_ok_after(k, restored))
                    .collect();
                if let Some(all) = all {
                    back = all.into_iter().max();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let settled = emails_settled(&db, &load, RECOVERY_BOUND).await;
            let live = live_caught_up(&db, &load, RECOVERY_BOUND).await;
            let (saw, slowest, answers) = load.saw(began, back.unwrap_or_else(Instant::now));
            let (lost, lost_text) = losses(&db, &load, &fake).await;
            let duplicates = fake.duplicates();
            let recovery = match back {
                Some(at) => format!(
                    "requests {:.1} s, emails {}, live {}",
                    at.saturating_duration_since(restored).as_secs_f64(),
                    settled.map_or("never".to_string(), |s| format!(
                        "{:.1} s",
                        s.saturating_duration_since(restored).as_secs_f64()
                    )),
                    live.map_or("never".to_string(), |s| format!(
                        "{:.1} s",
                        s.saturating_duration_since(restored).as_secs_f64()
                    ))
                ),
                None => "never".to_string(),
            };
            println!("fault suite: {}: saw {saw}; slowest {} ms; lost {lost_text}; duplicated {}; recovery {recovery}", $fault, slowest.as_millis(), duplicates - ledger.duplicates_before);
            if back.is_none() {
                failures.push(format!("{}: requests never recovered", $fault));
            }
            if settled.is_none() {
                failures.push(format!("{}: emails never settled", $fault));
            }
            if live.is_none() {
                failures.push(format!("{}: the live subscriber never caught up", $fault));
            }
            if lost > 0 {
                failures.push(format!("{}: lost {lost_text}", $fault));
            }
            if slowest >= SUBGRAPH_TIMEOUT {
                failures.push(format!("{}: a request took {} ms (a hang cut off by a timeout)", $fault, slowest.as_millis()));
            }
            if $expect_unavailable && !answers.keys().any(|a| a.contains("503")) {
                failures.push(format!("{}: nobody was told UNAVAILABLE (503)", $fault));
            }
            rows.push(Row {
                fault: $fault.to_string(),
                saw: format!("{saw}; slowest answer {} ms", slowest.as_millis()),
                lost: if lost == 0 { "nothing".into() } else { lost_text },
                duplicated: format!("{} emails", duplicates - ledger.duplicates_before),
                recovery,
            });
            ledger.duplicates_before = duplicates;
        }};
    }

    // 1. Redis killed, back 5 s later with its data.
    let began = Instant::now();
    redis.kill();
    tokio::time::sleep(Duration::from_secs(5)).await;
    redis.start_again();
    finish!("Redis killed for 5 s", began, Instant::now(), true);

    // 3. PostgreSQL stopped for 10 s.
    let began = Instant::now();
    postgres.stop();
    tokio::time::sleep(Duration::from_secs(10)).await;
    postgres.start_again();
    finish!("PostgreSQL stopped for 10 s", began, Instant::now(), true);

    // 2. SendGrid answering 500 for 20 s, then 429 for 10 s.
    let began = Instant::now();
    fake.set(MODE_500);
    tokio::time::sleep(Duration::from_secs(20)).await;
    fake.set(MODE_OK);
    finish!("SendGrid 500 for 20 s", began, Instant::now(), false);
    let began = Instant::now();
    fake.set(MODE_429);
    tokio::time::sleep(Duration::from_secs(10)).await;
    fake.set(MODE_OK);
    finish!("SendGrid 429 for 10 s", began, Instant::now(), false);

    // 5. A notify worker killed while it holds emails in flight (SendGrid slow): the other
    // worker takes them over; then it is started again.
    fake.set(MODE_SLOW);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let began = Instant::now();
    platform.kill("notify-service");
    fake.set(MODE_OK);
    let killed = Instant::now();
    let settled = emails_settled(&db, &load, RECOVERY_BOUND).await;
    let takeover = settled.map_or("never".to_string(), |s| {
        format!("{:.1} s", s.saturating_duration_since(killed).as_secs_f64())
    });
    if settled.is_none() {
        failures.push("the killed notify worker's emails were never taken over".into());
    }
    platform.spawn("notify-service");
    let restored = Instant::now();
    finish!(
        format!(
            "kill -9 notify-service (1 of 2, SendGrid slow: emails in flight); the other worker took its emails over and sent them all {takeover} after the kill; restart"
        ),
        began,
        restored,
        false
    );

    // kill -9 of every other process, then a restart.
    for name in ["ticket-service", "export-service", "api-gateway"] {
        let export = if name == "export-service" {
            let body: Value = client
                .post(format!("{url}/graphql"))
                .header(COOKIE, &budget)
                .json(&json!({"query": "mutation { exportTickets { id } }"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            body["data"]["exportTickets"]["id"]
                .as_str()
                .map(str::to_string)
        } else {
            None
        };
        let began = Instant::now();
        platform.kill(name);
        tokio::time::sleep(Duration::from_millis(500)).await;
        platform.spawn(name);
        let restored = Instant::now();
        let mut fault = format!("kill -9 {name}, restart");
        if let Some(id) = export {
            // The job the dead worker was writing is taken over and finishes.
            let deadline = restored + RECOVERY_BOUND;
            let mut done = None;
            while Instant::now() < deadline {
                let body: Value = client
                    .post(format!("{url}/graphql"))
                    .header(COOKIE, &budget)
                    .json(&json!({"query": "query($id: ID!) { exportJob(id: $id) { status rowsWritten totalRows } }", "variables": {"id": id}}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap_or(Value::Null);
                if body["data"]["exportJob"]["status"] == "DONE" {
                    done = Some(Instant::now());
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            match done {
                Some(at) => {
                    fault = format!(
                        "{fault} (an export running: DONE {:.1} s after the restart)",
                        at.saturating_duration_since(restored).as_secs_f64()
                    )
                }
                None => {
                    failures.push("the export never finished after export-service's kill".into())
                }
            }
        }
        if name == "api-gateway" {
            wait_ready(&url).await;
        }
        finish!(fault, began, restored, false);
    }

    load.stop.store(true, Ordering::SeqCst);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(35), task).await;
    }

    println!(
        "\n| fault | what clients saw | lost | duplicated | recovery (after the fault ended) |"
    );
    println!("|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            row.fault, row.saw, row.lost, row.duplicated, row.recovery
        );
    }
    let total = load.seen.lock().unwrap().len();
    println!(
        "\n{total} requests; {} tickets created, {} granted, {} emails, {} SendGrid calls\n",
        load.created.lock().unwrap().len(),
        load.granted.lock().unwrap().len(),
        fake.taken_ids().len(),
        *fake.calls.lock().unwrap()
    );
    let kills_of_notify = 1;
    assert!(
        fake.duplicates() <= NOTIFY_CONCURRENCY * kills_of_notify,
        "more emails sent twice than calls in flight at a worker's crash"
    );
    drop(platform);
    db.close().await.ok();
    assert!(failures.is_empty(), "{failures:#?}");
    let _ = std::fs::remove_dir_all(&data);
}
