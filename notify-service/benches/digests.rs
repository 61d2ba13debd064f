//! The digest benchmark: users with changes waiting for their daily digest (50 each by
//! default), seeded straight into a fresh database; one digest tick at the due moment
//! composes and sends them all (to the outbox folder). It reports the tick's time, CPU (this
//! process and PostgreSQL's backends) and the process's peak memory after a small run and
//! after the full one, to show memory does not grow with the number of users; on SQLite,
//! then PostgreSQL.
//!
//!     cargo bench -p notify-service --bench digests
//!
//! Settings: BENCH_DIGEST_USERS (10000), BENCH_DIGEST_CHANGES (50), BENCH_DIGEST_SMALL (1000),
//! BENCH_POSTGRES_URL / TEST_POSTGRES_URL for PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, TimeZone, Utc};
use common::{clock::Clock, config::CommonSettings, stream::EventStream};
use notify_service::{MailSettings, digest};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::{collections::HashMap, time::Instant};
use testkit::Backend;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `rows` (each a parenthesised tuple) into `table (columns)`, a thousand at a time.
async fn insert(db: &DatabaseConnection, table: &str, columns: &str, rows: Vec<String>) {
    for chunk in rows.chunks(1_000) {
        let sql = format!("INSERT INTO {table} ({columns}) VALUES {}", chunk.join(","));
        db.execute(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap();
    }
}

/// `users` users (ids from `first`), each with a daily digest and `changes` emails waiting
/// for it, all created at `at`; the tickets and events the emails are about (one per change,
/// shared by the users) are made on the first call.
async fn seed(db: &DatabaseConnection, first: i64, users: i64, changes: i64, at: &str) {
    let boolean = |b: bool| match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => i32::from(b).to_string(),
        _ => b.to_string(),
    };
    let last = first + users - 1;
    let people = (first..=last)
        .map(|id| {
            format!(
                "({id}, 'user{id}@example.edu', 'User {id}', 'FACULTY', {}, '{at}', '{at}')",
                boolean(true)
            )
        })
        .collect();
    insert(
        db,
        "users",
        "id, email, name, roles, active, created_at, updated_at",
        people,
    )
    .await;
    if first == 1 {
        let tickets = (1..=changes)
            .map(|n| format!("({n}, {n}, '2027', 'DOMESTIC', 'GRANTED', 1, 1, '{at}', '{at}', 2)"))
            .collect();
        insert(db, "tickets", "id, number, cycle, residency, state, owner_id, created_by, created_at, updated_at, version", tickets).await;
        let events = (1..=changes)
            .map(|n| format!("({n}, {n}, 'STATE_CHANGED', 1, 'INITIAL', 'GRANTED', '{at}')"))
            .collect();
        insert(
            db,
            "ticket_events",
            "id, ticket_id, kind, actor_id, from_state, to_state, at",
            events,
        )
        .await;
    }
    let prefs = (first..=last)
        .map(|id| format!("({id}, {}, {}, '{at}', 'DAILY', 'IMMEDIATE', 'OFF', 'OFF', 'IMMEDIATE', 'IMMEDIATE', 8, 1)", boolean(true), boolean(false)))
        .collect();
    insert(db, "notification_preferences", "user_id, email, notes, updated_at, state_email, state_in_app, notes_email, notes_in_app, reminders_email, reminders_in_app, digest_hour, digest_weekday", prefs).await;
    let rows = (first..=last)
        .flat_map(|user| (1..=changes).map(move |n| (user, n)))
        .map(|(user, n)| {
            format!("({n}, {n}, {user}, 'Ticket #{n} granted', 'DIGEST', 'DAILY', 0, 0, '{at}')")
        })
        .collect();
    insert(db, "notifications", "event_id, ticket_id, recipient_id, subject, status, held_for, attempts, failures, created_at", rows).await;
}

/// Starts measuring the peak resident memory afresh from now (Linux: `clear_refs` 5 resets
/// `VmHWM` to the current size), so the seeding's strings do not count.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").ok();
}

/// This process's peak resident memory since `reset_peak`, in MiB.
fn peak_mib() -> f64 {
    status_mib("VmHWM:")
}

/// A memory line of `/proc/self/status` (`VmHWM:`, `VmRSS:`), in MiB.
fn status_mib(line: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One digest tick over everything waiting; prints its numbers.
async fn tick(label: &str, runner: &digest::Runner, database: &str, users: i64, changes: i64) {
    let cpu = (
        testkit::cpu::this_process(),
        testkit::cpu::postgres_backends(database),
    );
    reset_peak();
    let resident = status_mib("VmRSS:");
    let started = Instant::now();
    let done = runner.tick().await.unwrap();
    let took = started.elapsed();
    let process = testkit::cpu::this_process().saturating_sub(cpu.0);
    let postgres = testkit::cpu::postgres_backends(database).saturating_sub(cpu.1);
    assert_eq!(done.composed as i64, users, "every user gets one digest");
    assert_eq!(done.sent as i64, users);
    println!(
        "  {label}: {users} users x {changes} changes: {} digests in {:.2} s ({:.0} digests/s); CPU {:.2} s process + {:.2} s PostgreSQL ({:.0} µs per digest); memory {:.0} MiB at the start, peak {:.0} MiB during the tick (+{:.0})",
        done.composed,
        took.as_secs_f64(),
        users as f64 / took.as_secs_f64(),
        process.as_secs_f64(),
        postgres.as_secs_f64(),
        (process + postgres).as_secs_f64() * 1e6 / users as f64,
        resident,
        peak_mib(),
        peak_mib() - resident
    );
}

async fn run(name: &str, backend: &Backend) {
    let (users, changes, small) = (
        env("BENCH_DIGEST_USERS", 10_000i64),
        env("BENCH_DIGEST_CHANGES", 50i64),
        env("BENCH_DIGEST_SMALL", 1_000i64),
    );
    let database = testkit::TestDatabase::create(backend, "digest_bench").await;
    let db = db::connect(&database.url).await.unwrap();
    db::migrate(&db).await.unwrap();
    let data = std::env::temp_dir().join(format!("tessera-digest-bench-{}", uuid::Uuid::new_v4()));
    let vars = HashMap::from([
        ("DATABASE_URL", database.url.clone()),
        ("DATA_DIR", data.display().to_string()),
    ]);
    let view: HashMap<&str, &str> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let common = CommonSettings::from_source(&view).unwrap();
    let mail = MailSettings::from_source(&view, &common).unwrap();
    let pg = database
        .url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    println!("{name}:");
    // Due at 08:00 UTC the next day; everything waited since the day before.
    let day = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
    let created = (day + Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    let mut next = 1;
    for (label, count, at) in [("small", small, 1), ("full", users, 2)] {
        seed(&db, next, count, changes, &created).await;
        let (clock, _) = Clock::manual(day + Duration::days(at) + Duration::hours(8));
        let settings = digest::Settings {
            tick: std::time::Duration::from_secs(60),
        };
        let runner = digest::Runner::new(
            db.clone(),
            EventStream::memory(),
            mail.clone(),
            settings,
            clock,
        )
        .unwrap();
        tick(label, &runner, &pg, count, changes).await;
        next += count;
    }
    let files = std::fs::read_dir(data.join("outbox")).map_or(0, Iterator::count);
    assert_eq!(files as i64, small + users, "one email per digest");
    std::fs::remove_dir_all(&data).ok();
    db.close().await.ok();
    database.remove().await;
}

#[tokio::main]
async fn main() {
    run("sqlite", &Backend::Sqlite).await;
    if let Some(postgres) = testkit::postgres_or_skip().await {
        run("postgres", &postgres).await;
    }
}
