//! The inbox item a recipient of an event gets: the event's kind, the email's subject as its
//! title and the email's opening sentence as its summary (one wording for both channels).

use crate::email;
use common::{Cadence, TicketEventMessage};
use db::entity::inbox_item;
use sea_orm::Set;

/// `user`'s item about `event`, worded as `headline` (`email::headline`): shown at once when
/// `cadence` is `Immediate`, else held for the user's daily or weekly digest.
pub fn row(
    event: &TicketEventMessage,
    user: i64,
    headline: &email::Headline,
    cadence: Cadence,
    now: chrono::DateTime<chrono::Utc>,
) -> inbox_item::ActiveModel {
    let held_for = (cadence != Cadence::Immediate).then(|| cadence.as_str().to_owned());
    inbox_item::ActiveModel {
        user_id: Set(user),
        event_id: Set(event.event_id),
        ticket_id: Set(event.ticket_id),
        kind: Set(event.kind.as_str().to_string()),
        title: Set(headline.subject.clone()),
        summary: Set(headline.opening.clone()),
        created_at: Set(now),
        read_at: Set(None),
        held_for: Set(held_for),
        ..Default::default()
    }
}
