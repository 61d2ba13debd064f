//! notify-service integration tests: the email worker over a real database and event stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod kit;
mod support;
mod worker;

pub(crate) use testkit::on_both_databases;
