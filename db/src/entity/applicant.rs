//! Applicants, unique by the admissions system's applicant number.

use sea_orm::entity::prelude::*;

/// An applicant row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applicants")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The admissions system's number; unique.
    #[sea_orm(unique)]
    pub applicant_number: String,
    /// Full name as the offer letter spells it.
    pub name: String,
    /// Contact address, when known.
    pub email: Option<String>,
    /// First seen.
    pub created_at: DateTimeUtc,
    /// Last changed.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
