//! The webhook worker (inside the notify-service process) killed with SIGKILL in the middle
//! of 400 deliveries (100 events to 4 hooks), then started again, against PostgreSQL, Redis
//! and a slow receiver: every delivery arrives, and the only duplicates are the requests in
//! flight at the kill (at most `WEBHOOK_CONCURRENCY`), each with `attempts` 2 and the same
//! `webhook-id` (so a receiver drops it).

use crate::crash::start_worker;
use crate::receiver::Receiver;
use crate::support::Fixture;
use common::{Role, stream::EventStream};
use db::entity::{outbox::TICKET_EVENTS, user, webhook};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

const EVENTS: usize = 100;
const HOOKS: usize = 4;
const CONCURRENCY: usize = 4;

/// `HOOKS` hooks of an ADMIN (who sees every ticket) to `receiver`; their secrets.
async fn hooks(fx: &Fixture, receiver: &Receiver) -> Vec<String> {
    let now = db::now();
    let admin = user::ActiveModel {
        email: Set("admin@test.edu".into()),
        name: Set("Ada Admin".into()),
        roles: Set(user::format_roles(&[Role::Admin])),
        password_hash: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&fx.db)
    .await
    .unwrap()
    .id;
    let mut secrets = Vec::new();
    for _ in 0..HOOKS {
        let secret = notify_service::webhooks::signature::new_secret();
        webhook::ActiveModel {
            owner_id: Set(admin),
            url: Set(receiver.url.clone()),
            description: Set(String::new()),
            events: Set(String::new()),
            states: Set(String::new()),
            secret: Set(secret.clone()),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&fx.db)
        .await
        .unwrap();
        secrets.push(secret);
    }
    secrets
}

/// `EVENTS` granted tickets' events on a Redis stream of the test's own (its key prefix
/// returned with them).
async fn published(fx: &Fixture, redis: &str) -> (Vec<common::TicketEventMessage>, String) {
    let prefix = format!("tessera-hook-crash-{}", uuid::Uuid::new_v4().simple());
    let stream = EventStream::redis(redis::Client::open(redis).unwrap(), &prefix)
        .await
        .unwrap();
    let events = fx.granted_tickets(EVENTS).await;
    for event in &events {
        stream
            .publish(TICKET_EVENTS, &serde_json::to_string(event).unwrap())
            .await
            .unwrap();
    }
    (events, prefix)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_webhook_worker_loses_no_delivery() {
    let Some(backend) = testkit::postgres_or_skip().await else {
        return;
    };
    let Some(redis) = testkit::redis_or_skip().await else {
        return;
    };
    let fx = Fixture::new(&backend).await;
    let receiver = Receiver::slow(Duration::from_millis(15)).await;
    let secrets = hooks(&fx, &receiver).await;
    receiver.trust(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    let (events, prefix) = published(&fx, &redis).await;
    let data = std::env::temp_dir().join(format!("tessera-hook-crash-{}", uuid::Uuid::new_v4()));
    let env = [
        ("DATABASE_URL", fx.database.url.clone()),
        ("REDIS_URL", redis.clone()),
        ("REDIS_KEY_PREFIX", prefix.clone()),
        ("DATA_DIR", data.display().to_string()),
        ("PORT", "0".to_string()),
        ("WEBHOOK_ALLOW_HTTP", "true".to_string()),
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true".to_string()),
        ("WEBHOOK_TIMEOUT_MS", "2000".to_string()),
        ("WEBHOOK_CONCURRENCY", CONCURRENCY.to_string()),
        ("WEBHOOK_CLAIM_IDLE_MS", "1000".to_string()),
    ];
    let expected = EVENTS * HOOKS;
    let mut first = start_worker(&env);
    for _ in 0..3_000 {
        if receiver.received().len() >= expected / 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let at_kill = receiver.received().len();
    assert!(
        at_kill >= expected / 4 && at_kill < expected,
        "the kill must land mid-batch: {at_kill} of {expected} received"
    );

    let _second = start_worker(&env);
    let rows = final_rows(&fx, expected).await;
    let received = receiver.received();
    assert!(
        received.iter().all(|r| r.verified_by.len() == 1),
        "a request failed verification"
    );

    // One row per (event, hook), all DELIVERED; each received at least once.
    let mut calls: HashMap<(usize, String), usize> = HashMap::new();
    for r in &received {
        *calls.entry((r.verified_by[0], r.id.clone())).or_default() += 1;
    }
    let want: BTreeSet<(usize, String)> = (0..HOOKS)
        .flat_map(|h| {
            events
                .iter()
                .map(move |e| (h, format!("msg_{}", e.event_id)))
        })
        .collect();
    assert_eq!(calls.keys().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(rows.len(), expected);
    assert!(rows.iter().all(|r| r.status == "DELIVERED"), "{rows:?}");
    let twice = calls.values().filter(|n| **n > 1).count();
    assert!(calls.values().all(|n| *n <= 2), "{calls:?}");
    let retried = rows.iter().filter(|r| r.attempts > 1).count();
    assert!(
        twice <= retried && retried <= CONCURRENCY,
        "{twice} sent twice, {retried} retried"
    );
    eprintln!(
        "webhook crash test: killed after {at_kill} of {expected}; {retried} requests were in flight, {twice} had arrived and were sent twice"
    );
    std::fs::remove_dir_all(&data).ok();
    fx.cleanup().await;
}

/// The delivery rows once `count` exist and all are final (or after a generous wait).
async fn final_rows(fx: &Fixture, count: usize) -> Vec<db::entity::webhook_delivery::Model> {
    let mut rows = Vec::new();
    for _ in 0..2_400 {
        rows = db::entity::webhook_delivery::Entity::find()
            .all(&fx.db)
            .await
            .unwrap();
        if rows.len() >= count
            && rows
                .iter()
                .all(|r| r.status == "DELIVERED" || r.status == "FAILED")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    rows
}
