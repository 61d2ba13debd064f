//! Waiting too long: a target in business days from the moment the ticket entered its state,
//! counted in the office's time zone (the local time of day holds across a daylight-saving
//! change), weekends and closed days skipped; the reminder, then the escalation one more
//! target later, each once; catching up sends the escalation alone.

use super::*;
use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, ok};

const REMINDER: &str = "WAITING_REMINDER";
const ESCALATED: &str = "WAITING_ESCALATED";

async fn business_days_keep_the_office_s_local_time_across_daylight_saving(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = settings(&[
        ("OFFICE_TIME_ZONE", "America/New_York"),
        ("WAITING_TARGETS", "OFFER_REQUESTED:1"),
    ]);
    let t = app.requested_ticket(Who::FacultyA, "W-1").await;
    // Friday 12 March 2027, 10:00 in New York (EST, UTC-5); the clocks go forward on Sunday.
    entered(&app, &t, at("2027-03-12T15:00:00Z")).await;
    // One business day later is Monday 10:00 EDT (UTC-4): 14:00 UTC, 71 hours on.
    assert_eq!(tick_at(&app, &s, at("2027-03-15T13:59:59Z")).await.sent, 0);
    assert_eq!(tick_at(&app, &s, at("2027-03-15T14:00:00Z")).await.sent, 1);
    assert_eq!(tick_at(&app, &s, at("2027-03-15T15:00:00Z")).await.sent, 0);
    // A response date is reminded of seven calendar days ahead at the same local time:
    // Friday 19 March 10:00 EDT, reminded Friday 12 March 10:00 EST (15:00 UTC).
    let o = offer(&app, "W-2", at("2027-03-19T14:00:00Z")).await;
    let s = settings(&[
        ("OFFICE_TIME_ZONE", "America/New_York"),
        ("DEADLINE_REMINDERS", "7d"),
        ("WAITING_TARGETS", "none"),
    ]);
    assert_eq!(tick_at(&app, &s, at("2027-03-12T14:59:59Z")).await.sent, 0);
    assert_eq!(tick_at(&app, &s, at("2027-03-12T15:00:00Z")).await.sent, 1);
    assert_eq!(timed_kinds(&app, &t).await, strings(&[REMINDER]));
    assert_eq!(timed_kinds(&app, &o).await, strings(&["DEADLINE_REMINDER"]));
    app.cleanup().await;
}

async fn closed_days_do_not_count(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = settings(&[("WAITING_TARGETS", "OFFER_REQUESTED:2")]);
    for (date, label) in [
        ("2027-03-15", "Spring closure"),
        ("2027-03-16", "Spring closure"),
    ] {
        let r = app
            .gql(
                Who::Admin,
                "mutation($d: String!, $l: String!) { addClosedDay(date: $d, label: $l) { date } }",
                json!({"d": date, "l": label}),
            )
            .await;
        assert_eq!(ok(&r)["addClosedDay"]["date"], date);
    }
    let t = app.requested_ticket(Who::FacultyA, "W-3").await;
    // Friday 12 March, 10:00 UTC; the weekend and Monday-Tuesday closed: Wednesday, Thursday.
    entered(&app, &t, at("2027-03-12T10:00:00Z")).await;
    assert_eq!(tick_at(&app, &s, at("2027-03-16T10:00:00Z")).await.sent, 0);
    assert_eq!(tick_at(&app, &s, at("2027-03-18T09:59:59Z")).await.sent, 0);
    assert_eq!(tick_at(&app, &s, at("2027-03-18T10:00:00Z")).await.sent, 1);
    assert_eq!(timed_kinds(&app, &t).await, strings(&[REMINDER]));
    app.cleanup().await;
}

async fn the_reminder_comes_first_then_the_escalation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = settings(&[
        ("WAITING_TARGETS", "OFFER_REQUESTED:3,GRANTED:20"),
        ("ESCALATION_ROLE", "GRAD_OFFICE"),
    ]);
    let t = app.requested_ticket(Who::FacultyA, "W-4").await;
    let idle = app.granted_ticket(Who::FacultyB).await;
    // Monday 1 March 2027, 09:00 UTC.
    entered(&app, &t, at("2027-03-01T09:00:00Z")).await;
    entered(&app, &idle, at("2027-03-01T09:00:00Z")).await;
    assert_eq!(tick_at(&app, &s, at("2027-03-04T08:59:00Z")).await.sent, 0);
    assert_eq!(tick_at(&app, &s, at("2027-03-04T09:00:00Z")).await.sent, 1);
    // Three more business days: Tuesday 9 March.
    assert_eq!(tick_at(&app, &s, at("2027-03-08T09:00:00Z")).await.sent, 0);
    assert_eq!(tick_at(&app, &s, at("2027-03-09T09:00:00Z")).await.sent, 1);
    assert_eq!(
        tick_at(&app, &s, at("2027-06-01T09:00:00Z")).await.sent,
        1,
        "the granted ticket's escalation alone"
    );
    assert_eq!(tick_at(&app, &s, at("2027-09-01T09:00:00Z")).await.sent, 0);
    let history = timed_history(&app, &t).await;
    assert_eq!(
        history
            .iter()
            .map(|(k, _, _)| k.as_str())
            .collect::<Vec<_>>(),
        [REMINDER, ESCALATED]
    );
    assert_eq!(
        history[0].1,
        "Waiting in OFFER_REQUESTED since 2027-03-01T09:00:00Z; the target is 3 business days"
    );
    assert_eq!(
        history[1].1,
        "GRAD_OFFICE: waiting in OFFER_REQUESTED since 2027-03-01T09:00:00Z; the target is 3 business days"
    );
    assert_eq!(timed_kinds(&app, &idle).await, strings(&[ESCALATED]));
    assert_eq!(
        runs(&app, &idle).await,
        vec![
            (REMINDER.into(), "reminder".into(), "SKIPPED".into()),
            (ESCALATED.into(), "escalated".into(), "SENT".into()),
        ]
    );
    app.cleanup().await;
}

async fn a_new_wait_in_the_state_starts_afresh(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = settings(&[("WAITING_TARGETS", "OFFER_REQUESTED:1")]);
    let t = app.requested_ticket(Who::FacultyA, "W-5").await;
    entered(&app, &t, at("2027-03-01T09:00:00Z")).await;
    assert_eq!(tick_at(&app, &s, at("2027-03-02T09:00:00Z")).await.sent, 1);
    // Withdrawn, then asked again: a new wait, reminded again a business day later.
    let r = app
        .gql(
            Who::FacultyA,
            "mutation($t: ID!) { withdrawOfferRequest(ticketId: $t) { state } }",
            json!({"t": t}),
        )
        .await;
    ok(&r);
    let r = app.request_offer(Who::FacultyA, &t, "W-5", json!([])).await;
    ok(&r);
    entered(&app, &t, at("2027-03-10T09:00:00Z")).await;
    assert_eq!(tick_at(&app, &s, at("2027-03-10T12:00:00Z")).await.sent, 0);
    assert_eq!(tick_at(&app, &s, at("2027-03-11T09:00:00Z")).await.sent, 1);
    assert_eq!(timed_kinds(&app, &t).await, strings(&[REMINDER, REMINDER]));
    app.cleanup().await;
}

on_both_databases!(
    business_days_keep_the_office_s_local_time_across_daylight_saving,
    closed_days_do_not_count,
    the_reminder_comes_first_then_the_escalation,
    a_new_wait_in_the_state_starts_afresh
);
