//! The scheduler: timed work on tickets, safe with many replicas. Every `SCHEDULER_TICK` it
//! reads what is due (an offer's reminders before its response date and the notice that it
//! passed; a ticket waiting in a state past its target in business days, then escalated), and
//! handles each due item in one transaction of its own (`run`): the step's `scheduled_runs`
//! row is inserted or skipped on its unique key, and only the insert that happened writes the
//! history event and its outbox row, which the relay, notify-service, webhooks and live
//! updates then treat like any other change. So two replicas or a restart never send twice,
//! and a scheduler that was down catches up with the latest step of each item only.
//!
//! `Clock` (injectable time: `common::clock`, which the digests share), `config` (the
//! settings), `calendar` (business days in the office's time zone), `plan` (what is due, pure),
//! `items` (reading the watched items and the handled steps), `run` (one decision's
//! transaction), `system_user` (the events' actor).

pub mod calendar;
pub mod config;
pub mod items;
pub mod plan;
pub mod run;
pub mod system_user;

pub use common::clock::{self, Clock, ManualClock};
pub use config::Settings;

use plan::Decision;
use run::{Context, Outcome, RunError};
use sea_orm::DatabaseConnection;

/// What one tick found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Items with a step due and not yet handled when the tick began.
    pub due: usize,
    /// Steps this scheduler sent.
    pub sent: usize,
    /// Older steps it marked skipped while catching up.
    pub skipped: usize,
    /// Steps it sent more than two ticks after they were due.
    pub late: usize,
}

/// The decisions due at `now`: for every watched item, the latest step due and not yet
/// handled by any scheduler. The gateway's `/metrics` counts them as `scheduler_due`.
pub async fn due(
    db: &DatabaseConnection,
    settings: &Settings,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Decision>, sea_orm::DbErr> {
    let calendar = calendar::Calendar::load(db, settings.time_zone).await?;
    let mut watched = items::offers(db, settings, now).await?;
    watched.extend(items::waits(db, settings, now).await?);
    let handled = items::handled(db, &watched).await?;
    Ok(watched
        .iter()
        .filter_map(|item| plan::decide(item, item.steps(settings, &calendar), &handled, now))
        .collect())
}

/// One pass at the clock's now: handles every due item, each in its own transaction.
pub async fn tick(
    db: &DatabaseConnection,
    settings: &Settings,
    clock: &Clock,
) -> Result<Tick, RunError> {
    let now = clock.now();
    let decisions = due(db, settings, now).await?;
    let mut tick = Tick {
        due: decisions.len(),
        ..Tick::default()
    };
    if decisions.is_empty() {
        return Ok(tick);
    }
    // Made on first need, so an empty database stays empty (the demo seeds only those).
    let actor = system_user::id(db).await?;
    let late_after = chrono::Duration::from_std(settings.tick * 2)
        .unwrap_or_else(|_| chrono::Duration::minutes(2));
    for decision in &decisions {
        let waiting = match decision.item.waiting {
            plan::Waiting::Action(state) => settings.target(state),
            plan::Waiting::Answer => None,
        };
        let ctx = Context {
            actor,
            now,
            late_after,
            escalation_role: settings.escalation_role,
            target: waiting,
        };
        if run::handle(db, decision, &ctx).await? == Outcome::Sent {
            tick.sent += 1;
            tick.skipped += decision.skip.len();
            if now - decision.send.due > late_after {
                tick.late += 1;
            }
        }
    }
    if tick.sent > 0 {
        crate::relay::nudge();
    }
    Ok(tick)
}

/// Runs the scheduler in the background for as long as the process runs: a tick at once,
/// then one every `settings.tick`. A tick that fails is logged and the next one tries again.
pub fn start(
    db: DatabaseConnection,
    settings: Settings,
    clock: Clock,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(settings.tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match tick(&db, &settings, &clock).await {
                Ok(done) if done.sent > 0 => tracing::info!(
                    sent = done.sent,
                    skipped = done.skipped,
                    late = done.late,
                    "scheduler sent reminders"
                ),
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "scheduler tick failed"),
            }
        }
    })
}
