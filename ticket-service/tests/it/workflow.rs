//! A ticket walked through the workflow: each transition and who may make it, an offer
//! declined, refused and accepted, the final state; and the queries around tickets (stats,
//! applicants, users). `walk` takes a ticket the whole way, for the history and outbox tests.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, ok};
use serde_json::json;

pub const TICKET: &str = "query($t: ID!) { ticket(id: $t) { state version allowedTransitions applicant { applicantNumber name } supervisors { name } history { kind fromState toState detail actor { name } } notes { id body resolved resolvedBy { name } author { name } editedAt } } }";

/// Granted with the version it was read at: GRANTED, version 2.
async fn grant(app: &TestApp, t: &str) {
    let r = app
        .gql(
            Who::Budget,
            "mutation($t: ID!) { grantTicket(ticketId: $t, expectedVersion: 1) { state version } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(
        ok(&r)["grantTicket"],
        json!({"state": "GRANTED", "version": 2})
    );
}

/// The FSS requests the offer for the faculty member they support, naming a co-supervisor
/// (faculty B).
async fn fss_requests_with_a_co_supervisor(app: &TestApp, t: &str) {
    let r = app
        .request_offer(
            Who::FssA,
            t,
            "A-100",
            json!([app.id(Who::FacultyB).to_string()]),
        )
        .await;
    assert_eq!(ok(&r)["requestOffer"]["state"], "OFFER_REQUESTED");
    assert_eq!(
        ok(&r)["requestOffer"]["applicant"]["applicantNumber"],
        "A-100"
    );
    assert_eq!(
        ok(&r)["requestOffer"]["supervisors"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// The chair declines: back to GRANTED, applicant and supervisors cleared.
async fn chair_declines(app: &TestApp, t: &str) {
    let r = app.gql(Who::Chair, "mutation($t: ID!) { declineOffer(ticketId: $t, reason: \"Budget line is for domestic students\") { state applicant { name } supervisors { id } } }", json!({"t": t})).await;
    assert_eq!(
        ok(&r)["declineOffer"],
        json!({"state": "GRANTED", "applicant": null, "supervisors": []})
    );
}

/// `who` approves the requested offer: OFFER_PENDING.
async fn approve(app: &TestApp, who: Who, t: &str) {
    let r = app
        .gql(
            who,
            "mutation($t: ID!) { approveOffer(ticketId: $t) { state } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(ok(&r)["approveOffer"]["state"], "OFFER_PENDING");
}

/// Requested by the owner, approved by the chair, refused by the applicant.
async fn offered_and_refused(app: &TestApp, t: &str) {
    ok(&app
        .request_offer(Who::FacultyA, t, "A-100", json!([]))
        .await);
    approve(app, Who::Chair, t).await;
    let r = app.gql(Who::Grad, TICKET, json!({"t": t})).await;
    assert_eq!(
        ok(&r)["ticket"]["allowedTransitions"],
        json!(["OFFER_ACCEPTED", "OFFER_REFUSED"])
    );
    let r = app
        .gql(
            Who::Grad,
            "mutation($t: ID!) { recordOfferResponse(ticketId: $t, accepted: false) { state } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(ok(&r)["recordOfferResponse"]["state"], "OFFER_REFUSED");
}

/// Used again for another applicant; the graduate office approves and records acceptance.
/// The ticket's version then.
async fn offered_again_and_accepted(app: &TestApp, t: &str) -> i64 {
    ok(&app
        .request_offer(Who::FacultyA, t, "A-200", json!([]))
        .await);
    approve(app, Who::Grad, t).await;
    let r = app.gql(Who::Grad, "mutation($t: ID!) { recordOfferResponse(ticketId: $t, accepted: true) { state version } }", json!({"t": t})).await;
    assert_eq!(ok(&r)["recordOfferResponse"]["state"], "OFFER_ACCEPTED");
    ok(&r)["recordOfferResponse"]["version"].as_i64().unwrap()
}

/// A new ticket of faculty A's taken the whole way: granted, requested by the FSS with a
/// co-supervisor, declined, requested, approved and refused, requested again, approved and
/// accepted. Its id and final version.
pub async fn walk(app: &TestApp) -> (String, i64) {
    let t = app.create_tickets(Who::FacultyA, 1).await.remove(0);
    grant(app, &t).await;
    fss_requests_with_a_co_supervisor(app, &t).await;
    chair_declines(app, &t).await;
    offered_and_refused(app, &t).await;
    let version = offered_again_and_accepted(app, &t).await;
    (t, version)
}

async fn a_new_ticket_is_granted_at_the_version_it_was_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.create_tickets(Who::FacultyA, 1).await.remove(0);
    let r = app.gql(Who::Budget, TICKET, json!({"t": t})).await;
    assert_eq!(ok(&r)["ticket"]["state"], "INITIAL");
    assert_eq!(
        ok(&r)["ticket"]["allowedTransitions"],
        json!(["GRANTED", "CANCELLED"])
    );
    grant(&app, &t).await;
    app.cleanup().await;
}

async fn an_fss_requests_the_offer_naming_a_co_supervisor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.create_tickets(Who::FacultyA, 1).await.remove(0);
    grant(&app, &t).await;
    fss_requests_with_a_co_supervisor(&app, &t).await;
    let r = app.gql(Who::Chair, TICKET, json!({"t": t})).await;
    assert_eq!(
        ok(&r)["ticket"]["allowedTransitions"],
        json!(["GRANTED", "OFFER_PENDING"])
    );
    // The co-supervisor now sees the ticket, but does not act for the owner.
    let r = app.gql(Who::FacultyB, TICKET, json!({"t": t})).await;
    assert_eq!(ok(&r)["ticket"]["allowedTransitions"], json!([]));
    app.cleanup().await;
}

async fn a_declined_offer_returns_to_granted_without_applicant_or_supervisors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.create_tickets(Who::FacultyA, 1).await.remove(0);
    grant(&app, &t).await;
    fss_requests_with_a_co_supervisor(&app, &t).await;
    chair_declines(&app, &t).await;
    let r = app.gql(Who::FacultyB, TICKET, json!({"t": t})).await;
    assert_eq!(
        ok(&r)["ticket"],
        json!(null),
        "no longer a supervisor, no longer visible"
    );
    app.cleanup().await;
}

async fn a_refused_offer_frees_the_ticket_for_another_applicant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.create_tickets(Who::FacultyA, 1).await.remove(0);
    grant(&app, &t).await;
    offered_and_refused(&app, &t).await;
    offered_again_and_accepted(&app, &t).await;
    app.cleanup().await;
}

/// Final: nothing moves it, and the error says where it stands.
async fn an_accepted_offer_is_final(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (t, version) = walk(&app).await;
    let r = app
        .gql(
            Who::Budget,
            "mutation($t: ID!) { cancelTicket(ticketId: $t, reason: \"too late\") { state } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(code(&r), "INVALID_TRANSITION");
    assert_eq!(r["errors"][0]["extensions"]["state"], "OFFER_ACCEPTED");
    let r = app.gql(Who::Grad, "mutation($t: ID!, $v: Int) { approveOffer(ticketId: $t, expectedVersion: $v) { state } }", json!({"t": t, "v": version - 1})).await;
    assert_eq!(code(&r), "CONFLICT");
    assert_eq!(r["errors"][0]["extensions"]["version"], version);
    app.cleanup().await;
}

async fn stats_count_what_the_caller_sees(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_tickets(Who::FacultyA, 3).await;
    app.create_tickets(Who::FacultyB, 2).await;
    let q = "{ ticketStats(cycle: \"2027\") { cycle total domestic international byState { state count } byOwner { owner { name } total } } }";
    let r = app.gql(Who::Budget, q, json!({})).await;
    let s = &ok(&r)["ticketStats"];
    assert_eq!(
        (
            s["total"].as_i64(),
            s["domestic"].as_i64(),
            s["international"].as_i64()
        ),
        (Some(5), Some(5), Some(0))
    );
    assert_eq!(s["byState"][0], json!({"state": "INITIAL", "count": 5}));
    assert_eq!(s["byState"].as_array().unwrap().len(), 7);
    assert_eq!(s["byOwner"].as_array().unwrap().len(), 2);
    let r = app.gql(Who::FssA, q, json!({})).await;
    assert_eq!(ok(&r)["ticketStats"]["total"], 3);
    assert_eq!(
        ok(&r)["ticketStats"]["byOwner"],
        json!([{"owner": {"name": "Alice Faculty"}, "total": 3}])
    );
    let r = app.gql(Who::FacultyC, q, json!({})).await;
    assert_eq!(ok(&r)["ticketStats"]["total"], 0);
    app.cleanup().await;
}

async fn applicants_are_visible_with_their_tickets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.requested_ticket(Who::FacultyA, "N-1").await;
    app.requested_ticket(Who::FacultyB, "N-2").await;
    let q = "query($s: String) { applicants(search: $s) { applicantNumber } }";
    let r = app.gql(Who::Grad, q, json!({})).await;
    assert_eq!(ok(&r)["applicants"].as_array().unwrap().len(), 2);
    let r = app.gql(Who::FacultyA, q, json!({})).await;
    assert_eq!(ok(&r)["applicants"], json!([{"applicantNumber": "N-1"}]));
    let r = app.gql(Who::Grad, q, json!({"s": "n-2"})).await;
    assert_eq!(ok(&r)["applicants"], json!([{"applicantNumber": "N-2"}]));
    app.cleanup().await;
}

async fn users_and_me(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .gql(
            Who::FssA,
            "{ me { name roles supports { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ok(&r)["me"],
        json!({"name": "Fay Support", "roles": ["FSS"], "supports": [{"name": "Alice Faculty"}]})
    );
    let r = app
        .gql(Who::Budget, "{ users(role: FACULTY) { name } }", json!({}))
        .await;
    assert_eq!(ok(&r)["users"].as_array().unwrap().len(), 3);
    let r = app
        .gql(Who::Admin, "mutation($i: CreateUserInput!) { createUser(input: $i) { id name roles supports { name } } }", json!({"i": {"email": "New.Fss@Test.edu", "name": "New Support", "roles": ["FSS"], "password": "long enough", "supportsIds": [app.id(Who::FacultyC).to_string()]}}))
        .await;
    let created = &ok(&r)["createUser"];
    assert_eq!(created["supports"], json!([{"name": "Carol Faculty"}]));
    let id = created["id"].as_str().unwrap().to_owned();
    let r = app.gql(Who::Admin, "mutation($i: UpdateUserInput!) { updateUser(input: $i) { active roles supports { name } } }", json!({"i": {"id": id, "active": false, "roles": ["FACULTY"]}})).await;
    assert_eq!(
        ok(&r)["updateUser"],
        json!({"active": false, "roles": ["FACULTY"], "supports": []})
    );
    let r = app
        .gql(Who::Budget, "{ users(role: FACULTY) { name } }", json!({}))
        .await;
    assert_eq!(
        ok(&r)["users"].as_array().unwrap().len(),
        3,
        "inactive users are left out"
    );
    let r = app
        .gql(
            Who::Admin,
            "{ users(role: FACULTY, includeInactive: true) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(ok(&r)["users"].as_array().unwrap().len(), 4);
    let r = app
        .gql(
            Who::Budget,
            "{ users(includeInactive: true) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&r), "FORBIDDEN");
    app.cleanup().await;
}

on_both_databases!(
    a_new_ticket_is_granted_at_the_version_it_was_read,
    an_fss_requests_the_offer_naming_a_co_supervisor,
    a_declined_offer_returns_to_granted_without_applicant_or_supervisors,
    a_refused_offer_frees_the_ticket_for_another_applicant,
    an_accepted_offer_is_final,
    stats_count_what_the_caller_sees,
    applicants_are_visible_with_their_tickets,
    users_and_me
);
