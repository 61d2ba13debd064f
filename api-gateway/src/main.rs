//! api-gateway as its own process: reads the environment and serves the public endpoint.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let settings = match api_gateway::Settings::from_env() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let app = api_gateway::Application::build(settings).await?;
    tracing::info!(port = app.port(), "api-gateway listening");
    app.run_until_stopped().await?;
    Ok(())
}
