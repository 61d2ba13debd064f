//! ticket-service: the federation subgraph that owns users, applicants, tickets, their
//! workflow, notes, history and statistics, and writes every change's event to the outbox.

/// Settings from the environment.
pub mod config;
/// The service's error type and its mapping to the contract's codes.
pub mod error;
/// History and outbox rows, written inside each change's transaction.
pub mod events;
/// Ticket lists: ticket-domain's filters, ordering and keyset pagination, and statistics.
pub mod listing;
/// How many ticket events wait in the outbox (the gateway's documented read model).
pub mod read_model;
/// Moves committed outbox rows to the event stream.
pub mod relay;
/// Timed work on tickets (reminders, escalations), safe with many replicas.
pub mod scheduler;
/// The ticket-service GraphQL schema.
pub mod schema;

/// The ticket workflow: the one place that decides moves (ticket-domain's).
pub use ticket_domain::workflow;

mod applicants;
mod closed_days;
mod notes;
mod tickets;
mod users;

use ticket_domain::{validate, visibility};

pub use config::Settings;

use common::{server::Server, stream::EventStream, subgraph::Routes};
use sea_orm::DatabaseConnection;

/// Builds ticket-service, bound and ready to run.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// Connects to the database and binds the port.
    pub async fn build(settings: Settings) -> anyhow::Result<Server> {
        let db = db::open(&settings.common).await?;
        Self::build_with_db(settings, db).await
    }

    /// Starts the outbox relay to the stream `REDIS_URL` names (or to one of its own), then
    /// binds the port and serves over an existing pool.
    pub async fn build_with_db(
        settings: Settings,
        db: DatabaseConnection,
    ) -> anyhow::Result<Server> {
        let stream = EventStream::open(&settings.common).await?;
        relay::start(db.clone(), stream);
        Self::serve(settings, db).await
    }

    /// Binds the port and serves over an existing pool, without a relay (the all-in-one
    /// process starts one on the stream it shares with the gateway; tests start their own).
    pub async fn serve(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Server> {
        let loaders_db = db.clone();
        let routes = Routes::new(
            schema::build(db.clone(), settings.common.mode),
            settings.verifier.clone(),
        )
        .prepare(move |request, _caller| schema::prepare(request, &loaders_db))
        // A change's outbox row is committed by now: the relay need not wait for its poll.
        .after_mutation(relay::nudge)
        .ready_with(db);
        routes.bind(&settings).await
    }
}
