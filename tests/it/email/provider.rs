//! What SendGrid's answers do to an email: a 429 is retried without using up the budget, a
//! 400 fails at once with the provider's words, 500s fail after the last attempt.

use super::{GRANT, REQUEST};
use super::{
    a_grant_emailing_the_owner_only, mutate, new_ticket, platform, platform_with,
    rate_limited_then_accepted, received, sendgrid, settled, the_owners, to,
};
use crate::on_both_databases;
use crate::support::{Backend, Who};
use serde_json::json;
use std::time::Duration;
use wiremock::{MockServer, ResponseTemplate};

async fn a_429_then_202_sends_exactly_once(backend: Backend) {
    let fake = MockServer::start().await;
    rate_limited_then_accepted(&fake, 1).await;
    let app = platform(backend, &fake).await;
    // One recipient only, so the 429 is hers.
    let (_, rows) = a_grant_emailing_the_owner_only(&app).await;
    let faculty = the_owners(&rows);
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
    let owner = the_owners(&rows);
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
    rate_limited_then_accepted(&fake, 2).await;
    let app = platform_with(backend, &fake, &[("SENDGRID_MAX_ATTEMPTS", "1")]).await;
    let (_, rows) = a_grant_emailing_the_owner_only(&app).await;
    let faculty = the_owners(&rows);
    assert_eq!(faculty["status"], "SENT", "{faculty}");
    assert_eq!(
        faculty["attempts"], 3,
        "two 429s and the accepted call: {faculty}"
    );
    app.cleanup().await;
}

on_both_databases!(
    rate_limits_do_not_use_up_the_retry_budget,
    a_429_then_202_sends_exactly_once,
    a_400_fails_at_once_with_the_providers_words,
    five_500s_end_failed_with_the_error_visible
);
