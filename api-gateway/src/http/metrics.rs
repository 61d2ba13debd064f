//! `/metrics`: on the public port to whoever `METRICS_TOKEN`/development mode lets in, and on
//! the metrics listener (`METRICS_ADDR`) to whoever reaches it.

use super::reply::gql_error;
use crate::gql::GqlError;
use crate::state::Gateway;
use axum::{
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use std::{net::SocketAddr, sync::Arc};

/// `/metrics` on the public port: to anyone only when open (development without
/// `METRICS_TOKEN` or `METRICS_ADDR`), to `Authorization: Bearer <METRICS_TOKEN>` when a
/// token is set, and 404 otherwise (production without a token: scrape `METRICS_ADDR`).
pub(super) async fn metrics(
    State(state): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(wait) = state.rate.check_address(peer.ip()) {
        return gql_error(GqlError::rate_limited(wait));
    }
    let access = &state.policy.metrics_access;
    match &access.token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if !same_secret(given, token) {
                let mut response =
                    (StatusCode::UNAUTHORIZED, "metrics need the bearer token\n").into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
        }
        None if !access.open => return (StatusCode::NOT_FOUND, "not found\n").into_response(),
        None => {}
    }
    render_metrics(State(state)).await
}

/// Compares two secrets in time that depends only on their lengths.
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::Digest;
    // Hashing first makes the comparison's length fixed.
    let (a, b) = (sha2::Sha256::digest(given), sha2::Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The metrics, the database's read afresh.
pub(super) async fn render_metrics(State(state): State<Arc<Gateway>>) -> Response {
    if let Err(err) = state.metrics.refresh(&state.backends.db).await {
        // The request metrics still answer; the database ones keep their last value.
        tracing::warn!(%err, "metrics: the database did not answer");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
