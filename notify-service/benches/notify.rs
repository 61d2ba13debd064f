//! Notifications per second end to end: ticket events committed (a history row and its outbox
//! row per change, as ticket-service writes them) -> the outbox relay -> the event stream ->
//! the email worker -> a fake SendGrid that answers 202 at once and notes when each email
//! arrived. Each event (a ticket granted) emails two people (the owner and the FSS who
//! supports them). Two phases: `drain` (a backlog of BENCH_EVENTS events: throughput) and
//! `live` (BENCH_LIVE_EVENTS events committed at BENCH_LIVE_RATE a second: latency).
//!
//!     cargo bench -p notify-service --bench notify
//!
//! Runs on PostgreSQL + Redis (production) and on SQLite + the in-process stream (the
//! embedded default). Settings: BENCH_EVENTS (10000), BENCH_LIVE_EVENTS (2000),
//! BENCH_LIVE_RATE (250), BENCH_POSTGRES_URL
//! (postgres://postgres@127.0.0.1:5432), BENCH_REDIS_URL (redis://127.0.0.1:6379),
//! NOTIFY_CONCURRENCY (32).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use common::{
    Role, TicketEventKind, TicketEventMessage, TicketState, config::CommonSettings,
    stream::EventStream,
};
use db::entity::{outbox, ticket, ticket_event, user, user_support};
use notify_service::{MailSettings, worker::Worker};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set, TransactionTrait};
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the fake SendGrid saw: each email's event id and when it arrived.
#[derive(Clone, Default)]
struct Inbox {
    arrivals: Arc<Mutex<Vec<(i64, Instant)>>>,
}

async fn accept(
    State(inbox): State<Inbox>,
    Json(body): Json<Value>,
) -> (StatusCode, [(&'static str, &'static str); 1]) {
    let event: i64 = body["custom_args"]["tessera_event_id"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    inbox.arrivals.lock().unwrap().push((event, Instant::now()));
    (StatusCode::ACCEPTED, [("x-message-id", "bench")])
}

async fn fake_sendgrid() -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/v3/mail/send", post(accept))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

async fn person(db: &DatabaseConnection, email: &str, role: Role) -> i64 {
    let now = db::now();
    user::ActiveModel {
        email: Set(email.into()),
        name: Set(email.into()),
        roles: Set(role.as_str().into()),
        password_hash: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// Tickets to change, made before the clock starts.
async fn tickets(
    db: &DatabaseConnection,
    owner: i64,
    budget: i64,
    count: usize,
) -> Vec<ticket::Model> {
    let now = db::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<ticket::ActiveModel> = chunk
            .iter()
            .map(|i| ticket::ActiveModel {
                number: Set(i64::try_from(*i).unwrap() + 1),
                cycle: Set("2027".into()),
                residency: Set("DOMESTIC".into()),
                state: Set(TicketState::Granted.as_str().into()),
                owner_id: Set(owner),
                applicant_id: Set(None),
                created_by: Set(budget),
                created_at: Set(now),
                updated_at: Set(now),
                version: Set(2),
                ..Default::default()
            })
            .collect();
        ticket::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    ticket::Entity::find().all(db).await.unwrap()
}

struct Run {
    label: &'static str,
    mode: &'static str,
    events: usize,
    emails: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Commits one "ticket granted" change per ticket, `per_commit` changes a transaction, each
/// with its history row and its outbox row, as ticket-service writes them; returns when each
/// event committed. `pace` spaces the transactions (the live phase).
async fn commit_events(
    db: &DatabaseConnection,
    tickets: &[ticket::Model],
    budget: i64,
    owner: i64,
    per_commit: usize,
    pace: Option<Duration>,
) -> HashMap<i64, Instant> {
    let mut committed = HashMap::with_capacity(tickets.len());
    let mut next = Instant::now();
    for chunk in tickets.chunks(per_commit) {
        if let Some(pace) = pace {
            tokio::time::sleep_until(next.into()).await;
            next += pace;
        }
        let txn = db.begin().await.unwrap();
        let mut ids = Vec::with_capacity(chunk.len());
        for t in chunk {
            let now = db::now();
            let event = ticket_event::ActiveModel {
                ticket_id: Set(t.id),
                kind: Set(TicketEventKind::StateChanged.as_str().into()),
                actor_id: Set(budget),
                from_state: Set(Some(TicketState::Initial.as_str().into())),
                to_state: Set(Some(TicketState::Granted.as_str().into())),
                detail: Set(None),
                at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .unwrap();
            let message = TicketEventMessage {
                event_id: event.id,
                ticket_id: t.id,
                ticket_number: t.number,
                kind: TicketEventKind::StateChanged,
                actor_id: budget,
                from_state: Some(TicketState::Initial),
                to_state: Some(TicketState::Granted),
                state: TicketState::Granted,
                owner_id: owner,
                supervisor_ids: Vec::new(),
                applicant: None,
                detail: None,
                at: now,
            };
            outbox::ActiveModel {
                topic: Set(outbox::TICKET_EVENTS.to_owned()),
                ticket_event_id: Set(event.id),
                payload: Set(serde_json::to_string(&message).unwrap()),
                created_at: Set(now),
                relayed_at: Set(None),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .unwrap();
            ids.push(event.id);
        }
        txn.commit().await.unwrap();
        let at = Instant::now();
        committed.extend(ids.into_iter().map(|id| (id, at)));
    }
    committed
}

/// A fresh database with the bench's budget director, ticket owner and their FSS, and `count`
/// tickets of the owner's: the database, a connection, the director's and the owner's ids,
/// the tickets.
async fn people_and_tickets(
    backend: &testkit::Backend,
    count: usize,
) -> (
    testkit::TestDatabase,
    DatabaseConnection,
    i64,
    i64,
    Vec<ticket::Model>,
) {
    let database = testkit::TestDatabase::create(backend, "notify_bench").await;
    let db = db::connect(&database.url).await.unwrap();
    db::migrate(&db).await.unwrap();
    let budget = person(&db, "budget@bench.edu", Role::BudgetDirector).await;
    let owner = person(&db, "owner@bench.edu", Role::Faculty).await;
    let fss = person(&db, "fss@bench.edu", Role::Fss).await;
    user_support::ActiveModel {
        fss_id: Set(fss),
        faculty_id: Set(owner),
    }
    .insert(&db)
    .await
    .unwrap();
    let tickets = tickets(&db, owner, budget, count).await;
    (database, db, budget, owner, tickets)
}

/// Waits (ten minutes at most) until `expected` emails have arrived: how many did, when the
/// last one did, and each one's latency from its event's commit, sorted.
async fn arrived(
    inbox: &Inbox,
    expected: usize,
    start: Instant,
    committed: &HashMap<i64, Instant>,
) -> (usize, Instant, Vec<Duration>) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let arrived = inbox.arrivals.lock().unwrap().len();
        if arrived >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let arrivals = inbox.arrivals.lock().unwrap().clone();
    let last = arrivals.iter().map(|(_, at)| *at).max().unwrap_or(start);
    let mut latencies: Vec<Duration> = arrivals
        .iter()
        .filter_map(|(event, at)| {
            committed
                .get(event)
                .map(|c| at.saturating_duration_since(*c))
        })
        .collect();
    latencies.sort();
    (arrivals.len(), last, latencies)
}

/// `drain`: `count` events committed while nothing runs, then the relay and the worker start
/// and the clock runs until every email arrived (throughput). `live`: the pipeline runs while
/// events commit at a steady pace (10 per transaction, `rate` events a second), and each
/// email's latency is measured from its event's commit.
async fn run(
    label: &'static str,
    mode: &'static str,
    backend: testkit::Backend,
    stream: EventStream,
    count: usize,
    rate: usize,
) -> Run {
    let (database, db, budget, owner, tickets) = people_and_tickets(&backend, count).await;

    let (url, inbox) = fake_sendgrid().await;
    let data = std::env::temp_dir().join(format!("tessera-notify-bench-{}", uuid::Uuid::new_v4()));
    let data_str = data.display().to_string();
    let concurrency = env("NOTIFY_CONCURRENCY", 32usize).to_string();
    let source = HashMap::from([
        ("DATA_DIR", data_str.as_str()),
        ("SENDGRID_API_URL", url.as_str()),
        ("SENDGRID_API_KEY", "SG.bench"),
        ("NOTIFY_CONCURRENCY", concurrency.as_str()),
    ]);
    let common = CommonSettings::from_source(&source).unwrap();
    let settings = MailSettings::from_source(&source, &common).unwrap();

    let (start, committed, relay, worker) = if mode == "drain" {
        let committed = commit_events(&db, &tickets, budget, owner, 100, None).await;
        let start = Instant::now();
        let relay = ticket_service::relay::start(db.clone(), stream.clone());
        let worker = Worker::new(db.clone(), stream, settings).unwrap().start();
        (start, committed, relay, worker)
    } else {
        let relay = ticket_service::relay::start(db.clone(), stream.clone());
        let worker = Worker::new(db.clone(), stream, settings).unwrap().start();
        let start = Instant::now();
        let pace = Duration::from_secs_f64(10.0 / rate as f64);
        let committed = commit_events(&db, &tickets, budget, owner, 10, Some(pace)).await;
        (start, committed, relay, worker)
    };

    let (arrivals, last, latencies) = arrived(&inbox, 2 * count, start, &committed).await;
    relay.abort();
    worker.abort();
    db.close().await.ok();
    database.remove().await;
    std::fs::remove_dir_all(&data).ok();
    Run {
        label,
        mode,
        events: count,
        emails: arrivals,
        seconds: last.duration_since(start).as_secs_f64(),
        latencies,
    }
}

async fn redis_stream(url: &str) -> Option<EventStream> {
    let client = redis::Client::open(url).ok()?;
    let prefix = format!("tessera-bench-{}", uuid::Uuid::new_v4().simple());
    EventStream::redis(client, &prefix).await.ok()
}

#[tokio::main]
async fn main() {
    let count = env("BENCH_EVENTS", 10_000usize);
    let live = env("BENCH_LIVE_EVENTS", 2_000usize);
    let rate = env("BENCH_LIVE_RATE", 250usize);
    let base = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let redis_url =
        std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());

    let mut runs = Vec::new();
    for mode in ["drain", "live"] {
        let n = if mode == "drain" { count } else { live };
        match redis_stream(&redis_url).await {
            Some(stream) => {
                let pg = testkit::Backend::Postgres(base.clone());
                runs.push(run("PostgreSQL + Redis", mode, pg, stream, n, rate).await);
            }
            None => eprintln!("Redis at {redis_url} unreachable: the production runs are skipped"),
        }
        let sqlite = testkit::Backend::Sqlite;
        runs.push(
            run(
                "SQLite + in-process",
                mode,
                sqlite,
                EventStream::memory(),
                n,
                rate,
            )
            .await,
        );
    }

    println!(
        "\n{:<20} {:<6} {:>7} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "setup", "mode", "events", "emails", "seconds", "emails/s", "p50 ms", "p99 ms", "max ms"
    );
    for r in &runs {
        let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
        println!(
            "{:<20} {:<6} {:>7} {:>7} {:>8.2} {:>9.0} {:>9.1} {:>9.1} {:>9.1}",
            r.label,
            r.mode,
            r.events,
            r.emails,
            r.seconds,
            r.emails as f64 / r.seconds,
            ms(percentile(&r.latencies, 50.0)),
            ms(percentile(&r.latencies, 99.0)),
            ms(r.latencies.last().copied().unwrap_or_default()),
        );
    }
    println!(
        "drain: events committed first, then the relay and the worker started: seconds until the last email arrived"
    );
    println!(
        "live: {rate} events/s committed (10 per transaction) while the pipeline runs; latency = commit -> the fake SendGrid received the email"
    );
}
