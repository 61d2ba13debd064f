//! The documented read model of export jobs for the gateway: what the gateway may read of an
//! export job (its requester, whether it is finished or downloadable, where its file is) and
//! how many jobs wait, without knowing export-service's table. export-service owns the
//! `export_jobs` table and its files; the gateway reads them only through here.

use common::ExportStatus;
use db::entity::export_job;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use std::path::{Path, PathBuf};

/// What the gateway may know of one export job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportJobView {
    /// The job's id.
    pub id: i64,
    /// The user who asked for it (`common::export::may_read` decides who else may read it).
    pub requested_by: i64,
    /// DONE or FAILED: no more progress will be reported.
    pub finished: bool,
    /// Its file may be downloaded: DONE and not expired.
    pub downloadable: bool,
}

/// Export job `id`, if there is one.
pub async fn job(db: &DatabaseConnection, id: i64) -> Result<Option<ExportJobView>, DbErr> {
    let row = export_job::Entity::find_by_id(id).one(db).await?;
    Ok(row.map(|row| ExportJobView {
        id: row.id,
        requested_by: row.requested_by,
        finished: matches!(
            row.status.parse::<ExportStatus>(),
            Ok(ExportStatus::Done | ExportStatus::Failed)
        ),
        downloadable: row.downloadable(),
    }))
}

/// Where the finished file of job `id` is, under `data_dir` (shared with export-service when
/// they run on different hosts).
pub fn file(data_dir: &Path, id: i64) -> PathBuf {
    common::export::file(data_dir, id)
}

/// How many jobs are queued or running (the `exports` queue depth).
pub async fn waiting(db: &DatabaseConnection) -> Result<u64, DbErr> {
    export_job::Entity::find()
        .filter(export_job::Column::Status.is_in([
            ExportStatus::Queued.as_str(),
            ExportStatus::Running.as_str(),
        ]))
        .count(db)
        .await
}
