//! The scheduler's record of timed steps it handled: one row per (kind, ticket, step,
//! anchor), inserted with insert-or-skip in the same transaction as the step's history event,
//! so a step is announced once however many schedulers run.

use sea_orm::entity::prelude::*;

/// A handled step.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scheduled_runs")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The `TicketEventKind` name the step announces (`DEADLINE_REMINDER`, ...).
    pub kind: String,
    /// The ticket.
    pub ticket_id: i64,
    /// Which step of its kind: `7d` (a reminder seven days ahead), `passed`, `reminder`,
    /// `escalated`.
    pub step: String,
    /// What the steps are counted from: the response date for deadline steps, the moment
    /// the ticket entered its state for waiting steps. A moved date or a new wait starts
    /// fresh steps.
    pub anchor: DateTimeUtc,
    /// When the step was due.
    pub due_at: DateTimeUtc,
    /// When a scheduler handled it (its clock).
    pub ran_at: DateTimeUtc,
    /// `SENT` (its event was written) or `SKIPPED` (a later step was due too: catching up
    /// sends only the latest).
    pub outcome: String,
    /// Handled more than two ticks after it was due (the scheduler was down or behind).
    pub late: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The step's event was written.
pub const SENT: &str = "SENT";
/// A later step of the same item was due as well; only that one was sent.
pub const SKIPPED: &str = "SKIPPED";
