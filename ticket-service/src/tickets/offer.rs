//! The applicant an offer names: found or created by number, and held by at most one ticket
//! whose offer is still open (a unique partial index enforces it; these give the message).

use super::ApplicantInput;
use crate::error::{Result, ServiceError};
use common::TicketState;
use db::entity::{applicant, ticket};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, Set,
    SqlErr, sea_query::OnConflict,
};

/// Finds or creates the applicant by number and brings name and email up to date. The insert
/// does nothing on a duplicate number, so two concurrent requests for a new applicant both
/// end up with the one row (the loser then meets `ensure_applicant_free`).
pub(super) async fn upsert_applicant(
    txn: &DatabaseTransaction,
    input: &ApplicantInput,
) -> Result<applicant::Model> {
    let now = db::now();
    applicant::Entity::insert(applicant::ActiveModel {
        applicant_number: Set(input.applicant_number.clone()),
        name: Set(input.name.clone()),
        email: Set(input.email.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(applicant::Column::ApplicantNumber)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let row = applicant::Entity::find()
        .filter(applicant::Column::ApplicantNumber.eq(input.applicant_number.clone()))
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::Internal("the applicant vanished after its upsert".into()))?;
    let email = input.email.clone().or_else(|| row.email.clone());
    if row.name == input.name && row.email == email {
        return Ok(row);
    }
    let mut active: applicant::ActiveModel = row.into();
    active.name = Set(input.name.clone());
    active.email = Set(email);
    active.updated_at = Set(now);
    Ok(active.update(txn).await?)
}

/// BAD_USER_INPUT when another ticket already holds this applicant. The unique partial
/// index enforces the same rule against races; this check only gives the better message.
pub(super) async fn ensure_applicant_free(
    txn: &DatabaseTransaction,
    applicant_id: i64,
    ticket_id: i64,
    number: &str,
) -> Result<()> {
    let holder = ticket::Entity::find()
        .filter(ticket::Column::ApplicantId.eq(applicant_id))
        .filter(ticket::Column::Id.ne(ticket_id))
        .filter(
            ticket::Column::State.is_in(TicketState::APPLICANT_LOCKING.iter().map(|s| s.as_str())),
        )
        .one(txn)
        .await?;
    match holder {
        None => Ok(()),
        Some(other) => Err(ServiceError::bad_input(
            "applicantNumber",
            format!(
                "applicant {number} already has an active offer on ticket #{}",
                other.number
            ),
        )),
    }
}

/// Maps the unique partial index's violation (a concurrent request for the same applicant)
/// to BAD_USER_INPUT; anything else stays a database error.
pub(super) fn applicant_taken(err: DbErr, applicant: Option<&ApplicantInput>) -> ServiceError {
    match (err.sql_err(), applicant) {
        (Some(SqlErr::UniqueConstraintViolation(_)), Some(a)) => ServiceError::bad_input(
            "applicantNumber",
            format!(
                "applicant {} already has an active offer on another ticket",
                a.applicant_number
            ),
        ),
        _ => err.into(),
    }
}
