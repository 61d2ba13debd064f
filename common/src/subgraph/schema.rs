//! The schema side every subgraph shares: the builder with the federation options and the
//! limits, the SDL the supergraph is composed from, and reading what a request carries (the
//! caller, the pool) from a resolver's context.

use super::error::ServiceError;
use crate::{Principal, config::Mode};
use async_graphql::{
    Context, EmptySubscription, ObjectType, SDLExportOptions, Schema, SchemaBuilder,
};
use sea_orm::DatabaseConnection;

/// A subgraph's schema: queries and mutations, never subscriptions (the gateway serves those).
pub type SubgraphSchema<Q, M> = Schema<Q, M, EmptySubscription>;

/// A defence in depth: the gateway enforces the real limits before it calls a subgraph.
pub const MAX_DEPTH: usize = 32;

/// A federation schema over `query` and `mutation` with the subgraphs' limits; in production
/// without "did you mean" suggestions. The caller adds its data and finishes it.
pub fn builder<Q, M>(query: Q, mutation: M, mode: Mode) -> SchemaBuilder<Q, M, EmptySubscription>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    let builder = Schema::build(query, mutation, EmptySubscription)
        .enable_federation()
        .limit_depth(MAX_DEPTH);
    if mode == Mode::Production {
        builder.disable_suggestions()
    } else {
        builder
    }
}

/// The subgraph SDL of `query` and `mutation`, as the supergraph is composed from it.
pub fn sdl<Q, M>(query: Q, mutation: M) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    Schema::build(query, mutation, EmptySubscription)
        .enable_federation()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation())
}

static ANONYMOUS: std::sync::LazyLock<Principal> = std::sync::LazyLock::new(Principal::anonymous);

/// The caller the gateway vouched for, attached by the kit's router (anonymous when a test
/// runs the schema without one).
pub fn caller<'a>(ctx: &Context<'a>) -> &'a Principal {
    ctx.data_opt::<Principal>().unwrap_or(&ANONYMOUS)
}

/// The signed-in caller's id, or UNAUTHENTICATED.
pub fn signed_in(ctx: &Context<'_>) -> Result<i64, ServiceError> {
    caller(ctx).user_id.ok_or(ServiceError::Unauthenticated)
}

/// The database pool, attached when the schema was built.
pub fn db<'a>(ctx: &Context<'a>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}
