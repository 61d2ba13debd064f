//! The inbox types of notify-service's schema: `InboxItem`, its page (`InboxConnection`,
//! `InboxItemEdge`) and `PageInfo`, which ticket-service declares too (shareable in both).

use super::store;
use crate::{error::ServiceError, schema::types::Ticket};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use common::subgraph::db;
use db::entity::inbox_item;
use ticket_domain::inputs::TicketEventKind;

/// Relay's page information.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(shareable)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// Something that happened to a ticket, in the inbox of someone it concerns: what they
/// would be (or were) emailed about.
#[derive(Debug, Clone)]
pub struct InboxItem(pub inbox_item::Model);

#[Object]
impl InboxItem {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The ticket; null once the reader may no longer see it.
    // Nullable: ticket-service answers null for a ticket the reader may no longer see (no
    // longer a supervisor, say), and the item stays theirs.
    async fn ticket(&self) -> Option<Ticket> {
        Some(Ticket(self.0.ticket_id))
    }

    /// What happened.
    async fn kind(&self) -> Result<TicketEventKind> {
        let kind: common::TicketEventKind = self.0.kind.parse().map_err(|_| {
            async_graphql::Error::from(ServiceError::database_unavailable(format!(
                "inbox item {} has an unknown kind {}",
                self.0.id, self.0.kind
            )))
        })?;
        Ok(kind.into())
    }

    /// One line naming the ticket and what happened (the email's subject).
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Who did what, in a sentence.
    async fn summary(&self) -> &str {
        &self.0.summary
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the reader marked it read; null while unread.
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }

    /// Not marked read yet.
    async fn unread(&self) -> bool {
        self.0.read_at.is_none()
    }
}

/// An inbox item and its cursor.
#[derive(SimpleObject, Debug, Clone)]
pub struct InboxItemEdge {
    pub cursor: String,
    pub node: InboxItem,
}

/// A page of the caller's inbox: unread items first, then the rest, newest first in each.
pub struct InboxConnection {
    pub(super) page: store::Page,
    pub(super) user: i64,
    pub(super) unread_only: bool,
}

#[Object]
impl InboxConnection {
    async fn edges(&self) -> Vec<InboxItemEdge> {
        self.page
            .items
            .iter()
            .map(|(item, cursor)| InboxItemEdge {
                cursor: cursor.clone(),
                node: InboxItem(item.clone()),
            })
            .collect()
    }

    async fn nodes(&self) -> Vec<InboxItem> {
        self.page
            .items
            .iter()
            .map(|(item, _)| InboxItem(item.clone()))
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            has_previous_page: self.page.has_previous,
            start_cursor: self.page.items.first().map(|(_, c)| c.clone()),
            end_cursor: self.page.items.last().map(|(_, c)| c.clone()),
        }
    }

    /// Every item of the list (only unread ones with `unreadOnly`), not just this page.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let count = store::count(db(ctx), self.user, self.unread_only)
            .await
            .map_err(ServiceError::from)?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
}
