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
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;

/// A bound, ready-to-run notify-service.
pub struct Application {
    listener: tokio::net::TcpListener,
    router: axum::Router,
}

impl Application {
    /// Connects to the database and binds the port.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = db::connect(&settings.common.database_url)
            .await
            .context("DATABASE_URL: cannot connect")?;
        Self::build_with_db(settings, db).await
    }

    /// Binds the port and serves over an existing pool (the all-in-one process, tests).
    pub async fn build_with_db(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        let addr = SocketAddr::new(settings.common.bind, settings.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("PORT: cannot listen on {addr}"))?;
        let state = http::AppState {
            schema: schema::build(db.clone(), settings.common.mode),
            verifier: settings.verifier.clone(),
            db,
        };
        Ok(Self {
            listener,
            router: http::router(state),
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Serves until the process is interrupted.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async {
                // If the signal cannot be installed the service simply runs until killed.
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    }
}
