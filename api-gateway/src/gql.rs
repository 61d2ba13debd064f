//! GraphQL error bodies in the contract's shape, and the mapping of the engine's own error
//! codes to the contract's (`MAX_DEPTH_EXCEEDED` is QUERY_TOO_COMPLEX to our clients, a
//! subgraph that cannot be reached is UNAVAILABLE).

use common::ErrorCode;
use serde_json::{Value, json};

/// One error the gateway answers by itself, with the HTTP status to send it with.
#[derive(Debug, Clone)]
pub struct GqlError {
    /// HTTP status: 400 for requests that never ran, 503 for UNAVAILABLE, 200 otherwise.
    pub status: u16,
    /// `extensions.code`.
    pub code: String,
    /// The message shown to the client.
    pub message: String,
    /// Extra `extensions` members (`retryAfter`).
    pub extra: Option<(&'static str, Value)>,
}

impl GqlError {
    /// An error with one of the contract's codes.
    pub fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.as_str().to_string(),
            message: message.into(),
            extra: None,
        }
    }

    /// A request that cannot be run as sent (400, BAD_USER_INPUT).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, ErrorCode::BadUserInput, message)
    }

    /// A limit was exceeded (QUERY_TOO_COMPLEX).
    pub fn too_complex(message: impl Into<String>) -> Self {
        Self::new(400, ErrorCode::QueryTooComplex, message)
    }

    /// Anything else; the message never carries internals.
    pub fn internal() -> Self {
        Self::new(500, ErrorCode::Internal, "internal error")
    }

    /// RATE_LIMITED with `extensions.retryAfter`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(429, ErrorCode::RateLimited, "too many requests; slow down");
        err.extra = Some(("retryAfter", json!(retry_after_secs)));
        err
    }

    /// An error the engine raised, its code mapped to the contract's.
    pub fn from_engine(err: &hive_router::GraphQLError) -> Self {
        let value = hive_router::sonic_rs::to_string(err)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok());
        let code = value
            .as_ref()
            .and_then(|v| v.pointer("/extensions/code"))
            .and_then(Value::as_str)
            .unwrap_or("GRAPHQL_VALIDATION_FAILED")
            .to_string();
        Self::from_engine_code(&code, err.message.clone())
    }

    /// An engine error code and message, mapped to the contract's.
    pub fn from_engine_code(code: &str, message: String) -> Self {
        let (status, code) = map_code(code);
        let message = if code == ErrorCode::Unavailable.as_str() {
            UNAVAILABLE_MESSAGE.to_string()
        } else {
            message
        };
        Self {
            status,
            code: code.to_string(),
            message,
            extra: None,
        }
    }

    fn to_json(&self) -> Value {
        let mut extensions = json!({ "code": self.code });
        if let (Some((key, value)), Some(map)) = (&self.extra, extensions.as_object_mut()) {
            map.insert((*key).to_string(), value.clone());
        }
        json!({ "message": self.message, "extensions": extensions })
    }
}

const UNAVAILABLE_MESSAGE: &str = "a service this request needs is unavailable; try again";

/// The contract's code (and HTTP status, for requests that never ran) for an engine code.
fn map_code(code: &str) -> (u16, &str) {
    match code {
        "MAX_DEPTH_EXCEEDED"
        | "MAX_ALIASES_EXCEEDED"
        | "TOKEN_LIMIT_EXCEEDED"
        | "MAX_DIRECTIVES_EXCEEDED" => (400, ErrorCode::QueryTooComplex.as_str()),
        c if c.starts_with("SUBGRAPH_") || c.starts_with("SUBREQUEST_") => {
            (200, ErrorCode::Unavailable.as_str())
        }
        c if ErrorCode::ALL.iter().any(|known| known.as_str() == c) => (200, code),
        // Parse and validation failures (the engine names the rule that failed, such as
        // `FieldsOnCorrectType`), an unknown operation name, bad variables: the request as
        // sent is wrong, which the contract calls BAD_USER_INPUT.
        _ => (400, ErrorCode::BadUserInput.as_str()),
    }
}

/// `{"errors": [...]}` for errors the gateway answers by itself.
pub fn error_body(errors: &[GqlError]) -> Vec<u8> {
    let list: Vec<Value> = errors.iter().map(GqlError::to_json).collect();
    serde_json::to_vec(&json!({ "errors": list })).unwrap_or_default()
}

/// The `extensions` members in which the engine names the subgraph an error came from.
const SERVICE_EXTENSIONS: [&str; 2] = ["service", "serviceName"];

/// Rewrites the engine's own error codes in an executed response to the contract's, and
/// unless `services` (ADMIN callers and development mode) drops the name of the internal
/// subgraph an error came from. Bodies without errors (the common case) are returned
/// untouched, without parsing.
pub fn rewrite_engine_codes(body: Vec<u8>, services: bool) -> Vec<u8> {
    if memchr::memmem::find(&body, b"\"errors\"").is_none() {
        return body;
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let mut changed = false;
    if let Some(errors) = value.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors {
            if !services
                && let Some(extensions) = error.get_mut("extensions").and_then(Value::as_object_mut)
            {
                for key in SERVICE_EXTENSIONS {
                    changed |= extensions.remove(key).is_some();
                }
            }
            let Some(code) = error
                .pointer("/extensions/code")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                continue;
            };
            let (_, mapped) = map_code(&code);
            if mapped != code {
                changed = true;
                if mapped == ErrorCode::Unavailable.as_str() {
                    tracing::warn!(engine_code = %code, message = ?error.get("message"), "subgraph unavailable");
                    error["message"] = json!(UNAVAILABLE_MESSAGE);
                }
                error["extensions"]["code"] = json!(mapped);
            }
        }
    }
    if changed {
        serde_json::to_vec(&value).unwrap_or(body)
    } else {
        body
    }
}

/// Whether a response body carries an UNAVAILABLE error (after `rewrite_engine_codes`):
/// such a response is answered 503, whichever dependency was down (README, API).
pub fn is_unavailable(body: &[u8]) -> bool {
    if memchr::memmem::find(body, b"UNAVAILABLE").is_none() {
        return false;
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("errors").and_then(Value::as_array).cloned())
        .is_some_and(|errors| {
            errors.iter().any(|e| {
                e.pointer("/extensions/code").and_then(Value::as_str)
                    == Some(ErrorCode::Unavailable.as_str())
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unavailable_error_makes_a_body_unavailable() {
        let down = br#"{"data":{"a":null,"b":1},"errors":[{"message":"x","extensions":{"code":"UNAVAILABLE"}}]}"#;
        assert!(is_unavailable(down));
        let other = br#"{"data":{"a":"UNAVAILABLE"},"errors":[{"message":"UNAVAILABLE","extensions":{"code":"NOT_FOUND"}}]}"#;
        assert!(!is_unavailable(other));
        assert!(!is_unavailable(br#"{"data":{"a":1}}"#));
    }

    #[test]
    fn engine_codes_become_contract_codes() {
        let body = br#"{"data":{"a":null},"errors":[{"message":"connect refused to http://x","extensions":{"code":"SUBREQUEST_HTTP_ERROR"}},{"message":"nope","extensions":{"code":"NOT_FOUND"}}]}"#;
        let out: Value =
            serde_json::from_slice(&rewrite_engine_codes(body.to_vec(), true)).unwrap();
        assert_eq!(out["errors"][0]["extensions"]["code"], "UNAVAILABLE");
        assert_eq!(out["errors"][0]["message"], UNAVAILABLE_MESSAGE);
        assert_eq!(out["errors"][1]["extensions"]["code"], "NOT_FOUND");
        assert_eq!(out["errors"][1]["message"], "nope");
        for refused in [
            "GRAPHQL_PARSE_FAILED",
            "GRAPHQL_VALIDATION_FAILED",
            "FieldsOnCorrectType",
            "BAD_REQUEST",
        ] {
            assert_eq!(map_code(refused), (400, "BAD_USER_INPUT"));
        }
        for limit in [
            "MAX_DEPTH_EXCEEDED",
            "MAX_ALIASES_EXCEEDED",
            "TOKEN_LIMIT_EXCEEDED",
            "MAX_DIRECTIVES_EXCEEDED",
        ] {
            assert_eq!(map_code(limit), (400, "QUERY_TOO_COMPLEX"));
        }
    }

    #[test]
    fn bodies_without_errors_are_untouched() {
        let body = br#"{"data":{"errors":1}}"#.to_vec();
        assert_eq!(rewrite_engine_codes(body.clone(), false), body);
    }

    #[test]
    fn subgraph_names_are_kept_only_when_asked() {
        let body = br#"{"data":null,"errors":[{"message":"no","extensions":{"code":"NOT_FOUND","service":"ticket_service"}}]}"#;
        let hidden: Value =
            serde_json::from_slice(&rewrite_engine_codes(body.to_vec(), false)).unwrap();
        assert_eq!(
            hidden["errors"][0]["extensions"],
            json!({"code": "NOT_FOUND"})
        );
        let shown: Value =
            serde_json::from_slice(&rewrite_engine_codes(body.to_vec(), true)).unwrap();
        assert_eq!(
            shown["errors"][0]["extensions"]["service"],
            "ticket_service"
        );
    }
}
