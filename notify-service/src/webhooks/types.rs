//! The webhook types of notify-service's schema: `Webhook`, `WebhookDelivery` and its page,
//! the inputs, and the payloads that carry a secret (shown once).

use super::{payload, signature, store};
use crate::{
    error::ServiceError,
    schema::types::{Ticket, User},
};
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use common::subgraph::db;
use db::entity::{webhook, webhook_delivery};
use ticket_domain::inputs::{TicketEventKind, TicketState};

/// The most deliveries one page lists.
pub const MAX_FIRST: i32 = 100;

/// The most of a request body a delivery shows.
const REQUEST_EXCERPT: usize = 4_096;

/// Where one webhook delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::WebhookDeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first request (or for an earlier delivery of its ticket).
    Pending,
    /// A request failed; it is tried again at `nextAttemptAt`.
    Retrying,
    /// The receiver answered with a 2xx.
    Delivered,
    /// Given up on; `lastError` says why.
    Failed,
}

/// A new webhook.
#[derive(InputObject, Debug, Clone)]
pub struct CreateWebhookInput {
    /// Where events are POSTed: https (plain http only where the operator allows it), a
    /// public address.
    pub url: String,
    /// For people.
    #[graphql(default)]
    pub description: String,
    /// The event kinds to receive; none or empty for every kind.
    pub events: Option<Vec<TicketEventKind>>,
    /// Only events that leave the ticket in one of these states; none or empty for all.
    pub states: Option<Vec<TicketState>>,
    /// Only this ticket's events.
    pub ticket_id: Option<ID>,
}

/// Changes to a webhook; a field left out keeps its value.
#[derive(InputObject, Debug, Clone, Default)]
pub struct UpdateWebhookInput {
    /// A new URL.
    pub url: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// New event kinds (empty for every kind).
    pub events: Option<Vec<TicketEventKind>>,
    /// New states (empty for all).
    pub states: Option<Vec<TicketState>>,
    /// A new ticket; null for every ticket.
    pub ticket_id: MaybeUndefined<ID>,
    /// Enables (its waiting deliveries resume) or disables the webhook.
    pub active: Option<bool>,
}

/// An id argument as a number, or BAD_USER_INPUT naming it.
pub fn parse_id(field: &'static str, id: &ID) -> Result<i64, ServiceError> {
    id.trim()
        .parse()
        .map_err(|_| ServiceError::bad_input(field, format!("`{}` is not an id", id.as_str())))
}

fn kinds(events: Option<Vec<TicketEventKind>>) -> Vec<common::TicketEventKind> {
    events
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect()
}

fn states(states: Option<Vec<TicketState>>) -> Vec<common::TicketState> {
    states
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect()
}

impl CreateWebhookInput {
    /// The store's new hook.
    pub fn into_new(self) -> Result<store::NewHook, ServiceError> {
        let ticket_id = self
            .ticket_id
            .as_ref()
            .map(|id| parse_id("ticketId", id))
            .transpose()?;
        Ok(store::NewHook {
            url: self.url,
            description: self.description,
            filter: store::Filter {
                events: kinds(self.events),
                states: states(self.states),
                ticket_id,
            },
        })
    }
}

impl UpdateWebhookInput {
    /// The store's patch.
    pub fn into_patch(self) -> Result<store::Patch, ServiceError> {
        let ticket_id = match &self.ticket_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(parse_id("ticketId", id)?)),
        };
        Ok(store::Patch {
            url: self.url,
            description: self.description,
            events: self.events.map(|e| kinds(Some(e))),
            states: self.states.map(|s| states(Some(s))),
            ticket_id,
            active: self.active,
        })
    }
}

/// An endpoint that receives the ticket events its owner may see, signed.
#[derive(Debug, Clone)]
pub struct Webhook(pub webhook::Model);

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Where events are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The event kinds it receives; empty for every kind.
    async fn events(&self) -> Vec<TicketEventKind> {
        store::split::<common::TicketEventKind>(&self.0.events)
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Only events that leave the ticket in one of these states; empty for all.
    async fn states(&self) -> Vec<TicketState> {
        store::split::<common::TicketState>(&self.0.states)
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Only this ticket's events, when set.
    async fn ticket(&self) -> Option<Ticket> {
        self.0.ticket_id.map(Ticket)
    }

    /// Whether events are delivered.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// Why it was disabled: by a person, a 410 Gone, or failing for days.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// The user it acts as: it receives only the events of tickets they may see.
    async fn owner(&self) -> User {
        User(self.0.owner_id)
    }

    /// The start of the signing secret, to tell secrets apart (the secret is shown once).
    async fn secret_preview(&self) -> String {
        signature::preview(&self.0.secret)
    }

    /// Until when the secret before the last rotation still signs (beside the current one).
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret_until
            .filter(|until| *until > Utc::now())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Its deliveries, newest first; `after` is a page's `endCursor`.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<WebhookDeliveryConnection> {
        if !(1..=MAX_FIRST).contains(&first) {
            return Err(ServiceError::bad_input(
                "first",
                format!("first must be between 1 and {MAX_FIRST}"),
            )
            .into());
        }
        let after = after
            .map(|cursor| {
                cursor.parse::<i64>().map_err(|_| {
                    ServiceError::bad_input("after", format!("`{cursor}` is not a cursor"))
                })
            })
            .transpose()?;
        let first = u64::try_from(first).unwrap_or(20);
        let (rows, more, total) = store::deliveries(db(ctx), self.0.id, first, after).await?;
        let nodes: Vec<WebhookDelivery> = rows.into_iter().map(WebhookDelivery).collect();
        Ok(WebhookDeliveryConnection {
            end_cursor: nodes.last().map(|d| d.0.id.to_string()),
            edges: nodes
                .iter()
                .map(|d| WebhookDeliveryEdge {
                    cursor: d.0.id.to_string(),
                    node: d.clone(),
                })
                .collect(),
            nodes,
            has_next_page: more,
            total_count: i64::try_from(total).unwrap_or(i64::MAX),
        })
    }
}

/// A page of a webhook's deliveries.
#[derive(SimpleObject, Debug)]
pub struct WebhookDeliveryConnection {
    pub edges: Vec<WebhookDeliveryEdge>,
    pub nodes: Vec<WebhookDelivery>,
    /// Whether older deliveries follow.
    pub has_next_page: bool,
    /// The cursor of the page's last delivery, for `after`.
    pub end_cursor: Option<String>,
    /// The webhook's deliveries in all.
    pub total_count: i64,
}

/// A delivery and its cursor.
#[derive(SimpleObject, Debug)]
pub struct WebhookDeliveryEdge {
    pub cursor: String,
    pub node: WebhookDelivery,
}

/// One event sent (or to be sent) to one webhook, with its attempts and the last answer.
#[derive(Debug, Clone)]
pub struct WebhookDelivery(pub webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The `webhook-id` header: the same for every attempt and redelivery of one event.
    async fn message_id(&self) -> String {
        payload::message_id(self.0.event_id, self.0.id)
    }

    /// The ticket event it announces; null for a test event.
    async fn event_id(&self) -> Option<ID> {
        self.0.event_id.map(|id| ID(id.to_string()))
    }

    /// The body's `type`, e.g. `ticket.state_changed` or `webhook.test`.
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    async fn ticket(&self) -> Option<Ticket> {
        self.0.ticket_id.map(Ticket)
    }

    async fn status(&self) -> Result<WebhookDeliveryStatus> {
        let status: common::WebhookDeliveryStatus = self.0.status.parse().map_err(|_| {
            ServiceError::Internal(format!(
                "webhook delivery {} has an unknown status {}",
                self.0.id, self.0.status
            ))
        })?;
        Ok(status.into())
    }

    /// Requests made.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// The HTTP status of the last answer.
    async fn response_code(&self) -> Option<i32> {
        self.0.response_code
    }

    /// How long the last request took, in milliseconds.
    async fn latency_ms(&self) -> Option<i32> {
        self.0.latency_ms
    }

    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When it is tried next (PENDING, RETRYING).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }

    /// The start of the JSON body sent.
    async fn request_excerpt(&self) -> String {
        self.0.payload.chars().take(REQUEST_EXCERPT).collect()
    }

    /// The start of the last answer's body.
    async fn response_excerpt(&self) -> Option<&str> {
        self.0.response_excerpt.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the receiver accepted it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// A new webhook and its signing secret.
#[derive(SimpleObject, Debug)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// The signing secret (`whsec_…`). Shown once.
    pub secret: String,
}

/// A webhook's new signing secret.
#[derive(SimpleObject, Debug)]
pub struct RotatedWebhookSecret {
    pub webhook: Webhook,
    /// The new signing secret. Shown once. The previous one keeps signing, beside it, until
    /// `webhook.previousSecretExpiresAt` (24 hours).
    pub secret: String,
}
