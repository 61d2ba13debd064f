//! The `graphql-transport-ws` protocol (that of the `graphql-ws` library), framing only: the
//! subprotocol name, close codes, reading a client message, and the server messages. What a
//! subscription means is in `fields`; the connection's life in `connection`.
//!
//! Close codes: the protocol's own (4400 bad message, 4401 subscribe before
//! `connection_ack`, 4403 not signed in or the session/token ended, 4408 no `connection_init`
//! in time, 4409 a subscription id in use, 4429 a second `connection_init`), 4008 when the
//! client does not read fast enough, 1013 when sessions cannot be checked (try again).

use crate::gql::GqlError;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use serde_json::{Value, json};

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

/// A protocol message from the client.
pub(super) enum Incoming {
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

/// Reads one websocket frame as a protocol message.
pub(super) fn incoming(message: Option<Result<Message, axum::Error>>) -> Incoming {
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

/// A JSON value as a text message.
pub(super) fn text(value: &Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

/// A close frame, its reason cut to fit.
pub(super) fn close_frame(code: u16, reason: &str) -> Message {
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
pub(super) fn errors_of(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|mut v| v.get_mut("errors").map(Value::take))
        .filter(Value::is_array)
        .unwrap_or_else(
            || json!([{ "message": "internal error", "extensions": { "code": "INTERNAL" } }]),
        )
}

/// An `error` message carrying `errors`.
pub(super) fn error_message(id: &str, errors: &[GqlError]) -> Message {
    errors_payload(id, errors_of(&crate::gql::error_body(errors)))
}

/// An `error` message with this payload (a list of GraphQL errors).
pub(super) fn errors_payload(id: &str, errors: Value) -> Message {
    text(&json!({ "id": id, "type": "error", "payload": errors }))
}

/// The text of a `next` message: `payload` is a response body, already JSON.
pub(super) fn next_text(id: &str, payload: &str) -> Utf8Bytes {
    let id = Value::String(id.to_string());
    Utf8Bytes::from(format!(
        r#"{{"id":{id},"type":"next","payload":{payload}}}"#
    ))
}

/// A `next` message.
pub(super) fn next_message(id: &str, payload: &str) -> Message {
    Message::Text(next_text(id, payload))
}

/// A `complete` message.
pub(super) fn complete_message(id: &str) -> Message {
    text(&json!({ "id": id, "type": "complete" }))
}

/// A `pong` message, echoing the ping's payload.
pub(super) fn pong_message(payload: Option<Value>) -> Message {
    let mut pong = json!({ "type": "pong" });
    if let Some(payload) = payload {
        pong["payload"] = payload;
    }
    text(&pong)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
