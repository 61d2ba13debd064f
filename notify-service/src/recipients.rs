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
//! resolving notes email nobody. A recipient who turned `email` off gets a SUPPRESSED row.

use crate::preferences::Preferences;
use common::{Role, TicketEventKind, TicketEventMessage, TicketState};
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

/// Who the event concerns before preferences, and whether they must have asked for note
/// emails.
fn audience(event: &TicketEventMessage, dir: &Directory) -> (BTreeSet<i64>, bool) {
    let owner_and_staff = || {
        std::iter::once(event.owner_id)
            .chain(dir.staff_of(event.owner_id))
            .collect::<BTreeSet<_>>()
    };
    match event.kind {
        TicketEventKind::NoteAdded => {
            let mut all = owner_and_staff();
            all.extend(event.supervisor_ids.iter().copied());
            (all, true)
        }
        TicketEventKind::StateChanged => {
            let Some(to) = event.to_state else {
                return (BTreeSet::new(), false);
            };
            let all = match to {
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
            };
            (all, false)
        }
        // The offer's faculty side: the applicant they recruit has a new date to answer by.
        TicketEventKind::DeadlineChanged => (owner_and_staff(), false),
        // The applicant's answer is near or late: the faculty side chases the applicant, the
        // graduate office records the answer.
        TicketEventKind::DeadlineReminder | TicketEventKind::DeadlinePassed => {
            let mut all = owner_and_staff();
            all.extend(dir.holders(Role::GradOffice));
            (all, false)
        }
        TicketEventKind::WaitingReminder => (can_act(event.state, owner_and_staff(), dir), false),
        TicketEventKind::WaitingEscalated => (dir.holders(escalated_to(event)).collect(), false),
        TicketEventKind::Created
        | TicketEventKind::ApplicantSet
        | TicketEventKind::SupervisorsChanged
        | TicketEventKind::NoteEdited
        | TicketEventKind::NoteDeleted
        | TicketEventKind::NoteResolved => (BTreeSet::new(), false),
    }
}

/// Everyone emailed about `event` (ordered by user id), and how.
pub fn recipients(event: &TicketEventMessage, dir: &Directory) -> Vec<(i64, Delivery)> {
    let (audience, needs_notes) = audience(event, dir);
    audience
        .into_iter()
        .filter(|user| *user != event.actor_id && dir.people.contains_key(user))
        .filter_map(|user| {
            let prefs = dir.preferences(user);
            if needs_notes && !prefs.notes {
                return None;
            }
            let delivery = if prefs.email {
                Delivery::Email
            } else {
                Delivery::Suppressed
            };
            Some((user, delivery))
        })
        .collect()
}

/// Whether a move back to GRANTED was the owner's side withdrawing (rather than the associate
/// chair declining).
pub fn withdrawn(event: &TicketEventMessage, dir: &Directory) -> bool {
    event.actor_id == event.owner_id || dir.staff_of(event.owner_id).any(|s| s == event.actor_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    const OWNER: i64 = 1;
    const STAFF: i64 = 2;
    const CO_SUPERVISOR: i64 = 3;
    const CHAIR: i64 = 4;
    const CHAIR_2: i64 = 5;
    const GRAD: i64 = 6;
    const BUDGET: i64 = 7;
    const INACTIVE_CHAIR: i64 = 8;
    const OTHER_STAFF: i64 = 9;

    fn person(roles: &[Role]) -> Person {
        Person {
            name: "someone".into(),
            email: "someone@example.edu".into(),
            roles: roles.to_vec(),
        }
    }

    /// An owner with one supporting FSS, a co-supervisor, two associate chairs, a graduate
    /// office and a budget director; an inactive chair (absent from `people`, as the worker
    /// loads only active users) and an FSS of another faculty member.
    fn directory() -> Directory {
        let mut people = HashMap::new();
        people.insert(OWNER, person(&[Role::Faculty]));
        people.insert(STAFF, person(&[Role::Fss]));
        people.insert(CO_SUPERVISOR, person(&[Role::Faculty]));
        people.insert(CHAIR, person(&[Role::AssociateChair, Role::Faculty]));
        people.insert(CHAIR_2, person(&[Role::AssociateChair]));
        people.insert(GRAD, person(&[Role::GradOffice]));
        people.insert(BUDGET, person(&[Role::BudgetDirector]));
        people.insert(OTHER_STAFF, person(&[Role::Fss]));
        let mut support = HashMap::new();
        support.insert(OWNER, vec![STAFF, INACTIVE_CHAIR]);
        support.insert(CO_SUPERVISOR, vec![OTHER_STAFF]);
        Directory {
            people,
            support,
            preferences: HashMap::new(),
        }
    }

    fn event(
        kind: TicketEventKind,
        from: Option<TicketState>,
        to: Option<TicketState>,
        actor: i64,
    ) -> TicketEventMessage {
        TicketEventMessage {
            event_id: 10,
            ticket_id: 20,
            ticket_number: 30,
            kind,
            actor_id: actor,
            from_state: from,
            to_state: to,
            state: to.unwrap_or(TicketState::Granted),
            owner_id: OWNER,
            supervisor_ids: vec![OWNER, CO_SUPERVISOR],
            applicant: None,
            detail: None,
            at: Utc::now(),
        }
    }

    fn moved(from: TicketState, to: TicketState, actor: i64) -> TicketEventMessage {
        event(TicketEventKind::StateChanged, Some(from), Some(to), actor)
    }

    fn emailed(event: &TicketEventMessage, dir: &Directory) -> Vec<i64> {
        recipients(event, dir)
            .into_iter()
            .map(|(user, delivery)| {
                assert_eq!(delivery, Delivery::Email);
                user
            })
            .collect()
    }

    #[test]
    fn every_transition_emails_the_people_the_design_names() {
        use TicketState::*;
        let dir = directory();
        let cases = [
            // grantTicket by the budget director.
            (moved(Initial, Granted, BUDGET), vec![OWNER, STAFF]),
            // requestOffer by the owner.
            (moved(Granted, OfferRequested, OWNER), vec![CHAIR, CHAIR_2]),
            (
                moved(OfferRefused, OfferRequested, STAFF),
                vec![CHAIR, CHAIR_2],
            ),
            // withdrawOfferRequest by the FSS, declineOffer by a chair.
            (moved(OfferRequested, Granted, STAFF), vec![OWNER]),
            (moved(OfferRequested, Granted, CHAIR), vec![OWNER, STAFF]),
            // approveOffer by a chair, or by the graduate office.
            (
                moved(OfferRequested, OfferPending, CHAIR),
                vec![OWNER, STAFF, GRAD],
            ),
            (
                moved(OfferRequested, OfferPending, GRAD),
                vec![OWNER, STAFF],
            ),
            // recordOfferResponse by the graduate office.
            (
                moved(OfferPending, OfferAccepted, GRAD),
                vec![OWNER, STAFF, CO_SUPERVISOR, BUDGET],
            ),
            (
                moved(OfferPending, OfferRefused, GRAD),
                vec![OWNER, STAFF, CO_SUPERVISOR, BUDGET],
            ),
            // cancelTicket by the budget director.
            (moved(Granted, Cancelled, BUDGET), vec![OWNER, STAFF]),
            (moved(OfferRefused, Cancelled, BUDGET), vec![OWNER, STAFF]),
        ];
        for (event, expected) in cases {
            assert_eq!(
                emailed(&event, &dir),
                expected,
                "{:?} -> {:?} by {}",
                event.from_state,
                event.to_state,
                event.actor_id
            );
        }
    }

    #[test]
    fn a_new_response_date_goes_to_the_offer_s_faculty_side() {
        let dir = directory();
        let changed = event(TicketEventKind::DeadlineChanged, None, None, GRAD);
        assert_eq!(emailed(&changed, &dir), vec![OWNER, STAFF]);
    }

    #[test]
    fn a_near_or_passed_response_date_goes_to_the_faculty_side_and_the_graduate_office() {
        let dir = directory();
        for kind in [
            TicketEventKind::DeadlineReminder,
            TicketEventKind::DeadlinePassed,
        ] {
            let mut reminder = event(kind, None, None, 99);
            reminder.state = TicketState::OfferPending;
            assert_eq!(
                emailed(&reminder, &dir),
                vec![OWNER, STAFF, GRAD],
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_waiting_reminder_goes_to_those_who_can_act() {
        use TicketState::*;
        let dir = directory();
        for (state, expected) in [
            (Initial, vec![BUDGET]),
            (Granted, vec![OWNER, STAFF]),
            (OfferRefused, vec![OWNER, STAFF]),
            (OfferRequested, vec![CHAIR, CHAIR_2]),
            (OfferPending, vec![GRAD]),
            (Cancelled, vec![]),
        ] {
            let mut waiting = event(TicketEventKind::WaitingReminder, None, None, 99);
            waiting.state = state;
            assert_eq!(emailed(&waiting, &dir), expected, "{state:?}");
        }
    }

    #[test]
    fn an_escalation_goes_to_the_role_its_detail_names() {
        let mut dir = directory();
        dir.people.insert(10, person(&[Role::Admin]));
        let mut escalated = event(TicketEventKind::WaitingEscalated, None, None, 99);
        escalated.state = TicketState::OfferRequested;
        escalated.detail =
            Some("ADMIN: waiting in OFFER_REQUESTED since 2027-03-01T09:00:00Z".into());
        assert_eq!(emailed(&escalated, &dir), vec![10]);
        escalated.detail = Some("GRAD_OFFICE: waiting".into());
        assert_eq!(emailed(&escalated, &dir), vec![GRAD]);
        // Not a role: the default, the budget director.
        escalated.detail = Some("waiting in OFFER_REQUESTED".into());
        assert_eq!(emailed(&escalated, &dir), vec![BUDGET]);
        escalated.detail = None;
        assert_eq!(emailed(&escalated, &dir), vec![BUDGET]);
    }

    #[test]
    fn events_that_are_not_moves_or_notes_email_nobody() {
        let dir = directory();
        for kind in [
            TicketEventKind::Created,
            TicketEventKind::ApplicantSet,
            TicketEventKind::SupervisorsChanged,
            TicketEventKind::NoteEdited,
            TicketEventKind::NoteDeleted,
            TicketEventKind::NoteResolved,
        ] {
            assert!(
                recipients(&event(kind, None, None, CHAIR), &dir).is_empty(),
                "{kind:?}"
            );
        }
        let created = event(
            TicketEventKind::StateChanged,
            None,
            Some(TicketState::Initial),
            BUDGET,
        );
        assert!(recipients(&created, &dir).is_empty());
    }

    #[test]
    fn notes_go_only_to_those_who_asked_and_never_to_the_writer() {
        let mut dir = directory();
        let note = event(TicketEventKind::NoteAdded, None, None, OWNER);
        assert!(
            recipients(&note, &dir).is_empty(),
            "notes are off by default"
        );
        for user in [OWNER, STAFF, CO_SUPERVISOR, CHAIR] {
            dir.preferences.insert(
                user,
                Preferences {
                    email: true,
                    notes: true,
                },
            );
        }
        // The chair is not on the ticket; the owner wrote the note.
        assert_eq!(emailed(&note, &dir), vec![STAFF, CO_SUPERVISOR]);
    }

    #[test]
    fn email_off_is_a_suppressed_row_and_inactive_users_are_left_out() {
        let mut dir = directory();
        dir.preferences.insert(
            STAFF,
            Preferences {
                email: false,
                notes: false,
            },
        );
        let granted = moved(TicketState::Initial, TicketState::Granted, BUDGET);
        assert_eq!(
            recipients(&granted, &dir),
            vec![(OWNER, Delivery::Email), (STAFF, Delivery::Suppressed)]
        );
        // The owner leaves: nobody writes to an inactive account.
        dir.people.remove(&OWNER);
        assert_eq!(
            recipients(&granted, &dir),
            vec![(STAFF, Delivery::Suppressed)]
        );
    }

    #[test]
    fn a_withdrawal_is_told_from_a_decline_by_who_acted() {
        let dir = directory();
        let back = |actor| moved(TicketState::OfferRequested, TicketState::Granted, actor);
        assert!(withdrawn(&back(OWNER), &dir));
        assert!(withdrawn(&back(STAFF), &dir));
        assert!(!withdrawn(&back(CHAIR), &dir));
        assert!(!withdrawn(&back(OTHER_STAFF), &dir));
    }
}
