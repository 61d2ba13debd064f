//! People who sign in. `roles` is the comma-separated list of role names (`common::Role`).

use sea_orm::entity::prelude::*;

/// A user row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique, compared case-insensitively (a unique index on `lower(email)`).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role names joined with commas, e.g. `FACULTY,ADMIN`.
    pub roles: String,
    /// An argon2id PHC string; `None` for users who cannot sign in with a password.
    pub password_hash: Option<String>,
    /// Inactive users cannot sign in and are left out of lists by default.
    pub active: bool,
    /// When the user was created.
    pub created_at: DateTimeUtc,
    /// When the user last changed.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The roles as enum values; unknown names (none are ever written) are skipped.
    pub fn role_list(&self) -> Vec<common::Role> {
        parse_roles(&self.roles)
    }
}

/// Parses the stored form of a role list.
pub fn parse_roles(stored: &str) -> Vec<common::Role> {
    let mut roles: Vec<common::Role> = stored
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// The stored form of a role list: sorted, without duplicates.
pub fn format_roles(roles: &[common::Role]) -> String {
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `lower(email) = lower(given)`: emails are unique case-insensitively (the database's index
/// on `lower(email)`), so this finds the one user with `email` in any case.
pub fn email_is(email: &str) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, Func};
    Expr::expr(Func::lower(Expr::col(Column::Email))).eq(email.trim().to_lowercase())
}
