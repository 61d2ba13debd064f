//! api-gateway integration tests: the real gateway and subgraphs over HTTP on port 0. Tests of
//! the whole platform (emails, exports, separate processes, faults) are the repository's
//! (`tests/it`); they start it with this folder's `support`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod engine;
mod fuzz;
mod graphql;
mod hardening;
mod limits;
mod live;
mod oidc;
mod support;
mod tokens;
mod web;

pub(crate) use testkit::on_both_databases;
