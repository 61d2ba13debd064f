//! The applicant directory. Applicants are personal data: roles that see every ticket see
//! every applicant; FACULTY and FSS see only the applicants on tickets they can see.

use crate::{
    error::Result, error::ServiceError, listing, tickets::caller_id, visibility::tickets_visible_to,
};
use common::Principal;
use db::entity::{applicant, ticket};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Query,
};

/// Applicants whose name or number contains `search`, at most `first` (1..=100) of them.
pub async fn search(
    db: &DatabaseConnection,
    caller: &Principal,
    search: Option<&str>,
    first: i32,
) -> Result<Vec<applicant::Model>> {
    caller_id(caller)?;
    if !(1..=listing::MAX_PAGE).contains(&first) {
        return Err(ServiceError::bad_input(
            "first",
            format!("first must be between 1 and {}", listing::MAX_PAGE),
        ));
    }
    let mut query = applicant::Entity::find()
        .order_by_asc(applicant::Column::Name)
        .order_by_asc(applicant::Column::Id);
    if !caller.sees_every_ticket() {
        query = query.filter(
            applicant::Column::Id.in_subquery(
                Query::select()
                    .column(ticket::Column::ApplicantId)
                    .from(ticket::Entity)
                    .cond_where(tickets_visible_to(caller))
                    .to_owned(),
            ),
        );
    }
    if let Some(text) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = listing::contains_pattern(text);
        query = query.filter(
            Condition::any()
                .add(
                    listing::lower((applicant::Entity, applicant::Column::Name))
                        .like(pattern.clone()),
                )
                .add(
                    listing::lower((applicant::Entity, applicant::Column::ApplicantNumber))
                        .like(pattern),
                ),
        );
    }
    Ok(query
        .limit(u64::try_from(first).unwrap_or(20))
        .all(db)
        .await?)
}
