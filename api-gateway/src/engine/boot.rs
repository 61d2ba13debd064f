//! Starting the engine: its background tasks are `spawn_local`ed on its ntex runtime, so they
//! get a thread of their own, with a current-thread runtime and a LocalSet, that lives as long
//! as the engine; requests run on the caller's runtime. The thread loads the supergraph and
//! hands back what the request pipeline needs.

use super::EngineError;
use super::pipeline::{Execution, Supergraph, analyser, executor};
use hive_router::{
    RouterSharedState,
    background_tasks::BackgroundTasksManager,
    config::HiveRouterConfig,
    executor::{headers::response::ResponseHeaderSink, request_context::SharedRequestContext},
    pipeline::{
        execute_pipeline, normalize::normalize_request_with_cache,
        validation::validate_operation_with_cache,
    },
    telemetry::{TelemetryContext, traces::spans::graphql::GraphQLOperationSpan},
};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::sync::oneshot;

/// How many times (20 ms apart) start waits for the engine to load the supergraph.
const LOAD_POLLS: usize = 500;

/// The engine, loaded: its shared state and the calls that take its supergraph.
pub(super) struct Loaded {
    pub(super) shared: Arc<RouterSharedState>,
    pub(super) supergraph: Supergraph,
}

/// What the engine's thread sends back once loaded (or why it could not load).
pub(super) type Ready = oneshot::Receiver<Result<Loaded, EngineError>>;

/// Starts the engine's thread on `config`. It answers on the returned receiver, and serves
/// the background tasks until the returned sender is dropped.
pub(super) fn spawn(
    config: &'static HiveRouterConfig,
    telemetry: TelemetryContext,
) -> Result<(Ready, oneshot::Sender<()>), EngineError> {
    let (ready_tx, ready_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("hive-engine".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = ready_tx.send(Err(EngineError::Init(err.to_string())));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, async move {
                let mut tasks = BackgroundTasksManager::new();
                let started = load(config, telemetry, &mut tasks).await;
                let failed = started.is_err();
                if ready_tx.send(started).is_err() || failed {
                    return;
                }
                // Serve the background tasks until the engine is dropped.
                let _ = stop_rx.await;
                tasks.graceful_shutdown().await;
            });
        })
        .map_err(|err| EngineError::Init(err.to_string()))?;
    Ok((ready_rx, stop_tx))
}

/// Configures the engine, waits for its supergraph, and hands the pipeline the calls that
/// need the supergraph (whose type `hive-router` does not export: it is known only here).
async fn load(
    config: &'static HiveRouterConfig,
    telemetry: TelemetryContext,
    tasks: &mut BackgroundTasksManager,
) -> Result<Loaded, EngineError> {
    let (shared, schema) = hive_router::configure_app_from_config(
        config,
        telemetry,
        tasks,
        hive_router::PluginRegistry::new(),
    )
    .await
    .map_err(|e| EngineError::Init(e.to_string()))?;
    let selecting = &schema;
    let selected = until_loaded(|| {
        let probe = hive_router::ntex::web::test::TestRequest::default().to_http_request();
        async move { selecting.select_supergraph(&probe).await }
    })
    .await?;
    let held = Arc::new((selected.clone(), schema.clone(), shared.clone()));
    let analyse = analyser({
        let held = held.clone();
        move |params, parsed| {
            let held = held.clone();
            Box::pin(async move {
                let (supergraph, schema, shared) = &*held;
                let validated =
                    validate_operation_with_cache(supergraph, schema, shared, parsed, &None);
                if let Some(early) = validated.await? {
                    return Ok(Err(early));
                }
                let (snapshot, runtime) = (&supergraph.snapshot, &supergraph.runtime);
                let normalized =
                    normalize_request_with_cache(snapshot, runtime, schema, params, parsed);
                normalized.await.map(Ok)
            })
        }
    });
    let execute = executor(move |execution: Execution, headers, variables| {
        let held = held.clone();
        Box::pin(async move {
            let (supergraph, schema, shared) = &*held;
            let context = SharedRequestContext::default();
            execute_pipeline(
                execution.details(headers),
                &execution.params,
                &execution.normalized,
                variables,
                supergraph,
                shared,
                schema,
                GraphQLOperationSpan::new(),
                None,
                &context,
                ResponseHeaderSink::default(),
                None,
            )
            .await
        })
    });
    let supergraph = Supergraph {
        snapshot: selected.snapshot.clone(),
        analyse,
        execute,
    };
    Ok(Loaded { shared, supergraph })
}

/// The engine loads the supergraph file in the background: asks `select` every 20 ms, up to
/// `LOAD_POLLS` times, until it has it.
async fn until_loaded<T, E, F, Fut>(mut select: F) -> Result<T, EngineError>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    for _ in 0..LOAD_POLLS {
        if let Some(selected) = select()
            .await
            .map_err(|e| EngineError::Init(e.to_string()))?
        {
            return Ok(selected);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(EngineError::Init(
        "the supergraph did not load; see the log for the engine's reason".into(),
    ))
}
