//! The database: sea-orm entities, migrations, the connection, and the demo data.
//!
//! PostgreSQL in production, SQLite as the embedded default; the same entities, migrations and
//! queries run on both.

/// One module per table.
pub mod entity;
/// Schema migrations, runnable on both databases.
pub mod migration;
/// The realistic demo data `cargo run` seeds into an empty database.
pub mod seed;

pub use migration::Migrator;
pub use sea_orm;
pub use sea_orm::DatabaseConnection;

use sea_orm::{ConnectOptions, Database, DbErr};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// How long a PostgreSQL statement waits for a pooled connection (`DATABASE_ACQUIRE_TIMEOUT_MS`)
/// unless configured. While the server is down, sqlx keeps trying to connect until this runs
/// out, so it is how long a request takes to be told UNAVAILABLE: well under the gateway's
/// subgraph timeout (10 s), so the subgraph's own answer arrives first.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// `connect` to `DATABASE_URL`, for a process starting up: a failure names the setting.
pub async fn open(settings: &common::config::CommonSettings) -> anyhow::Result<DatabaseConnection> {
    use anyhow::Context as _;
    connect(&settings.database_url)
        .await
        .context("DATABASE_URL: cannot connect")
}

/// Opens a pool on `url`. SQLite gets a single connection: it has one writer anyway, and a
/// single connection can never fail a transaction with SQLITE_BUSY.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        ensure_sqlite_dir(url);
        // A file cannot go away like a server: a long wait here is the one connection busy
        // with someone else's transaction, not an outage.
        options
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.foreign_keys(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10))
            });
    } else {
        let max = std::env::var("DATABASE_MAX_CONNECTIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(16);
        let acquire = std::env::var("DATABASE_ACQUIRE_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(DEFAULT_ACQUIRE_TIMEOUT, Duration::from_millis);
        // No ping at every checkout: sqlx already pings each connection when it goes back to
        // the pool (and drops it if that fails), so a second round trip before every
        // statement bought nothing but a wake-up of the server per statement.
        options
            .max_connections(max)
            .min_connections(1)
            .connect_timeout(acquire.min(Duration::from_secs(2)))
            .acquire_timeout(acquire)
            .test_before_acquire(false);
    }
    Database::connect(options).await
}

/// Creates the folder of a SQLite file so that `mode=rwc` can create the file itself.
fn ensure_sqlite_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return;
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        // A failure shows up at connect time with SQLite's own message.
        let _ = std::fs::create_dir_all(dir);
    }
}

/// The current time at the precision both databases keep (microseconds), so a value read
/// back compares equal to the value written (cursors depend on it).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DurationRound::duration_trunc(now, chrono::Duration::microseconds(1)).unwrap_or(now)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Each known migration and whether it has been applied.
pub async fn status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    let migrations = Migrator::get_migration_with_status(db).await?;
    Ok(migrations
        .into_iter()
        .map(|m| {
            (
                m.name().to_owned(),
                matches!(m.status(), sea_orm_migration::MigrationStatus::Applied),
            )
        })
        .collect())
}
