//! export-service as an operator starts it: the binary itself. (The subgraph and the worker
//! are tested beside ticket-service in the root package's `tests/it/export_service/`, which,
//! with `tests/it/processes.rs`, also runs this binary: having an integration test here is
//! what makes `cargo test --workspace` build it.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn a_malformed_setting_stops_the_binary_with_one_line_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_export-service"))
        .env_clear()
        .env("EXPORT_BATCH_SIZE", "many")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("EXPORT_BATCH_SIZE"), "{stderr}");
}
