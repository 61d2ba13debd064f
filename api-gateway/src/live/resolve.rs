//! Resolution: what a subscriber receives for an event is the answer to a query through the
//! federation engine (`ticketEvent(id)` / `exportJob(id)` with the subscription's own selection
//! set), run with the subscriber's own rights. Subscribers that would get the same answer
//! (same user, query and variables) share one resolution per event.

use super::protocol;
use crate::engine::{self, Engine};
use crate::identity::Identity;
use axum::extract::ws::Utf8Bytes;
use futures::future::{BoxFuture, FutureExt, Shared};
use hive_router::{executor::plugins::hooks::on_graphql_params::GraphQLParams, http::Method};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// The variable a delivery's query takes the event's (or the job's) id in.
pub const ID_VARIABLE: &str = "tesseraLiveId";

/// How many distinct subscription ids a shared answer keeps built messages for.
const FRAMES: usize = 8;

/// The query that resolves a delivery for a subscriber, and the user it runs as.
#[derive(Debug)]
pub struct Resolution {
    /// Whose rights it runs with.
    pub user_id: i64,
    /// The query text: the subscription's selection set under `ticketEvent` or `exportJob`.
    pub query: String,
    /// Its operation name.
    pub operation_name: Option<String>,
    /// The subscription's variables the query uses.
    pub variables: serde_json::Map<String, Value>,
    /// Where the result is in `data` (the subscription field's alias or name).
    pub response_key: String,
    /// Whether the query takes the event's (or job's) id in `ID_VARIABLE`; a count
    /// (`inboxUnreadCount`) does not.
    pub takes_id: bool,
    /// Subscribers with the same key get the same answer: they share one resolution.
    pub(super) key: GroupKey,
}

/// What makes subscribers' answers the same (user, query, variables), hashed once.
#[derive(Debug, Clone)]
pub(super) struct GroupKey {
    text: Arc<str>,
    hash: u64,
}

impl PartialEq for GroupKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}

impl Eq for GroupKey {}

impl std::hash::Hash for GroupKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl Resolution {
    /// A resolution of `query` for `user_id`.
    pub fn new(
        user_id: i64,
        query: String,
        operation_name: Option<String>,
        variables: serde_json::Map<String, Value>,
        response_key: String,
    ) -> Self {
        let key = format!(
            "{user_id}\u{0}{query}\u{0}{}\u{0}{}",
            operation_name.as_deref().unwrap_or_default(),
            Value::Object(variables.clone())
        );
        let hash = {
            use std::hash::{BuildHasher, RandomState};
            static STATE: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
            STATE.get_or_init(RandomState::new).hash_one(&key)
        };
        Self {
            user_id,
            query,
            operation_name,
            variables,
            response_key,
            takes_id: true,
            key: GroupKey {
                text: key.into(),
                hash,
            },
        }
    }

    /// The same resolution, for a query that takes no id (it cannot declare the variable: a
    /// declared variable must be used), so none is sent.
    pub fn without_id(mut self) -> Self {
        self.takes_id = false;
        self
    }
}

/// One delivery's answer, shared by the subscribers of a group: the `next` message's payload,
/// and the messages built from it (one per subscription id: clients mostly use the same few).
#[derive(Debug)]
pub struct Resolved {
    pub(super) body: Arc<str>,
    frames: Mutex<Vec<(Box<str>, Utf8Bytes)>>,
}

impl Resolved {
    /// An answer with this payload.
    pub fn new(body: Arc<str>) -> Self {
        Self {
            body,
            frames: Mutex::new(Vec::new()),
        }
    }

    /// The `next` message for subscription `id`, built once per id and then shared.
    pub fn next_message(&self, id: &str) -> Utf8Bytes {
        let mut frames = self
            .frames
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, frame)) = frames.iter().find(|(known, _)| &**known == id) {
            return frame.clone();
        }
        let frame = protocol::next_text(id, &self.body);
        if frames.len() < FRAMES {
            frames.push((id.into(), frame.clone()));
        }
        frame
    }
}

/// A delivery's answer once resolved, or `None` when the subscriber may not see it after all
/// (ticket-service said so) or its account ended.
pub type Outcome = Shared<BoxFuture<'static, Option<Arc<Resolved>>>>;

/// One thing to send a subscriber, in order.
#[derive(Debug)]
pub struct Delivery {
    /// The payload, resolving.
    pub outcome: Outcome,
    /// The last delivery of the subscription (an export that finished).
    pub last: bool,
}

/// What the hub's followers need of the rest of the gateway: a delivery's query run as the
/// subscriber's user, and the engine told that data changed. A trait, so the hub can be
/// tested without an engine.
pub trait Resolve: Send + Sync + 'static {
    /// The answer to `resolution` for the event (or job) `id`; `None` when the subscriber
    /// gets nothing (see `Outcome`).
    fn run(&self, resolution: Arc<Resolution>, id: i64) -> BoxFuture<'static, Option<Arc<str>>>;

    /// Data may have changed: reads from now on must not join one begun before.
    fn changed(&self);
}

/// Resolves one delivery in the background and shares the answer.
pub(super) fn resolve(
    resolver: &Arc<dyn Resolve>,
    resolution: Arc<Resolution>,
    id: i64,
) -> Outcome {
    let task = tokio::spawn(resolver.run(resolution, id));
    async move {
        task.await
            .ok()
            .flatten()
            .map(|body| Arc::new(Resolved::new(body)))
    }
    .boxed()
    .shared()
}

/// Deliveries resolved through the federation engine, as their subscribers' users.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// The engine the queries run through.
    pub engine: Engine,
    /// Who the subscribers are: their per-request tokens.
    pub identity: Arc<Identity>,
}

impl Resolve for Resolver {
    fn run(&self, resolution: Arc<Resolution>, id: i64) -> BoxFuture<'static, Option<Arc<str>>> {
        let resolver = self.clone();
        async move { resolver.resolve(&resolution, id).await }.boxed()
    }

    fn changed(&self) {
        self.engine.changed();
    }
}

impl Resolver {
    /// Runs a delivery's query through the engine as the subscriber's user.
    pub async fn resolve(&self, resolution: &Resolution, id: i64) -> Option<Arc<str>> {
        let token = match self.identity.caller(resolution.user_id).await {
            Ok(Some(caller)) => caller.token,
            // The account ended: the connection's own check closes it.
            Ok(None) => return None,
            Err(err) => {
                let body = crate::gql::error_body(&[err]);
                return String::from_utf8(body).ok().map(Arc::from);
            }
        };
        let mut variables = resolution.variables.clone();
        if resolution.takes_id {
            variables.insert(ID_VARIABLE.to_string(), Value::String(id.to_string()));
        }
        let request = serde_json::json!({
            "query": resolution.query,
            "operationName": resolution.operation_name,
            "variables": variables,
        });
        let params: GraphQLParams = hive_router::sonic_rs::from_str(&request.to_string()).ok()?;
        let response = self
            .engine
            .execute(engine::Request {
                params,
                method: Method::POST,
                token,
                allow_introspection: false,
                authorize: None,
                // Reports of one export come quickly one after another: the last one's read
                // must not join the previous one's, begun before the job was marked DONE.
                fresh: true,
            })
            .await;
        let body = String::from_utf8(response.body).ok()?;
        visible(&body, &resolution.response_key).then(|| body.into())
    }
}

/// Whether a delivery's answer goes to the subscriber: null without an error means
/// ticket-service says this subscriber may not see it, so it goes when it has data or errors.
fn visible(body: &str, response_key: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    let errors = value
        .get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errors| !errors.is_empty());
    let empty = value
        .get("data")
        .and_then(|data| data.get(response_key))
        .is_none_or(Value::is_null);
    !empty || errors
}
