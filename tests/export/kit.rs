//! What the subgraph kit gives export-service: it refuses what every subgraph refuses, and a
//! database error that would fail again (a constraint violation) is INTERNAL, not
//! UNAVAILABLE "safe to retry".

use crate::on_both_databases;
use crate::support::{Backend, TestApp};
use common::{Principal, Role};
use serde_json::json;

async fn unsigned_and_oversized_requests_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    testkit::subgraph::assert_refuses_unsigned(&app.exports_url).await;
    testkit::subgraph::assert_refuses_oversized(&app.exports_url, common::server::MAX_BODY).await;
    app.cleanup().await;
}

async fn a_constraint_violation_is_internal_not_unavailable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A signed caller whose user row does not exist: the job's `requested_by` breaks its
    // foreign key, which no retry would fix.
    let ghost = Principal::user(999_999, vec![Role::Admin], vec![]);
    let r = app
        .exports_as(&ghost, "mutation { exportTickets { id } }", json!({}))
        .await;
    testkit::subgraph::assert_internal(&r);
    app.cleanup().await;
}

on_both_databases!(
    unsigned_and_oversized_requests_are_refused,
    a_constraint_violation_is_internal_not_unavailable
);
