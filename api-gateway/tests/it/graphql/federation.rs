//! One query across subgraphs: a ticket (ticket-service) with its owner's preferences and
//! its emails (notify-service), and who may list which emails.

use super::{create_ticket, record_notification};
use crate::on_both_databases;
use crate::support::{Backend, Platform, Who, code};
use serde_json::{Value, json};

/// A new ticket of faculty A's with one FAILED email to her: the ticket and its id.
async fn a_ticket_with_a_failed_email(app: &Platform, budget: &reqwest::Client) -> (Value, i64) {
    let ticket = create_ticket(app, budget).await;
    let id: i64 = ticket["id"].as_str().unwrap().parse().unwrap();
    record_notification(app, id, Who::FacultyA, "FAILED").await;
    (ticket, id)
}

async fn one_query_crosses_two_subgraphs(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let (ticket, id) = a_ticket_with_a_failed_email(&app, &budget).await;

    // Faculty A turns note emails on through notify-service...
    let faculty = app.signed_in(Who::FacultyA).await;
    let body = app
        .gql(
            &faculty,
            "mutation { updateNotificationPreferences(notes: true) { email notes } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["updateNotificationPreferences"],
        json!({"email": true, "notes": true}),
        "{body}"
    );
    // ...and one query reads the ticket (ticket-service), its owner's name (ticket-service),
    // the owner's preferences (an ADMIN's to read) and the ticket's emails (notify-service).
    let query = "query($id: ID!) { ticket(id: $id) { state owner { name notificationPreferences { email notes } } notifications { status attempts lastError recipient { email } ticket { number } } } }";
    let admin = app.signed_in(Who::Admin).await;
    let body = app.gql(&admin, query, json!({"id": id.to_string()})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let t = &body["data"]["ticket"];
    assert_eq!(t["owner"]["name"], "Alice Faculty");
    assert_eq!(
        t["owner"]["notificationPreferences"],
        json!({"email": true, "notes": true})
    );
    assert_eq!(t["notifications"][0]["status"], "FAILED");
    assert_eq!(t["notifications"][0]["lastError"], "provider said 500");
    assert_eq!(
        t["notifications"][0]["recipient"]["email"],
        Who::FacultyA.email()
    );
    assert_eq!(t["notifications"][0]["ticket"]["number"], ticket["number"]);
    // Another user's preferences are untouched defaults.
    let body = app
        .gql(
            &budget,
            "{ me { notificationPreferences { email notes } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["me"]["notificationPreferences"],
        json!({"email": true, "notes": false})
    );

    app.cleanup().await;
}

/// The owner lists their own emails; a faculty member who cannot see the ticket gets
/// NOT_FOUND for its emails, and bad arguments name the field; preferences need a session.
async fn emails_are_listed_to_those_who_see_their_ticket(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let (_, id) = a_ticket_with_a_failed_email(&app, &budget).await;
    let faculty = app.signed_in(Who::FacultyA).await;
    let body = app
        .gql(
            &faculty,
            "{ notifications { subject ticket { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["notifications"].as_array().unwrap().len(),
        1,
        "{body}"
    );
    let other = app.signed_in(Who::FacultyB).await;
    let body = app
        .gql(
            &other,
            "query($t: ID) { notifications(ticketId: $t) { id } }",
            json!({"t": id.to_string()}),
        )
        .await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    let body = app
        .gql(&other, "{ notifications(first: 0) { id } }", json!({}))
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "first");
    let body = app
        .gql(
            &app.client(),
            "mutation { updateNotificationPreferences(email: false) { email } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
    app.cleanup().await;
}

on_both_databases!(
    one_query_crosses_two_subgraphs,
    emails_are_listed_to_those_who_see_their_ticket
);
