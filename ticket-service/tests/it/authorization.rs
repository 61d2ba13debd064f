//! Every mutation tried by every role against one table of expected outcomes. The ticket is
//! owned by faculty A; FSS A supports A; faculty B and FSS B have nothing to do with it.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, ok};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Forbidden,
    NotFound,
}
use Outcome::{Forbidden as F, NotFound as N, Ok as Y};

/// The callers, in the column order of `TABLE`.
const CALLERS: [Who; 8] = [
    Who::Admin,
    Who::Budget,
    Who::Chair,
    Who::Grad,
    Who::FacultyA,
    Who::FacultyB,
    Who::FssA,
    Who::FssB,
];

#[derive(Debug, Clone, Copy)]
enum Start {
    None,
    Initial,
    Granted,
    Requested,
    Pending,
}

/// mutation, the state it starts from, and the outcome per caller:
///                          Admin Budget Chair Grad  Owner FacB  FssA  FssB
const TABLE: &[(&str, Start, [Outcome; 8])] = &[
    ("createTickets", Start::None, [F, Y, F, F, F, F, F, F]),
    ("grantTicket", Start::Initial, [F, Y, F, F, F, N, F, N]),
    ("cancelTicket", Start::Granted, [F, Y, F, F, F, N, F, N]),
    ("requestOffer", Start::Granted, [F, F, F, F, Y, N, Y, N]),
    (
        "withdrawOfferRequest",
        Start::Requested,
        [F, F, F, F, Y, N, Y, N],
    ),
    ("setSupervisors", Start::Requested, [F, F, Y, F, Y, N, Y, N]),
    ("approveOffer", Start::Requested, [F, F, Y, Y, F, N, F, N]),
    ("declineOffer", Start::Requested, [F, F, Y, F, F, N, F, N]),
    (
        "recordOfferResponse",
        Start::Pending,
        [F, F, F, Y, F, N, F, N],
    ),
    (
        "setResponseDeadline",
        Start::Pending,
        [F, F, F, Y, F, N, F, N],
    ),
    ("addNote", Start::Granted, [Y, Y, Y, Y, Y, N, Y, N]),
    ("createUser", Start::None, [Y, F, F, F, F, F, F, F]),
    ("updateUser", Start::None, [Y, F, F, F, F, F, F, F]),
];

fn operation(app: &TestApp, name: &str, ticket: &str, n: usize) -> (String, Value) {
    let faculty_a = app.id(Who::FacultyA).to_string();
    let faculty_c = app.id(Who::FacultyC).to_string();
    let (query, vars) = match name {
        "createTickets" => (
            "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: INTERNATIONAL, cycle: \"2028\"}) { id } }",
            json!({"o": faculty_a}),
        ),
        "grantTicket" => (
            "mutation($t: ID!) { grantTicket(ticketId: $t) { id } }",
            json!({"t": ticket}),
        ),
        "cancelTicket" => (
            "mutation($t: ID!) { cancelTicket(ticketId: $t, reason: \"no funds\") { id } }",
            json!({"t": ticket}),
        ),
        "requestOffer" => (
            "mutation($t: ID!, $n: String!) { requestOffer(input: {ticketId: $t, applicant: {applicantNumber: $n, name: \"Pat Applicant\"}}) { id } }",
            json!({"t": ticket, "n": format!("M-{n}")}),
        ),
        "withdrawOfferRequest" => (
            "mutation($t: ID!) { withdrawOfferRequest(ticketId: $t) { id } }",
            json!({"t": ticket}),
        ),
        "setSupervisors" => (
            "mutation($t: ID!, $s: [ID!]!) { setSupervisors(ticketId: $t, supervisorIds: $s) { id } }",
            json!({"t": ticket, "s": [faculty_c]}),
        ),
        "approveOffer" => (
            "mutation($t: ID!) { approveOffer(ticketId: $t) { id } }",
            json!({"t": ticket}),
        ),
        "declineOffer" => (
            "mutation($t: ID!) { declineOffer(ticketId: $t, reason: \"not this year\") { id } }",
            json!({"t": ticket}),
        ),
        "recordOfferResponse" => (
            "mutation($t: ID!) { recordOfferResponse(ticketId: $t, accepted: true) { id } }",
            json!({"t": ticket}),
        ),
        "setResponseDeadline" => (
            "mutation($t: ID!, $d: DateTime!) { setResponseDeadline(ticketId: $t, responseDueAt: $d) { id } }",
            json!({"t": ticket, "d": (chrono::Utc::now() + chrono::Duration::days(9)).to_rfc3339()}),
        ),
        "addNote" => (
            "mutation($t: ID!) { addNote(ticketId: $t, body: \"hello\") { id } }",
            json!({"t": ticket}),
        ),
        "createUser" => (
            "mutation($e: String!) { createUser(input: {email: $e, name: \"Someone\", roles: [FACULTY], password: \"long enough\"}) { id } }",
            json!({"e": format!("matrix{n}@test.edu")}),
        ),
        "updateUser" => (
            "mutation($i: ID!) { updateUser(input: {id: $i, name: \"Alice F. Faculty\"}) { id } }",
            json!({"i": faculty_a}),
        ),
        other => panic!("no operation {other}"),
    };
    (query.to_owned(), vars)
}

async fn every_mutation_as_every_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut n = 0;
    let mut failures = Vec::new();
    for (name, start, outcomes) in TABLE {
        for (caller, expected) in CALLERS.iter().zip(outcomes) {
            n += 1;
            let ticket = match start {
                Start::None => String::new(),
                Start::Initial => app.create_tickets(Who::FacultyA, 1).await.remove(0),
                Start::Granted => app.granted_ticket(Who::FacultyA).await,
                Start::Requested => app.requested_ticket(Who::FacultyA, &format!("R-{n}")).await,
                Start::Pending => {
                    let t = app.requested_ticket(Who::FacultyA, &format!("R-{n}")).await;
                    ok(&app
                        .gql(
                            Who::Chair,
                            "mutation($t: ID!) { approveOffer(ticketId: $t) { id } }",
                            json!({"t": t}),
                        )
                        .await);
                    t
                }
            };
            let (query, vars) = operation(&app, name, &ticket, n);
            let response = app.gql(*caller, &query, vars).await;
            let got = match response["errors"][0]["extensions"]["code"].as_str() {
                None => Y,
                Some("FORBIDDEN") => F,
                Some("NOT_FOUND") => N,
                Some(other) => {
                    failures.push(format!(
                        "{name} as {caller:?}: unexpected {other}: {response}"
                    ));
                    continue;
                }
            };
            if got != *expected {
                failures.push(format!(
                    "{name} as {caller:?}: expected {expected:?}, got {got:?} ({response})"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.cleanup().await;
}

async fn supervisors_see_but_do_not_act(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.granted_ticket(Who::FacultyA).await;
    ok(&app
        .request_offer(
            Who::FacultyA,
            &t,
            "S-1",
            json!([app.id(Who::FacultyC).to_string()]),
        )
        .await);
    let r = app
        .gql(
            Who::FacultyC,
            "query($t: ID!) { ticket(id: $t) { number allowedTransitions } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(ok(&r)["ticket"]["allowedTransitions"], json!([]));
    let r = app
        .gql(
            Who::FacultyC,
            "mutation($t: ID!) { withdrawOfferRequest(ticketId: $t) { id } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(code(&r), "FORBIDDEN");
    let r = app
        .gql(
            Who::FacultyC,
            "mutation($t: ID!) { addNote(ticketId: $t, body: \"I can help\") { id } }",
            json!({"t": t}),
        )
        .await;
    assert!(ok(&r)["addNote"]["id"].is_string());
    // Invisible tickets are NOT_FOUND, never FORBIDDEN, and absent from lists.
    let r = app
        .gql(
            Who::FacultyB,
            "query($t: ID!) { ticket(id: $t) { id } tickets { totalCount } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(ok(&r)["ticket"], json!(null));
    assert_eq!(ok(&r)["tickets"]["totalCount"], 0);
    app.cleanup().await;
}

/// `ticketEvent(id)` (what each live delivery is resolved with) shows an event only to those
/// who may see its ticket: null for everyone else, as for an id that does not exist.
async fn a_ticket_event_is_seen_only_with_its_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.granted_ticket(Who::FacultyA).await;
    let history = app
        .gql(
            Who::FacultyA,
            "query($t: ID!) { ticket(id: $t) { history { id kind } } }",
            json!({"t": t}),
        )
        .await;
    let id = ok(&history)["ticket"]["history"][1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let query =
        "query($id: ID!) { ticketEvent(id: $id) { id kind toState ticket { id } actor { name } } }";
    for who in [Who::FacultyA, Who::FssA, Who::Budget, Who::Grad] {
        let r = app.gql(who, query, json!({"id": id})).await;
        assert_eq!(ok(&r)["ticketEvent"]["toState"], "GRANTED", "{who:?}: {r}");
        assert_eq!(ok(&r)["ticketEvent"]["ticket"]["id"], t.as_str());
    }
    for who in [Who::FacultyB, Who::FssB] {
        let r = app.gql(who, query, json!({"id": id})).await;
        assert_eq!(ok(&r)["ticketEvent"], json!(null), "{who:?}: {r}");
    }
    for missing in ["999999", "not-an-id"] {
        let r = app.gql(Who::Budget, query, json!({"id": missing})).await;
        assert_eq!(ok(&r)["ticketEvent"], json!(null), "{r}");
    }
    let r = app
        .gql_as(&common::Principal::anonymous(), query, json!({"id": id}))
        .await;
    assert_eq!(code(&r), "UNAUTHENTICATED");
    app.cleanup().await;
}

on_both_databases!(
    every_mutation_as_every_role,
    supervisors_see_but_do_not_act,
    a_ticket_event_is_seen_only_with_its_ticket
);
