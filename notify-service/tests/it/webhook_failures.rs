//! Webhook receivers that fail: a 500 retried until delivered, 410 Gone disabling the hook,
//! and a hook failing too long disabled with its owner emailed.

use crate::hooks::{Hooks, code};
use crate::on_both_databases;
use crate::support::Backend;
use common::Role;
use db::entity::webhook;
use sea_orm::EntityTrait;
use serde_json::json;

const FACULTY: &[Role] = &[Role::Faculty];
const BUDGET: &[Role] = &[Role::BudgetDirector];

async fn a_500_is_retried_then_delivered(backend: Backend) {
    let h = Hooks::start(&backend, &[]).await;
    let (_, secret) = h.create((h.fx.cast.faculty, FACULTY), json!({})).await;
    h.receiver.trust(&[&secret]);
    h.receiver.script(&[500, 503]);
    let event = h.fx.granted_tickets(1).await;
    h.publish(&event).await;
    let got = h.receiver.wait_for(3).await;
    let rows = h.settled(1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "DELIVERED", "{rows:?}");
    assert_eq!(rows[0].attempts, 3);
    assert_eq!(rows[0].response_code, Some(200));
    // The same message each time: a receiver drops duplicates by it.
    let ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    let id = format!("msg_{}", event[0].event_id);
    assert_eq!(ids, [id.as_str(); 3]);
    let hook = webhook::Entity::find()
        .one(&h.fx.db)
        .await
        .unwrap()
        .unwrap();
    assert!(hook.active && hook.failing_since.is_none(), "{hook:?}");
    h.cleanup().await;
}

async fn a_410_disables_the_hook(backend: Backend) {
    let h = Hooks::start(&backend, &[]).await;
    let me = (h.fx.cast.faculty, FACULTY);
    let (hook, secret) = h.create(me, json!({})).await;
    h.receiver.trust(&[&secret]);
    h.receiver.script(&[410]);
    h.publish(&h.fx.granted_tickets(1).await).await;
    let rows = h.settled(1).await;
    assert_eq!(rows[0].status, "FAILED", "{rows:?}");
    assert_eq!(rows[0].response_code, Some(410));
    assert!(rows[0].last_error.as_deref().unwrap().contains("410 Gone"));
    let r = h
        .gql(
            me,
            "query($id: ID!) { webhook(id: $id) { active disabledReason } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(r["data"]["webhook"]["active"], false, "{r}");
    assert!(
        r["data"]["webhook"]["disabledReason"]
            .as_str()
            .unwrap()
            .contains("410 Gone")
    );
    // A disabled hook hears nothing more (a hook that hears everything shows the event
    // was fanned out), and cannot be redelivered to until enabled.
    let (_, spy) = h.create((h.fx.cast.budget, BUDGET), json!({})).await;
    h.receiver.trust(&[&secret, &spy]);
    let during = h.fx.granted_tickets(1).await;
    h.publish(&during).await;
    let rows = h.settled(2).await;
    let during_rows = rows
        .iter()
        .filter(|r| r.event_id == Some(during[0].event_id))
        .count();
    assert_eq!(during_rows, 1, "{rows:?}");
    let r = h
        .gql(
            me,
            "mutation($id: ID!) { redeliverWebhookDelivery(id: $id) { id } }",
            json!({"id": rows[0].id.to_string()}),
        )
        .await;
    assert_eq!(code(&r), "BAD_USER_INPUT", "{r}");
    let r = h
        .gql(me, "mutation($id: ID!) { updateWebhook(id: $id, input: {active: true}) { active disabledReason } }", json!({"id": hook}))
        .await;
    assert_eq!(r["data"]["updateWebhook"]["active"], true, "{r}");
    assert!(r["data"]["updateWebhook"]["disabledReason"].is_null());
    let after = h.fx.granted_tickets(1).await;
    h.publish(&after).await;
    let rows = h.settled(4).await;
    let mine: Vec<_> = rows
        .iter()
        .filter(|r| r.webhook_id.to_string() == hook)
        .collect();
    assert_eq!(mine.len(), 2, "{rows:?}");
    assert_eq!(mine[1].event_id, Some(after[0].event_id));
    assert_eq!(mine[1].status, "DELIVERED");
    h.cleanup().await;
}

async fn a_hook_failing_too_long_is_disabled(backend: Backend) {
    let h = Hooks::start(&backend, &[("WEBHOOK_DISABLE_AFTER_MS", "0")]).await;
    let (_, secret) = h.create((h.fx.cast.faculty, FACULTY), json!({})).await;
    h.receiver.trust(&[&secret]);
    h.receiver.script(&[500, 500, 500]);
    h.publish(&h.fx.granted_tickets(1).await).await;
    let mut hook = webhook::Entity::find()
        .one(&h.fx.db)
        .await
        .unwrap()
        .unwrap();
    for _ in 0..400 {
        if !hook.active {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        hook = webhook::Entity::find()
            .one(&h.fx.db)
            .await
            .unwrap()
            .unwrap();
    }
    assert!(!hook.active, "{hook:?}");
    let reason = hook.disabled_reason.unwrap();
    assert!(
        reason.starts_with("every delivery failed since"),
        "{reason}"
    );
    assert!(reason.contains("the receiver answered 500"), "{reason}");
    // Its owner is emailed, once.
    let mut emails = Vec::new();
    for _ in 0..200 {
        emails = std::fs::read_dir(&h.outbox)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        if !emails.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(emails.len(), 1, "{emails:?}");
    let email = std::fs::read_to_string(&emails[0]).unwrap();
    assert!(
        email.contains("To: \"Fran Faculty\" <faculty@test.edu>"),
        "{email}"
    );
    assert!(email.contains("was disabled"), "{email}");
    assert!(email.contains(&h.receiver.url), "{email}");
    // The delivery waits for the hook to be enabled again.
    let rows = h.deliveries().await;
    assert_eq!(rows[0].status, "RETRYING", "{rows:?}");
    assert!(rows[0].attempts >= 2, "{rows:?}");
    h.cleanup().await;
}

on_both_databases!(
    a_500_is_retried_then_delivered,
    a_410_disables_the_hook,
    a_hook_failing_too_long_is_disabled
);
