//! The table of `recipients`, case by case, and how preferences shape it.

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
        .map(|r| {
            assert_eq!(r.email, Delivery::Email);
            assert_eq!(r.in_app, Cadence::Immediate);
            r.user
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
    escalated.detail = Some("ADMIN: waiting in OFFER_REQUESTED since 2027-03-01T09:00:00Z".into());
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
        dir.preferences.insert(user, with(Some(true), Some(true)));
    }
    // The chair is not on the ticket; the owner wrote the note.
    assert_eq!(emailed(&note, &dir), vec![STAFF, CO_SUPERVISOR]);
}

#[test]
fn email_off_is_a_suppressed_row_and_inactive_users_are_left_out() {
    let mut dir = directory();
    dir.preferences
        .insert(STAFF, with(Some(false), Some(false)));
    let granted = moved(TicketState::Initial, TicketState::Granted, BUDGET);
    let how = |dir: &Directory| {
        recipients(&granted, dir)
            .into_iter()
            .map(|r| (r.user, r.email))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        how(&dir),
        vec![(OWNER, Delivery::Email), (STAFF, Delivery::Suppressed)]
    );
    // The owner leaves: nobody writes to an inactive account.
    dir.people.remove(&OWNER);
    assert_eq!(how(&dir), vec![(STAFF, Delivery::Suppressed)]);
}

#[test]
fn each_topic_follows_its_own_cadence_per_channel() {
    use crate::preferences::Change;
    let mut dir = directory();
    let change = Change {
        cadences: vec![
            (
                NotificationTopic::StateChanges,
                NotificationChannel::Email,
                Cadence::Daily,
            ),
            (
                NotificationTopic::StateChanges,
                NotificationChannel::InApp,
                Cadence::Weekly,
            ),
            (
                NotificationTopic::Reminders,
                NotificationChannel::Email,
                Cadence::Off,
            ),
            (
                NotificationTopic::Reminders,
                NotificationChannel::InApp,
                Cadence::Off,
            ),
        ],
        ..Change::default()
    };
    dir.preferences
        .insert(OWNER, Preferences::default().apply(&change));
    let granted = moved(TicketState::Initial, TicketState::Granted, BUDGET);
    assert_eq!(
        recipients(&granted, &dir)[0],
        Recipient {
            user: OWNER,
            email: Delivery::Digest(Cadence::Daily),
            in_app: Cadence::Weekly,
        }
    );
    // Reminders off on both channels: not a recipient at all.
    let mut reminder = event(TicketEventKind::DeadlineReminder, None, None, 99);
    reminder.state = TicketState::OfferPending;
    assert_eq!(emailed(&reminder, &dir), vec![STAFF, GRAD]);
}

fn with(email: Option<bool>, notes: Option<bool>) -> Preferences {
    Preferences::default().apply(&crate::preferences::Change {
        email,
        notes,
        ..Default::default()
    })
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
