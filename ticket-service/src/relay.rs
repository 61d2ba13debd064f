//! The outbox relay: moves committed outbox rows to the event stream, oldest first, and marks
//! each relayed only after the stream accepted it. A restarted relay sends whatever is left, so
//! nothing committed is lost; an entry may be sent twice (a crash between the append and the
//! mark), which consumers absorb by the event id the payload carries. With Redis, a lease
//! makes exactly one replica relay at a time.

use common::stream::{EventStream, StreamError};
use db::entity::outbox;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use std::time::Duration;

/// How many rows one pass relays at most.
pub const BATCH: u64 = 200;

/// How long the relay waits between passes that found nothing.
pub const IDLE: Duration = Duration::from_millis(100);

/// How long a relay's lease lasts without renewal (a dead relay is replaced after this).
pub const LEASE: Duration = Duration::from_secs(5);

/// Wakes this process's relay at once (after a mutation commits) instead of at its next pass.
static NUDGE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Tells this process's relay that rows may be waiting: live subscribers then see a change
/// as soon as it commits, not up to `IDLE` later. A relay in another replica (the lease
/// holder) still finds the rows at its next pass.
pub fn nudge() {
    NUDGE.notify_one();
}

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database did not answer.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The stream did not accept an entry.
    #[error("{0}")]
    Stream(#[from] StreamError),
}

/// Relays up to `BATCH` pending rows; returns how many it relayed. The rows the stream
/// accepted are marked in one statement, also when a later one was refused.
pub async fn relay_once(
    db: &DatabaseConnection,
    stream: &EventStream,
) -> Result<usize, RelayError> {
    let pending = outbox::Entity::find()
        .filter(outbox::Column::RelayedAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut relayed = Vec::with_capacity(pending.len());
    let mut refused = None;
    for row in pending {
        if let Err(err) = stream.publish(&row.topic, &row.payload).await {
            refused = Some(err);
            break;
        }
        relayed.push(row.id);
    }
    if !relayed.is_empty() {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::RelayedAt, Expr::value(db::now()))
            .filter(outbox::Column::Id.is_in(relayed.iter().copied()))
            .exec(db)
            .await?;
    }
    match refused {
        Some(err) => Err(err.into()),
        None => Ok(relayed.len()),
    }
}

/// Who holds the relay lease, in Redis (`None` in one process: no lease needed).
#[derive(Clone)]
pub struct Lease {
    conn: redis::aio::ConnectionManager,
    key: String,
    holder: String,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("key", &self.key)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// A lease named under `prefix`, held (when won) by a random holder id.
    pub fn new(conn: redis::aio::ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            key: format!("{prefix}:relay-lease"),
            holder: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Takes the lease if it is free, or renews it if this relay holds it.
    pub async fn hold(&self) -> Result<bool, StreamError> {
        // Compare-and-renew in one step: nobody else can take it between the check and the
        // renewal.
        let script = redis::Script::new(
            r"
            local current = redis.call('GET', KEYS[1])
            if current == false then
                redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
                return 1
            elseif current == ARGV[1] then
                redis.call('PEXPIRE', KEYS[1], ARGV[2])
                return 1
            end
            return 0
            ",
        );
        let mut conn = self.conn.clone();
        let held: i32 = script
            .key(&self.key)
            .arg(&self.holder)
            .arg(u64::try_from(LEASE.as_millis()).unwrap_or(5_000))
            .invoke_async(&mut conn)
            .await
            .map_err(StreamError::from)?;
        Ok(held == 1)
    }
}

/// How far back an in-process relay sends again at start what it had relayed: the events a
/// process that stopped may not have finished with.
pub const REPLAY: Duration = Duration::from_secs(10 * 60);

/// Starts the relay in the background: with a lease when the stream is in Redis (several
/// replicas may run), without one in process. An in-process stream starts empty, so what the
/// previous process relayed in the last `REPLAY` is relayed again: the consumers may not have
/// finished with it, and they absorb what they did finish by the event id (one notification
/// row per event and recipient).
pub fn start(db: DatabaseConnection, stream: EventStream) -> tokio::task::JoinHandle<()> {
    let lease = stream
        .in_redis()
        .map(|redis| Lease::new(redis.conn().clone(), redis.prefix()));
    let replay = lease.is_none();
    tokio::spawn(async move {
        if replay {
            while let Err(err) = relay_again_since(&db, db::now() - REPLAY).await {
                tracing::warn!(%err, "outbox relay cannot reach the database");
                tokio::time::sleep(IDLE * 10).await;
            }
        }
        run(db, stream, lease).await
    })
}

/// Marks the rows relayed since `since` as not relayed, so the relay sends them again.
pub async fn relay_again_since(
    db: &DatabaseConnection,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<u64, DbErr> {
    let none = Option::<chrono::DateTime<chrono::Utc>>::None;
    Ok(outbox::Entity::update_many()
        .col_expr(outbox::Column::RelayedAt, Expr::value(none))
        .filter(outbox::Column::RelayedAt.gte(since))
        .exec(db)
        .await?
        .rows_affected)
}

/// Relays for as long as the process runs: passes back to back while rows are waiting, a
/// short pause when none are, and (with a lease) only while this replica holds the lease.
pub async fn run(db: DatabaseConnection, stream: EventStream, lease: Option<Lease>) {
    loop {
        if let Some(lease) = &lease {
            match lease.hold().await {
                Ok(true) => {}
                Ok(false) => {
                    tokio::time::sleep(LEASE / 2).await;
                    continue;
                }
                Err(err) => {
                    tracing::warn!(%err, "relay lease unavailable");
                    tokio::time::sleep(IDLE).await;
                    continue;
                }
            }
        }
        match relay_once(&db, &stream).await {
            Ok(0) => {
                tokio::select! {
                    () = tokio::time::sleep(IDLE) => {}
                    () = NUDGE.notified() => {}
                }
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(%err, "outbox relay paused");
                tokio::time::sleep(IDLE * 10).await;
            }
        }
    }
}
