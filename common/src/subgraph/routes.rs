//! The HTTP face every subgraph shares: `POST /graphql` for requests carrying a
//! gateway-signed token (anything else is 401), `/healthz`, and `/readyz` for those with a
//! database; every body at most `server::MAX_BODY` bytes (413) and shallow enough to parse.

use super::schema::SubgraphSchema;
use crate::{
    Principal, TokenVerifier,
    config::SubgraphSettings,
    server::{self, Server, answers, gateway_caller, readiness},
};
use async_graphql::ObjectType;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use sea_orm::DatabaseConnection;
use std::{net::SocketAddr, sync::Arc};

/// Attaches what a subgraph's resolvers need per request (loaders) besides the caller.
type Prepare = dyn Fn(async_graphql::Request, &Principal) -> async_graphql::Request + Send + Sync;

/// A subgraph's routes, described before they are built: its schema and the gateway's
/// verifier, and optionally what each request gets, what follows a mutation and the
/// database `/readyz` checks.
pub struct Routes<Q, M> {
    schema: SubgraphSchema<Q, M>,
    verifier: TokenVerifier,
    prepare: Option<Box<Prepare>>,
    after_mutation: Option<fn()>,
    database: Option<DatabaseConnection>,
}

impl<Q, M> Routes<Q, M>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    /// `schema`, answering requests `verifier` accepts.
    pub fn new(schema: SubgraphSchema<Q, M>, verifier: TokenVerifier) -> Self {
        Self {
            schema,
            verifier,
            prepare: None,
            after_mutation: None,
            database: None,
        }
    }

    /// Each request also gets what `prepare` attaches (fresh loaders, usually).
    pub fn prepare(
        mut self,
        prepare: impl Fn(async_graphql::Request, &Principal) -> async_graphql::Request
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.prepare = Some(Box::new(prepare));
        self
    }

    /// `after` runs once a mutation has been answered (the gateway's subgraph requests name
    /// their kind first, `mutation(...){...}`).
    pub fn after_mutation(mut self, after: fn()) -> Self {
        self.after_mutation = Some(after);
        self
    }

    /// `/readyz` answers whether `db` does.
    pub fn ready_with(mut self, db: DatabaseConnection) -> Self {
        self.database = Some(db);
        self
    }

    /// The router, behind the body checks.
    pub fn into_router(self) -> Router {
        let mut routes = Router::new()
            .route("/graphql", post(graphql::<Q, M>))
            .route("/healthz", get(|| async { "ok" }));
        if self.database.is_some() {
            routes = routes.route("/readyz", get(readyz::<Q, M>));
        }
        let routes = routes.layer(DefaultBodyLimit::max(server::MAX_BODY));
        server::shallow_bodies(routes, server::MAX_BODY).with_state(Arc::new(self))
    }

    /// The router, bound to the subgraph's address and port, ready to run.
    pub async fn bind(self, settings: &SubgraphSettings) -> anyhow::Result<Server> {
        let addr = SocketAddr::new(settings.common.bind, settings.port);
        Server::bind(addr, self.into_router()).await
    }
}

async fn graphql<Q, M>(
    State(routes): State<Arc<Routes<Q, M>>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    let caller = match gateway_caller(&headers, &routes.verifier) {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let mut request = request.into_inner();
    let mutation = request.query.trim_start().starts_with("mutation");
    if let Some(prepare) = &routes.prepare {
        request = prepare(request, &caller);
    }
    let mut response = routes.schema.execute(request.data(caller)).await;
    for error in &mut response.errors {
        code_input_errors(error);
    }
    if mutation && let Some(after) = routes.after_mutation {
        after();
    }
    GraphQLResponse::from(response).into_response()
}

/// An argument or input field async-graphql could not read as its type (a `DateTime` that is
/// not RFC 3339, a number out of range) is the caller's mistake: BAD_USER_INPUT, as the
/// contract says, rather than an error with no code at all.
fn code_input_errors(error: &mut async_graphql::ServerError) {
    let unread = ["Failed to parse", "Invalid value for argument"]
        .iter()
        .any(|start| error.message.starts_with(start));
    let coded = error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some());
    if unread && !coded {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", crate::ErrorCode::BadUserInput.as_str());
    }
}

async fn readyz<Q, M>(State(routes): State<Arc<Routes<Q, M>>>) -> Response {
    let mut down = Vec::new();
    if let Some(db) = &routes.database
        && !answers("database", db.ping()).await
    {
        down.push("database".to_string());
    }
    readiness(down)
}
