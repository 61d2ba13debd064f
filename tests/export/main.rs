//! export-service's integration tests (here, in the platform's tests, because they need
//! ticket-service and export-service links only ticket-domain): both subgraphs on port 0 over one
//! fresh database (SQLite and PostgreSQL: see `testkit::on_both_databases`), with the worker
//! on its own task, talked to over HTTP with tokens signed the way the gateway signs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

pub(crate) use testkit::on_both_databases;

mod errors;
mod files;
mod jobs;
mod kit;
mod restart;
