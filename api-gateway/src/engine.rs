//! The federation engine: Hive Router's pipeline (parse, validate, normalize, plan, execute),
//! embedded as a library and driven by our HTTP layer, which has already decided who the
//! caller is. Plans, parsed and normalized operations are cached by the engine.

use crate::config::Subgraph;
use crate::gql::{self, GqlError};
use crate::limits::{self, Limits};
use common::ErrorCode;
use common::nesting::MAX_NESTING;
use futures::future::BoxFuture;
use hive_router::{
    background_tasks::BackgroundTasksManager,
    config::HiveRouterConfig,
    executor::{
        execution::{
            client_request_details::{
                JwtRequestDetails, MutableClientRequestDetails, OperationDetails, PathParams,
            },
            plan::{CoerceVariablesPayload, QueryPlanExecutionResult},
        },
        headers::response::ResponseHeaderSink,
        plugins::hooks::on_graphql_params::GraphQLParams,
        request_context::SharedRequestContext,
    },
    http::{Method, Uri},
    ntex::http::{
        HeaderMap as NtexHeaderMap, Response as NtexResponse,
        body::{Body, ResponseBody},
        header::{AUTHORIZATION, HeaderValue},
    },
    pipeline::{
        coerce_variables::coerce_request_variables,
        error::{ClientPipelineError, PipelineError},
        execute_pipeline,
        normalize::{GraphQLNormalizationPayload, normalize_request_with_cache},
        parser::{ParseResult, parse_operation_with_cache},
        validation::validate_operation_with_cache,
    },
    query_planner::state::supergraph_state::OperationKind,
    telemetry::{TelemetryContext, traces::spans::graphql::GraphQLOperationSpan},
};
use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The generated router configuration was refused (a bug of ours).
    #[error("router configuration: {0}")]
    Config(String),
    /// The supergraph could not be written for the engine to load.
    #[error("cannot write the supergraph to {path}: {source}")]
    Write {
        /// Where it was written.
        path: String,
        /// Why not.
        source: std::io::Error,
    },
    /// The engine refused the supergraph or its own setup.
    #[error("federation engine: {0}")]
    Init(String),
}

/// What kind of operation a request turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationType {
    /// A query (also the default).
    Query,
    /// A mutation.
    Mutation,
    /// A subscription.
    Subscription,
}

impl OperationType {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Mutation => "mutation",
            Self::Subscription => "subscription",
        }
    }
}

/// What an operation does, as an API token's checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation<'a> {
    /// Query, mutation or subscription.
    pub kind: OperationType,
    /// The root fields it selects (by field name, not alias; `__typename` left out).
    pub fields: Vec<&'a str>,
}

/// A caller's own say on an operation, run once the operation is normalized and before it is
/// planned (an API token's scopes): an error answers the request instead.
pub type Authorize = Box<dyn FnOnce(&Operation<'_>) -> Result<(), GqlError> + Send>;

/// One GraphQL request, already authenticated.
pub struct Request {
    /// query, operationName, variables, extensions.
    pub params: GraphQLParams,
    /// GET never runs mutations.
    pub method: Method,
    /// The gateway-minted token forwarded to every subgraph.
    pub token: String,
    /// Whether the caller may introspect the schema, and see in error extensions which
    /// subgraph an error came from (ADMIN, and anyone in development mode).
    pub allow_introspection: bool,
    /// Further checks of the caller's, if any.
    pub authorize: Option<Authorize>,
    /// Never join an identical subgraph call already in flight (the engine shares those):
    /// a live delivery must read the state after its event, not a read that began before it.
    pub fresh: bool,
}

/// The header that decides which requests' subgraph calls the engine may share. It carries
/// the number of changes the gateway had seen when the request started (see
/// `Engine::changed`), and the engine only shares a call between requests with the same
/// number: a read never joins one that began before a change it could know of. A `fresh`
/// request counts as a change of its own, so no request before it had its number.
/// Propagated to the subgraphs, which ignore it.
const FRESH_HEADER: &str = "x-tessera-fresh";

/// The engine's answer: an HTTP status and a GraphQL response body.
#[derive(Debug)]
pub struct Response {
    /// 200 for executed operations; 400 for requests that never ran.
    pub status: u16,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The operation's type, once known.
    pub operation: Option<OperationType>,
}

impl Response {
    fn error(err: GqlError) -> Self {
        Self {
            status: err.status,
            body: gql::error_body(&[err]),
            operation: None,
        }
    }
}

/// How many times (20 ms apart) start waits for the engine to load the supergraph.
const LOAD_POLLS: usize = 500;

type Runner = dyn Fn(Request) -> BoxFuture<'static, Response> + Send + Sync;
type Preparer = dyn Fn(Request) -> BoxFuture<'static, Result<Prepared, Response>> + Send + Sync;

/// A request that passed every check before planning.
struct Front {
    params: GraphQLParams,
    method: Method,
    normalized: Arc<GraphQLNormalizationPayload>,
    variables: CoerceVariablesPayload,
    operation: OperationType,
}

/// What `Engine::prepare` made of a request sent to be subscribed to.
#[derive(Debug)]
pub enum Prepared {
    /// A query or mutation: run it once with `Engine::execute`.
    Single,
    /// A subscription, checked and taken apart for the gateway to serve.
    Subscription(Subscription),
}

/// A subscription operation, taken apart: its one root field with the argument values
/// resolved, and what a query needs to select the same fields of one result (the gateway
/// resolves each delivery with such a query: see `live`).
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The operation's name, if it has one.
    pub name: Option<String>,
    /// The root field.
    pub field: String,
    /// Where its value goes in the response (its alias, or its name).
    pub response_key: String,
    /// Its arguments, variables resolved (arguments not given are absent).
    pub arguments: serde_json::Map<String, serde_json::Value>,
    /// The field's selection set, printed (`{id kind ticket {number}}`).
    pub selection: String,
    /// `@skip`/`@include` on the field, printed (empty when none).
    pub directives: String,
    /// The variable definitions the selection set uses, printed (`$a:Int, $b:String`).
    pub variable_definitions: String,
    /// The values of those variables.
    pub variables: serde_json::Map<String, serde_json::Value>,
}

/// The embedded router with the supergraph it serves.
///
/// The engine's selected-supergraph type lives in a private module of `hive-router`, so it
/// cannot be named here: `Engine::start` captures it, with the rest of the pipeline, in one
/// closure where its type is inferred.
#[derive(Clone)]
pub struct Engine {
    run: Arc<Runner>,
    prepare: Arc<Preparer>,
    /// The changes seen so far: mutations run here, and events `changed` was told of.
    changes: Arc<AtomicU64>,
    // Dropping the last clone stops the engine's background thread.
    _stop: Arc<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// The router configuration: our supergraph file and subgraph URLs, the Authorization header
/// (the gateway-minted token) propagated to every subgraph, subgraph errors passed through
/// unmasked (subgraphs never put internals in them), the limits the engine's validation
/// enforces, and a per-call timeout so a dead subgraph costs its fields, not the request.
fn router_config(
    supergraph_path: &Path,
    subgraphs: &[Subgraph],
    timeout: Duration,
    limits: Limits,
) -> Result<HiveRouterConfig, EngineError> {
    let overrides: serde_json::Map<String, serde_json::Value> = subgraphs
        .iter()
        .map(|s| (s.name.to_string(), serde_json::json!({ "url": s.url })))
        .collect();
    let config = serde_json::json!({
        "supergraph": { "source": "file", "path": supergraph_path.display().to_string() },
        "override_subgraph_urls": { "subgraphs": overrides },
        "headers": { "all": { "request": [ { "propagate": { "named": ["Authorization", FRESH_HEADER] } } ] } },
        "error_masking": { "enabled": false },
        "traffic_shaping": { "all": { "request_timeout": format!("{}ms", timeout.as_millis()) } },
        "limits": {
            "max_depth": { "n": limits.max_depth, "flatten_fragments": true },
            "max_aliases": { "n": limits.max_aliases },
            "max_tokens": { "n": limits.max_tokens },
            "max_request_body_size": format!("{}B", crate::http::MAX_BODY),
        },
        "laboratory": { "enabled": false },
        // Nothing leaves the process: no usage reports or traces to Hive Console, no metrics
        // or trace exporters. Offices run behind firewalls; our own /metrics is the telemetry.
        "telemetry": {
            "hive": { "usage_reporting": { "enabled": false }, "tracing": { "enabled": false } },
            "metrics": { "exporters": [] },
            "tracing": { "exporters": [] },
        },
    });
    serde_json::from_value(config).map_err(|e| EngineError::Config(e.to_string()))
}

impl Engine {
    /// Starts the engine on `supergraph_sdl`, with the subgraphs at `subgraphs`.
    pub async fn start(
        supergraph_sdl: &str,
        subgraphs: &[Subgraph],
        timeout: Duration,
        limits: Limits,
        work_dir: &Path,
    ) -> Result<Self, EngineError> {
        install_crypto_provider();
        // The engine refuses a relative supergraph path (it has no start directory to resolve
        // it against), so the file's path is made absolute here, whatever the caller passed.
        let work_dir = std::path::absolute(work_dir).map_err(|source| EngineError::Write {
            path: work_dir.display().to_string(),
            source,
        })?;
        // One file per engine: several engines in one process (tests) never share one.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let nth = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = work_dir.join(format!("supergraph-{}-{nth}.graphql", std::process::id()));
        // The engine loads its supergraph from a file (its configuration checks the file
        // exists); each process writes its own copy, removed once loaded or refused.
        std::fs::create_dir_all(&work_dir)
            .and_then(|()| std::fs::write(&path, supergraph_sdl))
            .map_err(|source| EngineError::Write {
                path: path.display().to_string(),
                source,
            })?;
        let config: &'static HiveRouterConfig =
            match router_config(&path, subgraphs, timeout, limits) {
                Ok(config) => config.into_static(),
                Err(err) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(err);
                }
            };
        let telemetry = TelemetryContext::from_propagation_config(
            &config.telemetry.tracing.propagation,
            &config.log,
        );
        // The engine's background tasks are `spawn_local`ed on its ntex runtime: they get a
        // thread of their own, with a current-thread runtime and a LocalSet, that lives as
        // long as the engine. Requests run on the caller's runtime.
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let spawned = std::thread::Builder::new()
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
                    let started = async {
                        let (shared, schema) = hive_router::configure_app_from_config(
                            config,
                            telemetry,
                            &mut tasks,
                            hive_router::PluginRegistry::new(),
                        )
                        .await
                        .map_err(|e| EngineError::Init(e.to_string()))?;
                        // The engine loads the supergraph file in the background: wait for it.
                        for _ in 0..LOAD_POLLS {
                            let probe = hive_router::ntex::web::test::TestRequest::default()
                                .to_http_request();
                            let selected = schema
                                .select_supergraph(&probe)
                                .await
                                .map_err(|e| EngineError::Init(e.to_string()))?;
                            if let Some(supergraph) = selected {
                                return Ok((shared, schema, supergraph));
                            }
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(EngineError::Init(
                            "the supergraph did not load; see the log for the engine's reason"
                                .into(),
                        ))
                    }
                    .await;
                    let failed = started.is_err();
                    if ready_tx.send(started).is_err() || failed {
                        return;
                    }
                    // Serve the background tasks until the engine is dropped.
                    let _ = stop_rx.await;
                    tasks.graceful_shutdown().await;
                });
            });
        if let Err(err) = spawned {
            return Err(EngineError::Init(err.to_string()));
        }
        let loaded = ready_rx
            .await
            .map_err(|_| EngineError::Init("the engine thread stopped".into()));
        // Loaded once (no polling): the copy is not needed any more.
        let _ = std::fs::remove_file(&path);
        let (shared, schema, supergraph) = loaded??;

        // Parse, validate, normalize and the gateway's own checks: everything before a
        // request is planned, shared by single operations and subscriptions.
        let front = {
            let shared = shared.clone();
            let schema = schema.clone();
            let supergraph = supergraph.clone();
            move |mut params: GraphQLParams,
                  method: Method,
                  allow_introspection: bool,
                  authorize: Option<Authorize>|
                  -> BoxFuture<'static, Result<Front, Response>> {
                let shared = shared.clone();
                let schema = schema.clone();
                let supergraph = supergraph.clone();
                Box::pin(async move {
                    // The parser recurses into selection sets and list and object values: a
                    // document nested thousands deep must not reach it.
                    if let Some(query) = &params.query
                        && let Err(err) = common::nesting::check_graphql(query, MAX_NESTING)
                    {
                        return Err(Response::error(GqlError::too_complex(err.to_string())));
                    }
                    let parsed = match parse_operation_with_cache(&shared, &params, &None).await {
                        Ok(ParseResult::Payload(parsed)) => parsed,
                        Ok(ParseResult::EarlyResponse(response)) => {
                            return Err(from_ntex(response, None));
                        }
                        Err(err) => return Err(from_pipeline_error(err, None)),
                    };
                    let operation = match parsed.operation_type {
                        OperationKind::Mutation => OperationType::Mutation,
                        OperationKind::Subscription => OperationType::Subscription,
                        OperationKind::Query => OperationType::Query,
                    };
                    let some = Some(operation);
                    match validate_operation_with_cache(
                        &supergraph,
                        &schema,
                        &shared,
                        &parsed,
                        &None,
                    )
                    .await
                    {
                        Ok(None) => {}
                        Ok(Some(response)) => return Err(from_ntex(response, some)),
                        Err(err) => return Err(from_pipeline_error(err, some)),
                    }
                    let normalized = match normalize_request_with_cache(
                        &supergraph.snapshot,
                        &supergraph.runtime,
                        &schema,
                        &params,
                        &parsed,
                    )
                    .await
                    {
                        Ok(normalized) => normalized,
                        Err(err) => return Err(from_pipeline_error(err, some)),
                    };
                    if let Some(authorize) = authorize {
                        let fields = root_fields(
                            &normalized.operation_for_plan.selection_set,
                            normalized.operation_for_introspection.is_some(),
                        );
                        if let Err(err) = authorize(&Operation {
                            kind: operation,
                            fields,
                        }) {
                            return Err(with_operation(Response::error(err), some));
                        }
                    }
                    if let Err(err) = policy(
                        &normalized.operation_for_plan,
                        normalized.operation_for_introspection.is_some(),
                        &params,
                        &method,
                        allow_introspection,
                        limits,
                    ) {
                        return Err(with_operation(Response::error(err), some));
                    }
                    // Coerced here for both paths: a subscription's bad variables are refused
                    // when it starts, not at its first event.
                    let variables = match coerce_request_variables(
                        &supergraph.snapshot,
                        &mut params.variables,
                        &normalized,
                    ) {
                        Ok(variables) => variables,
                        Err(err) => return Err(from_pipeline_error(err, some)),
                    };
                    Ok(Front {
                        params,
                        method,
                        normalized,
                        variables,
                        operation,
                    })
                })
            }
        };
        let front = Arc::new(front);
        let prepare = {
            let front = front.clone();
            move |request: Request| -> BoxFuture<'static, Result<Prepared, Response>> {
                let front = front.clone();
                Box::pin(async move {
                    // Coercion takes the variables out of the request: keep them first.
                    let variables = json_variables(&request.params);
                    let Front {
                        normalized,
                        operation,
                        ..
                    } = front(
                        request.params,
                        request.method,
                        request.allow_introspection,
                        request.authorize,
                    )
                    .await?;
                    if operation != OperationType::Subscription {
                        return Ok(Prepared::Single);
                    }
                    subscription(&normalized.operation_for_plan, variables)
                        .map(Prepared::Subscription)
                        .map_err(|err| with_operation(Response::error(err), Some(operation)))
                })
            }
        };
        let changes = Arc::new(AtomicU64::new(0));
        let counted = changes.clone();
        let run = move |request: Request| -> BoxFuture<'static, Response> {
            let changes = counted.clone();
            let shared = shared.clone();
            let schema = schema.clone();
            let supergraph = supergraph.clone();
            let front = front.clone();
            Box::pin(async move {
                let (token, fresh) = (request.token, request.fresh);
                // Who may introspect (ADMIN, anyone in development) may also learn which
                // subgraph an error came from.
                let internals = request.allow_introspection;
                // Taken before anything runs: a change after this point may or may not be seen.
                let seen = if fresh {
                    changes.fetch_add(1, Ordering::SeqCst) + 1
                } else {
                    changes.load(Ordering::SeqCst)
                };
                let Front {
                    params,
                    method,
                    normalized,
                    variables,
                    operation,
                } = match front(
                    request.params,
                    request.method,
                    request.allow_introspection,
                    request.authorize,
                )
                .await
                {
                    Ok(front) => front,
                    Err(response) => return response,
                };
                if operation == OperationType::Subscription {
                    // The gateway serves subscriptions itself, over its websocket (`live`).
                    return with_operation(
                        Response::error(GqlError::bad_request(
                            "subscriptions are served over a websocket at /graphql (graphql-transport-ws)",
                        )),
                        Some(operation),
                    );
                }
                let operation = Some(operation);
                let mut headers = NtexHeaderMap::new();
                match HeaderValue::from_str(&format!("Bearer {token}")) {
                    Ok(value) => {
                        headers.insert(AUTHORIZATION, value);
                    }
                    Err(_) => {
                        return with_operation(Response::error(GqlError::internal()), operation);
                    }
                }
                headers.insert(
                    hive_router::ntex::http::header::HeaderName::from_static(FRESH_HEADER),
                    HeaderValue::from(seen),
                );
                let query = params.query.clone().unwrap_or_default();
                let uri = Uri::from_static("/graphql");
                let details = MutableClientRequestDetails {
                    method: &method,
                    url: &uri,
                    headers,
                    operation: OperationDetails {
                        name: normalized.operation_for_plan.name.as_deref(),
                        kind: operation.map(OperationType::as_str).unwrap_or("query"),
                        query: &query,
                    },
                    jwt: Arc::new(JwtRequestDetails::Unauthenticated),
                    path_params: PathParams::default(),
                };
                let context = SharedRequestContext::default();
                let result = execute_pipeline(
                    details,
                    &params,
                    &normalized,
                    variables,
                    &supergraph,
                    &shared,
                    &schema,
                    GraphQLOperationSpan::new(),
                    None,
                    &context,
                    ResponseHeaderSink::default(),
                    None,
                )
                .await;
                if operation == Some(OperationType::Mutation) {
                    // Whatever it did is done: later reads must not join earlier ones.
                    changes.fetch_add(1, Ordering::SeqCst);
                }
                match result {
                    Ok(QueryPlanExecutionResult::Single(output)) => Response {
                        status: output.status_code.as_u16(),
                        body: gql::rewrite_engine_codes(output.body, internals),
                        operation,
                    },
                    Ok(QueryPlanExecutionResult::Stream(_)) => with_operation(
                        Response::error(GqlError::bad_request(
                            "subscriptions are served over a websocket at /graphql",
                        )),
                        operation,
                    ),
                    Err(err) => from_pipeline_error(err, operation),
                }
            })
        };
        Ok(Self {
            run: Arc::new(run),
            prepare: Arc::new(prepare),
            changes,
            _stop: Arc::new(stop_tx),
        })
    }

    /// Tells the engine that data may have changed (an event on the stream, from a write by
    /// another replica or a worker): requests from now on never share a subgraph call with
    /// one that began before.
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// Runs one request through the pipeline.
    pub async fn execute(&self, request: Request) -> Response {
        (self.run)(request).await
    }

    /// Checks a request sent to be subscribed to exactly as `execute` would (parse, validate,
    /// limits, the caller's checks, variables) without running it, and takes a subscription
    /// apart for the gateway to serve. `Err` is the response that refuses it.
    pub async fn prepare(&self, request: Request) -> Result<Prepared, Response> {
        (self.prepare)(request).await
    }
}

/// The gateway's own rules, checked on the normalized operation before anything is planned
/// or any subgraph is called.
fn policy(
    operation: &hive_router::query_planner::ast::operation::OperationDefinition,
    introspects: bool,
    params: &GraphQLParams,
    method: &Method,
    allow_introspection: bool,
    limits: Limits,
) -> Result<(), GqlError> {
    if *method == Method::GET && operation.operation_kind == Some(OperationKind::Mutation) {
        return Err(GqlError::new(
            405,
            ErrorCode::BadUserInput,
            "mutations are not allowed over GET; use POST",
        ));
    }
    if introspects && !allow_introspection {
        return Err(GqlError::new(
            200,
            ErrorCode::Forbidden,
            "schema introspection is for administrators",
        ));
    }
    if selects_under_typename(&operation.selection_set) {
        return Err(GqlError::bad_request(
            "`__typename` is a scalar: it takes no selection",
        ));
    }
    limits::check(operation, &params.variables, limits)
}

/// Whether a selection set selects fields under `__typename`: the engine's validation lets
/// that through and its planner then fails with an internal error (a 500), which the
/// property-based fuzz found. Depth is already bounded by validation.
fn selects_under_typename(
    set: &hive_router::query_planner::ast::selection_set::SelectionSet,
) -> bool {
    use hive_router::query_planner::ast::selection_item::SelectionItem;
    set.items.iter().any(|item| match item {
        SelectionItem::Field(field) => {
            (field.name == "__typename" && !field.selections.items.is_empty())
                || selects_under_typename(&field.selections)
        }
        SelectionItem::InlineFragment(fragment) => selects_under_typename(&fragment.selections),
        SelectionItem::FragmentSpread(_) => false,
    })
}

/// The root fields an operation selects, with `__schema` standing for any introspection.
fn root_fields(
    set: &hive_router::query_planner::ast::selection_set::SelectionSet,
    introspects: bool,
) -> Vec<&str> {
    use hive_router::query_planner::ast::selection_item::SelectionItem;
    fn collect<'a>(
        set: &'a hive_router::query_planner::ast::selection_set::SelectionSet,
        out: &mut Vec<&'a str>,
    ) {
        for item in &set.items {
            match item {
                SelectionItem::Field(field) if field.name != "__typename" => {
                    if !out.contains(&field.name.as_str()) {
                        out.push(&field.name);
                    }
                }
                SelectionItem::InlineFragment(fragment) => collect(&fragment.selections, out),
                SelectionItem::Field(_) | SelectionItem::FragmentSpread(_) => {}
            }
        }
    }
    let mut fields = Vec::new();
    collect(set, &mut fields);
    if introspects {
        fields.push("__schema");
    }
    fields
}

/// A request's variables as JSON.
fn json_variables(params: &GraphQLParams) -> serde_json::Map<String, serde_json::Value> {
    params
        .variables
        .iter()
        .filter_map(|(name, value)| {
            let text = hive_router::sonic_rs::to_string(value).ok()?;
            Some((name.clone(), serde_json::from_str(&text).ok()?))
        })
        .collect()
}

/// Takes a normalized subscription apart (see `Subscription`).
fn subscription(
    operation: &hive_router::query_planner::ast::operation::OperationDefinition,
    variables: serde_json::Map<String, serde_json::Value>,
) -> Result<Subscription, GqlError> {
    use hive_router::query_planner::ast::selection_item::SelectionItem;
    let mut fields = operation
        .selection_set
        .items
        .iter()
        .filter_map(|item| match item {
            SelectionItem::Field(field) if field.name != "__typename" => Some(field),
            _ => None,
        });
    let (Some(field), None) = (fields.next(), fields.next()) else {
        return Err(GqlError::bad_request(
            "a subscription selects exactly one root field",
        ));
    };
    let definitions = operation
        .variable_definitions
        .as_deref()
        .unwrap_or_default();
    let default_of = |name: &str| {
        definitions
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.default_value.as_ref())
            .map(|v| json_value(v, &variables, &|_| None))
    };
    let mut arguments = serde_json::Map::new();
    if let Some(args) = &field.arguments {
        for (name, value) in args {
            let resolved = json_value(value, &variables, &default_of);
            // An unset variable is an argument not given.
            if !(matches!(
                value,
                hive_router::query_planner::ast::value::Value::Variable(_)
            ) && resolved.is_null())
            {
                arguments.insert(name.clone(), resolved);
            }
        }
    }
    let used = field.selections.variable_usages();
    let mut kept = Vec::new();
    let mut values = serde_json::Map::new();
    let mut directive_vars = Vec::new();
    let mut directives = String::new();
    if let Some(var) = &field.skip_if {
        directives.push_str(&format!(" @skip(if: ${var})"));
        directive_vars.push(var.clone());
    }
    if let Some(var) = &field.include_if {
        directives.push_str(&format!(" @include(if: ${var})"));
        directive_vars.push(var.clone());
    }
    for definition in definitions {
        if used.contains(&definition.name) || directive_vars.contains(&definition.name) {
            kept.push(definition.to_string());
            if let Some(value) = variables.get(&definition.name) {
                values.insert(definition.name.clone(), value.clone());
            }
        }
    }
    Ok(Subscription {
        name: operation.name.clone(),
        field: field.name.clone(),
        response_key: field.alias.clone().unwrap_or_else(|| field.name.clone()),
        arguments,
        selection: field.selections.to_string(),
        directives,
        variable_definitions: kept.join(", "),
        variables: values,
    })
}

/// A GraphQL value as JSON, variables replaced by their values (or their defaults).
fn json_value(
    value: &hive_router::query_planner::ast::value::Value,
    variables: &serde_json::Map<String, serde_json::Value>,
    default_of: &dyn Fn(&str) -> Option<serde_json::Value>,
) -> serde_json::Value {
    use hive_router::query_planner::ast::value::Value;
    use serde_json::Value as Json;
    match value {
        Value::Variable(name) => variables
            .get(name)
            .cloned()
            .or_else(|| default_of(name))
            .unwrap_or(Json::Null),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) | Value::Enum(s) => Json::String(s.clone()),
        Value::Boolean(b) => Json::Bool(*b),
        Value::Null => Json::Null,
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|v| json_value(v, variables, default_of))
                .collect(),
        ),
        Value::Object(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), json_value(v, variables, default_of)))
                .collect(),
        ),
    }
}

/// The engine's TLS stack panics without a process-wide rustls provider; install it once.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(hive_router::init_rustls_crypto_provider);
}

fn with_operation(mut response: Response, operation: Option<OperationType>) -> Response {
    response.operation = operation;
    response
}

fn from_ntex(response: NtexResponse, operation: Option<OperationType>) -> Response {
    let status = response.status().as_u16();
    let body = match response.body() {
        ResponseBody::Body(Body::Bytes(bytes)) => bytes.to_vec(),
        _ => Vec::new(),
    };
    Response {
        status,
        body: gql::rewrite_engine_codes(body, false),
        operation,
    }
}

fn from_pipeline_error(err: PipelineError, operation: Option<OperationType>) -> Response {
    let errors: Vec<GqlError> = match &err {
        PipelineError::Client(ClientPipelineError::ValidationErrors(list)) => list
            .iter()
            .map(|e| {
                let e: hive_router::GraphQLError = e.into();
                GqlError::from_engine(&e)
            })
            .collect(),
        PipelineError::Client(_) => vec![GqlError::from_engine_code(
            err.graphql_error_code(),
            err.graphql_error_message(),
        )],
        PipelineError::Internal(inner) => {
            tracing::error!(error = %inner, "federation engine error");
            vec![GqlError::internal()]
        }
    };
    Response {
        status: errors.first().map(|e| e.status).unwrap_or(400),
        body: gql::error_body(&errors),
        operation,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> HiveRouterConfig {
        let subgraphs = [Subgraph {
            name: "ticket_service",
            url: "http://127.0.0.1:4001/graphql".into(),
        }];
        // The configuration checks that the supergraph file exists.
        let path = std::env::temp_dir().join(format!("supergraph-{}.graphql", std::process::id()));
        std::fs::write(&path, crate::SUPERGRAPH).unwrap();
        let config = router_config(
            &path,
            &subgraphs,
            Duration::from_secs(10),
            Limits::default(),
        );
        std::fs::remove_file(&path).unwrap();
        config.unwrap()
    }

    #[test]
    fn the_engine_reports_nothing_outside_the_process() {
        let telemetry = config().telemetry;
        let hive = telemetry.hive.as_ref();
        assert!(
            hive.is_none_or(|h| !h.usage_reporting.enabled),
            "usage reporting to Hive Console is on"
        );
        assert!(!telemetry.is_tracing_enabled(), "trace export is on");
        assert!(!telemetry.is_metrics_enabled(), "metrics export is on");
    }
}
