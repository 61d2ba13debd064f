//! Reading notification rows, only for tickets the caller may see (the same rule as
//! ticket-service: faculty see tickets they own or supervise, FSS those of the faculty they
//! support, every other role every ticket).

use common::Principal;
use db::entity::{notification, ticket, ticket_supervisor};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::{HashMap, HashSet};

/// The ids among `tickets` that `caller` may see.
pub async fn visible_tickets(
    db: &DatabaseConnection,
    caller: &Principal,
    tickets: &[i64],
) -> Result<HashSet<i64>, DbErr> {
    let rows = ticket::Entity::find()
        .filter(ticket::Column::Id.is_in(tickets.iter().copied()))
        .all(db)
        .await?;
    if caller.sees_every_ticket() {
        return Ok(rows.into_iter().map(|t| t.id).collect());
    }
    let mut supervisors: HashMap<i64, Vec<i64>> = HashMap::new();
    for row in ticket_supervisor::Entity::find()
        .filter(ticket_supervisor::Column::TicketId.is_in(tickets.iter().copied()))
        .all(db)
        .await?
    {
        supervisors
            .entry(row.ticket_id)
            .or_default()
            .push(row.user_id);
    }
    Ok(rows
        .into_iter()
        .filter(|t| {
            let sups = supervisors.get(&t.id).map(Vec::as_slice).unwrap_or(&[]);
            caller.can_see_ticket(t.owner_id, sups)
        })
        .map(|t| t.id)
        .collect())
}

/// Every notification about each of `tickets`, oldest first.
pub async fn by_ticket(
    db: &DatabaseConnection,
    tickets: &[i64],
) -> Result<HashMap<i64, Vec<notification::Model>>, DbErr> {
    let mut grouped: HashMap<i64, Vec<notification::Model>> = HashMap::new();
    for row in notification::Entity::find()
        .filter(notification::Column::TicketId.is_in(tickets.iter().copied()))
        .order_by_asc(notification::Column::Id)
        .all(db)
        .await?
    {
        if let Some(ticket) = row.ticket_id {
            grouped.entry(ticket).or_default().push(row);
        }
    }
    Ok(grouped)
}

/// The newest `first` notifications addressed to `recipient`.
pub async fn for_recipient(
    db: &DatabaseConnection,
    recipient: i64,
    first: u64,
) -> Result<Vec<notification::Model>, DbErr> {
    notification::Entity::find()
        .filter(notification::Column::RecipientId.eq(recipient))
        .order_by_desc(notification::Column::Id)
        .limit(first)
        .all(db)
        .await
}

/// The newest `first` notifications about `ticket`.
pub async fn for_ticket(
    db: &DatabaseConnection,
    ticket: i64,
    first: u64,
) -> Result<Vec<notification::Model>, DbErr> {
    notification::Entity::find()
        .filter(notification::Column::TicketId.eq(ticket))
        .order_by_desc(notification::Column::Id)
        .limit(first)
        .all(db)
        .await
}
