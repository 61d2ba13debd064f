//! What is due at a tick, read a page of users at a time so memory stays flat in the number
//! of users: the users with emails waiting for a digest (by the partial index on waiting
//! rows), their waiting cadences and oldest waiting email, their preferences and addresses;
//! and the users with inbox items held for a digest.

use super::{Runner, compose::Due, when::Schedule};
use crate::preferences::{self, Preferences};
use chrono::{DateTime, Utc};
use common::Cadence;
use db::entity::user;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, Statement,
};
use std::collections::HashMap;

/// Users read at once.
pub(super) const PAGE: usize = 200;

/// A user's waiting emails for one cadence.
#[derive(Debug, FromQueryResult)]
struct Waiting {
    recipient_id: i64,
    held_for: Option<String>,
    oldest: DateTime<Utc>,
}

impl Runner {
    /// The next page of users after `after` with emails waiting for a digest (ascending).
    pub(super) async fn waiting_users(&self, after: i64) -> Result<Vec<i64>, DbErr> {
        self.user_page(
            "SELECT DISTINCT recipient_id FROM notifications \
             WHERE status = 'DIGEST' AND digest_id IS NULL AND recipient_id > {after} \
             ORDER BY recipient_id LIMIT {page}",
            after,
        )
        .await
    }

    /// The next page of users after `after` with inbox items held for a digest.
    pub(super) async fn holding_users(&self, after: i64) -> Result<Vec<i64>, DbErr> {
        self.user_page(
            "SELECT DISTINCT user_id FROM inbox_items \
             WHERE held_for IS NOT NULL AND user_id > {after} \
             ORDER BY user_id LIMIT {page}",
            after,
        )
        .await
    }

    /// Runs a page query (`{after}` and `{page}` are numbers, so written in).
    async fn user_page(&self, sql: &str, after: i64) -> Result<Vec<i64>, DbErr> {
        let sql = sql
            .replace("{after}", &after.to_string())
            .replace("{page}", &PAGE.to_string());
        let db = &self.db;
        let rows = db
            .query_all(Statement::from_string(db.get_database_backend(), sql))
            .await?;
        rows.iter().map(|row| row.try_get_by_index(0)).collect()
    }

    /// Each of `users`' schedule (their zone or the office's, hour, weekday).
    pub(super) async fn schedules(&self, users: &[i64]) -> Result<HashMap<i64, Schedule>, DbErr> {
        let prefs = preferences::load_many(&self.db, users).await?;
        Ok(prefs
            .into_iter()
            .map(|(user, p)| (user, self.schedule(&p)))
            .collect())
    }

    fn schedule(&self, prefs: &Preferences) -> Schedule {
        Schedule {
            zone: prefs.time_zone.unwrap_or(self.mail.office_zone),
            hour: prefs.digest_hour,
            weekday: prefs.digest_weekday,
        }
    }

    /// The email digests of `users` due at `now`: a cadence whose oldest waiting email is no
    /// younger than its last due moment. Inactive users get none (nobody writes to them;
    /// their emails wait).
    pub(super) async fn due_digests(
        &self,
        users: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<Due>, DbErr> {
        let db = &self.db;
        let list = users
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let waiting = Waiting::find_by_statement(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT recipient_id, held_for, MIN(created_at) AS oldest FROM notifications \
                 WHERE status = 'DIGEST' AND digest_id IS NULL AND recipient_id IN ({list}) \
                 GROUP BY recipient_id, held_for"
            ),
        ))
        .all(db)
        .await?;
        let schedules = self.schedules(users).await?;
        let people: HashMap<i64, user::Model> = user::Entity::find()
            .filter(user::Column::Id.is_in(users.iter().copied()))
            .filter(user::Column::Active.eq(true))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let mut due: Vec<Due> = waiting
            .into_iter()
            .filter_map(|w| {
                let cadence: Cadence = w.held_for.as_deref()?.parse().ok()?;
                let person = people.get(&w.recipient_id)?;
                let schedule = schedules.get(&w.recipient_id)?;
                let due_at = schedule.last_due(cadence, now)?;
                (w.oldest <= due_at).then(|| Due {
                    user: w.recipient_id,
                    cadence,
                    due_at,
                    name: person.name.clone(),
                    email: person.email.clone(),
                    zone: schedule.zone,
                })
            })
            .collect();
        // In one order on every worker, so two composing at once wait for each other's rows
        // instead of deadlocking on them.
        due.sort_by_key(|d| (d.user, d.cadence));
        Ok(due)
    }
}
