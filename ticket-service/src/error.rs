//! The service's errors: the subgraph kit's one `ServiceError`, with its one classification of
//! database errors (connection and timeout failures are UNAVAILABLE, anything else, a
//! constraint violation included, is INTERNAL unless a caller names a specific code).

pub use common::subgraph::error::{Result, ServiceError};
