//! Emails an ADMIN queued again (`retryNotifications`): every few seconds a worker looks for
//! QUEUED rows with a retry requested that nobody holds, renders them again from the event the
//! outbox kept, and sends them with a fresh budget.

use super::{BATCH, Worker, directory::load_directory, send::Outgoing, write::Outcome};
use common::{NotificationStatus, TicketEventMessage};
use db::entity::{notification, outbox};
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QuerySelect};
use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

/// How often a worker looks for emails an ADMIN queued again.
const RETRY_SWEEP: Duration = Duration::from_secs(2);

impl Worker {
    /// Forever: every `RETRY_SWEEP`, starts sending the emails an ADMIN queued again.
    pub(super) async fn retry_forever(self) {
        loop {
            tokio::time::sleep(RETRY_SWEEP).await;
            if let Err(err) = self.start_retries().await {
                tracing::warn!(%err, "cannot look for emails queued again");
            }
        }
    }

    /// Starts a send for each email queued again by an ADMIN that nobody holds (another
    /// worker may start the same one: the claim lets only one of them call at a time).
    async fn start_retries(&self) -> Result<(), DbErr> {
        let db = &self.inner.db;
        let now = db::now();
        let rows = notification::Entity::find()
            .filter(notification::Column::Status.eq(NotificationStatus::Queued.as_str()))
            .filter(notification::Column::RetryRequestedAt.is_not_null())
            .filter(
                Condition::any()
                    .add(notification::Column::ClaimedUntil.is_null())
                    .add(notification::Column::ClaimedUntil.lt(now)),
            )
            .limit(BATCH as u64)
            .all(db)
            .await?;
        let rows: Vec<notification::Model> = match self.inner.retrying.lock() {
            Ok(mut retrying) => rows
                .into_iter()
                .filter(|row| retrying.insert(row.id))
                .collect(),
            Err(_) => return Ok(()),
        };
        if rows.is_empty() {
            return Ok(());
        }
        let started: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let result = self.send_again(rows).await;
        if result.is_err() {
            for id in started {
                self.retried(id);
            }
        }
        result
    }

    /// Forgets that this worker is sending email `id` again (sent, failed, or not started).
    fn retried(&self, id: i64) {
        if let Ok(mut retrying) = self.inner.retrying.lock() {
            retrying.remove(&id);
        }
    }

    /// Renders and sends emails queued again, from the events the outbox kept.
    async fn send_again(&self, rows: Vec<notification::Model>) -> Result<(), DbErr> {
        let db = &self.inner.db;
        let event_ids: BTreeSet<i64> = rows.iter().map(|r| r.event_id).collect();
        let mut events: HashMap<i64, TicketEventMessage> = HashMap::new();
        for row in outbox::Entity::find()
            .filter(outbox::Column::TicketEventId.is_in(event_ids))
            .all(db)
            .await?
        {
            if let Ok(event) = serde_json::from_str::<TicketEventMessage>(&row.payload) {
                events.insert(row.ticket_event_id, event);
            }
        }
        let (dir, names) = load_directory(db, events.values()).await?;
        for row in rows {
            let event = match events.get(&row.event_id) {
                None => Err("the event this email is about is gone"),
                Some(_) if !dir.people.contains_key(&row.recipient_id) => {
                    Err("the recipient's account is no longer active")
                }
                Some(event) => Ok(event),
            };
            let event = match event {
                Ok(event) => event,
                Err(error) => {
                    self.record(row.id, Outcome::Failed(error.to_string()))
                        .await;
                    self.retried(row.id);
                    continue;
                }
            };
            let send = Outgoing::new(&row, self.render(event, &dir, &names, row.recipient_id));
            let worker = self.clone();
            tokio::spawn(async move {
                let id = send.id();
                worker.deliver(send).await;
                worker.retried(id);
            });
        }
        Ok(())
    }
}
