//! The in-app digest: inbox items held for a user's daily or weekly digest are shown together
//! at its due moment (their `held_for` cleared), and the users whose inbox changed are
//! announced so their unread count moves live. Clearing is idempotent, so two workers
//! releasing at once show each item once.

use super::{Runner, due::PAGE};
use chrono::{DateTime, Utc};
use common::Cadence;
use db::entity::inbox_item;
use sea_orm::{
    ConnectionTrait, DbErr,
    sea_query::{Cond, Expr, Query},
};
use std::collections::BTreeSet;

impl Runner {
    /// Releases every held item due at `now`; answers how many.
    pub(super) async fn release_inbox(&self, now: DateTime<Utc>) -> Result<u64, DbErr> {
        let mut released = 0;
        let mut after = 0;
        loop {
            let users = self.holding_users(after).await?;
            let Some(last) = users.last() else {
                return Ok(released);
            };
            after = *last;
            released += self.release_page(&users, now).await?;
            if users.len() < PAGE {
                return Ok(released);
            }
        }
    }

    /// Releases the items of `users` due at `now` in one statement, then announces them.
    async fn release_page(&self, users: &[i64], now: DateTime<Utc>) -> Result<u64, DbErr> {
        use inbox_item::Column as I;
        let schedules = self.schedules(users).await?;
        let mut due = Cond::any();
        let mut any = false;
        for (user, schedule) in &schedules {
            for cadence in [Cadence::Daily, Cadence::Weekly] {
                if let Some(at) = schedule.last_due(cadence, now) {
                    any = true;
                    due = due.add(
                        Cond::all()
                            .add(Expr::col(I::UserId).eq(*user))
                            .add(Expr::col(I::HeldFor).eq(cadence.as_str()))
                            .add(Expr::col(I::CreatedAt).lte(at)),
                    );
                }
            }
        }
        if !any {
            return Ok(0);
        }
        let mut update = Query::update();
        update
            .table(inbox_item::Entity)
            .value(I::HeldFor, Option::<String>::None)
            .cond_where(
                Cond::all()
                    .add(Expr::col(I::HeldFor).is_not_null())
                    .add(due),
            )
            .returning(Query::returning().column(I::UserId));
        let db = &self.db;
        let rows = db
            .query_all(db.get_database_backend().build(&update))
            .await?;
        let announced: BTreeSet<i64> = rows
            .iter()
            .filter_map(|row| row.try_get::<i64>("", "user_id").ok())
            .collect();
        if let Err(err) =
            crate::inbox::announce::announce(&self.stream, announced.iter().copied()).await
        {
            // The items are shown; the users' clients see them at their next change.
            tracing::warn!(%err, "cannot announce the inbox digests");
        }
        Ok(rows.len() as u64)
    }
}
