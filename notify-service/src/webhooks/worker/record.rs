//! Recording attempts: each delivery's new status and the receiver's answer, written only
//! if this worker still holds the attempt it made; and what it means for the hook (a
//! success ends its failure streak, 410 Gone disables it, and so does failing for
//! `WEBHOOK_DISABLE_AFTER_MS`). One task records what the requests report, as many at a
//! time as have come, in one transaction: a commit per batch, not per request, and the
//! successes (nearly all of them) in one statement per hundred.

use super::{
    PAUSE, Worker,
    send::{Attempt, Outcome, Time},
};
use crate::email::Email;
use common::WebhookDeliveryStatus as Status;
use db::entity::{user, webhook, webhook_delivery as delivery};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
    sea_query::{CaseStatement, Expr, Query, SimpleExpr},
};
use std::collections::HashSet;
use tokio::sync::mpsc;

/// The longest error kept.
const MAX_ERROR: usize = 500;

/// The most attempts recorded in one transaction.
const RECORD_BATCH: usize = 200;

/// The most successes written by one statement.
const WRITE_BATCH: usize = 100;

impl Worker {
    /// Hands `attempt` to the recorder.
    pub(super) fn recorded(&self, attempt: Attempt) {
        if self.inner.records.send(attempt).is_err() {
            // The recorder stopped with the worker; the lease lapses and the row is sent
            // again by whoever runs next.
            tracing::warn!("webhook recorder has stopped; an attempt goes unrecorded");
        }
    }

    /// Records attempts as they come, each batch in one transaction, until the worker stops.
    pub(super) async fn record_forever(self, mut attempts: mpsc::UnboundedReceiver<Attempt>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while attempts.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            loop {
                match self.record(&batch).await {
                    Ok(()) => break,
                    Err(err) => {
                        tracing::warn!(%err, "webhook worker cannot record its deliveries yet");
                        tokio::time::sleep(PAUSE).await;
                    }
                }
            }
            for attempt in batch.drain(..) {
                self.count_in_flight(attempt.hook.id, false);
            }
            // Their permits are back, and what waited behind them (a ticket's next event)
            // may go now.
            self.inner.wake.notify_one();
        }
    }

    /// Writes `attempts` and what they mean for their hooks, in one transaction.
    async fn record(&self, attempts: &[Attempt]) -> Result<(), DbErr> {
        // The deliveries and what they mean for the hooks commit together: nobody sees a 410
        // recorded on an enabled hook.
        let txn = self.inner.db.begin().await?;
        let now = db::now();
        // Successes, nearly all of them, in one statement a chunk; the rest one by one.
        let (delivered, others): (Vec<&Attempt>, Vec<&Attempt>) = attempts
            .iter()
            .partition(|a| a.outcome.status == Status::Delivered && a.outcome.next.is_none());
        let mut written = HashSet::new();
        for chunk in delivered.chunks(WRITE_BATCH) {
            written.extend(write_delivered(&txn, chunk, now).await?);
        }
        for attempt in others {
            if write(&txn, attempt, now).await? {
                written.insert((attempt.delivery, attempt.attempt));
            }
        }
        let mut disabled = Vec::new();
        for attempt in attempts {
            if !written.contains(&(attempt.delivery, attempt.attempt)) {
                // Another worker took the row over (this one's lease lapsed): its record wins.
                continue;
            }
            if let Some(reason) = self
                .judge_hook(&txn, &attempt.hook, &attempt.outcome, now)
                .await?
            {
                disabled.push((attempt.hook.clone(), reason));
            }
        }
        txn.commit().await?;
        if let Some(mailer) = self.inner.mailer.clone() {
            for (hook, reason) in disabled {
                let (db, mailer) = (self.inner.db.clone(), mailer.clone());
                tokio::spawn(async move { tell_owner(&db, &mailer, &hook, &reason, now).await });
            }
        }
        Ok(())
    }

    /// What the attempt means for the hook; the reason it was disabled, if it was.
    async fn judge_hook(
        &self,
        db: &DatabaseTransaction,
        hook: &webhook::Model,
        outcome: &Outcome,
        now: Time,
    ) -> Result<Option<String>, DbErr> {
        let hooks = webhook::Entity::update_many().filter(webhook::Column::Id.eq(hook.id));
        if outcome.status == Status::Delivered {
            if hook.failing_since.is_some() {
                hooks
                    .col_expr(
                        webhook::Column::FailingSince,
                        Expr::value(Option::<Time>::None),
                    )
                    .exec(db)
                    .await?;
            }
            return Ok(None);
        }
        if outcome.code == Some(410) {
            let reason = format!(
                "the receiver answered 410 Gone on {}",
                now.format("%Y-%m-%d %H:%M UTC")
            );
            return disable(db, hook, reason, now).await;
        }
        if outcome.latency.is_none() {
            // Not sent (refused, or not the owner's to see): says nothing of the receiver.
            return Ok(None);
        }
        let Some(since) = hook.failing_since else {
            hooks
                .col_expr(webhook::Column::FailingSince, Expr::value(Some(now)))
                .filter(webhook::Column::FailingSince.is_null())
                .exec(db)
                .await?;
            return Ok(None);
        };
        let limit =
            chrono::Duration::from_std(self.inner.settings.disable_after).unwrap_or_default();
        if now - since >= limit {
            let reason = format!(
                "every delivery failed since {}; last: {}",
                since.format("%Y-%m-%d %H:%M UTC"),
                outcome.error.as_deref().unwrap_or("no answer")
            );
            return disable(db, hook, reason, now).await;
        }
        Ok(None)
    }
}

/// The milliseconds an attempt took, as the column holds them.
fn latency_ms(outcome: &Outcome) -> Option<i32> {
    outcome
        .latency
        .map(|l| i32::try_from(l.as_millis()).unwrap_or(i32::MAX))
}

/// Writes `attempts`, all DELIVERED, in one statement (each row's code, latency and excerpt
/// picked by a `CASE` on its id), each only if its row is still at that attempt; the
/// (delivery, attempt) pairs written.
async fn write_delivered(
    txn: &DatabaseTransaction,
    attempts: &[&Attempt],
    now: Time,
) -> Result<Vec<(i64, i32)>, DbErr> {
    let by_id = |value: &dyn Fn(&Attempt) -> SimpleExpr| -> SimpleExpr {
        attempts
            .iter()
            .fold(CaseStatement::new(), |case, a| {
                case.case(delivery::Column::Id.eq(a.delivery), value(a))
            })
            .into()
    };
    let held = attempts.iter().fold(Condition::any(), |any, a| {
        any.add(
            Condition::all()
                .add(delivery::Column::Id.eq(a.delivery))
                .add(delivery::Column::Attempts.eq(a.attempt)),
        )
    });
    let none = Option::<Time>::None;
    let mut update = Query::update();
    update
        .table(delivery::Entity)
        .value(delivery::Column::Status, Status::Delivered.as_str())
        .value(
            delivery::Column::ResponseCode,
            by_id(&|a| Expr::value(a.outcome.code)),
        )
        .value(
            delivery::Column::LatencyMs,
            by_id(&|a| Expr::value(latency_ms(&a.outcome))),
        )
        .value(
            delivery::Column::ResponseExcerpt,
            by_id(&|a| Expr::value(a.outcome.excerpt.clone())),
        )
        .value(delivery::Column::LastError, Option::<String>::None)
        .value(delivery::Column::NextAttemptAt, none)
        .value(delivery::Column::ClaimedUntil, none)
        .value(delivery::Column::DeliveredAt, Some(now))
        .cond_where(held)
        .returning(Query::returning().columns([delivery::Column::Id, delivery::Column::Attempts]));
    let statement = txn.get_database_backend().build(&update);
    txn.query_all(statement)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "attempts")?)))
        .collect()
}

/// Writes `attempt`'s outcome on its delivery, if the row is still at that attempt.
async fn write(txn: &DatabaseTransaction, attempt: &Attempt, now: Time) -> Result<bool, DbErr> {
    let outcome = &attempt.outcome;
    let none = Option::<Time>::None;
    let latency = latency_ms(outcome);
    let error = outcome
        .error
        .as_ref()
        .map(|e| e.chars().take(MAX_ERROR).collect::<String>());
    let delivered = (outcome.status == Status::Delivered).then_some(now);
    let written = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(outcome.status.as_str()),
        )
        .col_expr(delivery::Column::ResponseCode, Expr::value(outcome.code))
        .col_expr(delivery::Column::LatencyMs, Expr::value(latency))
        .col_expr(
            delivery::Column::ResponseExcerpt,
            Expr::value(outcome.excerpt.clone()),
        )
        .col_expr(delivery::Column::LastError, Expr::value(error))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(outcome.next))
        .col_expr(delivery::Column::ClaimedUntil, Expr::value(none))
        .col_expr(delivery::Column::DeliveredAt, Expr::value(delivered))
        .filter(delivery::Column::Id.eq(attempt.delivery))
        .filter(delivery::Column::Attempts.eq(attempt.attempt))
        .exec(txn)
        .await?;
    Ok(written.rows_affected == 1)
}

/// Disables `hook` for `reason` (its waiting deliveries wait until it is enabled again);
/// the reason, if this call disabled it.
async fn disable(
    db: &DatabaseTransaction,
    hook: &webhook::Model,
    reason: String,
    now: Time,
) -> Result<Option<String>, DbErr> {
    let changed = webhook::Entity::update_many()
        .col_expr(webhook::Column::Active, Expr::value(false))
        .col_expr(
            webhook::Column::DisabledReason,
            Expr::value(Some(reason.clone())),
        )
        .col_expr(webhook::Column::UpdatedAt, Expr::value(now))
        .filter(webhook::Column::Id.eq(hook.id))
        .filter(webhook::Column::Active.eq(true))
        .exec(db)
        .await?;
    if changed.rows_affected == 0 {
        return Ok(None);
    }
    tracing::warn!(webhook = hook.id, url = %hook.url, %reason, "webhook disabled");
    Ok(Some(reason))
}

/// Emails `hook`'s owner that it was disabled, once (the outbox file is named after the
/// hook and the moment); a failure is logged, the hook stays disabled either way.
async fn tell_owner(
    db: &sea_orm::DatabaseConnection,
    mailer: &crate::mailer::Mailer,
    hook: &webhook::Model,
    reason: &str,
    now: Time,
) {
    let owner = match user::Entity::find_by_id(hook.owner_id).one(db).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(%err, webhook = hook.id, "cannot read a disabled webhook's owner");
            return;
        }
    };
    let text = format!(
        "Hello {},\n\nTessera stopped sending ticket events to your webhook {} ({}): {}.\n\nDeliveries since then wait for it. Fix the receiver, then enable the webhook again on your Webhooks page (or with updateWebhook); what waited goes out then.\n",
        owner.name, hook.url, hook.description, reason
    );
    let email = Email {
        to_email: owner.email,
        to_name: owner.name,
        subject: format!("Your webhook to {} was disabled", hook.url),
        html: format!("<pre>{}</pre>", html_escape(&text)),
        text,
    };
    let name = format!("webhook-{}-disabled-{}", hook.id, now.timestamp());
    if let Err(err) = mailer.send_notice(&name, &email).await {
        tracing::warn!(
            ?err,
            webhook = hook.id,
            "cannot email a disabled webhook's owner"
        );
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
