//! The event stream: an append-only log per topic with consumer groups, Redis Streams when
//! `REDIS_URL` is set (shared by every process, `redis.rs`) and an in-process equivalent
//! otherwise (the embedded default, `memory.rs`). Both keep the contract written on `Log`.
//!
//! `EventStream` is the handle the rest of the code holds: cheap to clone, with one method per
//! operation that hands the call to the implementation chosen at start. It is an enum over
//! the two rather than an `Arc<dyn Log>`: the set is closed (configuration picks one of two),
//! the calls stay statically dispatched with no boxed future per publish or read (measured
//! against the interleaved version it replaced: the same time per publish, group read and
//! follow, in process and in Redis), and the implementations are plain `async fn`s. The
//! handle alone checks what both would (ids well formed before any work, nothing to do for
//! no ids).

mod memory;
mod redis;

pub use self::memory::Memory;
pub use self::redis::{
    REDIS_CONNECT_TIMEOUT, REDIS_RESPONSE_TIMEOUT, Redis, redis_blocking_connection, redis_manager,
};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::sync::broadcast;

/// How many entries the in-process log keeps per topic (Redis keeps them with `MAXLEN ~`).
pub const MAX_LEN: usize = 100_000;

/// A consumer of a group that holds nothing and was handed nothing for this long is
/// forgotten: most likely its process is gone, and if it was only quiet, its next read
/// creates it again.
pub const FORGET_CONSUMERS_AFTER: Duration = Duration::from_secs(60 * 60);

/// How often workers look for such consumers.
const TIDY_EVERY: Duration = Duration::from_secs(10 * 60);

/// How many live entries a slow follower may fall behind before it misses some.
const FOLLOW_BUFFER: usize = 4096;

/// One entry of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `ms-seq`, increasing.
    pub id: String,
    /// The payload (JSON).
    pub payload: String,
}

/// Why the stream could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Redis is unreachable or refused the command.
    #[error("event stream unavailable: {0}")]
    Unavailable(String),
    /// An entry id that is not `ms-seq`.
    #[error("`{0}` is not an event stream id")]
    BadId(String),
}

/// `ms-seq` as a comparable pair.
pub fn parse_id(id: &str) -> Result<(u64, u64), StreamError> {
    let bad = || StreamError::BadId(id.to_string());
    let (ms, seq) = id.split_once('-').ok_or_else(bad)?;
    Ok((
        ms.parse().map_err(|_| bad())?,
        seq.parse().map_err(|_| bad())?,
    ))
}

fn format_id(id: (u64, u64)) -> String {
    format!("{}-{}", id.0, id.1)
}

/// What an event stream keeps, whichever holds it:
///
/// - every entry of a topic has an id `ms-seq` greater than the one before it;
/// - a consumer group hands each entry to one of its consumers and keeps it pending, with
///   that consumer and when, until acknowledged; a group read for the first time starts at
///   the beginning of the topic;
/// - entries a consumer left pending too long (it died) can be claimed by another, and a live
///   consumer renews those it still works on so that they are not;
/// - anyone can read a topic after a given id (resuming subscribers), its newest entries, or
///   follow it as entries arrive, without a group.
///
/// A missing topic or group is empty, never an error.
pub trait Log: Send + Sync {
    /// How this implementation follows a topic.
    type Follower: Follow;

    /// Appends `payload` to `topic` and returns its id.
    fn publish(
        &self,
        topic: &str,
        payload: &str,
    ) -> impl Future<Output = Result<String, StreamError>> + Send;

    /// Up to `count` entries after `after`, oldest first.
    fn read_after(
        &self,
        topic: &str,
        after: (u64, u64),
        count: usize,
    ) -> impl Future<Output = Result<Vec<Entry>, StreamError>> + Send;

    /// Up to `count` entries `group` has handed to no one yet, now pending for `consumer`,
    /// waiting up to `block` for some; the group is created at the start of the topic.
    fn read_group(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> impl Future<Output = Result<Vec<Entry>, StreamError>> + Send;

    /// Drops `ids` from `group`'s pending entries (`ids` is not empty).
    fn ack(
        &self,
        topic: &str,
        group: &str,
        ids: &[String],
    ) -> impl Future<Output = Result<(), StreamError>> + Send;

    /// Hands `consumer` up to `count` pending entries of `group` idle for `min_idle`.
    fn claim_stale(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> impl Future<Output = Result<Vec<Entry>, StreamError>> + Send;

    /// Makes those of `ids` that `consumer` still holds as if just handed to it (`ids` is not
    /// empty); the others are left with their holder.
    fn renew(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
    ) -> impl Future<Output = Result<(), StreamError>> + Send;

    /// Removes `group`'s consumers that hold nothing and have not read for `min_idle`, and
    /// says how many.
    fn forget_idle_consumers(
        &self,
        topic: &str,
        group: &str,
        min_idle: Duration,
    ) -> impl Future<Output = Result<usize, StreamError>> + Send;

    /// The newest `count` entries of `topic`, oldest first.
    fn last(
        &self,
        topic: &str,
        count: usize,
    ) -> impl Future<Output = Result<Vec<Entry>, StreamError>> + Send;

    /// A reader of `topic` that waits for new entries.
    fn follower(self: &Arc<Self>, topic: &str) -> Self::Follower;

    /// New entries of `topic` as they are appended, when this implementation can push them.
    fn follow(&self, topic: &str) -> Option<broadcast::Receiver<Entry>>;
}

/// Reads one topic on from any entry, waiting for new ones.
pub trait Follow: Send {
    /// Up to `count` entries after `after`, waiting up to `block` for the first.
    fn next_after(
        &mut self,
        after: (u64, u64),
        count: usize,
        block: Duration,
    ) -> impl Future<Output = Result<Vec<Entry>, StreamError>> + Send;
}

/// The event stream, in this process or in Redis (see the module's doc for why an enum).
#[derive(Clone)]
pub struct EventStream(Backend);

#[derive(Clone)]
enum Backend {
    Memory(Arc<Memory>),
    Redis(Arc<Redis>),
}

/// Calls the same `Log` method on whichever implementation `$stream` holds.
macro_rules! delegate {
    ($stream:expr, $log:ident => $call:expr) => {
        match &$stream.0 {
            Backend::Memory($log) => $call,
            Backend::Redis($log) => $call,
        }
    };
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Backend::Memory(_) => f.write_str("EventStream::Memory"),
            Backend::Redis(redis) => write!(f, "EventStream::Redis({})", redis.prefix()),
        }
    }
}

impl EventStream {
    /// Redis Streams when `REDIS_URL` is set, else a fresh in-process stream.
    pub async fn connect(settings: &crate::config::CommonSettings) -> Result<Self, StreamError> {
        match &settings.redis_url {
            Some(url) => {
                Self::redis(::redis::Client::open(url.as_str())?, &settings.redis_prefix).await
            }
            None => Ok(Self::memory()),
        }
    }

    /// `connect`, for a process starting up: a failure names the setting to look at.
    pub async fn open(settings: &crate::config::CommonSettings) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        Self::connect(settings)
            .await
            .context("REDIS_URL: cannot connect")
    }

    /// An in-process stream.
    pub fn memory() -> Self {
        Self(Backend::Memory(Arc::new(Memory::default())))
    }

    /// A stream in Redis; topics become `<prefix>:stream:<topic>`.
    pub async fn redis(client: ::redis::Client, prefix: &str) -> Result<Self, StreamError> {
        Ok(Self(Backend::Redis(Arc::new(
            Redis::connect(client, prefix).await?,
        ))))
    }

    /// The Redis this stream lives in, `None` in process: for what coordinates replicas
    /// beside the stream, on the same Redis and prefix (the relay's lease, logouts).
    pub fn in_redis(&self) -> Option<&Redis> {
        match &self.0 {
            Backend::Redis(redis) => Some(redis),
            Backend::Memory(_) => None,
        }
    }

    /// Appends `payload` to `topic` and returns its id.
    pub async fn publish(&self, topic: &str, payload: &str) -> Result<String, StreamError> {
        delegate!(self, log => log.publish(topic, payload).await)
    }

    /// Up to `count` entries after `after` (from the start when `None`), oldest first.
    pub async fn read_after(
        &self,
        topic: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<Entry>, StreamError> {
        let after = after.map(parse_id).transpose()?.unwrap_or((0, 0));
        delegate!(self, log => log.read_after(topic, after, count).await)
    }

    /// Reads up to `count` new entries for `consumer` of `group` (created at the start of
    /// the topic if missing), waiting up to `block` for some. They stay pending until `ack`.
    pub async fn read_group(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, StreamError> {
        delegate!(self, log => log.read_group(topic, group, consumer, count, block).await)
    }

    /// Acknowledges entries of `group`: they are done and never handed out again.
    pub async fn ack(&self, topic: &str, group: &str, ids: &[String]) -> Result<(), StreamError> {
        if ids.is_empty() {
            return Ok(());
        }
        delegate!(self, log => log.ack(topic, group, ids).await)
    }

    /// Hands `consumer` up to `count` entries of `group` that another consumer took more than
    /// `min_idle` ago and never acknowledged (it died).
    pub async fn claim_stale(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Entry>, StreamError> {
        delegate!(self, log => log.claim_stale(topic, group, consumer, min_idle, count).await)
    }

    /// Renews `consumer`'s claim on those of `ids` it still holds (pending and its own), as
    /// if just handed to it: `claim_stale` then leaves them alone for another `min_idle`. A
    /// live worker calls this for the entries it is still working on, so a short `min_idle`
    /// takes over only a stopped worker's. Entries another consumer took over meanwhile are
    /// left with it.
    pub async fn renew(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
    ) -> Result<(), StreamError> {
        if ids.is_empty() {
            return Ok(());
        }
        delegate!(self, log => log.renew(topic, group, consumer, ids).await)
    }

    /// Removes the consumers of `group` that hold nothing pending and have not read for
    /// `min_idle`, and says how many. Consumers are named per process, so without this every
    /// worker that ever ran would stay listed in the Redis group. The check and the removal
    /// are one script, so an entry handed to a consumer in between is never dropped; a
    /// consumer removed while still alive is created again by its next read. The in-process
    /// stream keeps no consumers beyond their pending entries: nothing to remove.
    pub async fn forget_idle_consumers(
        &self,
        topic: &str,
        group: &str,
        min_idle: Duration,
    ) -> Result<usize, StreamError> {
        delegate!(self, log => log.forget_idle_consumers(topic, group, min_idle).await)
    }

    /// Forever: every `TIDY_EVERY`, forgets the consumers of `group` idle for
    /// `FORGET_CONSUMERS_AFTER` (see `forget_idle_consumers`). Workers run it beside their loop.
    pub async fn tidy_consumers_forever(self, topic: &'static str, group: &'static str) {
        loop {
            tokio::time::sleep(TIDY_EVERY).await;
            match self
                .forget_idle_consumers(topic, group, FORGET_CONSUMERS_AFTER)
                .await
            {
                Ok(0) => {}
                Ok(removed) => {
                    tracing::info!(removed, topic, group, "forgot idle stream consumers")
                }
                Err(err) => tracing::warn!(%err, topic, group, "could not tidy stream consumers"),
            }
        }
    }

    /// The newest `count` entries of `topic`, oldest first.
    pub async fn last(&self, topic: &str, count: usize) -> Result<Vec<Entry>, StreamError> {
        delegate!(self, log => log.last(topic, count).await)
    }

    /// A reader that follows `topic` from any point on, waiting for new entries (every
    /// gateway replica follows the whole stream: no consumer group).
    pub fn follower(&self, topic: &str) -> Follower {
        let following = match &self.0 {
            Backend::Memory(memory) => Following::Memory(memory.follower(topic)),
            Backend::Redis(redis) => Following::Redis(redis.follower(topic)),
        };
        Follower {
            topic: topic.to_string(),
            following,
        }
    }

    /// Follows new entries of `topic` as they are appended (in-process only; with Redis,
    /// followers poll `read_after`). A follower that falls `FOLLOW_BUFFER` entries behind
    /// is told it lagged and can catch up with `read_after`.
    pub fn follow(&self, topic: &str) -> Option<broadcast::Receiver<Entry>> {
        delegate!(self, log => log.follow(topic))
    }
}

/// Follows one topic (`EventStream::follower`). With Redis it waits on a connection of its
/// own, opened on first use and again after an error.
pub struct Follower {
    topic: String,
    following: Following,
}

enum Following {
    Memory(memory::Follower),
    Redis(self::redis::Follower),
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Follower {
    /// Up to `count` entries after `after` (from the start when `None`), waiting up to
    /// `block` for the first when there are none yet.
    pub async fn next_after(
        &mut self,
        after: Option<&str>,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, StreamError> {
        let after = after.map(parse_id).transpose()?.unwrap_or((0, 0));
        match &mut self.following {
            Following::Memory(follower) => follower.next_after(after, count, block).await,
            Following::Redis(follower) => follower.next_after(after, count, block).await,
        }
    }
}

#[cfg(test)]
mod tests;
