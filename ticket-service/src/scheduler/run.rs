//! Handling one decision: in one transaction, the step's `scheduled_runs` row is inserted
//! with insert-or-skip (older steps as SKIPPED), and only when this insert is the one that
//! happened, the history event and its outbox row are written through `events`. Another
//! scheduler inserting the same step waits for this transaction and skips, so the event is
//! written once however many replicas tick.

use super::plan::{Decision, Item, Step, Waiting};
use crate::events::{self, NewEvent};
use chrono::{DateTime, SecondsFormat, Utc};
use common::{Role, TicketEventKind, TicketState};
use db::entity::{scheduled_run, ticket};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Set, TransactionTrait,
    TryInsertResult, sea_query::OnConflict,
};

/// How the scheduler stopped short.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The database did not answer.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The event could not be written.
    #[error("event: {0}")]
    Event(String),
}

/// What handling a decision came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This scheduler wrote the step and its event.
    Sent,
    /// Another scheduler had written it, or the ticket moved on meanwhile.
    Nothing,
}

/// What one decision needs besides itself.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The system user, the events' actor.
    pub actor: i64,
    /// The scheduler's now.
    pub now: DateTime<Utc>,
    /// A step handled later than this after it was due counts as late.
    pub late_after: chrono::Duration,
    /// Who an escalation goes to.
    pub escalation_role: Role,
    /// The target of each waiting state, in business days (for the event's words).
    pub target: Option<u32>,
}

/// Handles `decision` in one transaction.
pub async fn handle(
    db: &DatabaseConnection,
    decision: &Decision,
    ctx: &Context,
) -> Result<Outcome, RunError> {
    let txn = db.begin().await?;
    for step in &decision.skip {
        insert(&txn, &decision.item, step, scheduled_run::SKIPPED, ctx).await?;
    }
    if !insert(
        &txn,
        &decision.item,
        &decision.send,
        scheduled_run::SENT,
        ctx,
    )
    .await?
    {
        return Ok(Outcome::Nothing);
    }
    let Some(ticket) = ticket::Entity::find_by_id(decision.item.ticket_id)
        .one(&txn)
        .await?
        .filter(|t| still_waiting(t, &decision.item))
    else {
        // Answered or moved on since the scan: the transaction rolls back, nothing is sent.
        return Ok(Outcome::Nothing);
    };
    let event = NewEvent::new(decision.send.kind, Some(detail(decision, ctx)));
    events::record(&txn, ctx.actor, &ticket, vec![event])
        .await
        .map_err(|e| RunError::Event(format!("{e:?}")))?;
    txn.commit().await?;
    Ok(Outcome::Sent)
}

/// Inserts the step's row unless one exists; says whether this insert happened.
async fn insert<C: ConnectionTrait>(
    conn: &C,
    item: &Item,
    step: &Step,
    outcome: &str,
    ctx: &Context,
) -> Result<bool, DbErr> {
    let row = scheduled_run::ActiveModel {
        kind: Set(step.kind.as_str().to_owned()),
        ticket_id: Set(item.ticket_id),
        step: Set(step.name.clone()),
        anchor: Set(item.anchor),
        due_at: Set(step.due),
        ran_at: Set(ctx.now),
        outcome: Set(outcome.to_owned()),
        late: Set(ctx.now - step.due > ctx.late_after),
        ..Default::default()
    };
    let done = scheduled_run::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                scheduled_run::Column::Kind,
                scheduled_run::Column::TicketId,
                scheduled_run::Column::Step,
                scheduled_run::Column::Anchor,
            ])
            .do_nothing()
            .to_owned(),
        )
        .do_nothing()
        .exec_without_returning(conn)
        .await?;
    Ok(matches!(done, TryInsertResult::Inserted(n) if n > 0))
}

/// Whether the ticket still waits as the plan saw it.
fn still_waiting(ticket: &ticket::Model, item: &Item) -> bool {
    match item.waiting {
        Waiting::Answer => {
            ticket.state() == TicketState::OfferPending && ticket.due_at == Some(item.anchor)
        }
        Waiting::Action(state) => ticket.state() == state,
    }
}

/// The event's detail: the response date for deadline steps (as DEADLINE_CHANGED gives it);
/// for waiting steps, since when and the target, an escalation led by the role it goes to
/// (`BUDGET_DIRECTOR: ...`, which notify-service reads to address it).
fn detail(decision: &Decision, ctx: &Context) -> String {
    let anchor = decision
        .item
        .anchor
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let waited = |state: TicketState| {
        let target = ctx
            .target
            .map(|days| format!("; the target is {days} business days"))
            .unwrap_or_default();
        format!("waiting in {state} since {anchor}{target}")
    };
    match (decision.send.kind, decision.item.waiting) {
        (TicketEventKind::WaitingEscalated, Waiting::Action(state)) => {
            format!("{}: {}", ctx.escalation_role.as_str(), waited(state))
        }
        (_, Waiting::Action(state)) => {
            let mut text = waited(state);
            text[..1].make_ascii_uppercase();
            text
        }
        (_, Waiting::Answer) => anchor,
    }
}
