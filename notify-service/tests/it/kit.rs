//! What the subgraph kit gives notify-service: it refuses what every subgraph refuses, and a
//! database error that would fail again (a constraint violation) is INTERNAL, not
//! UNAVAILABLE "safe to retry".

use crate::on_both_databases;
use crate::support::{Backend, Fixture};
use common::{Principal, Role, TokenMinter, config::CommonSettings};
use serde_json::{Value, json};
use std::collections::HashMap;

/// notify-service on port 0 over the fixture's database, without its worker; its GraphQL
/// URL and the minter whose tokens it accepts.
async fn serve(fx: &Fixture) -> (String, TokenMinter) {
    let minter = TokenMinter::new(biscuit_auth::KeyPair::new());
    let env = HashMap::from([
        ("DATABASE_URL", fx.database.url.as_str()),
        ("TESSERA_ENV", "development"),
    ]);
    let settings = notify_service::Settings {
        common: CommonSettings::from_source(&env).unwrap(),
        port: 0,
        verifier: minter.verifier(),
    };
    let server = notify_service::Application::build_with_db(settings, fx.db.clone())
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}/graphql", server.port());
    tokio::spawn(server.run_until_stopped());
    (url, minter)
}

async fn unsigned_and_oversized_requests_are_refused(backend: Backend) {
    let fx = Fixture::new(&backend).await;
    let (url, _) = serve(&fx).await;
    testkit::subgraph::assert_refuses_unsigned(&url).await;
    testkit::subgraph::assert_refuses_oversized(&url, common::server::MAX_BODY).await;
    fx.cleanup().await;
}

async fn a_constraint_violation_is_internal_not_unavailable(backend: Backend) {
    let fx = Fixture::new(&backend).await;
    let (url, minter) = serve(&fx).await;
    // A signed caller whose user row does not exist: the preferences row breaks its foreign
    // key, which no retry would fix.
    let ghost = minter
        .mint(&Principal::user(999_999, vec![Role::Faculty], vec![]))
        .unwrap();
    let r: Value = reqwest::Client::new()
        .post(&url)
        .bearer_auth(ghost)
        .json(
            &json!({"query": "mutation { updateNotificationPreferences(email: false) { email } }"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    testkit::subgraph::assert_internal(&r);
    fx.cleanup().await;
}

on_both_databases!(
    unsigned_and_oversized_requests_are_refused,
    a_constraint_violation_is_internal_not_unavailable
);
