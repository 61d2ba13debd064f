//! Export job rows: created QUEUED by `exportTickets`, taken by one worker at a time with a
//! compare-and-set on `attempts` and a lease it renews with every progress report, then DONE
//! or FAILED; DONE files older than the configured age are removed and their jobs marked
//! expired.

use chrono::{DateTime, Utc};
use common::{ExportStatus, Principal, Residency, Role, TicketState};
use db::entity::export_job;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use std::{path::Path, time::Duration};
use ticket_domain::listing;

/// The requester's visibility when they asked: the worker exports what they could see then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// Their roles.
    pub roles: Vec<Role>,
    /// For FSS users, the faculty they act for.
    pub supports: Vec<i64>,
}

impl Requester {
    /// The principal of `user_id` with these roles.
    pub fn principal(&self, user_id: i64) -> Principal {
        Principal::user(user_id, self.roles.clone(), self.supports.clone())
    }
}

/// The contract's `TicketFilter` as stored (and shown in `ExportJob.filter`): the fields the
/// client gave, by their schema names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterSpec {
    /// Any of these states.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub states: Option<Vec<TicketState>>,
    /// This residency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residency: Option<Residency>,
    /// This cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<String>,
    /// This owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// The ticket holding this applicant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant_number: Option<String>,
    /// Ticket number, applicant name or number, owner name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Due before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_before: Option<DateTime<Utc>>,
    /// Past their due time, or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
}

impl From<listing::Filter> for FilterSpec {
    fn from(f: listing::Filter) -> Self {
        Self {
            states: f.states,
            residency: f.residency,
            cycle: f.cycle,
            owner_id: f.owner_id,
            applicant_number: f.applicant_number,
            search: f.search,
            due_before: f.due_before,
            overdue: f.overdue,
        }
    }
}

impl From<FilterSpec> for listing::Filter {
    fn from(f: FilterSpec) -> Self {
        Self {
            states: f.states,
            residency: f.residency,
            cycle: f.cycle,
            owner_id: f.owner_id,
            applicant_number: f.applicant_number,
            search: f.search,
            due_before: f.due_before,
            overdue: f.overdue,
        }
    }
}

/// The contract's `TicketOrder` as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSpec {
    /// The field, as `TicketOrderField` spells it.
    pub field: OrderFieldName,
    /// Descending when true.
    pub descending: bool,
}

/// `TicketOrderField`'s names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderFieldName {
    /// Ticket number.
    Number,
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Workflow order of the state.
    State,
    /// The owner's name.
    OwnerName,
    /// When the ticket is due.
    DueAt,
}

impl From<listing::Ordering> for OrderSpec {
    fn from(o: listing::Ordering) -> Self {
        let field = match o.field {
            listing::OrderField::Number => OrderFieldName::Number,
            listing::OrderField::CreatedAt => OrderFieldName::CreatedAt,
            listing::OrderField::UpdatedAt => OrderFieldName::UpdatedAt,
            listing::OrderField::State => OrderFieldName::State,
            listing::OrderField::OwnerName => OrderFieldName::OwnerName,
            listing::OrderField::DueAt => OrderFieldName::DueAt,
        };
        Self {
            field,
            descending: o.descending,
        }
    }
}

impl From<OrderSpec> for listing::Ordering {
    fn from(o: OrderSpec) -> Self {
        let field = match o.field {
            OrderFieldName::Number => listing::OrderField::Number,
            OrderFieldName::CreatedAt => listing::OrderField::CreatedAt,
            OrderFieldName::UpdatedAt => listing::OrderField::UpdatedAt,
            OrderFieldName::State => listing::OrderField::State,
            OrderFieldName::OwnerName => listing::OrderField::OwnerName,
            OrderFieldName::DueAt => listing::OrderField::DueAt,
        };
        Self {
            field,
            descending: o.descending,
        }
    }
}

/// Records a new QUEUED job for `caller`.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Principal,
    user_id: i64,
    filter: &FilterSpec,
    order: OrderSpec,
) -> Result<export_job::Model, DbErr> {
    let requester = Requester {
        roles: caller.roles.clone(),
        supports: caller.supports.clone(),
    };
    let json = |v: serde_json::Result<String>| v.map_err(|e| DbErr::Custom(e.to_string()));
    export_job::ActiveModel {
        requested_by: Set(user_id),
        requester: Set(json(serde_json::to_string(&requester))?),
        status: Set(ExportStatus::Queued.as_str().into()),
        filter: Set(json(serde_json::to_string(filter))?),
        order_by: Set(json(serde_json::to_string(&order))?),
        rows_written: Set(0),
        total_rows: Set(None),
        error: Set(None),
        attempts: Set(0),
        lease_until: Set(None),
        created_at: Set(db::now()),
        started_at: Set(None),
        finished_at: Set(None),
        expired_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// The job `id`, if it exists.
pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<export_job::Model>, DbErr> {
    export_job::Entity::find_by_id(id).one(db).await
}

/// `user_id`'s newest `first` jobs.
pub async fn newest_of(
    db: &DatabaseConnection,
    user_id: i64,
    first: u64,
) -> Result<Vec<export_job::Model>, DbErr> {
    export_job::Entity::find()
        .filter(export_job::Column::RequestedBy.eq(user_id))
        .order_by_desc(export_job::Column::Id)
        .limit(first)
        .all(db)
        .await
}

/// What became of an attempt to take a job.
#[derive(Debug)]
pub enum Take {
    /// This worker holds it now, as attempt `attempt`.
    Taken {
        /// The job as it was before it was taken.
        job: Box<export_job::Model>,
        /// The attempt number this worker writes under; its reports must name it.
        attempt: i32,
    },
    /// DONE or FAILED already: nothing to do.
    Finished,
    /// Another worker holds a live lease on it.
    Held,
    /// No such job.
    Missing,
}

fn lease_end(lease: Duration) -> chrono::DateTime<chrono::Utc> {
    db::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30))
}

/// Takes job `id` for this worker unless it is finished or another worker's lease is live.
pub async fn take(db: &DatabaseConnection, id: i64, lease: Duration) -> Result<Take, DbErr> {
    let Some(job) = get(db, id).await? else {
        return Ok(Take::Missing);
    };
    match job.status() {
        ExportStatus::Done | ExportStatus::Failed => return Ok(Take::Finished),
        ExportStatus::Running if job.lease_until.is_some_and(|l| l > db::now()) => {
            return Ok(Take::Held);
        }
        _ => {}
    }
    let attempt = job.attempts + 1;
    let taken = export_job::Entity::update_many()
        .col_expr(
            export_job::Column::Status,
            Expr::value(ExportStatus::Running.as_str()),
        )
        .col_expr(export_job::Column::Attempts, Expr::value(attempt))
        .col_expr(
            export_job::Column::LeaseUntil,
            Expr::value(lease_end(lease)),
        )
        .col_expr(export_job::Column::StartedAt, Expr::value(db::now()))
        .col_expr(export_job::Column::RowsWritten, Expr::value(0i64))
        .col_expr(
            export_job::Column::TotalRows,
            Expr::value(Option::<i64>::None),
        )
        .filter(export_job::Column::Id.eq(id))
        .filter(export_job::Column::Attempts.eq(job.attempts))
        .filter(export_job::Column::Status.is_in([
            ExportStatus::Queued.as_str(),
            ExportStatus::Running.as_str(),
        ]))
        .exec(db)
        .await?;
    Ok(if taken.rows_affected == 1 {
        Take::Taken {
            job: Box::new(job),
            attempt,
        }
    } else {
        Take::Held
    })
}

/// The condition that `attempt` still holds job `id`.
fn held(id: i64, attempt: i32) -> Condition {
    Condition::all()
        .add(export_job::Column::Id.eq(id))
        .add(export_job::Column::Attempts.eq(attempt))
        .add(export_job::Column::Status.eq(ExportStatus::Running.as_str()))
}

/// Records progress and renews the lease; false when `attempt` no longer holds the job
/// (another worker took it over).
pub async fn progress(
    db: &DatabaseConnection,
    id: i64,
    attempt: i32,
    rows_written: i64,
    total_rows: Option<i64>,
    lease: Duration,
) -> Result<bool, DbErr> {
    let done = export_job::Entity::update_many()
        .col_expr(export_job::Column::RowsWritten, Expr::value(rows_written))
        .col_expr(export_job::Column::TotalRows, Expr::value(total_rows))
        .col_expr(
            export_job::Column::LeaseUntil,
            Expr::value(lease_end(lease)),
        )
        .filter(held(id, attempt))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// An update that ends a job in `status` now and drops its lease.
fn closing(status: ExportStatus) -> sea_orm::UpdateMany<export_job::Entity> {
    export_job::Entity::update_many()
        .col_expr(export_job::Column::Status, Expr::value(status.as_str()))
        .col_expr(export_job::Column::FinishedAt, Expr::value(db::now()))
        .col_expr(
            export_job::Column::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
}

/// Marks the job DONE with `rows` rows (the count of the file, which is what a reader gets);
/// false when `attempt` no longer holds it.
pub async fn finish(
    db: &DatabaseConnection,
    id: i64,
    attempt: i32,
    rows: i64,
) -> Result<bool, DbErr> {
    let done = closing(ExportStatus::Done)
        .col_expr(export_job::Column::RowsWritten, Expr::value(rows))
        .col_expr(export_job::Column::TotalRows, Expr::value(Some(rows)))
        .filter(held(id, attempt))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Marks the job FAILED with `error` (when `attempt` is given, only if it still holds it).
pub async fn fail(
    db: &DatabaseConnection,
    id: i64,
    attempt: Option<i32>,
    error: &str,
) -> Result<bool, DbErr> {
    let mut update =
        closing(ExportStatus::Failed).col_expr(export_job::Column::Error, Expr::value(error));
    update =
        match attempt {
            Some(attempt) => update.filter(held(id, attempt)),
            None => update.filter(export_job::Column::Id.eq(id)).filter(
                export_job::Column::Status.is_in([
                    ExportStatus::Queued.as_str(),
                    ExportStatus::Running.as_str(),
                ]),
            ),
        };
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Jobs no worker holds: RUNNING ones whose lease lapsed before `lapsed_before`, and with
/// `queued` the QUEUED ones too. A restarted process with the in-process queue requeues these.
pub async fn unfinished(
    db: &DatabaseConnection,
    queued: bool,
    lapsed_before: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<i64>, DbErr> {
    let mut which = Condition::any().add(
        Condition::all()
            .add(export_job::Column::Status.eq(ExportStatus::Running.as_str()))
            .add(
                Condition::any()
                    .add(export_job::Column::LeaseUntil.is_null())
                    .add(export_job::Column::LeaseUntil.lt(lapsed_before)),
            ),
    );
    if queued {
        which = which.add(export_job::Column::Status.eq(ExportStatus::Queued.as_str()));
    }
    export_job::Entity::find()
        .select_only()
        .column(export_job::Column::Id)
        .filter(which)
        .order_by_asc(export_job::Column::Id)
        .into_tuple()
        .all(db)
        .await
}

/// Removes the files of DONE jobs finished more than `max_age` ago and marks them expired;
/// returns how many expired.
pub async fn expire(
    db: &DatabaseConnection,
    data_dir: &Path,
    max_age: Duration,
) -> Result<u64, DbErr> {
    let Some(cutoff) = chrono::Duration::from_std(max_age)
        .ok()
        .and_then(|age| db::now().checked_sub_signed(age))
        .filter(|c| c.timestamp() > 0)
    else {
        // Nothing was finished that long ago.
        return Ok(0);
    };
    let old: Vec<i64> = export_job::Entity::find()
        .select_only()
        .column(export_job::Column::Id)
        .filter(export_job::Column::Status.eq(ExportStatus::Done.as_str()))
        .filter(export_job::Column::ExpiredAt.is_null())
        .filter(export_job::Column::FinishedAt.lte(cutoff))
        .into_tuple()
        .all(db)
        .await?;
    let mut expired = 0;
    for id in old {
        let path = common::export::file(data_dir, id);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                // Keep the row downloadable rather than pointing at a file that may linger.
                tracing::warn!(job = id, path = %path.display(), %e, "cannot remove an expired export");
                continue;
            }
        }
        export_job::Entity::update_many()
            .col_expr(export_job::Column::ExpiredAt, Expr::value(db::now()))
            .filter(export_job::Column::Id.eq(id))
            .exec(db)
            .await?;
        expired += 1;
    }
    Ok(expired)
}
