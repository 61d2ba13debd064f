//! The inputs of ticket-service's mutations (a list's `TicketFilter` and `TicketOrder` are
//! ticket-domain's, shared with export-service).

use super::{Residency, Role};
use async_graphql::{ID, InputObject};

/// `createTickets`' input.
#[derive(InputObject, Clone, Debug)]
pub struct CreateTicketsInput {
    pub owner_id: ID,
    pub residency: Residency,
    pub cycle: String,
    /// 1 to 50 tickets in one call.
    #[graphql(default = 1)]
    pub count: i32,
}

/// The applicant an offer is for.
#[derive(InputObject, Clone, Debug)]
pub struct ApplicantInput {
    pub applicant_number: String,
    pub name: String,
    pub email: Option<String>,
}

/// `requestOffer`'s input.
#[derive(InputObject, Clone, Debug)]
pub struct RequestOfferInput {
    pub ticket_id: ID,
    pub applicant: ApplicantInput,
    /// Other interested faculty; the owner is added automatically.
    #[graphql(default_with = "Some(Vec::new())")]
    pub supervisor_ids: Option<Vec<ID>>,
    pub expected_version: Option<i32>,
}

/// `createUser`'s input.
#[derive(InputObject, Clone, Debug)]
pub struct CreateUserInput {
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub password: String,
    #[graphql(default_with = "Some(Vec::new())")]
    pub supports_ids: Option<Vec<ID>>,
}

/// `updateUser`'s input; absent fields stay as they are.
#[derive(InputObject, Clone, Debug)]
pub struct UpdateUserInput {
    pub id: ID,
    pub name: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub active: Option<bool>,
    pub password: Option<String>,
    pub supports_ids: Option<Vec<ID>>,
}
