//! FAILED emails queued again by an ADMIN: sent with a fresh budget, or FAILED saying why
//! when they can no longer be sent.

use super::GRANT;
use super::{
    down_until_dropped, mutate, new_ticket, platform_with, sendgrid, settled, status_by_recipient,
};
use crate::on_both_databases;
use crate::support::{Backend, Platform, Who, code};
use serde_json::json;
use std::collections::BTreeMap;
use wiremock::{MockServer, ResponseTemplate};

const RETRY: &str = "mutation($ids: [ID!], $since: DateTime, $until: DateTime) { retryNotifications(ids: $ids, since: $since, until: $until) { id status attempts } }";

/// A granted ticket whose two emails (owner and FSS) all ended FAILED; its id.
async fn a_failed_grant(app: &Platform, budget: &reqwest::Client) -> String {
    let id = new_ticket(app, budget).await;
    mutate(app, budget, GRANT, json!({"id": id})).await;
    let failed = settled(app, budget, &id, 2).await;
    assert!(failed.iter().all(|r| r["status"] == "FAILED"), "{failed:?}");
    id
}

/// Only an ADMIN queues emails again, and only with something named.
async fn only_an_admin_retries_and_only_what_is_named(
    app: &Platform,
    budget: &reqwest::Client,
    admin: &reqwest::Client,
) {
    let refused = app.gql(budget, RETRY, json!({"ids": ["1"]})).await;
    assert_eq!(code(&refused), Some("FORBIDDEN"), "{refused}");
    let refused = app.gql(admin, RETRY, json!({})).await;
    assert_eq!(code(&refused), Some("BAD_USER_INPUT"), "{refused}");
}

/// The owner's email of ticket `first` queued again by id, and then SENT; the FSS's stays
/// FAILED.
async fn one_failed_email_is_retried_by_id(
    app: &Platform,
    budget: &reqwest::Client,
    admin: &reqwest::Client,
    first: &str,
) {
    let ids = app
        .gql(
            budget,
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
    let queued = mutate(app, admin, RETRY, json!({"ids": [one]})).await;
    assert_eq!(
        queued["data"]["retryNotifications"],
        json!([{"id": one, "status": "QUEUED", "attempts": 1}])
    );
    let rows = settled(app, budget, first, 2).await;
    assert_eq!(
        status_by_recipient(&rows),
        BTreeMap::from([
            (Who::FacultyA.name().to_string(), "SENT".to_string()),
            (Who::FssA.name().to_string(), "FAILED".to_string()),
        ])
    );
}

/// FAILED emails stay FAILED until an ADMIN queues them again, one by one or all of a
/// period; then they are sent with a fresh budget.
async fn an_admin_retries_failed_emails(backend: Backend) {
    let fake = MockServer::start().await;
    let outage = down_until_dropped(&fake).await;
    let app = platform_with(backend, &fake, &[("SENDGRID_MAX_ATTEMPTS", "1")]).await;
    let budget = app.signed_in(Who::Budget).await;
    let admin = app.signed_in(Who::Admin).await;
    let first = a_failed_grant(&app, &budget).await;
    let second = a_failed_grant(&app, &budget).await;
    drop(outage);

    only_an_admin_retries_and_only_what_is_named(&app, &budget, &admin).await;
    one_failed_email_is_retried_by_id(&app, &budget, &admin, &first).await;
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
    let id = a_failed_grant(&app, &budget).await;
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
    let outage = down_until_dropped(&fake).await;
    let app = platform_with(backend, &fake, &[("SENDGRID_MAX_ATTEMPTS", "1")]).await;
    let budget = app.signed_in(Who::Budget).await;
    let admin = app.signed_in(Who::Admin).await;
    let id = a_failed_grant(&app, &budget).await;
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
    a_retried_email_to_a_deactivated_account_fails_saying_why,
    a_retried_email_without_its_event_fails_saying_why,
    an_admin_retries_failed_emails
);
