//! The event stream in Redis Streams, shared by every process that names the same Redis and
//! prefix: each topic is the stream `<prefix>:stream:<topic>`, consumer groups are Redis's
//! own. Also the connections the rest of the code opens to Redis, which fail fast while
//! Redis is away (see `redis_manager`).

use super::{Entry, Follow, Log, MAX_LEN, StreamError, format_id};
use std::{sync::Arc, time::Duration};
use tokio::sync::broadcast;

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

impl From<redis::RedisError> for StreamError {
    fn from(err: redis::RedisError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

/// The stream in Redis.
pub struct Redis {
    /// The shared (multiplexed) connection. Never used for a blocking read: Redis answers
    /// a connection's commands in order, so a read blocked on it would hold up every
    /// publish and acknowledgement behind it.
    conn: redis::aio::ConnectionManager,
    /// Opens the connections blocking reads wait on.
    client: redis::Client,
    /// Prepended to topic names.
    prefix: String,
}

/// Renews a consumer's claim on the ids it still holds, in one step so an entry taken over
/// meanwhile is left with its new holder.
const RENEW: &str = r"
    for i = 3, #ARGV do
        local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
        if #held > 0 then
            redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
        end
    end
    return 0";

/// Removes the idle consumers that hold nothing, checking and removing in one step so an
/// entry handed to one in between is never dropped.
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

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn redis_entry(id: redis::streams::StreamId) -> Option<Entry> {
    let payload: String = id.get("payload")?;
    Some(Entry { id: id.id, payload })
}

/// The entries of an `XREAD`/`XREADGROUP` answer (`None` when a blocking read timed out).
fn read_entries(reply: Option<redis::streams::StreamReadReply>) -> Vec<Entry> {
    reply
        .into_iter()
        .flat_map(|r| r.keys)
        .flat_map(|k| k.ids)
        .filter_map(redis_entry)
        .collect()
}

impl Redis {
    /// Connects the shared connection; topics become `<prefix>:stream:<topic>`.
    pub(super) async fn connect(client: redis::Client, prefix: &str) -> Result<Self, StreamError> {
        let conn = redis_manager(&client).await?;
        Ok(Self {
            conn,
            client,
            prefix: prefix.to_string(),
        })
    }

    /// The shared connection (fails fast, see `redis_manager`), for short commands only.
    pub fn conn(&self) -> &redis::aio::ConnectionManager {
        &self.conn
    }

    /// The client, to open connections of one's own (blocking reads, pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// The prefix of every key this stream uses.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, topic: &str) -> String {
        format!("{}:stream:{topic}", self.prefix)
    }

    /// Creates `group` at the start of `topic` (and the topic) unless it exists.
    async fn create_group(&self, key: &str, group: &str) -> Result<(), StreamError> {
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(key)
            .arg(group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.conn.clone())
            .await;
        match created {
            Err(err) if err.code() != Some("BUSYGROUP") => Err(err.into()),
            _ => Ok(()),
        }
    }
}

impl Log for Redis {
    type Follower = Follower;

    async fn publish(&self, topic: &str, payload: &str) -> Result<String, StreamError> {
        let id: String = redis::cmd("XADD")
            .arg(self.key(topic))
            .arg("MAXLEN")
            .arg("~")
            .arg(MAX_LEN)
            .arg("*")
            .arg("payload")
            .arg(payload)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(id)
    }

    async fn read_after(
        &self,
        topic: &str,
        after: (u64, u64),
        count: usize,
    ) -> Result<Vec<Entry>, StreamError> {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.key(topic))
            .arg(format!("({}", format_id(after)))
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(reply.ids.into_iter().filter_map(redis_entry).collect())
    }

    /// What is there already is read on the shared connection; only when nothing is, the
    /// wait runs on a connection of its own.
    async fn read_group(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, StreamError> {
        let key = self.key(topic);
        self.create_group(&key, group).await?;
        let read = |block: Option<Duration>| {
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg("GROUP")
                .arg(group)
                .arg(consumer)
                .arg("COUNT")
                .arg(count);
            if let Some(block) = block {
                cmd.arg("BLOCK").arg(millis(block).max(1));
            }
            cmd.arg("STREAMS").arg(&key).arg(">");
            cmd
        };
        let ready = read_entries(read(None).query_async(&mut self.conn.clone()).await?);
        if !ready.is_empty() || block.is_zero() {
            return Ok(ready);
        }
        let mut own = redis_blocking_connection(&self.client).await?;
        Ok(read_entries(read(Some(block)).query_async(&mut own).await?))
    }

    async fn ack(&self, topic: &str, group: &str, ids: &[String]) -> Result<(), StreamError> {
        let _: i64 = redis::cmd("XACK")
            .arg(self.key(topic))
            .arg(group)
            .arg(ids)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn claim_stale(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Entry>, StreamError> {
        let reply: Result<redis::streams::StreamAutoClaimReply, _> = redis::cmd("XAUTOCLAIM")
            .arg(self.key(topic))
            .arg(group)
            .arg(consumer)
            .arg(millis(min_idle))
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await;
        match reply {
            Ok(reply) => Ok(reply.claimed.into_iter().filter_map(redis_entry).collect()),
            // No group (or no topic) yet: nothing was ever handed out, so nothing is
            // stale, as with the in-process stream. `read_group` creates the group.
            Err(err) if err.code() == Some("NOGROUP") => Ok(Vec::new()),
            Err(err) => Err(err.into()),
        }
    }

    async fn renew(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
    ) -> Result<(), StreamError> {
        let renewed: Result<i64, redis::RedisError> = redis::Script::new(RENEW)
            .key(self.key(topic))
            .arg(group)
            .arg(consumer)
            .arg(ids)
            .invoke_async(&mut self.conn.clone())
            .await;
        match renewed {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("NOGROUP") => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    async fn forget_idle_consumers(
        &self,
        topic: &str,
        group: &str,
        min_idle: Duration,
    ) -> Result<usize, StreamError> {
        let removed: Result<usize, redis::RedisError> = redis::Script::new(FORGET)
            .key(self.key(topic))
            .arg(group)
            .arg(millis(min_idle))
            .invoke_async(&mut self.conn.clone())
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

    async fn last(&self, topic: &str, count: usize) -> Result<Vec<Entry>, StreamError> {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.key(topic))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await?;
        let mut entries: Vec<Entry> = reply.ids.into_iter().filter_map(redis_entry).collect();
        entries.reverse();
        Ok(entries)
    }

    fn follower(self: &Arc<Self>, topic: &str) -> Follower {
        Follower {
            redis: self.clone(),
            key: self.key(topic),
            own: None,
        }
    }

    /// Followers poll with `read_after` or wait with a `follower` instead.
    fn follow(&self, _topic: &str) -> Option<broadcast::Receiver<Entry>> {
        None
    }
}

/// Follows one topic in Redis with `XREAD BLOCK` on a connection of its own, opened on first
/// use and again after an error.
pub struct Follower {
    redis: Arc<Redis>,
    key: String,
    own: Option<redis::aio::MultiplexedConnection>,
}

impl Follow for Follower {
    async fn next_after(
        &mut self,
        after: (u64, u64),
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, StreamError> {
        let own = match &mut self.own {
            Some(own) => own,
            None => self
                .own
                .insert(redis_blocking_connection(&self.redis.client).await?),
        };
        let reply: Result<Option<redis::streams::StreamReadReply>, _> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(millis(block).max(1))
            .arg("STREAMS")
            .arg(&self.key)
            .arg(format_id(after))
            .query_async(own)
            .await;
        match reply {
            Ok(reply) => Ok(read_entries(reply)),
            Err(err) => {
                self.own = None;
                Err(err.into())
            }
        }
    }
}
