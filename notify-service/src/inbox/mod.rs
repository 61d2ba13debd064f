//! The in-app inbox: everything that would be emailed also lands, as an item, in the inbox of
//! each person it would be emailed to, unread until they mark it read.
//!
//! - The email worker writes the items (`item`), in the same transaction as the event's
//!   `notifications` rows, one per (user, event) (unique, so a redelivered event adds
//!   nothing), and then announces the users whose inbox changed on the stream
//!   (`common::inbox::CHANGES_TOPIC`, `announce`), before it acknowledges the event: an
//!   announcement lost to a crash is made again when the event is redelivered. The gateway
//!   follows that topic and pushes the unread count (`Subscription.inboxUnreadCount`).
//! - Who gets an item is who the table emails (`recipients`), with one difference: a
//!   recipient who turned email off still gets the item (their email row is SUPPRESSED).
//!   They turned the emails off, not the news; the inbox is where they look instead. The
//!   `notes` switch says whether someone is told of new notes at all, so it holds for the
//!   inbox too. A per-channel preference (in-app or email, each immediate, daily or weekly)
//!   would decide where the worker makes the items (`worker::prepare`'s `rows_for`, with the
//!   recipient's preferences at hand), the one place that says whether an item is written.
//! - Reading an item, or marking it read, never touches its notification row: nothing is
//!   emailed again.
//! - The subgraph's fields (`schema`, `types`): `inbox`, `inboxUnreadCount`, `markRead` and
//!   `markAllRead`, each on the caller's own items only (another's is NOT_FOUND). They follow
//!   notification preferences at the gateway: an API token may read the inbox
//!   (TICKETS_READ) but marking items read takes a session.

/// Announcing inbox changes on the stream.
pub mod announce;
/// The item a recipient of an event gets.
pub mod item;
/// The root fields.
pub mod schema;
/// A user's inbox as data: pages, counts, marking read.
pub mod store;
/// The GraphQL types.
pub mod types;
