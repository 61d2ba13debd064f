//! `Query`: one export job (the requester's, or any for roles that see every ticket) and the
//! caller's own, newest first.

use super::{caller, db, signed_in, types::ExportJob};
use crate::{error::ServiceError, jobs};
use async_graphql::{Context, ID, Object, Result};
use common::export::may_read;

/// The most jobs `exportJobs` lists.
const MAX_FIRST: i32 = 100;

/// The root of export-service's reads.
#[derive(Debug, Default)]
pub struct Query;

/// The job `id` if the caller may read it; anything else (a malformed id, someone else's job)
/// is as absent as a missing one.
async fn readable(ctx: &Context<'_>, id: &ID) -> Result<Option<ExportJob>, ServiceError> {
    signed_in(ctx)?;
    let Ok(id) = id.trim().parse::<i64>() else {
        return Ok(None);
    };
    Ok(jobs::get(db(ctx), id)
        .await?
        .filter(|job| may_read(caller(ctx), job.requested_by))
        .map(ExportJob))
}

#[Object]
impl Query {
    /// One export; null when it does not exist or the caller may not see it.
    async fn export_job(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ExportJob>> {
        Ok(readable(ctx, &id).await?)
    }

    /// The caller's own exports, newest first.
    async fn export_jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
    ) -> Result<Vec<ExportJob>> {
        let me = signed_in(ctx)?;
        let first = first.unwrap_or(20);
        if !(1..=MAX_FIRST).contains(&first) {
            return Err(ServiceError::BadInput {
                field: "first",
                message: format!("first must be between 1 and {MAX_FIRST}"),
            }
            .into());
        }
        let rows = jobs::newest_of(db(ctx), me, u64::try_from(first).unwrap_or(20))
            .await
            .map_err(ServiceError::from)?;
        Ok(rows.into_iter().map(ExportJob).collect())
    }

    /// Resolves an `ExportJob` reference (the gateway's progress subscription), with the same
    /// rule as `exportJob`.
    #[graphql(entity)]
    async fn find_export_job_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ExportJob>> {
        Ok(readable(ctx, &id).await?)
    }
}
