//! Logout announcements: when a session ends, every replica's live-updates connections of
//! that session close at once instead of at their next check. In-process, a broadcast
//! channel; with Redis, also a pub/sub channel (`<prefix>:sessions-ended`) that every
//! replica publishes to and listens on. Sessions are named by the hash their store keys them
//! by (`super::hash`), never by the id itself.

use futures::StreamExt;
use std::{
    sync::{Arc, Weak},
    time::Duration,
};
use tokio::sync::broadcast;

/// The connections of one process hear of ended sessions here.
type Local = broadcast::Sender<Arc<str>>;

/// Announces ended sessions, and hears those other replicas announce.
pub(super) struct Logouts {
    local: Arc<Local>,
    redis: Option<Shared>,
}

/// The Redis side: a connection to publish on, a client to listen with, and the channel.
struct Shared {
    client: redis::Client,
    conn: redis::aio::ConnectionManager,
    channel: String,
}

impl Logouts {
    /// Announcements within this process only.
    pub(super) fn local() -> Self {
        Self {
            local: Arc::new(broadcast::channel(1024).0),
            redis: None,
        }
    }

    /// Announcements shared by every replica through Redis.
    pub(super) fn redis(
        client: redis::Client,
        conn: redis::aio::ConnectionManager,
        prefix: &str,
    ) -> Self {
        Self {
            redis: Some(Shared {
                client,
                conn,
                channel: format!("{prefix}:sessions-ended"),
            }),
            ..Self::local()
        }
    }

    /// Tells every replica's connections that the session tagged `tag` ended.
    pub(super) fn announce(&self, tag: Arc<str>) {
        // No connection listening is not an error.
        let _ = self.local.send(tag.clone());
        if let Some(shared) = &self.redis {
            let mut conn = shared.conn.clone();
            let channel = shared.channel.clone();
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

    /// The tags of sessions that end from now on.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.local.subscribe()
    }

    /// With Redis, passes the logouts other replicas announce to this process's connections
    /// until the store is dropped.
    pub(super) fn listen(&self) {
        if let Some(shared) = &self.redis {
            let client = shared.client.clone();
            let channel = shared.channel.clone();
            tokio::spawn(listen(client, channel, Arc::downgrade(&self.local)));
        }
    }
}

async fn listen(client: redis::Client, channel: String, local: Weak<Local>) {
    loop {
        let listened: Result<(), redis::RedisError> = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            let mut messages = pubsub.on_message();
            while let Some(message) = messages.next().await {
                let Some(local) = local.upgrade() else {
                    return Ok(());
                };
                if let Ok(tag) = message.get_payload::<String>() {
                    let _ = local.send(tag.into());
                }
            }
            Ok(())
        }
        .await;
        if local.strong_count() == 0 {
            return;
        }
        if let Err(err) = listened {
            tracing::warn!(%err, "live updates: not hearing logouts from Redis; retrying");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
