//! A worker killed part way through a job: its job is RUNNING with part of the rows, and it
//! completes once a worker runs again, whether the queue survived (Redis, or the same
//! process) or not (the in-process queue of a restarted process).

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, parse_strict};
use common::stream::EventStream;
use export_service::{Worker, config::WorkerSettings};
use serde_json::Value;
use std::time::Duration;

/// Small batches with a pause between them, so that the worker is reliably part way when it
/// is killed, and a short lease, so that the takeover does not wait long.
fn slow() -> WorkerSettings {
    WorkerSettings {
        batch_size: 2,
        batch_pause: Duration::from_millis(100),
        lease: Duration::from_millis(1000),
        ..WorkerSettings::default()
    }
}

/// Starts a job under a worker and kills the worker once some rows are written; returns the
/// job id.
async fn kill_part_way(app: &TestApp) -> String {
    app.granted(Who::FacultyA, 20).await;
    let worker = app.worker(slow()).start();
    let id = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    let mut seen = 0;
    for _ in 0..400 {
        let job = app.job(&id).await;
        if job.status == "RUNNING" && job.rows_written > 0 {
            seen = job.rows_written;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen > 0, "the job never started");
    worker.abort();
    assert!(worker.await.unwrap_err().is_cancelled());
    let job = app.job(&id).await;
    assert_eq!(job.status, "RUNNING", "killed part way: {job:?}");
    assert!(job.rows_written < 20, "{job:?}");
    assert!(
        !common::export::file(&app.data_dir, id.parse().unwrap()).exists(),
        "no finished file"
    );
    id
}

async fn check_complete(app: &TestApp, id: &str) {
    let job = app.finished(id).await;
    assert_eq!(job.status, "DONE", "{job:?}");
    assert_eq!(job.attempts, 2, "taken over once");
    assert_eq!(job.rows_written, 20);
    let rows = parse_strict(&app.file(id));
    assert_eq!(rows.len(), 21, "header and every row, each once");
    let leftovers: Vec<_> = std::fs::read_dir(common::export::dir(&app.data_dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

async fn a_killed_workers_job_completes_when_another_claims_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = kill_part_way(&app).await;
    let _restarted = app.worker(slow()).start();
    check_complete(&app, &id).await;
    app.cleanup().await;
}

async fn a_killed_workers_job_completes_after_a_restart_that_lost_the_queue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = kill_part_way(&app).await;
    // A new process: a fresh in-process queue, nothing pending in it.
    let _restarted = Worker::new(
        app.db.clone(),
        EventStream::memory(),
        app.data_dir.clone(),
        slow(),
    )
    .start();
    check_complete(&app, &id).await;
    app.cleanup().await;
}

on_both_databases!(
    a_killed_workers_job_completes_when_another_claims_it,
    a_killed_workers_job_completes_after_a_restart_that_lost_the_queue,
);

/// The same through Redis: the entry stays pending under the dead consumer and is claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_job_completes_through_redis() {
    let Some(url) = testkit::redis_or_skip().await else {
        return;
    };
    let client = redis::Client::open(url.as_str()).unwrap();
    let conn = redis::aio::ConnectionManager::new(client.clone())
        .await
        .unwrap();
    let prefix = format!("tessera-export-test-{}", uuid::Uuid::new_v4().simple());
    let stream = EventStream::redis(client, &prefix).await.unwrap();
    let app = TestApp::spawn_on(Backend::Sqlite, stream).await;
    let id = kill_part_way(&app).await;
    let restarted = app.worker(slow()).start();
    check_complete(&app, &id).await;
    restarted.abort();
    app.cleanup().await;
    let keys = [
        format!("{prefix}:stream:{}", common::export::JOBS_TOPIC),
        format!("{prefix}:stream:{}", common::export::PROGRESS_TOPIC),
    ];
    let _: i64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn.clone())
        .await
        .unwrap();
}
