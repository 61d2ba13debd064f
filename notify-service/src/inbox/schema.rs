//! The inbox root fields: `inbox`, `inboxUnreadCount`, `markRead` and `markAllRead`, each on
//! the signed-in caller's own items. The gateway lets API tokens read (TICKETS_READ) and keeps
//! the mutations for sessions, as for notification preferences.

use super::{
    announce::Announcer,
    store::{self, Cursor},
    types::{InboxConnection, InboxItem},
};
use crate::error::ServiceError;
use async_graphql::{Context, ID, Object, Result};
use common::subgraph::{db, signed_in};

/// The size of a page when `first` is not given.
const DEFAULT_FIRST: i32 = 20;

async fn changed(ctx: &Context<'_>, user: i64) {
    if let Some(announcer) = ctx.data_opt::<Announcer>() {
        announcer.changed(user).await;
    }
}

/// The inbox reads.
#[derive(Debug, Default)]
pub struct InboxQuery;

#[Object]
impl InboxQuery {
    /// The caller's inbox: unread items first, then read ones, newest first in each. `after`
    /// is a cursor of an earlier page; with `unreadOnly` only unread items.
    async fn inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        #[graphql(default_with = "Some(false)")] unread_only: Option<bool>,
    ) -> Result<InboxConnection> {
        let user = signed_in(ctx)?;
        let first = first.unwrap_or(DEFAULT_FIRST);
        let first = u64::try_from(first)
            .ok()
            .filter(|n| (1..=store::MAX_FIRST).contains(n))
            .ok_or_else(|| {
                ServiceError::bad_input(
                    "first",
                    format!("first must be between 1 and {}", store::MAX_FIRST),
                )
            })?;
        let after = after
            .as_deref()
            .map(|raw| Cursor::decode("after", raw))
            .transpose()?;
        let unread_only = unread_only.unwrap_or(false);
        let page = store::page(db(ctx), user, first, after, unread_only)
            .await
            .map_err(ServiceError::from)?;
        Ok(InboxConnection {
            page,
            user,
            unread_only,
        })
    }

    /// How many items of the caller's inbox are unread.
    async fn inbox_unread_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let user = signed_in(ctx)?;
        let count = store::count(db(ctx), user, true)
            .await
            .map_err(ServiceError::from)?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
}

/// The inbox changes.
#[derive(Debug, Default)]
pub struct InboxMutation;

#[Object]
impl InboxMutation {
    /// Marks items of the caller's inbox read (at most 100); answers them. An id that is not
    /// one of the caller's items is NOT_FOUND, and then nothing is marked. Marking an item
    /// read never sends its email again.
    async fn mark_read(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<InboxItem>> {
        let user = signed_in(ctx)?;
        let ids = ids
            .iter()
            .map(|id| id.trim().parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            // Not an id is no item of the caller's either.
            .map_err(|_| ServiceError::NotFound("inbox item"))?;
        let items = store::mark_read(db(ctx), user, &ids).await?;
        if !items.is_empty() {
            changed(ctx, user).await;
        }
        Ok(items.into_iter().map(InboxItem).collect())
    }

    /// Marks every item of the caller's inbox read; answers how many were unread.
    async fn mark_all_read(&self, ctx: &Context<'_>) -> Result<i32> {
        let user = signed_in(ctx)?;
        let marked = store::mark_all_read(db(ctx), user)
            .await
            .map_err(ServiceError::from)?;
        if marked > 0 {
            changed(ctx, user).await;
        }
        Ok(i32::try_from(marked).unwrap_or(i32::MAX))
    }
}
