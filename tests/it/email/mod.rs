//! Emails end to end: mutations through the gateway, ticket-service's outbox, the relay, the
//! stream, notify-service's worker, a fake SendGrid (wiremock), and the outcome read back
//! through the gateway as `ticket { notifications { ... } }`.

mod provider;
mod retries;
mod workflow;

use crate::support::{Backend, Options, Platform, Who};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{header, method, path},
};

const NOTIFICATIONS: &str = "query($id: ID!) { ticket(id: $id) { notifications { recipient { name } subject status attempts lastError } } }";

/// A platform whose emails go to `fake`, retrying fast.
pub async fn platform(backend: Backend, fake: &MockServer) -> Platform {
    platform_with(backend, fake, &[]).await
}

/// The same with more settings.
pub async fn platform_with(
    backend: Backend,
    fake: &MockServer,
    settings: &[(&'static str, &str)],
) -> Platform {
    let mut mail = HashMap::from([
        ("SENDGRID_API_URL", fake.uri()),
        ("SENDGRID_API_KEY", "SG.test-key".to_string()),
        ("MAIL_FROM", "Tessera <tessera@test.edu>".to_string()),
        ("PUBLIC_URL", "https://tessera.test.edu".to_string()),
        ("SENDGRID_RETRY_BASE_MS", "20".to_string()),
        ("SENDGRID_RETRY_MAX_MS", "100".to_string()),
    ]);
    mail.extend(settings.iter().map(|(k, v)| (*k, v.to_string())));
    Platform::spawn_with(
        backend,
        Options {
            mail: Some(mail),
            ..Options::default()
        },
    )
    .await
}

/// SendGrid's answer to an accepted email.
pub fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-message-1")
}

pub fn sendgrid() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", "Bearer SG.test-key"))
}

/// The requests the fake has received, as JSON bodies.
pub async fn received(fake: &MockServer) -> Vec<Value> {
    fake.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r: &Request| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// Waits (generously) until the fake has `count` requests and returns them; fewer fail the
/// assertion that follows rather than hanging.
pub async fn wait_for_requests(fake: &MockServer, count: usize) -> Vec<Value> {
    for _ in 0..400 {
        let got = received(fake).await;
        if got.len() >= count {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    received(fake).await
}

pub fn to(body: &Value) -> String {
    body["personalizations"][0]["to"][0]["email"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The notifications of ticket `id` once none is QUEUED any more (or after a generous wait).
pub async fn settled(
    app: &Platform,
    reader: &reqwest::Client,
    id: &str,
    count: usize,
) -> Vec<Value> {
    let mut rows = Vec::new();
    for _ in 0..400 {
        let body = app.gql(reader, NOTIFICATIONS, json!({"id": id})).await;
        assert!(body.get("errors").is_none(), "{body}");
        rows = body["data"]["ticket"]["notifications"]
            .as_array()
            .unwrap()
            .clone();
        if rows.len() >= count && rows.iter().all(|n| n["status"] != "QUEUED") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rows
}

pub async fn mutate(app: &Platform, who: &reqwest::Client, query: &str, variables: Value) -> Value {
    let body = app.gql(who, query, variables).await;
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body
}

pub async fn new_ticket(app: &Platform, budget: &reqwest::Client) -> String {
    let body = mutate(
        app,
        budget,
        "mutation($input: CreateTicketsInput!) { createTickets(input: $input) { id } }",
        json!({"input": {"ownerId": app.id(Who::FacultyA).to_string(), "residency": "DOMESTIC", "cycle": "2027", "count": 1}}),
    )
    .await;
    body["data"]["createTickets"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub const GRANT: &str = "mutation($id: ID!) { grantTicket(ticketId: $id) { state } }";
pub const REQUEST: &str =
    "mutation($input: RequestOfferInput!) { requestOffer(input: $input) { state } }";
pub const APPROVE: &str = "mutation($id: ID!) { approveOffer(ticketId: $id) { state } }";
pub const DECLINE: &str =
    "mutation($id: ID!) { declineOffer(ticketId: $id, reason: \"No funding line\") { state } }";
pub const WITHDRAW: &str = "mutation($id: ID!) { withdrawOfferRequest(ticketId: $id) { state } }";
pub const RESPOND: &str = "mutation($id: ID!, $accepted: Boolean!) { recordOfferResponse(ticketId: $id, accepted: $accepted) { state } }";
pub const CANCEL: &str =
    "mutation($id: ID!) { cancelTicket(ticketId: $id, reason: \"Budget cut\") { state } }";
pub const NOTE: &str =
    "mutation($id: ID!) { addNote(ticketId: $id, body: \"Call her before Friday\") { id } }";
pub const PREFS: &str = "mutation($email: Boolean, $notes: Boolean) { updateNotificationPreferences(email: $email, notes: $notes) { email notes } }";

/// SendGrid down (500) until the returned guard is dropped, accepting after.
pub async fn down_until_dropped(fake: &MockServer) -> wiremock::MockGuard {
    let outage = sendgrid()
        .respond_with(ResponseTemplate::new(500).set_body_string("incident"))
        .with_priority(1)
        .mount_as_scoped(fake)
        .await;
    sendgrid().respond_with(accepted()).mount(fake).await;
    outage
}

/// SendGrid answering 429 (retry after a second) `times` times, accepting after.
pub async fn rate_limited_then_accepted(fake: &MockServer, times: u64) {
    sendgrid()
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(times)
        .with_priority(1)
        .mount(fake)
        .await;
    sendgrid().respond_with(accepted()).mount(fake).await;
}

/// The FSS turns emails off, then a new ticket is granted, so the owner is the one
/// recipient emailed: the ticket's id and its notifications once settled.
pub async fn a_grant_emailing_the_owner_only(app: &Platform) -> (String, Vec<Value>) {
    let budget = app.signed_in(Who::Budget).await;
    let fss = app.signed_in(Who::FssA).await;
    mutate(app, &fss, PREFS, json!({"email": false})).await;
    let id = new_ticket(app, &budget).await;
    mutate(app, &budget, GRANT, json!({"id": id})).await;
    let rows = settled(app, &budget, &id, 2).await;
    (id, rows)
}

/// Each notification's status by its recipient's name.
pub fn status_by_recipient(rows: &[Value]) -> BTreeMap<String, String> {
    rows.iter()
        .map(|r| {
            (
                r["recipient"]["name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The notification to faculty A among `rows`.
pub fn the_owners(rows: &[Value]) -> &Value {
    rows.iter()
        .find(|r| r["recipient"]["name"] == Who::FacultyA.name())
        .unwrap()
}
