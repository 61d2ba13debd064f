//! Webhooks: ticket events pushed to integrations, signed the Standard Webhooks way,
//! retried, replay-safe and redeliverable. notify-service owns them because they are the
//! same kind of work as emails (outbound messages about ticket events, read from the event
//! stream, recorded row by row, retried): the same subgraph serves their types, and their
//! worker runs beside the email worker with a consumer group, connections and limits of its
//! own.

/// Where a hook may point, checked at creation and by the client's resolver at delivery.
pub mod address;
/// `WEBHOOK_*` settings.
pub mod config;
/// The request body.
pub mod payload;
/// The webhook root fields.
pub mod schema;
/// The Standard Webhooks signature and secrets.
pub mod signature;
/// Webhooks as data: make, change, rotate, delete, list, redeliver, test.
pub mod store;
/// The GraphQL types.
pub mod types;
/// The delivery worker.
pub mod worker;

pub use config::HookSettings;
