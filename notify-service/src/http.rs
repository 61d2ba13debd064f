//! The subgraph's HTTP face: `POST /graphql` for requests carrying a gateway-signed token
//! (anything else is 401), `/healthz` and `/readyz`.

use crate::schema::{self, NotifySchema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use common::{ErrorCode, TokenVerifier};
use sea_orm::DatabaseConnection;
use serde_json::json;

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
    Router::new()
        .route("/graphql", post(graphql))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let caller = match token.map(|t| state.verifier.verify(t)) {
        Some(Ok(caller)) => caller,
        refused => {
            if let Some(Err(err)) = refused {
                tracing::warn!(%err, "refused a token");
            }
            let body = json!({"errors": [{
                "message": "this service only answers requests signed by the gateway",
                "extensions": {"code": ErrorCode::Unauthenticated.as_str()},
            }]});
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
    };
    let request = schema::prepare(request.into_inner(), caller, &state.db);
    GraphQLResponse::from(state.schema.execute(request).await).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(err) => {
            tracing::warn!(%err, "database not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "down": ["database"]})),
            )
                .into_response()
        }
    }
}
