//! api-gateway integration tests: the real gateway and subgraphs over HTTP on port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod email;
mod engine;
mod exports;
mod faults;
mod fuzz;
mod graphql;
mod hardening;
mod limits;
mod live;
mod processes;
mod support;
mod tokens;
mod web;

pub(crate) use testkit::on_both_databases;
