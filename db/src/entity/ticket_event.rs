//! The audit trail: one row per change, written in the change's transaction.

use sea_orm::entity::prelude::*;

/// A history row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_events")]
pub struct Model {
    /// Primary key; increasing in commit order per ticket.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// A `TicketEventKind` name.
    pub kind: String,
    /// Who made the change.
    pub actor_id: i64,
    /// State before a move.
    pub from_state: Option<String>,
    /// State after a move.
    pub to_state: Option<String>,
    /// Free text the actor gave (a reason, a note excerpt, the applicant).
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
    /// When it happened.
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
