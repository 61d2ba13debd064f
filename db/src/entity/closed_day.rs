//! The office's closed days besides weekends (holidays, closures), which business-day
//! targets skip. An ADMIN edits them.

use sea_orm::entity::prelude::*;

/// A closed day.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "closed_days")]
pub struct Model {
    /// The day, in the office's time zone.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    /// What it is ("Winter closure").
    pub label: String,
    /// The ADMIN who added it.
    pub created_by: Option<i64>,
    /// When it was added.
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
