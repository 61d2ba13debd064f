//! Notes on a ticket. Anyone who can see the ticket may add a note and resolve or reopen any
//! note; only the author edits or deletes theirs. Each change writes a NOTE_* history entry
//! and its outbox row in the same transaction. Notes do not bump the ticket's `version`: that
//! guards the ticket's own fields, and a note must not make someone's approval fail.

use crate::{
    error::{Result, ServiceError},
    events::{self, NewEvent},
    tickets::{caller_id, find_visible},
    validate,
};
use common::{Principal, TicketEventKind};
use db::entity::{note, ticket};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, Set, TransactionTrait,
};

/// Adds a note to a ticket the caller can see.
pub async fn add(
    db: &DatabaseConnection,
    caller: &Principal,
    ticket_id: &str,
    body: &str,
) -> Result<note::Model> {
    let me = caller_id(caller)?;
    let ticket_id = validate::reference(ticket_id, "ticket")?;
    let txn = db.begin().await?;
    let ticket = find_visible(&txn, caller, ticket_id)
        .await?
        .ok_or(ServiceError::NotFound("ticket"))?;
    let body = validate::multiline("body", body, validate::NOTE_MAX)?;
    let row = note::ActiveModel {
        ticket_id: Set(ticket.id),
        author_id: Set(me),
        body: Set(body.clone()),
        resolved: Set(false),
        resolved_by: Set(None),
        created_at: Set(db::now()),
        edited_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    events::record(
        &txn,
        me,
        &ticket,
        vec![NewEvent::new(
            TicketEventKind::NoteAdded,
            Some(events::excerpt(&body)),
        )],
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The note and its ticket, if the caller can see the ticket.
async fn visible_note(
    txn: &DatabaseTransaction,
    caller: &Principal,
    note_id: &str,
) -> Result<(note::Model, ticket::Model)> {
    let id = validate::reference(note_id, "note")?;
    let note = note::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound("note"))?;
    let ticket = find_visible(txn, caller, note.ticket_id)
        .await?
        .ok_or(ServiceError::NotFound("note"))?;
    Ok((note, ticket))
}

fn author_only(note: &note::Model, me: i64, verb: &str) -> Result<()> {
    if note.author_id == me {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "only the note's author may {verb} it"
        )))
    }
}

/// Replaces the body of the caller's own note.
pub async fn edit(
    db: &DatabaseConnection,
    caller: &Principal,
    note_id: &str,
    body: &str,
) -> Result<note::Model> {
    let me = caller_id(caller)?;
    let txn = db.begin().await?;
    let (note, ticket) = visible_note(&txn, caller, note_id).await?;
    author_only(&note, me, "edit")?;
    let body = validate::multiline("body", body, validate::NOTE_MAX)?;
    let mut active: note::ActiveModel = note.into();
    active.body = Set(body.clone());
    active.edited_at = Set(Some(db::now()));
    let row = active.update(&txn).await?;
    events::record(
        &txn,
        me,
        &ticket,
        vec![NewEvent::new(
            TicketEventKind::NoteEdited,
            Some(events::excerpt(&body)),
        )],
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Deletes the caller's own note; the history keeps an excerpt.
pub async fn delete(db: &DatabaseConnection, caller: &Principal, note_id: &str) -> Result<i64> {
    let me = caller_id(caller)?;
    let txn = db.begin().await?;
    let (note, ticket) = visible_note(&txn, caller, note_id).await?;
    author_only(&note, me, "delete")?;
    note::Entity::delete_by_id(note.id).exec(&txn).await?;
    events::record(
        &txn,
        me,
        &ticket,
        vec![NewEvent::new(
            TicketEventKind::NoteDeleted,
            Some(events::excerpt(&note.body)),
        )],
    )
    .await?;
    txn.commit().await?;
    Ok(note.id)
}

/// Marks any note on a visible ticket resolved, or reopens it.
pub async fn resolve(
    db: &DatabaseConnection,
    caller: &Principal,
    note_id: &str,
    resolved: bool,
) -> Result<note::Model> {
    let me = caller_id(caller)?;
    let txn = db.begin().await?;
    let (note, ticket) = visible_note(&txn, caller, note_id).await?;
    if note.resolved == resolved {
        txn.commit().await?;
        return Ok(note);
    }
    let excerpt = events::excerpt(&note.body);
    let mut active: note::ActiveModel = note.into();
    active.resolved = Set(resolved);
    active.resolved_by = Set(resolved.then_some(me));
    let row = active.update(&txn).await?;
    let detail = format!(
        "{}: {excerpt}",
        if resolved { "resolved" } else { "reopened" }
    );
    events::record(
        &txn,
        me,
        &ticket,
        vec![NewEvent::new(TicketEventKind::NoteResolved, Some(detail))],
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}
