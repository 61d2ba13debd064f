//! The gateway's routes (HTTP.md): sign-in and sign-out, GraphQL over HTTP (POST and GET),
//! the live-updates websocket (`live::ws`), GraphiQL, export downloads, health, readiness,
//! metrics, and the web client (`web`) for every other path.

use crate::auth::{self, Login, LoginError};
use crate::config::{MetricsAccess, Subgraph};
use crate::engine::{self, Engine};
use crate::gql::{self, GqlError};
use crate::metrics::Metrics;
use crate::rate::RateLimits;
use crate::sessions::{self, SessionStore};
use crate::tokens::{ApiTokens, Bearer, TokenError};
use axum::{
    Json, Router,
    body::Body,
    body::Bytes,
    extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use common::{
    ErrorCode, Principal, Role, TokenMinter,
    config::Mode,
    nesting::{self, MAX_NESTING},
    server::{answers, readiness},
};
use db::sea_orm::{DatabaseConnection, EntityTrait};
use hive_router::executor::plugins::hooks::on_graphql_params::GraphQLParams;
use serde::Deserialize;
use serde_json::json;
use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest request body accepted (DESIGN.md: 2 MB).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The GraphQL-over-HTTP response media type.
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// How long a loaded principal (and the token minted for it) is reused before the user row is
/// read again: role changes and deactivation take effect within this time.
const PRINCIPAL_TTL: Duration = Duration::from_secs(5);

/// Everything the handlers share.
pub struct Gateway {
    /// The federation engine.
    pub engine: Engine,
    /// Where sessions live.
    pub sessions: SessionStore,
    /// Password sign-in.
    pub login: Login,
    /// The database (users, readiness).
    pub db: DatabaseConnection,
    /// Redis, when configured (readiness).
    pub redis: Option<redis::aio::ConnectionManager>,
    /// Mints the per-request tokens.
    pub minter: TokenMinter,
    /// Development or production.
    pub mode: Mode,
    /// Mark the cookie `Secure`.
    pub cookie_secure: bool,
    /// The subgraphs, for readiness.
    pub subgraphs: Vec<Subgraph>,
    /// For readiness probes of the subgraphs.
    pub client: reqwest::Client,
    /// `/metrics`.
    pub metrics: Metrics,
    /// Request rate limits per address and per user.
    pub rate: RateLimits,
    /// API tokens: bearer authentication, and the auth subgraph's store.
    pub tokens: Arc<ApiTokens>,
    /// `DATA_DIR`: finished exports are read from its `exports/` folder (shared with
    /// export-service when they run on different hosts).
    pub data_dir: PathBuf,
    /// Live updates: subscriptions over the websocket.
    pub live: Arc<crate::live::Hub>,
    /// Who may read `/metrics` on the public port.
    pub metrics_access: MetricsAccess,
    // Each user's principal, the token minted for it, their password's stamp, and when
    // they were loaded.
    principals: Mutex<HashMap<i64, (Principal, String, u64, Instant)>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Assembles the shared state.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        engine: Engine,
        sessions: SessionStore,
        login: Login,
        db: DatabaseConnection,
        redis: Option<redis::aio::ConnectionManager>,
        minter: TokenMinter,
        mode: Mode,
        cookie_secure: bool,
        subgraphs: Vec<Subgraph>,
        metrics: Metrics,
        rate: RateLimits,
        tokens: Arc<ApiTokens>,
        data_dir: PathBuf,
        live: Arc<crate::live::Hub>,
        metrics_access: MetricsAccess,
    ) -> Self {
        Self {
            engine,
            sessions,
            login,
            db,
            redis,
            minter,
            mode,
            cookie_secure,
            subgraphs,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
            metrics,
            rate,
            tokens,
            data_dir,
            live,
            metrics_access,
            principals: Mutex::new(HashMap::new()),
        }
    }
}

type AppState = Arc<Gateway>;

/// The Content-Security-Policy of every response that sets none of its own: scripts and
/// styles from this origin only (inline styles for the web client's components), no
/// plugins, no framing, forms and connections to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The security headers every response carries unless its route set its own (a route with
/// other needs, such as a playground loading its scripts, sets its own policy).
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// The gateway's routes.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/graphql", post(graphql_post).get(graphql_get_or_upgrade))
        .route("/graphiql", get(graphiql))
        .route("/exports/{file}", get(download))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(get(crate::web::serve))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    with_security_headers(routes)
}

/// `router` with `SECURITY_HEADERS` on every response that lacks them.
pub fn with_security_headers(mut router: Router) -> Router {
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
}

/// The routes of the metrics listener (`METRICS_ADDR`): `/metrics` for whoever reaches it.
pub fn metrics_router(state: AppState) -> Router {
    with_security_headers(
        Router::new()
            .route("/metrics", get(render_metrics))
            .with_state(state),
    )
}

/// The signed-in caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who is calling.
    pub principal: Principal,
    /// The per-request token minted for them, forwarded to the subgraphs.
    pub token: String,
}

/// The caller behind a bearer API token, and the token, whose checks every operation must
/// pass (`ApiTokens::authorize`).
#[derive(Debug, Clone)]
pub struct TokenCaller {
    /// The token's user, as the subgraphs will see them.
    pub caller: Caller,
    /// The token.
    pub bearer: Arc<Bearer>,
}

enum Auth {
    /// No credentials, or a session cookie that no longer opens a session (`stale`: the
    /// response clears it). Signed-out callers get `me: null` and UNAUTHENTICATED for the
    /// rest, which is how a client learns that its session ended.
    Anonymous {
        /// A session cookie came with the request but its session is over.
        stale: bool,
    },
    /// A live session.
    Session(Caller),
    /// A valid API token.
    Token(TokenCaller),
}

impl From<TokenError> for GqlError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Forbidden(message) => GqlError::new(200, ErrorCode::Forbidden, message),
            TokenError::Unavailable(cause) => {
                tracing::error!(%cause, "reading an API token");
                GqlError::new(
                    503,
                    ErrorCode::Unavailable,
                    "the database is unavailable; try again",
                )
            }
            other => GqlError::new(401, ErrorCode::Unauthenticated, other.to_string()),
        }
    }
}

/// The session cookie's value, if the request has one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == sessions::COOKIE && !value.is_empty()).then_some(value)
        })
}

fn error_response(status: u16, errors: &[GqlError], retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        gql::error_body(errors),
    )
        .into_response();
    if let Some(secs) = retry_after
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `Retry-After` of a 503 UNAVAILABLE: outages the platform rides out are seconds long.
const RETRY_UNAVAILABLE_SECS: u64 = 1;

fn gql_error(err: GqlError) -> Response {
    let retry = err
        .extra
        .as_ref()
        .filter(|(k, _)| *k == "retryAfter")
        .and_then(|(_, v)| v.as_u64())
        .or((err.status == 503).then_some(RETRY_UNAVAILABLE_SECS));
    error_response(err.status, &[err], retry)
}

impl Gateway {
    /// Resolves the request's credentials. A bearer token that is not valid is refused;
    /// a session cookie whose session ended (logout, expiry, deactivation) leaves the caller
    /// signed out.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Auth, GqlError> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let value = value.to_str().unwrap_or_default();
            return Ok(Auth::Token(self.bearer(value).await?));
        }
        let Some(id) = session_cookie(headers) else {
            return Ok(Auth::Anonymous { stale: false });
        };
        Ok(match self.session_caller(id).await? {
            Some(caller) => Auth::Session(caller),
            None => Auth::Anonymous { stale: true },
        })
    }

    /// The caller of the live session `id`; `None` when it ended (logout, expiry, the
    /// account's deactivation or a new password, which end the session too).
    pub(crate) async fn session_caller(&self, id: &str) -> Result<Option<Caller>, GqlError> {
        let session = self.sessions.get(id).await.map_err(|err| {
            tracing::error!(%err, "session store");
            GqlError::new(
                503,
                ErrorCode::Unavailable,
                "sessions are unavailable; try again",
            )
        })?;
        match session {
            Some(session) => self.session_holds(id, &session).await,
            None => Ok(None),
        }
    }

    /// The caller of `session` (whose id is `id`) while it holds: its user is active and
    /// still has the password the session was opened with. A session that no longer holds
    /// is deleted.
    pub(crate) async fn session_holds(
        &self,
        id: &str,
        session: &sessions::Session,
    ) -> Result<Option<Caller>, GqlError> {
        let mut found = self.caller_stamped(session.user_id).await?;
        if let (Some((_, stamp)), Some(expected)) = (&found, session.password)
            && *stamp != expected
        {
            // A cached stamp may predate the session's own (it was re-stamped on another
            // replica): only the database's word ends a session.
            self.forget(session.user_id);
            found = self
                .caller_stamped(session.user_id)
                .await?
                .filter(|(_, stamp)| *stamp == expected);
        }
        let caller = found.map(|(caller, _)| caller);
        if caller.is_none() {
            let _ = self.sessions.delete(id).await;
        }
        Ok(caller)
    }

    /// After a user changed their own password in session `id`: that session goes on with
    /// the new password while every other session of theirs ends.
    async fn restamp(&self, id: &str, user_id: i64) {
        self.forget(user_id);
        match self.caller_stamped(user_id).await {
            Ok(Some((_, stamp))) => {
                if let Err(err) = self.sessions.restamp(id, stamp).await {
                    tracing::warn!(%err, "keeping the session after a password change");
                }
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err.message, "keeping the session after a password change");
            }
        }
    }

    /// The caller behind an `Authorization` value (`Bearer <API token>`); UNAUTHENTICATED
    /// (401) for anything that is not a valid token of an active user. Every way in that
    /// takes a token (`/graphql`, the websocket's `connection_init`, downloads) goes through
    /// here; each then asks `ApiTokens` what the token allows.
    pub async fn bearer(&self, authorization: &str) -> Result<TokenCaller, GqlError> {
        let token = authorization
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                GqlError::new(
                    401,
                    ErrorCode::Unauthenticated,
                    "expected `Authorization: Bearer <API token>`",
                )
            })?;
        let bearer = self.tokens.authenticate(token).await?;
        let caller = self
            .caller(bearer.user_id)
            .await?
            .ok_or_else(|| GqlError::from(TokenError::Inactive))?;
        Ok(TokenCaller {
            caller,
            bearer: Arc::new(bearer),
        })
    }

    /// The active user `user_id` with a token minted for them (cached for `PRINCIPAL_TTL`);
    /// `None` for a deactivated or unknown account.
    pub(crate) async fn caller(&self, user_id: i64) -> Result<Option<Caller>, GqlError> {
        Ok(self
            .caller_stamped(user_id)
            .await?
            .map(|(caller, _)| caller))
    }

    /// `caller`, with the stamp of the user's password (`auth::password_stamp`).
    async fn caller_stamped(&self, user_id: i64) -> Result<Option<(Caller, u64)>, GqlError> {
        if let Ok(cache) = self.principals.lock()
            && let Some((principal, token, stamp, at)) = cache.get(&user_id)
            && at.elapsed() < PRINCIPAL_TTL
        {
            let caller = Caller {
                principal: principal.clone(),
                token: token.clone(),
            };
            return Ok(Some((caller, *stamp)));
        }
        let principal = auth::principal(&self.db, user_id).await.map_err(|err| {
            tracing::error!(%err, "loading the caller");
            GqlError::new(
                503,
                ErrorCode::Unavailable,
                "the database is unavailable; try again",
            )
        })?;
        let Some((principal, stamp)) = principal else {
            if let Ok(mut cache) = self.principals.lock() {
                cache.remove(&user_id);
            }
            return Ok(None);
        };
        let token = self.mint(&principal)?;
        if let Ok(mut cache) = self.principals.lock() {
            if cache.len() > 10_000 {
                cache.retain(|_, (_, _, _, at)| at.elapsed() < PRINCIPAL_TTL);
            }
            cache.insert(
                user_id,
                (principal.clone(), token.clone(), stamp, Instant::now()),
            );
        }
        Ok(Some((Caller { principal, token }, stamp)))
    }

    /// The engine check of an API token's scopes (and of any block its holder added), run on
    /// every operation the token sends.
    pub(crate) fn scopes(&self, bearer: &Arc<Bearer>) -> engine::Authorize {
        let tokens = self.tokens.clone();
        let bearer = bearer.clone();
        Box::new(move |operation: &engine::Operation<'_>| {
            tokens.authorize(&bearer, operation).map_err(GqlError::from)
        })
    }

    /// Whether `principal` may introspect the schema: administrators, and anyone signed in
    /// during development.
    pub(crate) fn may_introspect(&self, principal: &Principal) -> bool {
        self.mode == Mode::Development || principal.has_role(Role::Admin)
    }

    fn mint(&self, principal: &Principal) -> Result<String, GqlError> {
        self.minter.mint(principal).map_err(|err| {
            tracing::error!(%err, "minting a token");
            GqlError::internal()
        })
    }

    fn forget(&self, user_id: i64) {
        if let Ok(mut cache) = self.principals.lock() {
            cache.remove(&user_id);
        }
    }
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

fn cookie(value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut cookie = format!(
        "{}={value}; HttpOnly; SameSite=Lax; Path=/",
        sessions::COOKIE
    );
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

fn auth_error(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code.as_str(), "message": message}})),
    )
        .into_response()
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = same_site_json(&headers, "POST /auth/login") {
        return refused;
    }
    if let Err(err) = nesting::check_json(&body, MAX_NESTING) {
        return auth_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            &err.to_string(),
        );
    }
    let Ok(LoginBody { email, password }) = serde_json::from_slice::<LoginBody>(&body) else {
        return auth_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "expected a JSON body {\"email\": \"...\", \"password\": \"...\"}",
        );
    };
    let address = peer.ip().to_string();
    let outcome = state
        .login
        .sign_in(&state.sessions, &email, &password, &address)
        .await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(LoginError::Invalid) => "invalid",
        Err(LoginError::Locked(_)) => "locked",
        Err(LoginError::Unavailable(_)) => "unavailable",
    };
    state.metrics.logins.with_label_values(&[label]).inc();
    match outcome {
        Ok(signed_in) => {
            let user = &signed_in.user;
            state.forget(user.id);
            let secure = state.cookie_secure
                || headers
                    .get("x-forwarded-proto")
                    .is_some_and(|v| v.as_bytes() == b"https");
            let roles: Vec<&str> = user.role_list().iter().map(|r| r.as_str()).collect();
            let mut response = Json(json!({"user": {
                "id": user.id.to_string(),
                "email": user.email,
                "name": user.name,
                "roles": roles,
            }}))
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie(&signed_in.session_id, None, secure)) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(LoginError::Invalid) => auth_error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "invalid email or password",
        ),
        Err(LoginError::Locked(secs)) => {
            let mut response = auth_error(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                &format!("too many failed sign-ins; try again in {secs} seconds"),
            );
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(LoginError::Unavailable(err)) => {
            tracing::error!(%err, "sign-in");
            auth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "sign-in is unavailable; try again",
            )
        }
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // The web client sends no body; a forged cross-site form always has one.
    if headers.contains_key(header::CONTENT_TYPE)
        && let Err(refused) = same_site_json(&headers, "POST /auth/logout")
    {
        return refused;
    }
    if !same_origin(&headers) {
        return cross_origin();
    }
    if let Some(id) = session_cookie(&headers) {
        if let Ok(Some(session)) = state.sessions.get(id).await {
            state.forget(session.user_id);
        }
        if let Err(err) = state.sessions.delete(id).await {
            tracing::error!(%err, "logout");
            return auth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "sign-out is unavailable; try again",
            );
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie("", Some(0), state.cookie_secure)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Refuses what a page on another site could make a browser send: a body that is not JSON
/// (HTML forms and `fetch` without a CORS preflight can only send form encodings and
/// `text/plain`) with 415, and an `Origin` other than this host with 403. Sign-in and
/// sign-out go through here, so no other site can sign a visitor in or out.
#[allow(clippy::result_large_err)]
fn same_site_json(headers: &HeaderMap, route: &str) -> Result<(), Response> {
    if !is_json(headers) {
        return Err(auth_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            &format!("{route} takes Content-Type: application/json"),
        ));
    }
    if !same_origin(headers) {
        return Err(cross_origin());
    }
    Ok(())
}

fn cross_origin() -> Response {
    auth_error(
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
        "requests from another site are refused",
    )
}

/// Whether the request's `Origin`, if any, is the host it was sent to (a browser always
/// sends `Origin` with a cross-site POST or websocket).
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

/// 400 BAD_USER_INPUT for JSON nested deeper than `MAX_NESTING`, checked before it is parsed.
fn shallow(json: &[u8], what: &str) -> Result<(), GqlError> {
    nesting::check_json(json, MAX_NESTING)
        .map_err(|err| GqlError::bad_request(format!("{what}: {err}")))
}

fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(GRAPHQL_RESPONSE))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

async fn graphql_post(
    State(state): State<AppState>,
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
        Ok(params)
            if params
                .query
                .as_deref()
                .is_some_and(|q| !q.trim().is_empty()) =>
        {
            params
        }
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

/// `GET /graphql`: a websocket upgrade for subscriptions (`live::ws`), else a query.
async fn graphql_get_or_upgrade(
    State(state): State<AppState>,
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
            Ok(ws) => crate::live::ws::upgrade(state.clone(), &parts.headers, ws),
            Err(rejection) => rejection.into_response(),
        };
    }
    let query = Query::<GetParams>::try_from_uri(&parts.uri);
    graphql_get(state, peer, parts.headers, query).await
}

async fn graphql_get(
    state: AppState,
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
    let auth = match state.authenticate(headers).await {
        Ok(auth) => auth,
        Err(err) => return gql_error(err),
    };
    let (caller, authorize) = match &auth {
        Auth::Session(caller) => (Some(caller), None),
        Auth::Token(TokenCaller { caller, bearer }) => (Some(caller), Some(state.scopes(bearer))),
        Auth::Anonymous { .. } => (None, None),
    };
    let (token, allow_introspection) = match caller {
        Some(caller) => {
            if let Some(user_id) = caller.principal.user_id
                && let Err(wait) = state.rate.check_user(user_id)
            {
                return gql_error(GqlError::rate_limited(wait));
            }
            (
                caller.token.clone(),
                state.may_introspect(&caller.principal),
            )
        }
        None => match state.mint(&Principal::anonymous()) {
            Ok(token) => (token, false),
            Err(err) => return gql_error(err),
        },
    };
    // An administrator changing their own password keeps the session they did it in.
    let may_change_password = params
        .query
        .as_deref()
        .is_some_and(|q| q.contains("updateUser"));
    let response = state
        .engine
        .execute(engine::Request {
            params,
            method,
            token,
            allow_introspection,
            authorize,
            fresh: false,
        })
        .await;
    if may_change_password
        && response.operation == Some(engine::OperationType::Mutation)
        && let Auth::Session(caller) = &auth
        && let (Some(id), Some(user_id)) = (session_cookie(headers), caller.principal.user_id)
    {
        state.restamp(id, user_id).await;
    }
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
    state
        .metrics
        .requests
        .with_label_values(&[operation, &status.to_string()])
        .inc();
    state
        .metrics
        .latency
        .with_label_values(&[operation])
        .observe(started.elapsed().as_secs_f64());
    let content_type = if graphql_response {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    };
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, content_type)],
        response.body,
    )
        .into_response();
    if unavailable {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(RETRY_UNAVAILABLE_SECS),
        );
    }
    if matches!(auth, Auth::Anonymous { stale: true })
        && let Ok(value) = HeaderValue::from_str(&cookie("", Some(0), state.cookie_secure))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `GET /graphiql`: the playground from the embedded bundle (never a CDN), for ADMIN, or
/// anyone signed in in development mode; a 403 page for others, `/` when not signed in.
async fn graphiql(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let principal = match state.authenticate(&headers).await {
        Ok(Auth::Session(caller)) => caller.principal,
        Ok(Auth::Anonymous { .. } | Auth::Token(_)) | Err(_) => {
            return Redirect::to("/").into_response();
        }
    };
    if !(state.mode == Mode::Development || principal.has_role(Role::Admin)) {
        return (
            StatusCode::FORBIDDEN,
            Html("<!doctype html><title>Forbidden</title><h1>Forbidden</h1><p>The GraphQL playground is for administrators.</p><p><a href=\"/\">Back</a></p>"),
        )
            .into_response();
    }
    crate::web::graphiql(&headers)
}

/// `GET /exports/{id}.csv`: the finished file of an export, streamed from disk in chunks
/// (never read whole), to its requester or a role that sees every ticket. Anyone else, a job
/// that is not DONE, an expired one, or no job at all: the same 404.
async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such export").into_response();
    let Some(id) = file
        .strip_suffix(".csv")
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return not_found();
    };
    let principal = match state.authenticate(&headers).await {
        Ok(Auth::Session(caller)) => caller.principal,
        // An API token downloads with the EXPORTS scope (and whatever its holder added).
        Ok(Auth::Token(TokenCaller { caller, bearer })) => {
            match state.tokens.authorize_download(&bearer) {
                Ok(()) => caller.principal,
                Err(TokenError::Forbidden(_)) => {
                    return (
                        StatusCode::FORBIDDEN,
                        "downloading an export needs an API token with the EXPORTS scope",
                    )
                        .into_response();
                }
                Err(err) => return gql_error(err.into()),
            }
        }
        Ok(Auth::Anonymous { .. }) => return not_found(),
        Err(err) => return gql_error(err),
    };
    let job = match db::entity::export_job::Entity::find_by_id(id)
        .one(&state.db)
        .await
    {
        Ok(job) => job,
        Err(err) => {
            tracing::error!(%err, "loading an export job");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable",
            )
                .into_response();
        }
    };
    let Some(job) = job
        .filter(|job| job.downloadable() && common::export::may_read(&principal, job.requested_by))
    else {
        return not_found();
    };
    let path = common::export::file(&state.data_dir, job.id);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(err) => {
            // DONE but gone: removed by hand, or DATA_DIR is not shared with export-service.
            tracing::warn!(%err, path = %path.display(), "an export's file is missing");
            return not_found();
        }
    };
    let length = file.metadata().await.map(|m| m.len()).ok();
    let mut response =
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024))
            .into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"tessera-export-{}.csv\"",
        job.id
    )) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Some(length) = length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}

/// The health URL of a subgraph: its GraphQL URL with `/graphql` replaced by `/healthz`.
fn health_url(graphql_url: &str) -> String {
    match graphql_url.strip_suffix("/graphql") {
        Some(base) => format!("{base}/healthz"),
        None => format!("{}/healthz", graphql_url.trim_end_matches('/')),
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    // Every dependency at once, each given `READY_TIMEOUT`: the answer never waits on a
    // dead one.
    let database = answers("database", state.db.ping());
    let redis = async { state.redis.is_none() || answers("redis", state.sessions.ping()).await };
    let probes = futures::future::join_all(state.subgraphs.iter().map(|subgraph| {
        let client = state.client.clone();
        let url = health_url(&subgraph.url);
        async move {
            let probe = async {
                client
                    .get(&url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
            };
            (subgraph.name, answers(subgraph.name, probe).await)
        }
    }));
    let (database, redis, probes) = tokio::join!(database, redis, probes);
    let mut down: Vec<String> = Vec::new();
    if !database {
        down.push("database".into());
    }
    if !redis {
        down.push("redis".into());
    }
    down.extend(
        probes
            .into_iter()
            .filter(|(_, ok)| !ok)
            .map(|(name, _)| name.to_string()),
    );
    readiness(down)
}

/// `/metrics` on the public port: to anyone only when open (development without
/// `METRICS_TOKEN` or `METRICS_ADDR`), to `Authorization: Bearer <METRICS_TOKEN>` when a
/// token is set, and 404 otherwise (production without a token: scrape `METRICS_ADDR`).
async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(wait) = state.rate.check_address(peer.ip()) {
        return gql_error(GqlError::rate_limited(wait));
    }
    let access = &state.metrics_access;
    match &access.token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if !same_secret(given, token) {
                let mut response =
                    (StatusCode::UNAUTHORIZED, "metrics need the bearer token\n").into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
        }
        None if !access.open => return (StatusCode::NOT_FOUND, "not found\n").into_response(),
        None => {}
    }
    render_metrics(State(state)).await
}

/// Compares two secrets in time that depends only on their lengths.
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::Digest;
    // Hashing first makes the comparison's length fixed.
    let (a, b) = (sha2::Sha256::digest(given), sha2::Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

async fn render_metrics(State(state): State<AppState>) -> Response {
    if let Err(err) = state.metrics.refresh(&state.db).await {
        // The request metrics still answer; the database ones keep their last value.
        tracing::warn!(%err, "metrics: the database did not answer");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
