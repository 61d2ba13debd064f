//! Export jobs: one row per `exportTickets` call, with its progress and the worker's lease.

use sea_orm::entity::prelude::*;

/// An export job row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "export_jobs")]
pub struct Model {
    /// Primary key; also the file name (`DATA_DIR/exports/<id>.csv`).
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The user who asked for it; only they (and roles that see every ticket) may read it.
    pub requested_by: i64,
    /// The requester's roles and supported faculty when they asked, as JSON: the worker
    /// exports what they could see then.
    #[sea_orm(column_type = "Text")]
    pub requester: String,
    /// QUEUED, RUNNING, DONE or FAILED (`common::ExportStatus`).
    pub status: String,
    /// The `TicketFilter` as JSON, as the client gave it.
    #[sea_orm(column_type = "Text")]
    pub filter: String,
    /// The `TicketOrder` as JSON.
    #[sea_orm(column_type = "Text")]
    pub order_by: String,
    /// Data rows written so far (the header not counted).
    pub rows_written: i64,
    /// Rows the filter matched when the worker started; null before.
    pub total_rows: Option<i64>,
    /// Why a FAILED job failed, in words a user understands.
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// How many times a worker has started it (a job that kills its worker stops somewhere).
    pub attempts: i32,
    /// The worker writing it holds it until then, renewing as it goes; after that another
    /// worker may take it over.
    pub lease_until: Option<DateTimeUtc>,
    /// Asked for at.
    pub created_at: DateTimeUtc,
    /// The last start of a worker on it.
    pub started_at: Option<DateTimeUtc>,
    /// DONE or FAILED at.
    pub finished_at: Option<DateTimeUtc>,
    /// When its file was removed for age; it cannot be downloaded from then on.
    pub expired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The status as an enum value (an unknown name reads as FAILED: nothing more happens to
    /// such a job).
    pub fn status(&self) -> common::ExportStatus {
        self.status.parse().unwrap_or(common::ExportStatus::Failed)
    }

    /// Whether its file can be downloaded: DONE and not expired.
    pub fn downloadable(&self) -> bool {
        self.status() == common::ExportStatus::Done && self.expired_at.is_none()
    }
}
