//! Logging set-up: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` for JSON lines.
//! Logs go to standard error, so standard output stays for what a command prints.

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber once; later calls (tests starting several apps) do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let result = if json {
        fmt()
            .json()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .try_init()
    } else {
        fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .try_init()
    };
    // A second initialisation is expected in tests; nothing to report.
    drop(result);
}

/// For tests: the same filter, written through the test harness's output capture, so a test's
/// logs (errors provoked on purpose included) are shown only when that test fails. Threads a
/// test starts (its runtime's workers, the engine's) inherit the capture.
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    drop(fmt().with_test_writer().with_env_filter(filter).try_init());
}
