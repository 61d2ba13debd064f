//! Each user's notification preferences; a user without a row has the defaults (state changes
//! and reminders at once on both channels, notes not at all). `email` and `notes` are the
//! first switches, kept in step with the cadences (see `notify_service::preferences`).

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
    /// When state changes reach the user by email: `IMMEDIATE`, `DAILY`, `WEEKLY` or `OFF`
    /// (`Cadence`); the five columns below likewise, per kind of event and channel.
    pub state_email: String,
    /// State changes in the in-app inbox.
    pub state_in_app: String,
    /// New notes by email.
    pub notes_email: String,
    /// New notes in the inbox.
    pub notes_in_app: String,
    /// The scheduler's reminders and escalations by email.
    pub reminders_email: String,
    /// The scheduler's reminders and escalations in the inbox.
    pub reminders_in_app: String,
    /// The user's time zone (an IANA name); null: the office's (`OFFICE_TIME_ZONE`).
    pub time_zone: Option<String>,
    /// The local hour (0-23) digests go out at.
    pub digest_hour: i32,
    /// The day weekly digests go out on, 1 (Monday) to 7 (Sunday).
    pub digest_weekday: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// `email` when the user has no row.
pub const DEFAULT_EMAIL: bool = true;
/// `notes` when the user has no row.
pub const DEFAULT_NOTES: bool = false;
