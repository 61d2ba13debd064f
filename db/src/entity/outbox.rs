//! The transactional outbox: a row per committed event, relayed to the event stream and then
//! marked relayed. Rows with `relayed_at` unset are what a restarted relay sends.

use sea_orm::entity::prelude::*;

/// The topic ticket changes are published on.
pub const TICKET_EVENTS: &str = "ticket-events";

/// An outbox row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Primary key; relay order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Where it goes (`ticket-events`).
    pub topic: String,
    /// The `ticket_events` row it announces.
    pub ticket_event_id: i64,
    /// A JSON `common::TicketEventMessage`.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Written at.
    pub created_at: DateTimeUtc,
    /// Set once the stream accepted it.
    pub relayed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
