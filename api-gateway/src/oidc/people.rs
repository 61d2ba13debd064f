//! Who a verified person is in Tessera: the user with their email (case-insensitively),
//! created at first sign-in only when the operator allows it, refused when deactivated; with a
//! group mapping, their roles follow their groups at every sign-in, each change written to the
//! role history.

use super::config::OidcSettings;
use super::error::OidcError;
use super::provider::Person;
use common::Role;
use db::entity::{user, user_role_change};
use db::sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait,
};

/// The Tessera user `person` signs in as, with their roles brought up to date.
pub async fn admit(
    db: &DatabaseConnection,
    settings: &OidcSettings,
    person: &Person,
) -> Result<user::Model, OidcError> {
    let mapped = match &settings.groups {
        Some(groups) => {
            let roles = groups.roles(person.groups.iter().map(String::as_str));
            if roles.is_empty() {
                return Err(OidcError::NoRole);
            }
            Some(roles)
        }
        None => None,
    };
    let txn = db.begin().await?;
    let found = user::Entity::find()
        .filter(user::email_is(&person.email))
        .one(&txn)
        .await?;
    let admitted = match found {
        None if !settings.create_users => return Err(OidcError::NoUser),
        None => {
            let roles = mapped.unwrap_or_else(|| settings.new_user_roles.clone());
            create(&txn, person, &roles).await?
        }
        Some(user) if !user.active => return Err(OidcError::Deactivated),
        Some(user) => match mapped {
            Some(roles) if roles != user.role_list() => set_roles(&txn, user, &roles).await?,
            _ => user,
        },
    };
    txn.commit().await?;
    Ok(admitted)
}

/// A user for `person`, without a password (they sign in at the provider).
async fn create(
    txn: &db::sea_orm::DatabaseTransaction,
    person: &Person,
    roles: &[Role],
) -> Result<user::Model, OidcError> {
    let now = db::now();
    let created = user::ActiveModel {
        email: Set(person.email.clone()),
        name: Set(person.name.chars().take(200).collect()),
        roles: Set(user::format_roles(roles)),
        password_hash: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    user_role_change::record(txn, created.id, &[], roles, None, user_role_change::SIGN_IN).await?;
    tracing::info!(user = created.id, roles = %created.roles, "created a user at sign-in");
    Ok(created)
}

/// Gives `found` the roles their groups map to, and records the change.
async fn set_roles(
    txn: &db::sea_orm::DatabaseTransaction,
    found: user::Model,
    roles: &[Role],
) -> Result<user::Model, OidcError> {
    let before = found.role_list();
    let id = found.id;
    let mut model: user::ActiveModel = found.into();
    model.roles = Set(user::format_roles(roles));
    model.updated_at = Set(db::now());
    let updated = model.update(txn).await?;
    // Support links belong to FSS; a user who lost that role keeps none.
    if !roles.contains(&Role::Fss) && before.contains(&Role::Fss) {
        use db::sea_orm::ColumnTrait;
        db::entity::user_support::Entity::delete_many()
            .filter(db::entity::user_support::Column::FssId.eq(id))
            .exec(txn)
            .await?;
    }
    user_role_change::record(txn, id, &before, roles, None, user_role_change::SIGN_IN).await?;
    tracing::info!(user = id, from = ?before, to = %updated.roles, "roles changed by groups at sign-in");
    Ok(updated)
}
