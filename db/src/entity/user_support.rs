//! Which faculty members an FSS user acts for.

use sea_orm::entity::prelude::*;

/// One FSS -> faculty link.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_supports")]
pub struct Model {
    /// The FSS user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub fss_id: i64,
    /// The faculty member they support.
    #[sea_orm(primary_key, auto_increment = false)]
    pub faculty_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
