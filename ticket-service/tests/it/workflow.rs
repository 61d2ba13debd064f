//! A ticket walked through the whole workflow, with its notes, history and outbox.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, ok};
use common::TicketEventMessage;
use db::entity::{outbox, ticket_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

const TICKET: &str = "query($t: ID!) { ticket(id: $t) { state version allowedTransitions applicant { applicantNumber name } supervisors { name } history { kind fromState toState detail actor { name } } notes { id body resolved resolvedBy { name } author { name } editedAt } } }";

async fn walk_full_workflow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.create_tickets(Who::FacultyA, 1).await.remove(0);
    let r = app.gql(Who::Budget, TICKET, json!({"t": t})).await;
    assert_eq!(ok(&r)["ticket"]["state"], "INITIAL");
    assert_eq!(
        ok(&r)["ticket"]["allowedTransitions"],
        json!(["GRANTED", "CANCELLED"])
    );

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

    // The FSS requests the offer for the faculty member they support, naming a co-supervisor.
    let r = app
        .request_offer(
            Who::FssA,
            &t,
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
    let r = app.gql(Who::Chair, TICKET, json!({"t": t})).await;
    assert_eq!(
        ok(&r)["ticket"]["allowedTransitions"],
        json!(["GRANTED", "OFFER_PENDING"])
    );
    // The co-supervisor now sees the ticket, but does not act for the owner.
    let r = app.gql(Who::FacultyB, TICKET, json!({"t": t})).await;
    assert_eq!(ok(&r)["ticket"]["allowedTransitions"], json!([]));

    // Declined: back to GRANTED, applicant and supervisors cleared.
    let r = app.gql(Who::Chair, "mutation($t: ID!) { declineOffer(ticketId: $t, reason: \"Budget line is for domestic students\") { state applicant { name } supervisors { id } } }", json!({"t": t})).await;
    assert_eq!(
        ok(&r)["declineOffer"],
        json!({"state": "GRANTED", "applicant": null, "supervisors": []})
    );
    let r = app.gql(Who::FacultyB, TICKET, json!({"t": t})).await;
    assert_eq!(
        ok(&r)["ticket"],
        json!(null),
        "no longer a supervisor, no longer visible"
    );

    // Requested again by the owner, approved, refused by the applicant.
    ok(&app
        .request_offer(Who::FacultyA, &t, "A-100", json!([]))
        .await);
    let r = app
        .gql(
            Who::Chair,
            "mutation($t: ID!) { approveOffer(ticketId: $t) { state } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(ok(&r)["approveOffer"]["state"], "OFFER_PENDING");
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

    // Used again for another applicant; the graduate office approves and records acceptance.
    ok(&app
        .request_offer(Who::FacultyA, &t, "A-200", json!([]))
        .await);
    let r = app
        .gql(
            Who::Grad,
            "mutation($t: ID!) { approveOffer(ticketId: $t) { state } }",
            json!({"t": t}),
        )
        .await;
    assert_eq!(ok(&r)["approveOffer"]["state"], "OFFER_PENDING");
    let r = app.gql(Who::Grad, "mutation($t: ID!) { recordOfferResponse(ticketId: $t, accepted: true) { state version } }", json!({"t": t})).await;
    assert_eq!(ok(&r)["recordOfferResponse"]["state"], "OFFER_ACCEPTED");
    let version = ok(&r)["recordOfferResponse"]["version"].as_i64().unwrap();

    // Final: nothing moves it, and the error says where it stands.
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

    // Notes: anyone who sees the ticket adds and resolves; only the author edits and deletes.
    let r = app
        .gql(
            Who::FacultyA,
            "mutation($t: ID!) { addNote(ticketId: $t, body: \"Offer letter signed\") { id } }",
            json!({"t": t}),
        )
        .await;
    let note = ok(&r)["addNote"]["id"].as_str().unwrap().to_owned();
    let r = app
        .gql(
            Who::Grad,
            "mutation($n: ID!) { editNote(noteId: $n, body: \"changed\") { id } }",
            json!({"n": note}),
        )
        .await;
    assert_eq!(code(&r), "FORBIDDEN");
    let r = app.gql(Who::FacultyA, "mutation($n: ID!) { editNote(noteId: $n, body: \"Offer letter signed and sent\") { body editedAt } }", json!({"n": note})).await;
    assert_eq!(ok(&r)["editNote"]["body"], "Offer letter signed and sent");
    assert!(ok(&r)["editNote"]["editedAt"].is_string());
    let r = app
        .gql(
            Who::Grad,
            "mutation($n: ID!) { resolveNote(noteId: $n) { resolved resolvedBy { name } } }",
            json!({"n": note}),
        )
        .await;
    assert_eq!(
        ok(&r)["resolveNote"],
        json!({"resolved": true, "resolvedBy": {"name": "Gil Grad"}})
    );
    let r = app.gql(Who::Grad, "query($t: ID!) { ticket(id: $t) { notes(includeResolved: false) { id } all: notes { id } } }", json!({"t": t})).await;
    assert_eq!(ok(&r)["ticket"]["notes"], json!([]));
    assert_eq!(ok(&r)["ticket"]["all"].as_array().unwrap().len(), 1);
    let r = app
        .gql(
            Who::Grad,
            "mutation($n: ID!) { deleteNote(noteId: $n) }",
            json!({"n": note}),
        )
        .await;
    assert_eq!(code(&r), "FORBIDDEN");
    let r = app
        .gql(
            Who::FacultyA,
            "mutation($n: ID!) { deleteNote(noteId: $n) }",
            json!({"n": note}),
        )
        .await;
    assert_eq!(ok(&r)["deleteNote"], note.as_str());

    // The history tells the whole story, oldest first.
    let r = app.gql(Who::Grad, TICKET, json!({"t": t})).await;
    let history = ok(&r)["ticket"]["history"].as_array().unwrap().clone();
    let moves: Vec<(String, String)> = history
        .iter()
        .filter(|e| e["kind"] == "STATE_CHANGED")
        .map(|e| {
            (
                e["fromState"].as_str().unwrap().to_owned(),
                e["toState"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("INITIAL", "GRANTED"),
        ("GRANTED", "OFFER_REQUESTED"),
        ("OFFER_REQUESTED", "GRANTED"),
        ("GRANTED", "OFFER_REQUESTED"),
        ("OFFER_REQUESTED", "OFFER_PENDING"),
        ("OFFER_PENDING", "OFFER_REFUSED"),
        ("OFFER_REFUSED", "OFFER_REQUESTED"),
        ("OFFER_REQUESTED", "OFFER_PENDING"),
        ("OFFER_PENDING", "OFFER_ACCEPTED"),
    ];
    assert_eq!(moves, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
    assert_eq!(history[0]["kind"], "CREATED");
    assert_eq!(history[0]["fromState"], json!(null));
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "APPLICANT_SET",
        "SUPERVISORS_CHANGED",
        "NOTE_ADDED",
        "NOTE_EDITED",
        "NOTE_RESOLVED",
        "NOTE_DELETED",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let decline = history
        .iter()
        .find(|e| e["toState"] == "GRANTED" && e["fromState"] == "OFFER_REQUESTED")
        .unwrap();
    assert_eq!(decline["detail"], "Budget line is for domestic students");
    assert_eq!(decline["actor"]["name"], "Cy Chair");

    // Every history row has exactly one outbox row, with the ticket's routing data.
    let ticket_id: i64 = t.parse().unwrap();
    let events = ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(ticket_id))
        .order_by_asc(ticket_event::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let rows = outbox::Entity::find()
        .order_by_asc(outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let messages: Vec<TicketEventMessage> = rows
        .iter()
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .filter(|m: &TicketEventMessage| m.ticket_id == ticket_id)
        .collect();
    assert_eq!(
        messages.iter().map(|m| m.event_id).collect::<Vec<_>>(),
        events.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    let last = messages
        .iter()
        .rev()
        .find(|m| m.to_state.is_some())
        .unwrap();
    assert_eq!(last.state, common::TicketState::OfferAccepted);
    assert_eq!(last.owner_id, app.id(Who::FacultyA));
    assert_eq!(last.supervisor_ids, vec![app.id(Who::FacultyA)]);
    assert!(rows.iter().all(|r| r.relayed_at.is_none()));
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
    walk_full_workflow,
    stats_count_what_the_caller_sees,
    applicants_are_visible_with_their_tickets,
    users_and_me
);
