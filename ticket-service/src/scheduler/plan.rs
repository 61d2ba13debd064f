//! What is due: the steps of each item the scheduler watches, and, given what was already
//! handled, which one step to send now and which older ones to mark skipped. Pure: the
//! caller loads the items, the calendar and the handled steps.
//!
//! An *item* is a ticket waiting on something since a moment: an offer out with the
//! applicant (anchored at its response date) or a ticket waiting in a state with a target
//! (anchored at the moment it entered the state). A new response date or a new wait is a new
//! item with steps of its own.

use super::{calendar::Calendar, config::Settings};
use chrono::{DateTime, Utc};
use common::{TicketEventKind, TicketState};
use std::collections::HashSet;

/// What an item waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// The applicant's answer to an offer, due at the anchor.
    Answer,
    /// Someone to move the ticket on from `state`, which it entered at the anchor.
    Action(TicketState),
}

/// A ticket waiting on something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The ticket.
    pub ticket_id: i64,
    /// What for.
    pub waiting: Waiting,
    /// The response date, or when the wait began.
    pub anchor: DateTime<Utc>,
    /// Since when the item exists (the offer went out or its date last moved; the wait
    /// began): steps due before this are not this item's to send.
    pub since: DateTime<Utc>,
}

/// One timed step of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The history event it writes.
    pub kind: TicketEventKind,
    /// Its name within the item (`7d`, `passed`, `reminder`, `escalated`).
    pub name: String,
    /// When it is due.
    pub due: DateTime<Utc>,
}

/// A handled step's key: kind, ticket, step name, anchor (the `scheduled_runs` unique key).
pub type Key = (TicketEventKind, i64, String, DateTime<Utc>);

impl Item {
    /// The key of `step` of this item.
    pub fn key(&self, step: &Step) -> Key {
        (step.kind, self.ticket_id, step.name.clone(), self.anchor)
    }

    /// Every step of the item, earliest first.
    pub fn steps(&self, settings: &Settings, calendar: &Calendar) -> Vec<Step> {
        let mut steps = match self.waiting {
            Waiting::Answer => {
                let mut steps: Vec<Step> = settings
                    .deadline_reminders
                    .iter()
                    .map(|ahead| Step {
                        kind: TicketEventKind::DeadlineReminder,
                        name: ahead.label(),
                        due: match *ahead {
                            super::config::Ahead::Days(n) => calendar.days_before(self.anchor, n),
                            super::config::Ahead::Hours(n) => {
                                self.anchor - chrono::Duration::hours(i64::from(n))
                            }
                        },
                    })
                    .collect();
                steps.push(Step {
                    kind: TicketEventKind::DeadlinePassed,
                    name: "passed".into(),
                    due: self.anchor,
                });
                steps
            }
            Waiting::Action(state) => {
                let Some(days) = settings.target(state) else {
                    return Vec::new();
                };
                let reminder = calendar.add_business_days(self.anchor, days);
                vec![
                    Step {
                        kind: TicketEventKind::WaitingReminder,
                        name: "reminder".into(),
                        due: reminder,
                    },
                    Step {
                        kind: TicketEventKind::WaitingEscalated,
                        name: "escalated".into(),
                        due: calendar.add_business_days(reminder, days),
                    },
                ]
            }
        };
        steps.sort_by_key(|s| s.due);
        steps
    }
}

/// What to do for one item now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The item.
    pub item: Item,
    /// The step to send: the latest one due.
    pub send: Step,
    /// Earlier steps due too and never handled: recorded as skipped, not sent (catching up
    /// after downtime sends one message per item, not a flood).
    pub skip: Vec<Step>,
}

/// What to do for `item` at `now`, given the steps already `handled` (by any scheduler):
/// nothing when no step is due or the latest due one was handled.
pub fn decide(
    item: &Item,
    steps: Vec<Step>,
    handled: &HashSet<Key>,
    now: DateTime<Utc>,
) -> Option<Decision> {
    let mut due: Vec<Step> = steps
        .into_iter()
        .filter(|s| s.due <= now && s.due >= item.since)
        .collect();
    let send = due.pop()?;
    if handled.contains(&item.key(&send)) {
        return None;
    }
    let skip = due
        .into_iter()
        .filter(|s| !handled.contains(&item.key(s)))
        .collect();
    Some(Decision {
        item: item.clone(),
        send,
        skip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn offer() -> Item {
        Item {
            ticket_id: 1,
            waiting: Waiting::Answer,
            anchor: at("2027-03-20T17:00:00Z"),
            since: at("2027-03-01T12:00:00Z"),
        }
    }

    fn plan(item: &Item, handled: &HashSet<Key>, now: &str) -> Option<Decision> {
        let calendar = Calendar::new(chrono_tz::Tz::UTC, []);
        decide(
            item,
            item.steps(&Settings::default(), &calendar),
            handled,
            at(now),
        )
    }

    #[test]
    fn each_step_is_sent_when_due_and_once() {
        let item = offer();
        let mut handled = HashSet::new();
        assert_eq!(plan(&item, &handled, "2027-03-13T16:59:59Z"), None);
        let first = plan(&item, &handled, "2027-03-13T17:00:00Z").unwrap();
        assert_eq!((first.send.name.as_str(), first.skip.len()), ("7d", 0));
        handled.insert(item.key(&first.send));
        assert_eq!(plan(&item, &handled, "2027-03-14T00:00:00Z"), None);
        let second = plan(&item, &handled, "2027-03-18T17:00:00Z").unwrap();
        assert_eq!(second.send.kind, TicketEventKind::DeadlineReminder);
        assert_eq!(second.send.name, "2d");
        handled.insert(item.key(&second.send));
        let passed = plan(&item, &handled, "2027-03-20T17:00:00Z").unwrap();
        assert_eq!(passed.send.kind, TicketEventKind::DeadlinePassed);
        handled.insert(item.key(&passed.send));
        assert_eq!(plan(&item, &handled, "2027-06-01T00:00:00Z"), None);
    }

    #[test]
    fn catching_up_sends_the_latest_and_skips_the_rest() {
        let item = offer();
        let late = plan(&item, &HashSet::new(), "2027-03-19T00:00:00Z").unwrap();
        assert_eq!(late.send.name, "2d");
        assert_eq!(
            late.skip
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["7d"]
        );
    }

    #[test]
    fn steps_before_the_item_began_are_not_its_own() {
        // An offer sent out a day before its response date: no "7 days ahead" reminder.
        let item = Item {
            since: at("2027-03-19T12:00:00Z"),
            ..offer()
        };
        assert_eq!(plan(&item, &HashSet::new(), "2027-03-19T13:00:00Z"), None);
        let passed = plan(&item, &HashSet::new(), "2027-03-20T17:00:00Z").unwrap();
        assert_eq!(passed.send.kind, TicketEventKind::DeadlinePassed);
        assert!(passed.skip.is_empty());
    }

    #[test]
    fn a_wait_is_reminded_then_escalated() {
        let entered = at("2027-03-01T09:00:00Z"); // a Monday
        let item = Item {
            ticket_id: 2,
            waiting: Waiting::Action(TicketState::OfferRequested),
            anchor: entered,
            since: entered,
        };
        let mut handled = HashSet::new();
        assert_eq!(plan(&item, &handled, "2027-03-04T08:59:00Z"), None);
        let reminder = plan(&item, &handled, "2027-03-04T09:00:00Z").unwrap();
        assert_eq!(reminder.send.kind, TicketEventKind::WaitingReminder);
        handled.insert(item.key(&reminder.send));
        // Three more business days: Thursday 4 -> Tuesday 9.
        assert_eq!(plan(&item, &handled, "2027-03-09T08:00:00Z"), None);
        let escalated = plan(&item, &handled, "2027-03-09T09:00:00Z").unwrap();
        assert_eq!(escalated.send.kind, TicketEventKind::WaitingEscalated);
        assert!(escalated.skip.is_empty());
        // A state without a target has no steps.
        let untracked = Item {
            waiting: Waiting::Action(TicketState::OfferRefused),
            ..item
        };
        assert_eq!(
            plan(&untracked, &HashSet::new(), "2028-01-01T00:00:00Z"),
            None
        );
    }
}
