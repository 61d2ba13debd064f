//! The event stream: an append-only log per topic with consumer groups, Redis Streams when
//! `REDIS_URL` is set (shared by every process) and an in-process equivalent otherwise (the
//! embedded default). The same semantics either way: entries have increasing ids `ms-seq`;
//! a consumer group hands each entry to one consumer and keeps it pending until acknowledged;
//! entries a dead consumer left pending can be claimed by another; anyone can read the log
//! after a given id (resuming subscribers) or follow new entries live.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tokio::sync::{Notify, broadcast};

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

/// How long opening a Redis connection may take before the attempt fails (a host that
/// drops packets, rather than refusing them, would otherwise hold a caller for minutes).
pub const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long one command on a shared Redis connection may wait for its answer. Blocking reads
/// never run on one (they wait on connections of their own, without this limit).
pub const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

/// A shared Redis connection that fails fast while Redis is away and is whole again at the
/// next command after it returns. The redis crate's default reconnects with an exponential
/// backoff (1 s, then up to 60 s, six times, plus jitter) and makes every command wait for
/// that: a 5-second outage stopped callers for two minutes. Here a reconnect is one attempt
/// (no retries): while it fails every command fails at once, each starting another attempt in
/// the background, so the first command after Redis is back reconnects and the next ones run.
pub async fn redis_manager(
    client: &redis::Client,
) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_exponent_base(2)
        .set_factor(1)
        .set_max_delay(1_000)
        .set_connection_timeout(REDIS_CONNECT_TIMEOUT)
        .set_response_timeout(REDIS_RESPONSE_TIMEOUT);
    redis::aio::ConnectionManager::new_with_config(client.clone(), config).await
}

/// A connection of its own for a blocking read: opening it fails after
/// `REDIS_CONNECT_TIMEOUT`, its reads wait as long as they asked to.
pub async fn redis_blocking_connection(
    client: &redis::Client,
) -> Result<redis::aio::MultiplexedConnection, redis::RedisError> {
    let config = redis::AsyncConnectionConfig::new().set_connection_timeout(REDIS_CONNECT_TIMEOUT);
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

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

impl From<redis::RedisError> for StreamError {
    fn from(err: redis::RedisError) -> Self {
        Self::Unavailable(err.to_string())
    }
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

/// The event stream.
#[derive(Clone)]
pub enum EventStream {
    /// In this process only.
    Memory(Arc<Memory>),
    /// Redis Streams, keys prefixed.
    Redis {
        /// The shared (multiplexed) connection. Never used for a blocking read: Redis answers
        /// a connection's commands in order, so a read blocked on it would hold up every
        /// publish and acknowledgement behind it.
        conn: redis::aio::ConnectionManager,
        /// Opens the connections blocking reads wait on.
        client: redis::Client,
        /// Prepended to topic names.
        prefix: String,
    },
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory(_) => f.write_str("EventStream::Memory"),
            Self::Redis { prefix, .. } => write!(f, "EventStream::Redis({prefix})"),
        }
    }
}

/// The in-process log.
#[derive(Default)]
pub struct Memory {
    topics: Mutex<HashMap<String, Topic>>,
    appended: Notify,
}

struct Topic {
    entries: Vec<((u64, u64), String)>,
    last: (u64, u64),
    groups: HashMap<String, Group>,
    live: broadcast::Sender<Entry>,
}

impl Default for Topic {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            last: (0, 0),
            groups: HashMap::new(),
            live: broadcast::channel(FOLLOW_BUFFER).0,
        }
    }
}

#[derive(Default)]
struct Group {
    /// The last id handed out to the group.
    delivered: (u64, u64),
    /// Entries handed out and not acknowledged: consumer and when.
    pending: BTreeMap<(u64, u64), (String, Instant)>,
}

fn format_id(id: (u64, u64)) -> String {
    format!("{}-{}", id.0, id.1)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

impl Topic {
    fn entry(&self, index: usize) -> Option<Entry> {
        self.entries.get(index).map(|(id, payload)| Entry {
            id: format_id(*id),
            payload: payload.clone(),
        })
    }

    fn find(&self, id: (u64, u64)) -> Option<Entry> {
        self.entries
            .binary_search_by(|(e, _)| e.cmp(&id))
            .ok()
            .and_then(|i| self.entry(i))
    }

    fn first_after(&self, id: (u64, u64)) -> usize {
        self.entries.partition_point(|(e, _)| *e <= id)
    }
}

impl EventStream {
    /// Redis Streams when `REDIS_URL` is set, else a fresh in-process stream.
    pub async fn connect(settings: &crate::config::CommonSettings) -> Result<Self, StreamError> {
        match &settings.redis_url {
            Some(url) => {
                Self::redis(redis::Client::open(url.as_str())?, &settings.redis_prefix).await
            }
            None => Ok(Self::memory()),
        }
    }

    /// An in-process stream.
    pub fn memory() -> Self {
        Self::Memory(Arc::new(Memory::default()))
    }

    /// A stream in Redis; topics become `<prefix>:stream:<topic>`.
    pub async fn redis(client: redis::Client, prefix: &str) -> Result<Self, StreamError> {
        let conn = redis_manager(&client).await?;
        Ok(Self::Redis {
            conn,
            client,
            prefix: prefix.to_string(),
        })
    }

    fn key(prefix: &str, topic: &str) -> String {
        format!("{prefix}:stream:{topic}")
    }

    /// Appends `payload` to `topic` and returns its id.
    pub async fn publish(&self, topic: &str, payload: &str) -> Result<String, StreamError> {
        match self {
            Self::Memory(memory) => {
                let entry = {
                    let mut topics = memory
                        .topics
                        .lock()
                        .map_err(|_| StreamError::Unavailable("poisoned".into()))?;
                    let topic = topics.entry(topic.to_string()).or_default();
                    let ms = now_ms();
                    let id = if ms > topic.last.0 {
                        (ms, 0)
                    } else {
                        (topic.last.0, topic.last.1 + 1)
                    };
                    topic.last = id;
                    topic.entries.push((id, payload.to_string()));
                    if topic.entries.len() > MAX_LEN {
                        let excess = topic.entries.len() - MAX_LEN;
                        topic.entries.drain(..excess);
                    }
                    let entry = Entry {
                        id: format_id(id),
                        payload: payload.to_string(),
                    };
                    // No follower is not an error.
                    let _ = topic.live.send(entry.clone());
                    entry
                };
                memory.appended.notify_waiters();
                Ok(entry.id)
            }
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let id: String = redis::cmd("XADD")
                    .arg(Self::key(prefix, topic))
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(MAX_LEN)
                    .arg("*")
                    .arg("payload")
                    .arg(payload)
                    .query_async(&mut conn)
                    .await?;
                Ok(id)
            }
        }
    }

    /// Up to `count` entries after `after` (from the start when `None`), oldest first.
    pub async fn read_after(
        &self,
        topic: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<Entry>, StreamError> {
        let after = after.map(parse_id).transpose()?.unwrap_or((0, 0));
        match self {
            Self::Memory(memory) => {
                let topics = memory
                    .topics
                    .lock()
                    .map_err(|_| StreamError::Unavailable("poisoned".into()))?;
                let Some(topic) = topics.get(topic) else {
                    return Ok(Vec::new());
                };
                let start = topic.first_after(after);
                Ok((start..topic.entries.len().min(start + count))
                    .filter_map(|i| topic.entry(i))
                    .collect())
            }
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                    .arg(Self::key(prefix, topic))
                    .arg(format!("({}", format_id(after)))
                    .arg("+")
                    .arg("COUNT")
                    .arg(count)
                    .query_async(&mut conn)
                    .await?;
                Ok(reply.ids.into_iter().filter_map(redis_entry).collect())
            }
        }
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
        match self {
            Self::Memory(memory) => {
                let deadline = Instant::now() + block;
                loop {
                    let appended = memory.appended.notified();
                    {
                        let mut topics = memory
                            .topics
                            .lock()
                            .map_err(|_| StreamError::Unavailable("poisoned".into()))?;
                        let topic = topics.entry(topic.to_string()).or_default();
                        let delivered = topic
                            .groups
                            .get(group)
                            .map(|g| g.delivered)
                            .unwrap_or((0, 0));
                        let start = topic.first_after(delivered);
                        let end = topic.entries.len().min(start + count);
                        let batch: Vec<Entry> =
                            (start..end).filter_map(|i| topic.entry(i)).collect();
                        if !batch.is_empty() {
                            let ids: Vec<(u64, u64)> =
                                (start..end).map(|i| topic.entries[i].0).collect();
                            let g = topic.groups.entry(group.to_string()).or_default();
                            for id in ids {
                                g.pending.insert(id, (consumer.to_string(), Instant::now()));
                                g.delivered = id;
                            }
                            return Ok(batch);
                        }
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(Vec::new());
                    }
                    let _ = tokio::time::timeout(left, appended).await;
                }
            }
            Self::Redis {
                conn,
                client,
                prefix,
            } => {
                let mut conn = conn.clone();
                let key = Self::key(prefix, topic);
                let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(&key)
                    .arg(group)
                    .arg("0")
                    .arg("MKSTREAM")
                    .query_async(&mut conn)
                    .await;
                if let Err(err) = created
                    && err.code() != Some("BUSYGROUP")
                {
                    return Err(err.into());
                }
                let read = |block: Option<Duration>| {
                    let mut cmd = redis::cmd("XREADGROUP");
                    cmd.arg("GROUP")
                        .arg(group)
                        .arg(consumer)
                        .arg("COUNT")
                        .arg(count);
                    if let Some(block) = block {
                        cmd.arg("BLOCK")
                            .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1));
                    }
                    cmd.arg("STREAMS").arg(&key).arg(">");
                    cmd
                };
                let entries = |reply: Option<redis::streams::StreamReadReply>| -> Vec<Entry> {
                    reply
                        .into_iter()
                        .flat_map(|r| r.keys)
                        .flat_map(|k| k.ids)
                        .filter_map(redis_entry)
                        .collect()
                };
                // What is there already, on the shared connection; only when nothing is,
                // a wait on a connection of its own.
                let ready = entries(read(None).query_async(&mut conn).await?);
                if !ready.is_empty() || block.is_zero() {
                    return Ok(ready);
                }
                let mut own = redis_blocking_connection(client).await?;
                Ok(entries(read(Some(block)).query_async(&mut own).await?))
            }
        }
    }

    /// Acknowledges entries of `group`: they are done and never handed out again.
    pub async fn ack(&self, topic: &str, group: &str, ids: &[String]) -> Result<(), StreamError> {
        if ids.is_empty() {
            return Ok(());
        }
        match self {
            Self::Memory(memory) => {
                let parsed = ids
                    .iter()
                    .map(|i| parse_id(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut topics = memory
                    .topics
                    .lock()
                    .map_err(|_| StreamError::Unavailable("poisoned".into()))?;
                if let Some(g) = topics.get_mut(topic).and_then(|t| t.groups.get_mut(group)) {
                    for id in parsed {
                        g.pending.remove(&id);
                    }
                }
                Ok(())
            }
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let _: i64 = redis::cmd("XACK")
                    .arg(Self::key(prefix, topic))
                    .arg(group)
                    .arg(ids)
                    .query_async(&mut conn)
                    .await?;
                Ok(())
            }
        }
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
        match self {
            Self::Memory(memory) => {
                let mut topics = memory
                    .topics
                    .lock()
                    .map_err(|_| StreamError::Unavailable("poisoned".into()))?;
                let Some(topic) = topics.get_mut(topic) else {
                    return Ok(Vec::new());
                };
                let Some(g) = topic.groups.get_mut(group) else {
                    return Ok(Vec::new());
                };
                let stale: Vec<(u64, u64)> = g
                    .pending
                    .iter()
                    .filter(|(_, (_, at))| at.elapsed() >= min_idle)
                    .map(|(id, _)| *id)
                    .take(count)
                    .collect();
                for id in &stale {
                    g.pending
                        .insert(*id, (consumer.to_string(), Instant::now()));
                }
                Ok(stale.into_iter().filter_map(|id| topic.find(id)).collect())
            }
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let reply: Result<redis::streams::StreamAutoClaimReply, _> =
                    redis::cmd("XAUTOCLAIM")
                        .arg(Self::key(prefix, topic))
                        .arg(group)
                        .arg(consumer)
                        .arg(u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX))
                        .arg("0-0")
                        .arg("COUNT")
                        .arg(count)
                        .query_async(&mut conn)
                        .await;
                match reply {
                    Ok(reply) => Ok(reply.claimed.into_iter().filter_map(redis_entry).collect()),
                    // No group (or no topic) yet: nothing was ever handed out, so nothing is
                    // stale, as with the in-process stream. `read_group` creates the group.
                    Err(err) if err.code() == Some("NOGROUP") => Ok(Vec::new()),
                    Err(err) => Err(err.into()),
                }
            }
        }
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
        const RENEW: &str = r"
            for i = 3, #ARGV do
                local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
                if #held > 0 then
                    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
                end
            end
            return 0";
        if ids.is_empty() {
            return Ok(());
        }
        match self {
            Self::Memory(memory) => {
                let parsed = ids
                    .iter()
                    .map(|i| parse_id(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut topics = memory
                    .topics
                    .lock()
                    .map_err(|_| StreamError::Unavailable("poisoned".into()))?;
                if let Some(g) = topics.get_mut(topic).and_then(|t| t.groups.get_mut(group)) {
                    for id in parsed {
                        if let Some((owner, at)) = g.pending.get_mut(&id)
                            && owner == consumer
                        {
                            *at = Instant::now();
                        }
                    }
                }
                Ok(())
            }
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let renewed: Result<i64, redis::RedisError> = redis::Script::new(RENEW)
                    .key(Self::key(prefix, topic))
                    .arg(group)
                    .arg(consumer)
                    .arg(ids)
                    .invoke_async(&mut conn)
                    .await;
                match renewed {
                    Ok(_) => Ok(()),
                    Err(err) if err.code() == Some("NOGROUP") => Ok(()),
                    Err(err) => Err(err.into()),
                }
            }
        }
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
        const FORGET: &str = r"
            local removed = 0
            for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
                local fields = {}
                for i = 1, #consumer, 2 do fields[consumer[i]] = consumer[i + 1] end
                if fields['pending'] == 0 and fields['idle'] >= tonumber(ARGV[2]) then
                    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields['name'])
                    removed = removed + 1
                end
            end
            return removed";
        match self {
            Self::Memory(_) => Ok(0),
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let removed: Result<usize, redis::RedisError> = redis::Script::new(FORGET)
                    .key(Self::key(prefix, topic))
                    .arg(group)
                    .arg(u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX))
                    .invoke_async(&mut conn)
                    .await;
                match removed {
                    Ok(removed) => Ok(removed),
                    // No group (or no topic) yet: no consumers either.
                    Err(err)
                        if err.code() == Some("NOGROUP")
                            || (err.code() == Some("ERR")
                                && err.detail().is_some_and(|d| d.starts_with("no such key"))) =>
                    {
                        Ok(0)
                    }
                    Err(err) => Err(err.into()),
                }
            }
        }
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
        match self {
            Self::Memory(memory) => {
                let topics = memory
                    .topics
                    .lock()
                    .map_err(|_| StreamError::Unavailable("poisoned".into()))?;
                let Some(topic) = topics.get(topic) else {
                    return Ok(Vec::new());
                };
                let start = topic.entries.len().saturating_sub(count);
                Ok((start..topic.entries.len())
                    .filter_map(|i| topic.entry(i))
                    .collect())
            }
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
                    .arg(Self::key(prefix, topic))
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(count)
                    .query_async(&mut conn)
                    .await?;
                let mut entries: Vec<Entry> =
                    reply.ids.into_iter().filter_map(redis_entry).collect();
                entries.reverse();
                Ok(entries)
            }
        }
    }

    /// A reader that follows `topic` from any point on, waiting for new entries (every
    /// gateway replica follows the whole stream: no consumer group).
    pub fn follower(&self, topic: &str) -> Follower {
        Follower {
            stream: self.clone(),
            topic: topic.to_string(),
            own: None,
        }
    }

    /// Follows new entries of `topic` as they are appended (in-process only; with Redis,
    /// followers poll `read_after`). A follower that falls `FOLLOW_BUFFER` entries behind
    /// is told it lagged and can catch up with `read_after`.
    pub fn follow(&self, topic: &str) -> Option<broadcast::Receiver<Entry>> {
        match self {
            Self::Memory(memory) => {
                let mut topics = memory.topics.lock().ok()?;
                Some(
                    topics
                        .entry(topic.to_string())
                        .or_default()
                        .live
                        .subscribe(),
                )
            }
            Self::Redis { .. } => None,
        }
    }
}

/// Follows one topic (`EventStream::follower`). With Redis it waits on a connection of its
/// own, opened on first use and again after an error.
pub struct Follower {
    stream: EventStream,
    topic: String,
    own: Option<redis::aio::MultiplexedConnection>,
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
        let after_id = after.map(parse_id).transpose()?.unwrap_or((0, 0));
        match &self.stream {
            EventStream::Memory(memory) => {
                let deadline = Instant::now() + block;
                loop {
                    let appended = memory.appended.notified();
                    {
                        let topics = memory
                            .topics
                            .lock()
                            .map_err(|_| StreamError::Unavailable("poisoned".into()))?;
                        if let Some(topic) = topics.get(&self.topic) {
                            let start = topic.first_after(after_id);
                            let end = topic.entries.len().min(start + count);
                            if start < end {
                                return Ok((start..end).filter_map(|i| topic.entry(i)).collect());
                            }
                        }
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(Vec::new());
                    }
                    let _ = tokio::time::timeout(left, appended).await;
                }
            }
            EventStream::Redis { client, prefix, .. } => {
                let own = match &mut self.own {
                    Some(own) => own,
                    None => self.own.insert(redis_blocking_connection(client).await?),
                };
                let reply: Result<Option<redis::streams::StreamReadReply>, _> = redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(count)
                    .arg("BLOCK")
                    .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1))
                    .arg("STREAMS")
                    .arg(EventStream::key(prefix, &self.topic))
                    .arg(format_id(after_id))
                    .query_async(own)
                    .await;
                match reply {
                    Ok(reply) => Ok(reply
                        .into_iter()
                        .flat_map(|r| r.keys)
                        .flat_map(|k| k.ids)
                        .filter_map(redis_entry)
                        .collect()),
                    Err(err) => {
                        self.own = None;
                        Err(err.into())
                    }
                }
            }
        }
    }
}

fn redis_entry(id: redis::streams::StreamId) -> Option<Entry> {
    let payload: String = id.get("payload")?;
    Some(Entry { id: id.id, payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-process stream, and (when a server answers, required in CI) one in Redis under
    /// a fresh prefix: every test runs against both.
    async fn streams() -> Vec<EventStream> {
        let mut all = vec![EventStream::memory()];
        if let Some(url) = testkit::redis_or_skip().await {
            let client = redis::Client::open(url.as_str()).unwrap();
            let prefix = format!("tessera-stream-test-{}", uuid_like());
            all.push(EventStream::redis(client, &prefix).await.unwrap());
        }
        all
    }

    fn uuid_like() -> String {
        use rand::Rng;
        format!("{:032x}", rand::thread_rng().r#gen::<u128>())
    }

    fn payloads(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.payload.as_str()).collect()
    }

    #[tokio::test]
    async fn a_follower_reads_on_from_any_entry_and_waits_for_new_ones() {
        for stream in streams().await {
            for i in 0..4 {
                stream.publish("f", &format!("p{i}")).await.unwrap();
            }
            let last = stream.last("f", 2).await.unwrap();
            assert_eq!(payloads(&last), ["p2", "p3"], "{stream:?}");
            assert!(stream.last("none", 2).await.unwrap().is_empty());
            let mut follower = stream.follower("f");
            let block = Duration::from_millis(1);
            let all = follower.next_after(None, 10, block).await.unwrap();
            assert_eq!(payloads(&all), ["p0", "p1", "p2", "p3"], "{stream:?}");
            let after = follower
                .next_after(Some(&all[1].id), 1, block)
                .await
                .unwrap();
            assert_eq!(payloads(&after), ["p2"], "{stream:?}");
            let none = follower
                .next_after(Some(&all[3].id), 10, block)
                .await
                .unwrap();
            assert!(none.is_empty(), "{stream:?}");
            // A wait ends with the entry published meanwhile.
            let publisher = stream.clone();
            let published = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                publisher.publish("f", "p4").await.unwrap()
            });
            let waited = follower
                .next_after(Some(&all[3].id), 10, Duration::from_secs(10))
                .await
                .unwrap();
            assert_eq!(payloads(&waited), ["p4"], "{stream:?}");
            assert_eq!(waited[0].id, published.await.unwrap());
            assert!(matches!(
                follower.next_after(Some("x"), 1, block).await,
                Err(StreamError::BadId(_))
            ));
        }
    }

    #[tokio::test]
    async fn idle_consumers_holding_nothing_are_forgotten() {
        for stream in streams().await {
            let idle = Duration::from_millis(50);
            let block = Duration::from_millis(1);
            // No topic, then no group: nothing to forget, and no error.
            assert_eq!(
                stream.forget_idle_consumers("f", "g", idle).await.unwrap(),
                0
            );
            stream.publish("f", "p0").await.unwrap();
            assert_eq!(
                stream.forget_idle_consumers("f", "g", idle).await.unwrap(),
                0
            );
            stream.publish("f", "p1").await.unwrap();
            // `gone` handled p0; `holder` keeps p1 pending.
            let done = stream.read_group("f", "g", "gone", 1, block).await.unwrap();
            assert_eq!(payloads(&done), ["p0"], "{stream:?}");
            stream.ack("f", "g", &[done[0].id.clone()]).await.unwrap();
            let held = stream
                .read_group("f", "g", "holder", 1, block)
                .await
                .unwrap();
            assert_eq!(payloads(&held), ["p1"], "{stream:?}");
            tokio::time::sleep(idle * 2).await;
            // Not idle for long enough: kept.
            stream.publish("f", "p2").await.unwrap();
            let fresh = stream
                .read_group("f", "g", "fresh", 1, block)
                .await
                .unwrap();
            stream.ack("f", "g", &[fresh[0].id.clone()]).await.unwrap();
            let removed = stream.forget_idle_consumers("f", "g", idle).await.unwrap();
            // Only Redis lists consumers; the in-process stream has none to forget.
            let expected = usize::from(matches!(stream, EventStream::Redis { .. }));
            assert_eq!(removed, expected, "{stream:?}");
            // The holder's entry is still pending: another consumer can take it over.
            let claimed = stream
                .claim_stale("f", "g", "heir", idle, 10)
                .await
                .unwrap();
            assert_eq!(payloads(&claimed), ["p1"], "{stream:?}");
            // A forgotten consumer that was alive after all just reads on.
            stream.publish("f", "p3").await.unwrap();
            let read = stream.read_group("f", "g", "gone", 1, block).await.unwrap();
            assert_eq!(payloads(&read), ["p3"], "{stream:?}");
        }
    }

    #[tokio::test]
    async fn a_group_hands_each_entry_out_once_until_claimed() {
        for stream in streams().await {
            for i in 0..5 {
                stream.publish("t", &format!("p{i}")).await.unwrap();
            }
            let block = Duration::from_millis(1);
            let a = stream.read_group("t", "g", "a", 3, block).await.unwrap();
            let b = stream.read_group("t", "g", "b", 3, block).await.unwrap();
            assert_eq!(payloads(&a), ["p0", "p1", "p2"], "{stream:?}");
            assert_eq!(payloads(&b), ["p3", "p4"], "{stream:?}");
            assert!(
                stream
                    .read_group("t", "g", "b", 3, block)
                    .await
                    .unwrap()
                    .is_empty()
            );
            // Another group sees everything again.
            assert_eq!(
                stream
                    .read_group("t", "h", "x", 10, block)
                    .await
                    .unwrap()
                    .len(),
                5
            );
            // a acknowledges one and dies; b claims the other two, and its own.
            stream.ack("t", "g", &[a[0].id.clone()]).await.unwrap();
            let claimed = stream
                .claim_stale("t", "g", "b", Duration::ZERO, 10)
                .await
                .unwrap();
            assert_eq!(payloads(&claimed), ["p1", "p2", "p3", "p4"], "{stream:?}");
        }
    }

    #[tokio::test]
    async fn a_blocked_reader_holds_up_nobody_else() {
        for stream in streams().await {
            stream.publish("quiet", "first").await.unwrap();
            let reader = {
                let stream = stream.clone();
                tokio::spawn(async move {
                    stream
                        .read_group("quiet", "g", "a", 10, Duration::ZERO)
                        .await
                        .unwrap();
                    // Nothing more comes: this read waits out its whole block.
                    stream
                        .read_group("quiet", "g", "a", 10, Duration::from_secs(5))
                        .await
                        .unwrap()
                })
            };
            tokio::time::sleep(Duration::from_millis(200)).await;
            // Publishing and acknowledging elsewhere answer while the reader still waits
            // (on one shared connection they would wait behind its block).
            let id = stream.publish("busy", "p").await.unwrap();
            stream.ack("busy", "g", &[id]).await.unwrap();
            assert!(
                !reader.is_finished(),
                "{stream:?}: a publish waited for a blocked read"
            );
            reader.abort();
        }
    }

    #[tokio::test]
    async fn a_renewed_entry_is_not_taken_over_and_a_stopped_holders_is() {
        for stream in streams().await {
            let idle = Duration::from_millis(300);
            let block = Duration::from_millis(1);
            stream.publish("r", "p0").await.unwrap();
            stream.publish("r", "p1").await.unwrap();
            let held = stream
                .read_group("r", "g", "alive", 1, block)
                .await
                .unwrap();
            let left = stream.read_group("r", "g", "dead", 1, block).await.unwrap();
            let ids = [held[0].id.clone(), left[0].id.clone()];
            for _ in 0..4 {
                tokio::time::sleep(idle / 3).await;
                // `alive` renews both ids: only its own is renewed.
                stream.renew("r", "g", "alive", &ids).await.unwrap();
            }
            let claimed = stream
                .claim_stale("r", "g", "heir", idle, 10)
                .await
                .unwrap();
            assert_eq!(payloads(&claimed), ["p1"], "{stream:?}");
            // Taken over, it is the heir's: the old holder's renewal does not take it back.
            stream.renew("r", "g", "dead", &ids).await.unwrap();
            tokio::time::sleep(idle * 2).await;
            let again = stream
                .claim_stale("r", "g", "other", idle, 10)
                .await
                .unwrap();
            assert_eq!(payloads(&again), ["p0", "p1"], "{stream:?}");
            stream.renew("none", "g", "alive", &ids).await.unwrap();
        }
    }

    #[tokio::test]
    async fn claiming_before_any_group_read_finds_nothing() {
        for stream in streams().await {
            stream.publish("t", "p0").await.unwrap();
            let claimed = stream
                .claim_stale("t", "g", "a", Duration::ZERO, 10)
                .await
                .unwrap();
            assert!(claimed.is_empty(), "{stream:?}");
            let claimed = stream
                .claim_stale("missing", "g", "a", Duration::ZERO, 10)
                .await
                .unwrap();
            assert!(claimed.is_empty(), "{stream:?}");
            // The entry is still there for the group's first reader.
            let got = stream
                .read_group("t", "g", "a", 10, Duration::from_millis(1))
                .await
                .unwrap();
            assert_eq!(payloads(&got), ["p0"], "{stream:?}");
        }
    }

    #[tokio::test]
    async fn readers_resume_after_an_id_and_ids_increase() {
        for stream in streams().await {
            let mut ids = Vec::new();
            for i in 0..4 {
                ids.push(stream.publish("t", &format!("p{i}")).await.unwrap());
            }
            let parsed: Vec<_> = ids.iter().map(|i| parse_id(i).unwrap()).collect();
            assert!(parsed.windows(2).all(|w| w[0] < w[1]));
            let rest = stream.read_after("t", Some(&ids[1]), 10).await.unwrap();
            assert_eq!(
                rest.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
                ids[2..]
            );
            let all = stream.read_after("t", None, 10).await.unwrap();
            assert_eq!(payloads(&all), ["p0", "p1", "p2", "p3"]);
            assert!(matches!(
                stream.read_after("t", Some("nope"), 1).await,
                Err(StreamError::BadId(_))
            ));
        }
    }

    /// Redis killed: every call is an error at once (the redis crate's default reconnect
    /// backoff held them for up to two minutes); started again with its data, the same stream
    /// works without being made again.
    #[tokio::test]
    async fn a_redis_outage_fails_fast_and_heals_when_redis_returns() {
        let Some(mut redis) = testkit::private::PrivateRedis::start() else {
            return;
        };
        let client = redis::Client::open(redis.url()).unwrap();
        let stream = EventStream::redis(client, "outage").await.unwrap();
        stream.publish("t", "before").await.unwrap();
        redis.kill();
        for _ in 0..3 {
            // A bound that only a hang reaches.
            let answered =
                tokio::time::timeout(Duration::from_secs(10), stream.publish("t", "during")).await;
            assert!(
                matches!(answered, Ok(Err(StreamError::Unavailable(_)))),
                "a dead Redis must be an error at once, got {answered:?}"
            );
            let read = tokio::time::timeout(
                Duration::from_secs(10),
                stream.read_group("t", "g", "c", 10, Duration::from_millis(100)),
            )
            .await;
            assert!(matches!(read, Ok(Err(_))), "{read:?}");
        }
        redis.start_again();
        let mut published = None;
        for _ in 0..100 {
            if let Ok(id) = stream.publish("t", "after").await {
                published = Some(id);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(published.is_some(), "the stream never reconnected");
        let all = stream.read_after("t", None, 10).await.unwrap();
        assert_eq!(payloads(&all), ["before", "after"]);
    }

    #[tokio::test]
    async fn a_blocked_reader_wakes_on_publish() {
        for stream in streams().await {
            let reader = {
                let stream = stream.clone();
                tokio::spawn(async move {
                    stream
                        .read_group("t", "g", "a", 1, Duration::from_secs(30))
                        .await
                        .unwrap()
                })
            };
            tokio::task::yield_now().await;
            stream.publish("t", "hello").await.unwrap();
            let got = reader.await.unwrap();
            assert_eq!(payloads(&got), ["hello"]);
        }
    }
}
