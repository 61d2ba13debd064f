//! Faculty named on a ticket's offer letter.

use sea_orm::entity::prelude::*;

/// One ticket -> supervisor link.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_supervisors")]
pub struct Model {
    /// The ticket.
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: i64,
    /// The supervising faculty member.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
}

/// A supervisor link points at its user, so supervisors load with one join.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The supervising user.
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
