//! Tests of the whole platform: emails end to end, exports, the production wiring as separate
//! processes, and the fault suite. They start the platform with the gateway's test harness
//! (one copy, included by path) or, for processes and faults, the binaries `cargo test
//! --workspace` builds, wired as `compose.yaml` says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod compose;
mod email;
mod exports;
mod faults;
mod processes;
// The gateway's tests use all of the harness; these use a part of it.
#[allow(dead_code)]
#[path = "../../api-gateway/tests/it/support/mod.rs"]
mod support;

pub(crate) use testkit::on_both_databases;
