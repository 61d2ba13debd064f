//! The message ticket-service writes to the outbox in the same transaction as a change, and
//! that the relay moves to the event stream for live updates and email.

use crate::model::{TicketEventKind, TicketState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One committed change to a ticket, with enough of the ticket to route it (who may see it,
/// who is emailed) without reading the database again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketEventMessage {
    /// The `ticket_events` row this message announces.
    pub event_id: i64,
    /// The ticket that changed.
    pub ticket_id: i64,
    /// The ticket's human-friendly number, for subjects and links.
    pub ticket_number: i64,
    /// What happened.
    pub kind: TicketEventKind,
    /// Who did it.
    pub actor_id: i64,
    /// The state before a move; `None` for CREATED and for changes that are not moves.
    pub from_state: Option<TicketState>,
    /// The state after a move; `None` for changes that are not moves.
    pub to_state: Option<TicketState>,
    /// The ticket's state once the change committed.
    pub state: TicketState,
    /// The ticket's owner once the change committed.
    pub owner_id: i64,
    /// The ticket's supervisors once the change committed.
    pub supervisor_ids: Vec<i64>,
    /// The applicant the change concerns: the one named on the ticket, or for a declined or
    /// withdrawn request the one it named. Absent in messages written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<ApplicantRef>,
    /// Free text the actor gave (a reason, a note excerpt).
    pub detail: Option<String>,
    /// When the change committed.
    pub at: DateTime<Utc>,
}

/// An applicant as emails and notices name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicantRef {
    /// The admissions system's number.
    pub number: String,
    /// Full name.
    pub name: String,
}
