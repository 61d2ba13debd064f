//! The gateway's own small subgraph, `auth` (DESIGN.md "Who owns what"): `ApiToken`,
//! `CreatedApiToken`, `Query.apiTokens`, `Mutation.createApiToken` and `revokeApiToken`. It
//! lives in the gateway because only the gateway holds the private key that mints tokens; it
//! is composed like the other subgraphs and served on a private loopback port, so the engine
//! plans it like any other. Three fields do not need the `schema/` folder of the larger
//! subgraphs: types, resolvers and the HTTP face are all here.
//!
//! The resolvers trust the gateway for who the caller is and for the rule that token
//! management needs a session (an API token's request never reaches them: it requires
//! `SESSION`, which no token has).

use crate::tokens::{ApiTokens, ManageError};
use async_graphql::{
    Context, EmptySubscription, Enum, ErrorExtensions, ID, Object, Result, SDLExportOptions,
    Schema, SimpleObject,
};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Router,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use common::{
    ErrorCode, Principal, TokenVerifier,
    config::Mode,
    server::{self, gateway_caller},
};
use db::entity::api_token;
use std::sync::Arc;

/// The schema type.
pub type AuthSchema = Schema<Query, Mutation, EmptySubscription>;

/// The name the supergraph knows this subgraph by.
pub const SUBGRAPH: &str = "auth";

/// Builds the schema over the gateway's tokens.
pub fn build(tokens: Arc<ApiTokens>, mode: Mode) -> AuthSchema {
    let mut builder = Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .limit_depth(32)
        .data(tokens);
    if mode == Mode::Production {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The subgraph SDL the supergraph is composed from.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation())
}

#[derive(Clone)]
struct AppState {
    schema: AuthSchema,
    verifier: TokenVerifier,
}

/// The subgraph's routes: `POST /graphql` with a gateway-signed token, and `/healthz`.
pub fn router(schema: AuthSchema, verifier: TokenVerifier) -> Router {
    let routes = Router::new()
        .route("/graphql", post(graphql))
        .route("/healthz", get(|| async { "ok" }));
    server::shallow_bodies(routes, server::MAX_BODY).with_state(AppState { schema, verifier })
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
    GraphQLResponse::from(
        state
            .schema
            .execute(request.into_inner().data(caller))
            .await,
    )
    .into_response()
}

/// What an API token may be used for.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::ApiScope")]
pub enum ApiScope {
    /// Every query and subscription.
    TicketsRead,
    /// Adds the ticket and note mutations.
    TicketsWrite,
    /// Adds `exportTickets` and export downloads.
    Exports,
}

/// A token for an integration, as its owner sees it (never the token itself).
#[derive(SimpleObject, Debug)]
pub struct ApiToken {
    id: ID,
    name: String,
    scopes: Vec<ApiScope>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked: bool,
    /// Recorded in batches: it may lag the last request by a few seconds.
    last_used_at: Option<DateTime<Utc>>,
}

impl From<api_token::Model> for ApiToken {
    fn from(row: api_token::Model) -> Self {
        Self {
            id: ID(row.id.to_string()),
            name: row.name,
            scopes: row
                .scopes
                .split(',')
                .filter_map(|s| s.parse::<common::ApiScope>().ok())
                .map(ApiScope::from)
                .collect(),
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked: row.revoked_at.is_some(),
            last_used_at: row.last_used_at,
        }
    }
}

/// A token just created.
#[derive(SimpleObject, Debug)]
pub struct CreatedApiToken {
    api_token: ApiToken,
    /// The bearer token. Shown once, never stored in clear.
    token: String,
}

fn tokens<'a>(ctx: &Context<'a>) -> &'a ApiTokens {
    ctx.data_unchecked::<Arc<ApiTokens>>()
}

/// The signed-in caller's id, or UNAUTHENTICATED.
fn signed_in(ctx: &Context<'_>) -> Result<i64> {
    ctx.data_unchecked::<Principal>()
        .user_id
        .ok_or_else(|| error(ErrorCode::Unauthenticated, "sign in to do this", None))
}

fn error(code: ErrorCode, message: impl Into<String>, field: Option<&str>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", code.as_str());
        if let Some(field) = field {
            ext.set("field", field);
        }
    })
}

impl From<ManageError> for async_graphql::Error {
    fn from(err: ManageError) -> Self {
        match err {
            ManageError::NotFound => error(ErrorCode::NotFound, "API token not found", None),
            ManageError::BadInput { field, message } => {
                error(ErrorCode::BadUserInput, message, Some(field))
            }
            ManageError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                error(
                    ErrorCode::Unavailable,
                    "the database is unavailable; try again",
                    None,
                )
            }
            ManageError::Internal(cause) => {
                tracing::error!(%cause, "minting an API token");
                error(ErrorCode::Internal, "internal error", None)
            }
        }
    }
}

/// The root of the auth subgraph's reads.
#[derive(Debug, Default)]
pub struct Query;

#[Object]
impl Query {
    /// The caller's API tokens, newest first, revoked ones included. Needs a session.
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        let me = signed_in(ctx)?;
        let rows = tokens(ctx).list(me).await.map_err(ManageError::from)?;
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }
}

/// The root of the auth subgraph's changes.
#[derive(Debug, Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates a token acting as the caller, allowed what `scopes` allow, until `expiresAt`
    /// if given. Needs a session.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        scopes: Vec<ApiScope>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<CreatedApiToken> {
        let me = signed_in(ctx)?;
        let scopes: Vec<common::ApiScope> = scopes.into_iter().map(Into::into).collect();
        let (row, token) = tokens(ctx).create(me, &name, &scopes, expires_at).await?;
        Ok(CreatedApiToken {
            api_token: row.into(),
            token,
        })
    }

    /// Revokes one of the caller's tokens: refused from the next request on, at every
    /// gateway replica. Revoking twice is harmless. Needs a session.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> Result<ApiToken> {
        let me = signed_in(ctx)?;
        let Ok(id) = id.trim().parse::<i64>() else {
            return Err(ManageError::NotFound.into());
        };
        Ok(tokens(ctx).revoke(me, id).await?.into())
    }
}
