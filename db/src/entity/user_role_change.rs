//! The history of users' roles: one row per user created with roles and per change, by an
//! ADMIN (`createUser`, `updateUser`), by the identity provider at sign-in, or by the
//! administrator bootstrap. `record` is the one way a row is written.

use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, Set};

/// A role change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_role_changes")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Whose roles changed.
    pub user_id: i64,
    /// The roles before, in `user::format_roles` form (empty for a user just created).
    pub from_roles: String,
    /// The roles after.
    pub to_roles: String,
    /// The ADMIN who changed them; `None` when the identity provider's groups did.
    pub changed_by: Option<i64>,
    /// `ADMIN` (`createUser`, `updateUser`), `SIGN_IN` (created or groups mapped at sign-in)
    /// or `BOOTSTRAP` (the administrator bootstrap).
    pub source: String,
    /// When.
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A change an ADMIN made with `updateUser`.
pub const ADMIN: &str = "ADMIN";
/// A change the identity provider's groups made at sign-in.
pub const SIGN_IN: &str = "SIGN_IN";
/// The administrator bootstrap (`TESSERA_ADMIN_EMAIL`) at start.
pub const BOOTSTRAP: &str = "BOOTSTRAP";

/// Records that `user_id`'s roles went from `from` to `to` (nothing when they are equal), in
/// the caller's transaction so the change and its history commit together.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    from: &[common::Role],
    to: &[common::Role],
    changed_by: Option<i64>,
    source: &str,
) -> Result<(), DbErr> {
    let (from, to) = (
        super::user::format_roles(from),
        super::user::format_roles(to),
    );
    if from == to {
        return Ok(());
    }
    ActiveModel {
        user_id: Set(user_id),
        from_roles: Set(from),
        to_roles: Set(to),
        changed_by: Set(changed_by),
        source: Set(source.to_string()),
        at: Set(crate::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
