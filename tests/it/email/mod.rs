//! Emails end to end: mutations through the gateway, ticket-service's outbox, the relay, the
//! stream, notify-service's worker, a fake SendGrid (wiremock), and the outcome read back
//! through the gateway as `ticket { notifications { ... } }`.

use crate::on_both_databases;
use crate::support::{Backend, Options, Platform, Who};
use serde_json::{Value, json};
use std::{collections::BTreeSet, collections::HashMap, time::Duration};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{header, method, path},
};

const NOTIFICATIONS: &str = "query($id: ID!) { ticket(id: $id) { notifications { recipient { name } subject status attempts lastError } } }";

/// A platform whose emails go to `fake`, retrying fast.
async fn platform(backend: Backend, fake: &MockServer) -> Platform {
    platform_with(backend, fake, &[]).await
}

/// The same with more settings.
async fn platform_with(
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
fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(202).insert_header("X-Message-Id", "sg-message-1")
}

fn sendgrid() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", "Bearer SG.test-key"))
}

/// The requests the fake has received, as JSON bodies.
async fn received(fake: &MockServer) -> Vec<Value> {
    fake.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r: &Request| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// Waits (generously) until the fake has `count` requests and returns them; fewer fail the
/// assertion that follows rather than hanging.
async fn wait_for_requests(fake: &MockServer, count: usize) -> Vec<Value> {
    for _ in 0..400 {
        let got = received(fake).await;
        if got.len() >= count {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    received(fake).await
}

fn to(body: &Value) -> String {
    body["personalizations"][0]["to"][0]["email"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The notifications of ticket `id` once none is QUEUED any more (or after a generous wait).
async fn settled(app: &Platform, reader: &reqwest::Client, id: &str, count: usize) -> Vec<Value> {
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

async fn mutate(app: &Platform, who: &reqwest::Client, query: &str, variables: Value) -> Value {
    let body = app.gql(who, query, variables).await;
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body
}

async fn new_ticket(app: &Platform, budget: &reqwest::Client) -> String {
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

const GRANT: &str = "mutation($id: ID!) { grantTicket(ticketId: $id) { state } }";
const REQUEST: &str =
    "mutation($input: RequestOfferInput!) { requestOffer(input: $input) { state } }";
const APPROVE: &str = "mutation($id: ID!) { approveOffer(ticketId: $id) { state } }";
const DECLINE: &str =
    "mutation($id: ID!) { declineOffer(ticketId: $id, reason: \"No funding line\") { state } }";
const WITHDRAW: &str = "mutation($id: ID!) { withdrawOfferRequest(ticketId: $id) { state } }";
const RESPOND: &str = "mutation($id: ID!, $accepted: Boolean!) { recordOfferResponse(ticketId: $id, accepted: $accepted) { state } }";
const CANCEL: &str =
    "mutation($id: ID!) { cancelTicket(ticketId: $id, reason: \"Budget cut\") { state } }";
const NOTE: &str =
    "mutation($id: ID!) { addNote(ticketId: $id, body: \"Call her before Friday\") { id } }";
const PREFS: &str = "mutation($email: Boolean, $notes: Boolean) { updateNotificationPreferences(email: $email, notes: $notes) { email notes } }";

async fn every_step_emails_the_people_it_concerns(backend: Backend) {
    let fake = MockServer::start().await;
    sendgrid().respond_with(accepted()).mount(&fake).await;
    let app = platform(backend, &fake).await;
    let budget = app.signed_in(Who::Budget).await;
    let faculty = app.signed_in(Who::FacultyA).await;
    let fss = app.signed_in(Who::FssA).await;
    let chair = app.signed_in(Who::Chair).await;
    let grad = app.signed_in(Who::Grad).await;
    let other = app.signed_in(Who::FacultyB).await;
    // Faculty B will co-supervise and asks for note emails; nobody else does.
    mutate(&app, &other, PREFS, json!({"notes": true})).await;

    let mut seen = 0;
    let mut step =
        async |client: &reqwest::Client, query: &str, variables: Value, expected: &[Who]| {
            mutate(&app, client, query, variables).await;
            wait_for_requests(&fake, seen + expected.len()).await;
            // Give a wrong extra recipient the time to arrive before comparing.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let all = received(&fake).await;
            let new: BTreeSet<String> = all[seen..].iter().map(to).collect();
            let want: BTreeSet<String> = expected.iter().map(|w| w.email().to_string()).collect();
            assert_eq!(new, want, "{query}");
            assert_eq!(all.len(), seen + expected.len(), "{query}: one email each");
            seen = all.len();
            all
        };

    let id = new_ticket(&app, &budget).await;
    let ticket = json!({"id": id});
    let request = json!({"input": {"ticketId": id, "applicant": {"applicantNumber": "A-100", "name": "Ada Lovelace"}, "supervisorIds": [app.id(Who::FacultyB).to_string()]}});
    let sent = step(&budget, GRANT, ticket.clone(), &[Who::FacultyA, Who::FssA]).await;
    let grant = sent.last().unwrap();
    assert_eq!(grant["from"]["email"], "tessera@test.edu");
    assert!(
        grant["subject"].as_str().unwrap().ends_with("granted"),
        "{grant}"
    );
    let text = grant["content"][0]["value"].as_str().unwrap();
    assert!(text.contains("Bea Budget"), "{text}");
    assert!(
        text.contains(&format!("https://tessera.test.edu/tickets/{id}")),
        "{text}"
    );

    let sent = step(&faculty, REQUEST, request.clone(), &[Who::Chair]).await;
    assert!(
        sent.last().unwrap()["subject"]
            .as_str()
            .unwrap()
            .contains("Ada Lovelace")
    );
    step(&chair, DECLINE, ticket.clone(), &[Who::FacultyA, Who::FssA]).await;
    step(&fss, REQUEST, request.clone(), &[Who::Chair]).await;
    step(&faculty, WITHDRAW, ticket.clone(), &[Who::FssA]).await;
    step(&faculty, REQUEST, request.clone(), &[Who::Chair]).await;
    step(
        &chair,
        APPROVE,
        ticket.clone(),
        &[Who::FacultyA, Who::FssA, Who::Grad],
    )
    .await;
    // A note: only the supervisor who turned note emails on (the writer never).
    step(&faculty, NOTE, ticket.clone(), &[Who::FacultyB]).await;
    step(
        &grad,
        RESPOND,
        json!({"id": id, "accepted": false}),
        &[Who::FacultyA, Who::FssA, Who::FacultyB, Who::Budget],
    )
    .await;
    step(&budget, CANCEL, ticket.clone(), &[Who::FacultyA, Who::FssA]).await;

    // The record, read through the gateway by the owner: every email SENT, once.
    let rows = settled(&app, &faculty, &id, seen).await;
    assert_eq!(rows.len(), seen);
    for row in &rows {
        assert_eq!(row["status"], "SENT", "{row}");
        assert_eq!(row["attempts"], 1, "{row}");
    }
    app.cleanup().await;
}

async fn preferences_decide_who_gets_an_email(backend: Backend) {
    let fake = MockServer::start().await;
    sendgrid().respond_with(accepted()).mount(&fake).await;
    let app = platform(backend, &fake).await;
    let budget = app.signed_in(Who::Budget).await;
    let fss = app.signed_in(Who::FssA).await;
    mutate(&app, &fss, PREFS, json!({"email": false})).await;

    let id = new_ticket(&app, &budget).await;
    mutate(&app, &budget, GRANT, json!({"id": id})).await;
    let rows = settled(&app, &budget, &id, 2).await;
    let by_recipient: HashMap<String, String> = rows
        .iter()
        .map(|r| {
            (
                r["recipient"]["name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        by_recipient,
        HashMap::from([
            (Who::FacultyA.name().to_string(), "SENT".to_string()),
            (Who::FssA.name().to_string(), "SUPPRESSED".to_string()),
        ])
    );
    let sent = received(&fake).await;
    assert_eq!(
        sent.iter().map(to).collect::<Vec<_>>(),
        [Who::FacultyA.email()]
    );
    app.cleanup().await;
}

async fn a_429_then_202_sends_exactly_once(backend: Backend) {
    let fake = MockServer::start().await;
    sendgrid()
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake)
        .await;
    sendgrid().respond_with(accepted()).mount(&fake).await;
    let app = platform(backend, &fake).await;
    let budget = app.signed_in(Who::Budget).await;
    let fss = app.signed_in(Who::FssA).await;
    // One recipient only, so the 429 is hers.
    mutate(&app, &fss, PREFS, json!({"email": false})).await;
    let id = new_ticket(&app, &budget).await;
    mutate(&app, &budget, GRANT, json!({"id": id})).await;

    let rows = settled(&app, &budget, &id, 2).await;
    let faculty = rows
        .iter()
        .find(|r| r["recipient"]["name"] == Who::FacultyA.name())
        .unwrap();
    assert_eq!(faculty["status"], "SENT", "{faculty}");
    assert_eq!(faculty["attempts"], 2, "{faculty}");
    assert!(
        faculty["lastError"].as_str().unwrap().contains("429"),
        "{faculty}"
    );
    let sent = received(&fake).await;
    assert_eq!(sent.len(), 2, "the refused call and the accepted one");
    assert_eq!(to(&sent[0]), to(&sent[1]));
    // And it stays at one accepted email.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(received(&fake).await.len(), 2);
    app.cleanup().await;
}

async fn a_400_fails_at_once_with_the_providers_words(backend: Backend) {
    let fake = MockServer::start().await;
    sendgrid()
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"errors": [{"message": "The to email does not contain a valid address.", "field": "personalizations.0.to"}]}),
        ))
        .mount(&fake)
        .await;
    let app = platform(backend, &fake).await;
    let budget = app.signed_in(Who::Budget).await;
    let id = new_ticket(&app, &budget).await;
    mutate(&app, &budget, GRANT, json!({"id": id})).await;

    let rows = settled(&app, &budget, &id, 2).await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["status"], "FAILED", "{row}");
        assert_eq!(row["attempts"], 1, "{row}");
        assert_eq!(
            row["lastError"],
            "SendGrid answered 400: The to email does not contain a valid address."
        );
    }
    assert_eq!(received(&fake).await.len(), 2);
    app.cleanup().await;
}

async fn five_500s_end_failed_with_the_error_visible(backend: Backend) {
    let fake = MockServer::start().await;
    sendgrid()
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .mount(&fake)
        .await;
    let app = platform_with(backend, &fake, &[("SENDGRID_MAX_ATTEMPTS", "5")]).await;
    let budget = app.signed_in(Who::Budget).await;
    let id = new_ticket(&app, &budget).await;
    mutate(&app, &budget, GRANT, json!({"id": id})).await;
    // Ticket work goes on while the provider is down.
    let faculty = app.signed_in(Who::FacultyA).await;
    mutate(
        &app,
        &faculty,
        REQUEST,
        json!({"input": {"ticketId": id, "applicant": {"applicantNumber": "A-5", "name": "Bo"}}}),
    )
    .await;

    // The owner reads it through the gateway.
    let rows = settled(&app, &faculty, &id, 3).await;
    let owner = rows
        .iter()
        .find(|r| r["recipient"]["name"] == Who::FacultyA.name())
        .unwrap();
    assert_eq!(owner["status"], "FAILED", "{owner}");
    assert_eq!(owner["attempts"], 5, "{owner}");
    assert_eq!(
        owner["lastError"],
        "SendGrid answered 500: upstream exploded (gave up after 5 attempts)"
    );
    assert!(rows.iter().all(|r| r["status"] == "FAILED"), "{rows:?}");
    assert_eq!(received(&fake).await.len(), 5 * rows.len());
    app.cleanup().await;
}

/// A 429 is the provider asking us to slow down, not a failure: it never uses up an email's
/// `SENDGRID_MAX_ATTEMPTS` (a burst of 429s used to end emails FAILED).
async fn rate_limits_do_not_use_up_the_retry_budget(backend: Backend) {
    let fake = MockServer::start().await;
    sendgrid()
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&fake)
        .await;
    sendgrid().respond_with(accepted()).mount(&fake).await;
    let app = platform_with(backend, &fake, &[("SENDGRID_MAX_ATTEMPTS", "1")]).await;
    let budget = app.signed_in(Who::Budget).await;
    let fss = app.signed_in(Who::FssA).await;
    mutate(&app, &fss, PREFS, json!({"email": false})).await;
    let id = new_ticket(&app, &budget).await;
    mutate(&app, &budget, GRANT, json!({"id": id})).await;

    let rows = settled(&app, &budget, &id, 2).await;
    let faculty = rows
        .iter()
        .find(|r| r["recipient"]["name"] == Who::FacultyA.name())
        .unwrap();
    assert_eq!(faculty["status"], "SENT", "{faculty}");
    assert_eq!(
        faculty["attempts"], 3,
        "two 429s and the accepted call: {faculty}"
    );
    app.cleanup().await;
}

const RETRY: &str = "mutation($ids: [ID!], $since: DateTime, $until: DateTime) { retryNotifications(ids: $ids, since: $since, until: $until) { id status attempts } }";

/// FAILED emails stay FAILED until an ADMIN queues them again, one by one or all of a
/// period; then they are sent with a fresh budget.
async fn an_admin_retries_failed_emails(backend: Backend) {
    let fake = MockServer::start().await;
    let outage = sendgrid()
        .respond_with(ResponseTemplate::new(500).set_body_string("incident"))
        .with_priority(1)
        .mount_as_scoped(&fake)
        .await;
    sendgrid().respond_with(accepted()).mount(&fake).await;
    let app = platform_with(backend, &fake, &[("SENDGRID_MAX_ATTEMPTS", "1")]).await;
    let budget = app.signed_in(Who::Budget).await;
    let admin = app.signed_in(Who::Admin).await;
    let first = new_ticket(&app, &budget).await;
    mutate(&app, &budget, GRANT, json!({"id": first})).await;
    let failed = settled(&app, &budget, &first, 2).await;
    assert!(failed.iter().all(|r| r["status"] == "FAILED"), "{failed:?}");
    let second = new_ticket(&app, &budget).await;
    mutate(&app, &budget, GRANT, json!({"id": second})).await;
    assert!(
        settled(&app, &budget, &second, 2)
            .await
            .iter()
            .all(|r| r["status"] == "FAILED")
    );
    drop(outage);

    // Only an ADMIN, and only with something named.
    let refused = app.gql(&budget, RETRY, json!({"ids": ["1"]})).await;
    assert_eq!(
        crate::support::code(&refused),
        Some("FORBIDDEN"),
        "{refused}"
    );
    let refused = app.gql(&admin, RETRY, json!({})).await;
    assert_eq!(
        crate::support::code(&refused),
        Some("BAD_USER_INPUT"),
        "{refused}"
    );

    // One email by id.
    let ids = app
        .gql(
            &budget,
            "query($id: ID!) { ticket(id: $id) { notifications { id recipient { name } } } }",
            json!({"id": first}),
        )
        .await;
    let one = ids["data"]["ticket"]["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["recipient"]["name"] == Who::FacultyA.name())
        .unwrap()["id"]
        .clone();
    let queued = mutate(&app, &admin, RETRY, json!({"ids": [one]})).await;
    assert_eq!(
        queued["data"]["retryNotifications"],
        json!([{"id": one, "status": "QUEUED", "attempts": 1}])
    );
    let rows = settled(&app, &budget, &first, 2).await;
    let statuses: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["recipient"]["name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from([
            (Who::FacultyA.name().to_string(), "SENT".to_string()),
            (Who::FssA.name().to_string(), "FAILED".to_string()),
        ])
    );
    // Every FAILED email of a period: the three left.
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let queued = mutate(&app, &admin, RETRY, json!({"since": since})).await;
    assert_eq!(
        queued["data"]["retryNotifications"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "{queued}"
    );
    for ticket in [&first, &second] {
        let rows = settled(&app, &budget, ticket, 2).await;
        assert!(rows.iter().all(|r| r["status"] == "SENT"), "{rows:?}");
        assert!(rows.iter().all(|r| r["attempts"] == 2), "{rows:?}");
    }
    // Nothing FAILED is left to retry.
    let none = mutate(&app, &admin, RETRY, json!({"since": since})).await;
    assert_eq!(none["data"]["retryNotifications"], json!([]));
    app.cleanup().await;
}

/// An email queued again whose event the outbox no longer has cannot be written again: it
/// ends FAILED saying so, rather than QUEUED for ever.
async fn a_retried_email_without_its_event_fails_saying_why(backend: Backend) {
    use db::sea_orm::ConnectionTrait;
    let fake = MockServer::start().await;
    sendgrid()
        .respond_with(ResponseTemplate::new(500).set_body_string("incident"))
        .mount(&fake)
        .await;
    let app = platform_with(backend, &fake, &[("SENDGRID_MAX_ATTEMPTS", "1")]).await;
    let budget = app.signed_in(Who::Budget).await;
    let admin = app.signed_in(Who::Admin).await;
    let id = new_ticket(&app, &budget).await;
    mutate(&app, &budget, GRANT, json!({"id": id})).await;
    assert!(
        settled(&app, &budget, &id, 2)
            .await
            .iter()
            .all(|r| r["status"] == "FAILED")
    );
    app.db
        .execute_unprepared("DELETE FROM outbox")
        .await
        .unwrap();
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    mutate(&app, &admin, RETRY, json!({"since": since})).await;
    let rows = settled(&app, &budget, &id, 2).await;
    for row in &rows {
        assert_eq!(row["status"], "FAILED", "{row}");
        assert_eq!(
            row["lastError"], "the event this email is about is gone",
            "{row}"
        );
        assert_eq!(row["attempts"], 1, "{row}");
    }
    app.cleanup().await;
}

/// An email queued again for someone whose account was deactivated since is not sent: it
/// ends FAILED saying so.
async fn a_retried_email_to_a_deactivated_account_fails_saying_why(backend: Backend) {
    let fake = MockServer::start().await;
    let outage = sendgrid()
        .respond_with(ResponseTemplate::new(500).set_body_string("incident"))
        .with_priority(1)
        .mount_as_scoped(&fake)
        .await;
    sendgrid().respond_with(accepted()).mount(&fake).await;
    let app = platform_with(backend, &fake, &[("SENDGRID_MAX_ATTEMPTS", "1")]).await;
    let budget = app.signed_in(Who::Budget).await;
    let admin = app.signed_in(Who::Admin).await;
    let id = new_ticket(&app, &budget).await;
    mutate(&app, &budget, GRANT, json!({"id": id})).await;
    assert!(
        settled(&app, &budget, &id, 2)
            .await
            .iter()
            .all(|r| r["status"] == "FAILED")
    );
    drop(outage);
    mutate(
        &app,
        &admin,
        "mutation($id: ID!) { updateUser(input: {id: $id, active: false}) { id } }",
        json!({"id": app.id(Who::FssA).to_string()}),
    )
    .await;
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    mutate(&app, &admin, RETRY, json!({"since": since})).await;
    let rows = settled(&app, &budget, &id, 2).await;
    for row in &rows {
        if row["recipient"]["name"] == Who::FssA.name() {
            assert_eq!(row["status"], "FAILED", "{row}");
            assert_eq!(
                row["lastError"], "the recipient's account is no longer active",
                "{row}"
            );
        } else {
            assert_eq!(row["status"], "SENT", "{row}");
        }
    }
    app.cleanup().await;
}

on_both_databases!(
    rate_limits_do_not_use_up_the_retry_budget,
    a_retried_email_to_a_deactivated_account_fails_saying_why,
    a_retried_email_without_its_event_fails_saying_why,
    an_admin_retries_failed_emails,
    every_step_emails_the_people_it_concerns,
    preferences_decide_who_gets_an_email,
    a_429_then_202_sends_exactly_once,
    a_400_fails_at_once_with_the_providers_words,
    five_500s_end_failed_with_the_error_visible
);
