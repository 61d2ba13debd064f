//! The body of a webhook request: `{"type", "timestamp", "data"}` as Standard Webhooks
//! suggests, `type` being `ticket.` and the event kind in lower case
//! (`ticket.state_changed`, `ticket.note_added`), `data` the event, the ticket as it stood
//! once the change committed, and who acted.

use chrono::{DateTime, SecondsFormat, Utc};
use common::TicketEventMessage;
use serde_json::{Value, json};

/// The `type` of a ticket event's body.
pub fn event_type(event: &TicketEventMessage) -> String {
    format!("ticket.{}", event.kind.as_str().to_ascii_lowercase())
}

/// The body announcing `event`, which `actor_name` made.
pub fn ticket_event(event: &TicketEventMessage, actor_name: &str) -> Value {
    json!({
        "type": event_type(event),
        "timestamp": event.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "data": {
            "eventId": event.event_id.to_string(),
            "kind": event.kind.as_str(),
            "fromState": event.from_state.map(|s| s.as_str()),
            "toState": event.to_state.map(|s| s.as_str()),
            "detail": event.detail,
            "ticket": {
                "id": event.ticket_id.to_string(),
                "number": event.ticket_number,
                "state": event.state.as_str(),
                "ownerId": event.owner_id.to_string(),
                "supervisorIds": event.supervisor_ids.iter().map(i64::to_string).collect::<Vec<_>>(),
                "applicant": event.applicant.as_ref().map(|a| json!({"number": a.number, "name": a.name})),
            },
            "actor": { "id": event.actor_id.to_string(), "name": actor_name },
        }
    })
}

/// The type of a test event.
pub const TEST_TYPE: &str = "webhook.test";

/// The body of a test event (`sendTestWebhookEvent`).
pub fn test_event(webhook_id: i64, at: DateTime<Utc>) -> Value {
    json!({
        "type": TEST_TYPE,
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "data": {
            "webhookId": webhook_id.to_string(),
            "message": "A test event from Tessera: this endpoint receives its webhooks.",
        }
    })
}

/// The `webhook-id` of a delivery: the event's id, the same for every attempt and
/// redelivery (so a receiver can drop duplicates); a test event's own delivery id.
pub fn message_id(event_id: Option<i64>, delivery_id: i64) -> String {
    match event_id {
        Some(event) => format!("msg_{event}"),
        None => format!("msg_test_{delivery_id}"),
    }
}
