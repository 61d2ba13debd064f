//! The error answers every route family shares: GraphQL error bodies with their status and
//! `Retry-After`, the auth routes' JSON errors, and the session cookie header.

use crate::gql::{self, GqlError};
use crate::sessions;
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use common::ErrorCode;
use serde_json::json;

/// `Retry-After` of a 503 UNAVAILABLE: outages the platform rides out are seconds long.
pub(super) const RETRY_UNAVAILABLE_SECS: u64 = 1;

/// A GraphQL error body with `status`, and `Retry-After` when given.
pub(super) fn error_response(
    status: u16,
    errors: &[GqlError],
    retry_after: Option<u64>,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        gql::error_body(errors),
    )
        .into_response();
    if let Some(secs) = retry_after
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// One GraphQL error as the answer: its status, and `Retry-After` when it is rate limited or
/// unavailable.
pub(super) fn gql_error(err: GqlError) -> Response {
    let retry = err
        .extra
        .as_ref()
        .filter(|(k, _)| *k == "retryAfter")
        .and_then(|(_, v)| v.as_u64())
        .or((err.status == 503).then_some(RETRY_UNAVAILABLE_SECS));
    error_response(err.status, &[err], retry)
}

/// An error of the auth routes: `{"error": {"code", "message"}}`.
pub(super) fn auth_error(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code.as_str(), "message": message}})),
    )
        .into_response()
}

/// The `Set-Cookie` value of the session cookie (`Max-Age=0` clears it).
pub(super) fn cookie(value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut cookie = format!(
        "{}={value}; HttpOnly; SameSite=Lax; Path=/",
        sessions::COOKIE
    );
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Sets the session cookie on `response` (`Max-Age=0` clears it).
pub(super) fn set_cookie(response: &mut Response, value: &str, max_age: Option<u64>, secure: bool) {
    if let Ok(value) = HeaderValue::from_str(&cookie(value, max_age, secure)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
}

/// Whether cookies get `Secure`: `COOKIE_SECURE`, or the request came over TLS.
pub(super) fn secure(state: &crate::state::Gateway, headers: &axum::http::HeaderMap) -> bool {
    state.policy.cookie_secure
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes() == b"https")
}
