//! The hub: follows the stream's ticket events and export progress, keeps the window of recent
//! events for resuming, and hands each event to the subscribers that want it, resolved once
//! per group of subscribers that would get the same answer.

use super::{QUEUE, WINDOW};
use crate::engine;
use crate::http::Gateway;
use axum::extract::ws::Utf8Bytes;
use common::{
    Principal, TicketEventMessage, TicketState,
    export::{self, ExportProgress, PROGRESS_TOPIC},
    stream::{Entry, EventStream, StreamError},
};
use db::entity::outbox::TICKET_EVENTS;
use futures::{
    StreamExt,
    future::{BoxFuture, FutureExt, Shared},
};
use hive_router::{executor::plugins::hooks::on_graphql_params::GraphQLParams, http::Method};
use serde_json::Value;
use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, MutexGuard, Weak},
    time::Duration,
};
use tokio::sync::{Notify, broadcast, mpsc};

/// The variable a delivery's query takes the event's (or the job's) id in.
pub const ID_VARIABLE: &str = "tesseraLiveId";

/// How many entries one read of the stream takes at most.
const READ_BATCH: usize = 500;

/// How long one read of the stream waits for new entries.
const READ_WAIT: Duration = Duration::from_secs(1);

/// How long a resume waits for this replica to catch up with the stream before it decides
/// that the event it names is not in the window.
const CATCH_UP: Duration = Duration::from_secs(2);

/// One ticket event of the stream.
#[derive(Debug)]
pub struct Event {
    /// Its stream entry id.
    pub stream_id: String,
    /// What the relay published.
    pub message: TicketEventMessage,
}

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

/// The query that resolves a delivery for a subscriber, and the user it runs as.
#[derive(Debug)]
pub struct Resolution {
    /// Whose rights it runs with.
    pub user_id: i64,
    /// The query text: the subscription's selection set under `ticketEvent` or `exportJob`.
    pub query: String,
    /// Its operation name.
    pub operation_name: Option<String>,
    /// The subscription's variables the query uses.
    pub variables: serde_json::Map<String, Value>,
    /// Where the result is in `data` (the subscription field's alias or name).
    pub response_key: String,
    /// Subscribers with the same key get the same answer: they share one resolution.
    key: GroupKey,
}

/// What makes subscribers' answers the same (user, query, variables), hashed once.
#[derive(Debug, Clone)]
struct GroupKey {
    text: Arc<str>,
    hash: u64,
}

impl PartialEq for GroupKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}

impl Eq for GroupKey {}

impl std::hash::Hash for GroupKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl Resolution {
    /// A resolution of `query` for `user_id`.
    pub fn new(
        user_id: i64,
        query: String,
        operation_name: Option<String>,
        variables: serde_json::Map<String, Value>,
        response_key: String,
    ) -> Self {
        let key = format!(
            "{user_id}\u{0}{query}\u{0}{}\u{0}{}",
            operation_name.as_deref().unwrap_or_default(),
            Value::Object(variables.clone())
        );
        let hash = {
            use std::hash::{BuildHasher, RandomState};
            static STATE: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
            STATE.get_or_init(RandomState::new).hash_one(&key)
        };
        Self {
            user_id,
            query,
            operation_name,
            variables,
            response_key,
            key: GroupKey {
                text: key.into(),
                hash,
            },
        }
    }
}

/// One delivery's answer, shared by the subscribers of a group: the `next` message's payload,
/// and the messages built from it (one per subscription id: clients mostly use the same few).
#[derive(Debug)]
pub struct Resolved {
    body: Arc<str>,
    frames: Mutex<Vec<(Box<str>, Utf8Bytes)>>,
}

/// How many distinct subscription ids a shared answer keeps built messages for.
const FRAMES: usize = 8;

impl Resolved {
    /// An answer with this payload.
    pub fn new(body: Arc<str>) -> Self {
        Self {
            body,
            frames: Mutex::new(Vec::new()),
        }
    }

    /// The `next` message for subscription `id`, built once per id and then shared.
    pub fn next_message(&self, id: &str) -> Utf8Bytes {
        let mut frames = self
            .frames
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, frame)) = frames.iter().find(|(known, _)| &**known == id) {
            return frame.clone();
        }
        let frame = super::ws::next_text(id, &self.body);
        if frames.len() < FRAMES {
            frames.push((id.into(), frame.clone()));
        }
        frame
    }
}

/// A delivery's answer once resolved, or `None` when the subscriber may not see it after all
/// (ticket-service said so) or its account ended.
pub type Outcome = Shared<BoxFuture<'static, Option<Arc<Resolved>>>>;

/// One thing to send a subscriber, in order.
#[derive(Debug)]
pub struct Delivery {
    /// The payload, resolving.
    pub outcome: Outcome,
    /// The last delivery of the subscription (an export that finished).
    pub last: bool,
}

/// Resolves one delivery in the background and shares the answer.
fn resolve(gateway: &Arc<Gateway>, resolution: Arc<Resolution>, id: i64) -> Outcome {
    let gateway = gateway.clone();
    let task = tokio::spawn(async move {
        run_resolution(&gateway, &resolution, id)
            .await
            .map(|body| Arc::new(Resolved::new(body)))
    });
    async move { task.await.ok().flatten() }.boxed().shared()
}

/// Runs a delivery's query through the engine as the subscriber's user.
pub async fn run_resolution(
    gateway: &Gateway,
    resolution: &Resolution,
    id: i64,
) -> Option<Arc<str>> {
    let token = match gateway.caller(resolution.user_id).await {
        Ok(Some(caller)) => caller.token,
        // The account ended: the connection's own check closes it.
        Ok(None) => return None,
        Err(err) => {
            let body = crate::gql::error_body(&[err]);
            return String::from_utf8(body).ok().map(Arc::from);
        }
    };
    let mut variables = resolution.variables.clone();
    variables.insert(ID_VARIABLE.to_string(), Value::String(id.to_string()));
    let request = serde_json::json!({
        "query": resolution.query,
        "operationName": resolution.operation_name,
        "variables": variables,
    });
    let params: GraphQLParams = hive_router::sonic_rs::from_str(&request.to_string()).ok()?;
    let response = gateway
        .engine
        .execute(engine::Request {
            params,
            method: Method::POST,
            token,
            allow_introspection: false,
            authorize: None,
            // Reports of one export come quickly one after another: the last one's read must
            // not join the previous one's, begun before the job was marked DONE.
            fresh: true,
        })
        .await;
    let body = String::from_utf8(response.body).ok()?;
    let value: Value = serde_json::from_str(&body).ok()?;
    let errors = value
        .get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errors| !errors.is_empty());
    let empty = value
        .get("data")
        .and_then(|data| data.get(&resolution.response_key))
        .is_none_or(Value::is_null);
    // Null without an error: ticket-service says this subscriber may not see it.
    if empty && !errors {
        return None;
    }
    Some(body.into())
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

#[derive(Default)]
struct State {
    /// The latest ticket events, oldest first.
    window: VecDeque<Arc<Event>>,
    /// The event ids in the window (an event the relay sent twice is handed out once).
    seen: HashSet<i64>,
    /// The last ticket-events entry read.
    position: Option<String>,
    tickets: HashMap<u64, Subscriber>,
    exports: HashMap<u64, ExportSubscriber>,
    next: u64,
}

/// Live updates of one gateway process.
pub struct Hub {
    stream: EventStream,
    state: Mutex<State>,
    open: prometheus::IntGauge,
    ended: broadcast::Sender<Arc<str>>,
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
            ended: broadcast::channel(1024).0,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed in a way that
        // matters more than stopping live updates would.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tells every replica's connections that a session ended (logout): they close at once.
    /// Sessions are named by the hash of their id (`session_tag`), never by the id itself.
    pub fn session_ended(&self, session_id: &str) {
        let tag: Arc<str> = session_tag(session_id).into();
        // No connection listening is not an error.
        let _ = self.ended.send(tag.clone());
        if let Some(redis) = self.stream.in_redis() {
            let mut conn = redis.conn().clone();
            let channel = ended_channel(redis.prefix());
            tokio::spawn(async move {
                let published: Result<i64, _> = redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(&*tag)
                    .query_async(&mut conn)
                    .await;
                if let Err(err) = published {
                    // The other replicas still close it at their next check of the session.
                    tracing::warn!(%err, "live updates: could not announce a logout");
                }
            });
        }
    }

    /// The tags of sessions that end from now on (`session_tag`).
    pub fn ended_sessions(&self) -> broadcast::Receiver<Arc<str>> {
        self.ended.subscribe()
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
        let subscriber = |tx| Subscriber {
            filter: filter.clone(),
            principal: principal.clone(),
            resolution: resolution.clone(),
            tx,
            kick: kick.clone(),
        };
        if let Some(after) = after
            && !self.in_window(after)
        {
            // Perhaps this replica has not read it yet (the client saw it through another
            // one): wait until it has read as far as the stream goes now.
            self.catch_up().await;
        }
        let mut state = self.lock();
        let (tx, rx) = mpsc::channel(QUEUE);
        let subscriber = subscriber(tx);
        let replay = match after {
            None => Vec::new(),
            Some(after) => {
                let Some(at) = state
                    .window
                    .iter()
                    .rposition(|e| e.message.event_id == after)
                else {
                    return Err(ResumeError::Unknown(after));
                };
                state
                    .window
                    .iter()
                    .skip(at + 1)
                    .filter(|e| subscriber.wants(&e.message))
                    .cloned()
                    .collect()
            }
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
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut state = self.lock();
        let id = state.next;
        state.next += 1;
        state.exports.insert(
            id,
            ExportSubscriber {
                job_id,
                principal,
                resolution,
                tx,
                kick,
            },
        );
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
        self.lock().seen.contains(&event_id)
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
                .position
                .as_deref()
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
    fn preload(&self, entries: Vec<Entry>) {
        let mut state = self.lock();
        for entry in entries {
            state.position = Some(entry.id.clone());
            if let Ok(message) = serde_json::from_str::<TicketEventMessage>(&entry.payload) {
                push(&mut state, entry.id, message);
            }
        }
    }

    /// Hands one ticket event to every subscriber that wants it, resolving it once per group
    /// of subscribers with `resolve`.
    fn dispatch_ticket_event(
        &self,
        entry: Entry,
        resolve: impl Fn(Arc<Resolution>, i64) -> Outcome,
    ) {
        let message = match serde_json::from_str::<TicketEventMessage>(&entry.payload) {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(%err, id = %entry.id, "live: skipped a ticket event that does not parse");
                self.lock().position = Some(entry.id);
                return;
            }
        };
        let mut state = self.lock();
        state.position = Some(entry.id.clone());
        let Some(event) = push(&mut state, entry.id, message) else {
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
            if subscriber
                .tx
                .try_send(Delivery {
                    outcome,
                    last: false,
                })
                .is_err()
            {
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
    fn dispatch_progress(&self, gateway: &Arc<Gateway>, progress: &ExportProgress) {
        let mut state = self.lock();
        let mut slow = Vec::new();
        for (id, subscriber) in &state.exports {
            if subscriber.job_id != progress.job_id
                || !export::may_read(&subscriber.principal, progress.requested_by)
            {
                continue;
            }
            let outcome = resolve(gateway, subscriber.resolution.clone(), progress.job_id);
            if subscriber
                .tx
                .try_send(Delivery {
                    outcome,
                    last: progress.is_final(),
                })
                .is_err()
            {
                slow.push(*id);
            }
        }
        for id in slow {
            if let Some(subscriber) = state.exports.remove(&id) {
                subscriber.kick.notify_one();
            }
        }
    }
}

/// How a session is named when its end is announced: the hash its store keys it by.
pub fn session_tag(session_id: &str) -> String {
    crate::sessions::hash(session_id)
}

fn ended_channel(prefix: &str) -> String {
    format!("{prefix}:sessions-ended")
}

/// Passes the logouts other replicas announce in Redis to this process's connections.
async fn listen_for_logouts(gateway: Weak<Gateway>) {
    let Some((client, channel, ended)) = gateway.upgrade().and_then(|g| {
        let redis = g.live.stream.in_redis()?;
        Some((
            redis.client().clone(),
            ended_channel(redis.prefix()),
            g.live.ended.clone(),
        ))
    }) else {
        return;
    };
    loop {
        let listened: Result<(), redis::RedisError> = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            let mut messages = pubsub.on_message();
            while let Some(message) = messages.next().await {
                if gateway.strong_count() == 0 {
                    return Ok(());
                }
                if let Ok(tag) = message.get_payload::<String>() {
                    let _ = ended.send(tag.into());
                }
            }
            Ok(())
        }
        .await;
        if gateway.strong_count() == 0 {
            return;
        }
        if let Err(err) = listened {
            tracing::warn!(%err, "live updates: not hearing logouts from Redis; retrying");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Adds an event to the window; `None` when the window has it already (sent twice).
fn push(state: &mut State, stream_id: String, message: TicketEventMessage) -> Option<Arc<Event>> {
    if !state.seen.insert(message.event_id) {
        return None;
    }
    let event = Arc::new(Event { stream_id, message });
    state.window.push_back(event.clone());
    while state.window.len() > WINDOW {
        if let Some(old) = state.window.pop_front() {
            state.seen.remove(&old.message.event_id);
        }
    }
    Some(event)
}

/// Starts following the stream for `gateway`'s live updates: ticket events and export
/// progress. The followers stop when the gateway is dropped.
pub fn start(gateway: &Arc<Gateway>) {
    let weak = Arc::downgrade(gateway);
    tokio::spawn(follow_ticket_events(weak.clone()));
    tokio::spawn(follow_progress(weak.clone()));
    tokio::spawn(listen_for_logouts(weak));
}

/// Retries until the stream answers, or gives up when the gateway is gone.
async fn until_ok<T, F, Fut>(gateway: &Weak<Gateway>, what: &str, mut call: F) -> Option<T>
where
    F: FnMut(EventStream) -> Fut,
    Fut: std::future::Future<Output = Result<T, StreamError>>,
{
    let mut wait = Duration::from_millis(100);
    loop {
        let stream = gateway.upgrade()?.live.stream.clone();
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

async fn follow_ticket_events(gateway: Weak<Gateway>) {
    let Some(recent) = until_ok(&gateway, "the ticket events", |stream| async move {
        stream.last(TICKET_EVENTS, WINDOW).await
    })
    .await
    else {
        return;
    };
    let position = recent.last().map(|e| e.id.clone());
    match gateway.upgrade() {
        Some(strong) => strong.live.preload(recent),
        None => return,
    }
    follow(gateway, TICKET_EVENTS, position, |strong, entry| {
        strong
            .live
            .dispatch_ticket_event(entry, |resolution, id| resolve(strong, resolution, id));
    })
    .await;
}

async fn follow_progress(gateway: Weak<Gateway>) {
    // Progress matters only from now on: a subscriber first gets the job as it stands.
    let Some(last) = until_ok(&gateway, "export progress", |stream| async move {
        stream.last(PROGRESS_TOPIC, 1).await
    })
    .await
    else {
        return;
    };
    let position = last.last().map(|e| e.id.clone());
    follow(
        gateway,
        PROGRESS_TOPIC,
        position,
        |strong, entry| match serde_json::from_str::<ExportProgress>(&entry.payload) {
            Ok(progress) => strong.live.dispatch_progress(strong, &progress),
            Err(err) => {
                tracing::warn!(%err, "live updates: skipped a progress report that does not parse");
            }
        },
    )
    .await;
}

/// Reads `topic` after `position` for as long as the gateway lives, handing every entry to
/// `handle` in order (after telling the engine that data changed); a read that fails is
/// retried a second later from the same place.
async fn follow(
    gateway: Weak<Gateway>,
    topic: &str,
    mut position: Option<String>,
    handle: impl Fn(&Arc<Gateway>, Entry),
) {
    let mut follower = match gateway.upgrade() {
        Some(strong) => strong.live.stream.follower(topic),
        None => return,
    };
    loop {
        let read = follower
            .next_after(position.as_deref(), READ_BATCH, READ_WAIT)
            .await;
        let Some(strong) = gateway.upgrade() else {
            return;
        };
        match read {
            Ok(entries) => {
                if !entries.is_empty() {
                    // Something changed: a read from now on must not join one begun before.
                    strong.engine.changed();
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

#[cfg(test)]
mod tests {
    use super::*;
    use common::{Role, TicketEventKind};

    fn message(
        event_id: i64,
        ticket_id: i64,
        owner: i64,
        state: TicketState,
    ) -> TicketEventMessage {
        TicketEventMessage {
            event_id,
            ticket_id,
            ticket_number: ticket_id,
            kind: TicketEventKind::StateChanged,
            actor_id: 1,
            from_state: None,
            to_state: Some(state),
            state,
            owner_id: owner,
            supervisor_ids: vec![],
            applicant: None,
            detail: None,
            at: chrono::Utc::now(),
        }
    }

    fn entry(id: i64, owner: i64) -> Entry {
        Entry {
            id: format!("{id}-0"),
            payload: serde_json::to_string(&message(id, id, owner, TicketState::Granted)).unwrap(),
        }
    }

    #[tokio::test]
    async fn subscribers_alike_share_a_resolution_and_a_slow_one_is_let_go() {
        let hub = Hub::new(
            EventStream::memory(),
            prometheus::IntGauge::new("open", "open").unwrap(),
        );
        let office = Principal::user(3, vec![Role::GradOffice], vec![]);
        let same = Arc::new(Resolution::new(
            3,
            "q".into(),
            None,
            Default::default(),
            "k".into(),
        ));
        let kick = Arc::new(Notify::new());
        let mut fast = Vec::new();
        for _ in 0..2 {
            // Equal resolutions, separately built: grouped by key, not by pointer.
            let resolution = Arc::new(Resolution::new(
                3,
                "q".into(),
                None,
                Default::default(),
                "k".into(),
            ));
            fast.push(
                hub.subscribe_tickets(
                    Filter::default(),
                    office.clone(),
                    resolution,
                    Arc::new(Notify::new()),
                    None,
                )
                .await
                .unwrap(),
            );
        }
        let slow = hub
            .subscribe_tickets(Filter::default(), office, same, kick.clone(), None)
            .await
            .unwrap();
        let resolved = std::sync::atomic::AtomicUsize::new(0);
        let resolve = |_: Arc<Resolution>, id: i64| -> Outcome {
            resolved.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            futures::future::ready(Some(Arc::new(Resolved::new(id.to_string().into()))))
                .boxed()
                .shared()
        };
        for id in 1..=QUEUE as i64 {
            hub.dispatch_ticket_event(entry(id, 7), resolve);
            for subscription in &mut fast {
                let delivery = subscription.live.recv().await.unwrap();
                let resolved = delivery.outcome.await.unwrap();
                assert_eq!(&*resolved.body, id.to_string().as_str());
                // One message per subscription id, shared by everyone who uses that id.
                let a = resolved.next_message("1");
                assert_eq!(a, resolved.next_message("1"));
                assert_eq!(
                    a.as_str(),
                    format!(r#"{{"id":"1","type":"next","payload":{id}}}"#)
                );
            }
        }
        assert_eq!(
            resolved.load(std::sync::atomic::Ordering::SeqCst),
            QUEUE,
            "one per event"
        );
        assert_eq!(
            hub.lock().tickets.len(),
            3,
            "the slow one is still within its queue"
        );
        // One more than its queue holds: it is let go and told so, the others go on.
        hub.dispatch_ticket_event(entry(QUEUE as i64 + 1, 7), resolve);
        assert_eq!(hub.lock().tickets.len(), 2);
        tokio::time::timeout(Duration::from_secs(5), kick.notified())
            .await
            .unwrap();
        for subscription in &mut fast {
            assert!(subscription.live.recv().await.is_some());
        }
        assert_eq!(
            hub.open.get(),
            3,
            "until the connection drops the registration"
        );
        drop(slow);
        assert_eq!(hub.open.get(), 2);
    }

    #[test]
    fn filters_match_by_ticket_and_by_state() {
        let m = message(1, 5, 7, TicketState::Granted);
        assert!(Filter::default().matches(&m));
        assert!(
            Filter {
                ticket_id: Some(5),
                states: None
            }
            .matches(&m)
        );
        assert!(
            !Filter {
                ticket_id: Some(6),
                states: None
            }
            .matches(&m)
        );
        assert!(
            Filter {
                ticket_id: None,
                states: Some(vec![TicketState::Initial, TicketState::Granted])
            }
            .matches(&m)
        );
        assert!(
            !Filter {
                ticket_id: None,
                states: Some(vec![TicketState::Initial])
            }
            .matches(&m)
        );
    }

    #[tokio::test]
    async fn a_resume_gets_what_followed_its_event_and_the_window_is_bounded() {
        let hub = Hub::new(
            EventStream::memory(),
            prometheus::IntGauge::new("open", "open").unwrap(),
        );
        let entries = (1..=WINDOW as i64 + 5)
            .map(|i| Entry {
                id: format!("{i}-0"),
                payload: serde_json::to_string(&message(i, i % 3, 7, TicketState::Granted))
                    .unwrap(),
            })
            .collect();
        hub.preload(entries);
        // An event sent twice is kept once.
        hub.preload(vec![Entry {
            id: "999999-0".into(),
            payload: serde_json::to_string(&message(20, 2, 7, TicketState::Granted)).unwrap(),
        }]);
        assert_eq!(hub.lock().window.len(), WINDOW);
        let owner = Principal::user(7, vec![Role::Faculty], vec![]);
        let resolution = Arc::new(Resolution::new(
            7,
            "q".into(),
            None,
            Default::default(),
            "k".into(),
        ));
        let filter = Filter {
            ticket_id: Some(1),
            states: None,
        };
        let after = WINDOW as i64 - 5;
        let sub = hub
            .subscribe_tickets(
                filter.clone(),
                owner.clone(),
                resolution.clone(),
                Arc::new(Notify::new()),
                Some(after),
            )
            .await
            .unwrap();
        let ids: Vec<i64> = sub.replay.iter().map(|e| e.message.event_id).collect();
        let expected: Vec<i64> = ((after + 1)..=WINDOW as i64 + 5)
            .filter(|i| i % 3 == 1)
            .collect();
        assert_eq!(ids, expected);
        assert_eq!(hub.open.get(), 1);
        drop(sub);
        assert_eq!(hub.open.get(), 0);
        assert!(hub.lock().tickets.is_empty());
        // Fell out of the window: refused, not silently resumed with a gap.
        let refused = hub
            .subscribe_tickets(filter, owner, resolution, Arc::new(Notify::new()), Some(3))
            .await
            .unwrap_err();
        assert_eq!(refused, ResumeError::Unknown(3));
        // Someone else's tickets are not replayed to a faculty member.
        let other = Principal::user(8, vec![Role::Faculty], vec![]);
        let sub = hub
            .subscribe_tickets(
                Filter::default(),
                other,
                Arc::new(Resolution::new(
                    8,
                    "q".into(),
                    None,
                    Default::default(),
                    "k".into(),
                )),
                Arc::new(Notify::new()),
                Some(after),
            )
            .await
            .unwrap();
        assert!(sub.replay.is_empty());
    }
}
