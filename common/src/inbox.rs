//! What notify-service and the gateway both need to know about the in-app inbox: the topic
//! on which a change of someone's inbox is announced, and the announcement.

use serde::{Deserialize, Serialize};

/// The stream topic inbox changes are announced on, one `InboxChange` JSON per message.
pub const CHANGES_TOPIC: &str = "inbox-changes";

/// The inboxes of `users` changed (items arrived, or were marked read): a subscriber to one
/// of them reads its unread count again. Says nothing of what changed, so announcements can
/// arrive late, twice or out of order and the count read after the last one is still right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxChange {
    /// Whose inboxes changed.
    pub users: Vec<i64>,
}

/// The most users one announcement names (a change for more is announced in several).
pub const USERS_PER_CHANGE: usize = 500;

impl InboxChange {
    /// The announcements for `users` (deduplicated), at most `USERS_PER_CHANGE` each.
    pub fn for_users(users: impl IntoIterator<Item = i64>) -> Vec<Self> {
        let users: std::collections::BTreeSet<i64> = users.into_iter().collect();
        let users: Vec<i64> = users.into_iter().collect();
        users
            .chunks(USERS_PER_CHANGE)
            .map(|chunk| Self {
                users: chunk.to_vec(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_name_each_user_once_in_bounded_messages() {
        assert!(InboxChange::for_users([]).is_empty());
        assert_eq!(
            InboxChange::for_users([3, 1, 3]),
            vec![InboxChange { users: vec![1, 3] }]
        );
        let many = InboxChange::for_users(0..1_001);
        assert_eq!(
            many.iter().map(|c| c.users.len()).collect::<Vec<_>>(),
            [500, 500, 1]
        );
        let json = serde_json::to_string(&many[2]).unwrap();
        assert_eq!(json, r#"{"users":[1000]}"#);
    }
}
