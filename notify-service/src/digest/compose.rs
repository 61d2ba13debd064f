//! Composing the digests that are due, a batch of users per transaction: each digest's
//! `digests` row is inserted or skipped on its unique (user, cadence, due moment), and only
//! the rows inserted take the emails waiting for them (`digest_id`), those created up to the
//! due moment, one statement each. A digest that finds nothing to take is deleted in the same
//! transaction, so none is ever sent empty, and two workers composing at once compose each
//! digest once.

use super::render::{self, Change, Reader};
use crate::email::Email;
use chrono::{DateTime, Utc};
use common::Cadence;
use db::entity::{digest, notification};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, QueryResult, TransactionTrait,
    sea_query::{CaseStatement, Expr, OnConflict, Query, SimpleExpr},
};
use std::collections::HashMap;

/// A digest due for a user, and how to address it.
#[derive(Debug, Clone)]
pub struct Due {
    /// The user.
    pub user: i64,
    /// Daily or weekly.
    pub cadence: Cadence,
    /// The moment it was due.
    pub due_at: DateTime<Utc>,
    /// Their name.
    pub name: String,
    /// Their address.
    pub email: String,
    /// Their time zone.
    pub zone: chrono_tz::Tz,
}

/// A digest composed, to send.
#[derive(Debug, Clone)]
pub struct Composed {
    /// Its row.
    pub id: i64,
    /// The changes it lists.
    pub changes: i32,
    /// The email.
    pub email: Email,
}

/// Composes `batch` in one transaction; answers the digests this call wrote (not those
/// another worker had, not the empty ones). They are claimed until `claim_until`.
pub async fn compose(
    db: &DatabaseConnection,
    batch: &[Due],
    now: DateTime<Utc>,
    claim_until: DateTime<Utc>,
    public_url: &str,
) -> Result<Vec<Composed>, DbErr> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let txn = db.begin().await?;
    let ids = insert_rows(&txn, batch, now, claim_until).await?;
    let written: Vec<(&Due, i64)> = batch
        .iter()
        .filter_map(|due| ids.get(&(due.user, due.cadence)).map(|id| (due, *id)))
        .collect();
    if written.is_empty() {
        return Ok(Vec::new());
    }
    let mut changes = take_emails(&txn, &written).await?;
    let mut composed = Vec::new();
    let mut empty = Vec::new();
    for (due, id) in written {
        let Some(listed) = changes.remove(&id) else {
            empty.push(id);
            continue;
        };
        let reader = Reader {
            name: &due.name,
            email: &due.email,
            zone: due.zone,
            public_url,
        };
        composed.push(Composed {
            id,
            changes: i32::try_from(listed.len()).unwrap_or(i32::MAX),
            email: render::render(due.cadence, &listed, &reader),
        });
    }
    describe(&txn, &composed, &empty).await?;
    txn.commit().await?;
    Ok(composed)
}

/// Inserts a QUEUED row per digest of `batch` unless one exists for its due moment; answers
/// the ids of those inserted, by (user, cadence).
async fn insert_rows<C: ConnectionTrait>(
    conn: &C,
    batch: &[Due],
    now: DateTime<Utc>,
    claim_until: DateTime<Utc>,
) -> Result<HashMap<(i64, Cadence), i64>, DbErr> {
    use digest::Column as D;
    let mut insert = Query::insert();
    insert.into_table(digest::Entity).columns([
        D::UserId,
        D::Cadence,
        D::DueAt,
        D::Changes,
        D::Subject,
        D::Status,
        D::Attempts,
        D::CreatedAt,
        D::ClaimedUntil,
    ]);
    for due in batch {
        insert
            .values([
                due.user.into(),
                due.cadence.as_str().into(),
                due.due_at.into(),
                0i32.into(),
                "".into(),
                super::QUEUED.into(),
                0i32.into(),
                now.into(),
                Some(claim_until).into(),
            ])
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    insert
        .on_conflict(
            OnConflict::columns([D::UserId, D::Cadence, D::DueAt])
                .do_nothing()
                .to_owned(),
        )
        .returning(Query::returning().columns([D::Id, D::UserId, D::Cadence]));
    let rows = conn
        .query_all(conn.get_database_backend().build(&insert))
        .await?;
    let mut ids = HashMap::new();
    for row in rows {
        let cadence: String = row.try_get("", "cadence")?;
        let cadence = cadence
            .parse::<Cadence>()
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        ids.insert(
            (row.try_get("", "user_id")?, cadence),
            row.try_get("", "id")?,
        );
    }
    Ok(ids)
}

/// Gives the emails waiting for each written digest its id; answers them by digest. One
/// `UPDATE … RETURNING` a digest, each an index range of its user's waiting rows (one
/// statement for the whole batch, with a CASE naming every digest, made PostgreSQL weigh
/// every arm for every row: 31 s of its CPU for 10,000 digests in the benchmark).
async fn take_emails<C: ConnectionTrait>(
    conn: &C,
    written: &[(&Due, i64)],
) -> Result<HashMap<i64, Vec<Change>>, DbErr> {
    use notification::Column as N;
    let mut by_digest: HashMap<i64, Vec<Change>> = HashMap::new();
    for (due, id) in written {
        let mut update = Query::update();
        update
            .table(notification::Entity)
            .value(N::DigestId, *id)
            // Literal statuses, as the partial index `notifications_digest_waiting_idx` says.
            .and_where(Expr::cust("status = 'DIGEST' AND digest_id IS NULL"))
            .and_where(Expr::col(N::RecipientId).eq(due.user))
            .and_where(Expr::col(N::HeldFor).eq(due.cadence.as_str()))
            .and_where(Expr::col(N::CreatedAt).lte(due.due_at))
            .returning(Query::returning().columns([N::TicketId, N::Subject, N::CreatedAt]));
        let rows = conn
            .query_all(conn.get_database_backend().build(&update))
            .await?;
        let changes = rows.iter().map(listed).collect::<Result<Vec<_>, _>>()?;
        if !changes.is_empty() {
            by_digest.insert(*id, changes);
        }
    }
    Ok(by_digest)
}

/// A taken email as a digest's change.
fn listed(row: &QueryResult) -> Result<Change, DbErr> {
    let ticket: Option<i64> = row.try_get("", "ticket_id")?;
    Ok(Change {
        ticket_id: ticket.unwrap_or_default(),
        subject: row.try_get("", "subject")?,
        at: row.try_get("", "created_at")?,
    })
}

/// Writes each composed digest's subject and count, and deletes the empty ones.
async fn describe<C: ConnectionTrait>(
    conn: &C,
    composed: &[Composed],
    empty: &[i64],
) -> Result<(), DbErr> {
    use digest::Column as D;
    if !empty.is_empty() {
        let mut delete = Query::delete();
        delete
            .from_table(digest::Entity)
            .and_where(Expr::col(D::Id).is_in(empty.iter().copied()));
        conn.execute(conn.get_database_backend().build(&delete))
            .await?;
    }
    if composed.is_empty() {
        return Ok(());
    }
    let mut subjects = CaseStatement::new();
    let mut counts = CaseStatement::new();
    for digest in composed {
        let id = Expr::col(D::Id).eq(digest.id);
        subjects = subjects.case(id.clone(), Expr::val(digest.email.subject.clone()));
        counts = counts.case(id, Expr::val(digest.changes));
    }
    let mut update = Query::update();
    update
        .table(digest::Entity)
        .value(D::Subject, Into::<SimpleExpr>::into(subjects))
        .value(D::Changes, Into::<SimpleExpr>::into(counts))
        .and_where(Expr::col(D::Id).is_in(composed.iter().map(|d| d.id)));
    conn.execute(conn.get_database_backend().build(&update))
        .await?;
    Ok(())
}
