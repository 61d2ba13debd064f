//! One row per (ticket event, recipient): the email sent about the event, or why not.

use sea_orm::entity::prelude::*;

/// A notification row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The ticket event it is about; unique with `recipient_id`.
    pub event_id: i64,
    /// The ticket, when the event is about one.
    pub ticket_id: Option<i64>,
    /// Who it is for.
    pub recipient_id: i64,
    /// The subject line sent.
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    /// QUEUED, SENT, FAILED or SUPPRESSED (`common::model::NotificationStatus`).
    pub status: String,
    /// Calls made to the email provider.
    pub attempts: i32,
    /// Calls that failed (5xx, timeouts) since the email was last queued; 429s are not
    /// counted. At `SENDGRID_MAX_ATTEMPTS` the email is FAILED.
    pub failures: i32,
    /// The last failure, in words.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// The provider's message id of an accepted send.
    #[sea_orm(column_type = "Text", nullable)]
    pub provider_message_id: Option<String>,
    /// Created at.
    pub created_at: DateTimeUtc,
    /// Accepted by the provider at.
    pub sent_at: Option<DateTimeUtc>,
    /// A worker is sending (or waiting to retry) this notification until then; nobody else
    /// may send it before.
    pub claimed_until: Option<DateTimeUtc>,
    /// When an ADMIN queued this email again after it FAILED (`retryNotifications`); the
    /// email workers send such emails.
    pub retry_requested_at: Option<DateTimeUtc>,
    /// For a DIGEST row: the cadence of the digest it waits for (`DAILY`, `WEEKLY`).
    pub held_for: Option<String>,
    /// For a DIGEST row: the digest that listed it, once one did.
    pub digest_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
