//! One live-updates connection at `GET /graphql`: authenticated once by the session cookie or
//! by the `connection_init` payload's `authorization`, carrying any number of subscriptions
//! (and single queries or mutations, which get one `next` and a `complete`), closed when its
//! session or token ends or its client falls behind.

use super::fields::{self, Subscriber, Who};
use super::protocol::{self, Incoming, PROTOCOL, close, close_frame, error_message, incoming};
use super::{Live, MAX_SUBSCRIPTIONS};
use crate::gql::GqlError;
use crate::identity::{same_origin, session_cookie};
use axum::{
    extract::ws::{Message, WebSocket, WebSocketUpgrade},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use common::ErrorCode;
use futures::{SinkExt, StreamExt, stream::SplitStream};
use serde_json::{Value, json};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::{Notify, broadcast, mpsc};

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

/// Why a connection closes when its session or token ended.
const ENDED: &str = "Forbidden: the session ended; sign in again";

/// Answers a websocket upgrade of `GET /graphql`.
pub fn upgrade(live: Arc<Live>, headers: &HeaderMap, ws: WebSocketUpgrade) -> Response {
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
        .then(|| session_cookie(headers).map(str::to_string))
        .flatten();
    ws.protocols([PROTOCOL])
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(crate::limits::MAX_BODY)
        .on_upgrade(move |socket| async move {
            live.websockets.inc();
            Connection::open(live.clone(), socket, cookie).await;
            live.websockets.dec();
        })
}

/// How a connection was authenticated, to check again later.
#[derive(Debug, Clone)]
enum Credential {
    Session(String),
    Token(String),
}

/// Whether the connection goes on after a message or an event.
enum Flow {
    Go,
    Stop,
}

/// The subscriptions a connection runs, by id; each reports on `done` when it ends.
struct Active {
    tasks: HashMap<String, (u64, tokio::task::JoinHandle<()>)>,
    serial: u64,
    done: mpsc::UnboundedSender<(String, u64)>,
}

impl Active {
    /// A subscription that ended by itself leaves (unless its id was reused meanwhile).
    fn finished(&mut self, id: &str, serial: u64) {
        if self.tasks.get(id).is_some_and(|(s, _)| *s == serial) {
            self.tasks.remove(id);
        }
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        for (_, task) in self.tasks.values() {
            task.abort();
        }
    }
}

struct Connection {
    live: Arc<Live>,
    out: mpsc::Sender<Message>,
    kick: Arc<Notify>,
}

impl Connection {
    async fn open(live: Arc<Live>, socket: WebSocket, cookie: Option<String>) {
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
            live,
            out,
            kick: Arc::new(Notify::new()),
        };
        if let Some((credential, who)) = connection.init(&mut stream, cookie).await {
            connection.serve(&mut stream, credential, who).await;
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
        stream: &mut SplitStream<WebSocket>,
        cookie: Option<String>,
    ) -> Option<(Credential, Who)> {
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
                            .send(protocol::text(&json!({ "type": "connection_ack" })))
                            .await
                            .then_some(authenticated),
                        Err((code, reason)) => {
                            self.close(code, &reason).await;
                            None
                        }
                    };
                }
                Incoming::Ping(payload) => {
                    if !self.send(protocol::pong_message(payload)).await {
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

    /// The connection's identity: an API token in the payload's `authorization`, else the
    /// session cookie. `Err` is the close code and reason.
    async fn authenticate(
        &self,
        payload: Option<Value>,
        cookie: Option<String>,
    ) -> Result<(Credential, Who), (u16, String)> {
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
        let identity = &self.live.identity;
        if let Some(authorization) = authorization {
            let caller = identity.bearer(authorization).await.map_err(refused)?;
            let who = Who {
                caller: caller.caller,
                bearer: Some(caller.bearer),
            };
            return Ok((Credential::Token(authorization.to_string()), who));
        }
        let Some(session) = cookie else {
            return Err((
                close::FORBIDDEN,
                "Forbidden: sign in, or send connection_init {\"authorization\": \"Bearer <token>\"}"
                    .into(),
            ));
        };
        match identity.session_caller(&session).await.map_err(refused)? {
            Some(caller) => Ok((
                Credential::Session(session),
                Who {
                    caller,
                    bearer: None,
                },
            )),
            None => Err((close::FORBIDDEN, ENDED.into())),
        }
    }

    /// Whether the connection's session or token still holds (errors of the stores count as
    /// holding: a blip of Redis does not disconnect everyone).
    async fn still_valid(&self, credential: &Credential) -> bool {
        let identity = &self.live.identity;
        match credential {
            Credential::Session(id) => match identity.sessions.peek(id).await {
                Ok(Some(session)) => {
                    !matches!(identity.session_holds(id, &session).await, Ok(None))
                }
                Ok(None) => false,
                Err(_) => true,
            },
            Credential::Token(token) => match identity.bearer(token).await {
                Ok(_) => true,
                Err(err) => err.status == 503,
            },
        }
    }

    async fn serve(&self, stream: &mut SplitStream<WebSocket>, credential: Credential, who: Who) {
        let every = CHECK_EVERY
            .min(self.live.identity.sessions.idle() / 4)
            .max(Duration::from_millis(100));
        let mut check = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ended = self.live.identity.sessions.ended();
        let tag = match &credential {
            Credential::Session(id) => Some(crate::sessions::tag(id)),
            Credential::Token(_) => None,
        };
        let (done, mut finished) = mpsc::unbounded_channel::<(String, u64)>();
        let mut active = Active {
            tasks: HashMap::new(),
            serial: 0,
            done,
        };
        loop {
            let flow = tokio::select! {
                message = stream.next() => self.on_message(incoming(message), &who, &mut active).await,
                Some((id, serial)) = finished.recv() => {
                    active.finished(&id, serial);
                    Flow::Go
                }
                () = self.kick.notified() => {
                    self.close(close::TOO_SLOW, "too slow: the client fell behind its events; reconnect and resume with `after`").await;
                    Flow::Stop
                }
                _ = check.tick() => self.recheck(&credential).await,
                ended = ended.recv() => self.on_ended(ended, tag.as_deref(), &credential).await,
            };
            if let Flow::Stop = flow {
                break;
            }
        }
    }

    /// A client message once the connection is acknowledged.
    async fn on_message(&self, message: Incoming, who: &Who, active: &mut Active) -> Flow {
        match message {
            Incoming::Closed => return Flow::Stop,
            Incoming::Invalid(reason) => {
                self.close(close::BAD_MESSAGE, &reason).await;
                return Flow::Stop;
            }
            Incoming::Init(_) => {
                self.close(close::TOO_MANY_INITS, "Too many initialisation requests")
                    .await;
                return Flow::Stop;
            }
            Incoming::Ping(payload) => {
                if !self.send(protocol::pong_message(payload)).await {
                    return Flow::Stop;
                }
            }
            Incoming::Pong | Incoming::Nothing => {}
            Incoming::Subscribe(id, payload) => {
                return self.subscribe(id, payload, who, active).await;
            }
            Incoming::Complete(id) => {
                if let Some((_, task)) = active.tasks.remove(&id) {
                    task.abort();
                }
            }
        }
        Flow::Go
    }

    /// Starts subscription `id`, unless the id is in use or the connection holds its most.
    async fn subscribe(&self, id: String, payload: Value, who: &Who, active: &mut Active) -> Flow {
        if active.tasks.contains_key(&id) {
            self.close(
                close::DUPLICATE,
                &format!("Subscriber for {id} already exists"),
            )
            .await;
            return Flow::Stop;
        }
        if active.tasks.len() >= MAX_SUBSCRIPTIONS {
            let err = GqlError::new(
                200,
                ErrorCode::BadUserInput,
                format!("a connection holds at most {MAX_SUBSCRIPTIONS} subscriptions"),
            );
            return match self.send(error_message(&id, &[err])).await {
                true => Flow::Go,
                false => Flow::Stop,
            };
        }
        active.serial += 1;
        let subscriber = Subscriber {
            live: self.live.clone(),
            who: who.clone(),
            out: self.out.clone(),
            kick: self.kick.clone(),
            id: id.clone(),
        };
        let task = tokio::spawn(fields::serve_one(
            subscriber,
            payload,
            active.done.clone(),
            active.serial,
        ));
        active.tasks.insert(id, (active.serial, task));
        Flow::Go
    }

    /// The periodic check that the session or token still holds.
    async fn recheck(&self, credential: &Credential) -> Flow {
        if self.still_valid(credential).await {
            return Flow::Go;
        }
        self.close(close::FORBIDDEN, ENDED).await;
        Flow::Stop
    }

    /// A session ended somewhere: this connection closes if it was its own.
    async fn on_ended(
        &self,
        ended: Result<Arc<str>, broadcast::error::RecvError>,
        mine: Option<&str>,
        credential: &Credential,
    ) -> Flow {
        let gone = match (&ended, mine) {
            (Ok(tag), Some(mine)) => **tag == *mine,
            (Err(broadcast::error::RecvError::Lagged(_)), _) => !self.still_valid(credential).await,
            _ => false,
        };
        if !gone {
            return Flow::Go;
        }
        self.close(close::FORBIDDEN, ENDED).await;
        Flow::Stop
    }
}
