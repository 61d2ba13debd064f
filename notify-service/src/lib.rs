//! notify-service: the federation subgraph that owns notifications and email preferences
//! (`User.notificationPreferences`, `Ticket.notifications`). The email worker that fills the
//! notifications table from the event stream joins it with the notification issue.

/// Settings from the environment.
pub mod config;
/// The service's error type and its mapping to the contract's codes.
pub mod error;
/// The HTTP routes.
pub mod http;
/// Reading and changing email preferences.
pub mod preferences;
/// Reading notification rows with the caller's visibility.
pub mod records;
/// The GraphQL schema.
pub mod schema;

pub use config::Settings;

use anyhow::Context;
use common::server::Server;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;

/// Builds notify-service, bound and ready to run.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// Connects to the database and binds the port.
    pub async fn build(settings: Settings) -> anyhow::Result<Server> {
        let db = db::connect(&settings.common.database_url)
            .await
            .context("DATABASE_URL: cannot connect")?;
        Self::build_with_db(settings, db).await
    }

    /// Binds the port and serves over an existing pool (the all-in-one process, tests).
    pub async fn build_with_db(
        settings: Settings,
        db: DatabaseConnection,
    ) -> anyhow::Result<Server> {
        let state = http::AppState {
            schema: schema::build(db.clone(), settings.common.mode),
            verifier: settings.verifier.clone(),
            db,
        };
        let addr = SocketAddr::new(settings.common.bind, settings.port);
        Server::bind(addr, http::router(state)).await
    }
}
