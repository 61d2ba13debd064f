//! The sender: due deliveries taken with a compare-and-set and a lease, one request in
//! flight per webhook, a ticket's deliveries to one hook in order, and each answer
//! recorded: a 2xx DELIVERED; 410 Gone FAILED and the hook disabled; any other answer, a
//! timeout or a connection failure RETRYING after a backoff (FAILED after
//! `WEBHOOK_MAX_ATTEMPTS`), and a hook failing for `WEBHOOK_DISABLE_AFTER_MS` disabled; an
//! address the hook may not reach, or a ticket its owner may no longer see, FAILED at once.

use super::{
    PAUSE, Worker,
    fanout::principals,
    http::{self, Answer, Request},
};
use crate::webhooks::{payload, store};
use common::{Principal, WebhookDeliveryStatus as Status};
use db::entity::{webhook, webhook_delivery as delivery};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};
use std::{collections::HashSet, time::Duration};

/// How often the sender looks for due deliveries when nothing wakes it.
const POLL: Duration = Duration::from_millis(250);

/// Due deliveries read at once.
const DUE_BATCH: u64 = 200;

/// A delivery is unfinished in these.
const UNFINISHED: [Status; 2] = [Status::Pending, Status::Retrying];

pub(super) type Time = chrono::DateTime<chrono::Utc>;

/// What to record of one attempt.
pub(super) struct Outcome {
    pub(super) status: Status,
    pub(super) code: Option<i32>,
    pub(super) latency: Option<Duration>,
    pub(super) excerpt: Option<String>,
    pub(super) error: Option<String>,
    pub(super) next: Option<Time>,
}

fn unfinished() -> Vec<&'static str> {
    UNFINISHED.iter().map(|s| s.as_str()).collect()
}

impl Worker {
    /// Sends what is due, forever.
    pub(super) async fn send_forever(self) {
        loop {
            if let Err(err) = self.send_due().await {
                tracing::warn!(%err, "webhook sender cannot read its deliveries");
                tokio::time::sleep(PAUSE).await;
            }
            tokio::select! {
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Starts a request for each hook that has a due delivery and none in flight.
    async fn send_due(&self) -> Result<(), DbErr> {
        let db = &self.inner.db;
        let busy: Vec<i64> = match self.inner.busy.lock() {
            Ok(busy) => busy.iter().copied().collect(),
            Err(_) => return Ok(()),
        };
        let now = db::now();
        let due = due(busy).all(db).await?;
        if due.is_empty() {
            return Ok(());
        }
        let hooks = webhook::Entity::find()
            .filter(webhook::Column::Id.is_in(due.iter().map(|d| d.webhook_id)))
            .all(db)
            .await?;
        let owners = principals(db, hooks.iter().map(|h| h.owner_id)).await?;
        let mut picked = HashSet::new();
        for row in due {
            if !picked.insert(row.webhook_id) {
                continue;
            }
            let Some(hook) = hooks.iter().find(|h| h.id == row.webhook_id).cloned() else {
                continue;
            };
            let Ok(permit) = self.inner.sends.clone().try_acquire_owned() else {
                break;
            };
            if !self.claim(&row, now).await? {
                continue;
            }
            if let Ok(mut busy) = self.inner.busy.lock() {
                busy.insert(hook.id);
            }
            let owner = owners.get(&hook.owner_id).cloned();
            let worker = self.clone();
            tokio::spawn(async move {
                worker.deliver(row, &hook, owner).await;
                if let Ok(mut busy) = worker.inner.busy.lock() {
                    busy.remove(&hook.id);
                }
                drop(permit);
                worker.inner.wake.notify_one();
            });
        }
        Ok(())
    }

    /// Counts an attempt and holds the row for one request, if nobody took it since it was
    /// read.
    async fn claim(&self, row: &delivery::Model, now: Time) -> Result<bool, DbErr> {
        let hold = self.inner.settings.timeout + Duration::from_secs(5);
        let until = now + chrono::Duration::from_std(hold).unwrap_or_default();
        let result = delivery::Entity::update_many()
            .col_expr(
                delivery::Column::Attempts,
                Expr::col(delivery::Column::Attempts).add(1),
            )
            .col_expr(delivery::Column::ClaimedUntil, Expr::value(Some(until)))
            .filter(delivery::Column::Id.eq(row.id))
            .filter(delivery::Column::Attempts.eq(row.attempts))
            .filter(delivery::Column::Status.is_in(unfinished()))
            .filter(free(now))
            .exec(&self.inner.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Makes one attempt of `row` (claimed: its attempt is `row.attempts + 1`) and records
    /// it.
    async fn deliver(&self, row: delivery::Model, hook: &webhook::Model, owner: Option<Principal>) {
        let attempt = row.attempts + 1;
        let outcome = if !may_see(&row, owner.as_ref()) {
            final_failure("the webhook's owner may no longer see this ticket", None)
        } else {
            let now = db::now();
            let message_id = payload::message_id(row.event_id, row.id);
            let request = Request {
                url: &hook.url,
                message_id: &message_id,
                secrets: store::signing_secrets(hook, now),
                body: &row.payload,
            };
            let answer = http::post(&self.inner.client, &self.inner.settings, request).await;
            self.judge(answer, attempt)
        };
        loop {
            match self.record(&row, attempt, hook, &outcome).await {
                Ok(()) => break,
                Err(err) => {
                    tracing::warn!(%err, "webhook worker cannot record a delivery yet");
                    tokio::time::sleep(PAUSE).await;
                }
            }
        }
    }

    /// What an answer means for the delivery.
    fn judge(&self, answer: Answer, attempt: i32) -> Outcome {
        let settings = &self.inner.settings;
        let (code, latency, excerpt, error) = match answer {
            Answer::Refused(why) => return final_failure(&why, None),
            Answer::Status {
                code,
                excerpt,
                latency,
            } => {
                if (200..300).contains(&code) {
                    return Outcome {
                        status: Status::Delivered,
                        code: Some(i32::from(code)),
                        latency: Some(latency),
                        excerpt: Some(excerpt),
                        error: None,
                        next: None,
                    };
                }
                let error = format!("the receiver answered {code}");
                (Some(i32::from(code)), latency, Some(excerpt), error)
            }
            Answer::Failed { error, latency } => (None, latency, None, error),
        };
        let gone = code == Some(410);
        let exhausted = attempt >= settings.max_attempts;
        let next = (!gone && !exhausted).then(|| {
            db::now() + chrono::Duration::from_std(settings.backoff(attempt)).unwrap_or_default()
        });
        let error = if gone {
            "the receiver answered 410 Gone: the webhook is disabled".to_string()
        } else if exhausted {
            format!("{error}; gave up after {attempt} attempts")
        } else {
            error
        };
        Outcome {
            status: if next.is_some() {
                Status::Retrying
            } else {
                Status::Failed
            },
            code,
            latency: Some(latency),
            excerpt,
            error: Some(error),
            next,
        }
    }
}

/// FAILED without a request (or after one that must not be repeated).
fn final_failure(why: &str, code: Option<i32>) -> Outcome {
    Outcome {
        status: Status::Failed,
        code,
        latency: None,
        excerpt: None,
        error: Some(why.to_string()),
        next: None,
    }
}

/// Whether the hook's owner (active, with their current roles) may see the ticket of the
/// delivery as the event left it; a test event needs only an active owner.
fn may_see(row: &delivery::Model, owner: Option<&Principal>) -> bool {
    let Some(owner) = owner else { return false };
    if row.ticket_id.is_none() {
        return true;
    }
    let body: serde_json::Value = serde_json::from_str(&row.payload).unwrap_or_default();
    let ticket = &body["data"]["ticket"];
    let id = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<i64>().ok());
    let Some(ticket_owner) = id(&ticket["ownerId"]) else {
        return false;
    };
    let supervisors: Vec<i64> = ticket["supervisorIds"]
        .as_array()
        .map(|ids| ids.iter().filter_map(id).collect())
        .unwrap_or_default();
    owner.can_see_ticket(ticket_owner, &supervisors)
}

/// Rows nobody holds at `now`.
fn free(now: Time) -> Condition {
    Condition::any()
        .add(delivery::Column::ClaimedUntil.is_null())
        .add(delivery::Column::ClaimedUntil.lt(now))
}

/// The due deliveries of active hooks that have none in flight here (`busy`), each the
/// first unfinished one of its ticket to its hook, oldest first.
fn due(busy: Vec<i64>) -> sea_orm::Select<delivery::Entity> {
    let now = db::now();
    let active = Query::select()
        .column(webhook::Column::Id)
        .from(webhook::Entity)
        .and_where(webhook::Column::Active.eq(true))
        .to_owned();
    let earlier_unfinished = Expr::cust(
        "NOT EXISTS (SELECT 1 FROM webhook_deliveries AS earlier \
         WHERE earlier.webhook_id = webhook_deliveries.webhook_id \
         AND earlier.ticket_id = webhook_deliveries.ticket_id \
         AND earlier.id < webhook_deliveries.id \
         AND earlier.status IN ('PENDING', 'RETRYING'))",
    );
    delivery::Entity::find()
        .filter(delivery::Column::Status.is_in(unfinished()))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .filter(free(now))
        .filter(delivery::Column::WebhookId.in_subquery(active))
        .filter(delivery::Column::WebhookId.is_not_in(busy))
        .filter(earlier_unfinished)
        .order_by_asc(delivery::Column::Id)
        .limit(DUE_BATCH)
}
