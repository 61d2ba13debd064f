//! notify-service: the federation subgraph that owns notifications and email preferences
//! (`User.notificationPreferences`, `Ticket.notifications`), webhooks and the in-app inbox,
//! and the email worker that fills the notifications table and the inboxes from the event
//! stream and sends the emails.

/// Settings from the environment.
pub mod config;
/// Daily and weekly digests, by email and in the inbox.
pub mod digest;
/// Rendering the email about one event for one recipient.
pub mod email;
/// The service's error type and its mapping to the contract's codes.
pub mod error;
/// The in-app inbox: an item per (user, event) that would be emailed, read or unread.
pub mod inbox;
/// Sending one email: SendGrid, or `.eml` files in the outbox.
pub mod mailer;
/// Reading and changing email preferences.
pub mod preferences;
/// How many emails there are in each status (the gateway's documented read model).
pub mod read_model;
/// Who is emailed about an event.
pub mod recipients;
/// Reading notification rows with the caller's visibility.
pub mod records;
/// The GraphQL schema.
pub mod schema;
/// Webhooks: the types, the root fields and the delivery worker.
pub mod webhooks;
/// The email worker: events in, one notification row per recipient, emails out.
pub mod worker;

pub use config::{MailSettings, Settings};
pub use webhooks::HookSettings;

use anyhow::Context;
use common::{server::Server, stream::EventStream, subgraph::Routes};
use sea_orm::DatabaseConnection;

/// Builds notify-service, bound and ready to run.
#[derive(Debug)]
pub struct Application;

impl Application {
    /// Connects to the database and the event stream, starts the email and webhook workers
    /// and binds the port: notify-service as its own process.
    pub async fn build(
        settings: Settings,
        mail: MailSettings,
        hooks: HookSettings,
    ) -> anyhow::Result<Server> {
        let db = db::open(&settings.common).await?;
        let stream = EventStream::open(&settings.common).await?;
        let mailer =
            mailer::Mailer::from_settings(&mail).context("cannot set up the email client")?;
        let digests = digest::Settings::from_source(&common::config::Env)?;
        digest::Runner::new(
            db.clone(),
            stream.clone(),
            mail.clone(),
            digests,
            common::clock::Clock::System,
        )
        .context("cannot set up the email client")?
        .start();
        worker::Worker::new(db.clone(), stream.clone(), mail)
            .context("cannot set up the email client")?
            .start();
        webhooks::worker::Worker::new(db.clone(), stream.clone(), hooks.clone())
            .context("cannot set up the webhook client")?
            .notifying(mailer)
            .start();
        Self::serve(settings, db, hooks, stream).await
    }

    /// Binds the port and serves over an existing pool, without the workers (tests), with the
    /// webhook settings of the process environment (`WEBHOOK_*`) and inbox changes announced
    /// on the stream `REDIS_URL` names (in-process without it, where nobody hears them: the
    /// all-in-one process uses `serve` with its own stream).
    pub async fn build_with_db(
        settings: Settings,
        db: DatabaseConnection,
    ) -> anyhow::Result<Server> {
        let hooks = HookSettings::from_source(&common::config::Env, &settings.common)?;
        Self::build_with_hooks(settings, db, hooks).await
    }

    /// `build_with_db` with the given webhook settings.
    pub async fn build_with_hooks(
        settings: Settings,
        db: DatabaseConnection,
        hooks: HookSettings,
    ) -> anyhow::Result<Server> {
        let stream = EventStream::open(&settings.common).await?;
        Self::serve(settings, db, hooks, stream).await
    }

    /// Binds the port and serves over an existing pool, without the workers, announcing inbox
    /// changes on `stream` (the all-in-one process passes the one its gateway follows).
    pub async fn serve(
        settings: Settings,
        db: DatabaseConnection,
        hooks: HookSettings,
        stream: EventStream,
    ) -> anyhow::Result<Server> {
        let loaders_db = db.clone();
        let routes = Routes::new(
            schema::build(db.clone(), settings.common.mode, hooks, stream),
            settings.verifier.clone(),
        )
        .prepare(move |request, caller| schema::prepare(request, caller, &loaders_db))
        .ready_with(db);
        routes.bind(&settings).await
    }
}
