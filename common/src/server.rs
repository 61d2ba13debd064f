//! What every service's HTTP side shares: binding the port, serving until the process is
//! interrupted, and, for subgraphs, the gateway-token check and the readiness answer.

use crate::{ErrorCode, Principal, TokenVerifier};
use anyhow::Context;
use axum::{
    Json, Router,
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::{IntoResponse, Response},
};
use serde_json::json;
use std::net::SocketAddr;

/// A bound, ready-to-run service.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("port", &self.port())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) for `router`.
    pub async fn bind(addr: SocketAddr, router: Router) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("PORT: cannot listen on {addr}"))?;
        Ok(Self { listener, router })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Serves until the process is interrupted; handlers can read the peer's address.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        use axum::serve::ListenerExt;
        // Small messages (GraphQL answers, live events) go out at once, not held back by
        // Nagle's algorithm waiting for the peer's delayed acknowledgement.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, "TCP_NODELAY");
            }
        });
        axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            // If the signal cannot be installed the service simply runs until killed.
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    }
}

/// The caller a subgraph request carries: the gateway-signed biscuit in `Authorization:
/// Bearer`, or a 401 response for anything else (subgraphs trust nothing but that token).
#[allow(clippy::result_large_err)]
pub fn gateway_caller(
    headers: &HeaderMap,
    verifier: &TokenVerifier,
) -> Result<Principal, Response> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let message = match token.map(|t| verifier.verify(t)) {
        Some(Ok(caller)) => return Ok(caller),
        Some(Err(err)) => {
            tracing::warn!(%err, "refused a token");
            "the gateway token is invalid or expired"
        }
        None => "this service only answers requests signed by the gateway",
    };
    let body = json!({"errors": [{
        "message": message,
        "extensions": {"code": ErrorCode::Unauthenticated.as_str()},
    }]});
    Err((StatusCode::UNAUTHORIZED, Json(body)).into_response())
}

/// `/readyz`: 200 `{"status":"ready"}`, or 503 naming what is down.
pub fn readiness(down: Vec<String>) -> Response {
    if down.is_empty() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "down": down})),
        )
            .into_response()
    }
}
