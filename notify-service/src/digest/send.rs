//! Sending digests and recording the outcome: accepted ones SENT (a batch in one statement),
//! a retryable failure waits its backoff (the row's claim is set to the retry time, when any
//! worker may take it again), others and the last allowed failure FAILED. A digest whose
//! worker died mid-send is taken again once its claim lapses and rendered again from the
//! emails it listed; as for single emails, one the provider took just before the crash may go
//! out twice.

use super::{Runner, compose::Composed, render};
use crate::{config::backoff, mailer::SendError};
use chrono::{DateTime, Utc};
use common::Cadence;
use db::entity::{digest, notification, user};
use futures::{StreamExt, stream};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{CaseStatement, Expr, Query, SimpleExpr},
};
use std::collections::HashMap;

/// An email a digest listed: its digest, ticket, subject and time.
type Listed = (Option<i64>, Option<i64>, String, DateTime<Utc>);

/// Digests taken again at once.
const RESEND_BATCH: u64 = 200;

/// How one send went.
enum Outcome {
    Sent(String),
    Retry(String),
    Failed(String),
}

impl Runner {
    /// Sends `composed` (each claimed by this worker) and records how each went; answers
    /// how many were accepted.
    pub(super) async fn send_all(
        &self,
        composed: Vec<Composed>,
        attempts: &HashMap<i64, i32>,
    ) -> Result<usize, DbErr> {
        let mailer = &self.mailer;
        let outcomes: Vec<(i64, Outcome)> = stream::iter(composed)
            .map(|digest| async move {
                let outcome = match mailer
                    .send_notice(&format!("digest-{}", digest.id), &digest.email)
                    .await
                {
                    Ok(id) => Outcome::Sent(id),
                    Err(SendError::Retry { message, .. }) => Outcome::Retry(message),
                    Err(SendError::Fatal(message)) => Outcome::Failed(message),
                };
                (digest.id, outcome)
            })
            .buffer_unordered(self.mail.concurrency)
            .collect()
            .await;
        let now = self.clock.now();
        let mut sent = Vec::new();
        for (id, outcome) in outcomes {
            match outcome {
                Outcome::Sent(message_id) => sent.push((id, message_id)),
                Outcome::Retry(message) => {
                    let tries = attempts.get(&id).copied().unwrap_or(0) + 1;
                    self.failed(id, tries, message, now).await?;
                }
                Outcome::Failed(message) => {
                    self.failed(id, i32::MAX, message, now).await?;
                }
            }
        }
        let accepted = sent.len();
        for chunk in sent.chunks(100) {
            self.record_sent(chunk, now).await?;
        }
        Ok(accepted)
    }

    /// Marks `sent` (id, provider message id) SENT in one statement.
    async fn record_sent(&self, sent: &[(i64, String)], now: DateTime<Utc>) -> Result<(), DbErr> {
        use digest::Column as D;
        let mut ids = CaseStatement::new();
        for (id, message_id) in sent {
            ids = ids.case(Expr::col(D::Id).eq(*id), Expr::val(message_id.clone()));
        }
        let mut update = Query::update();
        update
            .table(digest::Entity)
            .value(D::Status, super::SENT)
            .value(D::SentAt, Some(now))
            .value(D::ClaimedUntil, Option::<DateTime<Utc>>::None)
            .value(D::Attempts, Expr::col(D::Attempts).add(1))
            .value(D::ProviderMessageId, Into::<SimpleExpr>::into(ids))
            .and_where(Expr::col(D::Id).is_in(sent.iter().map(|(id, _)| *id)));
        let db = &self.db;
        db.execute(db.get_database_backend().build(&update)).await?;
        Ok(())
    }

    /// Records a failed call, the `tries`th: FAILED at the limit, else waiting its backoff.
    async fn failed(
        &self,
        id: i64,
        tries: i32,
        message: String,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        use digest::Column as D;
        let limit = i32::try_from(self.mail.max_attempts).unwrap_or(i32::MAX);
        let mut update = digest::Entity::update_many()
            .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
            .col_expr(D::LastError, Expr::value(Some(message)))
            .filter(D::Id.eq(id));
        update = if tries >= limit {
            tracing::warn!(digest = id, "a digest could not be sent and is FAILED");
            update
                .col_expr(D::Status, Expr::value(super::FAILED))
                .col_expr(D::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        } else {
            let wait = backoff(self.mail.retry_base, self.mail.retry_max, tries);
            let again = now + chrono::Duration::from_std(wait).unwrap_or_default();
            update.col_expr(D::ClaimedUntil, Expr::value(Some(again)))
        };
        update.exec(&self.db).await?;
        Ok(())
    }

    /// Takes the QUEUED digests nobody holds (a retry's wait is over, or their worker died),
    /// renders them again from the emails they list and sends them; answers how many were
    /// accepted.
    pub(super) async fn resend(&self, now: DateTime<Utc>) -> Result<usize, DbErr> {
        use digest::Column as D;
        let free = || {
            Expr::cust("status = 'QUEUED'").and(
                Expr::col(D::ClaimedUntil)
                    .is_null()
                    .or(Expr::col(D::ClaimedUntil).lt(now)),
            )
        };
        let waiting: Vec<digest::Model> = digest::Entity::find()
            .filter(free())
            .order_by_asc(D::Id)
            .limit(RESEND_BATCH)
            .all(&self.db)
            .await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        // Claimed with RETURNING written out: sea-orm's own `exec_with_returning` is off for
        // SQLite, whose every supported version has it.
        let mut claim = Query::update();
        claim
            .table(digest::Entity)
            .value(D::ClaimedUntil, Some(self.claim_until(now)))
            .and_where(free())
            .and_where(Expr::col(D::Id).is_in(waiting.iter().map(|d| d.id)))
            .returning(Query::returning().column(D::Id));
        let db = &self.db;
        let ids: Vec<i64> = db
            .query_all(db.get_database_backend().build(&claim))
            .await?
            .iter()
            .map(|row| row.try_get("", "id"))
            .collect::<Result<_, _>>()?;
        let taken: Vec<digest::Model> = waiting
            .into_iter()
            .filter(|d| ids.contains(&d.id))
            .collect();
        let attempts = taken.iter().map(|d| (d.id, d.attempts)).collect();
        let composed = self.render_again(&taken).await?;
        self.send_all(composed, &attempts).await
    }

    /// `digests` rendered again from the emails they list, for their users as they are now.
    async fn render_again(&self, digests: &[digest::Model]) -> Result<Vec<Composed>, DbErr> {
        let mut changes: HashMap<i64, Vec<render::Change>> = HashMap::new();
        let rows: Vec<Listed> = notification::Entity::find()
            .select_only()
            .columns([
                notification::Column::DigestId,
                notification::Column::TicketId,
                notification::Column::Subject,
                notification::Column::CreatedAt,
            ])
            .filter(notification::Column::DigestId.is_in(digests.iter().map(|d| d.id)))
            .into_tuple()
            .all(&self.db)
            .await?;
        for (id, ticket, subject, at) in rows {
            let change = render::Change {
                ticket_id: ticket.unwrap_or_default(),
                subject,
                at,
            };
            changes
                .entry(id.unwrap_or_default())
                .or_default()
                .push(change);
        }
        let users: Vec<i64> = digests.iter().map(|d| d.user_id).collect();
        let people: HashMap<i64, user::Model> = user::Entity::find()
            .filter(user::Column::Id.is_in(users.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let prefs = crate::preferences::load_many(&self.db, &users).await?;
        let mut composed = Vec::new();
        for digest in digests {
            let (Some(listed), Some(person)) =
                (changes.get(&digest.id), people.get(&digest.user_id))
            else {
                continue;
            };
            let zone = prefs
                .get(&digest.user_id)
                .and_then(|p| p.time_zone)
                .unwrap_or(self.mail.office_zone);
            let reader = render::Reader {
                name: &person.name,
                email: &person.email,
                zone,
                public_url: &self.mail.public_url,
            };
            let cadence = digest.cadence.parse().unwrap_or(Cadence::Daily);
            composed.push(Composed {
                id: digest.id,
                changes: digest.changes,
                email: render::render(cadence, listed, &reader),
            });
        }
        Ok(composed)
    }
}
