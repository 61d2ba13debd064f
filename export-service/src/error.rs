//! The service's errors: the subgraph kit's one `ServiceError`, with its one classification of
//! database errors (a constraint violation is INTERNAL, not UNAVAILABLE "safe to retry").

pub use common::subgraph::error::{Result, ServiceError};

/// What the job queue's failures name when they are UNAVAILABLE.
pub const JOB_QUEUE: &str = "the job queue";
