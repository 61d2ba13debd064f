//! export-service as its own process: reads the environment, starts the export worker and
//! serves the subgraph.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let settings = match export_service::config::from_env() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let app = export_service::Application::build(settings).await?;
    tracing::info!(port = app.port(), "export-service listening");
    app.run_until_stopped().await?;
    Ok(())
}
