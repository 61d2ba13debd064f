//! From a batch of events to their deliveries: each event against every active webhook
//! (its filter, and whether its owner may see the ticket now, with their current roles; a
//! deactivated owner's hooks get nothing), one row per match, written in one statement that
//! adds nothing for a pair already written.

use super::Worker;
use crate::webhooks::{payload, store};
use common::{Principal, TicketEventKind, TicketEventMessage, TicketState, WebhookDeliveryStatus};
use db::entity::{user, user_support, webhook, webhook_delivery};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::OnConflict,
};
use std::collections::{BTreeSet, HashMap};

impl Worker {
    /// Writes the deliveries of the events in `entries` (unreadable entries are skipped).
    pub(super) async fn fan_out(&self, entries: &[common::stream::Entry]) -> Result<(), DbErr> {
        let db = &self.inner.db;
        let events: Vec<TicketEventMessage> = entries
            .iter()
            .filter_map(|entry| match serde_json::from_str(&entry.payload) {
                Ok(event) => Some(event),
                Err(err) => {
                    tracing::error!(id = %entry.id, %err, "unreadable ticket event skipped");
                    None
                }
            })
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let hooks = webhook::Entity::find()
            .filter(webhook::Column::Active.eq(true))
            .all(db)
            .await?;
        if hooks.is_empty() {
            return Ok(());
        }
        let owners = principals(db, hooks.iter().map(|h| h.owner_id)).await?;
        let names = names(db, events.iter().map(|e| e.actor_id)).await?;
        let now = db::now();
        let mut rows = Vec::new();
        for event in &events {
            let actor = names.get(&event.actor_id).map_or("", String::as_str);
            let body = payload::ticket_event(event, actor).to_string();
            for hook in hooks.iter().filter(|hook| matches(hook, event)) {
                let visible = owners
                    .get(&hook.owner_id)
                    .is_some_and(|p| p.can_see_ticket(event.owner_id, &event.supervisor_ids));
                if visible {
                    rows.push(row(hook.id, event, &body, now));
                }
            }
        }
        insert(db, rows).await
    }
}

/// A new delivery of `event` to hook `hook`.
fn row(
    hook: i64,
    event: &TicketEventMessage,
    body: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        webhook_id: Set(hook),
        event_id: Set(Some(event.event_id)),
        ticket_id: Set(Some(event.ticket_id)),
        event_type: Set(payload::event_type(event)),
        payload: Set(body.to_string()),
        status: Set(WebhookDeliveryStatus::Pending.as_str().into()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Whether `hook`'s filter takes `event`: made before the event, and its kinds, states and
/// ticket (each empty for all).
pub fn matches(hook: &webhook::Model, event: &TicketEventMessage) -> bool {
    let kinds: Vec<TicketEventKind> = store::split(&hook.events);
    let states: Vec<TicketState> = store::split(&hook.states);
    hook.created_at <= event.at
        && (kinds.is_empty() || kinds.contains(&event.kind))
        && (states.is_empty() || states.contains(&event.state))
        && hook.ticket_id.is_none_or(|t| t == event.ticket_id)
}

/// The active users among `ids` as principals, with their current roles and the faculty
/// they support.
pub(super) async fn principals(
    db: &DatabaseConnection,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, Principal>, DbErr> {
    let ids: BTreeSet<i64> = ids.collect();
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await?;
    let mut supports: HashMap<i64, Vec<i64>> = HashMap::new();
    for link in user_support::Entity::find()
        .filter(user_support::Column::FssId.is_in(ids))
        .all(db)
        .await?
    {
        supports
            .entry(link.fss_id)
            .or_default()
            .push(link.faculty_id);
    }
    Ok(users
        .into_iter()
        .map(|u| {
            let principal = Principal::user(
                u.id,
                u.role_list(),
                supports.remove(&u.id).unwrap_or_default(),
            );
            (u.id, principal)
        })
        .collect())
}

/// The names of `ids`, active or not (an actor who has left is still named).
async fn names(
    db: &DatabaseConnection,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    let ids: BTreeSet<i64> = ids.collect();
    let rows: Vec<(i64, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

async fn insert(
    db: &DatabaseConnection,
    rows: Vec<webhook_delivery::ActiveModel>,
) -> Result<(), DbErr> {
    for chunk in rows.chunks(500) {
        webhook_delivery::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    webhook_delivery::Column::EventId,
                    webhook_delivery::Column::WebhookId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .do_nothing()
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
