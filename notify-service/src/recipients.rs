//! Who is emailed about a ticket event: DESIGN.md's table, never the actor, only active users,
//! each recipient's preferences honoured. Pure: the worker loads the people involved into a
//! [`Directory`] and asks [`recipients`].
//!
//! | the ticket moved to / what happened | who                                         |
//! |-------------------------------------|---------------------------------------------|
//! | GRANTED (granted, declined, withdrawn) | owner, their FSS                          |
//! | OFFER_REQUESTED                     | every ASSOCIATE_CHAIR                       |
//! | OFFER_PENDING                       | owner, FSS, every GRAD_OFFICE               |
//! | OFFER_ACCEPTED, OFFER_REFUSED       | owner, FSS, supervisors, every BUDGET_DIRECTOR |
//! | CANCELLED                           | owner, FSS                                  |
//! | a note added                        | owner, FSS, supervisors who turned `notes` on |
//! | an offer's response date changed    | owner, FSS                                  |
//! | its response date is near, or passed (the scheduler) | owner, FSS, every GRAD_OFFICE |
//! | waiting too long (the scheduler)    | those who can move it on: INITIAL every BUDGET_DIRECTOR, GRANTED and OFFER_REFUSED owner and FSS, OFFER_REQUESTED every ASSOCIATE_CHAIR, OFFER_PENDING every GRAD_OFFICE |
//! | escalated (the scheduler)           | every holder of the role the event's detail names (`ESCALATION_ROLE`) |
//!
//! Creating a ticket, naming an applicant, changing supervisors and editing, deleting or
//! resolving notes email nobody.
//!
//! Each recipient's preferences then say, for the event's topic (state changes, notes,
//! reminders), how it reaches them: by email at once, in a digest (a DIGEST row) or not (a
//! SUPPRESSED row); in the inbox at once, held for a digest, or not. Someone who has the topic
//! off on both channels is not a recipient at all.

use crate::preferences::Preferences;
use common::{
    Cadence, NotificationChannel, NotificationTopic, Role, TicketEventKind, TicketEventMessage,
    TicketState,
};
use std::collections::{BTreeSet, HashMap};

/// A user as the worker needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// Address.
    pub email: String,
    /// Roles.
    pub roles: Vec<Role>,
}

/// The people an event may concern, loaded by the caller: every active user the event names
/// (owner, supervisors, actor), every active holder of a role the table emails, and each
/// owner's supporting staff.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    /// Active users by id.
    pub people: HashMap<i64, Person>,
    /// The users (FSS) supporting each faculty member.
    pub support: HashMap<i64, Vec<i64>>,
    /// Preferences by user; defaults for anyone missing.
    pub preferences: HashMap<i64, Preferences>,
}

impl Directory {
    fn preferences(&self, user: i64) -> Preferences {
        self.preferences.get(&user).copied().unwrap_or_default()
    }

    fn holders(&self, role: Role) -> impl Iterator<Item = i64> + '_ {
        self.people
            .iter()
            .filter(move |(_, p)| p.roles.contains(&role))
            .map(|(id, _)| *id)
    }

    /// The active FSS users supporting `faculty`.
    fn staff_of(&self, faculty: i64) -> impl Iterator<Item = i64> + '_ {
        self.support
            .get(&faculty)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| {
                self.people
                    .get(id)
                    .is_some_and(|p| p.roles.contains(&Role::Fss))
            })
    }
}

/// What a recipient gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// An email.
    Email,
    /// A SUPPRESSED row and no email: they turned email off.
    Suppressed,
    /// A DIGEST row, listed in their daily or weekly digest.
    Digest(Cadence),
}

/// One recipient of an event and how it reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    /// The user.
    pub user: i64,
    /// By email.
    pub email: Delivery,
    /// In the inbox: `Immediate`, held for a `Daily` or `Weekly` digest, or `Off` (no item).
    pub in_app: Cadence,
}

/// The topic a recipient chooses a cadence for, of the events that email anyone.
pub fn topic(kind: TicketEventKind) -> NotificationTopic {
    match kind {
        TicketEventKind::NoteAdded => NotificationTopic::Notes,
        TicketEventKind::DeadlineReminder
        | TicketEventKind::DeadlinePassed
        | TicketEventKind::WaitingReminder
        | TicketEventKind::WaitingEscalated => NotificationTopic::Reminders,
        _ => NotificationTopic::StateChanges,
    }
}

/// The roles whose every holder some row of the table emails (ADMIN when escalations go to
/// it: `ESCALATION_ROLE` may name any role that sees every ticket).
pub const BROADCAST_ROLES: [Role; 4] = [
    Role::AssociateChair,
    Role::GradOffice,
    Role::BudgetDirector,
    Role::Admin,
];

/// Who can move a ticket waiting in `state` on: the people a waiting reminder goes to.
fn can_act(state: TicketState, owner_and_staff: BTreeSet<i64>, dir: &Directory) -> BTreeSet<i64> {
    match state {
        TicketState::Initial => dir.holders(Role::BudgetDirector).collect(),
        TicketState::Granted | TicketState::OfferRefused => owner_and_staff,
        TicketState::OfferRequested => dir.holders(Role::AssociateChair).collect(),
        TicketState::OfferPending => dir.holders(Role::GradOffice).collect(),
        TicketState::OfferAccepted | TicketState::Cancelled => BTreeSet::new(),
    }
}

/// The role an escalation goes to: the scheduler leads the event's detail with its name
/// (`BUDGET_DIRECTOR: waiting in ...`); the default role when it does not parse.
pub fn escalated_to(event: &TicketEventMessage) -> Role {
    event
        .detail
        .as_deref()
        .and_then(|d| d.split_once(':'))
        .and_then(|(role, _)| role.trim().parse().ok())
        .unwrap_or(Role::BudgetDirector)
}

/// Who the event concerns before preferences.
fn audience(event: &TicketEventMessage, dir: &Directory) -> BTreeSet<i64> {
    let owner_and_staff = || {
        std::iter::once(event.owner_id)
            .chain(dir.staff_of(event.owner_id))
            .collect::<BTreeSet<_>>()
    };
    match event.kind {
        TicketEventKind::NoteAdded => {
            let mut all = owner_and_staff();
            all.extend(event.supervisor_ids.iter().copied());
            all
        }
        TicketEventKind::StateChanged => {
            let Some(to) = event.to_state else {
                return BTreeSet::new();
            };
            match to {
                TicketState::Initial => BTreeSet::new(),
                TicketState::Granted | TicketState::Cancelled => owner_and_staff(),
                TicketState::OfferRequested => dir.holders(Role::AssociateChair).collect(),
                TicketState::OfferPending => {
                    let mut all = owner_and_staff();
                    all.extend(dir.holders(Role::GradOffice));
                    all
                }
                TicketState::OfferAccepted | TicketState::OfferRefused => {
                    let mut all = owner_and_staff();
                    all.extend(event.supervisor_ids.iter().copied());
                    all.extend(dir.holders(Role::BudgetDirector));
                    all
                }
            }
        }
        // The offer's faculty side: the applicant they recruit has a new date to answer by.
        TicketEventKind::DeadlineChanged => owner_and_staff(),
        // The applicant's answer is near or late: the faculty side chases the applicant, the
        // graduate office records the answer.
        TicketEventKind::DeadlineReminder | TicketEventKind::DeadlinePassed => {
            let mut all = owner_and_staff();
            all.extend(dir.holders(Role::GradOffice));
            all
        }
        TicketEventKind::WaitingReminder => can_act(event.state, owner_and_staff(), dir),
        TicketEventKind::WaitingEscalated => dir.holders(escalated_to(event)).collect(),
        TicketEventKind::Created
        | TicketEventKind::ApplicantSet
        | TicketEventKind::SupervisorsChanged
        | TicketEventKind::NoteEdited
        | TicketEventKind::NoteDeleted
        | TicketEventKind::NoteResolved => BTreeSet::new(),
    }
}

/// Everyone `event` reaches (ordered by user id), and how.
pub fn recipients(event: &TicketEventMessage, dir: &Directory) -> Vec<Recipient> {
    let topic = topic(event.kind);
    audience(event, dir)
        .into_iter()
        .filter(|user| *user != event.actor_id && dir.people.contains_key(user))
        .filter_map(|user| {
            let prefs = dir.preferences(user);
            let email = prefs.cadence(topic, NotificationChannel::Email);
            let in_app = prefs.cadence(topic, NotificationChannel::InApp);
            if email == Cadence::Off && in_app == Cadence::Off {
                return None;
            }
            let email = match email {
                Cadence::Immediate => Delivery::Email,
                Cadence::Off => Delivery::Suppressed,
                digest => Delivery::Digest(digest),
            };
            Some(Recipient {
                user,
                email,
                in_app,
            })
        })
        .collect()
}

/// Whether a move back to GRANTED was the owner's side withdrawing (rather than the associate
/// chair declining).
pub fn withdrawn(event: &TicketEventMessage, dir: &Directory) -> bool {
    event.actor_id == event.owner_id || dir.staff_of(event.owner_id).any(|s| s == event.actor_id)
}

#[cfg(test)]
mod tests;
