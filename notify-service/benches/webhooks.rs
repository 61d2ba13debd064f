//! Webhook deliveries per second to a local receiver, and the time from an event's
//! publication on the stream to its receipt. Two phases: `drain` (BENCH_HOOK_EVENTS events,
//! 1,000 by default, fanned out to BENCH_HOOKS hooks, 10: throughput) and `live`
//! (BENCH_HOOK_LIVE_EVENTS events, 500, published at BENCH_HOOK_LIVE_RATE a second, 100:
//! latency). The relay is not in the path (events go straight onto the stream), so the
//! latency is the webhook worker's own: fan-out, claim, request, receipt.
//!
//!     cargo bench -p notify-service --bench webhooks
//!
//! Runs on SQLite (the embedded default) and, when it answers, PostgreSQL
//! (`TEST_POSTGRES_URL`), both with the in-process stream. `WEBHOOK_CONCURRENCY` (64) and
//! `WEBHOOK_HOOK_CONCURRENCY` (8) apply. Each phase prints the CPU time per delivery of this
//! process (the worker, and the receiver, which shares it) and of the PostgreSQL backends
//! serving the bench's database, read from `/proc`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use common::{
    Role, TicketEventKind, TicketEventMessage, TicketState, config::CommonSettings,
    stream::EventStream,
};
use db::entity::{outbox::TICKET_EVENTS, user, webhook};
use notify_service::{HookSettings, webhooks::worker::Worker};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use testkit::Backend;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// When each `webhook-id` first arrived, and how many requests came in all.
#[derive(Clone, Default)]
struct Inbox {
    arrivals: Arc<Mutex<Vec<(String, Instant)>>>,
}

async fn accept(State(inbox): State<Inbox>, headers: HeaderMap, _body: Bytes) -> &'static str {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    inbox.arrivals.lock().unwrap().push((id, Instant::now()));
    "ok"
}

async fn receiver() -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/hook", post(accept))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, inbox)
}

/// A budget director (who sees every ticket) with `hooks` hooks to `url`.
async fn hooks(db: &DatabaseConnection, url: &str, hooks: usize) {
    let now = db::now();
    let owner = user::ActiveModel {
        email: Set("bench@test.edu".into()),
        name: Set("Bench".into()),
        roles: Set(user::format_roles(&[Role::BudgetDirector])),
        password_hash: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    for _ in 0..hooks {
        webhook::ActiveModel {
            owner_id: Set(owner),
            url: Set(url.to_string()),
            description: Set(String::new()),
            events: Set(String::new()),
            states: Set(String::new()),
            secret: Set(notify_service::webhooks::signature::new_secret()),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
}

fn event(id: i64) -> TicketEventMessage {
    TicketEventMessage {
        event_id: id,
        ticket_id: id,
        ticket_number: id,
        kind: TicketEventKind::StateChanged,
        actor_id: 1,
        from_state: Some(TicketState::Initial),
        to_state: Some(TicketState::Granted),
        state: TicketState::Granted,
        owner_id: 1,
        supervisor_ids: Vec::new(),
        applicant: None,
        detail: None,
        at: db::now(),
    }
}

/// CPU time so far: this process, and the PostgreSQL backends of `database` (none on SQLite).
fn cpu(database: &str) -> (Duration, Duration) {
    (
        testkit::cpu::this_process(),
        testkit::cpu::postgres_backends(database),
    )
}

/// `since`'s CPU time to now, per delivery, in microseconds: "process µs + database µs".
fn cpu_per(database: &str, since: (Duration, Duration), deliveries: usize) -> String {
    let now = cpu(database);
    let per = |d: Duration| d.as_secs_f64() * 1e6 / deliveries.max(1) as f64;
    format!(
        "CPU per delivery {:.0} µs (worker + receiver) + {:.0} µs (PostgreSQL)",
        per(now.0.saturating_sub(since.0)),
        per(now.1.saturating_sub(since.1))
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Waits until `count` requests arrived (or a minute passed without progress).
async fn arrived(inbox: &Inbox, count: usize) -> usize {
    let mut last = (0, Instant::now());
    loop {
        let n = inbox.arrivals.lock().unwrap().len();
        if n >= count {
            return n;
        }
        if n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(60) {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The worker's settings: loopback over http allowed, the concurrency from the environment.
fn settings() -> HookSettings {
    let concurrency = std::env::var("WEBHOOK_CONCURRENCY").unwrap_or_else(|_| "64".into());
    let per_hook = std::env::var("WEBHOOK_HOOK_CONCURRENCY").unwrap_or_else(|_| "8".into());
    let settings_env = HashMap::from([
        ("WEBHOOK_ALLOW_HTTP", "true"),
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("WEBHOOK_CONCURRENCY", concurrency.as_str()),
        ("WEBHOOK_HOOK_CONCURRENCY", per_hook.as_str()),
    ]);
    let common = CommonSettings::from_source(&settings_env).unwrap();
    HookSettings::from_source(&settings_env, &common).unwrap()
}

async fn run(label: &str, backend: &Backend) {
    let (events, hook_count) = (
        env("BENCH_HOOK_EVENTS", 1_000i64),
        env("BENCH_HOOKS", 10usize),
    );
    let (live, rate) = (
        env("BENCH_HOOK_LIVE_EVENTS", 500i64),
        env("BENCH_HOOK_LIVE_RATE", 100u64),
    );
    let database = testkit::TestDatabase::create(backend, "hook_bench").await;
    let db = db::connect(&database.url).await.unwrap();
    db::migrate(&db).await.unwrap();
    let (url, inbox) = receiver().await;
    hooks(&db, &url, hook_count).await;
    let name = database
        .url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let settings = settings();
    let stream = EventStream::memory();

    // Drain: a backlog of `events`, then the worker.
    for id in 1..=events {
        let payload = serde_json::to_string(&event(id)).unwrap();
        stream.publish(TICKET_EVENTS, &payload).await.unwrap();
    }
    let started = Instant::now();
    let cpu_start = cpu(&name);
    Worker::new(db.clone(), stream.clone(), settings)
        .unwrap()
        .start();
    let expected = usize::try_from(events).unwrap() * hook_count;
    let got = arrived(&inbox, expected).await;
    let took = started.elapsed();
    println!(
        "{label:<8} drain  {got:>6} deliveries ({events} events x {hook_count} hooks) in {:>6.2} s: {:>7.0} deliveries/s; {}",
        took.as_secs_f64(),
        got as f64 / took.as_secs_f64(),
        cpu_per(&name, cpu_start, got)
    );

    // Live: `live` events at `rate` a second, each timed from publication to each receipt.
    let mut published = HashMap::new();
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tick = tokio::time::interval(every);
    let cpu_start = cpu(&name);
    for id in events + 1..=events + live {
        tick.tick().await;
        let payload = serde_json::to_string(&event(id)).unwrap();
        published.insert(format!("msg_{id}"), Instant::now());
        stream.publish(TICKET_EVENTS, &payload).await.unwrap();
    }
    let total = expected + usize::try_from(live).unwrap() * hook_count;
    let live_got = arrived(&inbox, total).await - got;
    let live_cpu = cpu_per(&name, cpu_start, live_got);
    let mut latencies: Vec<Duration> = inbox
        .arrivals
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(id, at)| {
            published
                .get(id.as_str())
                .map(|sent| at.duration_since(*sent))
        })
        .collect();
    latencies.sort();
    println!(
        "{label:<8} live   {:>6} deliveries at {rate} events/s: p50 {:>6.1} ms, p99 {:>6.1} ms, max {:>6.1} ms; {live_cpu}",
        latencies.len(),
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    db.close().await.ok();
    database.remove().await;
}

#[tokio::main]
async fn main() {
    run("sqlite", &Backend::Sqlite).await;
    if let Some(postgres) = testkit::postgres_or_skip().await {
        run("postgres", &postgres).await;
    }
}
