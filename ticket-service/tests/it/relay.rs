//! The outbox relay: what committed while no relay ran reaches the stream once one starts, in
//! commit order and marked relayed; with Redis, two replicas' relays never send a row twice.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who};
use common::{TicketEventMessage, stream::EventStream};
use db::entity::{outbox, ticket_event};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use std::time::Duration;
use ticket_service::relay;

/// Reads the whole topic once `expected` entries are there (or whatever is there after a
/// generous wait, so a missing entry fails the assertion that follows, not a timeout).
async fn read_all(stream: &EventStream, expected: usize) -> Vec<TicketEventMessage> {
    let mut entries = Vec::new();
    for _ in 0..600 {
        entries = stream
            .read_after(outbox::TICKET_EVENTS, None, 10_000)
            .await
            .unwrap();
        if entries.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    entries
        .iter()
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect()
}

async fn unrelayed(app: &TestApp) -> u64 {
    outbox::Entity::find()
        .filter(outbox::Column::RelayedAt.is_null())
        .count(&app.db)
        .await
        .unwrap()
}

async fn what_committed_without_a_relay_is_sent_when_one_starts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // No relay runs in TestApp: these commits wait in the outbox.
    let tickets = app.create_tickets(Who::FacultyA, 3).await;
    app.gql(
        Who::Budget,
        "mutation($id: ID!) { grantTicket(ticketId: $id) { state } }",
        serde_json::json!({"id": tickets[0]}),
    )
    .await;
    assert_eq!(unrelayed(&app).await, 4);

    let stream = EventStream::memory();
    let relay = relay::start(app.db.clone(), stream.clone());
    let sent = read_all(&stream, 4).await;
    let events: Vec<i64> = ticket_event::Entity::find()
        .order_by_asc(ticket_event::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(sent.iter().map(|m| m.event_id).collect::<Vec<_>>(), events);
    assert_eq!(sent[3].to_state, Some(common::TicketState::Granted));
    assert_eq!(sent[3].owner_id, app.id(Who::FacultyA));
    for _ in 0..100 {
        if unrelayed(&app).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(unrelayed(&app).await, 0);
    relay.abort();
    app.cleanup().await;
}

/// The embedded default: a process that stopped took its in-process stream with it, so a new
/// one sends again what was relayed lately (consumers absorb repeats by event id).
async fn an_in_process_relay_sends_again_what_a_stopped_process_relayed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_tickets(Who::FacultyA, 2).await;
    let first = EventStream::memory();
    let relay = relay::start(app.db.clone(), first.clone());
    assert_eq!(read_all(&first, 2).await.len(), 2);
    for _ in 0..100 {
        if unrelayed(&app).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    relay.abort();
    // Relayed long ago: not sent again.
    let old = relay::relay_again_since(&app.db, db::now() + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(old, 0);

    // The process stops; the next one starts with an empty stream and gets both again.
    let second = EventStream::memory();
    let relay = relay::start(app.db.clone(), second.clone());
    let again = read_all(&second, 2).await;
    assert_eq!(again.len(), 2);
    relay.abort();
    app.cleanup().await;
}

on_both_databases!(
    what_committed_without_a_relay_is_sent_when_one_starts,
    an_in_process_relay_sends_again_what_a_stopped_process_relayed
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_redis_send_each_row_once() {
    let (Some(backend), Some(redis_url)) = (
        testkit::postgres_or_skip().await,
        testkit::redis_or_skip().await,
    ) else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let prefix = format!("tessera-relay-test-{}", uuid::Uuid::new_v4().simple());
    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let stream = EventStream::redis(client, &prefix).await.unwrap();
    let relays = [
        relay::start(app.db.clone(), stream.clone()),
        relay::start(app.db.clone(), stream.clone()),
    ];
    app.create_tickets(Who::FacultyB, 20).await;
    app.create_tickets(Who::FacultyA, 20).await;
    let sent = read_all(&stream, 40).await;
    // Give a second relay every chance to send something twice before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_again = read_all(&stream, 40).await;
    assert_eq!(sent.len(), 40);
    assert_eq!(sent_again.len(), 40, "no row was sent twice");
    let mut ids: Vec<i64> = sent_again.iter().map(|m| m.event_id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    assert_eq!(unrelayed(&app).await, 0);
    for relay in relays {
        relay.abort();
    }
    app.cleanup().await;
}
