//! Sessions: random 256-bit ids handed out as the `tessera_session` cookie, kept in Redis when
//! `REDIS_URL` is set (every replica sees them) and in-process otherwise. Only a SHA-256 of
//! the id is stored, so a dump of the store cannot be replayed as cookies. A session ends
//! after `idle` without use, after `absolute` whatever happens, or at logout; the store
//! announces logouts to every replica's live-updates connections (`ended`).

/// Logout announcements, in-process and through Redis.
mod ended;

use base64::Engine as _;
use rand::RngCore;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::sync::broadcast;

/// The session cookie's name (HTTP.md).
pub const COOKIE: &str = "tessera_session";

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct StoreError(String);

impl From<redis::RedisError> for StoreError {
    fn from(err: redis::RedisError) -> Self {
        Self(err.to_string())
    }
}

/// A live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Who signed in.
    pub user_id: i64,
    /// When, in seconds since the epoch (the absolute expiry counts from here).
    pub created: u64,
    /// `auth::password_stamp` of the password the user signed in with: once the password
    /// changes, the session no longer holds. `None` for sessions stored before stamps
    /// existed, which keep their old lifetime.
    pub password: Option<u64>,
}

/// Where sessions live.
pub struct SessionStore {
    backend: Backend,
    // Prepended to every Redis key (`REDIS_KEY_PREFIX`).
    prefix: String,
    idle: Duration,
    absolute: Duration,
    logouts: ended::Logouts,
}

enum Backend {
    Memory(Mutex<HashMap<String, (Session, u64)>>),
    Redis(redis::aio::ConnectionManager),
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("SessionStore")
            .field("backend", &kind)
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl SessionStore {
    /// An in-process store (one process only).
    pub fn memory(idle: Duration, absolute: Duration) -> Self {
        Self {
            backend: Backend::Memory(Mutex::new(HashMap::new())),
            prefix: String::new(),
            idle,
            absolute,
            logouts: ended::Logouts::local(),
        }
    }

    /// A store in Redis, shared by every gateway replica, which announce logouts to each
    /// other through `client` (see `listen_for_logouts`).
    pub fn redis(
        client: redis::Client,
        manager: redis::aio::ConnectionManager,
        prefix: &str,
        idle: Duration,
        absolute: Duration,
    ) -> Self {
        Self {
            logouts: ended::Logouts::redis(client, manager.clone(), prefix),
            backend: Backend::Redis(manager),
            prefix: prefix.to_string(),
            idle,
            absolute,
        }
    }

    /// Passes the logouts other replicas announce to this process's connections (`ended`),
    /// until the store is dropped; nothing to do without Redis.
    pub fn listen_for_logouts(&self) {
        self.logouts.listen();
    }

    /// Ends the session at logout (`delete`), and tells every replica's connections of it
    /// that it ended, so they close at once.
    pub async fn log_out(&self, id: &str) -> Result<(), StoreError> {
        self.delete(id).await?;
        self.logouts.announce(tag(id).into());
        Ok(())
    }

    /// The tags (`tag`) of sessions logged out from now on, on any replica.
    pub fn ended(&self) -> broadcast::Receiver<Arc<str>> {
        self.logouts.subscribe()
    }

    /// The store key of session `id`: a hash, so the store never holds a usable cookie.
    fn key(&self, id: &str) -> String {
        format!("{}:session:{}", self.prefix, hash(id))
    }

    /// How long a session lives without use.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// How long a session lives at most.
    pub fn absolute(&self) -> Duration {
        self.absolute
    }

    /// Opens a session for `user_id`, who signed in with the password stamped `password`,
    /// and returns its id (the cookie value).
    pub async fn create(&self, user_id: i64, password: u64) -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let session = Session {
            user_id,
            created: now(),
            password: Some(password),
        };
        match &self.backend {
            Backend::Memory(map) => {
                let mut map = map.lock().map_err(|_| StoreError("poisoned".into()))?;
                let now = now();
                // Forget expired sessions now and then so the map cannot grow without bound.
                if map.len() >= 1024 && map.len().is_power_of_two() {
                    map.retain(|_, (s, seen)| self.alive(s, *seen, now));
                }
                map.insert(self.key(&id), (session, now));
            }
            Backend::Redis(manager) => {
                let mut conn = manager.clone();
                let _: () = conn
                    .set_ex(self.key(&id), value(&session), self.idle.as_secs().max(1))
                    .await?;
            }
        }
        Ok(id)
    }

    fn alive(&self, session: &Session, last_seen: u64, now: u64) -> bool {
        now < session.created.saturating_add(self.absolute.as_secs())
            && now < last_seen.saturating_add(self.idle.as_secs())
    }

    /// The live session with this id, if any; using it restarts its idle timer.
    pub async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let now = now();
        match &self.backend {
            Backend::Memory(map) => {
                let mut map = map.lock().map_err(|_| StoreError("poisoned".into()))?;
                let k = self.key(id);
                let Some((session, seen)) = map.get(&k).copied() else {
                    return Ok(None);
                };
                if !self.alive(&session, seen, now) {
                    map.remove(&k);
                    return Ok(None);
                }
                map.insert(k, (session, now));
                Ok(Some(session))
            }
            Backend::Redis(manager) => {
                let mut conn = manager.clone();
                let k = self.key(id);
                // GETEX reads the session and restarts its idle expiry in one round trip.
                let value: Option<String> = redis::cmd("GETEX")
                    .arg(&k)
                    .arg("EX")
                    .arg(self.idle.as_secs().max(1))
                    .query_async(&mut conn)
                    .await?;
                let Some(session) = value.as_deref().and_then(parse) else {
                    return Ok(None);
                };
                if now >= session.created.saturating_add(self.absolute.as_secs()) {
                    let _: () = conn.del(&k).await?;
                    return Ok(None);
                }
                Ok(Some(session))
            }
        }
    }

    /// Whether the session with this id is still live, without restarting its idle timer: an
    /// open live-updates connection is not activity (an unattended browser still signs out).
    pub async fn peek(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let now = now();
        match &self.backend {
            Backend::Memory(map) => {
                let map = map.lock().map_err(|_| StoreError("poisoned".into()))?;
                Ok(map
                    .get(&self.key(id))
                    .filter(|(session, seen)| self.alive(session, *seen, now))
                    .map(|(session, _)| *session))
            }
            Backend::Redis(manager) => {
                let mut conn = manager.clone();
                let value: Option<String> = conn.get(self.key(id)).await?;
                Ok(value
                    .as_deref()
                    .and_then(parse)
                    .filter(|s| now < s.created.saturating_add(self.absolute.as_secs())))
            }
        }
    }

    /// Re-stamps the live session `id` with the user's new password (they changed their own
    /// password in it: their other sessions end, this one goes on). Its expiry is unchanged.
    pub async fn restamp(&self, id: &str, password: u64) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(map) => {
                let mut map = map.lock().map_err(|_| StoreError("poisoned".into()))?;
                if let Some((session, _)) = map.get_mut(&self.key(id)) {
                    session.password = Some(password);
                }
            }
            Backend::Redis(manager) => {
                let mut conn = manager.clone();
                let k = self.key(id);
                let stored: Option<String> = conn.get(&k).await?;
                if let Some(mut session) = stored.as_deref().and_then(parse) {
                    session.password = Some(password);
                    // XX: never bring back a session that ended meanwhile.
                    let _: Option<String> = redis::cmd("SET")
                        .arg(&k)
                        .arg(value(&session))
                        .arg("KEEPTTL")
                        .arg("XX")
                        .query_async(&mut conn)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Ends the session (logout). Ending one that does not exist is not an error.
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(map) => {
                map.lock()
                    .map_err(|_| StoreError("poisoned".into()))?
                    .remove(&self.key(id));
            }
            Backend::Redis(manager) => {
                let mut conn = manager.clone();
                let _: () = conn.del(self.key(id)).await?;
            }
        }
        Ok(())
    }

    /// Whether the store answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Redis(manager) => {
                let mut conn = manager.clone();
                let _: String = redis::cmd("PING").query_async(&mut conn).await?;
                Ok(())
            }
        }
    }
}

/// The SHA-256 of a session id, in hex: how the store, and logout announcements, name it.
pub fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// How a session is named when its end is announced: the hash its store keys it by.
pub fn tag(id: &str) -> String {
    hash(id)
}

/// A session as stored in Redis: `user:created:stamp` (hex).
fn value(session: &Session) -> String {
    match session.password {
        Some(stamp) => format!("{}:{}:{stamp:016x}", session.user_id, session.created),
        None => format!("{}:{}", session.user_id, session.created),
    }
}

fn parse(value: &str) -> Option<Session> {
    let mut parts = value.split(':');
    let user_id = parts.next()?.parse().ok()?;
    let created = parts.next()?.parse().ok()?;
    let password = match parts.next() {
        Some(stamp) => Some(u64::from_str_radix(stamp, 16).ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Session {
        user_id,
        created,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::tag as tag_of;
    use super::*;

    #[tokio::test]
    async fn a_session_lives_until_deleted() {
        let store = SessionStore::memory(Duration::from_secs(60), Duration::from_secs(600));
        let id = store.create(7, 1).await.unwrap();
        assert_eq!(store.get(&id).await.unwrap().map(|s| s.user_id), Some(7));
        assert_eq!(store.get("forged").await.unwrap(), None);
        store.delete(&id).await.unwrap();
        assert_eq!(store.get(&id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_logout_ends_the_session_and_is_announced_by_its_tag() {
        let store = SessionStore::memory(Duration::from_secs(60), Duration::from_secs(600));
        let id = store.create(7, 1).await.unwrap();
        let mut ended = store.ended();
        store.log_out(&id).await.unwrap();
        assert_eq!(store.get(&id).await.unwrap(), None);
        let tag = ended.recv().await.unwrap();
        assert_eq!(&*tag, tag_of(&id).as_str());
        assert_ne!(&*tag, id.as_str(), "never the id itself");
    }

    #[tokio::test]
    async fn a_restamped_session_keeps_its_user_and_takes_the_new_stamp() {
        let store = SessionStore::memory(Duration::from_secs(60), Duration::from_secs(600));
        let id = store.create(7, 1).await.unwrap();
        store.restamp(&id, 2).await.unwrap();
        let session = store.get(&id).await.unwrap().unwrap();
        assert_eq!((session.user_id, session.password), (7, Some(2)));
        store.delete(&id).await.unwrap();
        store.restamp(&id, 3).await.unwrap();
        assert_eq!(store.get(&id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn peeking_sees_a_live_session_without_using_it() {
        let store = SessionStore::memory(Duration::from_secs(60), Duration::from_secs(600));
        let id = store.create(7, 1).await.unwrap();
        assert_eq!(store.peek(&id).await.unwrap().map(|s| s.user_id), Some(7));
        assert_eq!(store.peek("forged").await.unwrap(), None);
        store.delete(&id).await.unwrap();
        assert_eq!(store.peek(&id).await.unwrap(), None);
        let store = SessionStore::memory(Duration::from_secs(0), Duration::from_secs(600));
        let id = store.create(7, 1).await.unwrap();
        assert_eq!(store.peek(&id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_expired_session_is_gone() {
        let store = SessionStore::memory(Duration::from_secs(0), Duration::from_secs(600));
        let id = store.create(7, 1).await.unwrap();
        assert_eq!(store.get(&id).await.unwrap(), None);
        let store = SessionStore::memory(Duration::from_secs(60), Duration::from_secs(0));
        let id = store.create(7, 1).await.unwrap();
        assert_eq!(store.get(&id).await.unwrap(), None);
    }

    #[test]
    fn stored_values_parse() {
        assert_eq!(
            parse("12:1700000000"),
            Some(Session {
                user_id: 12,
                created: 1_700_000_000,
                password: None,
            })
        );
        let stamped = Session {
            user_id: 12,
            created: 1_700_000_000,
            password: Some(u64::MAX - 5),
        };
        assert_eq!(parse(&value(&stamped)), Some(stamped));
        assert_eq!(parse("12:1:zz"), None);
        assert_eq!(parse("12:1:1:1"), None);
        assert_eq!(parse("x:1"), None);
        assert_eq!(parse("12"), None);
    }
}
