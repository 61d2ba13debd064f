//! notify-service as its own process: reads the environment, starts the email and webhook
//! workers and serves the subgraph.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::telemetry::init();
    let settings = notify_service::config::from_env().and_then(|settings| {
        let mail = notify_service::MailSettings::from_env(&settings.common)?;
        let hooks =
            notify_service::HookSettings::from_source(&common::config::Env, &settings.common)?;
        Ok((settings, mail, hooks))
    });
    let (settings, mail, hooks) = match settings {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let app = notify_service::Application::build(settings, mail, hooks).await?;
    tracing::info!(port = app.port(), "notify-service listening");
    app.run_until_stopped().await?;
    Ok(())
}
