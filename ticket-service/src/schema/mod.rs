//! ticket-service's GraphQL schema, a federation subgraph. It lives in the library so tests
//! can run it without a socket; the HTTP layer is `crate::http`.

/// Per-request batch loaders.
pub mod loaders;
/// Changes.
pub mod mutation;
/// Reads and federation entities.
pub mod query;
/// Object, enum and input types.
pub mod types;

use async_graphql::{Context, EmptySubscription, SDLExportOptions, Schema};
use common::{Principal, config::Mode};
use loaders::Loaders;
use sea_orm::DatabaseConnection;

/// The schema type.
pub type TicketSchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

/// A defence in depth: the gateway enforces the real limits before it calls a subgraph.
const MAX_DEPTH: usize = 32;

/// Builds the schema over `db`.
pub fn build(db: DatabaseConnection, mode: Mode) -> TicketSchema {
    let mut builder = Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .enable_federation()
        .limit_depth(MAX_DEPTH)
        .data(db);
    if mode == Mode::Production {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The subgraph SDL the supergraph is composed from.
pub fn sdl() -> String {
    Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .enable_federation()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation())
}

/// Attaches the caller and fresh loaders to a request.
pub fn prepare(
    request: async_graphql::Request,
    caller: Principal,
    db: &DatabaseConnection,
) -> async_graphql::Request {
    request.data(caller).data(Loaders::new(db))
}

static ANONYMOUS: std::sync::LazyLock<Principal> = std::sync::LazyLock::new(Principal::anonymous);

/// The caller the gateway vouched for (anonymous when a test forgot to attach one).
pub(crate) fn caller<'a>(ctx: &'a Context<'_>) -> &'a Principal {
    ctx.data_opt::<Principal>().unwrap_or(&ANONYMOUS)
}

/// The database pool, attached by `build`.
pub(crate) fn db<'a>(ctx: &'a Context<'_>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

/// The request's loaders, attached by `prepare`.
pub(crate) fn loaders<'a>(ctx: &'a Context<'_>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}
