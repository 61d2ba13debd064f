//! The stream followers: one reader of the ticket events, one of export progress and one of
//! inbox changes per process, however many subscribers, handing every entry to the hub in
//! order. They stop once the hub is dropped (within a read's wait).

use super::WINDOW;
use super::hub::Hub;
use super::resolve::{Resolve, resolve};
use common::{
    export::{ExportProgress, PROGRESS_TOPIC},
    inbox::{CHANGES_TOPIC, InboxChange},
    stream::{Entry, EventStream, StreamError},
};
use db::entity::outbox::TICKET_EVENTS;
use std::{
    sync::{Arc, Weak},
    time::Duration,
};

/// How many entries one read of the stream takes at most.
const READ_BATCH: usize = 500;

/// How long one read of the stream waits for new entries.
const READ_WAIT: Duration = Duration::from_secs(1);

/// Starts following the stream for `hub`: ticket events, export progress and inbox changes,
/// each delivery resolved by `resolver`.
pub fn start(hub: &Arc<Hub>, resolver: Arc<dyn Resolve>) {
    let weak = Arc::downgrade(hub);
    tokio::spawn(follow_ticket_events(weak.clone(), resolver.clone()));
    tokio::spawn(follow_progress(weak.clone(), resolver.clone()));
    tokio::spawn(follow_inbox(weak, resolver));
}

/// Retries until the stream answers, or gives up when the hub is gone.
async fn until_ok<T, F, Fut>(hub: &Weak<Hub>, what: &str, mut call: F) -> Option<T>
where
    F: FnMut(EventStream) -> Fut,
    Fut: std::future::Future<Output = Result<T, StreamError>>,
{
    let mut wait = Duration::from_millis(100);
    loop {
        let stream = hub.upgrade()?.stream().clone();
        match call(stream).await {
            Ok(value) => return Some(value),
            Err(err) => {
                tracing::warn!(%err, "live updates: cannot read {what}; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn follow_ticket_events(hub: Weak<Hub>, resolver: Arc<dyn Resolve>) {
    let Some(recent) = until_ok(&hub, "the ticket events", |stream| async move {
        stream.last(TICKET_EVENTS, WINDOW).await
    })
    .await
    else {
        return;
    };
    let position = recent.last().map(|e| e.id.clone());
    match hub.upgrade() {
        Some(strong) => strong.preload(recent),
        None => return,
    }
    let changed = resolver.clone();
    follow(hub, &*changed, TICKET_EVENTS, position, |strong, entry| {
        strong.dispatch_ticket_event(entry, |resolution, id| resolve(&resolver, resolution, id));
    })
    .await;
}

async fn follow_progress(hub: Weak<Hub>, resolver: Arc<dyn Resolve>) {
    // Progress matters only from now on: a subscriber first gets the job as it stands.
    let Some(last) = until_ok(&hub, "export progress", |stream| async move {
        stream.last(PROGRESS_TOPIC, 1).await
    })
    .await
    else {
        return;
    };
    let position = last.last().map(|e| e.id.clone());
    let changed = resolver.clone();
    follow(
        hub,
        &*changed,
        PROGRESS_TOPIC,
        position,
        |strong, entry| match serde_json::from_str::<ExportProgress>(&entry.payload) {
            Ok(progress) => strong.dispatch_progress(&progress, |resolution, id| {
                resolve(&resolver, resolution, id)
            }),
            Err(err) => {
                tracing::warn!(%err, "live updates: skipped a progress report that does not parse");
            }
        },
    )
    .await;
}

async fn follow_inbox(hub: Weak<Hub>, resolver: Arc<dyn Resolve>) {
    // Changes matter only from now on: a subscriber first gets the count as it stands.
    let Some(last) = until_ok(&hub, "inbox changes", |stream| async move {
        stream.last(CHANGES_TOPIC, 1).await
    })
    .await
    else {
        return;
    };
    let position = last.last().map(|e| e.id.clone());
    let changed = resolver.clone();
    follow(
        hub,
        &*changed,
        CHANGES_TOPIC,
        position,
        |strong, entry| match serde_json::from_str::<InboxChange>(&entry.payload) {
            Ok(change) => {
                strong.dispatch_inbox(&change, |resolution, id| resolve(&resolver, resolution, id))
            }
            Err(err) => {
                tracing::warn!(%err, "live updates: skipped an inbox change that does not parse");
            }
        },
    )
    .await;
}

/// Reads `topic` after `position` for as long as the hub lives, handing every entry to
/// `handle` in order (after telling `changes` that data changed); a read that fails is
/// retried a second later from the same place.
async fn follow(
    hub: Weak<Hub>,
    changes: &dyn Resolve,
    topic: &str,
    mut position: Option<String>,
    handle: impl Fn(&Hub, Entry),
) {
    let mut follower = match hub.upgrade() {
        Some(strong) => strong.stream().follower(topic),
        None => return,
    };
    loop {
        let read = follower
            .next_after(position.as_deref(), READ_BATCH, READ_WAIT)
            .await;
        let Some(strong) = hub.upgrade() else {
            return;
        };
        match read {
            Ok(entries) => {
                if !entries.is_empty() {
                    // Something changed: a read from now on must not join one begun before.
                    changes.changed();
                }
                for entry in entries {
                    position = Some(entry.id.clone());
                    handle(&strong, entry);
                }
            }
            Err(err) => {
                tracing::warn!(%err, %topic, "live updates: cannot read the stream; retrying");
                drop(strong);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
