//! Tickets: finding one the caller may see, creating them in numbered batches, and (in
//! `moves`) moving them through the workflow, each change in one transaction with its history
//! and outbox rows.

/// Moving a ticket through the workflow, or changing its supervisors.
mod moves;
/// The applicant an offer names: found or created, and held by one ticket at a time.
mod offer;

pub use crate::visibility::{find_visible, find_visible_by_number};
pub use moves::{ApplicantInput, MoveInput, apply};

use crate::{
    error::{Result, ServiceError},
    events::{self, NewEvent},
    validate, workflow,
};
use common::{Principal, Residency, Role, TicketEventKind, TicketState};
use db::entity::{counter, ticket, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, TransactionTrait, sea_query::Expr,
};

/// The most tickets one `createTickets` call makes.
pub const MAX_CREATE: i32 = 50;
/// The most supervisors a ticket may name.
pub const MAX_SUPERVISORS: usize = 20;

/// The signed-in caller's id, or UNAUTHENTICATED.
pub fn caller_id(caller: &Principal) -> Result<i64> {
    caller.user_id.ok_or(ServiceError::Unauthenticated)
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
