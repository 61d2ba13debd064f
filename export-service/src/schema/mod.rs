//! export-service's GraphQL schema, a federation subgraph: `ExportJob`, `ExportStatus`,
//! `Query.exportJob`, `Query.exportJobs`, `Mutation.exportTickets`, and `User` as the
//! requester (an unresolvable reference: ticket-service owns its fields).

/// `Mutation`.
pub mod mutation;
/// `Query` and the `ExportJob` entity resolver.
pub mod query;
/// Object and enum types.
pub mod types;

use async_graphql::{Context, EmptySubscription, SDLExportOptions, Schema};
use common::{Principal, config::Mode, stream::EventStream};
use sea_orm::DatabaseConnection;

/// The schema type.
pub type ExportSchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

/// A defence in depth: the gateway enforces the real limits before it calls a subgraph.
const MAX_DEPTH: usize = 32;

/// Builds the schema over `db`, queueing jobs on `stream`.
pub fn build(db: DatabaseConnection, stream: EventStream, mode: Mode) -> ExportSchema {
    let mut builder = Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .enable_federation()
        .limit_depth(MAX_DEPTH)
        .data(db)
        .data(stream);
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

/// Attaches the caller to a request.
pub fn prepare(request: async_graphql::Request, caller: Principal) -> async_graphql::Request {
    request.data(caller)
}

fn db<'a>(ctx: &Context<'a>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

fn stream<'a>(ctx: &Context<'a>) -> &'a EventStream {
    ctx.data_unchecked::<EventStream>()
}

fn caller<'a>(ctx: &Context<'a>) -> &'a Principal {
    ctx.data_unchecked::<Principal>()
}

/// The signed-in caller's id, or UNAUTHENTICATED.
fn signed_in(ctx: &Context<'_>) -> Result<i64, crate::error::ServiceError> {
    caller(ctx)
        .user_id
        .ok_or(crate::error::ServiceError::Unauthenticated)
}
