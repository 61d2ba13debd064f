//! Funded admission offers. `state` and `residency` hold contract names.

use sea_orm::entity::prelude::*;

/// A ticket row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Human-friendly number from the `ticket_number` counter; unique, never reused.
    #[sea_orm(unique)]
    pub number: i64,
    /// Admission cycle, four digits.
    pub cycle: String,
    /// `DOMESTIC` or `INTERNATIONAL`.
    pub residency: String,
    /// A `TicketState` name.
    pub state: String,
    /// The faculty member the ticket is issued to.
    pub owner_id: i64,
    /// The applicant named by the current offer request, if any.
    pub applicant_id: Option<i64>,
    /// The budget director who created it.
    pub created_by: i64,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// When the current waiting state is due (an offer's response date), if anything is
    /// awaited with a date.
    pub due_at: Option<DateTimeUtc>,
    /// Bumped by every change; the compare-and-set guard of concurrent writers.
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The state as an enum value.
    pub fn state(&self) -> common::TicketState {
        self.state.parse().unwrap_or(common::TicketState::Initial)
    }

    /// The residency as an enum value.
    pub fn residency(&self) -> common::Residency {
        self.residency
            .parse()
            .unwrap_or(common::Residency::Domestic)
    }
}
