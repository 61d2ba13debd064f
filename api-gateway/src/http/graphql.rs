//! GraphQL over HTTP: `POST /graphql`, `GET /graphql` (a query in the URL, or the websocket
//! upgrade for live updates), and the GraphiQL playground at `GET /graphiql`.

use super::guard::{is_json, shallow};
use super::reply::{RETRY_UNAVAILABLE_SECS, error_response, gql_error, set_cookie};
use crate::engine::{self, OperationType};
use crate::gql::{self, GqlError};
use crate::identity::{Auth, TokenCaller, session_cookie};
use crate::state::Gateway;
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use common::{ErrorCode, Principal};
use hive_router::executor::plugins::hooks::on_graphql_params::GraphQLParams;
use serde::Deserialize;
use std::{net::SocketAddr, sync::Arc, time::Instant};

/// The GraphQL-over-HTTP response media type.
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// `POST /graphql`.
pub(super) async fn graphql_post(
    State(state): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Only JSON bodies: a browser cannot send them cross-site without a CORS preflight, so a
    // cookie-authenticated request can never be a forged form post (HTTP.md's CSRF rule).
    if !is_json(&headers) {
        return error_response(
            415,
            &[GqlError::new(
                415,
                ErrorCode::BadUserInput,
                "POST /graphql takes Content-Type: application/json",
            )],
            None,
        );
    }
    if let Err(err) = shallow(&body, "the body") {
        return gql_error(err);
    }
    let params = match hive_router::sonic_rs::from_slice::<GraphQLParams>(&body) {
        Ok(params) if engine::has_query(&params) => params,
        Ok(_) => return gql_error(GqlError::bad_request("the request has no `query`")),
        Err(_) => {
            return gql_error(GqlError::bad_request(
                "the body is not a GraphQL request: expected JSON {\"query\": ..., \"variables\": ...}",
            ));
        }
    };
    run(&state, peer, &headers, Method::POST, params).await
}

#[derive(Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// `GET /graphql`: a websocket upgrade for subscriptions (`live::connection`), else a query.
pub(super) async fn graphql_get_or_upgrade(
    State(state): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    let upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        if let Err(wait) = state.rate.check_address(peer.ip()) {
            return gql_error(GqlError::rate_limited(wait));
        }
        use axum::extract::FromRequestParts;
        return match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &state)
            .await
        {
            Ok(ws) => crate::live::connection::upgrade(state.live.clone(), &parts.headers, ws),
            Err(rejection) => rejection.into_response(),
        };
    }
    let query = Query::<GetParams>::try_from_uri(&parts.uri);
    graphql_get(state, peer, parts.headers, query).await
}

async fn graphql_get(
    state: Arc<Gateway>,
    peer: SocketAddr,
    headers: HeaderMap,
    query: Result<Query<GetParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(get)) = query else {
        return gql_error(GqlError::bad_request(
            "the query string is not a GraphQL request",
        ));
    };
    let Some(text) = get.query.filter(|q| !q.trim().is_empty()) else {
        return gql_error(GqlError::bad_request("the request has no `query`"));
    };
    let mut params = GraphQLParams {
        query: Some(text),
        operation_name: get.operation_name.filter(|n| !n.is_empty()),
        ..Default::default()
    };
    if let Some(raw) = get.variables.filter(|v| !v.trim().is_empty()) {
        if let Err(err) = shallow(raw.as_bytes(), "`variables`") {
            return gql_error(err);
        }
        match hive_router::sonic_rs::from_str(&raw) {
            Ok(variables) => params.variables = variables,
            Err(_) => return gql_error(GqlError::bad_request("`variables` is not a JSON object")),
        }
    }
    if let Some(raw) = get.extensions.filter(|v| !v.trim().is_empty()) {
        if let Err(err) = shallow(raw.as_bytes(), "`extensions`") {
            return gql_error(err);
        }
        match hive_router::sonic_rs::from_str(&raw) {
            Ok(extensions) => params.extensions = Some(extensions),
            Err(_) => {
                return gql_error(GqlError::bad_request("`extensions` is not a JSON object"));
            }
        }
    }
    run(&state, peer, &headers, Method::GET, params).await
}

/// Runs one GraphQL request for its caller, and answers it.
async fn run(
    state: &Gateway,
    peer: SocketAddr,
    headers: &HeaderMap,
    method: Method,
    params: GraphQLParams,
) -> Response {
    let started = Instant::now();
    if let Err(wait) = state.rate.check_address(peer.ip()) {
        return gql_error(GqlError::rate_limited(wait));
    }
    let auth = match state.identity.authenticate(headers).await {
        Ok(auth) => auth,
        Err(err) => return gql_error(err),
    };
    let request = match engine_request(state, &auth, method, params) {
        Ok(request) => request,
        Err(err) => return gql_error(err),
    };
    // An administrator changing their own password keeps the session they did it in.
    let may_change_password = request
        .params
        .query
        .as_deref()
        .is_some_and(|q| q.contains("updateUser"));
    let response = state.engine.execute(request).await;
    if may_change_password
        && response.operation == Some(OperationType::Mutation)
        && let Auth::Session(caller) = &auth
        && let (Some(id), Some(user_id)) = (session_cookie(headers), caller.principal.user_id)
    {
        state.identity.restamp(id, user_id).await;
    }
    answer(state, headers, &auth, response, started)
}

/// The engine request for the caller: their token (an anonymous one's when signed out), what
/// they may introspect, and an API token's checks; a signed-in caller's request counts
/// against their rate.
fn engine_request(
    state: &Gateway,
    auth: &Auth,
    method: Method,
    params: GraphQLParams,
) -> Result<engine::Request, GqlError> {
    let identity = &state.identity;
    let (caller, authorize) = match auth {
        Auth::Session(caller) => (Some(caller), None),
        Auth::Token(TokenCaller { caller, bearer }) => {
            (Some(caller), Some(identity.scopes(bearer)))
        }
        Auth::Anonymous { .. } => (None, None),
    };
    let (token, allow_introspection) = match caller {
        Some(caller) => {
            if let Some(user_id) = caller.principal.user_id
                && let Err(wait) = state.rate.check_user(user_id)
            {
                return Err(GqlError::rate_limited(wait));
            }
            (
                caller.token.clone(),
                identity.may_introspect(&caller.principal),
            )
        }
        None => (identity.mint(&Principal::anonymous())?, false),
    };
    Ok(engine::Request {
        params,
        method,
        token,
        allow_introspection,
        authorize,
        fresh: false,
    })
}

/// The HTTP answer to an executed request, counted in the metrics.
fn answer(
    state: &Gateway,
    headers: &HeaderMap,
    auth: &Auth,
    response: engine::Response,
    started: Instant,
) -> Response {
    let operation = response.operation.map(|o| o.as_str()).unwrap_or("unknown");
    let graphql_response = wants_graphql_response(headers);
    // With `application/json` every well-formed request is answered 200 (GraphQL over HTTP);
    // only requests the gateway refused as sent keep their 4xx. UNAVAILABLE is always 503,
    // whichever dependency was down (the body still carries whatever data did resolve).
    let unavailable = gql::is_unavailable(&response.body);
    let status = if unavailable {
        503
    } else if graphql_response
        || matches!(response.status, 401 | 405 | 413 | 415 | 429)
        || response.status >= 500
    {
        response.status
    } else {
        200
    };
    let metrics = &state.metrics;
    metrics
        .requests
        .with_label_values(&[operation, &status.to_string()])
        .inc();
    metrics
        .latency
        .with_label_values(&[operation])
        .observe(started.elapsed().as_secs_f64());
    let content_type = if graphql_response {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    };
    let mut answer = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, content_type)],
        response.body,
    )
        .into_response();
    if unavailable {
        answer.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(RETRY_UNAVAILABLE_SECS),
        );
    }
    if matches!(auth, Auth::Anonymous { stale: true }) {
        set_cookie(&mut answer, "", Some(0), state.policy.cookie_secure);
    }
    answer
}

fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(GRAPHQL_RESPONSE))
}

/// `GET /graphiql`: the playground from the embedded bundle (never a CDN), for ADMIN, or
/// anyone signed in in development mode; a 403 page for others, `/` when not signed in.
pub(super) async fn graphiql(State(state): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let principal = match state.identity.authenticate(&headers).await {
        Ok(Auth::Session(caller)) => caller.principal,
        Ok(Auth::Anonymous { .. } | Auth::Token(_)) | Err(_) => {
            return Redirect::to("/").into_response();
        }
    };
    // Whoever may introspect the schema may use the playground.
    if !state.identity.may_introspect(&principal) {
        return (
            StatusCode::FORBIDDEN,
            Html("<!doctype html><title>Forbidden</title><h1>Forbidden</h1><p>The GraphQL playground is for administrators.</p><p><a href=\"/\">Back</a></p>"),
        )
            .into_response();
    }
    crate::web::graphiql(&headers)
}
