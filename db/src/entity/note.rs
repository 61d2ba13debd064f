//! Notes kept on a ticket.

use sea_orm::entity::prelude::*;

/// A note row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notes")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The ticket it is on.
    pub ticket_id: i64,
    /// Who wrote it; only they may edit or delete it.
    pub author_id: i64,
    /// The text, at most 10,000 characters.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Whether someone marked it resolved.
    pub resolved: bool,
    /// Who resolved it.
    pub resolved_by: Option<i64>,
    /// Written at.
    pub created_at: DateTimeUtc,
    /// Last edited at.
    pub edited_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
