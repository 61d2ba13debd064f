//! How each demo ticket got where it is: the steps of its history as they would have happened,
//! worked out before anything is written (the writing is `write_story`'s).

use super::{APPLICANTS, Cast};
use chrono::{DateTime, Duration, Utc};
use common::{TicketEventKind, TicketState};

/// kind, actor, from, to, detail, at.
pub(super) type HistoryEntry = (
    TicketEventKind,
    i64,
    Option<TicketState>,
    Option<TicketState>,
    Option<String>,
    DateTime<Utc>,
);

/// The state each ticket ends in, in turn; every state appears several times.
const TARGETS: [TicketState; 8] = [
    TicketState::Granted,
    TicketState::OfferRequested,
    TicketState::OfferPending,
    TicketState::OfferAccepted,
    TicketState::Initial,
    TicketState::OfferRefused,
    TicketState::Granted,
    TicketState::Cancelled,
];

/// An applicant a ticket's story names.
pub(super) struct NewApplicant {
    pub(super) name: &'static str,
    pub(super) number: String,
    pub(super) email: String,
    /// When they were entered.
    pub(super) at: DateTime<Utc>,
}

/// One demo ticket's story.
pub(super) struct Story {
    pub(super) owner: i64,
    /// Where it ended.
    pub(super) state: TicketState,
    /// When it last changed.
    pub(super) at: DateTime<Utc>,
    pub(super) history: Vec<HistoryEntry>,
    pub(super) applicant: Option<NewApplicant>,
    pub(super) supervisors: Vec<i64>,
}

impl Story {
    /// The `i`th ticket's story, from its creation by the budget director (`start` plus 30
    /// hours a ticket) to its target state, 20 hours a step. `applicants` counts the
    /// applicants named so far.
    pub(super) fn of_ticket(
        i: i64,
        cast: &Cast,
        start: DateTime<Utc>,
        applicants: &mut usize,
    ) -> Self {
        let at = start + Duration::hours(i * 30);
        let mut story = Self {
            owner: cast.faculty[(i as usize) % cast.faculty.len()],
            state: TicketState::Initial,
            at,
            history: vec![(
                TicketEventKind::Created,
                cast.budget,
                None,
                Some(TicketState::Initial),
                None,
                at,
            )],
            applicant: None,
            supervisors: Vec::new(),
        };
        let target = TARGETS[(i as usize) % TARGETS.len()];
        if target == TicketState::Cancelled {
            story.step(
                TicketState::Cancelled,
                cast.budget,
                Some("Funding line withdrawn for this cycle".into()),
            );
        } else if target != TicketState::Initial {
            story.step(TicketState::Granted, cast.budget, None);
        }
        if matches!(
            target,
            TicketState::OfferRequested
                | TicketState::OfferPending
                | TicketState::OfferAccepted
                | TicketState::OfferRefused
        ) {
            story.offer(i, target, cast, applicants);
        }
        story
    }

    /// A state change by `actor`, 20 hours after the last step.
    fn step(&mut self, to: TicketState, actor: i64, detail: Option<String>) {
        self.at += Duration::hours(20);
        self.history.push((
            TicketEventKind::StateChanged,
            actor,
            Some(self.state),
            Some(to),
            detail,
            self.at,
        ));
        self.state = to;
    }

    /// From a granted ticket to `target`: the next applicant named, supervisors set (a
    /// co-supervisor on every third), the offer requested (by Fiona for half of her faculty's
    /// tickets), then moved on by the chair and the graduate office.
    fn offer(&mut self, i: i64, target: TicketState, cast: &Cast, applicants: &mut usize) {
        let name = APPLICANTS[*applicants % APPLICANTS.len()];
        *applicants += 1;
        let number = format!("A2027-{:04}", 100 + *applicants);
        let email = name
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(".")
            .to_lowercase();
        self.applicant = Some(NewApplicant {
            name,
            number: number.clone(),
            email: format!("{email}@mail.example.org"),
            at: self.at,
        });
        let owner = self.owner;
        // The FSS files the request for the faculty members they support.
        let requester = if cast.faculty[..3].contains(&owner) && i % 2 == 0 {
            cast.fiona
        } else {
            owner
        };
        self.at += Duration::hours(20);
        self.history.push((
            TicketEventKind::ApplicantSet,
            requester,
            None,
            None,
            Some(format!("{name} ({number})")),
            self.at,
        ));
        self.supervisors.push(owner);
        if i % 3 == 0 {
            let co = cast.faculty[(i as usize + 1) % cast.faculty.len()];
            self.supervisors.push(co);
            self.history.push((
                TicketEventKind::SupervisorsChanged,
                requester,
                None,
                None,
                None,
                self.at,
            ));
        }
        self.step(TicketState::OfferRequested, requester, None);
        if target != TicketState::OfferRequested {
            self.step(TicketState::OfferPending, cast.chair, None);
        }
        if target == TicketState::OfferAccepted {
            self.step(TicketState::OfferAccepted, cast.grad, None);
        } else if target == TicketState::OfferRefused {
            self.step(
                TicketState::OfferRefused,
                cast.grad,
                Some("Accepted an offer elsewhere".into()),
            );
        }
    }
}
