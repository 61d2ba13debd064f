//! The scheduler with a moved clock: deadline reminders at the right times and once each,
//! business-day targets in the office's time zone (daylight saving, closed days), escalation
//! after the reminder, catching up with the latest step only, and several schedulers on one
//! database (and a restart) never sending a step twice. Ticks are called directly with a
//! manual clock; the background loop is started where a restart is the point.

mod calendar;
mod deadlines;
mod replicas;
mod waiting;

use crate::support::{TestApp, Who, ok};
use chrono::{DateTime, SecondsFormat, Utc};
use common::{TicketEventKind, config::ConfigError};
use db::entity::{outbox, scheduled_run, ticket_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::json;
use std::collections::HashMap;
use ticket_service::scheduler::{self, Clock, Settings, Tick};

/// The kinds only the scheduler writes.
pub const TIMED: [TicketEventKind; 4] = [
    TicketEventKind::DeadlineReminder,
    TicketEventKind::DeadlinePassed,
    TicketEventKind::WaitingReminder,
    TicketEventKind::WaitingEscalated,
];

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// Scheduler settings from these variables (the others default).
pub fn settings(pairs: &[(&'static str, &'static str)]) -> Settings {
    try_settings(pairs).unwrap()
}

pub fn try_settings(pairs: &[(&'static str, &'static str)]) -> Result<Settings, ConfigError> {
    Settings::from_source(&pairs.iter().copied().collect::<HashMap<_, _>>())
}

/// One tick at `now`.
pub async fn tick_at(app: &TestApp, settings: &Settings, now: DateTime<Utc>) -> Tick {
    let (clock, _) = Clock::manual(now);
    scheduler::tick(&app.db, settings, &clock).await.unwrap()
}

/// An offer out with applicant `number`, answer due at `due`.
pub async fn offer(app: &TestApp, number: &str, due: DateTime<Utc>) -> String {
    let t = app.requested_ticket(Who::FacultyA, number).await;
    let r = app
        .gql(
            Who::Chair,
            "mutation($t: ID!, $d: DateTime) { approveOffer(ticketId: $t, responseDueAt: $d) { state } }",
            json!({"t": t, "d": due.to_rfc3339_opts(SecondsFormat::Micros, true)}),
        )
        .await;
    assert_eq!(ok(&r)["approveOffer"]["state"], "OFFER_PENDING");
    t
}

/// Says ticket `t` entered its current state at `when` (time does not pass in a test).
pub async fn entered(app: &TestApp, t: &str, when: DateTime<Utc>) {
    let id: i64 = t.parse().unwrap();
    let last = ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(id))
        .filter(ticket_event::Column::ToState.is_not_null())
        .order_by_desc(ticket_event::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    ticket_event::Entity::update_many()
        .col_expr(ticket_event::Column::At, Expr::value(when))
        .filter(ticket_event::Column::Id.eq(last.id))
        .exec(&app.db)
        .await
        .unwrap();
}

/// The scheduler's entries in ticket `t`'s history, as its API shows them: (kind, detail,
/// actor's name).
pub async fn timed_history(app: &TestApp, t: &str) -> Vec<(String, String, String)> {
    let r = app
        .gql(
            Who::Admin,
            "query($t: ID!) { ticket(id: $t) { history { kind detail actor { name } } } }",
            json!({"t": t}),
        )
        .await;
    ok(&r)["ticket"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| TIMED.iter().any(|k| e["kind"] == k.as_str()))
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap_or_default().to_owned(),
                e["actor"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The kinds of the scheduler's history entries on ticket `t`.
pub async fn timed_kinds(app: &TestApp, t: &str) -> Vec<String> {
    timed_history(app, t)
        .await
        .into_iter()
        .map(|(kind, _, _)| kind)
        .collect()
}

/// The kinds of the outbox rows of ticket `t` that the scheduler wrote (what the relay
/// sends on to email, webhooks and live updates).
pub async fn outboxed(app: &TestApp, t: &str) -> Vec<String> {
    let id: i64 = t.parse().unwrap();
    let events: Vec<i64> = ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    outbox::Entity::find()
        .filter(outbox::Column::TicketEventId.is_in(events))
        .order_by_asc(outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            let message: common::TicketEventMessage = serde_json::from_str(&row.payload).unwrap();
            message.kind.as_str().to_owned()
        })
        .filter(|kind| TIMED.iter().any(|k| k.as_str() == kind))
        .collect()
}

/// Ticket `t`'s `scheduled_runs`: (kind, step, outcome), in insertion order.
pub async fn runs(app: &TestApp, t: &str) -> Vec<(String, String, String)> {
    scheduled_run::Entity::find()
        .filter(scheduled_run::Column::TicketId.eq(t.parse::<i64>().unwrap()))
        .order_by_asc(scheduled_run::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.kind, r.step, r.outcome))
        .collect()
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
