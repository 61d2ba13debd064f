//! sea-orm entities, one module per table. Enumerations are stored as their contract names
//! (`common::model`); ids are 64-bit integers.

/// API tokens for integrations: only the revocation id is stored, never the token.
pub mod api_token;
/// Applicants, unique by the admissions system's applicant number.
pub mod applicant;
/// The office's closed days besides weekends, which business-day targets skip.
pub mod closed_day;
/// Named counters (the ticket number sequence), portable across PostgreSQL and SQLite.
pub mod counter;
/// Daily and weekly digests: one email per (user, cadence, due moment), listing the changes
/// that waited for it.
pub mod digest;
/// Export jobs: one per `exportTickets` call, with progress and the worker's lease.
pub mod export_job;
/// One row per (user, ticket event): the user's in-app inbox, read or unread.
pub mod inbox_item;
/// Notes kept on a ticket.
pub mod note;
/// One row per (ticket event, recipient): what was sent, or why not.
pub mod notification;
/// Each user's notification preferences (a missing row means the defaults).
pub mod notification_preference;
/// Events waiting to be relayed to the event stream.
pub mod outbox;
/// Timed steps the scheduler handled, one row each (reminders, escalations).
pub mod scheduled_run;
/// Funded admission offers.
pub mod ticket;
/// The audit trail of every ticket change.
pub mod ticket_event;
/// Faculty named on a ticket's offer.
pub mod ticket_supervisor;
/// People who sign in.
pub mod user;
/// The history of users' roles: who changed them, how, and when.
pub mod user_role_change;
/// Which faculty members an FSS user acts for.
pub mod user_support;
/// Endpoints a user registered to receive ticket events, with their signing secrets.
pub mod webhook;
/// One row per (ticket event, webhook): a delivery, its attempts and the receiver's answer.
pub mod webhook_delivery;
