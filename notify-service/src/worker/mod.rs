//! The email worker. It reads ticket events from the stream in the `notify` consumer group,
//! writes one `notifications` row per (event, recipient) (unique in the database, so a
//! redelivered event adds nothing), sends each QUEUED row's email, records the outcome, and
//! only then acknowledges the event. Events a dead worker left unacknowledged are claimed by a
//! live one after `NOTIFY_CLAIM_IDLE_MS`: a live worker renews its claim on the events it is
//! still working on (every quarter of that), so only a stopped worker's are taken over, within
//! seconds of it stopping.
//!
//! A row being sent is held by its worker until `claimed_until` (the call's timeout plus a
//! margin, or the retry wait), so two workers handed the same event never send one email
//! twice at once. What stays uncertain is a call whose worker died after the provider took
//! the email and before the outcome was written: SendGrid has no idempotency key, so that row
//! is sent again once its claim lapses (at least once for those few, exactly once for the
//! rest). The outbox needs no such care: a file already written is never written again.
//!
//! Retries: a 429 waits what the provider asked (`Retry-After`, `X-RateLimit-Reset`) and is
//! not a failure; 5xx and timeouts wait an exponential backoff with jitter, capped at
//! `SENDGRID_RETRY_MAX_MS`, and after `SENDGRID_MAX_ATTEMPTS` such failures (hours, with the
//! defaults) the email is FAILED with `lastError`; other 4xx are FAILED at once with the
//! provider's message. An ADMIN can queue FAILED emails again (`retryNotifications`): the
//! workers look for them every few seconds and send them with a fresh budget. Emails wait for
//! the provider in this worker only: ticket changes never do.

use crate::{
    config::{MailSettings, Provider},
    email::{self, Email},
    mailer::{Mailer, SendError},
    preferences,
    recipients::{self, BROADCAST_ROLES, Delivery, Directory, Person},
};
use common::{
    NotificationStatus, TicketEventMessage,
    stream::{Entry, EventStream},
};
use db::entity::{
    notification,
    outbox::{self, TICKET_EVENTS},
    user, user_support,
};
use rand::Rng;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
    SqlErr, TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot},
    task::JoinSet,
};

/// The consumer group of the email workers.
pub const GROUP: &str = "notify";

/// Events read from the stream at once.
const BATCH: usize = 100;

/// Events being worked on at once (sent, waiting to retry) before reading more.
const EVENTS_IN_FLIGHT: usize = 1_000;

/// Added to the call timeout for a row's claim: the time to record the outcome.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// The longest wait a provider's 429 is honoured for.
const MAX_PROVIDER_WAIT: Duration = Duration::from_secs(15 * 60);

/// How long to wait before trying again when the database or the stream is down.
const PAUSE: Duration = Duration::from_secs(1);

/// How often a worker looks for emails an ADMIN queued again.
const RETRY_SWEEP: Duration = Duration::from_secs(2);

/// A running email worker.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    stream: EventStream,
    mailer: Mailer,
    settings: MailSettings,
    consumer: String,
    sends: Semaphore,
    events: Arc<Semaphore>,
    writes: mpsc::Sender<(Write, oneshot::Sender<bool>)>,
    writer: std::sync::Mutex<Option<WriteQueue>>,
    /// The stream entries this worker holds and has not acknowledged: their claim is renewed
    /// so no other worker takes them over while this one lives.
    holding: std::sync::Mutex<BTreeSet<String>>,
    /// Emails queued again by an ADMIN that this worker is sending (so its next look for
    /// them does not start them twice).
    retrying: std::sync::Mutex<BTreeSet<i64>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("consumer", &self.inner.consumer)
            .finish_non_exhaustive()
    }
}

/// One email to send: the row and what to send.
#[derive(Debug, Clone)]
struct Send {
    id: i64,
    event_id: i64,
    attempts: i32,
    failures: i32,
    email: Email,
}

/// One event's sends; the event is acknowledged when they are all recorded.
#[derive(Debug)]
struct Job {
    entry_id: String,
    sends: Vec<Send>,
}

/// A row's outcome to record.
enum Outcome {
    Sent(String),
    Failed(String),
    RetryAt {
        error: String,
        until: chrono::DateTime<chrono::Utc>,
        /// A failure (5xx, timeout) rather than a 429: counted in `failures`.
        failed: bool,
    },
}

impl Worker {
    /// A worker over `db` and `stream` sending as `settings` say, under a fresh consumer name.
    pub fn new(
        db: DatabaseConnection,
        stream: EventStream,
        settings: MailSettings,
    ) -> Result<Self, reqwest::Error> {
        let mailer = match &settings.provider {
            Provider::SendGrid { api_url, api_key } => {
                Mailer::sendgrid(api_url, api_key, settings.from.clone(), settings.timeout)?
            }
            Provider::Outbox(dir) => Mailer::Outbox {
                dir: dir.clone(),
                from: settings.from.clone(),
            },
        };
        let (writes, writer) = mpsc::channel(4 * WRITE_BATCH);
        Ok(Self {
            inner: Arc::new(Inner {
                writes,
                writer: std::sync::Mutex::new(Some(writer)),
                db,
                stream,
                mailer,
                sends: Semaphore::new(settings.concurrency),
                events: Arc::new(Semaphore::new(EVENTS_IN_FLIGHT)),
                consumer: format!("notify-{}", uuid::Uuid::new_v4()),
                holding: std::sync::Mutex::new(BTreeSet::new()),
                retrying: std::sync::Mutex::new(BTreeSet::new()),
                settings,
            }),
        })
    }

    /// Starts the worker in the background; it runs as long as the process.
    pub fn start(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Reads, sends and acknowledges, forever.
    pub async fn run(self) {
        let writer = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let queue = Arc::new(tokio::sync::Mutex::new(writer));
            for _ in 0..WRITERS {
                tokio::spawn(write_loop(self.inner.db.clone(), queue.clone()));
            }
        }
        // Stopped with this loop (the set is dropped with it).
        let mut background = tokio::task::JoinSet::new();
        background.spawn(
            self.inner
                .stream
                .clone()
                .tidy_consumers_forever(TICKET_EVENTS, GROUP),
        );
        background.spawn(self.clone().renew_forever());
        background.spawn(self.clone().retry_forever());
        let claim_every = (self.inner.settings.claim_idle / 2).max(Duration::from_millis(100));
        let mut last_claim: Option<tokio::time::Instant> = None;
        loop {
            let claim_due = last_claim.is_none_or(|at| at.elapsed() >= claim_every);
            let entries = match self.next_entries(claim_due).await {
                Ok(entries) => entries,
                Err(err) => {
                    tracing::warn!(%err, "email worker cannot read the event stream");
                    tokio::time::sleep(PAUSE).await;
                    continue;
                }
            };
            if claim_due {
                last_claim = Some(tokio::time::Instant::now());
            }
            if entries.is_empty() {
                continue;
            }
            if let Ok(mut holding) = self.inner.holding.lock() {
                holding.extend(entries.iter().map(|e| e.id.clone()));
            }
            let (jobs, done) = loop {
                match self.prepare(&entries).await {
                    Ok(prepared) => break prepared,
                    Err(err) => {
                        tracing::warn!(%err, "email worker cannot reach the database");
                        tokio::time::sleep(PAUSE).await;
                    }
                }
            };
            self.ack(&done).await;
            for job in jobs {
                let Ok(permit) = self.inner.events.clone().acquire_owned().await else {
                    return;
                };
                tokio::spawn(self.clone().finish(job, permit));
            }
        }
    }

    /// Entries a dead worker left (when a claim is due), else new ones (waiting up to a
    /// second for some).
    async fn next_entries(&self, claim: bool) -> Result<Vec<Entry>, common::stream::StreamError> {
        let inner = &self.inner;
        if claim {
            let stale = inner
                .stream
                .claim_stale(
                    TICKET_EVENTS,
                    GROUP,
                    &inner.consumer,
                    inner.settings.claim_idle,
                    BATCH,
                )
                .await?;
            if !stale.is_empty() {
                tracing::info!(
                    count = stale.len(),
                    "taking over events a stopped worker left"
                );
                return Ok(stale);
            }
        }
        inner
            .stream
            .read_group(
                TICKET_EVENTS,
                GROUP,
                &inner.consumer,
                BATCH,
                Duration::from_secs(1),
            )
            .await
    }

    async fn ack(&self, ids: &[String]) {
        if let Err(err) = self.inner.stream.ack(TICKET_EVENTS, GROUP, ids).await {
            // The entries stay pending and are claimed again later; their rows are final, so
            // that sends nothing.
            tracing::warn!(%err, "cannot acknowledge events");
        }
        if let Ok(mut holding) = self.inner.holding.lock() {
            for id in ids {
                holding.remove(id);
            }
        }
    }

    /// Forever: renews this worker's claim on the entries it holds, every quarter of
    /// `NOTIFY_CLAIM_IDLE_MS`, so another worker takes over only a stopped worker's entries
    /// (an email waiting hours for its next retry keeps its event here).
    async fn renew_forever(self) {
        let every = (self.inner.settings.claim_idle / 4).max(Duration::from_millis(50));
        loop {
            tokio::time::sleep(every).await;
            let held: Vec<String> = match self.inner.holding.lock() {
                Ok(holding) => holding.iter().cloned().collect(),
                Err(_) => return,
            };
            for chunk in held.chunks(BATCH) {
                if let Err(err) = self
                    .inner
                    .stream
                    .renew(TICKET_EVENTS, GROUP, &self.inner.consumer, chunk)
                    .await
                {
                    tracing::warn!(%err, "cannot renew the claim on held events");
                    break;
                }
            }
        }
    }

    /// Forever: every `RETRY_SWEEP`, starts sending the emails an ADMIN queued again.
    async fn retry_forever(self) {
        loop {
            tokio::time::sleep(RETRY_SWEEP).await;
            if let Err(err) = self.start_retries().await {
                tracing::warn!(%err, "cannot look for emails queued again");
            }
        }
    }

    /// Starts a send for each email queued again by an ADMIN that nobody holds (another
    /// worker may start the same one: the claim lets only one of them call at a time).
    async fn start_retries(&self) -> Result<(), DbErr> {
        let db = &self.inner.db;
        let now = db::now();
        let rows = notification::Entity::find()
            .filter(notification::Column::Status.eq(NotificationStatus::Queued.as_str()))
            .filter(notification::Column::RetryRequestedAt.is_not_null())
            .filter(
                Condition::any()
                    .add(notification::Column::ClaimedUntil.is_null())
                    .add(notification::Column::ClaimedUntil.lt(now)),
            )
            .limit(BATCH as u64)
            .all(db)
            .await?;
        let rows: Vec<notification::Model> = match self.inner.retrying.lock() {
            Ok(mut retrying) => rows
                .into_iter()
                .filter(|row| retrying.insert(row.id))
                .collect(),
            Err(_) => return Ok(()),
        };
        if rows.is_empty() {
            return Ok(());
        }
        let started: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let result = self.send_again(rows).await;
        if result.is_err()
            && let Ok(mut retrying) = self.inner.retrying.lock()
        {
            for id in started {
                retrying.remove(&id);
            }
        }
        result
    }

    /// Renders and sends emails queued again, from the events the outbox kept.
    async fn send_again(&self, rows: Vec<notification::Model>) -> Result<(), DbErr> {
        let db = &self.inner.db;
        let event_ids: BTreeSet<i64> = rows.iter().map(|r| r.event_id).collect();
        let mut events: HashMap<i64, TicketEventMessage> = HashMap::new();
        for row in outbox::Entity::find()
            .filter(outbox::Column::TicketEventId.is_in(event_ids))
            .all(db)
            .await?
        {
            if let Ok(event) = serde_json::from_str::<TicketEventMessage>(&row.payload) {
                events.insert(row.ticket_event_id, event);
            }
        }
        let (dir, names) = load_directory(db, events.values()).await?;
        for row in rows {
            let done = |worker: &Self, id: i64| {
                if let Ok(mut retrying) = worker.inner.retrying.lock() {
                    retrying.remove(&id);
                }
            };
            let Some(event) = events.get(&row.event_id) else {
                self.record(
                    row.id,
                    Outcome::Failed("the event this email is about is gone".to_string()),
                )
                .await;
                done(self, row.id);
                continue;
            };
            if !dir.people.contains_key(&row.recipient_id) {
                self.record(
                    row.id,
                    Outcome::Failed("the recipient's account is no longer active".to_string()),
                )
                .await;
                done(self, row.id);
                continue;
            }
            let send = Send {
                id: row.id,
                event_id: row.event_id,
                attempts: row.attempts,
                failures: row.failures,
                email: self.render(event, &dir, &names, row.recipient_id),
            };
            let worker = self.clone();
            tokio::spawn(async move {
                let id = send.id;
                worker.deliver(send).await;
                done(&worker, id);
            });
        }
        Ok(())
    }

    /// Writes the rows of `entries` and returns the sends left to do per event, and the
    /// entries that are already done (nobody to email, everything sent, or unreadable).
    async fn prepare(&self, entries: &[Entry]) -> Result<(Vec<Job>, Vec<String>), DbErr> {
        let db = &self.inner.db;
        let mut done = Vec::new();
        let mut events = Vec::new();
        for entry in entries {
            match serde_json::from_str::<TicketEventMessage>(&entry.payload) {
                Ok(event) => events.push((entry.id.clone(), event)),
                Err(err) => {
                    tracing::error!(id = %entry.id, %err, "unreadable ticket event skipped");
                    done.push(entry.id.clone());
                }
            }
        }
        let (dir, names) = load_directory(db, events.iter().map(|(_, e)| e)).await?;

        let now = db::now();
        // Each email is rendered once: its subject goes in the row, the whole of it is sent.
        let mut rendered: HashMap<(i64, i64), Email> = HashMap::new();
        let mut rows = Vec::new();
        let mut per_event: Vec<(String, TicketEventMessage, Vec<notification::ActiveModel>)> =
            Vec::new();
        for (entry_id, event) in events {
            let event_rows: Vec<notification::ActiveModel> = recipients::recipients(&event, &dir)
                .into_iter()
                .map(|(user, delivery)| {
                    let status = match delivery {
                        Delivery::Email => NotificationStatus::Queued,
                        Delivery::Suppressed => NotificationStatus::Suppressed,
                    };
                    let email = self.render(&event, &dir, &names, user);
                    let subject = email.subject.clone();
                    rendered.insert((event.event_id, user), email);
                    notification::ActiveModel {
                        event_id: sea_orm::Set(event.event_id),
                        ticket_id: sea_orm::Set(Some(event.ticket_id)),
                        recipient_id: sea_orm::Set(user),
                        subject: sea_orm::Set(subject),
                        status: sea_orm::Set(status.as_str().to_string()),
                        attempts: sea_orm::Set(0),
                        created_at: sea_orm::Set(now),
                        ..Default::default()
                    }
                })
                .collect();
            // An event with nobody to email now still goes on: rows a dead worker wrote for
            // it earlier (before a preference or an account changed) are still to be sent.
            rows.extend(event_rows.iter().cloned());
            per_event.push((entry_id, event, event_rows));
        }

        // One statement for the batch; should it fail on one event's rows (an event about
        // a row that is gone), each event on its own, and the bad one is skipped.
        if let Err(err) = insert_rows(db, rows).await {
            if !is_dangling(&err) {
                return Err(err);
            }
            let mut kept = Vec::new();
            for (entry_id, event, event_rows) in per_event {
                match insert_rows(db, event_rows.clone()).await {
                    Ok(()) => kept.push((entry_id, event, event_rows)),
                    Err(err) if !is_dangling(&err) => return Err(err),
                    Err(err) => {
                        tracing::error!(id = %entry_id, event = event.event_id, %err, "ticket event skipped: its notifications cannot be recorded");
                        done.push(entry_id);
                    }
                }
            }
            per_event = kept;
        }

        let event_ids: Vec<i64> = per_event.iter().map(|(_, e, _)| e.event_id).collect();
        let mut queued: HashMap<i64, Vec<notification::Model>> = HashMap::new();
        for row in notification::Entity::find()
            .filter(notification::Column::EventId.is_in(event_ids))
            .filter(notification::Column::Status.eq(NotificationStatus::Queued.as_str()))
            .all(db)
            .await?
        {
            queued.entry(row.event_id).or_default().push(row);
        }
        let mut jobs = Vec::new();
        for (entry_id, event, _) in per_event {
            let (rows, gone): (Vec<_>, Vec<_>) = queued
                .remove(&event.event_id)
                .unwrap_or_default()
                .into_iter()
                .partition(|row| dir.people.contains_key(&row.recipient_id));
            // Deactivated since the row was written (a redelivered event): nobody writes to
            // an inactive account, and the row must not wait for ever.
            for row in gone {
                self.record(
                    row.id,
                    Outcome::Failed("the recipient's account is no longer active".to_string()),
                )
                .await;
            }
            let sends: Vec<Send> = rows
                .into_iter()
                .map(|row| Send {
                    id: row.id,
                    event_id: row.event_id,
                    attempts: row.attempts,
                    failures: row.failures,
                    email: rendered
                        .remove(&(row.event_id, row.recipient_id))
                        .unwrap_or_else(|| self.render(&event, &dir, &names, row.recipient_id)),
                })
                .collect();
            if sends.is_empty() {
                done.push(entry_id);
            } else {
                jobs.push(Job { entry_id, sends });
            }
        }
        Ok((jobs, done))
    }

    fn render(
        &self,
        event: &TicketEventMessage,
        dir: &Directory,
        names: &HashMap<i64, String>,
        recipient: i64,
    ) -> Email {
        let person = dir.people.get(&recipient);
        email::render(
            event,
            &email::Context {
                to_name: person.map_or("", |p| p.name.as_str()),
                to_email: person.map_or("", |p| p.email.as_str()),
                actor_name: names.get(&event.actor_id).map_or("Someone", String::as_str),
                withdrawn: recipients::withdrawn(event, dir),
                public_url: &self.inner.settings.public_url,
            },
        )
    }

    /// Sends a job's emails (at most `NOTIFY_CONCURRENCY` calls at once across jobs), then
    /// acknowledges its event.
    async fn finish(self, job: Job, _permit: OwnedSemaphorePermit) {
        let mut sends = JoinSet::new();
        for send in job.sends {
            let worker = self.clone();
            sends.spawn(async move { worker.deliver(send).await });
        }
        while sends.join_next().await.is_some() {}
        self.ack(&[job.entry_id]).await;
    }

    /// Sends one row's email until it is SENT or FAILED (or another worker finished it).
    async fn deliver(&self, send: Send) {
        let settings = &self.inner.settings;
        let max = i32::try_from(settings.max_attempts).unwrap_or(i32::MAX);
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
            match result {
                Ok(message_id) => {
                    self.record(send.id, Outcome::Sent(message_id)).await;
                    return;
                }
                Err(SendError::Fatal(error)) => {
                    tracing::warn!(id = send.id, %error, "email refused");
                    self.record(send.id, Outcome::Failed(error)).await;
                    return;
                }
                Err(SendError::Retry {
                    rate_limited: false,
                    message,
                    ..
                }) if failures + 1 >= max => {
                    tracing::warn!(id = send.id, error = %message, attempts, "email given up");
                    self.record(
                        send.id,
                        Outcome::Failed(format!("{message} (gave up after {attempts} attempts)")),
                    )
                    .await;
                    return;
                }
                Err(SendError::Retry {
                    after,
                    rate_limited,
                    message,
                }) => {
                    let wait = if rate_limited {
                        // Not a failure: the wait the provider asked for (or our own backoff
                        // when it named none), never longer than `MAX_PROVIDER_WAIT`.
                        after
                            .unwrap_or_else(|| backoff(settings, attempts - failures))
                            .min(MAX_PROVIDER_WAIT)
                    } else {
                        failures += 1;
                        backoff(settings, failures)
                    };
                    tracing::info!(id = send.id, error = %message, ?wait, "email will be retried");
                    // Held through the wait (nobody else retries it meanwhile); lapsing as
                    // the wait ends, so the next claim (ours, or another worker's if we died)
                    // can take it.
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
                    drop(slot);
                    tokio::time::sleep(wait).await;
                }
            }
        }
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
    async fn record(&self, id: i64, outcome: Outcome) {
        self.write(Write::Record { id, outcome }).await;
    }

    /// Hands a write to the writer task and waits until it committed.
    async fn write(&self, op: Write) -> bool {
        let (reply, done) = oneshot::channel();
        if self.inner.writes.send((op, reply)).await.is_err() {
            return false;
        }
        done.await.unwrap_or(false)
    }
}

/// A write of the worker's. The writer task commits the writes that are waiting together, in
/// one transaction: one commit for many rows, whatever the number of calls in flight.
enum Write {
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
const WRITE_BATCH: usize = 256;

/// Writer tasks: each commits a batch while another gathers the next (on PostgreSQL every
/// statement is a round trip; SQLite's one connection makes them take turns).
const WRITERS: usize = 4;

type WriteQueue = mpsc::Receiver<(Write, oneshot::Sender<bool>)>;

/// Commits the writes as they come, those waiting together in one transaction, trying again
/// while the database is away; answers each once it committed.
async fn write_loop(db: DatabaseConnection, writes: Arc<tokio::sync::Mutex<WriteQueue>>) {
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

async fn apply<'a>(
    db: &DatabaseConnection,
    ops: impl Iterator<Item = &'a Write>,
) -> Result<Vec<bool>, DbErr> {
    let txn = db.begin().await?;
    let now = db::now();
    let none = Option::<chrono::DateTime<chrono::Utc>>::None;
    let mut answers = Vec::new();
    for op in ops {
        let update = notification::Entity::update_many()
            .filter(notification::Column::Status.eq(NotificationStatus::Queued.as_str()));
        let update = match op {
            Write::Claim {
                id,
                attempts,
                max,
                length,
            } => {
                let until = now + chrono::Duration::from_std(*length).unwrap_or_default();
                update
                    .col_expr(
                        notification::Column::Attempts,
                        Expr::col(notification::Column::Attempts).add(1),
                    )
                    .col_expr(notification::Column::ClaimedUntil, Expr::value(until))
                    .filter(notification::Column::Id.eq(*id))
                    .filter(notification::Column::Attempts.eq(*attempts))
                    .filter(notification::Column::Failures.lt(*max))
                    .filter(
                        Condition::any()
                            .add(notification::Column::ClaimedUntil.is_null())
                            .add(notification::Column::ClaimedUntil.lt(now)),
                    )
            }
            Write::Record { id, outcome } => {
                let update = update.filter(notification::Column::Id.eq(*id));
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

/// The wait after the `attempts`th failure: `retry_base * 2^(attempts - 1)`, at most
/// `retry_max`, with jitter (between half and all of it) so retries do not come in waves.
pub fn backoff(settings: &MailSettings, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let full = settings
        .retry_base
        .saturating_mul(1 << exponent)
        .min(settings.retry_max);
    let half = full / 2;
    half + full.mul_f64(rand::thread_rng().r#gen::<f64>() * 0.5)
}

/// A row naming an event, ticket or user that does not exist: that event can never be
/// recorded, so it is skipped. Anything else (the database away) is waited out.
fn is_dangling(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

async fn insert_rows(
    db: &DatabaseConnection,
    rows: Vec<notification::ActiveModel>,
) -> Result<(), DbErr> {
    for chunk in rows.chunks(500) {
        notification::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    notification::Column::EventId,
                    notification::Column::RecipientId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .do_nothing()
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Everyone `events` may concern (see [`Directory`]), and the names of everyone they name,
/// active or not (an actor who has left is still named in the email).
async fn load_directory<'a>(
    db: &DatabaseConnection,
    events: impl Iterator<Item = &'a TicketEventMessage>,
) -> Result<(Directory, HashMap<i64, String>), DbErr> {
    let mut named = BTreeSet::new();
    let mut owners = BTreeSet::new();
    for event in events {
        owners.insert(event.owner_id);
        named.insert(event.owner_id);
        named.insert(event.actor_id);
        named.extend(event.supervisor_ids.iter().copied());
    }
    let mut dir = Directory::default();
    if owners.is_empty() {
        return Ok((dir, HashMap::new()));
    }
    for link in user_support::Entity::find()
        .filter(user_support::Column::FacultyId.is_in(owners))
        .all(db)
        .await?
    {
        named.insert(link.fss_id);
        dir.support
            .entry(link.faculty_id)
            .or_default()
            .push(link.fss_id);
    }
    let mut broadcast = Condition::any();
    for role in BROADCAST_ROLES {
        broadcast = broadcast.add(user::Column::Roles.like(format!("%{}%", role.as_str())));
    }
    let users = user::Entity::find()
        .filter(
            Condition::any().add(user::Column::Id.is_in(named)).add(
                Condition::all()
                    .add(user::Column::Active.eq(true))
                    .add(broadcast),
            ),
        )
        .all(db)
        .await?;
    let mut names = HashMap::new();
    for user in users {
        names.insert(user.id, user.name.clone());
        if user.active {
            let roles = user.role_list();
            dir.people.insert(
                user.id,
                Person {
                    name: user.name,
                    email: user.email,
                    roles,
                },
            );
        }
    }
    let ids: Vec<i64> = dir.people.keys().copied().collect();
    dir.preferences = preferences::load_many(db, &ids).await?;
    Ok((dir, names))
}
