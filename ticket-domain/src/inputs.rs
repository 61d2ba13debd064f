//! The GraphQL inputs of a ticket list, and the enums they use: ticket-service's `tickets`
//! and export-service's `exportTickets` take the same `TicketFilter` and `TicketOrder`, so
//! both subgraphs declare them from here, identically; `TicketEventKind` too, which
//! ticket-service's history and notify-service's webhooks both name.

use crate::listing;
use async_graphql::{Enum, ID, InputObject};
use chrono::{DateTime, Utc};

/// Domestic or international funding.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::Residency")]
pub enum Residency {
    /// A domestic student.
    Domestic,
    /// An international student.
    International,
}

/// The workflow's states.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::TicketState")]
pub enum TicketState {
    /// Created by the budget director, not yet usable.
    Initial,
    /// The faculty member may use it for an offer.
    Granted,
    /// Faculty asked to make an offer to a named applicant.
    OfferRequested,
    /// Approved; the offer is out with the applicant.
    OfferPending,
    /// The applicant accepted: the ticket is spent (final).
    OfferAccepted,
    /// The applicant refused; the ticket may be used again.
    OfferRefused,
    /// Withdrawn by the budget director (final).
    Cancelled,
}

/// What a history entry records.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::TicketEventKind")]
pub enum TicketEventKind {
    /// The ticket was created.
    Created,
    /// The ticket moved between states.
    StateChanged,
    /// An applicant was named.
    ApplicantSet,
    /// The supervisors changed.
    SupervisorsChanged,
    /// A note was added.
    NoteAdded,
    /// A note was edited.
    NoteEdited,
    /// A note was deleted.
    NoteDeleted,
    /// A note was resolved or reopened.
    NoteResolved,
    /// The applicant's response date changed (the detail holds the new one).
    DeadlineChanged,
    /// The response date is near and no answer is recorded (the detail holds the date).
    DeadlineReminder,
    /// The response date passed with no answer recorded (the detail holds the date).
    DeadlinePassed,
    /// The ticket has waited in its state past the state's target.
    WaitingReminder,
    /// The ticket waited a further target period: escalated to the role the detail names.
    WaitingEscalated,
}

/// Which tickets a list shows.
#[derive(InputObject, Clone, Debug, Default)]
pub struct TicketFilter {
    pub states: Option<Vec<TicketState>>,
    pub residency: Option<Residency>,
    pub cycle: Option<String>,
    pub owner_id: Option<ID>,
    pub applicant_number: Option<String>,
    /// Matches ticket number, applicant name or number, owner name.
    pub search: Option<String>,
    /// Tickets due before this time (an offer's response date); tickets with nothing due never match.
    pub due_before: Option<DateTime<Utc>>,
    /// true: tickets past their due time; false: the others.
    pub overdue: Option<bool>,
}

impl From<TicketFilter> for listing::Filter {
    fn from(f: TicketFilter) -> Self {
        listing::Filter {
            states: f.states.map(|s| s.into_iter().map(Into::into).collect()),
            residency: f.residency.map(Into::into),
            cycle: f.cycle,
            owner_id: f.owner_id.map(|i| i.0),
            applicant_number: f.applicant_number,
            search: f.search,
            due_before: f.due_before,
            overdue: f.overdue,
        }
    }
}

/// What a list can be ordered by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TicketOrderField {
    Number,
    CreatedAt,
    UpdatedAt,
    State,
    OwnerName,
    /// When the ticket is due (`Ticket.dueAt`); tickets with nothing due come last.
    DueAt,
}

/// Ascending or descending.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

/// A list's ordering.
#[derive(InputObject, Clone, Copy, Debug)]
pub struct TicketOrder {
    pub field: TicketOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl From<TicketOrder> for listing::Ordering {
    fn from(o: TicketOrder) -> Self {
        let field = match o.field {
            TicketOrderField::Number => listing::OrderField::Number,
            TicketOrderField::CreatedAt => listing::OrderField::CreatedAt,
            TicketOrderField::UpdatedAt => listing::OrderField::UpdatedAt,
            TicketOrderField::State => listing::OrderField::State,
            TicketOrderField::OwnerName => listing::OrderField::OwnerName,
            TicketOrderField::DueAt => listing::OrderField::DueAt,
        };
        listing::Ordering {
            field,
            descending: o.direction == OrderDirection::Desc,
        }
    }
}
