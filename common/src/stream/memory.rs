//! The in-process event stream, the embedded default: one process's topics in a mutex, with
//! the consumer groups and pending entries Redis Streams would keep, so that code written
//! against `EventStream` behaves the same on either (see the contract on `Log`).

use super::{Entry, FOLLOW_BUFFER, Follow, Log, MAX_LEN, StreamError, format_id, parse_id};
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tokio::sync::{Notify, broadcast};

/// The in-process log.
#[derive(Default)]
pub struct Memory {
    topics: Mutex<HashMap<String, Topic>>,
    /// Wakes blocked readers and followers on every publish, whatever the topic: a reader
    /// checks again and waits on if nothing of its topic came.
    appended: Notify,
}

type Topics = HashMap<String, Topic>;

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

    /// Up to `count` entries after `after`, and the index range they came from.
    fn after(&self, after: (u64, u64), count: usize) -> (std::ops::Range<usize>, Vec<Entry>) {
        let start = self.first_after(after);
        let range = start..self.entries.len().min(start + count);
        let entries = range.clone().filter_map(|i| self.entry(i)).collect();
        (range, entries)
    }
}

impl Memory {
    fn lock(&self) -> Result<MutexGuard<'_, Topics>, StreamError> {
        self.topics
            .lock()
            .map_err(|_| StreamError::Unavailable("poisoned".into()))
    }

    /// Calls `take` until it finds entries, waiting for publishes in between, for up to
    /// `block`. The wake-up is armed before each look, so a publish between the look and the
    /// wait is not missed.
    async fn wait_for(
        &self,
        block: Duration,
        mut take: impl FnMut(&mut Topics) -> Vec<Entry> + Send,
    ) -> Result<Vec<Entry>, StreamError> {
        let deadline = Instant::now() + block;
        loop {
            let appended = self.appended.notified();
            let batch = take(&mut *self.lock()?);
            if !batch.is_empty() {
                return Ok(batch);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Vec::new());
            }
            let _ = tokio::time::timeout(left, appended).await;
        }
    }

    /// Calls `change` with `group`'s pending entries and each of `ids` (the part `ack` and
    /// `renew` share); nothing when the topic or the group does not exist.
    fn each_pending(
        &self,
        topic: &str,
        group: &str,
        ids: &[String],
        mut change: impl FnMut(&mut BTreeMap<(u64, u64), (String, Instant)>, (u64, u64)),
    ) -> Result<(), StreamError> {
        let parsed = ids
            .iter()
            .map(|i| parse_id(i))
            .collect::<Result<Vec<_>, _>>()?;
        let mut topics = self.lock()?;
        if let Some(g) = topics.get_mut(topic).and_then(|t| t.groups.get_mut(group)) {
            for id in parsed {
                change(&mut g.pending, id);
            }
        }
        Ok(())
    }
}

impl Log for Memory {
    type Follower = Follower;

    async fn publish(&self, topic: &str, payload: &str) -> Result<String, StreamError> {
        let entry = {
            let mut topics = self.lock()?;
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
        self.appended.notify_waiters();
        Ok(entry.id)
    }

    async fn read_after(
        &self,
        topic: &str,
        after: (u64, u64),
        count: usize,
    ) -> Result<Vec<Entry>, StreamError> {
        let topics = self.lock()?;
        Ok(topics
            .get(topic)
            .map(|topic| topic.after(after, count).1)
            .unwrap_or_default())
    }

    async fn read_group(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, StreamError> {
        self.wait_for(block, |topics| {
            let topic = topics.entry(topic.to_string()).or_default();
            let delivered = topic
                .groups
                .get(group)
                .map(|g| g.delivered)
                .unwrap_or((0, 0));
            let (range, batch) = topic.after(delivered, count);
            if !batch.is_empty() {
                let ids: Vec<(u64, u64)> = range.map(|i| topic.entries[i].0).collect();
                let g = topic.groups.entry(group.to_string()).or_default();
                for id in ids {
                    g.pending.insert(id, (consumer.to_string(), Instant::now()));
                    g.delivered = id;
                }
            }
            batch
        })
        .await
    }

    async fn ack(&self, topic: &str, group: &str, ids: &[String]) -> Result<(), StreamError> {
        self.each_pending(topic, group, ids, |pending, id| {
            pending.remove(&id);
        })
    }

    async fn claim_stale(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Entry>, StreamError> {
        let mut topics = self.lock()?;
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

    async fn renew(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
    ) -> Result<(), StreamError> {
        self.each_pending(topic, group, ids, |pending, id| {
            if let Some((owner, at)) = pending.get_mut(&id)
                && owner == consumer
            {
                *at = Instant::now();
            }
        })
    }

    /// Keeps no consumers beyond their pending entries: nothing to forget.
    async fn forget_idle_consumers(
        &self,
        _topic: &str,
        _group: &str,
        _min_idle: Duration,
    ) -> Result<usize, StreamError> {
        Ok(0)
    }

    async fn last(&self, topic: &str, count: usize) -> Result<Vec<Entry>, StreamError> {
        let topics = self.lock()?;
        let Some(topic) = topics.get(topic) else {
            return Ok(Vec::new());
        };
        let start = topic.entries.len().saturating_sub(count);
        Ok((start..topic.entries.len())
            .filter_map(|i| topic.entry(i))
            .collect())
    }

    fn follower(self: &Arc<Self>, topic: &str) -> Follower {
        Follower {
            memory: self.clone(),
            topic: topic.to_string(),
        }
    }

    fn follow(&self, topic: &str) -> Option<broadcast::Receiver<Entry>> {
        let mut topics = self.topics.lock().ok()?;
        Some(
            topics
                .entry(topic.to_string())
                .or_default()
                .live
                .subscribe(),
        )
    }
}

/// Follows one in-process topic: waits on the log's publish signal.
pub struct Follower {
    memory: Arc<Memory>,
    topic: String,
}

impl Follow for Follower {
    async fn next_after(
        &mut self,
        after: (u64, u64),
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, StreamError> {
        let topic = &self.topic;
        self.memory
            .wait_for(block, |topics| {
                topics
                    .get(topic)
                    .map(|topic| topic.after(after, count).1)
                    .unwrap_or_default()
            })
            .await
    }
}
