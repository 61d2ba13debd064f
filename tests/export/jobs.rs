//! Reading jobs: who may see which, the caller's own list, input errors with the contract's
//! codes, progress on the stream, and expiry.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, ok, small_batches};
use common::{
    ExportStatus, Principal,
    export::{ExportProgress, PROGRESS_TOPIC},
};
use serde_json::{Value, json};
use std::time::Duration;

const JOB: &str = "query($id: ID!) { exportJob(id: $id) { id status downloadUrl expiredAt } }";

async fn only_the_requester_and_roles_that_see_everything_read_a_job(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mine = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    let theirs = app.export(Who::FacultyB, Value::Null, Value::Null).await;
    for (who, visible) in [
        (Who::FacultyA, true),
        (Who::Grad, true),
        (Who::Budget, true),
        (Who::FacultyB, false),
        (Who::FssA, false),
    ] {
        let r = app.exports(who, JOB, json!({"id": mine})).await;
        assert_eq!(
            ok(&r)["exportJob"]["id"] == json!(mine),
            visible,
            "{who:?}: {r}"
        );
    }
    for id in ["nope", "999999"] {
        let r = app.exports(Who::Grad, JOB, json!({"id": id})).await;
        assert_eq!(ok(&r)["exportJob"], Value::Null);
    }
    let r = app
        .exports(Who::FacultyA, "{ exportJobs { id } }", Value::Null)
        .await;
    assert_eq!(ok(&r)["exportJobs"], json!([{"id": mine}]), "only my own");
    let newer = app
        .export(Who::FacultyA, json!({"cycle": "2027"}), Value::Null)
        .await;
    let r = app
        .exports(
            Who::FacultyA,
            "{ exportJobs(first: 1) { id filter } }",
            Value::Null,
        )
        .await;
    assert_eq!(
        ok(&r)["exportJobs"],
        json!([{"id": newer, "filter": "{\"cycle\":\"2027\"}"}]),
        "newest first"
    );
    let _ = theirs;
    app.cleanup().await;
}

async fn bad_input_gets_the_contracts_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let export = "mutation($f: TicketFilter) { exportTickets(filter: $f) { id } }";
    for (filter, field) in [
        (json!({"cycle": "27"}), "cycle"),
        (json!({"ownerId": "x"}), "ownerId"),
    ] {
        let r = app.exports(Who::Grad, export, json!({"f": filter})).await;
        assert_eq!(code(&r), "BAD_USER_INPUT", "{r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], field);
    }
    for first in [0, 101] {
        let r = app
            .exports(
                Who::Grad,
                "query($n: Int) { exportJobs(first: $n) { id } }",
                json!({"n": first}),
            )
            .await;
        assert_eq!(code(&r), "BAD_USER_INPUT");
        assert_eq!(r["errors"][0]["extensions"]["field"], "first");
    }
    let anonymous = Principal::anonymous();
    for query in ["mutation { exportTickets { id } }", "{ exportJobs { id } }"] {
        let r = app.exports_as(&anonymous, query, Value::Null).await;
        assert_eq!(code(&r), "UNAUTHENTICATED", "{query}");
    }
    let r = app.exports_as(&anonymous, JOB, json!({"id": "1"})).await;
    assert_eq!(code(&r), "UNAUTHENTICATED");
    // Nothing was queued by the refused calls.
    let r = app
        .exports(Who::Grad, "{ exportJobs { id } }", Value::Null)
        .await;
    assert_eq!(ok(&r)["exportJobs"], json!([]));
    app.cleanup().await;
}

async fn progress_is_published_until_done(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let _worker = app.worker(small_batches()).start();
    app.granted(Who::FacultyA, 7).await;
    let id = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    assert_eq!(app.finished(&id).await.status, "DONE");
    let messages: Vec<ExportProgress> = app
        .stream
        .read_after(PROGRESS_TOPIC, None, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .filter(|p: &ExportProgress| p.job_id.to_string() == id)
        .collect();
    let rows: Vec<(ExportStatus, i64)> = messages
        .iter()
        .map(|m| (m.status, m.rows_written))
        .collect();
    // Batches of three: 0, 3, 6, 7, then DONE.
    assert_eq!(
        rows,
        [
            (ExportStatus::Running, 0),
            (ExportStatus::Running, 3),
            (ExportStatus::Running, 6),
            (ExportStatus::Running, 7),
            (ExportStatus::Done, 7),
        ]
    );
    assert!(messages.iter().all(|m| m.total_rows == Some(7)));
    assert!(messages.last().unwrap().is_final());
    assert_eq!(messages[0].requested_by, app.id(Who::FacultyA));
    app.cleanup().await;
}

async fn old_files_expire_and_their_jobs_say_so(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let _worker = app.worker(small_batches()).start();
    app.granted(Who::FacultyA, 2).await;
    let id = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    assert_eq!(app.finished(&id).await.status, "DONE");
    let path = common::export::file(&app.data_dir, id.parse().unwrap());
    assert!(path.exists());
    // A week is not over yet.
    let kept = export_service::jobs::expire(&app.db, &app.data_dir, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(kept, 0);
    assert!(path.exists());
    let expired = export_service::jobs::expire(&app.db, &app.data_dir, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    assert!(!path.exists());
    let r = app.exports(Who::FacultyA, JOB, json!({"id": id})).await;
    let job = &ok(&r)["exportJob"];
    assert_eq!(job["status"], "DONE");
    assert_eq!(job["downloadUrl"], Value::Null);
    assert!(job["expiredAt"].is_string(), "{job}");
    // Expired once: a second sweep has nothing to do.
    let again = export_service::jobs::expire(&app.db, &app.data_dir, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(again, 0);
    app.cleanup().await;
}

on_both_databases!(
    only_the_requester_and_roles_that_see_everything_read_a_job,
    bad_input_gets_the_contracts_codes,
    progress_is_published_until_done,
    old_files_expire_and_their_jobs_say_so,
);
