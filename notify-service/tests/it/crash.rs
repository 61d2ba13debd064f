//! The worker process killed (SIGKILL) in the middle of a batch of 200 events, then started
//! again, against PostgreSQL, Redis and a fake SendGrid: every expected email arrives, each
//! exactly once but for the calls that were in flight at the kill (SendGrid had taken the
//! email, the dead worker never wrote so down): those, at most `NOTIFY_CONCURRENCY`, are sent
//! again, and their row says so (`attempts` 2).

use crate::support::Fixture;
use common::{TicketEventMessage, stream::EventStream};
use db::entity::{notification::Model as Notification, outbox::TICKET_EVENTS};
use std::{
    collections::{BTreeSet, HashMap},
    process::{Child, Command, Stdio},
    time::Duration,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const EVENTS: usize = 200;
const CONCURRENCY: usize = 4;

/// The worker process, killed when the test ends however it ends.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start_worker(env: &[(&str, String)]) -> Proc {
    let mut command = Command::new(env!("CARGO_BIN_EXE_notify-service"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    testkit::capture_stderr(&mut child);
    Proc(child)
}

/// The notification id of each request the fake received.
async fn received_ids(fake: &MockServer) -> Vec<i64> {
    fake.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            body["custom_args"]["tessera_notification_id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// A fake SendGrid slow enough that the batch takes seconds: the kill lands in the middle of it.
async fn slow_sendgrid() -> MockServer {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("X-Message-Id", "sg-1")
                .set_delay(Duration::from_millis(20)),
        )
        .mount(&fake)
        .await;
    fake
}

/// `EVENTS` granted tickets' events, published on a Redis stream of the test's own (its key
/// prefix returned with them).
async fn published_events(fx: &Fixture, redis: &str) -> (Vec<TicketEventMessage>, String) {
    let prefix = format!("tessera-crash-{}", uuid::Uuid::new_v4().simple());
    let client = redis::Client::open(redis).unwrap();
    let stream = EventStream::redis(client, &prefix).await.unwrap();
    let events = fx.granted_tickets(EVENTS).await;
    for event in &events {
        stream
            .publish(TICKET_EVENTS, &serde_json::to_string(event).unwrap())
            .await
            .unwrap();
    }
    (events, prefix)
}

/// Starts a worker, waits until a quarter of the `expected` emails reached `fake`, and kills
/// it; how many had reached it then.
async fn killed_mid_batch(env: &[(&str, String)], fake: &MockServer, expected: usize) -> usize {
    let mut first = start_worker(env);
    let mut before_kill = 0;
    for _ in 0..3_000 {
        before_kill = received_ids(fake).await.len();
        if before_kill >= expected / 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let at_kill = received_ids(fake).await.len();
    assert!(
        before_kill >= expected / 4 && at_kill < expected,
        "the kill must land mid-batch: {at_kill} of {expected} sent"
    );
    at_kill
}

/// Each row's calls at SendGrid: exactly one, or (a call in flight at the kill, made again
/// after the restart) `attempts` 2 and at most two calls; no call without a row. How many
/// were in doubt, and how many of those were sent twice.
fn in_doubt_and_twice(rows: &[Notification], received: Vec<i64>) -> (usize, usize) {
    let mut calls: HashMap<i64, i32> = HashMap::new();
    for id in received {
        *calls.entry(id).or_default() += 1;
    }
    let mut in_doubt = 0;
    let mut twice = 0;
    for row in rows {
        let got = calls.remove(&row.id).unwrap_or(0);
        assert!(got >= 1, "notification {} never reached SendGrid", row.id);
        if row.attempts == 1 {
            assert_eq!(got, 1, "notification {} was sent {got} times", row.id);
        } else {
            // A call in flight at the kill, made again after the restart.
            assert_eq!(row.attempts, 2, "{row:?}");
            assert!(got <= 2);
            in_doubt += 1;
            if got == 2 {
                twice += 1;
            }
        }
    }
    assert!(calls.is_empty(), "emails nobody recorded: {calls:?}");
    (in_doubt, twice)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_no_email() {
    let Some(backend) = testkit::postgres_or_skip().await else {
        return;
    };
    let Some(redis) = testkit::redis_or_skip().await else {
        return;
    };
    let fx = Fixture::new(&backend).await;
    let fake = slow_sendgrid().await;
    let (events, prefix) = published_events(&fx, &redis).await;
    let data = std::env::temp_dir().join(format!("tessera-crash-{}", uuid::Uuid::new_v4()));
    let env = [
        ("DATABASE_URL", fx.database.url.clone()),
        ("REDIS_URL", redis.clone()),
        ("REDIS_KEY_PREFIX", prefix.clone()),
        ("DATA_DIR", data.display().to_string()),
        ("PORT", "0".to_string()),
        ("SENDGRID_API_URL", fake.uri()),
        ("SENDGRID_API_KEY", "SG.crash".to_string()),
        ("SENDGRID_TIMEOUT_MS", "2000".to_string()),
        ("NOTIFY_CONCURRENCY", CONCURRENCY.to_string()),
        ("NOTIFY_CLAIM_IDLE_MS", "1000".to_string()),
    ];
    let expected = 2 * EVENTS;
    let at_kill = killed_mid_batch(&env, &fake, expected).await;

    let _second = start_worker(&env);
    let rows = fx.settled(expected).await;

    // One row per (event, recipient), all SENT.
    let pairs: BTreeSet<(i64, i64)> = rows.iter().map(|r| (r.event_id, r.recipient_id)).collect();
    let want: BTreeSet<(i64, i64)> = events
        .iter()
        .flat_map(|e| [(e.event_id, fx.cast.faculty), (e.event_id, fx.cast.fss)])
        .collect();
    assert_eq!(rows.len(), expected);
    assert_eq!(pairs, want);
    assert!(rows.iter().all(|r| r.status == "SENT"), "{rows:?}");

    let (in_doubt, twice) = in_doubt_and_twice(&rows, received_ids(&fake).await);
    assert!(
        in_doubt <= CONCURRENCY,
        "{in_doubt} emails were in doubt, more than the calls in flight"
    );
    eprintln!(
        "crash test: killed after {at_kill} of {expected} emails; {in_doubt} calls were in flight, {twice} of them had reached SendGrid and were sent twice"
    );
    std::fs::remove_dir_all(&data).ok();
    fx.cleanup().await;
}
