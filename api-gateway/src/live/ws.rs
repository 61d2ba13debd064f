//! `graphql-transport-ws` at `GET /graphql` (the protocol of the `graphql-ws` library): one
//! connection per client, authenticated once by the session cookie or by the
//! `connection_init` payload's `authorization`, carrying any number of subscriptions (and
//! single queries or mutations, which get one `next` and a `complete`).
//!
//! Close codes: the protocol's own (4400 bad message, 4401 subscribe before
//! `connection_ack`, 4403 not signed in or the session/token ended, 4408 no `connection_init`
//! in time, 4409 a subscription id in use, 4429 a second `connection_init`), 4008 when the
//! client does not read fast enough, 1013 when sessions cannot be checked (try again).

use super::MAX_SUBSCRIPTIONS;
use super::hub::{self, Delivery, Filter, ID_VARIABLE, Resolution, ResumeError};
use crate::engine::{self, Prepared, Subscription};
use crate::gql::GqlError;
use crate::http::{Caller, Gateway, same_origin};
use crate::tokens::Bearer;
use axum::{
    extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use common::{ErrorCode, ExportStatus, TicketState, export};
use db::sea_orm::EntityTrait;
use futures::{SinkExt, StreamExt};
use hive_router::{executor::plugins::hooks::on_graphql_params::GraphQLParams, http::Method};
use serde_json::{Value, json};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::{Notify, mpsc};

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Close codes.
pub mod close {
    /// A message that is not part of the protocol.
    pub const BAD_MESSAGE: u16 = 4400;
    /// `subscribe` before `connection_ack`.
    pub const UNAUTHORIZED: u16 = 4401;
    /// No valid session or token, or it ended.
    pub const FORBIDDEN: u16 = 4403;
    /// No `connection_init` in time.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// A `subscribe` with an id already in use.
    pub const DUPLICATE: u16 = 4409;
    /// A second `connection_init`.
    pub const TOO_MANY_INITS: u16 = 4429;
    /// The client did not keep up with its subscriptions' events.
    pub const TOO_SLOW: u16 = 4008;
    /// Sessions could not be checked; try again later.
    pub const TRY_AGAIN: u16 = 1013;
}

/// How long a client has to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Messages waiting for the socket; a subscription waits when the socket is this far behind.
const OUT_QUEUE: usize = 16;

/// The socket's read buffer: clients send small messages.
const READ_BUFFER: usize = 4 * 1024;

/// How long the connection waits for the client to make room for a message of its own.
const SEND_WAIT: Duration = Duration::from_secs(5);

/// How often a connection checks at most that its session or token still holds.
const CHECK_EVERY: Duration = Duration::from_secs(15);

/// Answers a websocket upgrade of `GET /graphql`.
pub fn upgrade(gateway: Arc<Gateway>, headers: &HeaderMap, ws: WebSocketUpgrade) -> Response {
    if !ws
        .requested_protocols()
        .any(|p| p.as_bytes().eq_ignore_ascii_case(PROTOCOL.as_bytes()))
    {
        return (
            StatusCode::BAD_REQUEST,
            "GraphQL over a websocket speaks the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol: graphql-transport-ws)",
        )
            .into_response();
    }
    // A browser sends the cookie with a websocket opened by any site: only a page of our own
    // origin may use it (cross-site websocket hijacking). Other clients send no Origin.
    let cookie = same_origin(headers)
        .then(|| crate::http::session_cookie(headers).map(str::to_string))
        .flatten();
    ws.protocols([PROTOCOL])
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(crate::http::MAX_BODY)
        .on_upgrade(move |socket| async move {
            gateway.metrics.websockets.inc();
            Connection::open(gateway.clone(), socket, cookie).await;
            gateway.metrics.websockets.dec();
        })
}

/// How a connection was authenticated, to check again later.
#[derive(Debug, Clone)]
enum Credential {
    Session(String),
    Token(String),
}

/// Who a connection acts for.
#[derive(Clone)]
struct Identity {
    caller: Caller,
    bearer: Option<Arc<Bearer>>,
}

/// A protocol message from the client.
enum Incoming {
    Init(Option<Value>),
    Ping(Option<Value>),
    Pong,
    Subscribe(String, Value),
    Complete(String),
    /// The client went away.
    Closed,
    /// Not a protocol message: close 4400 with this reason.
    Invalid(String),
    /// A websocket-level frame (ping, pong) the library answers.
    Nothing,
}

fn incoming(message: Option<Result<Message, axum::Error>>) -> Incoming {
    let text = match message {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Incoming::Closed,
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(Message::Binary(_))) => {
            return Incoming::Invalid("messages are JSON text".into());
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Incoming::Nothing,
    };
    if let Err(err) = common::nesting::check_json(text.as_bytes(), common::nesting::MAX_NESTING) {
        return Incoming::Invalid(err.to_string());
    }
    let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text.as_str()) else {
        return Incoming::Invalid("a message is a JSON object".into());
    };
    let payload = message.remove("payload").filter(|p| !p.is_null());
    let id = message
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_string);
    match (message.get("type").and_then(Value::as_str), id) {
        (Some("connection_init"), _) => Incoming::Init(payload),
        (Some("ping"), _) => Incoming::Ping(payload),
        (Some("pong"), _) => Incoming::Pong,
        (Some("subscribe"), Some(id)) => match payload {
            Some(payload @ Value::Object(_)) => Incoming::Subscribe(id, payload),
            _ => Incoming::Invalid("subscribe needs a payload with a query".into()),
        },
        (Some("complete"), Some(id)) => Incoming::Complete(id),
        (Some("subscribe" | "complete"), None) => {
            Incoming::Invalid("the message needs an id".into())
        }
        (Some(other), _) => Incoming::Invalid(format!("unknown message type `{other}`")),
        (None, _) => Incoming::Invalid("a message needs a type".into()),
    }
}

fn text(value: &Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

fn close_frame(code: u16, reason: &str) -> Message {
    // A close reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(&reason[..end]),
    }))
}

/// `{"errors": [...]}` (a response body) as the payload of an `error` message.
fn errors_of(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|mut v| v.get_mut("errors").map(Value::take))
        .filter(Value::is_array)
        .unwrap_or_else(
            || json!([{ "message": "internal error", "extensions": { "code": "INTERNAL" } }]),
        )
}

fn error_message(id: &str, errors: &[GqlError]) -> Message {
    text(
        &json!({ "id": id, "type": "error", "payload": errors_of(&crate::gql::error_body(errors)) }),
    )
}

/// The text of a `next` message: `payload` is a response body, already JSON.
pub(super) fn next_text(id: &str, payload: &str) -> Utf8Bytes {
    let id = Value::String(id.to_string());
    Utf8Bytes::from(format!(
        r#"{{"id":{id},"type":"next","payload":{payload}}}"#
    ))
}

fn next_message(id: &str, payload: &str) -> Message {
    Message::Text(next_text(id, payload))
}

fn complete_message(id: &str) -> Message {
    text(&json!({ "id": id, "type": "complete" }))
}

struct Connection {
    gateway: Arc<Gateway>,
    out: mpsc::Sender<Message>,
    kick: Arc<Notify>,
}

impl Connection {
    async fn open(gateway: Arc<Gateway>, socket: WebSocket, cookie: Option<String>) {
        let (mut sink, mut stream) = socket.split();
        let (out, mut queue) = mpsc::channel::<Message>(OUT_QUEUE);
        let writer = tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                let last = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || last {
                    break;
                }
            }
        });
        let connection = Self {
            gateway,
            out,
            kick: Arc::new(Notify::new()),
        };
        if let Some((credential, identity)) = connection.init(&mut stream, cookie).await {
            connection.serve(&mut stream, credential, identity).await;
        }
        drop(connection);
        // The writer sends what is queued (the close frame last), then stops; a client that
        // reads nothing any more is dropped without it.
        let mut writer = writer;
        if tokio::time::timeout(SEND_WAIT, &mut writer).await.is_err() {
            writer.abort();
        }
    }

    /// Queues a message of the connection's own (not a subscription's); `false` when the
    /// client has not made room for it in `SEND_WAIT`, or is gone.
    async fn send(&self, message: Message) -> bool {
        matches!(
            tokio::time::timeout(SEND_WAIT, self.out.send(message)).await,
            Ok(Ok(()))
        )
    }

    async fn close(&self, code: u16, reason: &str) {
        self.send(close_frame(code, reason)).await;
    }

    /// Waits for `connection_init` and authenticates; `None` when the connection closed.
    async fn init(
        &self,
        stream: &mut futures::stream::SplitStream<WebSocket>,
        cookie: Option<String>,
    ) -> Option<(Credential, Identity)> {
        let deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
        loop {
            let message = match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(message) => incoming(message),
                Err(_) => {
                    self.close(close::INIT_TIMEOUT, "Connection initialisation timeout")
                        .await;
                    return None;
                }
            };
            match message {
                Incoming::Init(payload) => {
                    return match self.authenticate(payload, cookie).await {
                        Ok(authenticated) => self
                            .send(text(&json!({ "type": "connection_ack" })))
                            .await
                            .then_some(authenticated),
                        Err((code, reason)) => {
                            self.close(code, &reason).await;
                            None
                        }
                    };
                }
                Incoming::Ping(payload) => {
                    if !self.pong(payload).await {
                        return None;
                    }
                }
                Incoming::Pong | Incoming::Nothing | Incoming::Complete(_) => {}
                Incoming::Subscribe(..) => {
                    self.close(close::UNAUTHORIZED, "Unauthorized").await;
                    return None;
                }
                Incoming::Invalid(reason) => {
                    self.close(close::BAD_MESSAGE, &reason).await;
                    return None;
                }
                Incoming::Closed => return None,
            }
        }
    }

    async fn pong(&self, payload: Option<Value>) -> bool {
        let mut pong = json!({ "type": "pong" });
        if let Some(payload) = payload {
            pong["payload"] = payload;
        }
        self.send(text(&pong)).await
    }

    /// The connection's identity: an API token in the payload's `authorization`, else the
    /// session cookie. `Err` is the close code and reason.
    async fn authenticate(
        &self,
        payload: Option<Value>,
        cookie: Option<String>,
    ) -> Result<(Credential, Identity), (u16, String)> {
        let refused = |err: GqlError| {
            let code = if err.status == 503 {
                close::TRY_AGAIN
            } else {
                close::FORBIDDEN
            };
            (code, format!("Forbidden: {}", err.message))
        };
        let authorization = payload.as_ref().and_then(|p| {
            p.get("authorization")
                .or_else(|| p.get("Authorization"))
                .and_then(Value::as_str)
        });
        if let Some(authorization) = authorization {
            let caller = self.gateway.bearer(authorization).await.map_err(refused)?;
            return Ok((
                Credential::Token(authorization.to_string()),
                Identity {
                    caller: caller.caller,
                    bearer: Some(caller.bearer),
                },
            ));
        }
        let Some(session) = cookie else {
            return Err((
                close::FORBIDDEN,
                "Forbidden: sign in, or send connection_init {\"authorization\": \"Bearer <token>\"}"
                    .into(),
            ));
        };
        match self
            .gateway
            .session_caller(&session)
            .await
            .map_err(refused)?
        {
            Some(caller) => Ok((
                Credential::Session(session),
                Identity {
                    caller,
                    bearer: None,
                },
            )),
            None => Err((
                close::FORBIDDEN,
                "Forbidden: the session ended; sign in again".into(),
            )),
        }
    }

    /// Whether the connection's session or token still holds (errors of the stores count as
    /// holding: a blip of Redis does not disconnect everyone).
    async fn still_valid(&self, credential: &Credential) -> bool {
        match credential {
            Credential::Session(id) => match self.gateway.sessions.peek(id).await {
                Ok(Some(session)) => {
                    !matches!(self.gateway.session_holds(id, &session).await, Ok(None))
                }
                Ok(None) => false,
                Err(_) => true,
            },
            Credential::Token(token) => match self.gateway.bearer(token).await {
                Ok(_) => true,
                Err(err) => err.status == 503,
            },
        }
    }

    async fn serve(
        &self,
        stream: &mut futures::stream::SplitStream<WebSocket>,
        credential: Credential,
        identity: Identity,
    ) {
        let every = CHECK_EVERY
            .min(self.gateway.sessions.idle() / 4)
            .max(Duration::from_millis(100));
        let mut check = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ended = self.gateway.live.ended_sessions();
        let session_tag = match &credential {
            Credential::Session(id) => Some(hub::session_tag(id)),
            Credential::Token(_) => None,
        };
        let (done_tx, mut done) = mpsc::unbounded_channel::<(String, u64)>();
        let mut active: HashMap<String, (u64, tokio::task::JoinHandle<()>)> = HashMap::new();
        let mut serial = 0u64;
        loop {
            tokio::select! {
                message = stream.next() => match incoming(message) {
                    Incoming::Closed => break,
                    Incoming::Invalid(reason) => {
                        self.close(close::BAD_MESSAGE, &reason).await;
                        break;
                    }
                    Incoming::Init(_) => {
                        self.close(close::TOO_MANY_INITS, "Too many initialisation requests").await;
                        break;
                    }
                    Incoming::Ping(payload) => {
                        if !self.pong(payload).await {
                            break;
                        }
                    }
                    Incoming::Pong | Incoming::Nothing => {}
                    Incoming::Subscribe(id, payload) => {
                        if active.contains_key(&id) {
                            self.close(close::DUPLICATE, &format!("Subscriber for {id} already exists")).await;
                            break;
                        }
                        if active.len() >= MAX_SUBSCRIPTIONS {
                            let err = GqlError::new(200, ErrorCode::BadUserInput, format!("a connection holds at most {MAX_SUBSCRIPTIONS} subscriptions"));
                            if !self.send(error_message(&id, &[err])).await {
                                break;
                            }
                            continue;
                        }
                        serial += 1;
                        let task = tokio::spawn(serve_one(
                            Subscriber {
                                gateway: self.gateway.clone(),
                                identity: identity.clone(),
                                out: self.out.clone(),
                                kick: self.kick.clone(),
                                id: id.clone(),
                            },
                            payload,
                            done_tx.clone(),
                            serial,
                        ));
                        active.insert(id, (serial, task));
                    }
                    Incoming::Complete(id) => {
                        if let Some((_, task)) = active.remove(&id) {
                            task.abort();
                        }
                    }
                },
                Some((id, serial)) = done.recv() => {
                    if active.get(&id).is_some_and(|(s, _)| *s == serial) {
                        active.remove(&id);
                    }
                }
                () = self.kick.notified() => {
                    self.close(close::TOO_SLOW, "too slow: the client fell behind its events; reconnect and resume with `after`").await;
                    break;
                }
                _ = check.tick() => {
                    if !self.still_valid(&credential).await {
                        self.close(close::FORBIDDEN, "Forbidden: the session ended; sign in again").await;
                        break;
                    }
                }
                tag = ended.recv() => {
                    let gone = match (&tag, &session_tag) {
                        (Ok(tag), Some(mine)) => **tag == **mine,
                        (Err(tokio::sync::broadcast::error::RecvError::Lagged(_)), _) => !self.still_valid(&credential).await,
                        _ => false,
                    };
                    if gone {
                        self.close(close::FORBIDDEN, "Forbidden: the session ended; sign in again").await;
                        break;
                    }
                }
            }
        }
        for (_, task) in active.into_values() {
            task.abort();
        }
    }
}

/// One subscription of a connection.
struct Subscriber {
    gateway: Arc<Gateway>,
    identity: Identity,
    out: mpsc::Sender<Message>,
    kick: Arc<Notify>,
    id: String,
}

impl Subscriber {
    async fn send(&self, message: Message) -> bool {
        self.out.send(message).await.is_ok()
    }

    async fn fail(&self, err: GqlError) {
        self.send(error_message(&self.id, &[err])).await;
    }

    fn request(&self, params: GraphQLParams) -> engine::Request {
        engine::Request {
            params,
            method: Method::POST,
            token: self.identity.caller.token.clone(),
            allow_introspection: self.gateway.may_introspect(&self.identity.caller.principal),
            authorize: self
                .identity
                .bearer
                .as_ref()
                .map(|bearer| self.gateway.scopes(bearer)),
            fresh: false,
        }
    }

    fn user_id(&self) -> i64 {
        self.identity.caller.principal.user_id.unwrap_or_default()
    }
}

async fn serve_one(
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
        Ok(params)
            if params
                .query
                .as_deref()
                .is_some_and(|q| !q.trim().is_empty()) =>
        {
            params
        }
        _ => {
            subscriber
                .fail(GqlError::bad_request(
                    "the payload is not a GraphQL request: expected {\"query\": ..., \"variables\": ...}",
                ))
                .await;
            return;
        }
    };
    if let Err(wait) = subscriber.gateway.rate.check_user(subscriber.user_id()) {
        subscriber.fail(GqlError::rate_limited(wait)).await;
        return;
    }
    match subscriber
        .gateway
        .engine
        .prepare(subscriber.request(params))
        .await
    {
        Err(response) => {
            let errors = errors_of(&response.body);
            subscriber
                .send(text(
                    &json!({ "id": subscriber.id, "type": "error", "payload": errors }),
                ))
                .await;
        }
        Ok(Prepared::Single) => {
            let Ok(params) = parse() else { return };
            let response = subscriber
                .gateway
                .engine
                .execute(subscriber.request(params))
                .await;
            let body = String::from_utf8_lossy(&response.body);
            if subscriber.send(next_message(&subscriber.id, &body)).await {
                subscriber.send(complete_message(&subscriber.id)).await;
            }
        }
        Ok(Prepared::Subscription(subscription)) => match subscription.field.as_str() {
            "ticketEvents" => ticket_events(subscriber, subscription).await,
            "exportProgress" => export_progress(subscriber, subscription).await,
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
        .gateway
        .live
        .subscribe_tickets(
            filter,
            subscriber.identity.caller.principal.clone(),
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
        if let Some(payload) =
            hub::run_resolution(&subscriber.gateway, &resolution, event.message.event_id).await
            && !subscriber
                .send(next_message(&subscriber.id, &payload))
                .await
        {
            return;
        }
    }
    while let Some(Delivery { outcome, .. }) = subscribed.live.recv().await {
        if let Some(resolved) = outcome.await
            && !subscriber
                .send(Message::Text(resolved.next_message(&subscriber.id)))
                .await
        {
            return;
        }
    }
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
    let principal = subscriber.identity.caller.principal.clone();
    // Registered before the job is read: a report published meanwhile is not missed.
    let (_registration, mut live) = subscriber.gateway.live.subscribe_export(
        job_id,
        principal.clone(),
        resolution.clone(),
        subscriber.kick.clone(),
    );
    let job = match db::entity::export_job::Entity::find_by_id(job_id)
        .one(&subscriber.gateway.db)
        .await
    {
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
    let finished = matches!(
        job.status.parse::<ExportStatus>(),
        Ok(ExportStatus::Done | ExportStatus::Failed)
    );
    if let Some(payload) = hub::run_resolution(&subscriber.gateway, &resolution, job_id).await
        && !subscriber
            .send(next_message(&subscriber.id, &payload))
            .await
    {
        return;
    }
    if !finished {
        while let Some(Delivery { outcome, last }) = live.recv().await {
            if let Some(resolved) = outcome.await
                && !subscriber
                    .send(Message::Text(resolved.next_message(&subscriber.id)))
                    .await
            {
                return;
            }
            if last {
                break;
            }
        }
    }
    subscriber.send(complete_message(&subscriber.id)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn origins_must_match_the_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "tessera.example.edu".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            "https://tessera.example.edu".parse().unwrap(),
        );
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://evil.example.com".parse().unwrap());
        assert!(!same_origin(&headers));
    }

    #[test]
    fn messages_parse_or_say_what_is_wrong() {
        let msg = |s: &str| incoming(Some(Ok(Message::Text(Utf8Bytes::from(s.to_string())))));
        assert!(matches!(
            msg(r#"{"type":"connection_init"}"#),
            Incoming::Init(None)
        ));
        assert!(matches!(
            msg(r#"{"type":"subscribe","id":"1","payload":{"query":"{me{id}}"}}"#),
            Incoming::Subscribe(id, _) if id == "1"
        ));
        assert!(
            matches!(msg(r#"{"type":"complete","id":"1"}"#), Incoming::Complete(id) if id == "1")
        );
        assert!(matches!(
            msg(r#"{"type":"subscribe","payload":{}}"#),
            Incoming::Invalid(_)
        ));
        assert!(matches!(
            msg(r#"{"type":"subscribe","id":"1"}"#),
            Incoming::Invalid(_)
        ));
        assert!(matches!(msg(r#"{"type":"nope"}"#), Incoming::Invalid(_)));
        assert!(matches!(msg("[1]"), Incoming::Invalid(_)));
        assert!(matches!(msg("not json"), Incoming::Invalid(_)));
        let deep = format!(
            r#"{{"type":"subscribe","id":"1","payload":{{"query":"{{me{{id}}}}","variables":{{"x":{}{}}}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(matches!(msg(&deep), Incoming::Invalid(reason) if reason.contains("nested")));
        assert!(matches!(incoming(None), Incoming::Closed));
    }

    #[test]
    fn close_reasons_fit_a_frame() {
        let long = "é".repeat(200);
        let Message::Close(Some(frame)) = close_frame(4400, &long) else {
            panic!("not a close frame");
        };
        assert!(frame.reason.as_str().len() <= 123);
    }

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
}
