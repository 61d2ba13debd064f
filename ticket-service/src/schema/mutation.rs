//! `Mutation`: the ticket workflow, notes and user management. Each resolver only converts
//! its arguments and asks the service code, which asks the workflow.

use super::{caller, db, types::*};
use crate::{
    closed_days, notes, tickets,
    tickets::{MoveInput, NewTickets},
    users,
    workflow::Action,
};
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

/// The root of ticket-service's changes.
#[derive(Debug, Default)]
pub struct Mutation;

fn ids(ids: Option<Vec<ID>>) -> Option<Vec<String>> {
    ids.map(|v| v.into_iter().map(|i| i.0).collect())
}

async fn apply(
    ctx: &Context<'_>,
    ticket_id: &ID,
    action: Action,
    input: MoveInput,
) -> Result<Ticket> {
    Ok(Ticket(
        tickets::apply(db(ctx), caller(ctx), ticket_id, action, input).await?,
    ))
}

fn versioned(expected_version: Option<i32>) -> MoveInput {
    MoveInput {
        expected_version,
        ..Default::default()
    }
}

#[Object]
impl Mutation {
    async fn create_tickets(
        &self,
        ctx: &Context<'_>,
        input: CreateTicketsInput,
    ) -> Result<Vec<Ticket>> {
        let input = NewTickets {
            owner_id: input.owner_id.0,
            residency: input.residency.into(),
            cycle: input.cycle,
            count: input.count,
        };
        Ok(tickets::create(db(ctx), caller(ctx), input)
            .await?
            .into_iter()
            .map(Ticket)
            .collect())
    }

    async fn grant_ticket(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        expected_version: Option<i32>,
    ) -> Result<Ticket> {
        apply(ctx, &ticket_id, Action::Grant, versioned(expected_version)).await
    }

    async fn cancel_ticket(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        reason: String,
        expected_version: Option<i32>,
    ) -> Result<Ticket> {
        apply(
            ctx,
            &ticket_id,
            Action::Cancel,
            MoveInput {
                reason: Some(reason),
                ..versioned(expected_version)
            },
        )
        .await
    }

    async fn request_offer(&self, ctx: &Context<'_>, input: RequestOfferInput) -> Result<Ticket> {
        let applicant = tickets::ApplicantInput {
            applicant_number: input.applicant.applicant_number,
            name: input.applicant.name,
            email: input.applicant.email,
        };
        let mv = MoveInput {
            applicant: Some(applicant),
            supervisor_ids: Some(ids(input.supervisor_ids).unwrap_or_default()),
            ..versioned(input.expected_version)
        };
        apply(ctx, &input.ticket_id, Action::RequestOffer, mv).await
    }

    /// OFFER_REQUESTED -> GRANTED, by the owner/FSS; clears the applicant.
    async fn withdraw_offer_request(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> Result<Ticket> {
        apply(
            ctx,
            &ticket_id,
            Action::WithdrawOfferRequest,
            MoveInput {
                reason,
                ..versioned(expected_version)
            },
        )
        .await
    }

    async fn set_supervisors(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        supervisor_ids: Vec<ID>,
        expected_version: Option<i32>,
    ) -> Result<Ticket> {
        let mv = MoveInput {
            supervisor_ids: ids(Some(supervisor_ids)),
            ..versioned(expected_version)
        };
        apply(ctx, &ticket_id, Action::SetSupervisors, mv).await
    }

    async fn approve_offer(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        expected_version: Option<i32>,
        #[graphql(
            desc = "The date the applicant must answer by: ahead, within a year; 14 days from now when not given."
        )]
        response_due_at: Option<DateTime<Utc>>,
    ) -> Result<Ticket> {
        let mv = MoveInput {
            response_due_at,
            ..versioned(expected_version)
        };
        apply(ctx, &ticket_id, Action::ApproveOffer, mv).await
    }

    /// OFFER_PENDING, by the graduate office: a new date the applicant must answer by.
    async fn set_response_deadline(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        response_due_at: DateTime<Utc>,
        expected_version: Option<i32>,
    ) -> Result<Ticket> {
        let mv = MoveInput {
            response_due_at: Some(response_due_at),
            ..versioned(expected_version)
        };
        apply(ctx, &ticket_id, Action::SetResponseDeadline, mv).await
    }

    async fn decline_offer(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        reason: String,
        expected_version: Option<i32>,
    ) -> Result<Ticket> {
        apply(
            ctx,
            &ticket_id,
            Action::DeclineOffer,
            MoveInput {
                reason: Some(reason),
                ..versioned(expected_version)
            },
        )
        .await
    }

    async fn record_offer_response(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        accepted: bool,
        expected_version: Option<i32>,
    ) -> Result<Ticket> {
        apply(
            ctx,
            &ticket_id,
            Action::RecordOfferResponse(accepted),
            versioned(expected_version),
        )
        .await
    }

    async fn add_note(&self, ctx: &Context<'_>, ticket_id: ID, body: String) -> Result<Note> {
        Ok(Note(
            notes::add(db(ctx), caller(ctx), &ticket_id, &body).await?,
        ))
    }

    async fn edit_note(&self, ctx: &Context<'_>, note_id: ID, body: String) -> Result<Note> {
        Ok(Note(
            notes::edit(db(ctx), caller(ctx), &note_id, &body).await?,
        ))
    }

    async fn delete_note(&self, ctx: &Context<'_>, note_id: ID) -> Result<ID> {
        Ok(ID(notes::delete(db(ctx), caller(ctx), &note_id)
            .await?
            .to_string()))
    }

    async fn resolve_note(
        &self,
        ctx: &Context<'_>,
        note_id: ID,
        #[graphql(default = true)] resolved: bool,
    ) -> Result<Note> {
        Ok(Note(
            notes::resolve(db(ctx), caller(ctx), &note_id, resolved).await?,
        ))
    }

    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<User> {
        let input = users::NewUser {
            email: input.email,
            name: input.name,
            roles: input.roles.into_iter().map(Into::into).collect(),
            password: input.password,
            supports_ids: ids(input.supports_ids).unwrap_or_default(),
        };
        Ok(User(users::create(db(ctx), caller(ctx), input).await?))
    }

    async fn update_user(&self, ctx: &Context<'_>, input: UpdateUserInput) -> Result<User> {
        let changes = users::UserChanges {
            id: input.id.0,
            name: input.name,
            roles: input.roles.map(|r| r.into_iter().map(Into::into).collect()),
            active: input.active,
            password: input.password,
            supports_ids: ids(input.supports_ids),
        };
        Ok(User(users::update(db(ctx), caller(ctx), changes).await?))
    }

    /// Closes the office on `date` (`YYYY-MM-DD`, ADMIN only): business-day targets skip it.
    async fn add_closed_day(
        &self,
        ctx: &Context<'_>,
        date: String,
        label: String,
    ) -> Result<ClosedDay> {
        Ok(closed_days::add(db(ctx), caller(ctx), &date, &label)
            .await?
            .into())
    }

    /// Opens the office again on `date` (ADMIN only); answers the day removed.
    async fn remove_closed_day(&self, ctx: &Context<'_>, date: String) -> Result<ClosedDay> {
        Ok(closed_days::remove(db(ctx), caller(ctx), &date)
            .await?
            .into())
    }
}
