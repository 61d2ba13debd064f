//! `Mutation.exportTickets`: validates the filter with the ticket list's own checks, records a
//! QUEUED job and queues it; the worker does the rest.

use super::{caller, db, signed_in, stream, types::ExportJob};
use crate::{
    error::ServiceError,
    jobs::{self, FilterSpec, OrderSpec},
};
use async_graphql::{Context, Object, Result};
use common::export::JOBS_TOPIC;
use ticket_domain::{
    inputs::{TicketFilter, TicketOrder},
    listing,
};

/// The root of export-service's changes.
#[derive(Debug, Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Queues an export of the tickets the caller may see that match `filter`, in `orderBy`
    /// order (ticket number by default), and returns the job at once.
    async fn export_tickets(
        &self,
        ctx: &Context<'_>,
        filter: Option<TicketFilter>,
        order_by: Option<TicketOrder>,
    ) -> Result<ExportJob> {
        let me = signed_in(ctx)?;
        let filter: listing::Filter = filter.unwrap_or_default().into();
        // The same checks, and the same codes, as `tickets(filter:)`.
        listing::condition(caller(ctx), &filter)?;
        let ordering: listing::Ordering = order_by.map(Into::into).unwrap_or_default();
        let job = jobs::create(
            db(ctx),
            caller(ctx),
            me,
            &FilterSpec::from(filter),
            OrderSpec::from(ordering),
        )
        .await
        .map_err(ServiceError::from)?;
        if let Err(err) = stream(ctx).publish(JOBS_TOPIC, &job.id.to_string()).await {
            // Nobody will take it: say so on the job, and tell the caller to retry.
            let _ = jobs::fail(db(ctx), job.id, None, "the job queue was unavailable").await;
            return Err(ServiceError::Unavailable {
                dependency: crate::error::JOB_QUEUE,
                cause: err.to_string(),
            }
            .into());
        }
        Ok(ExportJob(job))
    }
}
