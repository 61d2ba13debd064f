//! Exports through the gateway: `exportTickets` and `exportJob` federated with the requester's
//! name from ticket-service, and `GET /exports/{id}.csv` streaming the file to its requester
//! and to roles that see every ticket, 404 for everyone and everything else.

use crate::on_both_databases;
use crate::support::{Backend, Platform, Who};
use serde_json::{Value, json};
use std::time::Duration;

async fn done(app: &Platform, client: &reqwest::Client, id: &str) -> Value {
    for _ in 0..600 {
        let r = app
            .gql(
                client,
                "query($id: ID!) { exportJob(id: $id) { status downloadUrl rowsWritten totalRows error requestedBy { name } } }",
                json!({"id": id}),
            )
            .await;
        let job = r["data"]["exportJob"].clone();
        if job["status"] == "DONE" || job["status"] == "FAILED" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("export {id} never finished");
}

/// Three tickets of Alice's, exported by her (DESC by number) and DONE: her client, the
/// job's id and its download URL.
async fn alices_finished_export(app: &Platform) -> (reqwest::Client, String, String) {
    let budget = app.signed_in(Who::Budget).await;
    let r = app
        .gql(
            &budget,
            "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\", count: 3}) { id } }",
            json!({"o": app.id(Who::FacultyA).to_string()}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let alice = app.signed_in(Who::FacultyA).await;
    let r = app
        .gql(
            &alice,
            "mutation { exportTickets(orderBy: {field: NUMBER, direction: DESC}) { id status requestedBy { name } } }",
            Value::Null,
        )
        .await;
    let job = &r["data"]["exportTickets"];
    assert_eq!(job["status"], "QUEUED", "{r}");
    assert_eq!(
        job["requestedBy"]["name"], "Alice Faculty",
        "through federation"
    );
    let id = job["id"].as_str().unwrap().to_owned();
    let job = done(app, &alice, &id).await;
    assert_eq!(job["status"], "DONE", "{job}");
    assert_eq!(
        (job["rowsWritten"].as_i64(), job["totalRows"].as_i64()),
        (Some(3), Some(3))
    );
    let path = job["downloadUrl"].as_str().unwrap().to_owned();
    assert_eq!(path, format!("/exports/{id}.csv"));
    let url = format!("{}{path}", app.url);
    (alice, id, url)
}

/// `who` downloads the export at `url`: a CSV attachment with a BOM, a header and three rows.
async fn downloads_the_csv(app: &Platform, url: &str, who: Who) {
    let client = app.signed_in(who).await;
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{who:?}");
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let body = response.bytes().await.unwrap();
    assert!(body.starts_with(
        b"\xEF\xBB\xBF\"Ticket\",\"Cycle\",\"Funding\",\"State\",\"Faculty member\","
    ));
    let text = std::str::from_utf8(&body[3..]).unwrap();
    assert_eq!(text.matches("\r\n").count(), 4, "a header and three rows");
    assert!(text.contains("\"Domestic\",\"Issued\",\"Alice Faculty\""));
}

/// Everyone else gets 404 for export `id` (and cannot read its job), as does anyone for an
/// export that does not exist.
async fn others_and_missing_exports_are_404(app: &Platform, url: &str, id: &str) {
    for who in [Who::FacultyB, Who::FssA] {
        let client = app.signed_in(who).await;
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 404, "{who:?} is not the requester");
        // Nor can they read the job.
        let r = app
            .gql(
                &client,
                "query($id: ID!) { exportJob(id: $id) { id } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(r["data"]["exportJob"], Value::Null, "{r}");
    }
    let anonymous = app.client();
    assert_eq!(anonymous.get(url).send().await.unwrap().status(), 404);
    let grad = app.signed_in(Who::Grad).await;
    for missing in [
        "/exports/999999.csv",
        "/exports/abc.csv",
        &format!("/exports/{id}"),
    ] {
        let response = grad
            .get(format!("{}{missing}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{missing}");
    }
}

async fn downloads_go_to_the_requester_and_roles_that_see_everything(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let (alice, id, url) = alices_finished_export(&app).await;
    for who in [Who::FacultyA, Who::Grad, Who::Admin] {
        downloads_the_csv(&app, &url, who).await;
    }
    others_and_missing_exports_are_404(&app, &url, &id).await;

    // Expired: the file is gone, the job says so, the download is 404 like the rest.
    let expired = export_service::jobs::expire(&app.db, &app.data_dir, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(alice.get(&url).send().await.unwrap().status(), 404);
    let job = done(&app, &alice, &id).await;
    assert_eq!(job["downloadUrl"], Value::Null);
    app.cleanup().await;
}

/// A token made through `client`'s session with `scopes`.
async fn token(app: &Platform, client: &reqwest::Client, scopes: &[&str]) -> String {
    let r = app
        .gql(
            client,
            "mutation($s: [ApiScope!]!) { createApiToken(name: \"dashboard\", scopes: $s) { token } }",
            json!({"s": scopes}),
        )
        .await;
    r["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

async fn a_token_downloads_with_the_exports_scope_only(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let alice = app.signed_in(Who::FacultyA).await;
    let r = app
        .gql(&alice, "mutation { exportTickets { id } }", Value::Null)
        .await;
    let id = r["data"]["exportTickets"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    assert_eq!(done(&app, &alice, &id).await["status"], "DONE");
    let url = format!("{}/exports/{id}.csv", app.url);
    let get = |token: String| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };

    let exports = token(&app, &alice, &["EXPORTS"]).await;
    let response = get(exports).await;
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().starts_with(b"\xEF\xBB\xBF"));
    // Without the scope: refused, in words.
    let read_only = token(&app, &alice, &["TICKETS_READ"]).await;
    let response = get(read_only).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("EXPORTS"));
    // Another faculty member's token, with the scope, sees no such export.
    let bob = app.signed_in(Who::FacultyB).await;
    assert_eq!(
        get(token(&app, &bob, &["EXPORTS"]).await).await.status(),
        404
    );
    // Not a token at all.
    assert_eq!(get("garbage".into()).await.status(), 401);
    app.cleanup().await;
}

async fn an_unfinished_export_cannot_be_downloaded(backend: Backend) {
    let app = Platform::spawn(backend).await;
    // Stop the worker: the job stays QUEUED.
    app.export_worker.abort();
    let alice = app.signed_in(Who::FacultyA).await;
    let r = app
        .gql(
            &alice,
            "mutation { exportTickets { id downloadUrl } }",
            Value::Null,
        )
        .await;
    let id = r["data"]["exportTickets"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(r["data"]["exportTickets"]["downloadUrl"], Value::Null);
    let response = alice
        .get(format!("{}/exports/{id}.csv", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    app.cleanup().await;
}

on_both_databases!(
    a_token_downloads_with_the_exports_scope_only,
    downloads_go_to_the_requester_and_roles_that_see_everything,
    an_unfinished_export_cannot_be_downloaded,
);
