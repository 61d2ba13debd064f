//! Ticket lists as ticket-service serves them: ticket-domain's filters, ordering and keyset
//! pagination (re-exported, so `listing::page` reads as before), and the statistics of the
//! dashboard, which only ticket-service answers.

pub use ticket_domain::listing::*;

use crate::{error::Result, validate, visibility::tickets_visible_to};
use common::{Principal, Residency, TicketState};
use db::entity::ticket;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, sea_query::Expr,
};
use std::collections::BTreeMap;

/// The dashboard totals of the tickets a caller may see.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Tickets in all.
    pub total: i64,
    /// Domestic tickets.
    pub domestic: i64,
    /// International tickets.
    pub international: i64,
    /// Count per state, in workflow order, zero counts included.
    pub by_state: Vec<(TicketState, i64)>,
    /// Per owner: total and count per state, owners in id order.
    pub by_owner: Vec<OwnerStats>,
}

/// One owner's tickets.
#[derive(Debug, Clone)]
pub struct OwnerStats {
    /// The faculty member.
    pub owner_id: i64,
    /// Their tickets in all.
    pub total: i64,
    /// Their tickets per state (states they have none in are left out).
    pub by_state: Vec<(TicketState, i64)>,
}

#[derive(Debug, FromQueryResult)]
struct Group {
    owner_id: i64,
    state: String,
    residency: String,
    n: i64,
}

/// Counts the tickets `caller` may see, optionally in one cycle, with one grouped query.
pub async fn stats(
    db: &DatabaseConnection,
    caller: &Principal,
    cycle: Option<&str>,
) -> Result<Stats> {
    let mut cond = Condition::all().add(tickets_visible_to(caller));
    if let Some(cycle) = cycle {
        cond = cond.add(ticket::Column::Cycle.eq(validate::cycle("cycle", cycle)?));
    }
    let groups = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::OwnerId)
        .column(ticket::Column::State)
        .column(ticket::Column::Residency)
        .column_as(Expr::col(ticket::Column::Id).count(), "n")
        .filter(cond)
        .group_by(ticket::Column::OwnerId)
        .group_by(ticket::Column::State)
        .group_by(ticket::Column::Residency)
        .into_model::<Group>()
        .all(db)
        .await?;
    let mut stats = Stats::default();
    let mut states: BTreeMap<TicketState, i64> = TicketState::ALL.iter().map(|s| (*s, 0)).collect();
    let mut owners: BTreeMap<i64, BTreeMap<TicketState, i64>> = BTreeMap::new();
    for g in groups {
        let Ok(state) = g.state.parse::<TicketState>() else {
            continue;
        };
        stats.total += g.n;
        match g.residency.parse::<Residency>() {
            Ok(Residency::International) => stats.international += g.n,
            _ => stats.domestic += g.n,
        }
        *states.entry(state).or_default() += g.n;
        *owners
            .entry(g.owner_id)
            .or_default()
            .entry(state)
            .or_default() += g.n;
    }
    stats.by_state = states.into_iter().collect();
    stats.by_owner = owners
        .into_iter()
        .map(|(owner_id, counts)| OwnerStats {
            owner_id,
            total: counts.values().sum(),
            by_state: counts.into_iter().collect(),
        })
        .collect();
    Ok(stats)
}
