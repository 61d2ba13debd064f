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
//!
//! The worker is split by stage: reading the stream, claiming, renewing and acknowledging
//! entries (`read`); writing the rows of a batch of events (`prepare`); the people an event
//! concerns and rendering their emails (`directory`); sending one email with its retries
//! (`send`); the emails an ADMIN queued again (`retry`); and the batched writes that claim and
//! record rows (`write`).

mod directory;
mod prepare;
mod read;
mod retry;
mod send;
mod write;

use crate::{config::MailSettings, mailer::Mailer};
use common::stream::EventStream;
use db::entity::outbox::TICKET_EVENTS;
use sea_orm::DatabaseConnection;
pub use send::backoff;
use std::{collections::BTreeSet, sync::Arc, time::Duration};
use tokio::sync::{Semaphore, mpsc};
use write::{WRITE_BATCH, WRITERS, WriteQueue, Writes, write_loop};

/// The consumer group of the email workers.
pub const GROUP: &str = "notify";

/// Events read from the stream at once.
const BATCH: usize = 100;

/// Events being worked on at once (sent, waiting to retry) before reading more.
const EVENTS_IN_FLIGHT: usize = 1_000;

/// How long to wait before trying again when the database or the stream is down.
const PAUSE: Duration = Duration::from_secs(1);

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
    writes: Writes,
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

impl Worker {
    /// A worker over `db` and `stream` sending as `settings` say, under a fresh consumer name.
    pub fn new(
        db: DatabaseConnection,
        stream: EventStream,
        settings: MailSettings,
    ) -> Result<Self, reqwest::Error> {
        let mailer = Mailer::from_settings(&settings)?;
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
            self.hold(&entries);
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
}
