//! api-gateway as its own process: reads the environment and serves the public endpoint.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let settings = match api_gateway::Settings::from_env() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let threads = settings.threads;
    let app = api_gateway::Application::build(settings).await?;
    tracing::info!(port = app.port(), threads, "api-gateway listening");
    // This runtime keeps the background work (live updates, token use flushes, the auth
    // subgraph); requests are served on threads of their own.
    app.run_on_threads(threads).await?;
    Ok(())
}
