//! Test support shared by every crate's integration tests: a fresh database per test (a
//! SQLite file or a UUID-named PostgreSQL database), the services tests need (PostgreSQL and
//! Redis: skipped loudly outside CI when absent, required in CI), and `on_both_databases!`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::ConnectionTrait;

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in the temp folder.
    Sqlite,
    /// A PostgreSQL server, by its base URL (without a database name).
    Postgres(String),
}

/// The PostgreSQL server tests use: `TEST_POSTGRES_URL`, or the local default.
pub fn postgres_base() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// The PostgreSQL backend, or `None` (loudly) when no server answers outside CI. In CI a
/// missing server fails the test.
pub async fn postgres_or_skip() -> Option<Backend> {
    let base = postgres_base();
    match sea_orm::Database::connect(format!("{base}/postgres")).await {
        Ok(conn) => {
            let _ = conn.close().await;
            Some(Backend::Postgres(base))
        }
        Err(err) if in_ci() => panic!("PostgreSQL at {base} is required in CI: {err}"),
        Err(err) => {
            eprintln!(
                "\n!!! SKIPPED: PostgreSQL at {base} is not reachable ({err}); set TEST_POSTGRES_URL !!!\n"
            );
            None
        }
    }
}

/// `REDIS_URL` for tests (`TEST_REDIS_URL` or the local default), or `None` (loudly) when no
/// server answers outside CI. In CI a missing server fails the test.
pub async fn redis_or_skip() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reachable = match redis::Client::open(url.as_str()) {
        Ok(client) => client.get_multiplexed_async_connection().await.is_ok(),
        Err(_) => false,
    };
    if reachable {
        Some(url)
    } else if in_ci() {
        panic!("Redis at {url} is required in CI")
    } else {
        eprintln!("\n!!! SKIPPED: Redis at {url} is not reachable; set TEST_REDIS_URL !!!\n");
        None
    }
}

/// The database `name` on the PostgreSQL server at `base`, made when it is missing and kept
/// afterwards (benchmarks that seed a large volume once); its URL.
pub async fn kept_database(base: &str, name: &str) -> String {
    let admin = sea_orm::Database::connect(format!("{base}/postgres"))
        .await
        .expect("PostgreSQL");
    let exists = admin
        .query_one(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .expect("the list of databases")
        .is_some();
    if !exists {
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create the database");
    }
    admin.close().await.ok();
    format!("{base}/{name}")
}

/// How many cases a property-based test runs: `FUZZ_CASES` when set (a long run, e.g.
/// `FUZZ_CASES=100000`), else `default`, small enough for CI.
pub fn fuzz_cases(default: u32) -> u32 {
    match std::env::var("FUZZ_CASES") {
        Ok(cases) => cases
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("FUZZ_CASES: expected a number of cases, not {cases:?}")),
        Err(_) => default,
    }
}

/// Runs each named `async fn(Backend)` as two tests, `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = $crate::postgres_or_skip().await {
                        super::$name(backend).await;
                    }
                }
            }
        )*
    };
}

/// A fresh, empty database; `remove` deletes it.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its connection URL.
    pub url: String,
    place: Place,
}

#[derive(Debug)]
enum Place {
    File(std::path::PathBuf),
    Postgres { base: String, name: String },
}

impl TestDatabase {
    /// Creates one on `backend`, named `tessera_<label>_<uuid>`.
    pub async fn create(backend: &Backend, label: &str) -> Self {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("tessera-{label}-{unique}.db"));
                Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    place: Place::File(path),
                }
            }
            Backend::Postgres(base) => {
                let name = format!("tessera_{label}_{unique}");
                let admin = sea_orm::Database::connect(format!("{base}/postgres"))
                    .await
                    .expect("postgres");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create database");
                admin.close().await.ok();
                Self {
                    url: format!("{base}/{name}"),
                    place: Place::Postgres {
                        base: base.clone(),
                        name,
                    },
                }
            }
        }
    }

    /// Deletes the database (close its connections first).
    pub async fn remove(self) {
        match self.place {
            Place::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Place::Postgres { base, name } => {
                if let Ok(admin) = sea_orm::Database::connect(format!("{base}/postgres")).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    admin.close().await.ok();
                }
            }
        }
    }
}

/// Hands `child`'s standard error (its logs) to the test harness line by line, so they show
/// only when the test that started the process fails, like the logs of in-process services.
/// The child must have been started with `.stderr(Stdio::piped())`; the forwarding thread
/// inherits the test's output capture and ends when the child closes its standard error.
pub fn capture_stderr(child: &mut std::process::Child) {
    use std::io::BufRead;
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                eprintln!("{line}");
            }
        });
    }
}

/// CPU time from `/proc`, for benchmarks.
pub mod cpu;
/// Servers of a test's own, for tests that stop and start them: the machine's PostgreSQL and
/// Redis are shared by every test and every engineer, so they are never stopped.
pub mod private;
/// What every subgraph refuses, checked over HTTP.
pub mod subgraph;
