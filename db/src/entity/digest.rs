//! Daily and weekly digests: one row per (user, cadence, due moment), inserted with
//! insert-or-skip in the transaction that takes the emails waiting for it (their
//! `notifications.digest_id`), so a digest is composed once however many workers run; then
//! sent like any email (QUEUED, SENT or FAILED, with the same retries).

use sea_orm::entity::prelude::*;

/// A digest.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "digests")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Who it is for.
    pub user_id: i64,
    /// `DAILY` or `WEEKLY`.
    pub cadence: String,
    /// The moment it was due: the user's digest hour, in their time zone.
    pub due_at: DateTimeUtc,
    /// The changes it lists (never 0: an empty digest is not written).
    pub changes: i32,
    /// Its subject line.
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    /// QUEUED, SENT or FAILED.
    pub status: String,
    /// Calls made to the email provider.
    pub attempts: i32,
    /// The last failure, in words.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// The provider's message id of an accepted send.
    #[sea_orm(column_type = "Text", nullable)]
    pub provider_message_id: Option<String>,
    /// Composed at.
    pub created_at: DateTimeUtc,
    /// Accepted by the provider at.
    pub sent_at: Option<DateTimeUtc>,
    /// A worker is sending it (or waits to retry) until then; nobody else sends it before.
    pub claimed_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Composed, not yet accepted by the provider.
pub const QUEUED: &str = "QUEUED";
/// Accepted by the provider.
pub const SENT: &str = "SENT";
/// Given up on; `last_error` says why.
pub const FAILED: &str = "FAILED";
