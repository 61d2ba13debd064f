//! Relay's connection of tickets (edges, cursors, page information, `totalCount`) and the
//! dashboard's statistics.

use super::{Ticket, TicketState, User, int, user_by_id};
use crate::listing;
use async_graphql::{ComplexObject, Context, Object, Result, SimpleObject};

/// Relay's page information.
// Shareable: notify-service declares the same type for the inbox's pages.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(shareable)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// A ticket and its cursor.
#[derive(SimpleObject, Clone, Debug)]
pub struct TicketEdge {
    pub cursor: String,
    pub node: Ticket,
}

/// A page of tickets.
pub struct TicketConnection(pub listing::Page);

#[Object]
impl TicketConnection {
    async fn edges(&self) -> Vec<TicketEdge> {
        self.0
            .rows
            .iter()
            .map(|(t, c)| TicketEdge {
                cursor: c.clone(),
                node: Ticket(t.clone()),
            })
            .collect()
    }
    async fn nodes(&self) -> Vec<Ticket> {
        self.0.rows.iter().map(|(t, _)| Ticket(t.clone())).collect()
    }
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next,
            has_previous_page: self.0.has_previous,
            start_cursor: self.0.rows.first().map(|(_, c)| c.clone()),
            end_cursor: self.0.rows.last().map(|(_, c)| c.clone()),
        }
    }
    /// Every ticket matching the filter, not just this page (counted only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(int(listing::count(
            crate::schema::db(ctx),
            self.0.condition.clone(),
        )
        .await?))
    }
}

/// Tickets in one state.
#[derive(SimpleObject, Clone, Debug)]
pub struct StateCount {
    pub state: TicketState,
    pub count: i32,
}

fn state_counts(counts: &[(common::TicketState, i64)]) -> Vec<StateCount> {
    counts
        .iter()
        .map(|(s, n)| StateCount {
            state: (*s).into(),
            count: int(*n),
        })
        .collect()
}

/// One faculty member's tickets.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct OwnerCount {
    #[graphql(skip)]
    pub owner_id: i64,
    pub total: i32,
    pub by_state: Vec<StateCount>,
}

#[ComplexObject]
impl OwnerCount {
    async fn owner(&self, ctx: &Context<'_>) -> Result<User> {
        user_by_id(ctx, self.owner_id).await
    }
}

/// Dashboard totals of the tickets the caller may see.
#[derive(SimpleObject, Clone, Debug)]
pub struct TicketStats {
    pub cycle: Option<String>,
    pub total: i32,
    pub domestic: i32,
    pub international: i32,
    pub by_state: Vec<StateCount>,
    pub by_owner: Vec<OwnerCount>,
}

impl TicketStats {
    /// The GraphQL shape of `stats`.
    pub fn new(cycle: Option<String>, stats: listing::Stats) -> Self {
        Self {
            cycle,
            total: int(stats.total),
            domestic: int(stats.domestic),
            international: int(stats.international),
            by_state: state_counts(&stats.by_state),
            by_owner: stats
                .by_owner
                .iter()
                .map(|o| OwnerCount {
                    owner_id: o.owner_id,
                    total: int(o.total),
                    by_state: state_counts(&o.by_state),
                })
                .collect(),
        }
    }
}
