//! Digests through the gateway: a person chooses a daily digest in the composed schema, a
//! change that concerns them waits for it (a DIGEST row, counted on `/metrics`), and a digest
//! worker at their hour sends it, which `/metrics` counts too.

use super::create_ticket;
use crate::on_both_databases;
use crate::support::{Backend, Options, Platform, Who};
use chrono::{Duration, Utc};
use common::{Cadence, clock::Clock, stream::EventStream};
use db::entity::notification;
use db::sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use notify_service::digest::{self, when::Schedule};
use serde_json::json;
use std::collections::HashMap;

async fn metrics(app: &Platform) -> String {
    reqwest::get(format!("{}/metrics", app.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The owner's email about `ticket`, once the email worker wrote it.
async fn owner_row(app: &Platform, ticket: i64) -> notification::Model {
    for _ in 0..200 {
        let found = notification::Entity::find()
            .filter(notification::Column::TicketId.eq(ticket))
            .filter(notification::Column::RecipientId.eq(app.id(Who::FacultyA)))
            .one(&app.db)
            .await
            .unwrap();
        if let Some(row) = found {
            return row;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no email row for the owner of ticket {ticket}")
}

async fn a_daily_digest_chosen_through_the_gateway_waits_and_is_counted(backend: Backend) {
    // The relay and the email worker run, emails to the test's outbox.
    let options = Options {
        mail: Some(HashMap::new()),
        ..Options::default()
    };
    let app = Platform::spawn_with(backend, options).await;
    let faculty = app.signed_in(Who::FacultyA).await;
    let choose = "mutation { updateNotificationPreferences(deliveries: [{topic: STATE_CHANGES, channel: EMAIL, cadence: DAILY}], timeZone: \"Europe/Paris\", digestHour: 7) { email timeZone digestHour deliveries { topic channel cadence } } }";
    let body = app.gql(&faculty, choose, json!({})).await;
    let prefs = &body["data"]["updateNotificationPreferences"];
    assert_eq!(
        (prefs["email"].as_bool(), prefs["timeZone"].as_str()),
        (Some(true), Some("Europe/Paris")),
        "{body}"
    );
    assert!(
        prefs["deliveries"]
            .as_array()
            .unwrap()
            .contains(&json!({"topic": "STATE_CHANGES", "channel": "EMAIL", "cadence": "DAILY"}))
    );

    let budget = app.signed_in(Who::Budget).await;
    let ticket = create_ticket(&app, &budget).await;
    let grant = "mutation($id: ID!) { grantTicket(ticketId: $id) { state } }";
    let body = app.gql(&budget, grant, json!({"id": ticket["id"]})).await;
    assert_eq!(body["data"]["grantTicket"]["state"], "GRANTED", "{body}");
    let id: i64 = ticket["id"].as_str().unwrap().parse().unwrap();
    let row = owner_row(&app, id).await;
    assert_eq!(
        (row.status.as_str(), row.held_for.as_deref()),
        ("DIGEST", Some("DAILY"))
    );
    let before = metrics(&app).await;
    for line in [
        "tessera_gateway_queue_depth{queue=\"digests\"} 1",
        "tessera_gateway_digests{status=\"SENT\"} 0",
        "tessera_gateway_emails{status=\"DIGEST\"} 1",
    ] {
        assert!(before.contains(line), "{line} in {before}");
    }

    // No digest worker ran for two days; one starts three hours after the third morning's
    // 07:00 in Paris: one digest, for that morning, composed late.
    let due = Schedule {
        zone: chrono_tz::Europe::Paris,
        hour: 7,
        weekday: chrono::Weekday::Mon,
    }
    .last_due(Cadence::Daily, Utc::now() + Duration::days(1))
    .unwrap();
    let (clock, _) = Clock::manual(due + Duration::days(2) + Duration::hours(3));
    let vars = HashMap::from([("DATA_DIR", app.data_dir.display().to_string())]);
    let view: HashMap<&str, &str> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let common = common::config::CommonSettings::from_source(&view).unwrap();
    let mail = notify_service::MailSettings::from_source(&view, &common).unwrap();
    let settings = digest::Settings {
        tick: std::time::Duration::from_secs(60),
    };
    let runner =
        digest::Runner::new(app.db.clone(), EventStream::memory(), mail, settings, clock).unwrap();
    assert_eq!(runner.tick().await.unwrap().sent, 1);
    let after = metrics(&app).await;
    for line in [
        "tessera_gateway_queue_depth{queue=\"digests\"} 0",
        "tessera_gateway_digests{status=\"SENT\"} 1",
        "tessera_gateway_digests_late_total 1",
    ] {
        assert!(after.contains(line), "{line} in {after}");
    }
    app.cleanup().await;
}

on_both_databases!(a_daily_digest_chosen_through_the_gateway_waits_and_is_counted);
