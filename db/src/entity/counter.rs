//! Named counters. The ticket number sequence lives here rather than in a database sequence
//! so the same code runs on PostgreSQL and SQLite; the row lock taken by the increment
//! serialises concurrent creators.

use sea_orm::entity::prelude::*;

/// The name of the ticket number counter.
pub const TICKET_NUMBER: &str = "ticket_number";

/// A counter row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "counters")]
pub struct Model {
    /// The counter's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The last value handed out.
    pub value: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
