//! Endpoints a user registered to receive ticket events: where, which events, and the
//! secrets requests are signed with.

use sea_orm::entity::prelude::*;

/// A webhook row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The user who made it; it receives only what they may see.
    pub owner_id: i64,
    /// Where events are POSTed.
    #[sea_orm(column_type = "Text")]
    pub url: String,
    /// Free text for people.
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// The event kinds it wants, comma-separated contract names; empty for every kind.
    #[sea_orm(column_type = "Text")]
    pub events: String,
    /// The ticket states (after the change) it wants, comma-separated; empty for every state.
    #[sea_orm(column_type = "Text")]
    pub states: String,
    /// Only this ticket's events, when set.
    pub ticket_id: Option<i64>,
    /// The signing secret, `whsec_<base64>`.
    #[sea_orm(column_type = "Text")]
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    #[sea_orm(column_type = "Text", nullable)]
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing.
    pub previous_secret_until: Option<DateTimeUtc>,
    /// Whether events are delivered.
    pub active: bool,
    /// Why it was disabled (by its owner, a 410 Gone, failing too long).
    #[sea_orm(column_type = "Text", nullable)]
    pub disabled_reason: Option<String>,
    /// Since when every attempt failed (cleared by a success).
    pub failing_since: Option<DateTimeUtc>,
    /// Created at.
    pub created_at: DateTimeUtc,
    /// Last changed at.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
