//! The engine's configuration: the router configuration generated from our settings, and the
//! supergraph file the engine loads.

use super::{EngineError, FRESH_HEADER};
use crate::config::Subgraph;
use crate::limits::Limits;
use hive_router::config::HiveRouterConfig;
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// The router configuration: our supergraph file and subgraph URLs, the Authorization header
/// (the gateway-minted token) propagated to every subgraph, subgraph errors passed through
/// unmasked (subgraphs never put internals in them), the limits the engine's validation
/// enforces, and a per-call timeout so a dead subgraph costs its fields, not the request.
pub(super) fn router_config(
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
            "max_request_body_size": format!("{}B", crate::limits::MAX_BODY),
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

/// Writes the supergraph where the engine loads it from: a file of this engine's own under
/// `work_dir` (made absolute, as the engine requires), removed once loaded or refused.
pub(super) fn write_supergraph(
    supergraph_sdl: &str,
    work_dir: &Path,
) -> Result<PathBuf, EngineError> {
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
    Ok(path)
}

/// The engine's TLS stack panics without a process-wide rustls provider; install it once.
pub(super) fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(hive_router::init_rustls_crypto_provider);
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
