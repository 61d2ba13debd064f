//! Findings 6 and 7: what `users` and `user(id)` tell each role about others, and control
//! characters kept out of names and notes.

use crate::on_both_databases;
use crate::support::{Backend, Platform, Who, code};
use serde_json::json;

const DIRECTORY: &str = "{ users { id name email roles } }";
const DETAILS: &str =
    "query($id: ID!) { user(id: $id) { id name email roles notificationPreferences { email } } }";

/// The ids `users` lists to `client`.
async fn listed(app: &Platform, client: &reqwest::Client, caller: Who) -> Vec<i64> {
    let body = app.gql(client, DIRECTORY, json!({})).await;
    assert!(body.get("errors").is_none(), "{caller:?}: {body}");
    body["data"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// What `user(id)` tells `caller` about a visible `other`: everything about themselves (and
/// to an ADMIN); to anyone else, all but the preferences, and roles only as far as the
/// caller sees everyone.
async fn details_of(
    app: &Platform,
    client: &reqwest::Client,
    (caller, other): (Who, Who),
    sees_everyone: bool,
) {
    let body = app
        .gql(client, DETAILS, json!({"id": app.id(other).to_string()}))
        .await;
    let preferences_forbidden = other != caller && caller != Who::Admin;
    if !preferences_forbidden {
        assert!(
            body.get("errors").is_none(),
            "{caller:?} on {other:?}: {body}"
        );
        assert_eq!(body["data"]["user"]["email"], other.email());
        return;
    }
    // Only the preferences are refused; the non-null field takes its user along.
    assert_eq!(
        code(&body),
        Some("FORBIDDEN"),
        "{caller:?} on {other:?}: {body}"
    );
    assert_eq!(
        body["errors"][0]["path"].as_array().and_then(|p| p.last()),
        Some(&json!("notificationPreferences")),
        "{body}"
    );
    let body = app
        .gql(
            client,
            "query($id: ID!) { user(id: $id) { name email roles } }",
            json!({"id": app.id(other).to_string()}),
        )
        .await;
    assert!(
        body.get("errors").is_none(),
        "{caller:?} on {other:?}: {body}"
    );
    let roles = &body["data"]["user"]["roles"];
    if sees_everyone {
        assert_ne!(roles, &json!([]), "{caller:?} on {other:?}");
    } else {
        // Faculty and FSS see another's FACULTY role and nothing else.
        assert_eq!(roles, &json!(["FACULTY"]), "{caller:?} on {other:?}");
    }
}

/// Finding 6, for every role: what `users` and `user(id)` tell each caller about others.
async fn the_directory_shows_each_role_what_it_needs(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let staff = [Who::Admin, Who::Budget, Who::Chair, Who::Grad];
    for caller in Who::ALL {
        let client = app.signed_in(caller).await;
        let sees_everyone = staff.contains(&caller);
        let listed = listed(&app, &client, caller).await;
        for other in Who::ALL {
            let is_faculty = matches!(other, Who::FacultyA | Who::FacultyB);
            let visible = sees_everyone || other == caller || is_faculty;
            assert_eq!(
                listed.contains(&app.id(other)),
                visible,
                "{caller:?} lists {other:?}"
            );
            if visible {
                details_of(&app, &client, (caller, other), sees_everyone).await;
            } else {
                let body = app
                    .gql(&client, DETAILS, json!({"id": app.id(other).to_string()}))
                    .await;
                assert!(
                    body["data"]["user"].is_null(),
                    "{caller:?} reads {other:?}: {body}"
                );
            }
        }
    }
    app.cleanup().await;
}

/// Through a ticket, a faculty member may reach someone the directory does not show them
/// (who created it): the name, never the email.
async fn through_a_ticket_faculty_see_who_created_it_by_name_only(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let created = app
        .gql(
            &budget,
            "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\"}) { id } }",
            json!({"o": app.id(Who::FacultyA).to_string()}),
        )
        .await;
    let ticket = created["data"]["createTickets"][0]["id"].clone();
    let faculty = app.signed_in(Who::FacultyA).await;
    let name = app
        .gql(
            &faculty,
            "query($t: ID!) { ticket(id: $t) { createdBy { name } } }",
            json!({"t": ticket}),
        )
        .await;
    assert_eq!(
        name["data"]["ticket"]["createdBy"]["name"], "Bea Budget",
        "{name}"
    );
    let email = app
        .gql(
            &faculty,
            "query($t: ID!) { ticket(id: $t) { createdBy { email } } }",
            json!({"t": ticket}),
        )
        .await;
    assert_eq!(code(&email), Some("FORBIDDEN"), "{email}");
    app.cleanup().await;
}

/// Finding 7: control characters and direction overrides never get into names or notes.
async fn control_characters_are_refused_naming_the_field(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let admin = app.signed_in(Who::Admin).await;
    let create = "mutation($name: String!) { createUser(input: {email: \"new@test.edu\", name: $name, roles: [FACULTY], password: \"long enough password\"}) { id } }";
    for name in [
        "Nul\u{0}Name",
        "Line\r\nBreak",
        "Ann \u{202E}nimdA",
        "Esc\u{1b}[2J",
    ] {
        let body = app.gql(&admin, create, json!({"name": name})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{name:?}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "name", "{body}");
    }
    let rename =
        "mutation($id: ID!, $name: String!) { updateUser(input: {id: $id, name: $name}) { name } }";
    let body = app
        .gql(
            &admin,
            rename,
            json!({"id": app.id(Who::FacultyB).to_string(), "name": "Bob \u{202E}ytlucaF"}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "name", "{body}");

    let budget = app.signed_in(Who::Budget).await;
    let created = app
        .gql(
            &budget,
            "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\"}) { id } }",
            json!({"o": app.id(Who::FacultyA).to_string()}),
        )
        .await;
    let ticket = created["data"]["createTickets"][0]["id"].clone();
    let granted = app
        .gql(
            &budget,
            "mutation($t: ID!) { grantTicket(ticketId: $t) { state } }",
            json!({"t": ticket}),
        )
        .await;
    assert_eq!(
        granted["data"]["grantTicket"]["state"], "GRANTED",
        "{granted}"
    );
    let faculty = app.signed_in(Who::FacultyA).await;
    let request = "mutation($t: ID!, $name: String!) { requestOffer(input: {ticketId: $t, applicant: {applicantNumber: \"A-1\", name: $name}}) { state } }";
    let body = app
        .gql(
            &faculty,
            request,
            json!({"t": ticket, "name": "Pat\r\nSmith"}),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "name", "{body}");

    let note = "mutation($t: ID!, $body: String!) { addNote(ticketId: $t, body: $body) { body } }";
    let body = app
        .gql(&faculty, note, json!({"t": ticket, "body": "two\nlines"}))
        .await;
    assert_eq!(body["data"]["addNote"]["body"], "two\nlines", "{body}");
    for bad in ["nul\u{0}", "cr\rhere", "\u{202E}reversed"] {
        let body = app
            .gql(&faculty, note, json!({"t": ticket, "body": bad}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "body",
            "{bad:?}: {body}"
        );
    }
    app.cleanup().await;
}

on_both_databases!(
    the_directory_shows_each_role_what_it_needs,
    through_a_ticket_faculty_see_who_created_it_by_name_only,
    control_characters_are_refused_naming_the_field
);
