//! Moving a ticket through the workflow, or changing its supervisors. Every move runs in one
//! transaction that reads the ticket, asks the workflow, writes the ticket with a
//! compare-and-set on `version`, and records the history and outbox rows; two concurrent
//! changes of one ticket can therefore never both succeed.

use super::{
    MAX_SUPERVISORS, active_faculty, caller_id, find_visible,
    offer::{applicant_taken, ensure_applicant_free, upsert_applicant},
};
use crate::{
    error::{Result, ServiceError},
    events::{self, NewEvent},
    validate,
    workflow::{self, Action, Refusal},
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::{Principal, TicketEventKind, TicketState};
use db::entity::{ticket, ticket_supervisor, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Set, TransactionTrait, sea_query::Expr,
};
use std::collections::BTreeSet;

/// How often a change is retried when another change of the same ticket won the race.
const RACE_RETRIES: usize = 3;

/// The applicant named in `requestOffer`.
#[derive(Debug, Clone)]
pub struct ApplicantInput {
    /// The admissions system's number.
    pub applicant_number: String,
    /// Full name.
    pub name: String,
    /// Contact address.
    pub email: Option<String>,
}

/// The extra data some moves carry.
#[derive(Debug, Clone, Default)]
pub struct MoveInput {
    /// A reason (cancel, decline, withdraw).
    pub reason: Option<String>,
    /// The applicant (request offer).
    pub applicant: Option<ApplicantInput>,
    /// Other supervisors (request offer, set supervisors); the owner is added.
    pub supervisor_ids: Option<Vec<String>>,
    /// The version the caller last saw.
    pub expected_version: Option<i32>,
    /// The applicant's response date (approve offer, optional; set response deadline).
    pub response_due_at: Option<DateTime<Utc>>,
}

/// Inputs checked before the transaction starts.
struct Checked {
    reason: Option<String>,
    applicant: Option<ApplicantInput>,
    supervisor_ids: Option<Vec<i64>>,
    /// The response date the move sets, if it sets one.
    due_at: Option<DateTime<Utc>>,
}

fn check_input(action: Action, input: &MoveInput) -> Result<Checked> {
    let reason = match action {
        Action::Cancel | Action::DeclineOffer => Some(validate::text(
            "reason",
            input.reason.as_deref().unwrap_or_default(),
            validate::REASON_MAX,
        )?),
        _ => validate::optional_text("reason", input.reason.as_deref(), validate::REASON_MAX)?,
    };
    let applicant = match &input.applicant {
        None => None,
        Some(a) => Some(ApplicantInput {
            applicant_number: validate::text("applicantNumber", &a.applicant_number, 64)?,
            name: validate::text("name", &a.name, validate::SHORT_MAX)?,
            email: match a.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                None => None,
                Some(e) => Some(validate::email("email", e)?),
            },
        }),
    };
    let supervisor_ids = match &input.supervisor_ids {
        None => None,
        Some(ids) => {
            let mut parsed = ids
                .iter()
                .map(|id| validate::id("supervisorIds", id))
                .collect::<Result<Vec<_>>>()?;
            parsed.sort_unstable();
            parsed.dedup();
            if parsed.len() > MAX_SUPERVISORS {
                return Err(ServiceError::bad_input(
                    "supervisorIds",
                    format!("at most {MAX_SUPERVISORS} supervisors"),
                ));
            }
            Some(parsed)
        }
    };
    Ok(Checked {
        reason,
        applicant,
        supervisor_ids,
        due_at: response_due_at(action, input.response_due_at)?,
    })
}

/// The response date a move sets: an approval's (the one given, or
/// `DEFAULT_RESPONSE_DAYS` ahead), a new one for the deadline change, none for other moves.
fn response_due_at(action: Action, given: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>> {
    let now = db::now();
    let check = |at| validate::response_date("responseDueAt", at, now).map(Some);
    match (action, given) {
        (Action::ApproveOffer | Action::SetResponseDeadline, Some(at)) => check(at),
        (Action::ApproveOffer, None) => {
            Ok(Some(now + Duration::days(validate::DEFAULT_RESPONSE_DAYS)))
        }
        (Action::SetResponseDeadline, None) => Err(ServiceError::bad_input(
            "responseDueAt",
            "a response date is required",
        )),
        _ => Ok(None),
    }
}

/// Moves a ticket (or changes its supervisors) as `action` says, if the workflow allows it.
/// The checks run in the contract's precedence: UNAUTHENTICATED, NOT_FOUND, FORBIDDEN,
/// BAD_USER_INPUT, CONFLICT, INVALID_TRANSITION.
pub async fn apply(
    db: &DatabaseConnection,
    caller: &Principal,
    ticket_id: &str,
    action: Action,
    input: MoveInput,
) -> Result<ticket::Model> {
    let me = caller_id(caller)?;
    let ticket_id = validate::reference(ticket_id, "ticket")?;
    for _ in 0..RACE_RETRIES {
        let txn = db.begin().await?;
        match attempt(&txn, caller, me, ticket_id, action, &input).await? {
            Some(ticket) => {
                txn.commit().await?;
                return Ok(ticket);
            }
            // Another change of this ticket committed between our read and our write: read
            // again and decide again (it usually ends in CONFLICT or INVALID_TRANSITION).
            None => txn.rollback().await?,
        }
    }
    Err(ServiceError::database_unavailable(
        "the ticket is changing too often; try again",
    ))
}

/// One try at a move inside `txn`: `None` when another change of the ticket committed
/// between the read and the compare-and-set (the caller retries).
async fn attempt(
    txn: &DatabaseTransaction,
    caller: &Principal,
    me: i64,
    ticket_id: i64,
    action: Action,
    input: &MoveInput,
) -> Result<Option<ticket::Model>> {
    let current = find_visible(txn, caller, ticket_id)
        .await?
        .ok_or(ServiceError::NotFound("ticket"))?;
    let from = current.state();
    let Decided {
        to,
        checked,
        supervisors,
    } = decide(txn, caller, &current, action, input).await?;

    let mut history = Vec::new();
    let mut applicant_id = current.applicant_id;
    let clears_offer = to == TicketState::Granted && from == TicketState::OfferRequested;
    if let Some(applicant) = &checked.applicant {
        let row = upsert_applicant(txn, applicant).await?;
        ensure_applicant_free(txn, row.id, current.id, &applicant.applicant_number).await?;
        applicant_id = Some(row.id);
        history.push(NewEvent::new(
            TicketEventKind::ApplicantSet,
            Some(format!("{} ({})", row.name, row.applicant_number)),
        ));
    }
    if clears_offer {
        applicant_id = None;
    }
    // Only an offer out with the applicant is due; a move within OFFER_PENDING that names
    // no date (supervisors) keeps the one it had.
    let due_at = (to == TicketState::OfferPending)
        .then(|| checked.due_at.or(current.due_at))
        .flatten();
    let write = Write {
        to,
        applicant_id,
        due_at,
    };
    if !compare_and_set(txn, &current, &write, checked.applicant.as_ref()).await? {
        return Ok(None);
    }
    if action == Action::SetResponseDeadline
        && let Some(at) = due_at
    {
        history.push(NewEvent::new(
            TicketEventKind::DeadlineChanged,
            Some(at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        ));
    }
    let after = if clears_offer {
        Some(Vec::new())
    } else {
        supervisors
    };
    if let Some(after) = after {
        history.extend(change_supervisors(txn, current.id, &after).await?);
    }
    if to != from {
        history.push(NewEvent::moved(from, to, checked.reason.clone()));
    }
    let ticket = ticket::Entity::find_by_id(current.id)
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound("ticket"))?;
    let concerns = if clears_offer {
        current.applicant_id
    } else {
        ticket.applicant_id
    };
    events::record_about(txn, me, &ticket, concerns, history).await?;
    Ok(Some(ticket))
}

/// A move the checks allowed: the state it leads to, its checked inputs and the supervisors
/// it sets (the owner first), if it sets any.
struct Decided {
    to: TicketState,
    checked: Checked,
    supervisors: Option<Vec<i64>>,
}

/// Runs the checks of a move on `current` in the contract's precedence after NOT_FOUND:
/// FORBIDDEN, BAD_USER_INPUT, CONFLICT, INVALID_TRANSITION.
async fn decide(
    txn: &DatabaseTransaction,
    caller: &Principal,
    current: &ticket::Model,
    action: Action,
    input: &MoveInput,
) -> Result<Decided> {
    let from = current.state();
    if !workflow::permits(caller, action, current.owner_id) {
        return Err(ServiceError::Forbidden(forbidden_message(action)));
    }
    let checked = check_input(action, input)?;
    let supervisors = match &checked.supervisor_ids {
        None => None,
        Some(ids) => {
            let mut all = ids.clone();
            all.retain(|id| *id != current.owner_id);
            active_faculty(txn, "supervisorIds", &all).await?;
            all.insert(0, current.owner_id);
            Some(all)
        }
    };
    if let Some(expected) = input.expected_version
        && expected != current.version
    {
        return Err(ServiceError::Conflict {
            expected,
            current: current.version,
        });
    }
    let to = match workflow::decide(caller, action, current.owner_id, from) {
        Ok(to) => to,
        Err(Refusal::NotPermitted) => {
            return Err(ServiceError::Forbidden(forbidden_message(action)));
        }
        Err(Refusal::WrongState) => {
            return Err(ServiceError::InvalidTransition {
                state: from,
                action: action.past_participle(),
            });
        }
    };
    Ok(Decided {
        to,
        checked,
        supervisors,
    })
}

/// What a move writes on the ticket row.
struct Write {
    to: TicketState,
    applicant_id: Option<i64>,
    due_at: Option<DateTime<Utc>>,
}

/// Writes the new state, applicant and due date only if the ticket is still at the version
/// read: false when another change landed first.
async fn compare_and_set(
    txn: &DatabaseTransaction,
    current: &ticket::Model,
    write: &Write,
    applicant: Option<&ApplicantInput>,
) -> Result<bool> {
    let now = db::now().max(current.updated_at);
    let updated = ticket::Entity::update_many()
        .col_expr(ticket::Column::State, Expr::value(write.to.as_str()))
        .col_expr(ticket::Column::ApplicantId, Expr::value(write.applicant_id))
        .col_expr(ticket::Column::DueAt, Expr::value(write.due_at))
        .col_expr(
            ticket::Column::Version,
            Expr::col(ticket::Column::Version).add(1),
        )
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(current.id))
        .filter(ticket::Column::Version.eq(current.version))
        .exec(txn)
        .await
        .map_err(|e| applicant_taken(e, applicant))?;
    Ok(updated.rows_affected != 0)
}

/// Replaces the ticket's supervisors with `after` if that changes them; the history entry
/// that says so, unless none are left.
async fn change_supervisors(
    txn: &DatabaseTransaction,
    ticket_id: i64,
    after: &[i64],
) -> Result<Option<NewEvent>> {
    let before = events::supervisor_ids(txn, ticket_id).await?;
    if after.iter().copied().collect::<BTreeSet<_>>() == before.iter().copied().collect() {
        return Ok(None);
    }
    replace_supervisors(txn, ticket_id, after).await?;
    if after.is_empty() {
        return Ok(None);
    }
    Ok(Some(NewEvent::new(
        TicketEventKind::SupervisorsChanged,
        Some(user_names(txn, after).await?),
    )))
}

fn forbidden_message(action: Action) -> String {
    match action {
        Action::Grant | Action::Cancel => "only the budget director may do this".into(),
        Action::RequestOffer | Action::WithdrawOfferRequest => {
            "only the ticket's owner, or staff supporting them, may do this".into()
        }
        Action::ApproveOffer => "only the associate chair or the graduate office may approve offers".into(),
        Action::DeclineOffer => "only the associate chair may decline offers".into(),
        Action::RecordOfferResponse(_) => "only the graduate office may record the applicant's answer".into(),
        Action::SetSupervisors => {
            "only the ticket's owner, staff supporting them, or the associate chair may change supervisors".into()
        }
        Action::SetResponseDeadline => {
            "only the graduate office may change an offer's response date".into()
        }
    }
}

async fn replace_supervisors(txn: &DatabaseTransaction, ticket_id: i64, ids: &[i64]) -> Result<()> {
    ticket_supervisor::Entity::delete_many()
        .filter(ticket_supervisor::Column::TicketId.eq(ticket_id))
        .exec(txn)
        .await?;
    if !ids.is_empty() {
        ticket_supervisor::Entity::insert_many(ids.iter().map(|id| {
            ticket_supervisor::ActiveModel {
                ticket_id: Set(ticket_id),
                user_id: Set(*id),
            }
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

async fn user_names<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> Result<String> {
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.to_vec()))
        .all(conn)
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| users.iter().find(|u| u.id == *id).map(|u| u.name.clone()))
        .collect::<Vec<_>>()
        .join(", "))
}
