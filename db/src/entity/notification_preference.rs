//! Each user's email preferences; a user without a row has the defaults (email on, notes off).

use sea_orm::entity::prelude::*;

/// A preferences row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_preferences")]
pub struct Model {
    /// The user (primary key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    /// Email on every state change of tickets the user is involved in.
    pub email: bool,
    /// Also email when a note is added to such a ticket.
    pub notes: bool,
    /// Last changed at.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// `email` when the user has no row.
pub const DEFAULT_EMAIL: bool = true;
/// `notes` when the user has no row.
pub const DEFAULT_NOTES: bool = false;
