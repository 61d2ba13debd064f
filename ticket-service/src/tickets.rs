//! Ticket reads and changes. Every change runs in one transaction that reads the ticket, asks
//! the workflow, writes the ticket with a compare-and-set on `version`, and records the history
//! and outbox rows; two concurrent changes of one ticket can therefore never both succeed.

use crate::{
    error::{Result, ServiceError},
    events::{self, NewEvent},
    validate,
    visibility::tickets_visible_to,
    workflow::{self, Action, Refusal},
};
use common::{Principal, Residency, Role, TicketEventKind, TicketState};
use db::entity::{applicant, counter, ticket, ticket_supervisor, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, Set, SqlErr, TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use std::collections::BTreeSet;

/// The most tickets one `createTickets` call makes.
pub const MAX_CREATE: i32 = 50;
/// The most supervisors a ticket may name.
pub const MAX_SUPERVISORS: usize = 20;
/// How often a change is retried when another change of the same ticket won the race.
const RACE_RETRIES: usize = 3;

/// The signed-in caller's id, or UNAUTHENTICATED.
pub fn caller_id(caller: &Principal) -> Result<i64> {
    caller.user_id.ok_or(ServiceError::Unauthenticated)
}

/// The ticket `id` if `caller` may see it.
pub async fn find_visible<C: ConnectionTrait>(
    conn: &C,
    caller: &Principal,
    id: i64,
) -> Result<Option<ticket::Model>> {
    Ok(ticket::Entity::find_by_id(id)
        .filter(tickets_visible_to(caller))
        .one(conn)
        .await?)
}

/// The ticket numbered `number` if `caller` may see it.
pub async fn find_visible_by_number(
    db: &DatabaseConnection,
    caller: &Principal,
    number: i64,
) -> Result<Option<ticket::Model>> {
    Ok(ticket::Entity::find()
        .filter(ticket::Column::Number.eq(number))
        .filter(tickets_visible_to(caller))
        .one(db)
        .await?)
}

/// What `createTickets` asks for.
#[derive(Debug, Clone)]
pub struct NewTickets {
    /// The faculty member they are issued to (`ownerId`).
    pub owner_id: String,
    /// Domestic or international.
    pub residency: Residency,
    /// Four digits.
    pub cycle: String,
    /// 1 to 50.
    pub count: i32,
}

/// Creates `count` INITIAL tickets in one transaction, with their CREATED events.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Principal,
    input: NewTickets,
) -> Result<Vec<ticket::Model>> {
    let me = caller_id(caller)?;
    if !workflow::may_create_tickets(caller) {
        return Err(ServiceError::Forbidden(
            "only the budget director may create tickets".into(),
        ));
    }
    let cycle = validate::cycle("cycle", &input.cycle)?;
    if !(1..=MAX_CREATE).contains(&input.count) {
        return Err(ServiceError::bad_input(
            "count",
            format!("count must be between 1 and {MAX_CREATE}"),
        ));
    }
    let owner_id = validate::id("ownerId", &input.owner_id)?;
    let txn = db.begin().await?;
    active_faculty(&txn, "ownerId", &[owner_id]).await?;
    // The row lock on the counter serialises creators, so numbers are never handed out twice.
    let counted = counter::Entity::update_many()
        .col_expr(
            counter::Column::Value,
            Expr::col(counter::Column::Value).add(i64::from(input.count)),
        )
        .filter(counter::Column::Name.eq(counter::TICKET_NUMBER))
        .exec(&txn)
        .await?;
    if counted.rows_affected != 1 {
        return Err(ServiceError::Internal(
            "the ticket number counter is missing".into(),
        ));
    }
    let last = counter::Entity::find_by_id(counter::TICKET_NUMBER.to_owned())
        .one(&txn)
        .await?
        .map(|c| c.value)
        .ok_or_else(|| ServiceError::Internal("the ticket number counter is missing".into()))?;
    let now = db::now();
    let mut created = Vec::new();
    for number in (last - i64::from(input.count) + 1)..=last {
        let row = ticket::ActiveModel {
            number: Set(number),
            cycle: Set(cycle.clone()),
            residency: Set(input.residency.as_str().to_owned()),
            state: Set(TicketState::Initial.as_str().to_owned()),
            owner_id: Set(owner_id),
            applicant_id: Set(None),
            created_by: Set(me),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let created_event = NewEvent {
            kind: TicketEventKind::Created,
            from: None,
            to: Some(TicketState::Initial),
            detail: None,
        };
        events::record(&txn, me, &row, vec![created_event]).await?;
        created.push(row);
    }
    txn.commit().await?;
    Ok(created)
}

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
}

/// Inputs checked before the transaction starts.
struct Checked {
    reason: Option<String>,
    applicant: Option<ApplicantInput>,
    supervisor_ids: Option<Vec<i64>>,
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
    })
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
    Err(ServiceError::Unavailable(DbErr::Custom(
        "the ticket is changing too often; try again".into(),
    )))
}

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

    // The compare-and-set: the write only lands on the version we read.
    let now = db::now().max(current.updated_at);
    let updated = ticket::Entity::update_many()
        .col_expr(ticket::Column::State, Expr::value(to.as_str()))
        .col_expr(ticket::Column::ApplicantId, Expr::value(applicant_id))
        .col_expr(
            ticket::Column::Version,
            Expr::col(ticket::Column::Version).add(1),
        )
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(current.id))
        .filter(ticket::Column::Version.eq(current.version))
        .exec(txn)
        .await
        .map_err(|e| applicant_taken(e, checked.applicant.as_ref()))?;
    if updated.rows_affected == 0 {
        return Ok(None);
    }

    let before = events::supervisor_ids(txn, current.id).await?;
    let after = if clears_offer {
        Some(Vec::new())
    } else {
        supervisors
    };
    let changed = |after: &[i64]| {
        after.iter().copied().collect::<BTreeSet<_>>() != before.iter().copied().collect()
    };
    if let Some(after) = after
        && changed(&after)
    {
        replace_supervisors(txn, current.id, &after).await?;
        if !after.is_empty() {
            history.push(NewEvent::new(
                TicketEventKind::SupervisorsChanged,
                Some(user_names(txn, &after).await?),
            ));
        }
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
    }
}

/// Checks that every id is an active FACULTY user; BAD_USER_INPUT naming `field` otherwise.
pub async fn active_faculty<C: ConnectionTrait>(
    conn: &C,
    field: &'static str,
    ids: &[i64],
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.to_vec()))
        .all(conn)
        .await?;
    for id in ids {
        let ok = found
            .iter()
            .any(|u| u.id == *id && u.active && u.role_list().contains(&Role::Faculty));
        if !ok {
            return Err(ServiceError::bad_input(
                field,
                format!("{id} is not an active faculty member"),
            ));
        }
    }
    Ok(())
}

/// Finds or creates the applicant by number and brings name and email up to date. The insert
/// does nothing on a duplicate number, so two concurrent requests for a new applicant both
/// end up with the one row (the loser then meets `ensure_applicant_free`).
async fn upsert_applicant(
    txn: &DatabaseTransaction,
    input: &ApplicantInput,
) -> Result<applicant::Model> {
    let now = db::now();
    applicant::Entity::insert(applicant::ActiveModel {
        applicant_number: Set(input.applicant_number.clone()),
        name: Set(input.name.clone()),
        email: Set(input.email.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(applicant::Column::ApplicantNumber)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let row = applicant::Entity::find()
        .filter(applicant::Column::ApplicantNumber.eq(input.applicant_number.clone()))
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::Internal("the applicant vanished after its upsert".into()))?;
    let email = input.email.clone().or_else(|| row.email.clone());
    if row.name == input.name && row.email == email {
        return Ok(row);
    }
    let mut active: applicant::ActiveModel = row.into();
    active.name = Set(input.name.clone());
    active.email = Set(email);
    active.updated_at = Set(now);
    Ok(active.update(txn).await?)
}

/// BAD_USER_INPUT when another ticket already holds this applicant. The unique partial
/// index enforces the same rule against races; this check only gives the better message.
async fn ensure_applicant_free(
    txn: &DatabaseTransaction,
    applicant_id: i64,
    ticket_id: i64,
    number: &str,
) -> Result<()> {
    let holder = ticket::Entity::find()
        .filter(ticket::Column::ApplicantId.eq(applicant_id))
        .filter(ticket::Column::Id.ne(ticket_id))
        .filter(
            ticket::Column::State.is_in(TicketState::APPLICANT_LOCKING.iter().map(|s| s.as_str())),
        )
        .one(txn)
        .await?;
    match holder {
        None => Ok(()),
        Some(other) => Err(ServiceError::bad_input(
            "applicantNumber",
            format!(
                "applicant {number} already has an active offer on ticket #{}",
                other.number
            ),
        )),
    }
}

/// Maps the unique partial index's violation (a concurrent request for the same applicant)
/// to BAD_USER_INPUT; anything else stays a database error.
fn applicant_taken(err: DbErr, applicant: Option<&ApplicantInput>) -> ServiceError {
    match (err.sql_err(), applicant) {
        (Some(SqlErr::UniqueConstraintViolation(_)), Some(a)) => ServiceError::bad_input(
            "applicantNumber",
            format!(
                "applicant {} already has an active offer on another ticket",
                a.applicant_number
            ),
        ),
        _ => err.into(),
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
