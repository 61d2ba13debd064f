//! The webhook delivery worker, beside the email worker but apart from it: its own consumer
//! group (`webhooks`) on the ticket event stream, its own connections and its own limits,
//! so a slow receiver never delays an email or the live feed.
//!
//! Two loops. The fan-out (`fanout`) reads events, writes one `webhook_deliveries` row per
//! (event, matching webhook) (unique, so an event read twice adds nothing) and only then
//! acknowledges the entries: an event is never lost across a crash, and entries a stopped
//! worker left are claimed by another after `WEBHOOK_CLAIM_IDLE_MS`. The sender (`send`)
//! takes due rows in batches with one compare-and-set and a lease (`claimed_until`), at most
//! `WEBHOOK_HOOK_CONCURRENCY` requests in flight per webhook in this process and
//! `WEBHOOK_CONCURRENCY` in all, and never a delivery of a ticket while an earlier one of
//! that ticket to the same hook is unfinished, so a receiver sees one ticket's events in
//! order. The recorder (`record`) writes the answers, a batch per transaction; a request
//! holds its place until then. A request whose worker died is sent again once its lease
//! lapses: at least once, the duplicates bounded by the requests in flight at the crash,
//! and a receiver drops them by `webhook-id`.

mod fanout;
mod http;
mod record;
mod send;

use super::config::HookSettings;
use common::stream::EventStream;
use db::entity::outbox::TICKET_EVENTS;
use sea_orm::DatabaseConnection;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::{Notify, Semaphore, mpsc};

/// The consumer group of the webhook workers.
pub const GROUP: &str = "webhooks";

/// Events read from the stream at once.
const BATCH: usize = 100;

/// How long to wait before trying again when the database or the stream is down.
const PAUSE: Duration = Duration::from_secs(1);

/// A running webhook worker.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    stream: EventStream,
    settings: HookSettings,
    client: reqwest::Client,
    consumer: String,
    /// Requests in flight, over every hook.
    sends: Arc<Semaphore>,
    /// The requests in flight from this process, per hook.
    busy: Mutex<HashMap<i64, usize>>,
    /// Attempts made, to the recorder.
    records: mpsc::UnboundedSender<send::Attempt>,
    /// The recorder's end, taken when the worker starts.
    recorder: Mutex<Option<mpsc::UnboundedReceiver<send::Attempt>>>,
    /// Wakes the sender when the fan-out wrote rows or a request ended.
    wake: Notify,
    /// Emails a hook's owner when it is disabled (none in some tests).
    mailer: Option<crate::mailer::Mailer>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("consumer", &self.inner.consumer)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker over `db` and `stream` delivering as `settings` say, under a fresh consumer
    /// name.
    pub fn new(
        db: DatabaseConnection,
        stream: EventStream,
        settings: HookSettings,
    ) -> Result<Self, reqwest::Error> {
        let (records, recorder) = mpsc::unbounded_channel();
        Ok(Self {
            inner: Arc::new(Inner {
                records,
                recorder: Mutex::new(Some(recorder)),
                client: http::client(&settings)?,
                sends: Arc::new(Semaphore::new(settings.concurrency)),
                consumer: format!("webhooks-{}", uuid::Uuid::new_v4()),
                busy: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                mailer: None,
                db,
                stream,
                settings,
            }),
        })
    }

    /// Emails a hook's owner through `mailer` when their hook is disabled (call before
    /// `start`).
    pub fn notifying(mut self, mailer: crate::mailer::Mailer) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.mailer = Some(mailer);
        }
        self
    }

    /// Starts the worker in the background; it runs as long as the process.
    pub fn start(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Fans events out and sends, forever.
    pub async fn run(self) {
        // Stopped with this loop (the set is dropped with it).
        let mut background = tokio::task::JoinSet::new();
        background.spawn(
            self.inner
                .stream
                .clone()
                .tidy_consumers_forever(TICKET_EVENTS, GROUP),
        );
        let recorder = self.inner.recorder.lock().ok().and_then(|mut r| r.take());
        if let Some(recorder) = recorder {
            background.spawn(self.clone().record_forever(recorder));
        }
        background.spawn(self.clone().send_forever());
        self.fan_out_forever().await;
    }

    /// Reads events and writes their deliveries, forever.
    async fn fan_out_forever(&self) {
        let claim_every = (self.inner.settings.claim_idle / 2).max(Duration::from_millis(100));
        let mut last_claim: Option<tokio::time::Instant> = None;
        loop {
            let claim_due = last_claim.is_none_or(|at| at.elapsed() >= claim_every);
            let entries = match self.next_entries(claim_due).await {
                Ok(entries) => entries,
                Err(err) => {
                    tracing::warn!(%err, "webhook worker cannot read the event stream");
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
            while let Err(err) = self.fan_out(&entries).await {
                tracing::warn!(%err, "webhook worker cannot write its deliveries yet");
                tokio::time::sleep(PAUSE).await;
            }
            self.inner.wake.notify_one();
            let ids: Vec<String> = entries.into_iter().map(|e| e.id).collect();
            if let Err(err) = self.inner.stream.ack(TICKET_EVENTS, GROUP, &ids).await {
                // Claimed again later: their rows exist, so that adds nothing.
                tracing::warn!(%err, "cannot acknowledge events");
            }
        }
    }

    /// Entries a stopped worker left (when a claim is due), else new ones (waiting up to a
    /// second for some).
    async fn next_entries(
        &self,
        claim: bool,
    ) -> Result<Vec<common::stream::Entry>, common::stream::StreamError> {
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
}
