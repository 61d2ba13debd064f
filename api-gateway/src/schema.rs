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
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use axum::Router;
use chrono::{DateTime, Utc};
use common::{
    TokenVerifier,
    config::Mode,
    subgraph::{self, Routes, ServiceError, SubgraphSchema, signed_in},
};
use db::entity::api_token;
use std::sync::Arc;

/// The schema type.
pub type AuthSchema = SubgraphSchema<Query, Mutation>;

/// The name the supergraph knows this subgraph by.
pub const SUBGRAPH: &str = "auth";

/// Builds the schema over the gateway's tokens.
pub fn build(tokens: Arc<ApiTokens>, mode: Mode) -> AuthSchema {
    subgraph::schema::builder(Query, Mutation, mode)
        .data(tokens)
        .finish()
}

/// The subgraph SDL the supergraph is composed from.
pub fn sdl() -> String {
    subgraph::schema::sdl(Query, Mutation)
}

/// The subgraph's routes, the kit's: `POST /graphql` with a gateway-signed token, and
/// `/healthz` (no `/readyz`: the gateway's own answers for it).
pub fn router(schema: AuthSchema, verifier: TokenVerifier) -> Router {
    Routes::new(schema, verifier).into_router()
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

impl From<ManageError> for ServiceError {
    fn from(err: ManageError) -> Self {
        match err {
            ManageError::NotFound => ServiceError::NotFound("API token"),
            ManageError::BadInput { field, message } => ServiceError::BadInput { field, message },
            ManageError::Unavailable(db) => ServiceError::from(db),
            ManageError::Internal(cause) => ServiceError::Internal(cause),
        }
    }
}

/// A token-management failure as the kit's error, and so as the contract's code.
fn failed(err: ManageError) -> async_graphql::Error {
    ServiceError::from(err).into()
}

/// The root of the auth subgraph's reads.
#[derive(Debug, Default)]
pub struct Query;

#[Object]
impl Query {
    /// The caller's API tokens, newest first, revoked ones included. Needs a session.
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        let me = signed_in(ctx)?;
        let rows = tokens(ctx)
            .list(me)
            .await
            .map_err(|err| failed(ManageError::from(err)))?;
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
        let (row, token) = tokens(ctx)
            .create(me, &name, &scopes, expires_at)
            .await
            .map_err(failed)?;
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
            return Err(failed(ManageError::NotFound));
        };
        Ok(tokens(ctx).revoke(me, id).await.map_err(failed)?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::{TokenMinter, server::Server};

    #[tokio::test]
    async fn unsigned_and_oversized_requests_are_refused() {
        let minter = TokenMinter::new(biscuit_auth::KeyPair::new());
        // Refused before any resolver runs: the schema needs no tokens for this.
        let schema = subgraph::schema::builder(Query, Mutation, Mode::Development).finish();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let server = Server::bind(addr, router(schema, minter.verifier()))
            .await
            .unwrap();
        let url = format!("http://127.0.0.1:{}/graphql", server.port());
        tokio::spawn(server.run_until_stopped());
        testkit::subgraph::assert_refuses_unsigned(&url).await;
        testkit::subgraph::assert_refuses_oversized(&url, common::server::MAX_BODY).await;
    }
}
