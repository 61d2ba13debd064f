//! The scheduler on `/metrics` and through the gateway: what is due and not yet sent, what
//! was sent (by kind) and late, read from the database at each scrape; and the closed days
//! an ADMIN keeps, through the composed schema.

use super::create_ticket;
use crate::on_both_databases;
use crate::support::{Backend, Platform, Who, code};
use db::entity::ticket;
use db::sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use ticket_service::scheduler::{self, Clock, Settings};

async fn metrics(app: &Platform) -> String {
    reqwest::get(format!("{}/metrics", app.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn metrics_count_what_is_due_sent_and_late(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let created = create_ticket(&app, &budget).await;
    let id: i64 = created["id"].as_str().unwrap().parse().unwrap();
    // An offer whose response date passed an hour ago, unanswered (written directly: the API
    // refuses a date in the past).
    ticket::Entity::update_many()
        .col_expr(ticket::Column::State, Expr::value("OFFER_PENDING"))
        .col_expr(
            ticket::Column::DueAt,
            Expr::value(Some(db::now() - chrono::Duration::hours(1))),
        )
        .filter(ticket::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
    let before = metrics(&app).await;
    assert!(
        before.contains("tessera_gateway_scheduler_due 1"),
        "{before}"
    );
    assert!(
        before.contains("tessera_gateway_scheduler_late_total 0"),
        "{before}"
    );
    // No scheduler runs in this platform: one tick, as a ticket-service replica would.
    let tick = scheduler::tick(&app.db, &Settings::default(), &Clock::System)
        .await
        .unwrap();
    assert_eq!((tick.sent, tick.late), (1, 1));
    let after = metrics(&app).await;
    for line in [
        "tessera_gateway_scheduler_due 0",
        "tessera_gateway_scheduler_sent_total{kind=\"DEADLINE_PASSED\"} 1",
        // The 7- and 2-day reminders were due too: catching up sends only the notice.
        "tessera_gateway_scheduler_skipped_total 2",
        "tessera_gateway_scheduler_late_total 1",
    ] {
        assert!(after.contains(line), "{line} in {after}");
    }
    app.cleanup().await;
}

async fn closed_days_through_the_gateway_are_an_admin_s(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let admin = app.signed_in(Who::Admin).await;
    let add = "mutation($d: String!) { addClosedDay(date: $d, label: \"Winter closure\") { date label } }";
    let body = app.gql(&admin, add, json!({"d": "2027-12-27"})).await;
    assert_eq!(body["data"]["addClosedDay"]["date"], "2027-12-27", "{body}");
    let body = app.gql(&admin, "{ closedDays { date } }", json!({})).await;
    assert_eq!(body["data"]["closedDays"], json!([{"date": "2027-12-27"}]));
    let chair = app.signed_in(Who::Chair).await;
    let body = app.gql(&chair, "{ closedDays { date } }", json!({})).await;
    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    let body = app.gql(&admin, add, json!({"d": "27 Dec"})).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    app.cleanup().await;
}

on_both_databases!(
    metrics_count_what_is_due_sent_and_late,
    closed_days_through_the_gateway_are_an_admin_s
);
