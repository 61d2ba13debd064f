//! `cargo run`: the whole platform in one process with the embedded defaults (SQLite in
//! `tessera-data/`, migrations applied, demo data seeded into an empty database, in-process
//! sessions, emails written to `tessera-data/outbox/`): the subgraphs on private loopback
//! ports, the gateway on `PORT` (8080).

use anyhow::Context;
use common::{
    config::{CommonSettings, Mode},
    stream::EventStream,
};
use std::net::{IpAddr, Ipv4Addr};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let (gateway, subgraph) = match settings() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let common: &CommonSettings = &gateway.common;
    let conn = db::connect(&common.database_url)
        .await
        .context("DATABASE_URL: cannot connect")?;
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
    let mode = common.mode;
    let demo = common.demo;

    // One event stream for the process: ticket-service's relay writes it, the export worker
    // takes its jobs from it, and the gateway's live updates and the other workers will read it.
    let stream = EventStream::connect(common)
        .await
        .context("REDIS_URL: cannot connect")?;
    ticket_service::relay::start(conn.clone(), stream.clone());
    let outbox = match &subgraph.mail.provider {
        notify_service::config::Provider::Outbox(dir) => Some(dir.clone()),
        notify_service::config::Provider::SendGrid { .. } => None,
    };
    let mut mail = subgraph.mail;
    let tickets = ticket_service::Application::serve(subgraph.tickets, conn.clone()).await?;
    let notify = notify_service::Application::build_with_db(subgraph.notify, conn.clone()).await?;
    export_service::Worker::new(
        conn.clone(),
        stream.clone(),
        subgraph.export.subgraph.common.data_dir.clone(),
        subgraph.export.worker.clone(),
    )
    .start();
    let exports =
        export_service::Application::serve(subgraph.export, conn.clone(), stream.clone()).await?;
    let gateway = gateway
        .with_subgraph_url(
            "ticket_service",
            format!("http://127.0.0.1:{}/graphql", tickets.port()),
        )
        .with_subgraph_url(
            "notify_service",
            format!("http://127.0.0.1:{}/graphql", notify.port()),
        )
        .with_subgraph_url(
            "export_service",
            format!("http://127.0.0.1:{}/graphql", exports.port()),
        );
    let gateway =
        api_gateway::Application::build_with_stream(gateway, conn.clone(), stream.clone()).await?;
    let port = gateway.port();
    // Links in emails lead to this process unless PUBLIC_URL says where people reach it.
    if std::env::var_os("PUBLIC_URL").is_none() {
        mail.public_url = format!("http://127.0.0.1:{port}");
    }
    notify_service::worker::Worker::new(conn.clone(), stream.clone(), mail)
        .context("cannot set up the email client")?
        .start();

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
    if demo && mode == Mode::Development {
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
    let tickets = tokio::spawn(tickets.run_until_stopped());
    let notify = tokio::spawn(notify.run_until_stopped());
    let exports = tokio::spawn(exports.run_until_stopped());
    tokio::select! {
        served = gateway.run_until_stopped() => served?,
        stopped = tickets => stopped.context("ticket-service stopped")??,
        stopped = notify => stopped.context("notify-service stopped")??,
        stopped = exports => stopped.context("export-service stopped")??,
    }
    Ok(())
}

/// The subgraphs' settings in the all-in-one process.
struct Subgraphs {
    tickets: ticket_service::Settings,
    notify: notify_service::Settings,
    mail: notify_service::MailSettings,
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
    let subgraphs = Subgraphs {
        mail,
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
