//! Health and readiness: `GET /healthz` (the process answers) and `GET /readyz` (every
//! dependency answers: the database, Redis when configured, and each subgraph).

use crate::state::Gateway;
use axum::{extract::State, response::Response};
use common::server::{answers, readiness};
use std::sync::Arc;

/// `GET /healthz`.
pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// The health URL of a subgraph: its GraphQL URL with `/graphql` replaced by `/healthz`.
fn health_url(graphql_url: &str) -> String {
    match graphql_url.strip_suffix("/graphql") {
        Some(base) => format!("{base}/healthz"),
        None => format!("{}/healthz", graphql_url.trim_end_matches('/')),
    }
}

/// `GET /readyz`.
pub(super) async fn readyz(State(state): State<Arc<Gateway>>) -> Response {
    // Every dependency at once, each given `READY_TIMEOUT`: the answer never waits on a
    // dead one.
    let backends = &state.backends;
    let database = answers("database", backends.db.ping());
    let redis = async { !backends.redis || answers("redis", state.identity.sessions.ping()).await };
    let probes = futures::future::join_all(backends.subgraphs.iter().map(|subgraph| {
        let client = backends.client.clone();
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
