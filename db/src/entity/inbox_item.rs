//! One row per (user, ticket event): what the user's in-app inbox shows about the event, and
//! whether they read it. Written beside the event's `notifications` rows, so everything that
//! would be emailed lands here too (even for a recipient who turned email off).

use sea_orm::entity::prelude::*;

/// An inbox item.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbox_items")]
pub struct Model {
    /// Primary key; also the "newest first" order within a user's inbox.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Whose inbox it is in.
    pub user_id: i64,
    /// The ticket event it is about; unique with `user_id` (a redelivered event adds nothing).
    pub event_id: i64,
    /// The ticket the event is about.
    pub ticket_id: i64,
    /// What happened: the event's kind (`common::model::TicketEventKind`).
    pub kind: String,
    /// One line naming the ticket and what happened (the email's subject).
    #[sea_orm(column_type = "Text")]
    pub title: String,
    /// A sentence saying who did what (the email's opening).
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    /// Written at.
    pub created_at: DateTimeUtc,
    /// When the user marked it read; null while unread.
    pub read_at: Option<DateTimeUtc>,
    /// While the item waits for the user's in-app digest: its cadence (`DAILY`, `WEEKLY`);
    /// hidden from the inbox until the digest releases it (sets this back to null).
    pub held_for: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
