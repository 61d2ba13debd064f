//! What a walked ticket leaves behind: its notes (anyone who sees the ticket adds and
//! resolves them, only the author edits and deletes), its history, oldest first, and one
//! outbox row per history row with the ticket's routing data.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, ok};
use crate::workflow::{TICKET, walk};
use common::TicketEventMessage;
use db::entity::{outbox, ticket_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

/// Notes on ticket `t`: added by the owner, edited only by her, resolved by the graduate
/// office, hidden once resolved unless asked for, deleted only by her.
async fn a_note_lives_and_dies(app: &TestApp, t: &str) {
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
}

/// A walked ticket with a note that lived and died; its id.
async fn walked_with_a_note(app: &TestApp) -> String {
    let (t, _) = walk(app).await;
    a_note_lives_and_dies(app, &t).await;
    t
}

async fn notes_are_resolved_by_anyone_and_edited_or_deleted_by_their_author(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    walked_with_a_note(&app).await;
    app.cleanup().await;
}

async fn the_history_tells_the_whole_story_oldest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = walked_with_a_note(&app).await;
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

    app.cleanup().await;
}

async fn every_history_row_has_one_outbox_row_with_the_tickets_routing_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = walked_with_a_note(&app).await;
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

on_both_databases!(
    notes_are_resolved_by_anyone_and_edited_or_deleted_by_their_author,
    the_history_tells_the_whole_story_oldest_first,
    every_history_row_has_one_outbox_row_with_the_tickets_routing_data
);
