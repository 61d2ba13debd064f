//! The types export-service owns (`ExportJob`, `ExportStatus`) and its reference to `User`.

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use db::entity::export_job;

/// Where an export stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::ExportStatus")]
pub enum ExportStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is writing the file; `rowsWritten` grows.
    Running,
    /// The file is ready at `downloadUrl` (until it expires).
    Done,
    /// Given up on; `error` says why.
    Failed,
}

/// The requester: ticket-service owns the user's fields, this subgraph only names them.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(unresolvable)]
pub struct User {
    /// The user's id.
    pub id: ID,
}

/// One export of a ticket list to an Excel-compatible CSV file.
#[derive(Debug, Clone)]
pub struct ExportJob(pub export_job::Model);

fn int(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[Object]
impl ExportJob {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn status(&self) -> ExportStatus {
        self.0.status().into()
    }

    /// The filter as JSON, for display.
    async fn filter(&self) -> &str {
        &self.0.filter
    }

    async fn rows_written(&self) -> i32 {
        int(self.0.rows_written)
    }

    async fn total_rows(&self) -> Option<i32> {
        self.0.total_rows.map(int)
    }

    /// Absolute path on the gateway, e.g. /exports/<id>.csv; null until DONE. Only the
    /// requester (and roles that see every ticket) may download.
    async fn download_url(&self) -> Option<String> {
        self.0
            .downloadable()
            .then(|| common::export::download_path(self.0.id))
    }

    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    async fn requested_by(&self) -> User {
        User {
            id: ID(self.0.requested_by.to_string()),
        }
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }

    /// When the file was removed for age (`downloadUrl` is null from then on).
    async fn expired_at(&self) -> Option<DateTime<Utc>> {
        self.0.expired_at
    }
}
