//! The subscription fields and what they mean: `ticketEvents(ticketId, states, after)` (the
//! ticket events a subscriber may see, resumable from `after`), `exportProgress(id)` (one
//! export job's progress until it finishes) and `inboxUnreadCount` (the subscriber's unread
//! count, now and after each change of their inbox); a query or mutation sent over the
//! connection gets one `next` and a `complete`. The framing is `protocol`'s.

use super::Live;
use super::hub::{Filter, ResumeError};
use super::protocol::{self, complete_message, error_message, errors_of, next_message};
use super::resolve::{Delivery, ID_VARIABLE, Resolution};
use crate::engine::{self, Prepared, Subscription};
use crate::gql::GqlError;
use crate::identity::Caller;
use crate::tokens::Bearer;
use axum::extract::ws::Message;
use common::{ErrorCode, TicketState, export};
use hive_router::{executor::plugins::hooks::on_graphql_params::GraphQLParams, http::Method};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::{Notify, mpsc};

/// Who a connection, and each of its subscriptions, acts for.
#[derive(Clone)]
pub(super) struct Who {
    pub(super) caller: Caller,
    /// The API token it came with, whose checks every operation must pass.
    pub(super) bearer: Option<Arc<Bearer>>,
}

/// One subscription of a connection.
pub(super) struct Subscriber {
    pub(super) live: Arc<Live>,
    pub(super) who: Who,
    pub(super) out: mpsc::Sender<Message>,
    pub(super) kick: Arc<Notify>,
    pub(super) id: String,
}

impl Subscriber {
    async fn send(&self, message: Message) -> bool {
        self.out.send(message).await.is_ok()
    }

    async fn fail(&self, err: GqlError) {
        self.send(error_message(&self.id, &[err])).await;
    }

    fn request(&self, params: GraphQLParams) -> engine::Request {
        let identity = &self.live.identity;
        engine::Request {
            params,
            method: Method::POST,
            token: self.who.caller.token.clone(),
            allow_introspection: identity.may_introspect(&self.who.caller.principal),
            authorize: self
                .who
                .bearer
                .as_ref()
                .map(|bearer| identity.scopes(bearer)),
            fresh: false,
        }
    }

    fn user_id(&self) -> i64 {
        self.who.caller.principal.user_id.unwrap_or_default()
    }

    /// Resolves a delivery now (the job as it stands, a replayed event) and sends it;
    /// `false` when the client is gone.
    async fn send_resolved(&self, resolution: &Resolution, id: i64) -> bool {
        match self.live.resolver().resolve(resolution, id).await {
            Some(payload) => self.send(next_message(&self.id, &payload)).await,
            None => true,
        }
    }

    /// Sends the live deliveries as they resolve, until `last` or the hub lets go; `false`
    /// when the client is gone.
    async fn send_live(&self, live: &mut mpsc::Receiver<Delivery>) -> bool {
        while let Some(Delivery { outcome, last }) = live.recv().await {
            if let Some(resolved) = outcome.await
                && !self
                    .send(Message::Text(resolved.next_message(&self.id)))
                    .await
            {
                return false;
            }
            if last {
                break;
            }
        }
        true
    }
}

/// Runs one `subscribe` to its end, then reports it done.
pub(super) async fn serve_one(
    subscriber: Subscriber,
    payload: Value,
    done: mpsc::UnboundedSender<(String, u64)>,
    serial: u64,
) {
    run_one(&subscriber, payload).await;
    let _ = done.send((subscriber.id.clone(), serial));
}

async fn run_one(subscriber: &Subscriber, payload: Value) {
    let payload = payload.to_string();
    let parse = || hive_router::sonic_rs::from_str::<GraphQLParams>(&payload);
    let params = match parse() {
        Ok(params) if engine::has_query(&params) => params,
        _ => {
            subscriber
                .fail(GqlError::bad_request(
                    "the payload is not a GraphQL request: expected {\"query\": ..., \"variables\": ...}",
                ))
                .await;
            return;
        }
    };
    if let Err(wait) = subscriber.live.rate.check_user(subscriber.user_id()) {
        subscriber.fail(GqlError::rate_limited(wait)).await;
        return;
    }
    let engine = &subscriber.live.engine;
    match engine.prepare(subscriber.request(params)).await {
        Err(response) => {
            let errors = errors_of(&response.body);
            subscriber
                .send(protocol::errors_payload(&subscriber.id, errors))
                .await;
        }
        Ok(Prepared::Single) => {
            let Ok(params) = parse() else { return };
            let response = engine.execute(subscriber.request(params)).await;
            let body = String::from_utf8_lossy(&response.body);
            if subscriber.send(next_message(&subscriber.id, &body)).await {
                subscriber.send(complete_message(&subscriber.id)).await;
            }
        }
        Ok(Prepared::Subscription(subscription)) => match subscription.field.as_str() {
            "ticketEvents" => ticket_events(subscriber, subscription).await,
            "exportProgress" => export_progress(subscriber, subscription).await,
            "inboxUnreadCount" => inbox_unread_count(subscriber, subscription).await,
            other => {
                subscriber
                    .fail(GqlError::bad_request(format!(
                        "`{other}` is not served here"
                    )))
                    .await;
            }
        },
    }
}

/// The query resolving one delivery: the subscription's selection under `field(id: $id)`.
fn query_for(subscription: &Subscription, field: &str) -> String {
    let mut definitions = subscription.variable_definitions.clone();
    if !definitions.is_empty() {
        definitions.push_str(", ");
    }
    definitions.push_str(&format!("${ID_VARIABLE}:ID!"));
    format!(
        "query{}({definitions}){{{}: {field}(id: ${ID_VARIABLE}){} {}}}",
        subscription
            .name
            .as_deref()
            .map(|n| format!(" {n}"))
            .unwrap_or_default(),
        subscription.response_key,
        subscription.directives,
        subscription.selection,
    )
}

/// The query resolving a count: the subscription's own field (a query field of the same name)
/// with its alias and directives.
fn count_query(subscription: &Subscription) -> String {
    let definitions = match subscription.variable_definitions.as_str() {
        "" => String::new(),
        defined => format!("({defined})"),
    };
    format!(
        "query{}{definitions}{{{}: {}{}}}",
        subscription
            .name
            .as_deref()
            .map(|n| format!(" {n}"))
            .unwrap_or_default(),
        subscription.response_key,
        subscription.field,
        subscription.directives,
    )
}

fn bad_argument(name: &str, message: String) -> GqlError {
    let mut err = GqlError::new(200, ErrorCode::BadUserInput, message);
    err.extra = Some(("field", Value::String(name.to_string())));
    err
}

/// An `ID` argument: a decimal id (absent or null: `None`).
fn id_argument(subscription: &Subscription, name: &str) -> Result<Option<i64>, GqlError> {
    match subscription.arguments.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_str()
            .map(str::to_string)
            .or_else(|| value.as_i64().map(|i| i.to_string()))
            .and_then(|s| s.trim().parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| bad_argument(name, format!("`{name}` is not an id"))),
    }
}

fn filter_of(subscription: &Subscription) -> Result<(Filter, Option<i64>), GqlError> {
    let ticket_id = id_argument(subscription, "ticketId")?;
    let after = id_argument(subscription, "after")?;
    let states = match subscription.arguments.get("states") {
        None | Some(Value::Null) => None,
        Some(Value::Array(states)) => Some(
            states
                .iter()
                .map(|s| {
                    s.as_str()
                        .and_then(|s| s.parse::<TicketState>().ok())
                        .ok_or_else(|| {
                            bad_argument("states", format!("`{s}` is not a ticket state"))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => {
            return Err(bad_argument(
                "states",
                format!("`{other}` is not a list of ticket states"),
            ));
        }
    };
    Ok((Filter { ticket_id, states }, after))
}

fn resolution(
    subscriber: &Subscriber,
    subscription: &Subscription,
    field: &str,
) -> Arc<Resolution> {
    Arc::new(Resolution::new(
        subscriber.user_id(),
        query_for(subscription, field),
        subscription.name.clone(),
        subscription.variables.clone(),
        subscription.response_key.clone(),
    ))
}

async fn ticket_events(subscriber: &Subscriber, subscription: Subscription) {
    let (filter, after) = match filter_of(&subscription) {
        Ok(filter) => filter,
        Err(err) => return subscriber.fail(err).await,
    };
    let resolution = resolution(subscriber, &subscription, "ticketEvent");
    let registered = subscriber
        .live
        .hub
        .subscribe_tickets(
            filter,
            subscriber.who.caller.principal.clone(),
            resolution.clone(),
            subscriber.kick.clone(),
            after,
        )
        .await;
    let mut subscribed = match registered {
        Ok(subscribed) => subscribed,
        Err(err @ ResumeError::Unknown(_)) => {
            return subscriber
                .fail(bad_argument("after", err.to_string()))
                .await;
        }
    };
    for event in std::mem::take(&mut subscribed.replay) {
        if !subscriber
            .send_resolved(&resolution, event.message.event_id)
            .await
        {
            return;
        }
    }
    subscriber.send_live(&mut subscribed.live).await;
}

async fn export_progress(subscriber: &Subscriber, subscription: Subscription) {
    let job_id = match id_argument(&subscription, "id") {
        Ok(Some(id)) => id,
        Ok(None) => {
            return subscriber
                .fail(bad_argument("id", "`id` is required".into()))
                .await;
        }
        Err(err) => return subscriber.fail(err).await,
    };
    let resolution = resolution(subscriber, &subscription, "exportJob");
    let principal = subscriber.who.caller.principal.clone();
    // Registered before the job is read: a report published meanwhile is not missed.
    let (_registration, mut live) = subscriber.live.hub.subscribe_export(
        job_id,
        principal.clone(),
        resolution.clone(),
        subscriber.kick.clone(),
    );
    let job = match export_service::read_model::job(&subscriber.live.db, job_id).await {
        Ok(job) => job.filter(|job| export::may_read(&principal, job.requested_by)),
        Err(err) => {
            tracing::error!(%err, "reading an export job");
            return subscriber
                .fail(GqlError::new(
                    200,
                    ErrorCode::Unavailable,
                    "the database is unavailable; try again",
                ))
                .await;
        }
    };
    let Some(job) = job else {
        return subscriber
            .fail(GqlError::new(
                200,
                ErrorCode::NotFound,
                format!("no export job {job_id}"),
            ))
            .await;
    };
    if !subscriber.send_resolved(&resolution, job_id).await {
        return;
    }
    if !job.finished && !subscriber.send_live(&mut live).await {
        return;
    }
    subscriber.send(complete_message(&subscriber.id)).await;
}

/// `inboxUnreadCount`: the count as it stands, then again after each change of the
/// subscriber's inbox that changed it (an announcement that changed nothing sends nothing).
async fn inbox_unread_count(subscriber: &Subscriber, subscription: Subscription) {
    let resolution = Arc::new(
        Resolution::new(
            subscriber.user_id(),
            count_query(&subscription),
            subscription.name.clone(),
            subscription.variables.clone(),
            subscription.response_key.clone(),
        )
        .without_id(),
    );
    // Registered before the count is read: a change meanwhile is not missed.
    let (_registration, mut live) = subscriber.live.hub.subscribe_inbox(
        subscriber.user_id(),
        resolution.clone(),
        subscriber.kick.clone(),
    );
    let user = subscriber.user_id();
    let mut last = subscriber.live.resolver().resolve(&resolution, user).await;
    if let Some(count) = &last
        && !subscriber.send(next_message(&subscriber.id, count)).await
    {
        return;
    }
    while let Some(Delivery { outcome, .. }) = live.recv().await {
        let Some(resolved) = outcome.await else {
            continue;
        };
        if last.as_ref() == Some(&resolved.body) {
            continue;
        }
        if !subscriber
            .send(Message::Text(resolved.next_message(&subscriber.id)))
            .await
        {
            return;
        }
        last = Some(resolved.body.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_query_selects_what_the_subscription_did() {
        let subscription = Subscription {
            name: Some("Live".into()),
            field: "ticketEvents".into(),
            response_key: "events".into(),
            arguments: Default::default(),
            selection: "{id ticket{notes(first: $n){id}}}".into(),
            directives: String::new(),
            variable_definitions: "$n:Int".into(),
            variables: Default::default(),
        };
        assert_eq!(
            query_for(&subscription, "ticketEvent"),
            "query Live($n:Int, $tesseraLiveId:ID!){events: ticketEvent(id: $tesseraLiveId) {id ticket{notes(first: $n){id}}}}"
        );
    }

    #[test]
    fn a_count_query_asks_for_the_same_field_with_its_alias_and_directives() {
        let mut subscription = Subscription {
            name: None,
            field: "inboxUnreadCount".into(),
            response_key: "inboxUnreadCount".into(),
            arguments: Default::default(),
            selection: String::new(),
            directives: String::new(),
            variable_definitions: String::new(),
            variables: Default::default(),
        };
        assert_eq!(
            count_query(&subscription),
            "query{inboxUnreadCount: inboxUnreadCount}"
        );
        subscription.name = Some("Bell".into());
        subscription.response_key = "unread".into();
        subscription.directives = " @include(if: $on)".into();
        subscription.variable_definitions = "$on:Boolean!".into();
        assert_eq!(
            count_query(&subscription),
            "query Bell($on:Boolean!){unread: inboxUnreadCount @include(if: $on)}"
        );
    }
}
