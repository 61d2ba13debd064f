//! ticket-service's GraphQL schema, a federation subgraph. It lives in the library so tests
//! can run it without a socket; the HTTP layer is the subgraph kit's (`common::subgraph::Routes`).

/// Per-request batch loaders.
pub mod loaders;
/// Changes.
pub mod mutation;
/// Bulk reads for the fields under a list of tickets.
pub mod prefetch;
/// Reads and federation entities.
pub mod query;
/// Object, enum and input types.
pub mod types;

use async_graphql::Context;
use common::{config::Mode, subgraph};
use loaders::Loaders;
use sea_orm::DatabaseConnection;

pub(crate) use common::subgraph::{caller, db};

/// The schema type.
pub type TicketSchema = subgraph::SubgraphSchema<query::Query, mutation::Mutation>;

/// Builds the schema over `db`.
pub fn build(db: DatabaseConnection, mode: Mode) -> TicketSchema {
    subgraph::schema::builder(query::Query, mutation::Mutation, mode)
        .data(db)
        .finish()
}

/// The subgraph SDL the supergraph is composed from.
pub fn sdl() -> String {
    subgraph::schema::sdl(query::Query, mutation::Mutation)
}

/// Attaches fresh loaders and an empty read-ahead store to a request (the kit's router
/// attaches the caller).
pub fn prepare(request: async_graphql::Request, db: &DatabaseConnection) -> async_graphql::Request {
    request
        .data(Loaders::new(db))
        .data(prefetch::Store::default())
}

/// The request's loaders, attached by `prepare`.
pub(crate) fn loaders<'a>(ctx: &'a Context<'_>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}
