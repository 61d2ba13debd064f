//! The export worker: the `export` consumer group on the `export-jobs` stream. For each job it
//! takes the job row (a compare-and-set on `attempts` and a lease), walks the requester's
//! visible tickets that match the filter in keyset batches (on PostgreSQL inside one
//! read-only REPEATABLE READ transaction, so the count and the rows agree), appends each batch
//! to `DATA_DIR/exports/<id>.<attempt>.part`, reports progress after every batch (the job row,
//! renewing the lease, and a message on `export-progress`), and renames the file to
//! `<id>.csv` when it is complete. The queue entry is acknowledged once the job is DONE or
//! FAILED. A worker that dies leaves its entry pending and its lease lapsing: another worker
//! (or the same one restarted) claims the entry and writes the job again from the start; a job
//! whose lease lapsed a lease ago with no entry left is queued again.

use crate::{
    config::WorkerSettings,
    csv,
    jobs::{self, FilterSpec, OrderSpec, Requester, Take},
    rows,
};
use common::{
    ExportStatus,
    export::{self, ExportProgress, JOBS_GROUP, JOBS_TOPIC, PROGRESS_TOPIC},
    stream::{Entry, EventStream, StreamError},
    subgraph::ServiceError,
};
use db::entity::export_job;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, IsolationLevel,
    TransactionTrait,
};
use std::{path::PathBuf, time::Duration};
use ticket_domain::listing;
use tokio::{io::AsyncWriteExt, task::JoinSet};

/// How long an idle worker waits before looking at the queue again.
const POLL: Duration = Duration::from_millis(200);

/// A job that has stopped this many times without finishing is FAILED rather than tried again:
/// something in it (or its size) kills workers.
pub const MAX_ATTEMPTS: i32 = 3;

/// Why an export did not complete. The message is what the job's `error` shows.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file could not be created, written or moved into place.
    #[error("the export file could not be written: {0}")]
    File(#[from] std::io::Error),
    /// The database failed part way.
    #[error("the database failed during the export; ask for it again")]
    Database(String),
    /// The stored job is not readable (written by another version, or damaged).
    #[error("the export request could not be read ({0}); ask for it again")]
    Corrupt(&'static str),
    /// The stored filter is no longer accepted.
    #[error("the filter is not valid: {0}")]
    Filter(String),
    /// Another worker took the job over after this one's lease lapsed; this one stops quietly.
    #[error("another worker took the export over")]
    LostLease,
}

impl From<DbErr> for ExportError {
    fn from(err: DbErr) -> Self {
        Self::Database(err.to_string())
    }
}

/// The ticket list's own failures: the database's, or a stored filter it no longer accepts.
impl From<ServiceError> for ExportError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Unavailable { cause, .. } => Self::Database(cause),
            other => Self::Filter(other.message()),
        }
    }
}

/// The export worker of one process.
#[derive(Clone)]
pub struct Worker {
    db: DatabaseConnection,
    stream: EventStream,
    data_dir: PathBuf,
    settings: WorkerSettings,
    consumer: String,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("consumer", &self.consumer)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker over `db` taking jobs from `stream`, writing files under `data_dir`.
    pub fn new(
        db: DatabaseConnection,
        stream: EventStream,
        data_dir: PathBuf,
        settings: WorkerSettings,
    ) -> Self {
        // Unique per process start, so a restarted worker claims what its former self left.
        let consumer = format!(
            "export-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        Self {
            db,
            stream,
            data_dir,
            settings,
            consumer,
        }
    }

    /// Runs the worker on its own task until the process ends (abort the handle to stop it:
    /// the jobs in flight stop with it, as they would if the process died).
    pub fn start(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Requeues what no worker holds, then takes jobs forever, `concurrency` at a time, and
    /// removes expired files every `expiry_interval`.
    pub async fn run(self) {
        if let Err(err) = std::fs::create_dir_all(export::dir(&self.data_dir)) {
            tracing::error!(%err, dir = %export::dir(&self.data_dir).display(), "cannot create the exports folder");
        }
        if let Err(err) = self.requeue(true, db::now()).await {
            tracing::warn!(%err, "could not requeue unfinished exports");
        }
        let mut background = JoinSet::new();
        background.spawn(self.clone().expire_forever());
        background.spawn(self.clone().recover_forever());
        background.spawn(
            self.stream
                .clone()
                .tidy_consumers_forever(JOBS_TOPIC, JOBS_GROUP),
        );
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            if running.len() >= self.settings.concurrency {
                running.join_next().await;
                continue;
            }
            match self.next().await {
                Ok(Some(entry)) => {
                    running.spawn(self.clone().handle(entry));
                }
                Ok(None) => tokio::time::sleep(POLL).await,
                Err(err) => {
                    tracing::warn!(%err, "export queue unavailable");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Queues again the jobs no worker holds: after a restart with the in-process queue their
    /// entries are gone. With `queued`, QUEUED jobs too; RUNNING ones whose lease lapsed
    /// before `lapsed_before`. (With Redis a duplicate entry finds its job finished or held,
    /// and is dropped.)
    pub async fn requeue(
        &self,
        queued: bool,
        lapsed_before: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, StreamError> {
        let ids = jobs::unfinished(&self.db, queued, lapsed_before)
            .await
            .map_err(|e| StreamError::Unavailable(e.to_string()))?;
        for id in &ids {
            self.stream.publish(JOBS_TOPIC, &id.to_string()).await?;
        }
        if !ids.is_empty() {
            tracing::info!(jobs = ids.len(), "requeued unfinished exports");
        }
        Ok(ids.len())
    }

    /// A job whose worker died while this process was already running (or whose lease was
    /// still live when it started) and whose entry no longer exists: requeued once its lease
    /// has been lapsed for a further lease (a pending entry would have been claimed by then).
    async fn recover_forever(self) {
        let lease = chrono::Duration::from_std(self.settings.lease)
            .unwrap_or(chrono::Duration::seconds(30));
        loop {
            tokio::time::sleep(self.settings.lease).await;
            let lapsed_before = db::now().checked_sub_signed(lease).unwrap_or_else(db::now);
            if let Err(err) = self.requeue(false, lapsed_before).await {
                tracing::warn!(%err, "could not requeue abandoned exports");
            }
        }
    }

    async fn expire_forever(self) {
        loop {
            match jobs::expire(&self.db, &self.data_dir, self.settings.max_age).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "removed expired exports"),
                Err(err) => tracing::warn!(%err, "export expiry failed"),
            }
            tokio::time::sleep(self.settings.expiry_interval).await;
        }
    }

    /// The next entry: one a dead worker left (idle longer than a lease), else a new one.
    /// It does not wait for one: with Redis a blocking read would hold the connection that
    /// progress reports are published on.
    async fn next(&self) -> Result<Option<Entry>, StreamError> {
        let claimed = self
            .stream
            .claim_stale(
                JOBS_TOPIC,
                JOBS_GROUP,
                &self.consumer,
                self.settings.lease,
                1,
            )
            .await?;
        if let Some(entry) = claimed.into_iter().next() {
            return Ok(Some(entry));
        }
        let fresh = self
            .stream
            .read_group(JOBS_TOPIC, JOBS_GROUP, &self.consumer, 1, Duration::ZERO)
            .await?;
        Ok(fresh.into_iter().next())
    }

    async fn ack(&self, entry: &Entry) {
        if let Err(err) = self
            .stream
            .ack(JOBS_TOPIC, JOBS_GROUP, std::slice::from_ref(&entry.id))
            .await
        {
            // The entry comes back once it is idle; the job is finished by then and is dropped.
            tracing::warn!(%err, entry = %entry.id, "could not acknowledge an export entry");
        }
    }

    /// Takes and writes the job of one queue entry.
    pub async fn handle(self, entry: Entry) {
        let Ok(id) = entry.payload.trim().parse::<i64>() else {
            tracing::warn!(payload = %entry.payload, "an export entry without a job id");
            self.ack(&entry).await;
            return;
        };
        let (job, attempt) = match jobs::take(&self.db, id, self.settings.lease).await {
            Ok(Take::Taken { job, attempt }) => (*job, attempt),
            // Held: a duplicate entry (a requeue raced the original), or one claimed from a
            // worker that looked dead while it still held a live lease. Its holder acknowledges
            // its own entry; if the holder dies, `recover_forever` queues the job again.
            Ok(Take::Finished | Take::Missing | Take::Held) => {
                self.ack(&entry).await;
                return;
            }
            Err(err) => {
                tracing::warn!(%err, job = id, "cannot take an export job");
                return;
            }
        };
        if attempt > MAX_ATTEMPTS {
            let error = format!(
                "the export stopped {} times before it finished; try a narrower filter or tell an administrator",
                attempt - 1
            );
            self.fail(&job, attempt, &error).await;
            self.ack(&entry).await;
            return;
        }
        tracing::info!(job = id, attempt, "export started");
        match self.export(&job, attempt).await {
            Ok(rows) => match jobs::finish(&self.db, id, attempt, rows).await {
                Ok(true) => {
                    tracing::info!(job = id, rows, "export done");
                    self.publish(&job, ExportStatus::Done, rows, Some(rows), None)
                        .await;
                    self.ack(&entry).await;
                }
                Ok(false) => tracing::info!(job = id, "export finished by another worker"),
                Err(err) => tracing::warn!(%err, job = id, "cannot mark an export done"),
            },
            Err(ExportError::LostLease) => {
                tracing::info!(job = id, attempt, "export taken over by another worker");
            }
            Err(err) => {
                tracing::warn!(job = id, attempt, error = %err, "export failed");
                if self.fail(&job, attempt, &err.to_string()).await {
                    self.ack(&entry).await;
                }
            }
        }
    }

    /// Marks the job FAILED and says so on the progress topic; false when that did not happen
    /// (the database is down: the entry stays pending and the job is tried again).
    async fn fail(&self, job: &export_job::Model, attempt: i32, error: &str) -> bool {
        match jobs::fail(&self.db, job.id, Some(attempt), error).await {
            Ok(true) => {
                self.publish(job, ExportStatus::Failed, 0, None, Some(error.to_string()))
                    .await;
                true
            }
            Ok(false) => true,
            Err(err) => {
                tracing::warn!(%err, job = job.id, "cannot mark an export failed");
                false
            }
        }
    }

    async fn publish(
        &self,
        job: &export_job::Model,
        status: ExportStatus,
        rows_written: i64,
        total_rows: Option<i64>,
        error: Option<String>,
    ) {
        let message = ExportProgress {
            job_id: job.id,
            requested_by: job.requested_by,
            status,
            rows_written,
            total_rows,
            error,
        };
        let Ok(payload) = serde_json::to_string(&message) else {
            return;
        };
        // Progress is a courtesy; the job row is the record.
        if let Err(err) = self.stream.publish(PROGRESS_TOPIC, &payload).await {
            tracing::debug!(%err, job = job.id, "export progress not published");
        }
    }

    /// Reports progress: the row (renewing the lease) and the progress topic.
    async fn report(
        &self,
        job: &export_job::Model,
        attempt: i32,
        rows_written: i64,
        total_rows: i64,
    ) -> Result<(), ExportError> {
        if !jobs::progress(
            &self.db,
            job.id,
            attempt,
            rows_written,
            Some(total_rows),
            self.settings.lease,
        )
        .await?
        {
            return Err(ExportError::LostLease);
        }
        self.publish(
            job,
            ExportStatus::Running,
            rows_written,
            Some(total_rows),
            None,
        )
        .await;
        Ok(())
    }

    /// Writes the job's file; returns the number of data rows.
    async fn export(&self, job: &export_job::Model, attempt: i32) -> Result<i64, ExportError> {
        let requester: Requester =
            serde_json::from_str(&job.requester).map_err(|_| ExportError::Corrupt("requester"))?;
        let filter: FilterSpec =
            serde_json::from_str(&job.filter).map_err(|_| ExportError::Corrupt("filter"))?;
        let order: OrderSpec =
            serde_json::from_str(&job.order_by).map_err(|_| ExportError::Corrupt("order"))?;
        let principal = requester.principal(job.requested_by);
        let condition = listing::condition(&principal, &filter.into())?;
        let dir = export::dir(&self.data_dir);
        tokio::fs::create_dir_all(&dir).await?;
        let part = dir.join(format!("{}.{attempt}.part", job.id));
        let mut file = tokio::fs::File::create(&part).await?;
        let written = match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let txn = self
                    .db
                    .begin_with_config(
                        Some(IsolationLevel::RepeatableRead),
                        Some(AccessMode::ReadOnly),
                    )
                    .await?;
                let written = self
                    .write(&txn, job, attempt, condition, order.into(), &mut file)
                    .await;
                // Read only: nothing to commit; ending it returns the connection.
                let _ = txn.rollback().await;
                written
            }
            // SQLite has one connection: a transaction would stall every other request for
            // the whole export, so batches are read one by one.
            _ => {
                self.write(&self.db, job, attempt, condition, order.into(), &mut file)
                    .await
            }
        };
        let finished = match written {
            Ok(rows) => async {
                file.flush().await?;
                file.sync_all().await?;
                drop(file);
                tokio::fs::rename(&part, export::file(&self.data_dir, job.id)).await?;
                Ok::<_, std::io::Error>(rows)
            }
            .await
            .map_err(ExportError::from),
            Err(err) => Err(err),
        };
        if finished.is_err() {
            let _ = tokio::fs::remove_file(&part).await;
        }
        // Files of earlier attempts that died part way.
        for earlier in 1..attempt {
            let _ = tokio::fs::remove_file(dir.join(format!("{}.{earlier}.part", job.id))).await;
        }
        finished
    }

    async fn write<C: ConnectionTrait>(
        &self,
        conn: &C,
        job: &export_job::Model,
        attempt: i32,
        condition: sea_orm::Condition,
        ordering: listing::Ordering,
        file: &mut tokio::fs::File,
    ) -> Result<i64, ExportError> {
        let total = listing::count(conn, condition.clone()).await?;
        self.report(job, attempt, 0, total).await?;
        let mut out = String::with_capacity(1 << 16);
        out.push('\u{feff}');
        csv::push_record(&mut out, csv::HEADER);
        let mut written: i64 = 0;
        let mut after: Option<String> = None;
        loop {
            let (tickets, next) = listing::batch(
                conn,
                condition.clone(),
                ordering,
                after.as_deref(),
                self.settings.batch_size,
            )
            .await?;
            let batch = rows::load(conn, tickets).await?;
            for row in &batch {
                csv::push_row(&mut out, row);
            }
            file.write_all(out.as_bytes()).await?;
            out.clear();
            written += i64::try_from(batch.len()).unwrap_or(i64::MAX);
            self.report(job, attempt, written, total.max(written))
                .await?;
            match next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
            if !self.settings.batch_pause.is_zero() {
                tokio::time::sleep(self.settings.batch_pause).await;
            }
        }
        Ok(written)
    }
}
