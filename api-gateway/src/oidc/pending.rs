//! What the gateway keeps between the two legs of a sign-in and after it: the `state`'s
//! nonce, PKCE verifier and local redirect until the callback takes them (once), and a
//! session's ID token until sign-out (the provider's logout wants it as `id_token_hint`).
//! In Redis when configured, so any replica can take the callback; keys are SHA-256 of the
//! secret they are found by, like sessions.

use super::error::OidcError;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// A sign-in begun and not yet finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Begun {
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The local path to land on.
    pub redirect: String,
}

/// How long a begun sign-in waits for its callback.
pub const BEGUN_FOR: Duration = Duration::from_secs(10 * 60);

/// Where it is kept.
pub enum Pending {
    /// In this process (one gateway only).
    Memory(Mutex<HashMap<String, (String, Instant)>>),
    /// In Redis, with this key prefix.
    Redis(redis::aio::ConnectionManager, String),
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Memory(_) => "Pending::Memory",
            Self::Redis(..) => "Pending::Redis",
        })
    }
}

fn poisoned<T>(_: T) -> OidcError {
    OidcError::Unavailable("poisoned".into())
}

impl Pending {
    /// A store in Redis when given one, else in memory.
    pub fn new(redis: Option<redis::aio::ConnectionManager>, prefix: &str) -> Self {
        match redis {
            Some(manager) => Self::Redis(manager, prefix.to_string()),
            None => Self::Memory(Mutex::new(HashMap::new())),
        }
    }

    fn key(&self, kind: &str, secret: &str) -> String {
        let digest = hex::encode(Sha256::digest(secret.as_bytes()));
        match self {
            Self::Memory(_) => format!("{kind}:{digest}"),
            Self::Redis(_, prefix) => format!("{prefix}:oidc:{kind}:{digest}"),
        }
    }

    /// Keeps `begun` under `state`.
    pub async fn begin(&self, state: &str, begun: &Begun) -> Result<(), OidcError> {
        let value =
            serde_json::to_string(begun).map_err(|e| OidcError::Unavailable(e.to_string()))?;
        self.put(&self.key("state", state), value, BEGUN_FOR).await
    }

    /// Takes what `state` was begun with: only once, and only within `BEGUN_FOR`.
    pub async fn take(&self, state: &str) -> Result<Option<Begun>, OidcError> {
        let value = self.take_key(&self.key("state", state)).await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// Keeps the ID token a session was opened with, for as long as the session can live.
    pub async fn keep_id_token(
        &self,
        session: &str,
        id_token: &str,
        lifetime: Duration,
    ) -> Result<(), OidcError> {
        let key = self.key("id-token", session);
        self.put(&key, id_token.to_string(), lifetime).await
    }

    /// Takes the ID token session `session` was opened with, if it was opened at the
    /// provider.
    pub async fn take_id_token(&self, session: &str) -> Result<Option<String>, OidcError> {
        self.take_key(&self.key("id-token", session)).await
    }

    /// Removes `key` and returns its value, unless it expired.
    async fn take_key(&self, key: &str) -> Result<Option<String>, OidcError> {
        match self {
            Self::Memory(map) => Ok(map
                .lock()
                .map_err(poisoned)?
                .remove(key)
                .filter(|(_, until)| Instant::now() < *until)
                .map(|(value, _)| value)),
            Self::Redis(manager, _) => {
                let mut conn = manager.clone();
                Ok(redis::cmd("GETDEL")
                    .arg(key)
                    .query_async::<Option<String>>(&mut conn)
                    .await?)
            }
        }
    }

    async fn put(&self, key: &str, value: String, lifetime: Duration) -> Result<(), OidcError> {
        match self {
            Self::Memory(map) => {
                let mut map = map.lock().map_err(poisoned)?;
                let now = Instant::now();
                // Forget what expired now and then, so abandoned sign-ins cannot pile up.
                if map.len() >= 1024 && map.len().is_power_of_two() {
                    map.retain(|_, (_, until)| now < *until);
                }
                map.insert(key.to_string(), (value, now + lifetime));
                Ok(())
            }
            Self::Redis(manager, _) => {
                let mut conn = manager.clone();
                let _: () = conn.set_ex(key, value, lifetime.as_secs().max(1)).await?;
                Ok(())
            }
        }
    }
}
