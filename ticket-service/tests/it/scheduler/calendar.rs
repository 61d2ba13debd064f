//! The closed days an ADMIN keeps: listed in date order, added and removed by an ADMIN only
//! (FORBIDDEN to every other role, UNAUTHENTICATED without a user), a malformed or impossible
//! date or an empty label BAD_USER_INPUT naming the field, a day closed twice refused, a day
//! not closed NOT_FOUND; and the scheduler's settings refusing what they cannot use.

use super::*;
use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, field, ok};

const LIST: &str = "{ closedDays { date label } }";
const ADD: &str =
    "mutation($d: String!, $l: String!) { addClosedDay(date: $d, label: $l) { date label } }";
const REMOVE: &str = "mutation($d: String!) { removeClosedDay(date: $d) { date label } }";

async fn an_admin_keeps_the_closed_days(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (date, label) in [
        ("2027-12-27", "Winter closure"),
        ("2027-07-01", "Canada Day"),
        (" 2027-12-28 ", "  Winter closure "),
    ] {
        ok(&app
            .gql(Who::Admin, ADD, json!({"d": date, "l": label}))
            .await);
    }
    let r = app.gql(Who::Admin, LIST, json!({})).await;
    assert_eq!(
        ok(&r)["closedDays"],
        json!([
            {"date": "2027-07-01", "label": "Canada Day"},
            {"date": "2027-12-27", "label": "Winter closure"},
            {"date": "2027-12-28", "label": "Winter closure"},
        ])
    );
    let r = app
        .gql(Who::Admin, REMOVE, json!({"d": "2027-07-01"}))
        .await;
    assert_eq!(ok(&r)["removeClosedDay"]["label"], "Canada Day");
    let r = app.gql(Who::Admin, LIST, json!({})).await;
    assert_eq!(ok(&r)["closedDays"].as_array().unwrap().len(), 2);
    app.cleanup().await;
}

async fn closed_days_refuse_bad_input_and_everyone_but_an_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    ok(&app
        .gql(
            Who::Admin,
            ADD,
            json!({"d": "2027-12-27", "l": "Winter closure"}),
        )
        .await);
    for date in [
        "2027-02-30",
        "27/12/2027",
        "2027-3-5",
        "",
        "1999-12-31",
        "2027-12-27T00:00:00Z",
    ] {
        let r = app
            .gql(Who::Admin, ADD, json!({"d": date, "l": "Closed"}))
            .await;
        assert_eq!((code(&r), field(&r)), ("BAD_USER_INPUT", "date"), "{date}");
        let r = app.gql(Who::Admin, REMOVE, json!({"d": date})).await;
        assert_eq!((code(&r), field(&r)), ("BAD_USER_INPUT", "date"), "{date}");
    }
    let r = app
        .gql(Who::Admin, ADD, json!({"d": "2027-12-27", "l": "Again"}))
        .await;
    assert_eq!((code(&r), field(&r)), ("BAD_USER_INPUT", "date"));
    for label in ["", "   ", "two\nlines"] {
        let r = app
            .gql(Who::Admin, ADD, json!({"d": "2027-12-29", "l": label}))
            .await;
        assert_eq!(
            (code(&r), field(&r)),
            ("BAD_USER_INPUT", "label"),
            "{label:?}"
        );
    }
    let r = app
        .gql(Who::Admin, REMOVE, json!({"d": "2027-12-30"}))
        .await;
    assert_eq!(code(&r), "NOT_FOUND");
    for who in [Who::Budget, Who::Chair, Who::Grad, Who::FacultyA, Who::FssA] {
        let r = app.gql(who, LIST, json!({})).await;
        assert_eq!(code(&r), "FORBIDDEN", "{who:?}");
        let r = app
            .gql(who, ADD, json!({"d": "2027-12-29", "l": "Closed"}))
            .await;
        assert_eq!(code(&r), "FORBIDDEN", "{who:?}");
        let r = app.gql(who, REMOVE, json!({"d": "2027-12-27"})).await;
        assert_eq!(code(&r), "FORBIDDEN", "{who:?}");
    }
    let anonymous = common::Principal::anonymous();
    let r = app.gql_as(&anonymous, LIST, json!({})).await;
    assert_eq!(code(&r), "UNAUTHENTICATED");
    let r = app
        .gql_as(&anonymous, REMOVE, json!({"d": "2027-12-27"}))
        .await;
    assert_eq!(code(&r), "UNAUTHENTICATED");
    // Nothing changed.
    let r = app.gql(Who::Admin, LIST, json!({})).await;
    assert_eq!(
        ok(&r)["closedDays"],
        json!([{"date": "2027-12-27", "label": "Winter closure"}])
    );
    app.cleanup().await;
}

on_both_databases!(
    an_admin_keeps_the_closed_days,
    closed_days_refuse_bad_input_and_everyone_but_an_admin
);

#[test]
fn bad_scheduler_settings_are_one_line_naming_the_variable() {
    for (var, value) in [
        ("SCHEDULER_TICK", "every minute"),
        ("DEADLINE_REMINDERS", "7d,soon"),
        ("WAITING_TARGETS", "OFFER_REQUESTED=3"),
        ("WAITING_TARGETS", "OFFER_ACCEPTED:3"),
        ("ESCALATION_ROLE", "FSS"),
        ("OFFICE_TIME_ZONE", "Eastern"),
    ] {
        let err = try_settings(&[(var, value)]).unwrap_err();
        assert_eq!(err.var, var);
        assert!(err.to_string().starts_with(&format!("{var}: ")), "{err}");
    }
    assert_eq!(try_settings(&[]).unwrap(), Settings::default());
}

/// The binary as an operator starts it: a scheduler setting it cannot use stops it at
/// start, exit code 2, with one line naming the variable.
#[test]
fn a_bad_scheduler_setting_stops_the_binary_with_one_line() {
    for (var, value) in [
        ("OFFICE_TIME_ZONE", "Mars/Olympus"),
        ("WAITING_TARGETS", "GRANTED"),
    ] {
        let dir =
            std::env::temp_dir().join(format!("tessera-sched-{}", uuid::Uuid::new_v4().simple()));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ticket-service"))
            .env_clear()
            .env("DATA_DIR", &dir)
            .env("TESSERA_SIGNING_KEY", "11".repeat(32))
            .env(var, value)
            .output()
            .expect("the binary runs");
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("{var}: ")), "{stderr}");
    }
}
