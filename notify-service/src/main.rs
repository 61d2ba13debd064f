//! notify-service as its own process: reads the environment and serves the subgraph.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let settings = match notify_service::config::from_env() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let app = notify_service::Application::build(settings).await?;
    tracing::info!(port = app.port(), "notify-service listening");
    app.run_until_stopped().await?;
    Ok(())
}
