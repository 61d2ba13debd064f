//! The federation engine: Hive Router's pipeline (parse, validate, normalize, plan, execute),
//! embedded as a library and driven by our HTTP layer, which has already decided who the
//! caller is. Plans, parsed and normalized operations are cached by the engine.

/// The engine's answers, and the pipeline's errors mapped to the contract's codes.
mod answer;
/// The engine's thread, and loading the supergraph.
mod boot;
/// The router configuration and the supergraph file.
mod config;
/// The request pipeline.
mod pipeline;
/// The gateway's own rules on an operation.
mod policy;
/// Subscriptions taken apart.
mod subscription;

use crate::config::Subgraph;
use crate::gql::GqlError;
use crate::limits::Limits;
use hive_router::{
    config::HiveRouterConfig, executor::plugins::hooks::on_graphql_params::GraphQLParams,
    http::Method, telemetry::TelemetryContext,
};
use pipeline::Pipeline;
use std::{
    path::Path,
    sync::{Arc, atomic::AtomicU64},
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

/// Whether a request carries a query at all (the transports refuse one that does not before
/// it reaches the engine).
pub fn has_query(params: &GraphQLParams) -> bool {
    params
        .query
        .as_deref()
        .is_some_and(|q| !q.trim().is_empty())
}

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
#[derive(Clone)]
pub struct Engine {
    pipeline: Arc<Pipeline>,
    // Dropping the last clone stops the engine's background thread.
    _stop: Arc<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
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
        config::install_crypto_provider();
        let path = config::write_supergraph(supergraph_sdl, work_dir)?;
        let config: &'static HiveRouterConfig =
            match config::router_config(&path, subgraphs, timeout, limits) {
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
        let (ready, stop) = boot::spawn(config, telemetry)?;
        let loaded = ready
            .await
            .map_err(|_| EngineError::Init("the engine thread stopped".into()));
        // Loaded once (no polling): the copy is not needed any more.
        let _ = std::fs::remove_file(&path);
        let boot::Loaded { shared, supergraph } = loaded??;
        let pipeline = Pipeline {
            shared,
            supergraph,
            limits,
            changes: Arc::new(AtomicU64::new(0)),
        };
        Ok(Self {
            pipeline: Arc::new(pipeline),
            _stop: Arc::new(stop),
        })
    }

    /// Tells the engine that data may have changed (an event on the stream, from a write by
    /// another replica or a worker): requests from now on never share a subgraph call with
    /// one that began before.
    pub fn changed(&self) {
        self.pipeline
            .changes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs one request through the pipeline.
    pub async fn execute(&self, request: Request) -> Response {
        self.pipeline.run(request).await
    }

    /// Checks a request sent to be subscribed to exactly as `execute` would (parse, validate,
    /// limits, the caller's checks, variables) without running it, and takes a subscription
    /// apart for the gateway to serve. `Err` is the response that refuses it.
    pub async fn prepare(&self, request: Request) -> Result<Prepared, Response> {
        self.pipeline.prepare(request).await
    }
}
