//! What the suite accounts for after each fault, read from the database: emails settled, live
//! events caught up, changes and emails lost.

use super::{load::Load, sendgrid::FakeSendGrid};
use db::sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

pub async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .ok()
        .flatten();
    row.and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(-1)
}

/// Waits until every granted ticket's emails are recorded and none is QUEUED; when.
pub async fn emails_settled(
    db: &DatabaseConnection,
    load: &Load,
    bound: Duration,
) -> Option<Instant> {
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
pub struct Row {
    pub fault: String,
    pub saw: String,
    pub lost: String,
    pub duplicated: String,
    pub recovery: String,
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

/// The ids a query returns (the first column), none when the database does not answer.
async fn ids(db: &DatabaseConnection, sql: &str) -> BTreeSet<i64> {
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_default();
    rows.iter()
        .filter_map(|r| r.try_get_by_index::<i64>(0).ok())
        .collect()
}

/// How many of `tickets` the query `... WHERE id IN (tickets) {and}` no longer finds.
async fn missing(db: &DatabaseConnection, tickets: &BTreeSet<i64>, and: &str) -> u64 {
    if tickets.is_empty() {
        return 0;
    }
    let list = tickets
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let found = count(
        db,
        &format!("SELECT count(*) FROM tickets WHERE id IN ({list}){and}"),
    )
    .await;
    tickets.len() as u64 - found.max(0) as u64
}

/// Waits until the live subscriber has every committed event; when, and the committed events
/// it compared with last. The load goes on meanwhile, so an event committed after that check
/// may still be on its way: only the events of that check count as missed (`losses`).
pub async fn live_caught_up(
    db: &DatabaseConnection,
    load: &Load,
    bound: Duration,
) -> (Option<Instant>, BTreeSet<i64>) {
    let deadline = Instant::now() + bound;
    let mut events = BTreeSet::new();
    while Instant::now() < deadline {
        events = ids(db, "SELECT id FROM ticket_events").await;
        if !events.is_empty() && live_missed(&events, load) == 0 {
            return (Some(Instant::now()), events);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (None, events)
}

/// What was lost so far (a count, and the same in words): tickets created or granted but not
/// so in the database, emails FAILED, emails SENT that SendGrid never took, and which of
/// `live_events` (what `live_caught_up` last compared with) the live subscriber missed.
pub async fn losses(
    db: &DatabaseConnection,
    load: &Load,
    fake: &FakeSendGrid,
    live_events: &BTreeSet<i64>,
) -> (u64, String) {
    let created = load.created.lock().unwrap().clone();
    let granted = load.granted.lock().unwrap().clone();
    let missing =
        missing(db, &created, "").await + missing(db, &granted, " AND state <> 'INITIAL'").await;
    let failed = count(
        db,
        "SELECT count(*) FROM notifications WHERE status = 'FAILED'",
    )
    .await;
    let sent_ids = ids(db, "SELECT id FROM notifications WHERE status = 'SENT'").await;
    let never_taken = sent_ids.difference(&fake.taken_ids()).count();
    let live_missed = live_missed(live_events, load);
    let text = format!(
        "{missing} changes, {failed} emails FAILED, {never_taken} SENT not at SendGrid, {live_missed} live events"
    );
    let lost = missing + failed.max(0) as u64 + never_taken as u64 + live_missed as u64;
    (lost, text)
}

/// How long after `restored`, in words ("never" when it did not happen).
pub fn after(restored: Instant, at: Option<Instant>) -> String {
    at.map_or("never".to_string(), |s| {
        format!(
            "{:.1} s",
            s.saturating_duration_since(restored).as_secs_f64()
        )
    })
}
