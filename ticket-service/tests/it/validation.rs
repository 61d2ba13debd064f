//! Bad input of every kind: BAD_USER_INPUT naming the field, nothing written, and the
//! contract's precedence when several things are wrong.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, field, ok};
use db::entity::{ticket, ticket_event};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateTicketsInput!) { createTickets(input: $i) { id } }";
const CREATE_USER: &str = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }";

/// Every case is refused BAD_USER_INPUT naming its field, with a message, and nothing
/// (no ticket, no event) was half-written.
async fn refused_naming_the_field(app: &TestApp, cases: Vec<(Who, Value, &str)>) {
    let before = (
        ticket::Entity::find().count(&app.db).await.unwrap(),
        ticket_event::Entity::find().count(&app.db).await.unwrap(),
    );
    for (who, case, expected) in cases {
        let r = app
            .gql(who, case["q"].as_str().unwrap(), case["v"].clone())
            .await;
        assert_eq!(
            (code(&r), field(&r)),
            ("BAD_USER_INPUT", expected),
            "{case}: {r}"
        );
        assert!(!r["errors"][0]["message"].as_str().unwrap().is_empty());
    }
    // Nothing was half-written.
    let after = (
        ticket::Entity::find().count(&app.db).await.unwrap(),
        ticket_event::Entity::find().count(&app.db).await.unwrap(),
    );
    assert_eq!(before, after);
}

async fn bad_ticket_creation_names_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.id(Who::FacultyA).to_string();
    let chair = app.id(Who::Chair).to_string();
    let cases: Vec<(Who, Value, &str)> = vec![
        (
            Who::Budget,
            json!({"q": CREATE, "v": {"i": {"ownerId": a, "residency": "DOMESTIC", "cycle": "2027", "count": 0}}}),
            "count",
        ),
        (
            Who::Budget,
            json!({"q": CREATE, "v": {"i": {"ownerId": a, "residency": "DOMESTIC", "cycle": "2027", "count": 51}}}),
            "count",
        ),
        (
            Who::Budget,
            json!({"q": CREATE, "v": {"i": {"ownerId": a, "residency": "DOMESTIC", "cycle": "27"}}}),
            "cycle",
        ),
        (
            Who::Budget,
            json!({"q": CREATE, "v": {"i": {"ownerId": "999999", "residency": "DOMESTIC", "cycle": "2027"}}}),
            "ownerId",
        ),
        (
            Who::Budget,
            json!({"q": CREATE, "v": {"i": {"ownerId": chair, "residency": "DOMESTIC", "cycle": "2027"}}}),
            "ownerId",
        ),
    ];
    refused_naming_the_field(&app, cases).await;
    app.cleanup().await;
}

async fn a_bad_offer_request_names_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let chair = app.id(Who::Chair).to_string();
    let t = app.granted_ticket(Who::FacultyA).await;
    let offer = |applicant: Value, supervisors: Value| json!({"q": "mutation($i: RequestOfferInput!) { requestOffer(input: $i) { id } }", "v": {"i": {"ticketId": t, "applicant": applicant, "supervisorIds": supervisors}}});
    let cases: Vec<(Who, Value, &str)> = vec![
        (
            Who::FacultyA,
            offer(json!({"applicantNumber": "X-1", "name": "  "}), json!([])),
            "name",
        ),
        (
            Who::FacultyA,
            offer(json!({"applicantNumber": "", "name": "Pat"}), json!([])),
            "applicantNumber",
        ),
        (
            Who::FacultyA,
            offer(
                json!({"applicantNumber": "X-1", "name": "Pat", "email": "not-an-email"}),
                json!([]),
            ),
            "email",
        ),
        (
            Who::FacultyA,
            offer(
                json!({"applicantNumber": "X-1", "name": "Pat"}),
                json!(["424242"]),
            ),
            "supervisorIds",
        ),
        (
            Who::FacultyA,
            offer(
                json!({"applicantNumber": "X-1", "name": "Pat"}),
                json!([chair]),
            ),
            "supervisorIds",
        ),
        (
            Who::FacultyA,
            offer(
                json!({"applicantNumber": "X-1", "name": "x".repeat(201)}),
                json!([]),
            ),
            "name",
        ),
    ];
    refused_naming_the_field(&app, cases).await;
    app.cleanup().await;
}

async fn bad_notes_and_reasons_name_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.granted_ticket(Who::FacultyA).await;
    let cases: Vec<(Who, Value, &str)> = vec![
        (
            Who::FacultyA,
            json!({"q": "mutation($t: ID!, $b: String!) { addNote(ticketId: $t, body: $b) { id } }", "v": {"t": t, "b": "x".repeat(10_001)}}),
            "body",
        ),
        (
            Who::FacultyA,
            json!({"q": "mutation($t: ID!, $b: String!) { addNote(ticketId: $t, body: $b) { id } }", "v": {"t": t, "b": " \n "}}),
            "body",
        ),
        (
            Who::Budget,
            json!({"q": "mutation($t: ID!) { cancelTicket(ticketId: $t, reason: \"\") { id } }", "v": {"t": t}}),
            "reason",
        ),
    ];
    refused_naming_the_field(&app, cases).await;
    app.cleanup().await;
}

async fn bad_user_input_names_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.id(Who::FacultyA).to_string();
    let chair = app.id(Who::Chair).to_string();
    let cases: Vec<(Who, Value, &str)> = vec![
        (
            Who::Admin,
            json!({"q": CREATE_USER, "v": {"i": {"email": "nope", "name": "N", "roles": ["FACULTY"], "password": "long enough"}}}),
            "email",
        ),
        (
            Who::Admin,
            json!({"q": CREATE_USER, "v": {"i": {"email": "A@TEST.EDU", "name": "Dup", "roles": ["FACULTY"], "password": "long enough"}}}),
            "email",
        ),
        (
            Who::Admin,
            json!({"q": CREATE_USER, "v": {"i": {"email": "n@test.edu", "name": "", "roles": ["FACULTY"], "password": "long enough"}}}),
            "name",
        ),
        (
            Who::Admin,
            json!({"q": CREATE_USER, "v": {"i": {"email": "n@test.edu", "name": "N", "roles": [], "password": "long enough"}}}),
            "roles",
        ),
        (
            Who::Admin,
            json!({"q": CREATE_USER, "v": {"i": {"email": "n@test.edu", "name": "N", "roles": ["FACULTY"], "password": "short"}}}),
            "password",
        ),
        (
            Who::Admin,
            json!({"q": CREATE_USER, "v": {"i": {"email": "n@test.edu", "name": "N", "roles": ["FACULTY"], "password": "long enough", "supportsIds": [a]}}}),
            "supportsIds",
        ),
        (
            Who::Admin,
            json!({"q": CREATE_USER, "v": {"i": {"email": "n@test.edu", "name": "N", "roles": ["FSS"], "password": "long enough", "supportsIds": [chair]}}}),
            "supportsIds",
        ),
        (
            Who::Admin,
            json!({"q": "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }", "v": {"i": {"id": "31337", "name": "Ghost"}}}),
            "id",
        ),
        (
            Who::Admin,
            json!({"q": "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }", "v": {"i": {"id": app.id(Who::Admin).to_string(), "active": false}}}),
            "active",
        ),
        (
            Who::Admin,
            json!({"q": "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }", "v": {"i": {"id": app.id(Who::Admin).to_string(), "roles": ["FACULTY"]}}}),
            "roles",
        ),
    ];
    refused_naming_the_field(&app, cases).await;
    app.cleanup().await;
}

async fn the_first_problem_wins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.id(Who::FacultyA).to_string();
    let t = app.granted_ticket(Who::FacultyA).await;
    // FORBIDDEN outranks BAD_USER_INPUT.
    let r = app
        .gql(
            Who::FacultyA,
            CREATE,
            json!({"i": {"ownerId": a, "residency": "DOMESTIC", "cycle": "x", "count": 0}}),
        )
        .await;
    assert_eq!(code(&r), "FORBIDDEN");
    // NOT_FOUND outranks FORBIDDEN: faculty B may not see A's ticket at all.
    let r = app
        .gql(
            Who::FacultyB,
            "mutation($t: ID!) { grantTicket(ticketId: $t) { id } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(code(&r), "NOT_FOUND");
    // BAD_USER_INPUT outranks CONFLICT, which outranks INVALID_TRANSITION.
    let r = app.gql(Who::Budget, "mutation($t: ID!) { cancelTicket(ticketId: $t, reason: \"\", expectedVersion: 99) { id } }", json!({"t": t})).await;
    assert_eq!(code(&r), "BAD_USER_INPUT");
    let r = app
        .gql(
            Who::Budget,
            "mutation($t: ID!) { grantTicket(ticketId: $t, expectedVersion: 99) { id } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(code(&r), "CONFLICT");
    let r = app
        .gql(
            Who::Budget,
            "mutation($t: ID!) { grantTicket(ticketId: $t) { id } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(code(&r), "INVALID_TRANSITION");
    assert_eq!(r["errors"][0]["extensions"]["state"], "GRANTED");
    // Unknown and malformed ticket ids are NOT_FOUND, like invisible ones.
    for id in ["999999", "abc"] {
        let r = app
            .gql(
                Who::Budget,
                "mutation($t: ID!) { grantTicket(ticketId: $t) { id } }",
                json!({"t": id}),
            )
            .await;
        assert_eq!(code(&r), "NOT_FOUND");
        let r = app
            .gql(
                Who::Budget,
                "query($t: ID!) { ticket(id: $t) { id } }",
                json!({"t": id}),
            )
            .await;
        assert_eq!(ok(&r)["ticket"], json!(null));
    }
    app.cleanup().await;
}

on_both_databases!(
    bad_ticket_creation_names_the_field,
    a_bad_offer_request_names_the_field,
    bad_notes_and_reasons_name_the_field,
    bad_user_input_names_the_field,
    the_first_problem_wins
);
