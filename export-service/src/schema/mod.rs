//! export-service's GraphQL schema, a federation subgraph: `ExportJob`, `ExportStatus`,
//! `Query.exportJob`, `Query.exportJobs`, `Mutation.exportTickets`, and `User` as the
//! requester (an unresolvable reference: ticket-service owns its fields).

/// `Mutation`.
pub mod mutation;
/// `Query` and the `ExportJob` entity resolver.
pub mod query;
/// Object and enum types.
pub mod types;

use async_graphql::Context;
use common::{config::Mode, stream::EventStream, subgraph};
use sea_orm::DatabaseConnection;

use common::subgraph::{caller, db, signed_in};

/// The schema type.
pub type ExportSchema = subgraph::SubgraphSchema<query::Query, mutation::Mutation>;

/// Builds the schema over `db`, queueing jobs on `stream`.
pub fn build(db: DatabaseConnection, stream: EventStream, mode: Mode) -> ExportSchema {
    subgraph::schema::builder(query::Query, mutation::Mutation, mode)
        .data(db)
        .data(stream)
        .finish()
}

/// The subgraph SDL the supergraph is composed from.
pub fn sdl() -> String {
    subgraph::schema::sdl(query::Query, mutation::Mutation)
}

fn stream<'a>(ctx: &Context<'a>) -> &'a EventStream {
    ctx.data_unchecked::<EventStream>()
}
