//! Writes a change's history rows and their outbox rows. Always called inside the change's
//! own transaction, so the change, its `TicketEvent` and its outbox row commit together.

use crate::error::{Result, ServiceError};
use common::{ApplicantRef, Principal, TicketEventKind, TicketEventMessage, TicketState};
use db::entity::{applicant, outbox, ticket, ticket_event, ticket_supervisor};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

/// One history entry to write.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// What happened.
    pub kind: TicketEventKind,
    /// State before a move.
    pub from: Option<TicketState>,
    /// State after a move.
    pub to: Option<TicketState>,
    /// A reason, a note excerpt, an applicant.
    pub detail: Option<String>,
}

impl NewEvent {
    /// An entry of `kind` with `detail`.
    pub fn new(kind: TicketEventKind, detail: Option<String>) -> Self {
        Self {
            kind,
            from: None,
            to: None,
            detail,
        }
    }

    /// A move from `from` to `to`.
    pub fn moved(from: TicketState, to: TicketState, detail: Option<String>) -> Self {
        Self {
            kind: TicketEventKind::StateChanged,
            from: Some(from),
            to: Some(to),
            detail,
        }
    }
}

/// The ids of a ticket's supervisors, read within `conn` (the change's transaction).
pub async fn supervisor_ids<C: ConnectionTrait>(conn: &C, ticket_id: i64) -> Result<Vec<i64>> {
    Ok(ticket_supervisor::Entity::find()
        .select_only()
        .column(ticket_supervisor::Column::UserId)
        .filter(ticket_supervisor::Column::TicketId.eq(ticket_id))
        .order_by_asc(ticket_supervisor::Column::UserId)
        .into_tuple::<i64>()
        .all(conn)
        .await?)
}

/// Writes `events` for `ticket` (as it is after the change) and an outbox row for each.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: i64,
    ticket: &ticket::Model,
    events: Vec<NewEvent>,
) -> Result<()> {
    record_about(conn, actor, ticket, ticket.applicant_id, events).await
}

/// As [`record`], naming `applicant_id` as the applicant the change concerns (a declined or
/// withdrawn request has cleared it from the ticket, but its emails still name it).
pub async fn record_about<C: ConnectionTrait>(
    conn: &C,
    actor: i64,
    ticket: &ticket::Model,
    applicant_id: Option<i64>,
    events: Vec<NewEvent>,
) -> Result<()> {
    let supervisors = supervisor_ids(conn, ticket.id).await?;
    let applicant = match applicant_id {
        Some(id) => applicant::Entity::find_by_id(id)
            .one(conn)
            .await?
            .map(|a| ApplicantRef {
                number: a.applicant_number,
                name: a.name,
            }),
        None => None,
    };
    let at = ticket.updated_at.max(db::now());
    for event in events {
        let row = ticket_event::ActiveModel {
            ticket_id: Set(ticket.id),
            kind: Set(event.kind.as_str().to_owned()),
            actor_id: Set(actor),
            from_state: Set(event.from.map(|s| s.as_str().to_owned())),
            to_state: Set(event.to.map(|s| s.as_str().to_owned())),
            detail: Set(event.detail.clone()),
            at: Set(at),
            ..Default::default()
        }
        .insert(conn)
        .await?;
        let message = TicketEventMessage {
            event_id: row.id,
            ticket_id: ticket.id,
            ticket_number: ticket.number,
            kind: event.kind,
            actor_id: actor,
            from_state: event.from,
            to_state: event.to,
            state: ticket.state(),
            owner_id: ticket.owner_id,
            supervisor_ids: supervisors.clone(),
            applicant: applicant.clone(),
            detail: event.detail,
            at,
        };
        let payload =
            serde_json::to_string(&message).map_err(|e| ServiceError::Internal(e.to_string()))?;
        outbox::ActiveModel {
            topic: Set(outbox::TICKET_EVENTS.to_owned()),
            ticket_event_id: Set(row.id),
            payload: Set(payload),
            created_at: Set(at),
            relayed_at: Set(None),
            ..Default::default()
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

/// The history entry `id` if `caller` may see its ticket.
pub async fn find_visible<C: ConnectionTrait>(
    conn: &C,
    caller: &Principal,
    id: i64,
) -> Result<Option<ticket_event::Model>> {
    let Some(event) = ticket_event::Entity::find_by_id(id).one(conn).await? else {
        return Ok(None);
    };
    Ok(
        crate::visibility::find_visible(conn, caller, event.ticket_id)
            .await?
            .map(|_| event),
    )
}

/// The first characters of a text, for history details.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 140;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}
