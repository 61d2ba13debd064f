//! The subgraph kit: what ticket-service, export-service, notify-service and the gateway's
//! auth subgraph share, so that they refuse, limit and fail the same way. The routes (token
//! check, body limit, health and readiness), the schema builder and SDL export, and the one
//! service error with the one classification of database errors.

/// The service error and the classification of database errors.
pub mod error;
/// The HTTP routes every subgraph serves.
pub mod routes;
/// The schema builder, SDL export and the request's data in resolvers.
pub mod schema;

pub use error::{Result, ServiceError};
pub use routes::Routes;
pub use schema::{SubgraphSchema, caller, db, signed_in};

#[cfg(test)]
mod tests;
