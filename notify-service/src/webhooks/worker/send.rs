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
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};
use std::{collections::HashMap, time::Duration};
use tokio::sync::OwnedSemaphorePermit;

/// How often the sender looks for due deliveries when nothing wakes it.
const POLL: Duration = Duration::from_millis(250);

/// The most due deliveries read at once.
const DUE_BATCH: u64 = 500;

/// A delivery is unfinished in these.
const UNFINISHED: [Status; 2] = [Status::Pending, Status::Retrying];

pub(super) type Time = chrono::DateTime<chrono::Utc>;

/// One attempt to record.
#[derive(Debug)]
pub(super) struct Attempt {
    /// The delivery row.
    pub(super) delivery: i64,
    /// Which attempt of it this was (the row's `attempts` once claimed).
    pub(super) attempt: i32,
    /// Its hook, as it was read before the request.
    pub(super) hook: webhook::Model,
    /// How it went.
    pub(super) outcome: Outcome,
    /// Its place among the requests in flight, held until it is recorded.
    pub(super) _permit: OwnedSemaphorePermit,
}

/// What to record of one attempt.
#[derive(Debug)]
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

    /// Starts a request for each due delivery its hook has room for (at most
    /// `WEBHOOK_HOOK_CONCURRENCY` in flight per hook, `WEBHOOK_CONCURRENCY` in all), the
    /// picked rows claimed in one statement.
    async fn send_due(&self) -> Result<(), DbErr> {
        let db = &self.inner.db;
        let per_hook = self.inner.settings.hook_concurrency;
        let Some(in_flight) = self.in_flight() else {
            return Ok(());
        };
        let full: Vec<i64> = in_flight
            .iter()
            .filter(|(_, n)| **n >= per_hook)
            .map(|(hook, _)| *hook)
            .collect();
        let room = self.inner.sends.available_permits();
        if room == 0 {
            return Ok(());
        }
        // A few times the room, for rows `pick` passes over (a hook full within the batch).
        let limit = u64::try_from(room.saturating_mul(4)).map_or(DUE_BATCH, |n| n.min(DUE_BATCH));
        let due = due(full, limit).all(db).await?;
        let picked = pick(due, &in_flight, per_hook, room);
        if picked.is_empty() {
            return Ok(());
        }
        let now = db::now();
        let claimed = self.claim(&picked, now).await?;
        if claimed.is_empty() {
            return Ok(());
        }
        let hooks = webhook::Entity::find()
            .filter(webhook::Column::Id.is_in(claimed.iter().map(|d| d.webhook_id)))
            .all(db)
            .await?;
        let owners = principals(db, hooks.iter().map(|h| h.owner_id)).await?;
        for row in claimed {
            let Some(hook) = hooks.iter().find(|h| h.id == row.webhook_id).cloned() else {
                continue;
            };
            let Ok(permit) = self.inner.sends.clone().try_acquire_owned() else {
                // Claimed but not sent: its lease lapses and it is taken again.
                break;
            };
            self.count_in_flight(hook.id, true);
            let owner = owners.get(&hook.owner_id).cloned();
            let worker = self.clone();
            tokio::spawn(async move {
                // The permit and the count are given back once the answer is recorded: a
                // crash repeats at most `WEBHOOK_CONCURRENCY` requests.
                let attempt = worker.attempt(&row, &hook, owner, permit).await;
                worker.recorded(attempt);
            });
        }
        Ok(())
    }

    /// The requests in flight from this process, per hook (None if a panic poisoned it).
    fn in_flight(&self) -> Option<HashMap<i64, usize>> {
        self.inner.busy.lock().ok().map(|busy| busy.clone())
    }

    /// One more (`up`) or one fewer request in flight to `hook`.
    pub(super) fn count_in_flight(&self, hook: i64, up: bool) {
        if let Ok(mut busy) = self.inner.busy.lock() {
            let n = busy.entry(hook).or_default();
            if up {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    busy.remove(&hook);
                }
            }
        }
    }

    /// Counts an attempt of each of `rows` and holds them for one request each, in one
    /// statement; the rows nobody took since they were read, as they are now.
    async fn claim(
        &self,
        rows: &[delivery::Model],
        now: Time,
    ) -> Result<Vec<delivery::Model>, DbErr> {
        let hold = self.inner.settings.timeout + Duration::from_secs(5);
        let until = now + chrono::Duration::from_std(hold).unwrap_or_default();
        // Each row only at the attempt it was read with: a row another worker claimed (and
        // perhaps already recorded) since is left alone.
        let read_as = rows.iter().fold(Condition::any(), |any, row| {
            any.add(
                Condition::all()
                    .add(delivery::Column::Id.eq(row.id))
                    .add(delivery::Column::Attempts.eq(row.attempts)),
            )
        });
        let mut update = Query::update();
        update
            .table(delivery::Entity)
            .value(
                delivery::Column::Attempts,
                Expr::col(delivery::Column::Attempts).add(1),
            )
            .value(delivery::Column::ClaimedUntil, Some(until))
            .cond_where(
                Condition::all()
                    .add(read_as)
                    .add(delivery::Column::Status.is_in(unfinished()))
                    .add(free(now)),
            )
            .returning_all();
        // RETURNING, which PostgreSQL and SQLite (3.35 and later, as bundled) both have: one
        // statement claims the batch and says which rows it got.
        let db = &self.inner.db;
        let statement = db.get_database_backend().build(&update);
        let rows = db.query_all(statement).await?;
        rows.iter()
            .map(|row| delivery::Model::from_query_result(row, ""))
            .collect()
    }

    /// Makes one attempt of `row` (claimed: its attempt is `row.attempts`) and says what
    /// to record of it.
    async fn attempt(
        &self,
        row: &delivery::Model,
        hook: &webhook::Model,
        owner: Option<Principal>,
        permit: OwnedSemaphorePermit,
    ) -> Attempt {
        let outcome = if !may_see(row, owner.as_ref()) {
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
            self.judge(answer, row.attempts)
        };
        Attempt {
            delivery: row.id,
            attempt: row.attempts,
            hook: hook.clone(),
            outcome,
            _permit: permit,
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

/// Of `due` (oldest first), those to send now: as many per hook as it has room for beside
/// its requests `in_flight`, `room` in all.
fn pick(
    due: Vec<delivery::Model>,
    in_flight: &HashMap<i64, usize>,
    per_hook: usize,
    room: usize,
) -> Vec<delivery::Model> {
    let mut taken: HashMap<i64, usize> = HashMap::new();
    let mut picked = Vec::new();
    for row in due {
        if picked.len() >= room {
            break;
        }
        let n = taken.entry(row.webhook_id).or_default();
        if in_flight.get(&row.webhook_id).copied().unwrap_or(0) + *n < per_hook {
            *n += 1;
            picked.push(row);
        }
    }
    picked
}

/// The due deliveries of active hooks that have room here (not in `full`), each the first
/// unfinished one of its ticket to its hook, oldest first.
fn due(full: Vec<i64>, limit: u64) -> sea_orm::Select<delivery::Entity> {
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
    // The statuses as literals, as the partial index `webhook_deliveries_unfinished_idx`
    // says them: a bound parameter would keep either database from using it, and this
    // query would read and sort every unfinished row each time.
    delivery::Entity::find()
        .filter(Expr::cust(
            "webhook_deliveries.status IN ('PENDING', 'RETRYING')",
        ))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .filter(free(now))
        .filter(delivery::Column::WebhookId.in_subquery(active))
        .filter(delivery::Column::WebhookId.is_not_in(full))
        .filter(earlier_unfinished)
        .order_by_asc(delivery::Column::Id)
        .limit(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literal_statuses_are_the_unfinished_ones() {
        // `due` and the partial index spell the statuses out; they must stay these.
        assert_eq!(unfinished(), ["PENDING", "RETRYING"]);
    }

    fn row(id: i64, hook: i64) -> delivery::Model {
        delivery::Model {
            id,
            webhook_id: hook,
            event_id: Some(id),
            ticket_id: Some(id),
            event_type: "ticket.created".into(),
            payload: "{}".into(),
            status: "PENDING".into(),
            attempts: 0,
            response_code: None,
            latency_ms: None,
            last_error: None,
            response_excerpt: None,
            next_attempt_at: None,
            claimed_until: None,
            created_at: chrono::Utc::now(),
            delivered_at: None,
        }
    }

    #[test]
    fn pick_fills_each_hook_to_its_limit_and_all_to_the_room() {
        let due: Vec<_> = [(1, 7), (2, 7), (3, 8), (4, 7), (5, 8), (6, 9)]
            .into_iter()
            .map(|(id, hook)| row(id, hook))
            .collect();
        let in_flight = HashMap::from([(7, 1)]);
        let ids = |rows: Vec<delivery::Model>| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        // Hook 7 has one in flight and room for one more; 8 for two; 9 for two.
        assert_eq!(ids(pick(due.clone(), &in_flight, 2, 10)), [1, 3, 5, 6]);
        assert_eq!(ids(pick(due, &in_flight, 2, 2)), [1, 3]);
    }
}
