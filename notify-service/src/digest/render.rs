//! A digest's email: what changed on which tickets since the last one, each ticket once with
//! a link to it and its changes oldest first, at the times the user reads in their own zone.

use crate::email::{Email, escape, ticket_link};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use common::Cadence;
use std::collections::BTreeMap;

/// One change a digest lists: the subject its own email would have had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The ticket.
    pub ticket_id: i64,
    /// The line naming the ticket and what happened.
    pub subject: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Who a digest is for and how they read times.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    /// Their name.
    pub name: &'a str,
    /// Their address.
    pub email: &'a str,
    /// Their time zone.
    pub zone: Tz,
    /// The web client's address.
    pub public_url: &'a str,
}

/// `changes` by ticket, tickets in the order of their first change.
fn by_ticket(changes: &[Change]) -> Vec<(i64, Vec<&Change>)> {
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted.sort_by_key(|c| (c.at, c.ticket_id));
    let mut order: Vec<i64> = Vec::new();
    let mut groups: BTreeMap<i64, Vec<&Change>> = BTreeMap::new();
    for change in sorted {
        let group = groups.entry(change.ticket_id).or_default();
        if group.is_empty() {
            order.push(change.ticket_id);
        }
        group.push(change);
    }
    order
        .into_iter()
        .map(|id| (id, groups.remove(&id).unwrap_or_default()))
        .collect()
}

/// The subject line: how many changes on how many tickets.
pub fn subject(cadence: Cadence, changes: &[Change]) -> String {
    let tickets = by_ticket(changes).len();
    let kind = if cadence == Cadence::Weekly {
        "weekly"
    } else {
        "daily"
    };
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "Your {kind} Tessera digest: {} on {}",
        plural(changes.len(), "change", "changes"),
        plural(tickets, "ticket", "tickets")
    )
}

/// The whole email. `changes` is never empty (an empty digest is not written).
pub fn render(cadence: Cadence, changes: &[Change], reader: &Reader<'_>) -> Email {
    let subject = subject(cadence, changes);
    let when = |at: &DateTime<Utc>| {
        at.with_timezone(&reader.zone)
            .format("%a %-d %b %H:%M")
            .to_string()
    };
    let settings = format!(
        "{}/settings/notifications",
        reader.public_url.trim_end_matches('/')
    );
    let mut text = format!(
        "Hello {},\n\nWhat changed on your tickets since your last digest (times in {}):\n",
        reader.name,
        reader.zone.name()
    );
    let mut html = format!(
        "<p>Hello {},</p><p>What changed on your tickets since your last digest (times in {}):</p>",
        escape(reader.name),
        escape(reader.zone.name())
    );
    for (ticket, group) in by_ticket(changes) {
        let link = ticket_link(reader.public_url, ticket);
        text.push_str(&format!("\n{link}\n"));
        html.push_str(&format!(
            "<h3><a href=\"{0}\">{0}</a></h3><ul>",
            escape(&link)
        ));
        for change in group {
            text.push_str(&format!("  {}  {}\n", when(&change.at), change.subject));
            html.push_str(&format!(
                "<li>{} &mdash; {}</li>",
                escape(&when(&change.at)),
                escape(&change.subject)
            ));
        }
        html.push_str("</ul>");
    }
    text.push_str(&format!(
        "\nChoose what reaches you, and when: {settings}\n"
    ));
    html.push_str(&format!(
        "<p>Choose what reaches you, and when: <a href=\"{0}\">{0}</a></p>",
        escape(&settings)
    ));
    Email {
        to_email: reader.email.to_owned(),
        to_name: reader.name.to_owned(),
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(ticket_id: i64, subject: &str, at: &str) -> Change {
        Change {
            ticket_id,
            subject: subject.to_owned(),
            at: at.parse().unwrap(),
        }
    }

    #[test]
    fn a_digest_lists_each_ticket_once_with_its_changes_in_order() {
        let changes = [
            change(2, "Ticket #2 granted", "2026-12-02T15:00:00Z"),
            change(1, "Ticket #1: offer <requested>", "2026-12-02T14:00:00Z"),
            change(1, "Ticket #1: offer approved", "2026-12-02T16:30:00Z"),
        ];
        let reader = Reader {
            name: "Ada",
            email: "ada@example.edu",
            zone: chrono_tz::America::Toronto,
            public_url: "https://tessera.example.edu/",
        };
        let email = render(Cadence::Daily, &changes, &reader);
        assert_eq!(
            email.subject,
            "Your daily Tessera digest: 3 changes on 2 tickets"
        );
        let one = email.text.find("/tickets/1\n").unwrap();
        let two = email.text.find("/tickets/2\n").unwrap();
        assert!(one < two, "{}", email.text);
        // Local times: 14:00 UTC is 09:00 in Toronto.
        assert!(
            email
                .text
                .contains("Wed 2 Dec 09:00  Ticket #1: offer <requested>"),
            "{}",
            email.text
        );
        assert!(email.html.contains("offer &lt;requested&gt;"));
        assert!(
            email
                .text
                .contains("https://tessera.example.edu/settings/notifications")
        );
        assert_eq!(
            subject(Cadence::Weekly, &changes[..1]),
            "Your weekly Tessera digest: 1 change on 1 ticket"
        );
    }
}
