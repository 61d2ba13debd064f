//! The user the scheduler acts as, so its history events have an actor like any other:
//! "Tessera", `scheduler@tessera.invalid`, inactive and without roles or password (nobody
//! signs in as it, nobody emails it). Made on first use; two replicas making it at once end
//! with one row (the unique index on the email), and both use it.

use db::entity::user;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

/// Its address: `.invalid` is reserved, so no identity provider can vouch for it.
pub const EMAIL: &str = "scheduler@tessera.invalid";
/// Its name, as history and emails show the actor.
pub const NAME: &str = "Tessera";

/// The system user's id, made if missing.
pub async fn id<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    if let Some(found) = find(db).await? {
        return Ok(found);
    }
    let now = db::now();
    let made = user::ActiveModel {
        email: Set(EMAIL.into()),
        name: Set(NAME.into()),
        roles: Set(String::new()),
        password_hash: Set(None),
        active: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await;
    match made {
        Ok(row) => Ok(row.id),
        // Another scheduler made it first.
        Err(err) => find(db).await?.ok_or(err),
    }
}

async fn find<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, DbErr> {
    Ok(user::Entity::find()
        .filter(user::email_is(EMAIL))
        .one(db)
        .await?
        .map(|u| u.id))
}
