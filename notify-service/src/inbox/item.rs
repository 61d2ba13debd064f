//! The inbox item a recipient of an event gets: the event's kind, the email's subject as its
//! title and the email's opening sentence as its summary (one wording for both channels).

use crate::email;
use common::TicketEventMessage;
use db::entity::inbox_item;
use sea_orm::Set;

/// `user`'s item about `event`, worded as `headline` (`email::headline`).
pub fn row(
    event: &TicketEventMessage,
    user: i64,
    headline: &email::Headline,
    now: chrono::DateTime<chrono::Utc>,
) -> inbox_item::ActiveModel {
    inbox_item::ActiveModel {
        user_id: Set(user),
        event_id: Set(event.event_id),
        ticket_id: Set(event.ticket_id),
        kind: Set(event.kind.as_str().to_string()),
        title: Set(headline.subject.clone()),
        summary: Set(headline.opening.clone()),
        created_at: Set(now),
        read_at: Set(None),
        ..Default::default()
    }
}
