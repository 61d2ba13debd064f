//! Reading and changing a user's email preferences. A user without a row has the defaults.

use chrono::Utc;
use db::entity::notification_preference::{self as prefs, DEFAULT_EMAIL, DEFAULT_NOTES};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use std::collections::HashMap;

/// A user's preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    /// Email on state changes.
    pub email: bool,
    /// Email on new notes.
    pub notes: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            email: DEFAULT_EMAIL,
            notes: DEFAULT_NOTES,
        }
    }
}

/// The preferences of each of `users` (defaults for those without a row).
pub async fn load_many(
    db: &DatabaseConnection,
    users: &[i64],
) -> Result<HashMap<i64, Preferences>, DbErr> {
    let rows = prefs::Entity::find()
        .filter(prefs::Column::UserId.is_in(users.iter().copied()))
        .all(db)
        .await?;
    let mut found: HashMap<i64, Preferences> = rows
        .into_iter()
        .map(|r| {
            (
                r.user_id,
                Preferences {
                    email: r.email,
                    notes: r.notes,
                },
            )
        })
        .collect();
    for user in users {
        found.entry(*user).or_default();
    }
    Ok(found)
}

/// Changes the given preferences of `user_id` (the others keep their value) and returns the
/// result. One statement: an upsert, so concurrent changes of different switches both land.
pub async fn update(
    db: &DatabaseConnection,
    user_id: i64,
    email: Option<bool>,
    notes: Option<bool>,
) -> Result<Preferences, DbErr> {
    let mut update_columns = vec![prefs::Column::UpdatedAt];
    if email.is_some() {
        update_columns.push(prefs::Column::Email);
    }
    if notes.is_some() {
        update_columns.push(prefs::Column::Notes);
    }
    let row = prefs::ActiveModel {
        user_id: Set(user_id),
        email: Set(email.unwrap_or(DEFAULT_EMAIL)),
        notes: Set(notes.unwrap_or(DEFAULT_NOTES)),
        updated_at: Set(Utc::now()),
    };
    prefs::Entity::insert(row)
        .on_conflict(
            OnConflict::column(prefs::Column::UserId)
                .update_columns(update_columns)
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(load_many(db, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default())
}
