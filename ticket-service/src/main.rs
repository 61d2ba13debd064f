//! ticket-service as its own process: reads the environment and serves the subgraph.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let settings = match ticket_service::config::from_env() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let app = ticket_service::Application::build(settings).await?;
    tracing::info!(port = app.port(), "ticket-service listening");
    app.run_until_stopped().await?;
    Ok(())
}
