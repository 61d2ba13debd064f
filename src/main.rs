//! `cargo run`: the whole platform in one process with the embedded defaults (SQLite in
//! `tessera-data/`, migrations applied, demo data seeded into an empty database, in-process
//! sessions, emails written to `tessera-data/outbox/`): the subgraphs on private loopback
//! ports, the gateway on `PORT` (8080).

use anyhow::Context;
use common::{
    config::{CommonSettings, Mode},
    server::Server,
    stream::EventStream,
};
use db::DatabaseConnection;
use std::net::{IpAddr, Ipv4Addr};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let (gateway, subgraphs) = match settings() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let common: &CommonSettings = &gateway.common;
    let (conn, seeded) = open_database(common).await?;
    let (mode, demo) = (common.mode, common.demo);

    // One event stream for the process: ticket-service's relay writes it, the export worker
    // takes its jobs from it, and the gateway's live updates and the other workers will read it.
    // The scheduler's reminders go through the outbox like any change.
    let stream = EventStream::open(common).await?;
    ticket_service::relay::start(conn.clone(), stream.clone());
    ticket_service::scheduler::start(
        conn.clone(),
        gateway.scheduler.clone(),
        ticket_service::scheduler::Clock::System,
    );
    let outbox = match &subgraphs.mail.provider {
        notify_service::config::Provider::Outbox(dir) => Some(dir.clone()),
        notify_service::config::Provider::SendGrid { .. } => None,
    };
    let digests = subgraphs.digests;
    let (running, mut mail) = start_subgraphs(subgraphs, &conn, &stream).await?;
    let gateway = api_gateway::Application::build_with_stream(
        running.route(gateway),
        conn.clone(),
        stream.clone(),
    )
    .await?;
    let port = gateway.port();
    // Links in emails lead to this process unless PUBLIC_URL says where people reach it.
    if std::env::var_os("PUBLIC_URL").is_none() {
        mail.public_url = format!("http://127.0.0.1:{port}");
    }
    notify_service::digest::Runner::new(
        conn.clone(),
        stream.clone(),
        mail.clone(),
        digests,
        common::clock::Clock::System,
    )
    .context("cannot set up the email client")?
    .start();
    notify_service::worker::Worker::new(conn.clone(), stream.clone(), mail)
        .context("cannot set up the email client")?
        .start();

    greet(port, mode, seeded, outbox.as_deref());
    if demo && mode == Mode::Development {
        show_demo_logins(port);
    }
    running.serve_with(gateway).await
}

/// Connects, migrates, and seeds the demo into an empty database when `TESSERA_DEMO` asks;
/// says whether it seeded.
async fn open_database(common: &CommonSettings) -> anyhow::Result<(DatabaseConnection, bool)> {
    let conn = db::open(common).await?;
    db::migrate(&conn)
        .await
        .context("database migration failed")?;
    let seeded = if common.demo {
        db::seed::seed_if_empty(&conn)
            .await
            .context("seeding the demo failed")?
    } else {
        false
    };
    Ok((conn, seeded))
}

/// The subgraphs, bound to their loopback ports and not yet serving.
struct Running {
    tickets: Server,
    notify: Server,
    exports: Server,
}

/// Binds the three subgraphs and starts the export and webhook workers; hands back the mail settings for
/// the email worker, which starts once the gateway's port is known.
async fn start_subgraphs(
    subgraphs: Subgraphs,
    conn: &DatabaseConnection,
    stream: &EventStream,
) -> anyhow::Result<(Running, notify_service::MailSettings)> {
    let Subgraphs {
        tickets,
        notify,
        mail,
        hooks,
        export,
        ..
    } = subgraphs;
    let tickets = ticket_service::Application::serve(tickets, conn.clone()).await?;
    // Webhooks are delivered by their own worker, apart from emails.
    let mailer = notify_service::mailer::Mailer::from_settings(&mail)
        .context("cannot set up the email client")?;
    notify_service::webhooks::worker::Worker::new(conn.clone(), stream.clone(), hooks.clone())
        .context("cannot set up the webhook client")?
        .notifying(mailer)
        .start();
    let notify =
        notify_service::Application::serve(notify, conn.clone(), hooks, stream.clone()).await?;
    export_service::Worker::new(
        conn.clone(),
        stream.clone(),
        export.subgraph.common.data_dir.clone(),
        export.worker.clone(),
    )
    .start();
    let exports = export_service::Application::serve(export, conn.clone(), stream.clone()).await?;
    let running = Running {
        tickets,
        notify,
        exports,
    };
    Ok((running, mail))
}

impl Running {
    /// `gateway` with each subgraph's URL on its loopback port.
    fn route(&self, gateway: api_gateway::Settings) -> api_gateway::Settings {
        let url = |server: &Server| format!("http://127.0.0.1:{}/graphql", server.port());
        gateway
            .with_subgraph_url("ticket_service", url(&self.tickets))
            .with_subgraph_url("notify_service", url(&self.notify))
            .with_subgraph_url("export_service", url(&self.exports))
    }

    /// Serves the subgraphs and `gateway` until one of them stops.
    async fn serve_with(self, gateway: Server) -> anyhow::Result<()> {
        let tickets = tokio::spawn(self.tickets.run_until_stopped());
        let notify = tokio::spawn(self.notify.run_until_stopped());
        let exports = tokio::spawn(self.exports.run_until_stopped());
        tokio::select! {
            served = gateway.run_until_stopped() => served?,
            stopped = tickets => stopped.context("ticket-service stopped")??,
            stopped = notify => stopped.context("notify-service stopped")??,
            stopped = exports => stopped.context("export-service stopped")??,
        }
        Ok(())
    }
}

/// Where the platform answers, and where emails go when they are written to files.
fn greet(port: u16, mode: Mode, seeded: bool, outbox: Option<&std::path::Path>) {
    println!("Tessera is running at http://127.0.0.1:{port}/ ({mode:?} mode)");
    println!("  GraphQL   http://127.0.0.1:{port}/graphql");
    println!("  GraphiQL  http://127.0.0.1:{port}/graphiql (after signing in)");
    if seeded {
        println!("Demo data seeded.");
    }
    if let Some(outbox) = outbox {
        println!(
            "Emails are written to {}/ (set SENDGRID_API_KEY to send them)",
            outbox.display()
        );
    }
}

/// The demo's logins and a first request to try (development mode only: they print the
/// shared demo password).
fn show_demo_logins(port: u16) {
    println!(
        "Demo logins (every password is `{}`):",
        db::seed::DEMO_PASSWORD
    );
    for login in db::seed::logins() {
        println!("  {:<16} {}", login.role.as_str(), login.email);
    }
    println!(
        "Try: curl -s -c /tmp/tessera.cookies http://127.0.0.1:{port}/auth/login -H 'content-type: application/json' \\\n       -d '{{\"email\":\"budget@example.edu\",\"password\":\"{}\"}}'",
        db::seed::DEMO_PASSWORD
    );
    println!(
        "     curl -s -b /tmp/tessera.cookies http://127.0.0.1:{port}/graphql -H 'content-type: application/json' \\\n       -d '{{\"query\":\"{{ ticketStats {{ total byState {{ state count }} }} }}\"}}'"
    );
}

/// The subgraphs' settings in the all-in-one process.
struct Subgraphs {
    tickets: ticket_service::Settings,
    notify: notify_service::Settings,
    mail: notify_service::MailSettings,
    hooks: notify_service::HookSettings,
    digests: notify_service::digest::Settings,
    export: export_service::Settings,
}

/// The gateway's settings from the environment, and the subgraphs': the same database, key
/// and mode, on private loopback ports.
fn settings() -> Result<(api_gateway::Settings, Subgraphs), common::config::ConfigError> {
    let gateway = api_gateway::Settings::from_env()?;
    let export_worker = export_service::config::WorkerSettings::from_source(&common::config::Env)?;
    let mut common = gateway.common.clone();
    common.bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mail = notify_service::MailSettings::from_env(&common)?;
    let hooks = notify_service::HookSettings::from_source(&common::config::Env, &common)?;
    let digests = notify_service::digest::Settings::from_source(&common::config::Env)?;
    let subgraphs = Subgraphs {
        mail,
        hooks,
        digests,
        tickets: ticket_service::Settings {
            common: common.clone(),
            port: 0,
            verifier: gateway.minter.verifier(),
        },
        notify: notify_service::Settings {
            common: common.clone(),
            port: 0,
            verifier: gateway.minter.verifier(),
        },
        export: export_service::Settings {
            subgraph: common::config::SubgraphSettings {
                common,
                port: 0,
                verifier: gateway.minter.verifier(),
            },
            worker: export_worker,
        },
    };
    Ok((gateway, subgraphs))
}
