//! One row per (ticket event, webhook): the request sent (its body, kept so a redelivery
//! sends the same), where the delivery stands and the receiver's last answer.

use sea_orm::entity::prelude::*;

/// A delivery row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The webhook it goes to.
    pub webhook_id: i64,
    /// The ticket event it announces (unique with `webhook_id`); null for a test event.
    pub event_id: Option<i64>,
    /// The ticket the event is about.
    pub ticket_id: Option<i64>,
    /// The body's `type`, e.g. `ticket.state_changed`.
    #[sea_orm(column_type = "Text")]
    pub event_type: String,
    /// The JSON body, exactly as sent.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// PENDING, RETRYING, DELIVERED or FAILED.
    pub status: String,
    /// Requests made.
    pub attempts: i32,
    /// The HTTP status of the last answer.
    pub response_code: Option<i32>,
    /// How long the last request took, in milliseconds.
    pub latency_ms: Option<i32>,
    /// The last failure, in words.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// The start of the last answer's body.
    #[sea_orm(column_type = "Text", nullable)]
    pub response_excerpt: Option<String>,
    /// When it is (next) due; null once DELIVERED or FAILED.
    pub next_attempt_at: Option<DateTimeUtc>,
    /// A worker is sending it until then; nobody else may before.
    pub claimed_until: Option<DateTimeUtc>,
    /// Created at.
    pub created_at: DateTimeUtc,
    /// Answered with a 2xx at.
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
