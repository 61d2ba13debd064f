//! What each operation requires of an API token: the scope of every root field (reads need
//! TICKETS_READ, ticket and note writes TICKETS_WRITE, exports EXPORTS), and SESSION_ONLY for
//! token management, administration and any mutation not given a scope here.

use crate::engine::{Operation, OperationType};
use common::{
    ApiScope,
    auth::{Access, SESSION_ONLY},
};
use std::collections::BTreeSet;

/// The ticket and note mutations, allowed by TICKETS_WRITE.
const WRITE_MUTATIONS: &[&str] = &[
    "createTickets",
    "grantTicket",
    "cancelTicket",
    "requestOffer",
    "withdrawOfferRequest",
    "setSupervisors",
    "approveOffer",
    "declineOffer",
    "recordOfferResponse",
    "setResponseDeadline",
    "addNote",
    "editNote",
    "deleteNote",
    "resolveNote",
];

/// The export mutations, allowed by EXPORTS.
const EXPORT_MUTATIONS: &[&str] = &["exportTickets"];

/// Queries that are token or webhook management, for sessions only (a webhook's deliveries
/// show what its owner's events said, and managing where events go is the owner's act).
const SESSION_QUERIES: &[&str] = &["apiTokens", "webhooks", "webhook"];

/// The facts an operation's API token is checked against: its kind, its root fields, and the
/// scope each root field requires.
pub(super) fn access(operation: &Operation<'_>) -> Access {
    let requires = match operation.kind {
        OperationType::Query | OperationType::Subscription => {
            let mut requires = BTreeSet::from([ApiScope::TicketsRead.as_str().to_string()]);
            if operation.fields.iter().any(|f| SESSION_QUERIES.contains(f)) {
                requires.insert(SESSION_ONLY.to_string());
            }
            requires
        }
        OperationType::Mutation => operation
            .fields
            .iter()
            .map(|field| {
                if WRITE_MUTATIONS.contains(field) {
                    ApiScope::TicketsWrite.as_str()
                } else if EXPORT_MUTATIONS.contains(field) {
                    ApiScope::Exports.as_str()
                } else {
                    // Admin mutations, token management, and anything added later until it
                    // is given a scope here.
                    SESSION_ONLY
                }
                .to_string()
            })
            .collect(),
    };
    Access {
        operation: operation.kind.as_str().to_string(),
        fields: operation.fields.iter().map(|f| f.to_string()).collect(),
        requires,
    }
}

/// What downloading an export requires: the EXPORTS scope.
pub(super) fn download() -> Access {
    Access {
        operation: "download".into(),
        fields: Vec::new(),
        requires: BTreeSet::from([ApiScope::Exports.as_str().to_string()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requires(kind: OperationType, fields: &[&str]) -> Vec<String> {
        access(&Operation {
            kind,
            fields: fields.to_vec(),
        })
        .requires
        .into_iter()
        .collect()
    }

    /// The root fields of `type <name>` in the served supergraph.
    fn supergraph_fields(name: &str) -> Vec<String> {
        let start = format!("type {name}");
        let mut lines = crate::SUPERGRAPH
            .lines()
            .skip_while(|l| !l.starts_with(&start));
        lines.next();
        lines
            .take_while(|l| !l.starts_with('}'))
            .filter_map(|l| {
                let l = l.trim();
                let end = l.find(['(', ':'])?;
                (!l.starts_with('"') && !l.starts_with('@')).then(|| l[..end].to_string())
            })
            .collect()
    }

    #[test]
    fn the_scope_lists_name_real_fields() {
        let mutations = supergraph_fields("Mutation");
        assert!(
            mutations.contains(&"createApiToken".to_string()),
            "{mutations:?}"
        );
        for field in WRITE_MUTATIONS {
            assert!(
                mutations.contains(&field.to_string()),
                "{field} is not a mutation"
            );
        }
        let queries = supergraph_fields("Query");
        for field in SESSION_QUERIES {
            assert!(
                queries.contains(&field.to_string()),
                "{field} is not a query"
            );
        }
    }

    #[test]
    fn each_root_field_requires_its_scope() {
        assert_eq!(
            requires(OperationType::Query, &["tickets", "me"]),
            ["TICKETS_READ"]
        );
        assert_eq!(
            requires(OperationType::Query, &["apiTokens"]),
            [SESSION_ONLY, "TICKETS_READ"]
        );
        assert_eq!(
            requires(OperationType::Subscription, &["ticketEvents"]),
            ["TICKETS_READ"]
        );
        assert_eq!(
            requires(OperationType::Query, &["inbox", "inboxUnreadCount"]),
            ["TICKETS_READ"]
        );
        assert_eq!(
            requires(OperationType::Subscription, &["inboxUnreadCount"]),
            ["TICKETS_READ"]
        );
        assert_eq!(
            requires(OperationType::Mutation, &["addNote", "grantTicket"]),
            ["TICKETS_WRITE"]
        );
        assert_eq!(
            requires(OperationType::Mutation, &["exportTickets"]),
            ["EXPORTS"]
        );
        assert_eq!(
            requires(OperationType::Query, &["webhooks"]),
            [SESSION_ONLY, "TICKETS_READ"]
        );
        assert_eq!(
            requires(OperationType::Query, &["tickets", "webhook"]),
            [SESSION_ONLY, "TICKETS_READ"]
        );
        for session in [
            "createWebhook",
            "updateWebhook",
            "deleteWebhook",
            "rotateWebhookSecret",
            "redeliverWebhookDelivery",
            "sendTestWebhookEvent",
            "createApiToken",
            "revokeApiToken",
            "createUser",
            "updateUser",
            "updateNotificationPreferences",
            // The inbox is read like preferences: a token may read it, a session changes it.
            "markRead",
            "markAllRead",
        ] {
            assert_eq!(
                requires(OperationType::Mutation, &[session]),
                [SESSION_ONLY]
            );
        }
        assert_eq!(
            requires(OperationType::Mutation, &["addNote", "exportTickets"]),
            ["EXPORTS", "TICKETS_WRITE"]
        );
    }
}
