//! The items the scheduler watches, read from the tickets and their history: offers out
//! with the applicant whose reminders or date may be due, and tickets waiting in a state with
//! a target long enough for a step to be due; and the steps already handled for them.

use super::{
    config::Settings,
    plan::{Item, Key, Waiting},
};
use chrono::{DateTime, Duration, Utc};
use common::{TicketEventKind, TicketState};
use db::entity::{scheduled_run, ticket, ticket_event};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, Query},
};
use std::collections::{HashMap, HashSet};

/// Ids per `IN (...)` list: well under both databases' parameter limits.
const CHUNK: usize = 500;

/// Offers out with the applicant whose first reminder may be due by `now`, except those whose
/// date already passed and was announced (they need nothing more).
pub async fn offers<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Vec<Item>, DbErr> {
    let ahead = settings
        .deadline_reminders
        .iter()
        .map(|a| a.at_most())
        .max()
        .unwrap_or_else(Duration::zero);
    let announced = Query::select()
        .expr(Expr::val(1))
        .from(scheduled_run::Entity)
        .and_where(
            Expr::col((scheduled_run::Entity, scheduled_run::Column::TicketId))
                .equals((ticket::Entity, ticket::Column::Id)),
        )
        .and_where(
            Expr::col((scheduled_run::Entity, scheduled_run::Column::Kind))
                .eq(TicketEventKind::DeadlinePassed.as_str()),
        )
        .and_where(
            Expr::col((scheduled_run::Entity, scheduled_run::Column::Anchor))
                .equals((ticket::Entity, ticket::Column::DueAt)),
        )
        .to_owned();
    let tickets: Vec<(i64, DateTime<Utc>)> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Id)
        .column(ticket::Column::DueAt)
        .filter(ticket::Column::State.eq(TicketState::OfferPending.as_str()))
        .filter(ticket::Column::DueAt.is_not_null())
        .filter(ticket::Column::DueAt.lte(now + ahead))
        .filter(Expr::exists(announced).not())
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i64> = tickets.iter().map(|(id, _)| *id).collect();
    let since = offers_since(db, &ids).await?;
    Ok(tickets
        .into_iter()
        .map(|(ticket_id, anchor)| Item {
            ticket_id,
            waiting: Waiting::Answer,
            anchor,
            // A ticket with no such history (written by hand) counts from its beginning.
            since: since
                .get(&ticket_id)
                .copied()
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        })
        .collect())
}

/// When each offer went out or its date last moved, by ticket.
async fn offers_since<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> Result<HashMap<i64, DateTime<Utc>>, DbErr> {
    let mut since = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, DateTime<Utc>)> = ticket_event::Entity::find()
            .select_only()
            .column(ticket_event::Column::TicketId)
            .column_as(Expr::col(ticket_event::Column::At).max(), "since")
            .filter(ticket_event::Column::TicketId.is_in(chunk.iter().copied()))
            .filter(
                sea_orm::Condition::any()
                    .add(ticket_event::Column::Kind.eq(TicketEventKind::DeadlineChanged.as_str()))
                    .add(
                        sea_orm::Condition::all()
                            .add(
                                ticket_event::Column::Kind
                                    .eq(TicketEventKind::StateChanged.as_str()),
                            )
                            .add(
                                ticket_event::Column::ToState
                                    .eq(TicketState::OfferPending.as_str()),
                            ),
                    ),
            )
            .group_by(ticket_event::Column::TicketId)
            .into_tuple()
            .all(db)
            .await?;
        since.extend(rows);
    }
    Ok(since)
}

/// Tickets waiting in a state with a target, since long enough that a step may be due:
/// anchored at the moment they entered the state (their latest move into it).
pub async fn waits<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Vec<Item>, DbErr> {
    let Some(shortest) = settings.waiting_targets.iter().map(|(_, d)| *d).min() else {
        return Ok(Vec::new());
    };
    // N business days are at least N calendar days, less the hour a daylight-saving change
    // may take away.
    let entered_by = now - Duration::days(i64::from(shortest)) + Duration::hours(2);
    let states = settings.waiting_targets.iter().map(|(s, _)| s.as_str());
    let entered = Expr::col((ticket_event::Entity, ticket_event::Column::At)).max();
    let query = Query::select()
        .column((ticket_event::Entity, ticket_event::Column::TicketId))
        .column((ticket::Entity, ticket::Column::State))
        .expr_as(entered.clone(), sea_orm::sea_query::Alias::new("entered"))
        .from(ticket_event::Entity)
        .inner_join(
            ticket::Entity,
            Expr::col((ticket::Entity, ticket::Column::Id))
                .equals((ticket_event::Entity, ticket_event::Column::TicketId)),
        )
        .and_where(Expr::col((ticket::Entity, ticket::Column::State)).is_in(states))
        .and_where(
            Expr::col((ticket_event::Entity, ticket_event::Column::ToState))
                .equals((ticket::Entity, ticket::Column::State)),
        )
        .and_where(
            Expr::col((ticket_event::Entity, ticket_event::Column::Kind)).is_in([
                TicketEventKind::Created.as_str(),
                TicketEventKind::StateChanged.as_str(),
            ]),
        )
        .group_by_col((ticket_event::Entity, ticket_event::Column::TicketId))
        .group_by_col((ticket::Entity, ticket::Column::State))
        .and_having(Expr::expr(entered).lte(entered_by))
        .to_owned();
    let rows = db
        .query_all(db.get_database_backend().build(&query))
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let state: String = row.try_get("", "state")?;
        let Ok(state) = state.parse::<TicketState>() else {
            continue;
        };
        let anchor: DateTime<Utc> = row.try_get("", "entered")?;
        items.push(Item {
            ticket_id: row.try_get("", "ticket_id")?,
            waiting: Waiting::Action(state),
            anchor,
            since: anchor,
        });
    }
    Ok(items)
}

/// The steps already handled (sent or skipped, by any scheduler) of `items`.
pub async fn handled<C: ConnectionTrait>(db: &C, items: &[Item]) -> Result<HashSet<Key>, DbErr> {
    let ids: Vec<i64> = items
        .iter()
        .map(|i| i.ticket_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut handled = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let rows = scheduled_run::Entity::find()
            .filter(scheduled_run::Column::TicketId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        handled.extend(rows.into_iter().filter_map(|r| {
            let kind = r.kind.parse::<TicketEventKind>().ok()?;
            Some((kind, r.ticket_id, r.step, r.anchor))
        }));
    }
    Ok(handled)
}
