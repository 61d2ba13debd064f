//! What export-service and the gateway both need to know about an export: the topics of the
//! job queue and of progress, the progress message (what `Subscription.exportProgress`
//! delivers), where a finished file is and who may download it.

use crate::{ExportStatus, Principal};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The stream topic jobs are queued on; each entry's payload is a job id.
pub const JOBS_TOPIC: &str = "export-jobs";

/// The consumer group of export workers on `JOBS_TOPIC`.
pub const JOBS_GROUP: &str = "export";

/// The stream topic progress is published on, one `ExportProgress` JSON per message.
pub const PROGRESS_TOPIC: &str = "export-progress";

/// One progress report of a job: published when a worker starts it, after every page of rows
/// it writes, and when it is DONE or FAILED (the last message of a job). A subscriber filters
/// by `job_id` and shows it only to `requested_by` (or a role that sees every ticket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportProgress {
    /// The job.
    pub job_id: i64,
    /// Who asked for it.
    pub requested_by: i64,
    /// Where it stands.
    pub status: ExportStatus,
    /// Data rows written so far.
    pub rows_written: i64,
    /// Rows the filter matched when the worker started.
    pub total_rows: Option<i64>,
    /// Why it failed, for FAILED.
    pub error: Option<String>,
}

impl ExportProgress {
    /// Whether this is the last message about the job.
    pub fn is_final(&self) -> bool {
        matches!(self.status, ExportStatus::Done | ExportStatus::Failed)
    }
}

/// The folder finished exports are written to: `DATA_DIR/exports`.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("exports")
}

/// Where job `id`'s finished file is.
pub fn file(data_dir: &Path, id: i64) -> PathBuf {
    dir(data_dir).join(format!("{id}.csv"))
}

/// The gateway path a finished file is downloaded from (HTTP.md).
pub fn download_path(id: i64) -> String {
    format!("/exports/{id}.csv")
}

/// Who may read a job and download its file: the requester, and roles that see every ticket.
/// Anyone else is told it does not exist.
pub fn may_read(caller: &Principal, requested_by: i64) -> bool {
    caller.user_id == Some(requested_by) || (caller.user_id.is_some() && caller.sees_every_ticket())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    #[test]
    fn only_the_requester_and_roles_that_see_everything_may_read() {
        let owner = Principal::user(7, vec![Role::Faculty], vec![]);
        let colleague = Principal::user(8, vec![Role::Faculty], vec![]);
        let fss = Principal::user(9, vec![Role::Fss], vec![7]);
        let office = Principal::user(10, vec![Role::GradOffice], vec![]);
        assert!(may_read(&owner, 7));
        assert!(!may_read(&colleague, 7));
        assert!(
            !may_read(&fss, 7),
            "acting for the requester is not being them"
        );
        assert!(may_read(&office, 7));
        assert!(!may_read(&Principal::anonymous(), 7));
    }

    #[test]
    fn files_live_under_the_exports_folder() {
        assert_eq!(
            file(Path::new("/data"), 12),
            PathBuf::from("/data/exports/12.csv")
        );
        assert_eq!(download_path(12), "/exports/12.csv");
    }
}
