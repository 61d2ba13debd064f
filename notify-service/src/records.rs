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

/// The most emails one `retryNotifications` queues again (the oldest first; call again for
/// the rest).
pub const MAX_RETRY: u64 = 1_000;

/// Queues FAILED emails again with a fresh failure budget: those among `ids` (when given)
/// created from `since` until before `until` (when given), at most `MAX_RETRY`, oldest
/// first. Answers the emails queued again; the email workers send them within seconds.
pub async fn queue_again(
    db: &DatabaseConnection,
    ids: Option<Vec<i64>>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<notification::Model>, DbErr> {
    use common::NotificationStatus;
    use sea_orm::sea_query::Expr;
    let failed = NotificationStatus::Failed.as_str();
    let mut query = notification::Entity::find().filter(notification::Column::Status.eq(failed));
    if let Some(ids) = ids {
        query = query.filter(notification::Column::Id.is_in(ids));
    }
    if let Some(since) = since {
        query = query.filter(notification::Column::CreatedAt.gte(since));
    }
    if let Some(until) = until {
        query = query.filter(notification::Column::CreatedAt.lt(until));
    }
    let chosen: Vec<i64> = query
        .order_by_asc(notification::Column::Id)
        .limit(MAX_RETRY)
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect();
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let none = Option::<chrono::DateTime<chrono::Utc>>::None;
    notification::Entity::update_many()
        .col_expr(
            notification::Column::Status,
            Expr::value(NotificationStatus::Queued.as_str()),
        )
        .col_expr(notification::Column::Failures, Expr::value(0))
        .col_expr(notification::Column::ClaimedUntil, Expr::value(none))
        .col_expr(
            notification::Column::RetryRequestedAt,
            Expr::value(Some(db::now())),
        )
        .filter(notification::Column::Id.is_in(chosen.iter().copied()))
        // Only those still FAILED: nothing else is touched whatever happened meanwhile.
        .filter(notification::Column::Status.eq(failed))
        .exec(db)
        .await?;
    notification::Entity::find()
        .filter(notification::Column::Id.is_in(chosen))
        .filter(notification::Column::Status.ne(failed))
        .order_by_asc(notification::Column::Id)
        .all(db)
        .await
}
