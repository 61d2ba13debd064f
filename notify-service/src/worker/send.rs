//! Sending one row's email until it is SENT or FAILED: a call slot, then the row's claim, the
//! provider's call, and its outcome recorded; a retry waits what the provider asked or an
//! exponential backoff with jitter, holding the row meanwhile.

use super::{PAUSE, Worker, write::Outcome, write::Write};
use crate::{config::MailSettings, email::Email, mailer::SendError};
use common::NotificationStatus;
use db::entity::notification;
use sea_orm::EntityTrait;
use std::time::Duration;
use tokio::{sync::OwnedSemaphorePermit, task::JoinSet};

/// Added to the call timeout for a row's claim: the time to record the outcome.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// The longest wait a provider's 429 is honoured for.
const MAX_PROVIDER_WAIT: Duration = Duration::from_secs(15 * 60);

/// One email to send: the row and what to send.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    id: i64,
    event_id: i64,
    attempts: i32,
    failures: i32,
    email: Email,
}

impl Outgoing {
    /// `email`, to be sent for `row` as it was read.
    pub(super) fn new(row: &notification::Model, email: Email) -> Self {
        Self {
            id: row.id,
            event_id: row.event_id,
            attempts: row.attempts,
            failures: row.failures,
            email,
        }
    }

    /// The row's id.
    pub(super) fn id(&self) -> i64 {
        self.id
    }
}

/// One event's sends; the event is acknowledged when they are all recorded.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) entry_id: String,
    pub(super) sends: Vec<Outgoing>,
}

impl Worker {
    /// Sends a job's emails (at most `NOTIFY_CONCURRENCY` calls at once across jobs), then
    /// acknowledges its event.
    pub(super) async fn finish(self, job: Job, _permit: OwnedSemaphorePermit) {
        let mut sends = JoinSet::new();
        for send in job.sends {
            let worker = self.clone();
            sends.spawn(async move { worker.deliver(send).await });
        }
        while sends.join_next().await.is_some() {}
        self.ack(&[job.entry_id]).await;
    }

    /// Sends one row's email until it is SENT or FAILED (or another worker finished it).
    pub(super) async fn deliver(&self, send: Outgoing) {
        let max = i32::try_from(self.inner.settings.max_attempts).unwrap_or(i32::MAX);
        let mut attempts = send.attempts;
        // Exact while we hold the row: only calls change it, and every call moves `attempts`,
        // which the claim compares.
        let mut failures = send.failures;
        loop {
            // The call slot first, then the claim: a row is claimed only while its call is
            // made, so at most `NOTIFY_CONCURRENCY` are in doubt if the process dies.
            let Ok(slot) = self.inner.sends.acquire().await else {
                return;
            };
            if !self.claim(send.id, attempts, max).await {
                drop(slot);
                match self.after_lost_claim(send.id, max).await {
                    Some(seen) => {
                        (attempts, failures) = seen;
                        continue;
                    }
                    None => return,
                }
            }
            attempts += 1;
            // The slot is kept until the outcome is written: the row is in doubt till then.
            let result = self
                .inner
                .mailer
                .send(send.id, send.event_id, &send.email)
                .await;
            let Some(wait) = self
                .settle(&send, result, attempts, &mut failures, max)
                .await
            else {
                return;
            };
            drop(slot);
            tokio::time::sleep(wait).await;
        }
    }

    /// Records the outcome of the `attempts`th call; the wait before the next one when the
    /// email is to be retried, `None` when it is SENT or FAILED.
    async fn settle(
        &self,
        send: &Outgoing,
        result: Result<String, SendError>,
        attempts: i32,
        failures: &mut i32,
        max: i32,
    ) -> Option<Duration> {
        let settings = &self.inner.settings;
        let (after, rate_limited, message) = match result {
            Ok(message_id) => {
                self.record(send.id, Outcome::Sent(message_id)).await;
                return None;
            }
            Err(SendError::Fatal(error)) => {
                tracing::warn!(id = send.id, %error, "email refused");
                self.record(send.id, Outcome::Failed(error)).await;
                return None;
            }
            Err(SendError::Retry {
                rate_limited: false,
                message,
                ..
            }) if *failures + 1 >= max => {
                tracing::warn!(id = send.id, error = %message, attempts, "email given up");
                self.record(
                    send.id,
                    Outcome::Failed(format!("{message} (gave up after {attempts} attempts)")),
                )
                .await;
                return None;
            }
            Err(SendError::Retry {
                after,
                rate_limited,
                message,
            }) => (after, rate_limited, message),
        };
        let wait = if rate_limited {
            // Not a failure: the wait the provider asked for (or our own backoff when it
            // named none), never longer than `MAX_PROVIDER_WAIT`.
            after
                .unwrap_or_else(|| backoff(settings, attempts - *failures))
                .min(MAX_PROVIDER_WAIT)
        } else {
            *failures += 1;
            backoff(settings, *failures)
        };
        tracing::info!(id = send.id, error = %message, ?wait, "email will be retried");
        // Held through the wait (nobody else retries it meanwhile); lapsing as the wait ends,
        // so the next claim (ours, or another worker's if we died) can take it.
        let until = db::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        self.record(
            send.id,
            Outcome::RetryAt {
                error: message,
                until,
                failed: !rate_limited,
            },
        )
        .await;
        Some(wait)
    }

    fn claim_length(&self) -> Duration {
        self.inner.settings.timeout + CLAIM_MARGIN
    }

    /// Takes row `id` for one call: only while QUEUED, with `attempts` calls made (nobody
    /// called since we looked), fewer than `max` failures, and not held by another worker.
    async fn claim(&self, id: i64, attempts: i32, max: i32) -> bool {
        let op = Write::Claim {
            id,
            attempts,
            max,
            length: self.claim_length(),
        };
        self.write(op).await
    }

    /// After a claim failed: waits while another worker holds the row and returns the calls
    /// and failures so far to try again, or `None` when there is nothing left to do.
    async fn after_lost_claim(&self, id: i64, max: i32) -> Option<(i32, i32)> {
        let row = loop {
            match notification::Entity::find_by_id(id)
                .one(&self.inner.db)
                .await
            {
                Ok(row) => break row?,
                Err(err) => {
                    tracing::warn!(%err, "email worker cannot reach the database");
                    tokio::time::sleep(PAUSE).await;
                }
            }
        };
        if row.status != NotificationStatus::Queued.as_str() {
            return None;
        }
        let now = db::now();
        if let Some(until) = row.claimed_until
            && until >= now
        {
            let wait = (until - now).to_std().unwrap_or_default();
            tokio::time::sleep(wait.min(PAUSE) + Duration::from_millis(10)).await;
            return Some((row.attempts, row.failures));
        }
        if row.failures >= max {
            // The last call's worker died before it could say how it went.
            let error = row
                .last_error
                .unwrap_or_else(|| "the last attempt's outcome is unknown".to_string());
            self.record(
                id,
                Outcome::Failed(format!("{error} (gave up after {} attempts)", row.attempts)),
            )
            .await;
            return None;
        }
        Some((row.attempts, row.failures))
    }

    /// Writes an outcome, trying until the database takes it: the event is not acknowledged
    /// before.
    pub(super) async fn record(&self, id: i64, outcome: Outcome) {
        self.write(Write::Record { id, outcome }).await;
    }
}

/// The wait after the `attempts`th failure (see [`crate::config::backoff`]).
pub fn backoff(settings: &MailSettings, attempts: i32) -> Duration {
    crate::config::backoff(settings.retry_base, settings.retry_max, attempts)
}
