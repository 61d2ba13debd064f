//! The subgraph's HTTP face: `POST /graphql` for requests that carry a gateway-signed token
//! (anything else is 401), `/healthz` and `/readyz`.

use crate::schema::{self, TicketSchema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use common::{
    TokenVerifier,
    server::{answers, gateway_caller, readiness, shallow_bodies},
};
use sea_orm::DatabaseConnection;

/// The largest request body accepted (the gateway's own limit).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The GraphQL schema.
    pub schema: TicketSchema,
    /// Verifies the gateway's tokens.
    pub verifier: TokenVerifier,
    /// The pool, for loaders and readiness.
    pub db: DatabaseConnection,
}

/// The routes of the subgraph.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/graphql", post(graphql))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(MAX_BODY));
    shallow_bodies(routes, MAX_BODY).with_state(state)
}

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let caller = match gateway_caller(&headers, &state.verifier) {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let request = request.into_inner();
    // The gateway's subgraph requests name their kind first (`mutation(...){...}`).
    let mutation = request.query.trim_start().starts_with("mutation");
    let request = schema::prepare(request, caller, &state.db);
    let response = state.schema.execute(request).await;
    if mutation {
        crate::relay::nudge();
    }
    GraphQLResponse::from(response).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    let mut down = Vec::new();
    if !answers("database", state.db.ping()).await {
        down.push("database".to_string());
    }
    readiness(down)
}
