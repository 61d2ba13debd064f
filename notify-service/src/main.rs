//! notify-service as its own process: reads the environment, starts the email worker and
//! serves the subgraph.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let settings = notify_service::config::from_env().and_then(|settings| {
        let mail = notify_service::MailSettings::from_env(&settings.common)?;
        Ok((settings, mail))
    });
    let (settings, mail) = match settings {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let app = notify_service::Application::build(settings, mail).await?;
    tracing::info!(port = app.port(), "notify-service listening");
    app.run_until_stopped().await?;
    Ok(())
}
