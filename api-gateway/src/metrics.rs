//! Prometheus metrics served at `/metrics`: GraphQL requests and latencies per operation type,
//! sign-ins by outcome, and open subscriptions.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The gateway's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// GraphQL requests by operation type and HTTP status.
    pub requests: IntCounterVec,
    /// GraphQL request latency by operation type.
    pub latency: HistogramVec,
    /// Sign-in attempts by outcome (ok, invalid, locked, unavailable).
    pub logins: IntCounterVec,
    /// Subscriptions currently open.
    pub subscriptions_open: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("tessera_gateway".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("graphql_requests_total", "GraphQL requests answered"),
            &["operation", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "Time to answer a GraphQL request",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ]),
            &["operation"],
        )?;
        let logins = IntCounterVec::new(
            Opts::new("login_attempts_total", "Sign-in attempts by outcome"),
            &["outcome"],
        )?;
        let subscriptions_open = IntGauge::new("subscriptions_open", "Subscriptions open now")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(subscriptions_open.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            logins,
            subscriptions_open,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%err, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
