//! Announcing that users' inboxes changed, on `common::inbox::CHANGES_TOPIC`, after the
//! change committed: the gateway's live updates read each announced user's unread count again.

use common::{
    inbox::{CHANGES_TOPIC, InboxChange},
    stream::{EventStream, StreamError},
};

/// Publishes the announcements for `users` (none for nobody).
pub async fn announce(
    stream: &EventStream,
    users: impl IntoIterator<Item = i64>,
) -> Result<(), StreamError> {
    for change in InboxChange::for_users(users) {
        let payload = serde_json::to_string(&change).unwrap_or_default();
        stream.publish(CHANGES_TOPIC, &payload).await?;
    }
    Ok(())
}

/// Where the subgraph announces the changes its mutations make (`markRead`, `markAllRead`).
#[derive(Debug, Clone)]
pub struct Announcer(pub EventStream);

impl Announcer {
    /// Announces that `user`'s inbox changed. A failure is logged, not the caller's: the
    /// change committed, the client that made it reads its own count, and the user's other
    /// clients catch up at their next change or reconnect.
    pub async fn changed(&self, user: i64) {
        if let Err(err) = announce(&self.0, [user]).await {
            tracing::warn!(%err, user, "cannot announce an inbox change");
        }
    }
}
