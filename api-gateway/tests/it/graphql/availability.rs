//! Subgraphs down or silent: UNAVAILABLE at once or after the timeout, never a hang; health,
//! metrics and the start page.

use super::{create_ticket, record_notification};
use crate::support::{Backend, Options, Platform, Who, code};
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_subgraph_is_unavailable_not_a_hang() {
    let app = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            subgraph_timeout: Some(Duration::from_secs(2)),
            ..Options::default()
        },
    )
    .await;
    let client = app.signed_in(Who::Grad).await;
    let ready = reqwest::get(format!("{}/readyz", app.url)).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body = app
        .gql(&client, "{ ticketStats { total } }", json!({}))
        .await;
    assert_eq!(body["data"]["ticketStats"]["total"], 0, "{body}");

    let mut app = app;
    app.ticket_service.kill();
    // UNAVAILABLE is 503 whichever dependency is down (the session store's is 503 too).
    let response = app
        .post(&client, "{ __typename ticketStats { total } }", json!({}))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), Some("UNAVAILABLE"), "{body}");
    assert!(
        !body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "no internals leak: {body}"
    );
    let ready = reqwest::get(format!("{}/readyz", app.url)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["down"], json!(["ticket_service"]), "{ready}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subgraph_that_never_answers_times_out_as_unavailable() {
    // Accepts connections and reads requests, but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let app = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            subgraph_timeout: Some(Duration::from_millis(500)),
            ticket_service_url: Some(format!("http://127.0.0.1:{port}/graphql")),
            ..Options::default()
        },
    )
    .await;
    let client = app.signed_in(Who::Grad).await;
    let body = app
        .gql(&client, "{ ticketStats { total } }", json!({}))
        .await;
    assert_eq!(code(&body), Some("UNAVAILABLE"), "{body}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_the_start_page() {
    let app = Platform::spawn(Backend::Sqlite).await;
    assert_eq!(
        reqwest::get(format!("{}/healthz", app.url))
            .await
            .unwrap()
            .status(),
        200
    );
    let client = app.signed_in(Who::Chair).await;
    app.gql(&client, "{ ticketStats { total } }", json!({}))
        .await;
    let metrics = reqwest::get(format!("{}/metrics", app.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "tessera_gateway_graphql_requests_total{operation=\"query\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("tessera_gateway_login_attempts_total{outcome=\"ok\"} 1"),
        "{metrics}"
    );
    // Emails by status and queue depths, read from the database: one failed email, and
    // one change waiting in the outbox (no relay runs in this platform).
    let budget = app.signed_in(Who::Budget).await;
    let ticket = create_ticket(&app, &budget).await;
    let id: i64 = ticket["id"].as_str().unwrap().parse().unwrap();
    record_notification(&app, id, Who::FacultyA, "FAILED").await;
    webhook_test_event(&app, &budget).await;
    let metrics = reqwest::get(format!("{}/metrics", app.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "tessera_gateway_emails{status=\"FAILED\"} 1",
        "tessera_gateway_emails{status=\"SENT\"} 0",
        "tessera_gateway_queue_depth{queue=\"outbox\"} 1",
        "tessera_gateway_queue_depth{queue=\"exports\"} 0",
        "tessera_gateway_webhook_deliveries{status=\"PENDING\"} 1",
        "tessera_gateway_webhook_deliveries{status=\"DELIVERED\"} 0",
        "tessera_gateway_queue_depth{queue=\"webhooks\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    assert!(
        metrics.contains("tessera_gateway_graphql_request_duration_seconds_bucket"),
        "{metrics}"
    );
    let page = reqwest::get(format!("{}/some/deep/link", app.url))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // Every other path is the web client (its own test checks the assets).
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<div id=\"root\"></div>")
    );
    // Logging out without a session is harmless.
    let r = reqwest::Client::new()
        .post(format!("{}/auth/logout", app.url))
        .header(COOKIE, "tessera_session=nothing")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    app.cleanup().await;
}

/// A webhook of `client`'s with a test event that waits (no webhook worker runs in this
/// platform): one PENDING delivery for `/metrics`.
async fn webhook_test_event(app: &Platform, client: &reqwest::Client) {
    let made = app
        .gql(
            client,
            "mutation { createWebhook(input: {url: \"https://hooks.example.org/in\"}) { webhook { id } } }",
            json!({}),
        )
        .await;
    let hook = made["data"]["createWebhook"]["webhook"]["id"].clone();
    let sent = app
        .gql(
            client,
            "mutation($id: ID!) { sendTestWebhookEvent(id: $id) { status } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(
        sent["data"]["sendTestWebhookEvent"]["status"], "PENDING",
        "{made} {sent}"
    );
}
