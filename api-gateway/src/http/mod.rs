//! The gateway's routes (HTTP.md), one module per family: sign-in and sign-out (`auth`),
//! GraphQL over HTTP and GraphiQL (`graphql`, which hands websocket upgrades to `live`),
//! export downloads (`downloads`), health and readiness (`health`), metrics (`metrics`), and
//! the web client (`web`) for every other path; every response carries the security headers
//! (`headers`).

/// Sign-in and sign-out.
mod auth;
/// Export downloads.
mod downloads;
/// GraphQL over HTTP, and GraphiQL.
mod graphql;
/// What a request must be to be taken.
mod guard;
/// The security headers.
pub mod headers;
/// Health and readiness.
mod health;
/// `/metrics`.
mod metrics;
/// Sign-in with the identity provider.
pub mod oidc;
/// The error answers the route families share.
mod reply;

pub use auth::PROVIDER_LOGOUT;
pub use headers::{CONTENT_SECURITY_POLICY, with_security_headers};

use crate::limits::MAX_BODY;
use crate::state::Gateway;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use std::sync::Arc;

/// The gateway's routes.
pub fn router(state: Arc<Gateway>) -> Router {
    let routes = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/config", get(oidc::config))
        .route("/auth/oidc/login", get(oidc::login))
        .route("/auth/oidc/callback", get(oidc::callback))
        .route(
            "/graphql",
            post(graphql::graphql_post).get(graphql::graphql_get_or_upgrade),
        )
        .route("/graphiql", get(graphql::graphiql))
        .route("/exports/{file}", get(downloads::download))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .fallback(get(crate::web::serve))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    with_security_headers(routes)
}

/// The routes of the metrics listener (`METRICS_ADDR`): `/metrics` for whoever reaches it.
pub fn metrics_router(state: Arc<Gateway>) -> Router {
    with_security_headers(
        Router::new()
            .route("/metrics", get(metrics::render_metrics))
            .with_state(state),
    )
}
