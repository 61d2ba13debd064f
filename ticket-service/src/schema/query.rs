//! `Query`: the reads ticket-service owns, and the federation entity resolvers for `User`,
//! `Ticket` and `TicketEvent`.

use super::{caller, db, types::*};
use crate::{applicants, closed_days, events, listing, tickets, users};
use async_graphql::{Context, ID, Object, Result};

/// The root of ticket-service's reads.
#[derive(Debug, Default)]
pub struct Query;

fn parse_id(id: &ID) -> Option<i64> {
    id.trim().parse().ok()
}

/// Reads ahead the related rows the fields of `rows` will want (`prefetch::tickets`).
async fn read_ahead(
    ctx: &Context<'_>,
    selection: &[async_graphql::Lookahead<'_>],
    rows: &[&db::entity::ticket::Model],
) -> Result<()> {
    super::prefetch::tickets(ctx, selection, rows)
        .await
        .map_err(crate::error::ServiceError::from)?;
    Ok(())
}

#[Object]
impl Query {
    /// The signed-in user; null when not signed in (no error).
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(me) = caller(ctx).user_id else {
            return Ok(None);
        };
        find_user(ctx, me).await
    }

    async fn ticket(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Ticket>> {
        tickets::caller_id(caller(ctx))?;
        let Some(id) = parse_id(&id) else {
            return Ok(None);
        };
        let row = tickets::find_visible(db(ctx), caller(ctx), id).await?;
        read_ahead(ctx, &[ctx.look_ahead()], &row.iter().collect::<Vec<_>>()).await?;
        Ok(row.map(Ticket))
    }

    async fn ticket_by_number(&self, ctx: &Context<'_>, number: i32) -> Result<Option<Ticket>> {
        tickets::caller_id(caller(ctx))?;
        let row = tickets::find_visible_by_number(db(ctx), caller(ctx), i64::from(number)).await?;
        read_ahead(ctx, &[ctx.look_ahead()], &row.iter().collect::<Vec<_>>()).await?;
        Ok(row.map(Ticket))
    }

    /// Only the tickets the caller may see. first/last at most 100.
    #[allow(clippy::too_many_arguments)]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        filter: Option<TicketFilter>,
        order_by: Option<TicketOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<TicketConnection> {
        tickets::caller_id(caller(ctx))?;
        let filter = filter.map(Into::into).unwrap_or_default();
        let ordering = order_by.map(Into::into).unwrap_or_default();
        let request = listing::PageRequest {
            first,
            after,
            last,
            before,
        };
        let page = listing::page(db(ctx), caller(ctx), &filter, ordering, &request).await?;
        let list = ctx.look_ahead();
        let rows: Vec<_> = page.rows.iter().map(|(row, _)| row).collect();
        read_ahead(
            ctx,
            &[list.field("nodes"), list.field("edges").field("node")],
            &rows,
        )
        .await?;
        Ok(TicketConnection(page))
    }

    async fn ticket_stats(&self, ctx: &Context<'_>, cycle: Option<String>) -> Result<TicketStats> {
        tickets::caller_id(caller(ctx))?;
        let stats = listing::stats(db(ctx), caller(ctx), cycle.as_deref()).await?;
        Ok(TicketStats::new(cycle, stats))
    }

    async fn users(
        &self,
        ctx: &Context<'_>,
        role: Option<Role>,
        #[graphql(default_with = "Some(false)")] include_inactive: Option<bool>,
    ) -> Result<Vec<User>> {
        let rows = users::list(
            db(ctx),
            caller(ctx),
            role.map(Into::into),
            include_inactive.unwrap_or(false),
        )
        .await?;
        Ok(rows.into_iter().map(User).collect())
    }

    // Null for a user `users::listed_for` does not show the caller, like a missing one.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        tickets::caller_id(caller(ctx))?;
        let Some(id) = parse_id(&id) else {
            return Ok(None);
        };
        Ok(find_user(ctx, id)
            .await?
            .filter(|user| users::listed_for(caller(ctx), &user.0)))
    }

    async fn applicants(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
    ) -> Result<Vec<Applicant>> {
        let rows = applicants::search(db(ctx), caller(ctx), search.as_deref(), first.unwrap_or(20))
            .await?;
        Ok(rows.into_iter().map(Applicant).collect())
    }

    /// One history entry: null unless the caller may see its ticket. The gateway resolves each
    /// live `ticketEvents` delivery through it, so subscribers get exactly what a query would.
    async fn ticket_event(&self, ctx: &Context<'_>, id: ID) -> Result<Option<TicketEvent>> {
        tickets::caller_id(caller(ctx))?;
        let Some(id) = parse_id(&id) else {
            return Ok(None);
        };
        Ok(events::find_visible(db(ctx), caller(ctx), id)
            .await?
            .map(TicketEvent))
    }

    /// Federation: a `User` referenced by another subgraph.
    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        if caller(ctx).user_id.is_none() {
            return Ok(None);
        }
        let Some(id) = parse_id(&id) else {
            return Ok(None);
        };
        find_user(ctx, id).await
    }

    /// Federation: a `Ticket` referenced by another subgraph; null unless the caller may see it.
    #[graphql(entity)]
    async fn find_ticket_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Ticket>> {
        let Some(id) = parse_id(&id) else {
            return Ok(None);
        };
        if caller(ctx).user_id.is_none() {
            return Ok(None);
        }
        Ok(tickets::find_visible(db(ctx), caller(ctx), id)
            .await?
            .map(Ticket))
    }

    /// The office's closed days besides weekends, earliest first (ADMIN only): waiting
    /// targets in business days skip them.
    async fn closed_days(&self, ctx: &Context<'_>) -> Result<Vec<ClosedDay>> {
        Ok(closed_days::list(db(ctx), caller(ctx))
            .await?
            .into_iter()
            .map(ClosedDay::from)
            .collect())
    }

    /// Federation: a `TicketEvent` referenced by another subgraph (the gateway's live
    /// subscriptions); null unless the caller may see its ticket.
    #[graphql(entity)]
    async fn find_ticket_event_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<TicketEvent>> {
        let Some(id) = parse_id(&id) else {
            return Ok(None);
        };
        if caller(ctx).user_id.is_none() {
            return Ok(None);
        }
        Ok(events::find_visible(db(ctx), caller(ctx), id)
            .await?
            .map(TicketEvent))
    }
}
