//! The hub: the subscribers of this process and the event window, and the hand-off of each
//! event (or export progress report, or inbox change) to the subscribers that want it,
//! resolved once per group of subscribers that would get the same answer. It knows the rest
//! of the gateway only through the resolver it is handed (`resolve::Resolve`), so it can be
//! tested alone.

use super::QUEUE;
use super::resolve::{Delivery, GroupKey, Outcome, Resolution};
use super::window::{Event, Window};
use common::{
    Principal, TicketEventMessage, TicketState,
    export::{self, ExportProgress},
    inbox::InboxChange,
    stream::{Entry, EventStream},
};
use db::entity::outbox::TICKET_EVENTS;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use tokio::sync::{Notify, mpsc};

/// How long a resume waits for this replica to catch up with the stream before it decides
/// that the event it names is not in the window.
const CATCH_UP: Duration = Duration::from_secs(2);

/// What a `ticketEvents` subscription asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this ticket's events.
    pub ticket_id: Option<i64>,
    /// Only events that leave their ticket in one of these states.
    pub states: Option<Vec<TicketState>>,
}

impl Filter {
    fn matches(&self, message: &TicketEventMessage) -> bool {
        self.ticket_id.is_none_or(|id| id == message.ticket_id)
            && self
                .states
                .as_ref()
                .is_none_or(|states| states.contains(&message.state))
    }
}

struct Subscriber {
    filter: Filter,
    principal: Principal,
    resolution: Arc<Resolution>,
    tx: mpsc::Sender<Delivery>,
    kick: Arc<Notify>,
}

impl Subscriber {
    fn wants(&self, message: &TicketEventMessage) -> bool {
        self.filter.matches(message)
            && self
                .principal
                .can_see_ticket(message.owner_id, &message.supervisor_ids)
    }
}

struct ExportSubscriber {
    job_id: i64,
    principal: Principal,
    resolution: Arc<Resolution>,
    tx: mpsc::Sender<Delivery>,
    kick: Arc<Notify>,
}

/// An `inboxUnreadCount` subscriber: the user whose inbox it counts.
struct InboxSubscriber {
    user_id: i64,
    resolution: Arc<Resolution>,
    tx: mpsc::Sender<Delivery>,
    kick: Arc<Notify>,
}

#[derive(Default)]
struct State {
    window: Window,
    tickets: HashMap<u64, Subscriber>,
    exports: HashMap<u64, ExportSubscriber>,
    inboxes: HashMap<u64, InboxSubscriber>,
    next: u64,
}

/// Live updates of one gateway process.
pub struct Hub {
    stream: EventStream,
    state: Mutex<State>,
    open: prometheus::IntGauge,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

/// A subscription's place in the hub; dropping it unsubscribes.
#[derive(Debug)]
pub struct Registration {
    hub: Arc<Hub>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        state.tickets.remove(&self.id);
        state.exports.remove(&self.id);
        state.inboxes.remove(&self.id);
        self.hub.open.dec();
    }
}

/// A `ticketEvents` subscriber, registered.
#[derive(Debug)]
pub struct TicketSubscription {
    /// Keeps it registered.
    pub registration: Registration,
    /// What it missed since `after`, oldest first: to resolve and send before `live`.
    pub replay: Vec<Arc<Event>>,
    /// Live deliveries from now on.
    pub live: mpsc::Receiver<Delivery>,
}

/// Why a resume was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResumeError {
    /// The event is not among the last `WINDOW` of the stream (or never was an event).
    #[error(
        "event {0} is not among the recent events this server keeps; reload, then subscribe without `after`"
    )]
    Unknown(i64),
}

impl Hub {
    /// A hub over `stream`, counting open subscriptions in `open`.
    pub fn new(stream: EventStream, open: prometheus::IntGauge) -> Arc<Self> {
        Arc::new(Self {
            stream,
            state: Mutex::new(State::default()),
            open,
        })
    }

    /// The stream the hub follows.
    pub(super) fn stream(&self) -> &EventStream {
        &self.stream
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed in a way that
        // matters more than stopping live updates would.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a `ticketEvents` subscriber. With `after`, the events of the window that
    /// followed that one (and that it wants) come first, then everything live: both are
    /// taken under one lock with the registration, so nothing falls between them.
    pub async fn subscribe_tickets(
        self: &Arc<Self>,
        filter: Filter,
        principal: Principal,
        resolution: Arc<Resolution>,
        kick: Arc<Notify>,
        after: Option<i64>,
    ) -> Result<TicketSubscription, ResumeError> {
        if let Some(after) = after
            && !self.in_window(after)
        {
            // Perhaps this replica has not read it yet (the client saw it through another
            // one): wait until it has read as far as the stream goes now.
            self.catch_up().await;
        }
        let mut state = self.lock();
        let (tx, rx) = mpsc::channel(QUEUE);
        let subscriber = Subscriber {
            filter,
            principal,
            resolution,
            tx,
            kick,
        };
        let replay = match after {
            None => Vec::new(),
            Some(after) => state
                .window
                .after(after)
                .ok_or(ResumeError::Unknown(after))?
                .filter(|e| subscriber.wants(&e.message))
                .cloned()
                .collect(),
        };
        let id = state.next;
        state.next += 1;
        state.tickets.insert(id, subscriber);
        self.open.inc();
        Ok(TicketSubscription {
            registration: Registration {
                hub: self.clone(),
                id,
            },
            replay,
            live: rx,
        })
    }

    /// Registers an `exportProgress` subscriber of job `job_id`.
    pub fn subscribe_export(
        self: &Arc<Self>,
        job_id: i64,
        principal: Principal,
        resolution: Arc<Resolution>,
        kick: Arc<Notify>,
    ) -> (Registration, mpsc::Receiver<Delivery>) {
        self.register(|state, id, tx| {
            let subscriber = ExportSubscriber {
                job_id,
                principal,
                resolution,
                tx,
                kick,
            };
            state.exports.insert(id, subscriber);
        })
    }

    /// Registers an `inboxUnreadCount` subscriber of `user_id`'s inbox.
    pub fn subscribe_inbox(
        self: &Arc<Self>,
        user_id: i64,
        resolution: Arc<Resolution>,
        kick: Arc<Notify>,
    ) -> (Registration, mpsc::Receiver<Delivery>) {
        self.register(|state, id, tx| {
            let subscriber = InboxSubscriber {
                user_id,
                resolution,
                tx,
                kick,
            };
            state.inboxes.insert(id, subscriber);
        })
    }

    /// Registers a subscriber under a fresh id: `add` puts it, with its sending half, in the
    /// state; it counts as open until its `Registration` drops.
    fn register(
        self: &Arc<Self>,
        add: impl FnOnce(&mut State, u64, mpsc::Sender<Delivery>),
    ) -> (Registration, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut state = self.lock();
        let id = state.next;
        state.next += 1;
        add(&mut state, id, tx);
        self.open.inc();
        (
            Registration {
                hub: self.clone(),
                id,
            },
            rx,
        )
    }

    fn in_window(&self, event_id: i64) -> bool {
        self.lock().window.contains(event_id)
    }

    /// Waits (up to `CATCH_UP`) until this hub has read the stream as far as it goes now.
    async fn catch_up(&self) {
        let Ok(last) = self.stream.last(TICKET_EVENTS, 1).await else {
            return;
        };
        let Some(tail) = last.first().map(|e| e.id.clone()) else {
            return;
        };
        let Ok(tail) = common::stream::parse_id(&tail) else {
            return;
        };
        let deadline = tokio::time::Instant::now() + CATCH_UP;
        while tokio::time::Instant::now() < deadline {
            let reached = self
                .lock()
                .window
                .position()
                .and_then(|p| common::stream::parse_id(p).ok())
                .is_some_and(|p| p >= tail);
            if reached {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Takes in the events already on the stream when the gateway starts (for resuming),
    /// without delivering them.
    pub(super) fn preload(&self, entries: Vec<Entry>) {
        let mut state = self.lock();
        for entry in entries {
            state.window.read_to(entry.id.clone());
            if let Ok(message) = serde_json::from_str::<TicketEventMessage>(&entry.payload) {
                state.window.push(entry.id, message);
            }
        }
    }

    /// Hands one ticket event to every subscriber that wants it, resolving it once per group
    /// of subscribers with `resolve`.
    pub(super) fn dispatch_ticket_event(
        &self,
        entry: Entry,
        resolve: impl Fn(Arc<Resolution>, i64) -> Outcome,
    ) {
        let message = match serde_json::from_str::<TicketEventMessage>(&entry.payload) {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(%err, id = %entry.id, "live: skipped a ticket event that does not parse");
                self.lock().window.read_to(entry.id);
                return;
            }
        };
        let mut state = self.lock();
        state.window.read_to(entry.id.clone());
        let Some(event) = state.window.push(entry.id, message) else {
            return;
        };
        let mut outcomes: HashMap<GroupKey, Outcome> = HashMap::new();
        let mut slow = Vec::new();
        for (id, subscriber) in &state.tickets {
            if !subscriber.wants(&event.message) {
                continue;
            }
            let outcome = outcomes
                .entry(subscriber.resolution.key.clone())
                .or_insert_with(|| resolve(subscriber.resolution.clone(), event.message.event_id))
                .clone();
            let delivery = Delivery {
                outcome,
                last: false,
            };
            if subscriber.tx.try_send(delivery).is_err() {
                slow.push(*id);
            }
        }
        for id in slow {
            if let Some(subscriber) = state.tickets.remove(&id) {
                subscriber.kick.notify_one();
            }
        }
    }

    /// Hands one progress report to the subscribers of its job that may read it.
    pub(super) fn dispatch_progress(
        &self,
        progress: &ExportProgress,
        resolve: impl Fn(Arc<Resolution>, i64) -> Outcome,
    ) {
        let mut state = self.lock();
        let mut slow = Vec::new();
        for (id, subscriber) in &state.exports {
            if subscriber.job_id != progress.job_id
                || !export::may_read(&subscriber.principal, progress.requested_by)
            {
                continue;
            }
            let delivery = Delivery {
                outcome: resolve(subscriber.resolution.clone(), progress.job_id),
                last: progress.is_final(),
            };
            if subscriber.tx.try_send(delivery).is_err() {
                slow.push(*id);
            }
        }
        for id in slow {
            if let Some(subscriber) = state.exports.remove(&id) {
                subscriber.kick.notify_one();
            }
        }
    }

    /// Hands an inbox change to the subscribers of the inboxes it names, resolving the count
    /// once per group of subscribers alike (one user's tabs).
    pub(super) fn dispatch_inbox(
        &self,
        change: &InboxChange,
        resolve: impl Fn(Arc<Resolution>, i64) -> Outcome,
    ) {
        let mut state = self.lock();
        let mut outcomes: HashMap<GroupKey, Outcome> = HashMap::new();
        let mut slow = Vec::new();
        for (id, subscriber) in &state.inboxes {
            if !change.users.contains(&subscriber.user_id) {
                continue;
            }
            let outcome = outcomes
                .entry(subscriber.resolution.key.clone())
                .or_insert_with(|| resolve(subscriber.resolution.clone(), subscriber.user_id))
                .clone();
            let delivery = Delivery {
                outcome,
                last: false,
            };
            if subscriber.tx.try_send(delivery).is_err() {
                slow.push(*id);
            }
        }
        for id in slow {
            if let Some(subscriber) = state.inboxes.remove(&id) {
                subscriber.kick.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests;
