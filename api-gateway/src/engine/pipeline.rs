//! The request pipeline: parse, validate, normalize, the gateway's own checks, variables
//! (`front`, shared by single operations and subscriptions), then plan and execute (`run`),
//! or take a subscription apart for the gateway to serve (`prepare`).
//!
//! The engine's selected-supergraph type lives in a private module of `hive-router`, so it
//! cannot be a field here: the calls that take it are closures over it (`Supergraph`), made
//! where it is loaded (`boot`).

use super::answer::{from_ntex, from_pipeline_error, with_operation};
use super::policy::{policy, root_fields};
use super::subscription::{json_variables, subscription};
use super::{Authorize, FRESH_HEADER, Operation, OperationType, Prepared, Request, Response};
use crate::gql::{self, GqlError};
use crate::limits::Limits;
use common::nesting::MAX_NESTING;
use futures::future::BoxFuture;
use hive_router::{
    RouterSharedState,
    executor::{
        execution::{
            client_request_details::{
                JwtRequestDetails, MutableClientRequestDetails, OperationDetails, PathParams,
            },
            plan::{CoerceVariablesPayload, QueryPlanExecutionResult},
        },
        plugins::hooks::{
            on_graphql_params::GraphQLParams, on_supergraph_load::SupergraphSnapshot,
        },
    },
    http::{Method, Uri},
    ntex::http::{
        HeaderMap as NtexHeaderMap, Response as NtexResponse,
        header::{AUTHORIZATION, HeaderName, HeaderValue},
    },
    pipeline::{
        coerce_variables::coerce_request_variables,
        error::PipelineError,
        normalize::GraphQLNormalizationPayload,
        parser::{GraphQLParserPayload, ParseResult, parse_operation_with_cache},
    },
    query_planner::state::supergraph_state::OperationKind,
};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

/// What `Analyse` answers: the normalized operation, or the engine's early answer
/// (validation errors).
type Analysis<'a> =
    BoxFuture<'a, Result<Result<Arc<GraphQLNormalizationPayload>, NtexResponse>, PipelineError>>;

/// Validation, then normalization.
type Analyse =
    dyn for<'a> Fn(&'a GraphQLParams, &'a GraphQLParserPayload) -> Analysis<'a> + Send + Sync;

/// What `Execute` answers.
type Executed = BoxFuture<'static, Result<QueryPlanExecutionResult, PipelineError>>;

/// Planning and execution of a checked request.
type Execute = dyn Fn(Execution, NtexHeaderMap, CoerceVariablesPayload) -> Executed + Send + Sync;

/// The calls that take the loaded supergraph.
pub(super) struct Supergraph {
    /// Its schema, for coercing variables.
    pub(super) snapshot: SupergraphSnapshot,
    /// Validates and normalizes a parsed operation.
    pub(super) analyse: Box<Analyse>,
    /// Plans and executes.
    pub(super) execute: Box<Execute>,
}

/// Gives a closure `Analyse`'s signature (a closure alone does not infer it).
pub(super) fn analyser<F>(f: F) -> Box<Analyse>
where
    F: for<'a> Fn(&'a GraphQLParams, &'a GraphQLParserPayload) -> Analysis<'a>
        + Send
        + Sync
        + 'static,
{
    Box::new(f)
}

/// Gives a closure `Execute`'s signature.
pub(super) fn executor<F>(f: F) -> Box<Execute>
where
    F: Fn(Execution, NtexHeaderMap, CoerceVariablesPayload) -> Executed + Send + Sync + 'static,
{
    Box::new(f)
}

/// A checked request on its way to execution.
pub(super) struct Execution {
    pub(super) params: GraphQLParams,
    pub(super) method: Method,
    pub(super) normalized: Arc<GraphQLNormalizationPayload>,
    /// The operation's kind, as the engine names it.
    kind: &'static str,
    query: String,
    uri: Uri,
}

impl Execution {
    /// The client request as the engine's execution sees it, with these headers.
    pub(super) fn details(&self, headers: NtexHeaderMap) -> MutableClientRequestDetails<'_> {
        MutableClientRequestDetails {
            method: &self.method,
            url: &self.uri,
            headers,
            operation: OperationDetails {
                name: self.normalized.operation_for_plan.name.as_deref(),
                kind: self.kind,
                query: &self.query,
            },
            jwt: Arc::new(JwtRequestDetails::Unauthenticated),
            path_params: PathParams::default(),
        }
    }
}

/// A request that passed every check before planning.
struct Front {
    params: GraphQLParams,
    method: Method,
    normalized: Arc<GraphQLNormalizationPayload>,
    variables: CoerceVariablesPayload,
    operation: OperationType,
}

/// The loaded engine's pipeline.
pub(super) struct Pipeline {
    pub(super) shared: Arc<RouterSharedState>,
    pub(super) supergraph: Supergraph,
    pub(super) limits: Limits,
    /// The changes seen so far: mutations run here, and events `Engine::changed` was told of.
    pub(super) changes: Arc<AtomicU64>,
}

impl Pipeline {
    /// Parse, validate, normalize and the gateway's own checks: everything before a request
    /// is planned, shared by single operations and subscriptions.
    async fn front(
        &self,
        mut params: GraphQLParams,
        method: Method,
        allow_introspection: bool,
        authorize: Option<Authorize>,
    ) -> Result<Front, Response> {
        // The parser recurses into selection sets and list and object values: a document
        // nested thousands deep must not reach it.
        if let Some(query) = &params.query
            && let Err(err) = common::nesting::check_graphql(query, MAX_NESTING)
        {
            return Err(Response::error(GqlError::too_complex(err.to_string())));
        }
        let parsed = match parse_operation_with_cache(&self.shared, &params, &None).await {
            Ok(ParseResult::Payload(parsed)) => parsed,
            Ok(ParseResult::EarlyResponse(response)) => return Err(from_ntex(response, None)),
            Err(err) => return Err(from_pipeline_error(err, None)),
        };
        let operation = match parsed.operation_type {
            OperationKind::Mutation => OperationType::Mutation,
            OperationKind::Subscription => OperationType::Subscription,
            OperationKind::Query => OperationType::Query,
        };
        let some = Some(operation);
        let normalized = match (self.supergraph.analyse)(&params, &parsed).await {
            Ok(Ok(normalized)) => normalized,
            Ok(Err(early)) => return Err(from_ntex(early, some)),
            Err(err) => return Err(from_pipeline_error(err, some)),
        };
        let introspects = normalized.operation_for_introspection.is_some();
        if let Some(authorize) = authorize {
            let fields = root_fields(&normalized.operation_for_plan.selection_set, introspects);
            let operation = Operation {
                kind: operation,
                fields,
            };
            if let Err(err) = authorize(&operation) {
                return Err(with_operation(Response::error(err), some));
            }
        }
        let plan = &normalized.operation_for_plan;
        if let Err(err) = policy(
            plan,
            introspects,
            &params,
            &method,
            allow_introspection,
            self.limits,
        ) {
            return Err(with_operation(Response::error(err), some));
        }
        // Coerced here for both paths: a subscription's bad variables are refused when it
        // starts, not at its first event.
        let variables = match coerce_request_variables(
            &self.supergraph.snapshot,
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
    }

    /// See `Engine::prepare`.
    pub(super) async fn prepare(&self, request: Request) -> Result<Prepared, Response> {
        // Coercion takes the variables out of the request: keep them first.
        let variables = json_variables(&request.params);
        let Front {
            normalized,
            operation,
            ..
        } = self
            .front(
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
    }

    /// See `Engine::execute`.
    pub(super) async fn run(&self, request: Request) -> Response {
        let (token, fresh) = (request.token, request.fresh);
        // Who may introspect (ADMIN, anyone in development) may also learn which subgraph an
        // error came from.
        let internals = request.allow_introspection;
        // Taken before anything runs: a change after this point may or may not be seen.
        let seen = if fresh {
            self.changes.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            self.changes.load(Ordering::SeqCst)
        };
        let front = self
            .front(
                request.params,
                request.method,
                request.allow_introspection,
                request.authorize,
            )
            .await;
        let front = match front {
            Ok(front) => front,
            Err(response) => return response,
        };
        let operation = Some(front.operation);
        if front.operation == OperationType::Subscription {
            // The gateway serves subscriptions itself, over its websocket (`live`).
            return with_operation(
                Response::error(GqlError::bad_request(
                    "subscriptions are served over a websocket at /graphql (graphql-transport-ws)",
                )),
                operation,
            );
        }
        let Some(headers) = subgraph_headers(&token, seen) else {
            return with_operation(Response::error(GqlError::internal()), operation);
        };
        let execution = Execution {
            query: front.params.query.clone().unwrap_or_default(),
            kind: front.operation.as_str(),
            params: front.params,
            method: front.method,
            normalized: front.normalized,
            uri: Uri::from_static("/graphql"),
        };
        let result = (self.supergraph.execute)(execution, headers, front.variables).await;
        if operation == Some(OperationType::Mutation) {
            // Whatever it did is done: later reads must not join earlier ones.
            self.changes.fetch_add(1, Ordering::SeqCst);
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
    }
}

/// The headers every subgraph call of a request carries: the gateway-minted token, and the
/// number of changes seen (`FRESH_HEADER`); `None` when the token is not a header value.
fn subgraph_headers(token: &str, seen: u64) -> Option<NtexHeaderMap> {
    let mut headers = NtexHeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    headers.insert(AUTHORIZATION, value);
    headers.insert(
        HeaderName::from_static(FRESH_HEADER),
        HeaderValue::from(seen),
    );
    Some(headers)
}
