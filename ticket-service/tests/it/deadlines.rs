//! Response deadlines: an approval sets the date the applicant must answer by (given, or 14
//! days ahead), the graduate office may move it while the offer is out, the ticket is due
//! only while it waits in OFFER_PENDING, and lists filter and order by it.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, field, ok};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use db::entity::ticket;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

const DUE: &str =
    "query($t: ID!) { ticket(id: $t) { state version dueAt overdue history { kind detail } } }";
const APPROVE: &str = "mutation($t: ID!, $d: DateTime) { approveOffer(ticketId: $t, responseDueAt: $d) { state dueAt overdue } }";
const SET: &str = "mutation($t: ID!, $d: DateTime!, $v: Int) { setResponseDeadline(ticketId: $t, responseDueAt: $d, expectedVersion: $v) { state version dueAt } }";
const LIST: &str = "query($f: TicketFilter, $o: TicketOrder, $first: Int, $after: String) { tickets(filter: $f, orderBy: $o, first: $first, after: $after) { totalCount nodes { id dueAt overdue } pageInfo { hasNextPage endCursor } } }";

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `at` as stored: to the microsecond.
fn stored(at: DateTime<Utc>) -> DateTime<Utc> {
    chrono::DurationRound::duration_trunc(at, Duration::microseconds(1)).unwrap()
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .with_timezone(&Utc)
}

async fn ticket(app: &TestApp, t: &str) -> Value {
    let r = app.gql(Who::Grad, DUE, json!({"t": t})).await;
    ok(&r)["ticket"].clone()
}

/// Puts ticket `t`'s due date where a test needs it, past included (the API refuses a date
/// that has passed, and time does not move in a test).
async fn due(app: &TestApp, t: &str, at: Option<DateTime<Utc>>) {
    ticket::Entity::update_many()
        .col_expr(ticket::Column::DueAt, Expr::value(at))
        .filter(ticket::Column::Id.eq(t.parse::<i64>().unwrap()))
        .exec(&app.db)
        .await
        .unwrap();
}

async fn an_approval_sets_the_response_date(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Without a date: 14 days from the approval.
    let t = app.requested_ticket(Who::FacultyA, "D-1").await;
    assert_eq!(ticket(&app, &t).await["dueAt"], Value::Null);
    let before = Utc::now();
    let r = app.gql(Who::Chair, APPROVE, json!({"t": t})).await;
    let after = Utc::now();
    let approved = &ok(&r)["approveOffer"];
    let at = time(&approved["dueAt"]);
    assert!(at >= before + Duration::days(14) - Duration::seconds(1));
    assert!(at <= after + Duration::days(14));
    assert_eq!(approved["overdue"], false);
    // With one: exactly that date.
    let t = app.requested_ticket(Who::FacultyA, "D-2").await;
    let date = Utc::now() + Duration::days(30);
    let r = app
        .gql(Who::Grad, APPROVE, json!({"t": t, "d": rfc3339(date)}))
        .await;
    assert_eq!(time(&ok(&r)["approveOffer"]["dueAt"]), stored(date));
    app.cleanup().await;
}

async fn a_date_passed_or_too_far_is_refused_and_nothing_moves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.requested_ticket(Who::FacultyA, "D-3").await;
    let version = ticket(&app, &t).await["version"].clone();
    for date in [
        Utc::now() - Duration::hours(1),
        Utc::now() + Duration::days(400),
    ] {
        let r = app
            .gql(Who::Chair, APPROVE, json!({"t": t, "d": rfc3339(date)}))
            .await;
        assert_eq!(code(&r), "BAD_USER_INPUT");
        assert_eq!(field(&r), "responseDueAt");
    }
    let now = ticket(&app, &t).await;
    assert_eq!(now["state"], "OFFER_REQUESTED");
    assert_eq!(now["version"], version);
    assert_eq!(now["dueAt"], Value::Null);
    app.cleanup().await;
}

async fn the_graduate_office_moves_the_date_while_the_offer_is_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.requested_ticket(Who::FacultyA, "D-4").await;
    let date = Utc::now() + Duration::days(20);
    // Not before the offer is out.
    let r = app
        .gql(Who::Grad, SET, json!({"t": t, "d": rfc3339(date)}))
        .await;
    assert_eq!(code(&r), "INVALID_TRANSITION");
    ok(&app.gql(Who::Chair, APPROVE, json!({"t": t})).await);
    let version = ticket(&app, &t).await["version"].as_i64().unwrap();
    // Only the graduate office; the chair who approved may not.
    let r = app
        .gql(Who::Chair, SET, json!({"t": t, "d": rfc3339(date)}))
        .await;
    assert_eq!(code(&r), "FORBIDDEN");
    let r = app
        .gql(Who::FacultyB, SET, json!({"t": t, "d": rfc3339(date)}))
        .await;
    assert_eq!(code(&r), "NOT_FOUND");
    // A stale version is a conflict; a date that passed is bad input.
    let r = app
        .gql(
            Who::Grad,
            SET,
            json!({"t": t, "d": rfc3339(date), "v": version - 1}),
        )
        .await;
    assert_eq!(code(&r), "CONFLICT");
    let r = app
        .gql(
            Who::Grad,
            SET,
            json!({"t": t, "d": rfc3339(Utc::now() - Duration::days(1))}),
        )
        .await;
    assert_eq!(field(&r), "responseDueAt");
    let r = app
        .gql(
            Who::Grad,
            SET,
            json!({"t": t, "d": rfc3339(date), "v": version}),
        )
        .await;
    let set = &ok(&r)["setResponseDeadline"];
    assert_eq!(set["state"], "OFFER_PENDING");
    assert_eq!(set["version"], version + 1);
    assert_eq!(time(&set["dueAt"]), stored(date));
    let history = ticket(&app, &t).await["history"].clone();
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "DEADLINE_CHANGED");
    assert_eq!(
        last["detail"],
        date.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    // Other changes while the offer is out keep the date; the answer ends it.
    let r = app
        .gql(
            Who::FacultyA,
            "mutation($t: ID!, $s: [ID!]!) { setSupervisors(ticketId: $t, supervisorIds: $s) { dueAt } }",
            json!({"t": t, "s": [app.id(Who::FacultyC).to_string()]}),
        )
        .await;
    assert_eq!(time(&ok(&r)["setSupervisors"]["dueAt"]), stored(date));
    let r = app
        .gql(
            Who::Grad,
            "mutation($t: ID!) { recordOfferResponse(ticketId: $t, accepted: true) { dueAt overdue } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(
        ok(&r)["recordOfferResponse"],
        json!({"dueAt": null, "overdue": false})
    );
    app.cleanup().await;
}

/// Three offers out: one overdue, one due in three days, one in three weeks; and a ticket with
/// nothing due. Their ids in that order.
async fn offers_due_at_different_times(app: &TestApp) -> [String; 4] {
    let mut ids = Vec::new();
    for (n, days) in [(1, -2), (2, 3), (3, 21)] {
        let t = app.requested_ticket(Who::FacultyA, &format!("L-{n}")).await;
        ok(&app.gql(Who::Chair, APPROVE, json!({"t": t})).await);
        due(app, &t, Some(Utc::now() + Duration::days(days))).await;
        ids.push(t);
    }
    ids.push(app.granted_ticket(Who::FacultyA).await);
    ids.try_into().unwrap()
}

fn ids(r: &Value) -> Vec<String> {
    ok(r)["tickets"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn lists_filter_and_order_by_due_date(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let [late, soon, later, undated] = offers_due_at_different_times(&app).await;
    let list = |f: Value, o: Value| app.gql(Who::Grad, LIST, json!({"f": f, "o": o, "first": 50}));
    let week = rfc3339(Utc::now() + Duration::days(7));
    assert_eq!(
        ids(&list(json!({"dueBefore": week}), json!({"field": "DUE_AT"})).await),
        vec![late.clone(), soon.clone()]
    );
    let r = list(json!({"overdue": true}), Value::Null).await;
    assert_eq!(ids(&r), vec![late.clone()]);
    assert_eq!(ok(&r)["tickets"]["nodes"][0]["overdue"], true);
    let mut not_overdue = ids(&list(json!({"overdue": false}), Value::Null).await);
    not_overdue.sort();
    let mut expected = vec![soon.clone(), later.clone(), undated.clone()];
    expected.sort();
    assert_eq!(not_overdue, expected);
    // Dated first, soonest first; nothing due comes last either way round.
    assert_eq!(
        ids(&list(Value::Null, json!({"field": "DUE_AT"})).await),
        vec![late.clone(), soon.clone(), later.clone(), undated.clone()]
    );
    assert_eq!(
        ids(&list(Value::Null, json!({"field": "DUE_AT", "direction": "DESC"})).await),
        vec![undated, later, soon, late]
    );
    // A bad date in the filter is the caller's error, naming the field.
    let r = list(json!({"dueBefore": "next week"}), Value::Null).await;
    assert_eq!(code(&r), "BAD_USER_INPUT");
    app.cleanup().await;
}

async fn pages_by_due_date_never_repeat_or_skip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut all = Vec::new();
    // Ties on the date and many undated tickets: the id breaks them.
    let same = Utc::now() + Duration::days(5);
    for n in 0..6 {
        let t = app.requested_ticket(Who::FacultyA, &format!("P-{n}")).await;
        ok(&app.gql(Who::Chair, APPROVE, json!({"t": t})).await);
        due(
            &app,
            &t,
            Some(if n % 2 == 0 {
                same
            } else {
                same + Duration::days(n)
            }),
        )
        .await;
        all.push(t);
    }
    all.extend(app.create_tickets(Who::FacultyA, 7).await);
    for direction in ["ASC", "DESC"] {
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let r = app
                .gql(
                    Who::Grad,
                    LIST,
                    json!({"o": {"field": "DUE_AT", "direction": direction}, "first": 4, "after": after}),
                )
                .await;
            seen.extend(ids(&r));
            if ok(&r)["tickets"]["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = ok(&r)["tickets"]["pageInfo"]["endCursor"].clone();
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len(), "{direction}: {seen:?}");
        assert_eq!(seen.len(), all.len(), "{direction}: repeats in {seen:?}");
    }
    app.cleanup().await;
}

on_both_databases!(
    an_approval_sets_the_response_date,
    a_date_passed_or_too_far_is_refused_and_nothing_moves,
    the_graduate_office_moves_the_date_while_the_offer_is_out,
    lists_filter_and_order_by_due_date,
    pages_by_due_date_never_repeat_or_skip
);
