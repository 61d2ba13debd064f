//! Many schedulers, one database: two app instances (each its own pool) ticking at the same
//! moments, and a scheduler stopped in the middle of a tick and started again, never write a
//! step twice; on PostgreSQL with Redis, every reminder reaches the stream once.

use super::*;
use crate::on_both_databases;
use crate::support::{Backend, TestApp};
use chrono::Duration;
use common::stream::EventStream;
use sea_orm::{DatabaseConnection, PaginatorTrait};
use ticket_service::scheduler::ManualClock;

const OFFERS: usize = 12;

async fn offers(app: &TestApp, prefix: &str, due: DateTime<Utc>) -> Vec<String> {
    let mut all = Vec::new();
    for i in 0..OFFERS {
        all.push(offer(app, &format!("{prefix}-{i}"), due).await);
    }
    all
}

async fn sent_rows(db: &DatabaseConnection) -> u64 {
    scheduled_run::Entity::find()
        .filter(scheduled_run::Column::Outcome.eq(scheduled_run::SENT))
        .count(db)
        .await
        .unwrap()
}

async fn two_instances_ticking_together_send_each_step_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = db::connect(app.database_url()).await.unwrap();
    let s = Settings::default();
    let due = at("2027-03-20T17:00:00Z");
    let tickets = offers(&app, "R", due).await;
    for now in [
        due - Duration::days(7),
        due - Duration::days(2),
        due,
        due + Duration::hours(1),
    ] {
        let (clock, _) = Clock::manual(now);
        let (a, b, c) = tokio::join!(
            scheduler::tick(&app.db, &s, &clock),
            scheduler::tick(&other, &s, &clock),
            scheduler::tick(&other, &s, &clock),
        );
        let sent = a.unwrap().sent + b.unwrap().sent + c.unwrap().sent;
        let expected = if now > due { 0 } else { OFFERS };
        assert_eq!(sent, expected, "at {now}");
    }
    for t in &tickets {
        assert_eq!(
            outboxed(&app, t).await,
            strings(&["DEADLINE_REMINDER", "DEADLINE_REMINDER", "DEADLINE_PASSED"])
        );
    }
    other.close().await.ok();
    app.cleanup().await;
}

/// Waits (a bounded while) until `rows` steps are recorded as sent.
async fn until_sent(db: &DatabaseConnection, rows: u64) -> u64 {
    for _ in 0..600 {
        let n = sent_rows(db).await;
        if n >= rows {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    sent_rows(db).await
}

async fn a_restart_in_the_middle_of_a_tick_sends_nothing_twice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = settings(&[("SCHEDULER_TICK", "1s")]);
    let due = at("2027-03-20T17:00:00Z");
    let tickets = offers(&app, "X", due).await;
    let (clock, hand): (Clock, ManualClock) = Clock::manual(due - Duration::days(7));
    let first = scheduler::start(app.db.clone(), s.clone(), clock.clone());
    // Stopped as soon as it has sent one: the rest of its tick is cut off mid-way.
    assert!(until_sent(&app.db, 1).await >= 1);
    first.abort();
    let _ = first.await;
    let restarted = scheduler::start(app.db.clone(), s.clone(), clock);
    assert_eq!(until_sent(&app.db, OFFERS as u64).await, OFFERS as u64);
    hand.set(due - Duration::days(2));
    assert_eq!(
        until_sent(&app.db, 2 * OFFERS as u64).await,
        2 * OFFERS as u64
    );
    restarted.abort();
    let _ = restarted.await;
    // A tick of its own at the same moment finds nothing left to send.
    assert_eq!(tick_at(&app, &s, due - Duration::days(2)).await.due, 0);
    for t in &tickets {
        assert_eq!(
            timed_kinds(&app, t).await,
            strings(&["DEADLINE_REMINDER", "DEADLINE_REMINDER"])
        );
    }
    app.cleanup().await;
}

on_both_databases!(
    two_instances_ticking_together_send_each_step_once,
    a_restart_in_the_middle_of_a_tick_sends_nothing_twice
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_on_postgres_and_redis_put_each_reminder_on_the_stream_once() {
    let (Some(backend), Some(redis_url)) = (
        testkit::postgres_or_skip().await,
        testkit::redis_or_skip().await,
    ) else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let other = db::connect(app.database_url()).await.unwrap();
    let prefix = format!("tessera-scheduler-test-{}", uuid::Uuid::new_v4().simple());
    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let stream = EventStream::redis(client, &prefix).await.unwrap();
    let due = at("2027-03-20T17:00:00Z");
    let tickets = offers(&app, "P", due).await;
    let s = settings(&[("SCHEDULER_TICK", "1s")]);
    let (clock, hand) = Clock::manual(due - Duration::days(7));
    // Two replicas: each its pool, its scheduler and its relay to the shared stream.
    let tasks = [
        scheduler::start(app.db.clone(), s.clone(), clock.clone()),
        scheduler::start(other.clone(), s.clone(), clock.clone()),
        ticket_service::relay::start(app.db.clone(), stream.clone()),
        ticket_service::relay::start(other.clone(), stream.clone()),
    ];
    assert_eq!(until_sent(&app.db, OFFERS as u64).await, OFFERS as u64);
    hand.set(due);
    assert_eq!(
        until_sent(&app.db, 2 * OFFERS as u64).await,
        2 * OFFERS as u64
    );
    let timed = |entries: &[common::stream::Entry]| {
        entries
            .iter()
            .map(|e| serde_json::from_str::<common::TicketEventMessage>(&e.payload).unwrap())
            .filter(|m| TIMED.contains(&m.kind))
            .map(|m| (m.ticket_id, m.kind))
            .collect::<Vec<_>>()
    };
    let mut on_stream = Vec::new();
    for _ in 0..600 {
        let entries = stream
            .read_after(outbox::TICKET_EVENTS, None, 10_000)
            .await
            .unwrap();
        on_stream = timed(&entries);
        if on_stream.len() >= 2 * OFFERS {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for task in tasks {
        task.abort();
    }
    on_stream.sort();
    let before = on_stream.len();
    on_stream.dedup();
    assert_eq!(
        before,
        2 * OFFERS,
        "each ticket's reminder and notice, once"
    );
    assert_eq!(on_stream.len(), 2 * OFFERS);
    for t in &tickets {
        assert_eq!(
            timed_kinds(&app, t).await,
            strings(&["DEADLINE_REMINDER", "DEADLINE_PASSED"])
        );
    }
    other.close().await.ok();
    app.cleanup().await;
}
