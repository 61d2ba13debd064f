//! What a request must be to be taken: JSON bodies only where a browser could forge a form
//! post, from this site, and not nested too deep to parse.

use super::reply::auth_error;
use crate::gql::GqlError;
use crate::identity::same_origin;
use axum::{
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use common::{
    ErrorCode,
    nesting::{self, MAX_NESTING},
};

/// Refuses what a page on another site could make a browser send: a body that is not JSON
/// (HTML forms and `fetch` without a CORS preflight can only send form encodings and
/// `text/plain`) with 415, and an `Origin` other than this host with 403. Sign-in and
/// sign-out go through here, so no other site can sign a visitor in or out.
#[allow(clippy::result_large_err)]
pub(super) fn same_site_json(headers: &HeaderMap, route: &str) -> Result<(), Response> {
    if !is_json(headers) {
        return Err(auth_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            &format!("{route} takes Content-Type: application/json"),
        ));
    }
    if !same_origin(headers) {
        return Err(cross_origin());
    }
    Ok(())
}

/// 403 for a request another site's page sent.
pub(super) fn cross_origin() -> Response {
    auth_error(
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
        "requests from another site are refused",
    )
}

/// 400 BAD_USER_INPUT for JSON nested deeper than `MAX_NESTING`, checked before it is parsed.
pub(super) fn shallow(json: &[u8], what: &str) -> Result<(), GqlError> {
    nesting::check_json(json, MAX_NESTING)
        .map_err(|err| GqlError::bad_request(format!("{what}: {err}")))
}

/// Whether the body is `application/json`.
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}
