//! The GraphQL object, enum and input types ticket-service owns. Objects wrap entity rows;
//! related rows come through the request's DataLoaders.

use super::{caller, loaders, prefetch};
use crate::{error::ServiceError, users, workflow};
use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use db::entity::{applicant, note, ticket, ticket_event, user};

/// The office's closed days.
mod calendar;
/// Mutation inputs.
mod inputs;
/// Relay's connection of tickets and the dashboard's statistics.
mod lists;

pub use calendar::ClosedDay;
pub use inputs::*;
pub use lists::*;
pub use ticket_domain::inputs::{
    OrderDirection, Residency, TicketEventKind, TicketFilter, TicketOrder, TicketOrderField,
    TicketState,
};

pub(super) fn id(value: i64) -> ID {
    ID(value.to_string())
}

pub(super) fn int(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// The user `user_id`, if there is one, through the request's loader.
pub(crate) async fn find_user(ctx: &Context<'_>, user_id: i64) -> Result<Option<User>> {
    if let Some(user) = prefetch::store(ctx).user(user_id) {
        return Ok(Some(User(user)));
    }
    Ok(loaders(ctx)
        .users
        .load_one(user_id)
        .await
        .map_err(ServiceError::from)?
        .map(User))
}

/// Loads a user that a row points at; a dangling reference is an internal error.
pub(super) async fn user_by_id(ctx: &Context<'_>, user_id: i64) -> Result<User> {
    find_user(ctx, user_id)
        .await?
        .ok_or_else(|| ServiceError::Internal(format!("user {user_id} is missing")).into())
}

/// A role a user holds.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::Role")]
pub enum Role {
    /// A professor; tickets are issued to them.
    Faculty,
    /// Faculty support staff; acts for the faculty members they support.
    Fss,
    /// Creates, grants and cancels tickets.
    BudgetDirector,
    /// Associate Chair Graduate: approves or declines offer requests.
    AssociateChair,
    /// Graduate office staff: approvals after the chair's go-ahead, applicant answers.
    GradOffice,
    /// Manages users; may open the GraphQL playground.
    Admin,
}

/// A person who signs in.
#[derive(Clone, Debug)]
pub struct User(pub user::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    // FORBIDDEN unless `users::may_read_email` (a comment, not a doc comment: docs here
    // become the schema's descriptions).
    async fn email(&self, ctx: &Context<'_>) -> Result<&str> {
        if users::may_read_email(caller(ctx), &self.0) {
            Ok(&self.0.email)
        } else {
            Err(ServiceError::Forbidden("this user's email is not yours to read".into()).into())
        }
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    // As far as `users::visible_roles` shows them.
    async fn roles(&self, ctx: &Context<'_>) -> Vec<Role> {
        users::visible_roles(caller(ctx), &self.0)
            .into_iter()
            .map(Role::from)
            .collect()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// For FSS users: the faculty members they act for.
    async fn supports(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let ids = loaders(ctx)
            .supports
            .load_one(self.0.id)
            .await
            .map_err(ServiceError::from)?
            .unwrap_or_default();
        let users = loaders(ctx)
            .users
            .load_many(ids.iter().copied())
            .await
            .map_err(ServiceError::from)?;
        Ok(ids
            .iter()
            .filter_map(|i| users.get(i).cloned().map(User))
            .collect())
    }
}

/// An applicant for admission.
#[derive(Clone, Debug)]
pub struct Applicant(pub applicant::Model);

#[Object]
impl Applicant {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The admissions system's applicant number; unique.
    async fn applicant_number(&self) -> &str {
        &self.0.applicant_number
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
}

/// A funded admission offer.
#[derive(Clone, Debug)]
pub struct Ticket(pub ticket::Model);

#[Object]
impl Ticket {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// Human-friendly sequence number, unique, never reused.
    async fn number(&self) -> i32 {
        int(self.0.number)
    }
    /// Admission cycle the ticket funds, e.g. "2027".
    async fn cycle(&self) -> &str {
        &self.0.cycle
    }
    async fn residency(&self) -> Residency {
        self.0.residency().into()
    }
    async fn state(&self) -> TicketState {
        self.0.state().into()
    }
    /// The faculty member the ticket is issued to.
    async fn owner(&self, ctx: &Context<'_>) -> Result<User> {
        user_by_id(ctx, self.0.owner_id).await
    }
    async fn applicant(&self, ctx: &Context<'_>) -> Result<Option<Applicant>> {
        let Some(applicant_id) = self.0.applicant_id else {
            return Ok(None);
        };
        if let Some(row) = prefetch::store(ctx).applicant(applicant_id) {
            return Ok(Some(Applicant(row)));
        }
        Ok(loaders(ctx)
            .applicants
            .load_one(applicant_id)
            .await
            .map_err(ServiceError::from)?
            .map(Applicant))
    }
    /// Interested faculty named on the offer letter (the owner is always among them once an offer is requested).
    async fn supervisors(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let rows = match prefetch::store(ctx).supervisors(self.0.id) {
            Some(rows) => Some(rows),
            None => loaders(ctx)
                .supervisors
                .load_one(self.0.id)
                .await
                .map_err(ServiceError::from)?,
        };
        Ok(rows.unwrap_or_default().into_iter().map(User).collect())
    }
    async fn created_by(&self, ctx: &Context<'_>) -> Result<User> {
        user_by_id(ctx, self.0.created_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Increments on every change; pass it back as expectedVersion to avoid lost updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the ticket's current waiting state is due: for an offer out with the applicant (OFFER_PENDING), the date they must answer by. Null when nothing is awaited by a date.
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    /// Whether dueAt has passed with the ticket still waiting.
    async fn overdue(&self) -> bool {
        self.0.due_at.is_some_and(|at| at < db::now())
    }
    /// The states the CALLER may move this ticket to now.
    async fn allowed_transitions(&self, ctx: &Context<'_>) -> Vec<TicketState> {
        workflow::allowed_transitions(caller(ctx), self.0.owner_id, self.0.state())
            .into_iter()
            .map(TicketState::from)
            .collect()
    }
    async fn notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(true)")] include_resolved: Option<bool>,
    ) -> Result<Vec<Note>> {
        let rows = match prefetch::store(ctx).notes(self.0.id) {
            Some(rows) => rows,
            None => loaders(ctx)
                .notes
                .load_one(self.0.id)
                .await
                .map_err(ServiceError::from)?
                .unwrap_or_default(),
        };
        let include_resolved = include_resolved.unwrap_or(true);
        Ok(rows
            .into_iter()
            .filter(|n| include_resolved || !n.resolved)
            .map(Note)
            .collect())
    }
    /// Every change to the ticket, oldest first: the audit trail.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<TicketEvent>> {
        let rows = match prefetch::store(ctx).history(self.0.id) {
            Some(rows) => rows,
            None => loaders(ctx)
                .history
                .load_one(self.0.id)
                .await
                .map_err(ServiceError::from)?
                .unwrap_or_default(),
        };
        Ok(rows.into_iter().map(TicketEvent).collect())
    }
}

async fn ticket_by_id(ctx: &Context<'_>, ticket_id: i64) -> Result<Ticket> {
    let row = loaders(ctx)
        .tickets
        .load_one(ticket_id)
        .await
        .map_err(ServiceError::from)?;
    Ok(Ticket(row.ok_or(ServiceError::NotFound("ticket"))?))
}

/// A note kept on a ticket.
#[derive(Clone, Debug)]
pub struct Note(pub note::Model);

#[Object]
impl Note {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Ticket> {
        ticket_by_id(ctx, self.0.ticket_id).await
    }
    async fn author(&self, ctx: &Context<'_>) -> Result<User> {
        user_by_id(ctx, self.0.author_id).await
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn resolved(&self) -> bool {
        self.0.resolved
    }
    async fn resolved_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.resolved_by {
            None => Ok(None),
            Some(user_id) => user_by_id(ctx, user_id).await.map(Some),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }
}

/// One entry of a ticket's history.
#[derive(Clone, Debug)]
pub struct TicketEvent(pub ticket_event::Model);

#[Object]
impl TicketEvent {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Ticket> {
        ticket_by_id(ctx, self.0.ticket_id).await
    }
    async fn kind(&self) -> Result<TicketEventKind> {
        let kind: common::TicketEventKind = self
            .0
            .kind
            .parse()
            .map_err(|e: common::model::UnknownName| ServiceError::Internal(e.to_string()))?;
        Ok(kind.into())
    }
    async fn actor(&self, ctx: &Context<'_>) -> Result<User> {
        user_by_id(ctx, self.0.actor_id).await
    }
    async fn from_state(&self) -> Option<TicketState> {
        self.0
            .from_state
            .as_deref()
            .and_then(|s| s.parse::<common::TicketState>().ok())
            .map(Into::into)
    }
    async fn to_state(&self) -> Option<TicketState> {
        self.0
            .to_state
            .as_deref()
            .and_then(|s| s.parse::<common::TicketState>().ok())
            .map(Into::into)
    }
    /// Free text the actor gave (a reason, a note excerpt).
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}
