//! The worker's writes to a row: taking it for one call (the claim) and recording a call's
//! outcome. Writer tasks commit the writes that are waiting together, in one transaction: one
//! commit for many rows, whatever the number of calls in flight.

use super::{PAUSE, Worker};
use common::NotificationStatus;
use db::entity::notification;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, TransactionTrait,
    UpdateMany, sea_query::Expr,
};
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, oneshot};

/// A row's outcome to record.
pub(super) enum Outcome {
    Sent(String),
    Failed(String),
    RetryAt {
        error: String,
        until: chrono::DateTime<chrono::Utc>,
        /// A failure (5xx, timeout) rather than a 429: counted in `failures`.
        failed: bool,
    },
}

/// A write of the worker's.
pub(super) enum Write {
    /// Take a row for one call (see [`Worker::claim`]); answers whether it was taken.
    Claim {
        id: i64,
        attempts: i32,
        max: i32,
        length: Duration,
    },
    /// Record a call's outcome.
    Record { id: i64, outcome: Outcome },
}

/// Writes waiting together at most.
pub(super) const WRITE_BATCH: usize = 256;

/// Writer tasks: each commits a batch while another gathers the next (on PostgreSQL every
/// statement is a round trip; SQLite's one connection makes them take turns).
pub(super) const WRITERS: usize = 4;

/// Where writes wait for a writer, each with where to answer whether it committed.
pub(super) type Writes = mpsc::Sender<(Write, oneshot::Sender<bool>)>;

/// The writers' end of `Writes`.
pub(super) type WriteQueue = mpsc::Receiver<(Write, oneshot::Sender<bool>)>;

type Time = chrono::DateTime<chrono::Utc>;

impl Worker {
    /// Hands a write to the writer task and waits until it committed.
    pub(super) async fn write(&self, op: Write) -> bool {
        let (reply, done) = oneshot::channel();
        if self.inner.writes.send((op, reply)).await.is_err() {
            return false;
        }
        done.await.unwrap_or(false)
    }
}

/// Commits the writes as they come, those waiting together in one transaction, trying again
/// while the database is away; answers each once it committed.
pub(super) async fn write_loop(
    db: DatabaseConnection,
    writes: Arc<tokio::sync::Mutex<WriteQueue>>,
) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    loop {
        {
            // One writer gathers what is waiting; the others commit theirs meanwhile.
            let mut queue = writes.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            batch.push(first);
            while batch.len() < WRITE_BATCH {
                match queue.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
        }
        let answers = loop {
            match apply(&db, batch.iter().map(|(op, _)| op)).await {
                Ok(answers) => break answers,
                Err(err) => {
                    tracing::warn!(%err, "email worker cannot write to the database yet");
                    tokio::time::sleep(PAUSE).await;
                }
            }
        };
        for ((_, reply), answer) in batch.drain(..).zip(answers) {
            let _ = reply.send(answer);
        }
    }
}

/// Runs `ops` in one transaction; for each, whether it took effect (a claim may not).
async fn apply<'a>(
    db: &DatabaseConnection,
    ops: impl Iterator<Item = &'a Write>,
) -> Result<Vec<bool>, DbErr> {
    let txn = db.begin().await?;
    let now = db::now();
    let mut answers = Vec::new();
    for op in ops {
        // Every write is to a row still QUEUED: a final row is never changed again.
        let update = notification::Entity::update_many()
            .filter(notification::Column::Status.eq(NotificationStatus::Queued.as_str()));
        let update = match op {
            Write::Claim {
                id,
                attempts,
                max,
                length,
            } => claim(update, *id, *attempts, *max, *length, now),
            Write::Record { id, outcome } => record(
                update.filter(notification::Column::Id.eq(*id)),
                outcome,
                now,
            ),
        };
        let result = update.exec(&txn).await?;
        answers.push(match op {
            Write::Claim { .. } => result.rows_affected == 1,
            Write::Record { .. } => true,
        });
    }
    txn.commit().await?;
    Ok(answers)
}

/// Counts a call and holds the row for `length`, when nobody called since `attempts`, fewer
/// than `max` calls failed, and no other worker holds it.
fn claim(
    update: UpdateMany<notification::Entity>,
    id: i64,
    attempts: i32,
    max: i32,
    length: Duration,
    now: Time,
) -> UpdateMany<notification::Entity> {
    let until = now + chrono::Duration::from_std(length).unwrap_or_default();
    update
        .col_expr(
            notification::Column::Attempts,
            Expr::col(notification::Column::Attempts).add(1),
        )
        .col_expr(notification::Column::ClaimedUntil, Expr::value(until))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::Attempts.eq(attempts))
        .filter(notification::Column::Failures.lt(max))
        .filter(
            Condition::any()
                .add(notification::Column::ClaimedUntil.is_null())
                .add(notification::Column::ClaimedUntil.lt(now)),
        )
}

/// Sets what `outcome` says of the row: SENT or FAILED let go of it, a retry holds it until
/// the retry is due.
fn record(
    update: UpdateMany<notification::Entity>,
    outcome: &Outcome,
    now: Time,
) -> UpdateMany<notification::Entity> {
    let none = Option::<Time>::None;
    match outcome {
        Outcome::Sent(message_id) => update
            .col_expr(
                notification::Column::Status,
                Expr::value(NotificationStatus::Sent.as_str()),
            )
            .col_expr(
                notification::Column::ProviderMessageId,
                Expr::value((!message_id.is_empty()).then(|| message_id.clone())),
            )
            .col_expr(notification::Column::SentAt, Expr::value(Some(now)))
            .col_expr(notification::Column::ClaimedUntil, Expr::value(none)),
        Outcome::Failed(error) => update
            .col_expr(
                notification::Column::Status,
                Expr::value(NotificationStatus::Failed.as_str()),
            )
            .col_expr(notification::Column::LastError, Expr::value(error.clone()))
            .col_expr(notification::Column::ClaimedUntil, Expr::value(none)),
        Outcome::RetryAt {
            error,
            until,
            failed,
        } => update
            .col_expr(notification::Column::LastError, Expr::value(error.clone()))
            .col_expr(
                notification::Column::Failures,
                Expr::col(notification::Column::Failures).add(i32::from(*failed)),
            )
            .col_expr(
                notification::Column::ClaimedUntil,
                Expr::value(Some(*until)),
            ),
    }
}
