//! ticket-service's integration tests: a real subgraph on port 0, over HTTP, on SQLite and on
//! PostgreSQL (every test runs on both; see `testkit::on_both_databases`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

pub(crate) use testkit::on_both_databases;

mod authorization;
mod batching;
mod deadlines;
mod history;
mod http;
mod pagination;
mod race;
mod relay;
mod scheduler;
mod validation;
mod workflow;
