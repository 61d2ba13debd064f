//! The workflow's vocabulary. The database stores these as their contract names
//! (`"OFFER_PENDING"`), the GraphQL layers map them to enums of the same names.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A value that is not one of an enumeration's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownName {
    /// Which enumeration was parsed.
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The name as the contract and the database spell it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(UnknownName { kind: $kind, value: s.to_owned() }),
                }
            }
        }
    };
}

named_enum!(
    /// What a user may do; a user may hold several roles.
    Role, "role" {
        /// A professor; tickets are issued to them.
        Faculty => "FACULTY",
        /// Faculty support staff, acting for the faculty members they support.
        Fss => "FSS",
        /// Creates, grants and cancels tickets.
        BudgetDirector => "BUDGET_DIRECTOR",
        /// Approves or declines offer requests.
        AssociateChair => "ASSOCIATE_CHAIR",
        /// Records approvals taken outside the system and the applicants' answers.
        GradOffice => "GRAD_OFFICE",
        /// Manages users.
        Admin => "ADMIN",
    }
);

impl Role {
    /// Roles that see every ticket (FACULTY and FSS see only their own).
    pub const fn sees_every_ticket(self) -> bool {
        matches!(
            self,
            Role::BudgetDirector | Role::AssociateChair | Role::GradOffice | Role::Admin
        )
    }
}

named_enum!(
    /// Domestic or international funding.
    Residency, "residency" {
        /// A domestic student.
        Domestic => "DOMESTIC",
        /// An international student.
        International => "INTERNATIONAL",
    }
);

named_enum!(
    /// The states of a ticket; the moves between them are decided by ticket-service's workflow.
    TicketState, "ticket state" {
        /// Created by the budget director, not yet usable.
        Initial => "INITIAL",
        /// The faculty member may use it for an offer.
        Granted => "GRANTED",
        /// An offer to a named applicant has been asked for.
        OfferRequested => "OFFER_REQUESTED",
        /// Approved; the offer is out with the applicant.
        OfferPending => "OFFER_PENDING",
        /// The applicant accepted (final).
        OfferAccepted => "OFFER_ACCEPTED",
        /// The applicant refused; the ticket may be used again.
        OfferRefused => "OFFER_REFUSED",
        /// Withdrawn by the budget director (final).
        Cancelled => "CANCELLED",
    }
);

impl TicketState {
    /// States in which the ticket holds its applicant exclusively (the unique partial index).
    pub const APPLICANT_LOCKING: &'static [TicketState] = &[
        TicketState::OfferRequested,
        TicketState::OfferPending,
        TicketState::OfferAccepted,
    ];

    /// Position in the workflow, used to order lists by state.
    pub fn rank(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

named_enum!(
    /// What a history entry records.
    TicketEventKind, "event kind" {
        /// The ticket was created.
        Created => "CREATED",
        /// The ticket moved from one state to another.
        StateChanged => "STATE_CHANGED",
        /// An applicant was named on the ticket.
        ApplicantSet => "APPLICANT_SET",
        /// The supervisors changed.
        SupervisorsChanged => "SUPERVISORS_CHANGED",
        /// A note was added.
        NoteAdded => "NOTE_ADDED",
        /// A note was edited.
        NoteEdited => "NOTE_EDITED",
        /// A note was deleted.
        NoteDeleted => "NOTE_DELETED",
        /// A note was resolved or reopened.
        NoteResolved => "NOTE_RESOLVED",
        /// The applicant's response date changed.
        DeadlineChanged => "DEADLINE_CHANGED",
        /// The applicant's response date is near and no answer is recorded (the scheduler;
        /// the detail holds the date).
        DeadlineReminder => "DEADLINE_REMINDER",
        /// The applicant's response date passed with no answer recorded (the scheduler).
        DeadlinePassed => "DEADLINE_PASSED",
        /// The ticket has waited in its state past the state's target (the scheduler).
        WaitingReminder => "WAITING_REMINDER",
        /// The ticket waited one more target period after its reminder: the escalation
        /// role is told (the scheduler; the detail starts with the role's name).
        WaitingEscalated => "WAITING_ESCALATED",
    }
);

named_enum!(
    /// Where one email stands.
    NotificationStatus, "notification status" {
        /// Waiting to be sent (or to be retried).
        Queued => "QUEUED",
        /// Accepted by the email provider.
        Sent => "SENT",
        /// Given up on; `last_error` says why.
        Failed => "FAILED",
        /// Not sent: the recipient turned email off.
        Suppressed => "SUPPRESSED",
        /// Not sent alone: listed in the recipient's daily or weekly digest (waiting for it
        /// until the digest is composed).
        Digest => "DIGEST",
    }
);

named_enum!(
    /// When one kind of event reaches a user on one channel.
    Cadence, "cadence" {
        /// As it happens: an email each, an inbox item at once.
        Immediate => "IMMEDIATE",
        /// In a digest once a day, at the user's digest hour.
        Daily => "DAILY",
        /// In a digest once a week, on the user's digest weekday at their digest hour.
        Weekly => "WEEKLY",
        /// Not at all.
        Off => "OFF",
    }
);

named_enum!(
    /// The kinds of event a user chooses a cadence for.
    NotificationTopic, "notification topic" {
        /// A ticket moved on (granted, offer requested, approved, answered, cancelled) or its
        /// response date changed.
        StateChanges => "STATE_CHANGES",
        /// A note was added.
        Notes => "NOTES",
        /// The scheduler's reminders and escalations: a response date near or passed, a
        /// ticket waiting too long.
        Reminders => "REMINDERS",
    }
);

named_enum!(
    /// Where notifications reach a user.
    NotificationChannel, "notification channel" {
        /// By email.
        Email => "EMAIL",
        /// In the web client's inbox.
        InApp => "IN_APP",
    }
);

named_enum!(
    /// Where one webhook delivery stands.
    WebhookDeliveryStatus, "webhook delivery status" {
        /// Waiting for its first request (or for an earlier delivery of its ticket).
        Pending => "PENDING",
        /// A request failed; it is tried again at `next_attempt_at`.
        Retrying => "RETRYING",
        /// The receiver answered with a 2xx.
        Delivered => "DELIVERED",
        /// Given up on; `last_error` says why.
        Failed => "FAILED",
    }
);

named_enum!(
    /// What an API token may be used for (DESIGN.md "Details that clients rely on").
    ApiScope, "API scope" {
        /// Every query and subscription.
        TicketsRead => "TICKETS_READ",
        /// The ticket and note mutations.
        TicketsWrite => "TICKETS_WRITE",
        /// `exportTickets` and export downloads.
        Exports => "EXPORTS",
    }
);

named_enum!(
    /// Where one export job stands.
    ExportStatus, "export status" {
        /// Waiting for a worker.
        Queued => "QUEUED",
        /// A worker is writing the file.
        Running => "RUNNING",
        /// The file is complete (until it expires).
        Done => "DONE",
        /// Given up on; `error` says why.
        Failed => "FAILED",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        for state in TicketState::ALL {
            assert_eq!(state.as_str().parse::<TicketState>(), Ok(*state));
        }
        for scope in ApiScope::ALL {
            assert_eq!(scope.as_str().parse::<ApiScope>(), Ok(*scope));
        }
        assert!("faculty".parse::<Role>().is_err());
    }

    #[test]
    fn serde_uses_contract_names() {
        let json = serde_json::to_string(&TicketState::OfferPending).unwrap_or_default();
        assert_eq!(json, "\"OFFER_PENDING\"");
    }
}
