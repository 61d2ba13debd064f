//! API tokens for integrations. The token itself is never stored: only its biscuit revocation
//! id, which the gateway checks on every request.

use sea_orm::entity::prelude::*;

/// An API token row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The user the token acts as.
    pub user_id: i64,
    /// A label the user chose.
    pub name: String,
    /// `ApiScope` names joined with commas.
    pub scopes: String,
    /// Hex revocation id of the token's authority block; unique.
    #[sea_orm(unique)]
    pub revocation_id: String,
    /// Created at.
    pub created_at: DateTimeUtc,
    /// Expiry, if the user set one.
    pub expires_at: Option<DateTimeUtc>,
    /// Set when revoked.
    pub revoked_at: Option<DateTimeUtc>,
    /// Last request made with it (updated in batches).
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user the token acts as (the gateway reads both at once).
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
