//! The subgraph's HTTP face: `POST /graphql` for requests carrying a gateway-signed token
//! (anything else is 401), `/healthz` and `/readyz`.

use crate::schema::{self, NotifySchema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use common::{
    TokenVerifier,
    server::{self, answers, gateway_caller, readiness},
};
use sea_orm::DatabaseConnection;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The GraphQL schema.
    pub schema: NotifySchema,
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
        .route("/readyz", get(readyz));
    server::shallow_bodies(routes, server::MAX_BODY).with_state(state)
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
    let request = schema::prepare(request.into_inner(), caller, &state.db);
    GraphQLResponse::from(state.schema.execute(request).await).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    let mut down = Vec::new();
    if !answers("database", state.db.ping()).await {
        down.push("database".to_string());
    }
    readiness(down)
}
