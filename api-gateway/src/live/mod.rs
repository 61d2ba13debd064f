//! Live updates: `Subscription.ticketEvents` and `Subscription.exportProgress`, served by the
//! gateway over `graphql-transport-ws` at `GET /graphql` (HTTP.md).
//!
//! Every gateway replica follows the whole event stream itself (`hub`): one reader per
//! process, however many subscribers, so a change made through any replica reaches the
//! subscribers of every replica. An event goes to a subscriber only when its filters match
//! and its ticket is one the subscriber may see (checked on the message first, then by
//! ticket-service itself); what the subscriber receives is resolved with a query through the
//! federation engine (`ticketEvent(id)` / `exportJob(id)` with the subscription's own
//! selection set), so nested fields come from whichever subgraph owns them, with the
//! subscriber's own rights. Subscribers that ask for the same fields as the same user share
//! one resolution per event.
//!
//! Nothing is missed across reconnects: each replica keeps the last `WINDOW` events of the
//! stream, and a subscriber that passes `after` (the id of the last event it saw) first gets
//! what followed it in the stream, then live events, with no gap and no duplicate.
//!
//! Bounds: a subscriber whose client does not keep up (`QUEUE` deliveries waiting) is
//! disconnected with close code 4008, so memory never grows with a slow client; a connection
//! holds at most `MAX_SUBSCRIPTIONS`.

/// The subscriptions' follower of the stream, filters and resolution.
pub mod hub;
/// The `graphql-transport-ws` protocol.
pub mod ws;

pub use hub::Hub;

/// The SDL of the `live` subgraph: the `Subscription` root, composed into the supergraph like
/// the other subgraphs so the engine validates subscriptions; the gateway serves it itself
/// (the engine never calls it).
pub const SDL: &str = include_str!("subgraph.graphql");

/// How many of the stream's latest ticket events each replica keeps for resuming.
pub const WINDOW: usize = 10_000;

/// How many deliveries may wait for one subscriber before its client counts as too slow.
pub const QUEUE: usize = 128;

/// How many subscriptions one connection may hold at once.
pub const MAX_SUBSCRIPTIONS: usize = 100;
