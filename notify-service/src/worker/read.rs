//! The worker's side of the event stream: new events or those a stopped worker left, the
//! acknowledgement once an event's emails are all recorded, and the renewal that keeps the
//! events this worker still holds from being taken over while it lives.

use super::{BATCH, GROUP, Worker};
use common::stream::{Entry, StreamError};
use db::entity::outbox::TICKET_EVENTS;
use std::time::Duration;

impl Worker {
    /// Entries a dead worker left (when a claim is due), else new ones (waiting up to a
    /// second for some).
    pub(super) async fn next_entries(&self, claim: bool) -> Result<Vec<Entry>, StreamError> {
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

    /// Marks `entries` as held by this worker (renewed until acknowledged).
    pub(super) fn hold(&self, entries: &[Entry]) {
        if let Ok(mut holding) = self.inner.holding.lock() {
            holding.extend(entries.iter().map(|e| e.id.clone()));
        }
    }

    pub(super) async fn ack(&self, ids: &[String]) {
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
    pub(super) async fn renew_forever(self) {
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
}
