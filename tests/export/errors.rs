//! Jobs that cannot finish end FAILED with an error a user can read, and are never retried
//! forever; a worker that lost its lease stops writing.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, small_batches};
use common::export::JOBS_TOPIC;
use export_service::jobs::{self, Take};
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde_json::Value;
use std::time::Duration;

async fn an_unwritable_exports_folder_fails_the_job_readably(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.granted(Who::FacultyA, 2).await;
    // A file where the exports folder should be.
    std::fs::create_dir_all(&app.data_dir).unwrap();
    std::fs::write(common::export::dir(&app.data_dir), b"not a folder").unwrap();
    let _worker = app.worker(small_batches()).start();
    let id = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    let job = app.finished(&id).await;
    assert_eq!(job.status, "FAILED");
    let error = job.error.unwrap();
    assert!(
        error.starts_with("the export file could not be written"),
        "{error}"
    );
    assert!(
        !error.contains(&app.data_dir.display().to_string()),
        "no paths: {error}"
    );
    app.cleanup().await;
}

async fn a_damaged_job_fails_and_a_job_that_kills_workers_stops(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let damaged = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    let mut row = app.job(&damaged).await.into_active_model();
    row.filter = Set("{not json".into());
    row.update(&app.db).await.unwrap();

    // Started three times already, its last worker gone (the lease lapsed).
    let deadly = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    let mut row = app.job(&deadly).await.into_active_model();
    row.status = Set("RUNNING".into());
    row.attempts = Set(export_service::worker::MAX_ATTEMPTS);
    row.lease_until = Set(Some(db::now() - chrono::Duration::seconds(1)));
    row.update(&app.db).await.unwrap();

    let _worker = app.worker(small_batches()).start();
    let job = app.finished(&damaged).await;
    assert_eq!(job.status, "FAILED");
    assert_eq!(
        job.error.as_deref(),
        Some("the export request could not be read (filter); ask for it again")
    );
    let job = app.finished(&deadly).await;
    assert_eq!(job.status, "FAILED");
    assert!(
        job.error
            .as_deref()
            .unwrap()
            .starts_with("the export stopped 3 times"),
        "{job:?}"
    );
    app.cleanup().await;
}

async fn a_worker_whose_lease_lapsed_loses_the_job(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    let id: i64 = id.parse().unwrap();
    let Take::Taken { attempt: first, .. } = jobs::take(&app.db, id, Duration::ZERO).await.unwrap()
    else {
        panic!("a queued job is taken")
    };
    // Its lease lapsed at once: a second worker takes it over.
    let Take::Taken {
        attempt: second, ..
    } = jobs::take(&app.db, id, Duration::from_secs(60))
        .await
        .unwrap()
    else {
        panic!("a lapsed lease is taken over")
    };
    assert_eq!((first, second), (1, 2));
    assert!(matches!(
        jobs::take(&app.db, id, Duration::from_secs(60))
            .await
            .unwrap(),
        Take::Held
    ));
    let lease = Duration::from_secs(60);
    assert!(
        !jobs::progress(&app.db, id, first, 5, Some(10), lease)
            .await
            .unwrap()
    );
    assert!(!jobs::finish(&app.db, id, first, 10).await.unwrap());
    assert!(
        jobs::progress(&app.db, id, second, 5, Some(10), lease)
            .await
            .unwrap()
    );
    assert!(jobs::finish(&app.db, id, second, 10).await.unwrap());
    assert!(matches!(
        jobs::take(&app.db, id, lease).await.unwrap(),
        Take::Finished
    ));
    assert!(matches!(
        jobs::take(&app.db, id + 1000, lease).await.unwrap(),
        Take::Missing
    ));
    app.cleanup().await;
}

async fn entries_without_a_job_are_dropped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.stream.publish(JOBS_TOPIC, "not a job").await.unwrap();
    app.stream.publish(JOBS_TOPIC, "424242").await.unwrap();
    app.granted(Who::FacultyA, 1).await;
    let _worker = app.worker(small_batches()).start();
    let id = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    assert_eq!(app.finished(&id).await.status, "DONE");
    // Everything is acknowledged (the last ack may trail the DONE row by a moment): nothing
    // is left for another worker to claim.
    let mut left = Vec::new();
    for _ in 0..40 {
        left = app
            .stream
            .claim_stale(
                JOBS_TOPIC,
                common::export::JOBS_GROUP,
                "probe",
                Duration::ZERO,
                10,
            )
            .await
            .unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(left.is_empty(), "{left:?}");
    app.cleanup().await;
}

on_both_databases!(
    an_unwritable_exports_folder_fails_the_job_readably,
    a_damaged_job_fails_and_a_job_that_kills_workers_stops,
    a_worker_whose_lease_lapsed_loses_the_job,
    entries_without_a_job_are_dropped,
);

/// The job queue refuses the job (here: its Redis key holds something that is not a stream):
/// the caller is told UNAVAILABLE (retry), and the job row says FAILED, never QUEUED forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_refuses_the_job_is_unavailable_and_the_job_failed() {
    let Some(url) = testkit::redis_or_skip().await else {
        return;
    };
    let client = redis::Client::open(url.as_str()).unwrap();
    let prefix = format!("tessera-export-test-{}", uuid::Uuid::new_v4().simple());
    let key = format!("{prefix}:stream:{JOBS_TOPIC}");
    let mut conn = redis::aio::ConnectionManager::new(client.clone())
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("not a stream")
        .query_async(&mut conn)
        .await
        .unwrap();
    let stream = common::stream::EventStream::redis(client, &prefix)
        .await
        .unwrap();
    let app = TestApp::spawn_on(Backend::Sqlite, stream).await;

    let r = app
        .exports(
            Who::FacultyA,
            "mutation { exportTickets { id } }",
            Value::Null,
        )
        .await;
    assert_eq!(crate::support::code(&r), "UNAVAILABLE", "{r}");
    let jobs = app
        .exports(
            Who::FacultyA,
            "{ exportJobs { status error } }",
            Value::Null,
        )
        .await;
    let jobs = jobs["data"]["exportJobs"].as_array().unwrap().clone();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["status"], "FAILED");
    assert_eq!(jobs[0]["error"], "the job queue was unavailable");
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    app.cleanup().await;
}
