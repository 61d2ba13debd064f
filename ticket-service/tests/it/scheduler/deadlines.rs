//! Deadline reminders: each at its time before the response date and once, the notice when
//! the date passes with no answer, none for an answered offer, and catching up after
//! downtime with only the latest step.

use super::*;
use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, field, ok};
use chrono::Duration;
use db::entity::user;
use sea_orm::EntityTrait;

const REMINDER: &str = "DEADLINE_REMINDER";
const PASSED: &str = "DEADLINE_PASSED";

async fn reminders_go_out_at_their_times_once_each(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = Settings::default(); // 7d,2d in UTC
    let due = at("2027-03-20T17:00:00Z");
    let t = offer(&app, "S-1", due).await;
    let moments = [
        (due - Duration::days(7) - Duration::seconds(1), 0),
        (due - Duration::days(7), 1),
        (due - Duration::days(7), 0),
        (due - Duration::days(3), 0),
        (due - Duration::days(2) - Duration::seconds(1), 0),
        (due - Duration::days(2), 1),
        (due - Duration::hours(1), 0),
        (due, 1),
        (due + Duration::days(30), 0),
    ];
    for (now, sent) in moments {
        assert_eq!(tick_at(&app, &s, now).await.sent, sent, "at {now}");
    }
    let history = timed_history(&app, &t).await;
    let date = "2027-03-20T17:00:00Z".to_owned();
    let tessera = "Tessera".to_owned();
    assert_eq!(
        history,
        vec![
            (REMINDER.to_owned(), date.clone(), tessera.clone()),
            (REMINDER.to_owned(), date.clone(), tessera.clone()),
            (PASSED.to_owned(), date, tessera),
        ]
    );
    // The actor is the scheduler's own user, whom no list of users shows.
    let r = app
        .gql(
            Who::Admin,
            "{ users(includeInactive: true) { name } }",
            json!({}),
        )
        .await;
    let names = ok(&r)["users"].as_array().unwrap().clone();
    assert_eq!(names.len(), Who::ALL.len());
    assert!(names.iter().all(|u| u["name"] != "Tessera"));
    // Each went to the outbox once: the relay carries it to email, webhooks, live updates.
    assert_eq!(
        outboxed(&app, &t).await,
        strings(&[REMINDER, REMINDER, PASSED])
    );
    assert_eq!(
        runs(&app, &t).await,
        vec![
            (REMINDER.into(), "7d".into(), "SENT".into()),
            (REMINDER.into(), "2d".into(), "SENT".into()),
            (PASSED.into(), "passed".into(), "SENT".into()),
        ]
    );
    app.cleanup().await;
}

async fn an_answered_or_moved_offer_gets_the_steps_of_its_new_date_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = Settings::default();
    let due = at("2027-03-20T17:00:00Z");
    let answered = offer(&app, "S-2", due).await;
    let moved = offer(&app, "S-3", due).await;
    assert_eq!(tick_at(&app, &s, due - Duration::days(7)).await.sent, 2);
    let r = app
        .gql(
            Who::Grad,
            "mutation($t: ID!) { recordOfferResponse(ticketId: $t, accepted: true) { state } }",
            json!({"t": answered}),
        )
        .await;
    assert_eq!(ok(&r)["recordOfferResponse"]["state"], "OFFER_ACCEPTED");
    // The graduate office gives the applicant ten more days.
    let later = due + Duration::days(10);
    let r = app
        .gql(
            Who::Grad,
            "mutation($t: ID!, $d: DateTime!) { setResponseDeadline(ticketId: $t, responseDueAt: $d) { dueAt } }",
            json!({"t": moved, "d": later.to_rfc3339()}),
        )
        .await;
    ok(&r);
    // The old date passes: nothing for either.
    assert_eq!(tick_at(&app, &s, due).await.sent, 0);
    // The new date's own steps: its 7-day reminder (due after the change), then the rest.
    assert_eq!(tick_at(&app, &s, later - Duration::days(7)).await.sent, 1);
    assert_eq!(tick_at(&app, &s, later).await.sent, 1);
    assert_eq!(timed_kinds(&app, &answered).await, strings(&[REMINDER]));
    assert_eq!(
        timed_kinds(&app, &moved).await,
        strings(&[REMINDER, REMINDER, PASSED]),
        "the first date's 7-day reminder, then the new date's reminder and notice (its 2-day one skipped)"
    );
    app.cleanup().await;
}

async fn catching_up_after_downtime_sends_only_the_latest_step(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = Settings::default();
    let due = at("2027-03-20T17:00:00Z");
    let t = offer(&app, "S-4", due).await;
    // Down from before the first reminder until a day before the date.
    let tick = tick_at(&app, &s, due - Duration::days(1)).await;
    assert_eq!((tick.sent, tick.skipped, tick.late), (1, 1, 1));
    assert_eq!(timed_kinds(&app, &t).await, strings(&[REMINDER]));
    assert_eq!(
        runs(&app, &t).await,
        vec![
            (REMINDER.into(), "7d".into(), "SKIPPED".into()),
            (REMINDER.into(), "2d".into(), "SENT".into()),
        ]
    );
    assert_eq!(tick_at(&app, &s, due - Duration::days(1)).await.due, 0);
    // Down again past the date: the notice alone.
    let tick = tick_at(&app, &s, due + Duration::days(5)).await;
    assert_eq!((tick.sent, tick.skipped), (1, 0));
    assert_eq!(timed_kinds(&app, &t).await, strings(&[REMINDER, PASSED]));
    app.cleanup().await;
}

/// The scheduler's user is nobody's account: an administrator can neither change it (roles
/// and a password would let someone sign in as it) nor create a user with its address
/// before it exists (the scheduler would take that account as its own).
async fn the_schedulers_user_cannot_be_changed_or_taken(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = offer(&app, "S-9", at("2027-03-20T17:00:00Z")).await;
    tick_at(&app, &Settings::default(), at("2027-03-21T00:00:00Z")).await;
    let r = app
        .gql(
            Who::Admin,
            "query($t: ID!) { ticket(id: $t) { history { kind actor { id } } } }",
            json!({"t": t}),
        )
        .await;
    let history = ok(&r)["ticket"]["history"].as_array().unwrap().clone();
    let passed = history.iter().find(|e| e["kind"] == PASSED).unwrap();
    let scheduler = passed["actor"]["id"].as_str().unwrap().to_owned();
    let update = "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }";
    for change in [
        json!({"id": scheduler, "roles": ["ADMIN"]}),
        json!({"id": scheduler, "password": "long enough", "active": true}),
    ] {
        let r = app.gql(Who::Admin, update, json!({"i": change})).await;
        assert_eq!((code(&r), field(&r)), ("BAD_USER_INPUT", "id"), "{r}");
    }
    let create = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }";
    let taken = json!({"email": "Scheduler@Tessera.invalid", "name": "Me", "roles": ["ADMIN"], "password": "long enough"});
    let r = app.gql(Who::Admin, create, json!({"i": taken})).await;
    assert_eq!((code(&r), field(&r)), ("BAD_USER_INPUT", "email"), "{r}");
    // Nothing changed: still inactive, without roles or password.
    let row = user::Entity::find_by_id(scheduler.parse::<i64>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.active, row.roles.as_str()), (false, ""));
    assert!(row.password_hash.is_none());
    app.cleanup().await;
}

on_both_databases!(
    reminders_go_out_at_their_times_once_each,
    the_schedulers_user_cannot_be_changed_or_taken,
    an_answered_or_moved_offer_gets_the_steps_of_its_new_date_only,
    catching_up_after_downtime_sends_only_the_latest_step
);
