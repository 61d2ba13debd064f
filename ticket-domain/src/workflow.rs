//! The ticket workflow: the only code that decides whether a move is allowed, and the code
//! that computes `allowedTransitions` from the same table, so the UI never offers a move that
//! would fail. Plain data in, plain data out: no database, no GraphQL.
//!
//! | action               | from                                   | to                   | who may                              |
//! |----------------------|----------------------------------------|----------------------|--------------------------------------|
//! | grant                | INITIAL                                | GRANTED              | BUDGET_DIRECTOR                      |
//! | cancel               | INITIAL, GRANTED, OFFER_REFUSED        | CANCELLED            | BUDGET_DIRECTOR                      |
//! | request offer        | GRANTED, OFFER_REFUSED                 | OFFER_REQUESTED      | the owner, an FSS supporting them    |
//! | withdraw request     | OFFER_REQUESTED                        | GRANTED              | the owner, their FSS                 |
//! | approve              | OFFER_REQUESTED                        | OFFER_PENDING        | ASSOCIATE_CHAIR, GRAD_OFFICE         |
//! | decline              | OFFER_REQUESTED                        | GRANTED              | ASSOCIATE_CHAIR                      |
//! | record response      | OFFER_PENDING                          | ACCEPTED / REFUSED   | GRAD_OFFICE                          |
//! | set supervisors      | GRANTED, OFFER_REQUESTED, OFFER_PENDING| unchanged            | the owner, their FSS, ASSOCIATE_CHAIR|
//! | set response date    | OFFER_PENDING                          | unchanged            | GRAD_OFFICE                          |

use common::{Principal, Role, TicketState};

/// Something a caller asks to do to an existing ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// INITIAL -> GRANTED.
    Grant,
    /// -> CANCELLED.
    Cancel,
    /// -> OFFER_REQUESTED with a named applicant.
    RequestOffer,
    /// OFFER_REQUESTED -> GRANTED by the owner's side.
    WithdrawOfferRequest,
    /// OFFER_REQUESTED -> OFFER_PENDING.
    ApproveOffer,
    /// OFFER_REQUESTED -> GRANTED by the associate chair.
    DeclineOffer,
    /// OFFER_PENDING -> OFFER_ACCEPTED (`true`) or OFFER_REFUSED (`false`).
    RecordOfferResponse(bool),
    /// Change the supervisors; the state stays.
    SetSupervisors,
    /// Change the date the applicant must answer by; the state stays.
    SetResponseDeadline,
}

impl Action {
    /// Every action, for computing the allowed transitions.
    const ALL: [Action; 10] = [
        Action::Grant,
        Action::Cancel,
        Action::RequestOffer,
        Action::WithdrawOfferRequest,
        Action::ApproveOffer,
        Action::DeclineOffer,
        Action::RecordOfferResponse(true),
        Action::RecordOfferResponse(false),
        Action::SetSupervisors,
        Action::SetResponseDeadline,
    ];

    /// The action in words, for error messages ("cannot be granted").
    pub fn past_participle(self) -> &'static str {
        match self {
            Action::Grant => "granted",
            Action::Cancel => "cancelled",
            Action::RequestOffer => "used for an offer request",
            Action::WithdrawOfferRequest => "withdrawn",
            Action::ApproveOffer => "approved",
            Action::DeclineOffer => "declined",
            Action::RecordOfferResponse(_) => "given the applicant's answer",
            Action::SetSupervisors => "given new supervisors",
            Action::SetResponseDeadline => "given a new response date",
        }
    }
}

/// Why a move was refused, in the contract's precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may not do this to this ticket in any state (FORBIDDEN).
    NotPermitted,
    /// The caller may, but not from the ticket's current state (INVALID_TRANSITION).
    WrongState,
}

/// Whether `actor` may ever take `action` on a ticket owned by `owner_id`.
pub fn permits(actor: &Principal, action: Action, owner_id: i64) -> bool {
    match action {
        Action::Grant | Action::Cancel => actor.has_role(Role::BudgetDirector),
        Action::RequestOffer | Action::WithdrawOfferRequest => owner_side(actor, owner_id),
        Action::ApproveOffer => {
            actor.has_role(Role::AssociateChair) || actor.has_role(Role::GradOffice)
        }
        Action::DeclineOffer => actor.has_role(Role::AssociateChair),
        Action::RecordOfferResponse(_) | Action::SetResponseDeadline => {
            actor.has_role(Role::GradOffice)
        }
        Action::SetSupervisors => {
            owner_side(actor, owner_id) || actor.has_role(Role::AssociateChair)
        }
    }
}

/// The owner themselves (as FACULTY) or an FSS who supports them.
fn owner_side(actor: &Principal, owner_id: i64) -> bool {
    (actor.has_role(Role::Faculty) && actor.user_id == Some(owner_id)) || actor.supports(owner_id)
}

/// The state `action` leads to from `from`, or `None` when the state does not allow it.
pub fn next_state(action: Action, from: TicketState) -> Option<TicketState> {
    use TicketState::*;
    match (action, from) {
        (Action::Grant, Initial) => Some(Granted),
        (Action::Cancel, Initial | Granted | OfferRefused) => Some(Cancelled),
        (Action::RequestOffer, Granted | OfferRefused) => Some(OfferRequested),
        (Action::WithdrawOfferRequest, OfferRequested) => Some(Granted),
        (Action::ApproveOffer, OfferRequested) => Some(OfferPending),
        (Action::DeclineOffer, OfferRequested) => Some(Granted),
        (Action::RecordOfferResponse(true), OfferPending) => Some(OfferAccepted),
        (Action::RecordOfferResponse(false), OfferPending) => Some(OfferRefused),
        (Action::SetSupervisors, s @ (Granted | OfferRequested | OfferPending)) => Some(s),
        (Action::SetResponseDeadline, OfferPending) => Some(OfferPending),
        _ => None,
    }
}

/// Decides a move: who first, then the state (FORBIDDEN outranks INVALID_TRANSITION).
pub fn decide(
    actor: &Principal,
    action: Action,
    owner_id: i64,
    from: TicketState,
) -> Result<TicketState, Refusal> {
    if !permits(actor, action, owner_id) {
        return Err(Refusal::NotPermitted);
    }
    next_state(action, from).ok_or(Refusal::WrongState)
}

/// The states `actor` may move this ticket to now, in workflow order.
pub fn allowed_transitions(
    actor: &Principal,
    owner_id: i64,
    from: TicketState,
) -> Vec<TicketState> {
    let mut states: Vec<TicketState> = Action::ALL
        .iter()
        .filter(|a| !matches!(a, Action::SetSupervisors | Action::SetResponseDeadline))
        .filter_map(|a| decide(actor, *a, owner_id, from).ok())
        .collect();
    states.sort_by_key(|s| s.rank());
    states.dedup();
    states
}

/// Whether `actor` may create tickets.
pub fn may_create_tickets(actor: &Principal) -> bool {
    actor.has_role(Role::BudgetDirector)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketState::*;

    fn user(id: i64, roles: &[Role]) -> Principal {
        Principal::user(id, roles.to_vec(), vec![])
    }

    #[test]
    fn only_the_table_moves() {
        let budget = user(1, &[Role::BudgetDirector]);
        assert_eq!(decide(&budget, Action::Grant, 9, Initial), Ok(Granted));
        assert_eq!(
            decide(&budget, Action::Grant, 9, Granted),
            Err(Refusal::WrongState)
        );
        assert_eq!(
            decide(&budget, Action::Cancel, 9, OfferPending),
            Err(Refusal::WrongState)
        );
        assert_eq!(
            decide(&budget, Action::ApproveOffer, 9, OfferRequested),
            Err(Refusal::NotPermitted)
        );
        for state in [OfferAccepted, Cancelled] {
            for action in Action::ALL {
                assert_eq!(next_state(action, state), None, "{state} is final");
            }
        }
    }

    #[test]
    fn the_owner_side_is_the_owner_or_their_fss() {
        let owner = user(9, &[Role::Faculty]);
        let other = user(8, &[Role::Faculty]);
        let fss = Principal::user(7, vec![Role::Fss], vec![9]);
        let other_fss = Principal::user(6, vec![Role::Fss], vec![8]);
        for actor in [&owner, &fss] {
            assert_eq!(
                decide(actor, Action::RequestOffer, 9, Granted),
                Ok(OfferRequested)
            );
        }
        for actor in [&other, &other_fss] {
            assert_eq!(
                decide(actor, Action::RequestOffer, 9, Granted),
                Err(Refusal::NotPermitted)
            );
        }
    }

    #[test]
    fn allowed_transitions_follow_decide() {
        let chair = user(2, &[Role::AssociateChair]);
        assert_eq!(
            allowed_transitions(&chair, 9, OfferRequested),
            vec![Granted, OfferPending]
        );
        let grad = user(3, &[Role::GradOffice]);
        assert_eq!(
            allowed_transitions(&grad, 9, OfferPending),
            vec![OfferAccepted, OfferRefused]
        );
        assert_eq!(
            allowed_transitions(&grad, 9, OfferRequested),
            vec![OfferPending]
        );
        let owner = user(9, &[Role::Faculty]);
        assert_eq!(
            allowed_transitions(&owner, 9, OfferRefused),
            vec![OfferRequested]
        );
        assert!(allowed_transitions(&owner, 9, Cancelled).is_empty());
        // Setting a date moves nothing, so it is never a transition.
        assert_eq!(
            decide(&grad, Action::SetResponseDeadline, 9, OfferPending),
            Ok(OfferPending)
        );
        assert_eq!(
            decide(&grad, Action::SetResponseDeadline, 9, OfferRequested),
            Err(Refusal::WrongState)
        );
        assert_eq!(
            decide(&chair, Action::SetResponseDeadline, 9, OfferPending),
            Err(Refusal::NotPermitted)
        );
        for state in TicketState::ALL {
            for actor in [&chair, &grad, &owner] {
                for to in allowed_transitions(actor, 9, *state) {
                    assert!(
                        Action::ALL
                            .iter()
                            .any(|a| decide(actor, *a, 9, *state) == Ok(to))
                    );
                }
            }
        }
    }
}
