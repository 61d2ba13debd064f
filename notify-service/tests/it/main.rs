//! notify-service integration tests: the email and webhook workers over a real database and
//! event stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod digest;
mod hook_crash;
mod hooks;
mod inbox;
mod kit;
mod receiver;
mod support;
mod webhook_errors;
mod webhook_failures;
mod webhooks;
mod worker;

pub(crate) use testkit::on_both_databases;
