//! Live updates: `Subscription.ticketEvents`, `Subscription.exportProgress` and
//! `Subscription.inboxUnreadCount`, served by the gateway over `graphql-transport-ws` at
//! `GET /graphql` (HTTP.md).
//!
//! Every gateway replica follows the whole event stream itself (`follow`): one reader per
//! process, however many subscribers, so a change made through any replica reaches the
//! subscribers of every replica. An event goes to a subscriber only when its filters match
//! and its ticket is one the subscriber may see (checked on the message first by the `hub`,
//! then by ticket-service itself); what the subscriber receives is resolved with a query
//! through the federation engine (`resolve`), so nested fields come from whichever subgraph
//! owns them, with the subscriber's own rights. Subscribers that ask for the same fields as
//! the same user share one resolution per event.
//!
//! Nothing is missed across reconnects: each replica keeps the last `WINDOW` events of the
//! stream (`window`), and a subscriber that passes `after` (the id of the last event it saw)
//! first gets what followed it in the stream, then live events, with no gap and no duplicate.
//!
//! Bounds: a subscriber whose client does not keep up (`QUEUE` deliveries waiting) is
//! disconnected with close code 4008, so memory never grows with a slow client; a connection
//! holds at most `MAX_SUBSCRIPTIONS`.

/// One websocket connection: authentication, its subscriptions, its end.
pub mod connection;
/// The subscription fields' meaning.
mod fields;
/// The stream followers.
mod follow;
/// The subscribers of this process, and the hand-off of events to them.
pub mod hub;
/// The `graphql-transport-ws` framing.
pub mod protocol;
/// Deliveries resolved through the engine, shared by subscribers alike.
pub mod resolve;
/// The last events of the stream, for resuming.
pub mod window;

pub use hub::Hub;

use crate::engine::Engine;
use crate::identity::Identity;
use crate::rate::RateLimits;
use db::sea_orm::DatabaseConnection;
use std::sync::Arc;

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

/// What live updates use of the gateway: the hub, the engine and identity to resolve and
/// authenticate with, the per-user rate limit, and the database for export-service's read
/// model.
#[derive(Debug)]
pub struct Live {
    /// This process's subscribers.
    pub hub: Arc<Hub>,
    /// Runs the subscribers' operations and deliveries.
    pub engine: Engine,
    /// Authenticates connections and mints their users' tokens.
    pub identity: Arc<Identity>,
    /// Subscriptions count against their user's request rate.
    pub rate: Arc<RateLimits>,
    /// Read only through `export_service::read_model` (an export job's requester and status).
    pub db: DatabaseConnection,
    /// Live-updates websockets connected now.
    pub websockets: prometheus::IntGauge,
}

impl Live {
    /// Starts following the stream; the followers stop once the hub is dropped.
    pub fn start(&self) {
        follow::start(&self.hub, Arc::new(self.resolver()));
    }

    /// Resolves deliveries through the engine, as their subscribers' users.
    pub fn resolver(&self) -> resolve::Resolver {
        resolve::Resolver {
            engine: self.engine.clone(),
            identity: self.identity.clone(),
        }
    }
}
