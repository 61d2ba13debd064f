//! The export benchmark on PostgreSQL (1,000,000 tickets unless `BENCH_TICKETS` says
//! otherwise): the time and peak memory of the export-service worker, run as its own process
//! the way production runs it, writing the whole list as CSV, side by side in the same run
//! with `psql \copy (select ...) to file csv` of the same columns. Goals (issue 6): at most
//! twice the `\copy` time, and RSS growth of at most 64 MiB.
//!
//! The seeded database (`tessera_export_bench_<count>`) is kept between runs, since seeding a
//! million tickets takes minutes; drop it to start over. Needs PostgreSQL and Redis (the job
//! queue between this process and the worker); without them it says so and exits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use common::{Principal, Role, export::JOBS_TOPIC, stream::EventStream};
use db::entity::{ticket, user};
use export_service::jobs::{self, FilterSpec, OrderSpec};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The same columns the export writes, in the same order and format, by PostgreSQL alone.
const COPY_QUERY: &str = "SELECT t.number, t.cycle, t.residency, t.state, o.name, \
 (SELECT string_agg(u.name, '; ' ORDER BY u.name, u.id) FROM ticket_supervisors s JOIN users u ON u.id = s.user_id WHERE s.ticket_id = t.id), \
 a.applicant_number, a.name, \
 to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), \
 to_char(t.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), \
 (SELECT string_agg(n.body, E'\\n\\n' ORDER BY n.created_at, n.id) FROM notes n WHERE n.ticket_id = t.id) \
 FROM tickets t JOIN users o ON o.id = t.owner_id LEFT JOIN applicants a ON a.id = t.applicant_id \
 ORDER BY t.number";

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The bench's database with `count` tickets, seeded once and kept: its URL, a connection,
/// how long seeding took (when it was seeded now), and the graduate office user.
async fn seeded_database(
    base: &str,
    count: i64,
) -> (
    String,
    sea_orm::DatabaseConnection,
    Option<f64>,
    user::Model,
) {
    let name = format!("tessera_export_bench_{count}");
    let url = testkit::kept_database(base, &name).await;
    let conn = db::connect(&url).await.unwrap();
    db::migrate(&conn).await.unwrap();
    let have = ticket::Entity::find().count(&conn).await.unwrap() as i64;
    let seed_secs = if have == 0 {
        eprintln!("seeding {count} tickets into {name} (kept for later runs)...");
        let started = Instant::now();
        db::seed::bulk(&conn, count, None).await.unwrap();
        Some(started.elapsed().as_secs_f64())
    } else {
        assert_eq!(
            have, count,
            "{name} holds {have} tickets; drop it to reseed"
        );
        None
    };
    let grad = user::Entity::find()
        .filter(user::Column::Email.eq("grad@bench.edu"))
        .one(&conn)
        .await
        .unwrap()
        .expect("the bench's graduate office user");
    (url, conn, seed_secs, grad)
}

/// Where the run's worker takes its jobs from and writes its files.
struct Queue {
    url: String,
    redis_url: String,
    prefix: String,
    data_dir: std::path::PathBuf,
}

/// The worker, as its own process, once it answers and has had a moment to reach the queue.
async fn start_worker(queue: &Queue) -> Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = biscuit_auth::KeyPair::new().private().to_bytes_hex();
    let child = Command::new(env!("CARGO_BIN_EXE_export-service"))
        .env("DATABASE_URL", &queue.url)
        .env("REDIS_URL", &queue.redis_url)
        .env("REDIS_KEY_PREFIX", &queue.prefix)
        .env("DATA_DIR", &queue.data_dir)
        .env("TESSERA_SIGNING_KEY", key)
        .env("PORT", port.to_string())
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("export-service binary");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "export-service did not start");
    // Let its worker reach the queue before measuring its baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    child
}

/// What the worker's export of the whole list took.
struct Exported {
    done: db::entity::export_job::Model,
    seconds: f64,
    bytes: u64,
    rss_before: u64,
    /// The worker's peak RSS.
    hwm: u64,
}

/// Queues an export of every ticket as `grad` and waits for the worker (`child`) to finish
/// it, sampling its memory; then stops the worker.
async fn export(
    queue: &Queue,
    conn: &sea_orm::DatabaseConnection,
    grad: &user::Model,
    mut child: Child,
) -> Exported {
    let pid = child.id();
    let rss_before = status_kib(pid, "VmRSS:");
    let stream = EventStream::connect(
        &common::config::CommonSettings::from_source(&std::collections::HashMap::from([
            ("DATABASE_URL", queue.url.as_str()),
            ("REDIS_URL", queue.redis_url.as_str()),
            ("REDIS_KEY_PREFIX", queue.prefix.as_str()),
        ]))
        .unwrap(),
    )
    .await
    .unwrap();
    let caller = Principal::user(grad.id, vec![Role::GradOffice], vec![]);
    let job = jobs::create(
        conn,
        &caller,
        grad.id,
        &FilterSpec::default(),
        OrderSpec::from(ticket_domain::listing::Ordering::default()),
    )
    .await
    .unwrap();
    let started = Instant::now();
    stream
        .publish(JOBS_TOPIC, &job.id.to_string())
        .await
        .unwrap();
    let mut rss_max = rss_before;
    let done = loop {
        rss_max = rss_max.max(status_kib(pid, "VmRSS:"));
        let row = jobs::get(conn, job.id).await.unwrap().unwrap();
        if row.status == "DONE" || row.status == "FAILED" {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let hwm = status_kib(pid, "VmHWM:").max(rss_max);
    child.kill().ok();
    child.wait().ok();
    assert_eq!(done.status, "DONE", "{:?}", done.error);
    let file = common::export::file(&queue.data_dir, job.id);
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    Exported {
        done,
        seconds,
        bytes,
        rss_before,
        hwm,
    }
}

/// `psql \copy` of the same columns: how long it took and the file's size.
fn copy(url: &str, data_dir: &std::path::Path) -> (f64, u64) {
    let copy_file = data_dir.join("copy.csv");
    let started = Instant::now();
    let copy = Command::new("psql")
        .arg(url)
        .arg("-X")
        .arg("-q")
        .arg("-c")
        .arg(format!(
            "\\copy ({COPY_QUERY}) TO '{}' WITH (FORMAT csv, HEADER, FORCE_QUOTE *)",
            copy_file.display()
        ))
        .status()
        .expect("psql");
    let copy_secs = started.elapsed().as_secs_f64();
    assert!(copy.success(), "psql \\copy failed");
    let copy_bytes = std::fs::metadata(&copy_file).map(|m| m.len()).unwrap_or(0);
    (copy_secs, copy_bytes)
}

fn print(
    count: i64,
    seed_secs: Option<f64>,
    exported: &Exported,
    (copy_secs, copy_bytes): (f64, u64),
) {
    let Exported {
        done,
        seconds: export_secs,
        bytes: export_bytes,
        rss_before,
        hwm,
    } = exported;
    println!();
    println!(
        "export bench: {count} tickets on PostgreSQL, worker batch size {}",
        std::env::var("EXPORT_BATCH_SIZE").unwrap_or_else(|_| "1000 (default)".into())
    );
    if let Some(secs) = seed_secs {
        println!("  seeding                  {secs:>10.1} s");
    }
    println!("  rows exported            {:>10}", done.rows_written);
    println!(
        "  export-service worker    {export_secs:>10.2} s   {:>8.1} MB",
        *export_bytes as f64 / 1e6
    );
    println!(
        "  psql \\copy               {copy_secs:>10.2} s   {:>8.1} MB",
        copy_bytes as f64 / 1e6
    );
    println!(
        "  ratio (goal <= 2.0)      {:>10.2}",
        export_secs / copy_secs
    );
    println!("  worker RSS before        {:>10.1} MiB", mib(*rss_before));
    println!("  worker RSS peak          {:>10.1} MiB", mib(*hwm));
    println!(
        "  RSS growth (goal <= 64)  {:>10.1} MiB",
        mib(hwm.saturating_sub(*rss_before))
    );
}

/// Deletes the run's queue and progress streams.
async fn clean_redis(queue: &Queue) {
    if let Ok(client) = redis::Client::open(queue.redis_url.as_str())
        && let Ok(mut redis) = client.get_multiplexed_async_connection().await
    {
        let prefix = &queue.prefix;
        let keys = [
            format!("{prefix}:stream:{JOBS_TOPIC}"),
            format!("{prefix}:stream:{}", common::export::PROGRESS_TOPIC),
        ];
        let _: Result<i64, _> = redis::cmd("DEL").arg(&keys).query_async(&mut redis).await;
    }
}

#[tokio::main]
async fn main() {
    let count: i64 = std::env::var("BENCH_TICKETS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let Some(testkit::Backend::Postgres(base)) = testkit::postgres_or_skip().await else {
        eprintln!("export bench: skipped, it needs PostgreSQL");
        return;
    };
    let Some(redis_url) = testkit::redis_or_skip().await else {
        eprintln!("export bench: skipped, it needs Redis");
        return;
    };
    let (url, conn, seed_secs, grad) = seeded_database(&base, count).await;
    let queue = Queue {
        url,
        redis_url,
        prefix: format!("tessera-export-bench-{}", std::process::id()),
        data_dir: std::env::temp_dir().join(format!("tessera-export-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&queue.data_dir).unwrap();
    let worker = start_worker(&queue).await;
    let exported = export(&queue, &conn, &grad, worker).await;
    let copied = copy(&queue.url, &queue.data_dir);
    print(count, seed_secs, &exported, copied);
    let _ = std::fs::remove_dir_all(&queue.data_dir);
    clean_redis(&queue).await;
}
