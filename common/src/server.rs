//! What every service's HTTP side shares: binding the port, serving until the process is
//! interrupted, and, for subgraphs, the gateway-token check and the readiness answer.

use crate::{ErrorCode, Principal, TokenVerifier, nesting};
use anyhow::Context;
use axum::{
    Json, Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    middleware::Next,
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
        // If the signal cannot be installed the service simply runs until killed.
        serve(self.listener, self.router, ctrl_c_or_never()).await
    }

    /// Serves on `threads` threads of its own (at least one), each with a single-threaded
    /// runtime that takes connections from the same port and serves each one start to end:
    /// a request's handling stays on the thread that accepted its connection, where on one
    /// multi-threaded runtime waking a task often wakes another thread too (what the handler
    /// calls, such as a connection pool shared by all threads, may still run elsewhere).
    /// Returns when the process is interrupted and every thread has finished its requests,
    /// or as soon as a thread fails.
    pub async fn run_on_threads(self, threads: usize) -> std::io::Result<()> {
        self.serve_on_threads(threads, |_| {}, ctrl_c_or_never())
            .await
    }

    /// `run_on_threads`, until `shutdown` completes; `on_thread(n)` runs first on the n-th
    /// thread, counting from 0 (tests).
    async fn serve_on_threads(
        self,
        threads: usize,
        on_thread: impl Fn(usize) + Clone + Send + 'static,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let listener = self.listener.into_std()?;
        let threads = threads.max(1);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
        for n in 0..threads {
            let (listener, router) = (listener.try_clone()?, self.router.clone());
            let (on_thread, mut stop, ended) =
                (on_thread.clone(), stop_rx.clone(), ended_tx.clone());
            let body = move || -> std::io::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                on_thread(n);
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    serve(listener, router, async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    })
                    .await
                })
            };
            std::thread::Builder::new()
                .name(format!("serve-{n}"))
                .spawn(move || {
                    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
                        .unwrap_or_else(|_| {
                            Err(std::io::Error::other(format!(
                                "serving thread {n} panicked"
                            )))
                        });
                    let _ = ended.send(served);
                })?;
        }
        drop(ended_tx);
        // Every thread sends one result when it ends; one that ends first ends them all.
        let lost = || Err(std::io::Error::other("a serving thread was lost"));
        let mut remaining = threads;
        let mut result = Ok(());
        let ended_early = tokio::select! {
            () = shutdown => None,
            served = ended.recv() => Some(served),
        };
        if let Some(served) = ended_early {
            remaining -= 1;
            result = served.unwrap_or_else(lost);
        }
        let _ = stop_tx.send(true);
        for _ in 0..remaining {
            result = result.and(ended.recv().await.unwrap_or_else(lost));
        }
        result
    }
}

/// Waits for Ctrl-C (SIGINT); forever if the signal cannot be installed.
async fn ctrl_c_or_never() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in
/// progress finish; handlers can read the peer's address.
async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Small messages (GraphQL answers, live events) go out at once, not held back by
    // Nagle's algorithm waiting for the peer's delayed acknowledgement.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
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
    Err(refused(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
        message,
    ))
}

/// The largest request body a subgraph takes (the gateway's own limit, which is what it
/// forwards at most).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// `router` behind a check of every request body: at most `max_body` bytes (413 otherwise)
/// and JSON nested at most `nesting::MAX_NESTING` deep (400 BAD_USER_INPUT otherwise), both
/// checked before any handler parses it. Every subgraph serves behind it: a body nested
/// thousands of levels deep would overflow the stack of whatever parses or drops it, and the
/// token check comes only after the body is parsed.
pub fn shallow_bodies<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    max_body: usize,
) -> Router<S> {
    router.layer(axum::middleware::from_fn_with_state(max_body, shallow_body))
}

async fn shallow_body(State(max_body): State<usize>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, max_body).await else {
        return refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadUserInput,
            &format!("the body is larger than {max_body} bytes"),
        );
    };
    if let Err(err) = nesting::check_json(&bytes, nesting::MAX_NESTING) {
        return refused(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            &err.to_string(),
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A GraphQL error body with `status`, for requests refused before they ran.
fn refused(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = json!({"errors": [{
        "message": message,
        "extensions": {"code": code.as_str()},
    }]});
    (status, Json(body)).into_response()
}

/// How long `/readyz` waits for one dependency before it names that one down: a readiness
/// answer never waits on a dead dependency (a stopped database would hold it for the pool's
/// whole acquire timeout, a host that drops packets for longer).
pub const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether `check` succeeded within `READY_TIMEOUT`; a failure is logged naming `what`.
pub async fn answers<T, E: std::fmt::Display>(
    what: &str,
    check: impl std::future::Future<Output = Result<T, E>>,
) -> bool {
    match tokio::time::timeout(READY_TIMEOUT, check).await {
        Ok(Ok(_)) => true,
        Ok(Err(err)) => {
            tracing::warn!(%err, "{what} not ready");
            false
        }
        Err(_) => {
            tracing::warn!("{what} not ready: no answer within {READY_TIMEOUT:?}");
            false
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_check_that_fails_or_never_answers_is_down() {
        assert!(answers("up", async { Ok::<_, String>(()) }).await);
        assert!(!answers("failing", async { Err::<(), _>("refused") }).await);
        // A dependency that never answers is down after READY_TIMEOUT, not waited for.
        assert!(
            !answers(
                "silent",
                std::future::pending::<Result<(), std::convert::Infallible>>()
            )
            .await
        );
    }

    /// A router that answers `/` with the name of the thread that served it.
    fn thread_names() -> Router {
        Router::new().route(
            "/",
            axum::routing::get(|| async {
                std::thread::current()
                    .name()
                    .unwrap_or_default()
                    .to_string()
            }),
        )
    }

    /// `GET /` on a connection of its own; the body of the answer.
    async fn get(port: u16) -> String {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        answer
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }

    async fn bound() -> Server {
        Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), thread_names())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn threads_of_its_own_serve_the_port_until_shutdown() {
        let server = bound().await;
        let port = server.port();
        let started = Arc::new(Mutex::new(Vec::new()));
        let on_thread = {
            let started = started.clone();
            move |n: usize| {
                let name = std::thread::current().name().map(str::to_string);
                started.lock().unwrap().push((n, name));
            }
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.serve_on_threads(2, on_thread, async {
            let _ = stopped.await;
        }));
        for _ in 0..20 {
            let name = get(port).await;
            assert!(name == "serve-0" || name == "serve-1", "served on {name:?}");
        }
        // Each thread reports once it runs; under load one may have served nothing yet.
        let all_started = async {
            loop {
                let seen = started.lock().unwrap().clone();
                if seen.len() == 2 {
                    break seen;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        };
        let mut started = tokio::time::timeout(std::time::Duration::from_secs(30), all_started)
            .await
            .expect("both serving threads start");
        started.sort();
        assert_eq!(
            started,
            [(0, Some("serve-0".into())), (1, Some("serve-1".into()))]
        );
        stop.send(()).unwrap();
        running.await.unwrap().unwrap();
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err(),
            "the port is still open after shutdown"
        );
    }

    #[tokio::test]
    async fn a_thread_that_fails_ends_them_all() {
        let server = bound().await;
        let failed = server
            .serve_on_threads(
                2,
                |n| assert_ne!(n, 1, "thread 1 cannot start"),
                std::future::pending(),
            )
            .await
            .unwrap_err();
        assert!(
            failed.to_string().contains("serving thread 1 panicked"),
            "{failed}"
        );
    }
}
