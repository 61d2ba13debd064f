//! The documented read model of the outbox and the scheduler for the gateway: how many ticket
//! events wait to be relayed to the stream, and what the scheduler has due and has done, for
//! its `/metrics`, without knowing ticket-service's tables.
//! ticket-service owns the `outbox` table (written in each change's transaction, emptied by
//! the relay); the gateway reads it only through here.

use db::entity::outbox;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

/// How many outbox rows the relay has not moved to the stream yet.
pub async fn outbox_backlog(db: &DatabaseConnection) -> Result<u64, DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::RelayedAt.is_null())
        .count(db)
        .await
}

/// What the scheduler has handled (`scheduled_runs`), for `/metrics`: the steps sent by
/// kind, those skipped while catching up, and those handled late. Kept in the database, so
/// every replica reports the same totals, and they only grow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerTotals {
    /// Steps whose event was written, by `TicketEventKind` name.
    pub sent: Vec<(String, u64)>,
    /// Older steps marked skipped when a later one of the same item was due too.
    pub skipped: u64,
    /// Steps sent more than two ticks after they were due.
    pub late: u64,
}

/// The scheduler's totals.
pub async fn scheduler_totals(db: &DatabaseConnection) -> Result<SchedulerTotals, DbErr> {
    use db::entity::scheduled_run;
    use sea_orm::QuerySelect;
    let counts: Vec<(String, String, i64)> = scheduled_run::Entity::find()
        .select_only()
        .column(scheduled_run::Column::Kind)
        .column(scheduled_run::Column::Outcome)
        .column_as(
            sea_orm::sea_query::Expr::col(scheduled_run::Column::Id).count(),
            "n",
        )
        .group_by(scheduled_run::Column::Kind)
        .group_by(scheduled_run::Column::Outcome)
        .into_tuple()
        .all(db)
        .await?;
    let mut totals = SchedulerTotals::default();
    for (kind, outcome, n) in counts {
        let n = u64::try_from(n).unwrap_or(0);
        if outcome == scheduled_run::SENT {
            totals.sent.push((kind, n));
        } else {
            totals.skipped += n;
        }
    }
    totals.late = scheduled_run::Entity::find()
        .filter(scheduled_run::Column::Late.eq(true))
        .filter(scheduled_run::Column::Outcome.eq(scheduled_run::SENT))
        .count(db)
        .await?;
    Ok(totals)
}

/// How many items have a step due now that no scheduler has handled: zero while the
/// schedulers keep up, growing while none runs.
pub async fn scheduler_due(
    db: &DatabaseConnection,
    settings: &crate::scheduler::Settings,
) -> Result<u64, DbErr> {
    let due = crate::scheduler::due(db, settings, crate::scheduler::Clock::System.now()).await?;
    Ok(u64::try_from(due.len()).unwrap_or(u64::MAX))
}
