//! ticket-domain: the ticket rules ticket-service and export-service both apply, so that an
//! export lists exactly what `tickets(filter:)` lists and export-service does not link
//! ticket-service's resolvers: listing (filters, search, ordering, keyset cursors), which
//! tickets a caller may see as a SQL condition, the workflow and input validation.

/// The GraphQL inputs of a ticket list (`TicketFilter`, `TicketOrder`) and their enums.
pub mod inputs;
/// Ticket lists: filters, search, ordering, keyset pagination and whole-list walks.
pub mod listing;
/// Input checks, each naming the field it refuses.
pub mod validate;
/// Which tickets a caller may see, as a SQL condition.
pub mod visibility;
/// The ticket workflow: the one place that decides moves.
pub mod workflow;
