//! From a batch of stream entries to the emails left to send: one `notifications` row and one
//! inbox item per (event, recipient), written in one transaction (each unique in the
//! database, so a redelivered event adds nothing), the users whose inbox changed announced,
//! then the QUEUED rows of those events read back as sends.

use super::{
    Worker,
    directory::{Names, load_directory},
    send::{Job, Outgoing},
    write::Outcome,
};
use crate::{
    email::Email,
    inbox,
    recipients::{self, Delivery, Directory, Recipient},
};
use common::{Cadence, NotificationStatus, TicketEventMessage, stream::Entry};
use db::entity::{inbox_item, notification};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, SqlErr,
    TransactionTrait, sea_query::OnConflict,
};
use std::collections::HashMap;

/// One readable event of a batch, with the rows it needs.
struct Prepared {
    entry_id: String,
    event: TicketEventMessage,
    rows: Vec<notification::ActiveModel>,
    items: Vec<inbox_item::ActiveModel>,
}

/// Each email is rendered once, by (event, recipient): its subject goes in the row, the whole
/// of it is sent.
type Rendered = HashMap<(i64, i64), Email>;

impl Worker {
    /// Writes the rows of `entries` and returns the sends left to do per event, and the
    /// entries that are already done (nobody to email, everything sent, or unreadable).
    pub(super) async fn prepare(
        &self,
        entries: &[Entry],
    ) -> Result<(Vec<Job>, Vec<String>), DbErr> {
        let db = &self.inner.db;
        let (events, mut done) = readable(entries);
        let (dir, names) = load_directory(db, events.iter().map(|(_, e)| e)).await?;
        let now = db::now();
        let mut rendered = Rendered::new();
        // An event with nobody to email now still goes on: rows a dead worker wrote for it
        // earlier (before a preference or an account changed) are still to be sent.
        let prepared = events
            .into_iter()
            .map(|(entry_id, event)| {
                let (rows, items) = self.rows_for(&event, &dir, &names, &mut rendered, now);
                Prepared {
                    rows,
                    items,
                    entry_id,
                    event,
                }
            })
            .collect();
        let prepared = insert_all(db, prepared, &mut done).await?;
        self.announce(&prepared).await;
        let jobs = self
            .jobs(prepared, &dir, &names, rendered, &mut done)
            .await?;
        Ok((jobs, done))
    }

    /// The rows `event` needs, one per recipient, rendering each recipient's email, and the
    /// recipients' inbox items.
    fn rows_for(
        &self,
        event: &TicketEventMessage,
        dir: &Directory,
        names: &Names,
        rendered: &mut Rendered,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (Vec<notification::ActiveModel>, Vec<inbox_item::ActiveModel>) {
        let recipients = recipients::recipients(event, dir);
        // Each recipient's in-app cadence says whether they get an item now, one held for
        // their digest, or none.
        let in_app: Vec<_> = recipients
            .iter()
            .filter(|r| r.in_app != Cadence::Off)
            .collect();
        let items = if in_app.is_empty() {
            Vec::new()
        } else {
            let headline = self.headline(event, dir, names);
            in_app
                .into_iter()
                .map(|r| inbox::item::row(event, r.user, &headline, r.in_app, now))
                .collect()
        };
        let rows = recipients
            .into_iter()
            .map(|Recipient { user, email, .. }| {
                let (status, held_for) = match email {
                    Delivery::Email => (NotificationStatus::Queued, None),
                    Delivery::Suppressed => (NotificationStatus::Suppressed, None),
                    Delivery::Digest(cadence) => (
                        NotificationStatus::Digest,
                        Some(cadence.as_str().to_owned()),
                    ),
                };
                let email = self.render(event, dir, names, user);
                let subject = email.subject.clone();
                rendered.insert((event.event_id, user), email);
                notification::ActiveModel {
                    event_id: sea_orm::Set(event.event_id),
                    ticket_id: sea_orm::Set(Some(event.ticket_id)),
                    recipient_id: sea_orm::Set(user),
                    subject: sea_orm::Set(subject),
                    status: sea_orm::Set(status.as_str().to_string()),
                    held_for: sea_orm::Set(held_for),
                    attempts: sea_orm::Set(0),
                    created_at: sea_orm::Set(now),
                    ..Default::default()
                }
            })
            .collect();
        (rows, items)
    }

    /// Announces the users whose inbox `prepared` wrote to (or, for a redelivered event,
    /// had written to), before the events are acknowledged: an announcement a crash lost is
    /// made when the event comes again. Waits out a stream that is away, as the reads do.
    async fn announce(&self, prepared: &[Prepared]) {
        let users: Vec<i64> = prepared
            .iter()
            .flat_map(|p| &p.items)
            .filter(|item| item.held_for.try_as_ref().is_some_and(Option::is_none))
            .filter_map(|item| item.user_id.try_as_ref().copied())
            .collect();
        while let Err(err) =
            inbox::announce::announce(&self.inner.stream, users.iter().copied()).await
        {
            tracing::warn!(%err, "email worker cannot announce inbox changes");
            tokio::time::sleep(super::PAUSE).await;
        }
    }

    /// The QUEUED rows of the `prepared` events as one job per event (an event with none is
    /// `done`). Rows whose recipient was deactivated since they were written are FAILED.
    async fn jobs(
        &self,
        prepared: Vec<Prepared>,
        dir: &Directory,
        names: &Names,
        mut rendered: Rendered,
        done: &mut Vec<String>,
    ) -> Result<Vec<Job>, DbErr> {
        let event_ids: Vec<i64> = prepared.iter().map(|p| p.event.event_id).collect();
        let mut queued: HashMap<i64, Vec<notification::Model>> = HashMap::new();
        for row in notification::Entity::find()
            .filter(notification::Column::EventId.is_in(event_ids))
            .filter(notification::Column::Status.eq(NotificationStatus::Queued.as_str()))
            .all(&self.inner.db)
            .await?
        {
            queued.entry(row.event_id).or_default().push(row);
        }
        let mut jobs = Vec::new();
        for Prepared {
            entry_id, event, ..
        } in prepared
        {
            let (rows, gone): (Vec<_>, Vec<_>) = queued
                .remove(&event.event_id)
                .unwrap_or_default()
                .into_iter()
                .partition(|row| dir.people.contains_key(&row.recipient_id));
            // Deactivated since the row was written (a redelivered event): nobody writes to
            // an inactive account, and the row must not wait for ever.
            for row in gone {
                self.record(
                    row.id,
                    Outcome::Failed("the recipient's account is no longer active".to_string()),
                )
                .await;
            }
            let sends: Vec<Outgoing> = rows
                .into_iter()
                .map(|row| {
                    let email = rendered
                        .remove(&(row.event_id, row.recipient_id))
                        .unwrap_or_else(|| self.render(&event, dir, names, row.recipient_id));
                    Outgoing::new(&row, email)
                })
                .collect();
            if sends.is_empty() {
                done.push(entry_id);
            } else {
                jobs.push(Job { entry_id, sends });
            }
        }
        Ok(jobs)
    }
}

/// The events of `entries`, and the ids of those that are not readable events (skipped: no
/// retry would make them readable).
fn readable(entries: &[Entry]) -> (Vec<(String, TicketEventMessage)>, Vec<String>) {
    let mut done = Vec::new();
    let mut events = Vec::new();
    for entry in entries {
        match serde_json::from_str::<TicketEventMessage>(&entry.payload) {
            Ok(event) => events.push((entry.id.clone(), event)),
            Err(err) => {
                tracing::error!(id = %entry.id, %err, "unreadable ticket event skipped");
                done.push(entry.id.clone());
            }
        }
    }
    (events, done)
}

/// Writes the rows and items of every prepared event in one transaction; should it fail on
/// one event's (an event about a row that is gone), each event on its own, and the bad one
/// is skipped (its entry `done`). Returns the events whose rows are written.
async fn insert_all(
    db: &DatabaseConnection,
    prepared: Vec<Prepared>,
    done: &mut Vec<String>,
) -> Result<Vec<Prepared>, DbErr> {
    let Err(err) = insert_rows(db, &prepared).await else {
        return Ok(prepared);
    };
    if !is_dangling(&err) {
        return Err(err);
    }
    let mut kept = Vec::new();
    for p in prepared {
        match insert_rows(db, std::slice::from_ref(&p)).await {
            Ok(()) => kept.push(p),
            Err(err) if !is_dangling(&err) => return Err(err),
            Err(err) => {
                tracing::error!(id = %p.entry_id, event = p.event.event_id, %err, "ticket event skipped: its notifications cannot be recorded");
                done.push(p.entry_id);
            }
        }
    }
    Ok(kept)
}

/// A row naming an event, ticket or user that does not exist: that event can never be
/// recorded, so it is skipped. Anything else (the database away) is waited out.
fn is_dangling(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

/// The notification rows and inbox items of `prepared`, committed together: an email is never
/// recorded without its inbox item, nor the other way round.
async fn insert_rows(db: &DatabaseConnection, prepared: &[Prepared]) -> Result<(), DbErr> {
    let rows: Vec<_> = prepared
        .iter()
        .flat_map(|p| p.rows.iter().cloned())
        .collect();
    let items: Vec<_> = prepared
        .iter()
        .flat_map(|p| p.items.iter().cloned())
        .collect();
    if rows.is_empty() && items.is_empty() {
        return Ok(());
    }
    let txn = db.begin().await?;
    insert_notifications(&txn, rows).await?;
    insert_items(&txn, items).await?;
    txn.commit().await
}

async fn insert_notifications(
    db: &impl ConnectionTrait,
    rows: Vec<notification::ActiveModel>,
) -> Result<(), DbErr> {
    for chunk in rows.chunks(500) {
        notification::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    notification::Column::EventId,
                    notification::Column::RecipientId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .do_nothing()
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// One item per (user, event): a redelivered event's are already there.
async fn insert_items(
    db: &impl ConnectionTrait,
    items: Vec<inbox_item::ActiveModel>,
) -> Result<(), DbErr> {
    for chunk in items.chunks(500) {
        inbox_item::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([inbox_item::Column::UserId, inbox_item::Column::EventId])
                    .do_nothing()
                    .to_owned(),
            )
            .do_nothing()
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
