//! ticket-service as its own process: reads the environment and serves the subgraph.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let settings = ticket_service::config::from_env().and_then(|s| {
        let scheduler = ticket_service::scheduler::Settings::from_env()?;
        Ok((s, scheduler))
    });
    let (settings, scheduler) = match settings {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let db = db::open(&settings.common).await?;
    // Every replica ticks; the scheduler's unique steps make each reminder go out once.
    ticket_service::scheduler::start(
        db.clone(),
        scheduler,
        ticket_service::scheduler::Clock::System,
    );
    let app = ticket_service::Application::build_with_db(settings, db).await?;
    tracing::info!(port = app.port(), "ticket-service listening");
    app.run_until_stopped().await?;
    Ok(())
}
