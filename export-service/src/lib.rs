//! export-service: the federation subgraph that owns export jobs (`exportTickets`,
//! `exportJob`, `exportJobs`), and the worker that writes each job's Excel-compatible CSV file
//! with flat memory whatever the row count.

/// Settings from the environment.
pub mod config;
/// The CSV dialect: quoting, formula prefixing, the header and the row layout.
pub mod csv;
/// The service's error type and its mapping to the contract's codes.
pub mod error;
/// Export job rows: creation, the worker's lease, progress, completion, expiry.
pub mod jobs;
/// What the gateway may read of export jobs (its documented read model).
pub mod read_model;
/// A batch of tickets turned into export rows.
pub mod rows;
/// The GraphQL schema.
pub mod schema;
/// The worker: takes queued jobs and writes their files.
pub mod worker;

pub use config::Settings;
pub use worker::Worker;

use common::{server::Server, stream::EventStream, subgraph::Routes};
use sea_orm::DatabaseConnection;

/// Builds export-service, bound and ready to run.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// Connects to the database and to the queue (`REDIS_URL`, or an in-process one), starts
    /// the worker and binds the port.
    pub async fn build(settings: Settings) -> anyhow::Result<Server> {
        let db = db::open(&settings.subgraph.common).await?;
        Self::build_with_db(settings, db).await
    }

    /// Starts the worker on the stream `REDIS_URL` names (or on one of its own), then binds
    /// the port and serves over an existing pool.
    pub async fn build_with_db(
        settings: Settings,
        db: DatabaseConnection,
    ) -> anyhow::Result<Server> {
        let stream = EventStream::open(&settings.subgraph.common).await?;
        Worker::new(
            db.clone(),
            stream.clone(),
            settings.subgraph.common.data_dir.clone(),
            settings.worker.clone(),
        )
        .start();
        Self::serve(settings, db, stream).await
    }

    /// Binds the port and serves over an existing pool and queue, without a worker (the
    /// all-in-one process starts one on the stream it shares; tests start their own).
    pub async fn serve(
        settings: Settings,
        db: DatabaseConnection,
        stream: EventStream,
    ) -> anyhow::Result<Server> {
        let subgraph = &settings.subgraph;
        Routes::new(
            schema::build(db.clone(), stream, subgraph.common.mode),
            subgraph.verifier.clone(),
        )
        .ready_with(db)
        .bind(subgraph)
        .await
    }
}
