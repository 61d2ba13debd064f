//! Concurrent changes of one ticket: exactly one wins, the others are told why.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, field, ok};
use db::entity::ticket_event;
use futures::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

const RACERS: usize = 8;

async fn concurrent_moves_never_both_succeed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for with_version in [false, true] {
        let t = app
            .requested_ticket(
                Who::FacultyA,
                if with_version { "RACE-2" } else { "RACE-1" },
            )
            .await;
        let r = app
            .gql(
                Who::Chair,
                "query($t: ID!) { ticket(id: $t) { version } }",
                json!({"t": t}),
            )
            .await;
        let version = ok(&r)["ticket"]["version"].as_i64().unwrap();
        let vars = if with_version {
            json!({"t": t, "v": version})
        } else {
            json!({"t": t, "v": null})
        };
        // Approve and decline race each other from two roles at once.
        let calls = (0..RACERS).map(|i| {
            let (who, q) = if i % 2 == 0 {
                (Who::Chair, "mutation($t: ID!, $v: Int) { r: approveOffer(ticketId: $t, expectedVersion: $v) { state version } }")
            } else {
                (Who::Chair, "mutation($t: ID!, $v: Int) { r: declineOffer(ticketId: $t, reason: \"race\", expectedVersion: $v) { state version } }")
            };
            app.gql(who, q, vars.clone())
        });
        let responses = join_all(calls).await;
        let winners: Vec<_> = responses
            .iter()
            .filter(|r| r.get("errors").is_none())
            .collect();
        assert_eq!(winners.len(), 1, "exactly one winner: {responses:#?}");
        assert_eq!(winners[0]["data"]["r"]["version"], version + 1);
        for loser in responses.iter().filter(|r| r.get("errors").is_some()) {
            let c = code(loser);
            if with_version {
                assert_eq!(c, "CONFLICT", "{loser}");
            } else {
                assert!(c == "INVALID_TRANSITION" || c == "CONFLICT", "{loser}");
            }
        }
        let ticket_id: i64 = t.parse().unwrap();
        let moves = ticket_event::Entity::find()
            .filter(ticket_event::Column::TicketId.eq(ticket_id))
            .filter(ticket_event::Column::FromState.eq("OFFER_REQUESTED"))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(moves, 1, "one move recorded");
    }
    app.cleanup().await;
}

async fn one_applicant_one_active_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut tickets = Vec::new();
    for _ in 0..RACERS {
        tickets.push(app.granted_ticket(Who::FacultyA).await);
    }
    let calls = tickets
        .iter()
        .map(|t| app.request_offer(Who::FacultyA, t, "SAME-1", json!([])));
    let responses = join_all(calls).await;
    let winners = responses
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    assert_eq!(winners, 1, "{responses:#?}");
    for loser in responses.iter().filter(|r| r.get("errors").is_some()) {
        assert_eq!(
            (code(loser), field(loser)),
            ("BAD_USER_INPUT", "applicantNumber"),
            "{loser}"
        );
    }
    // Once the offer is refused, the applicant is free for another ticket.
    let held = tickets
        .iter()
        .zip(&responses)
        .find(|(_, r)| r.get("errors").is_none())
        .unwrap()
        .0
        .clone();
    ok(&app
        .gql(
            Who::Grad,
            "mutation($t: ID!) { approveOffer(ticketId: $t) { id } }",
            json!({"t": held}),
        )
        .await);
    ok(&app
        .gql(
            Who::Grad,
            "mutation($t: ID!) { recordOfferResponse(ticketId: $t, accepted: false) { id } }",
            json!({"t": held}),
        )
        .await);
    let other = tickets.iter().find(|t| **t != held).unwrap();
    ok(&app
        .request_offer(Who::FacultyA, other, "SAME-1", json!([]))
        .await);
    app.cleanup().await;
}

on_both_databases!(
    concurrent_moves_never_both_succeed,
    one_applicant_one_active_ticket
);
