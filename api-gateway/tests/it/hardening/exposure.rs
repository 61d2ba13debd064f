//! Findings 4, 5 and 9: security headers on every response, `/metrics` for the operator
//! only, subgraph names in errors only for ADMIN and developers; and a fuzz find.

use super::ME;
use crate::support::{Backend, Options, Platform, Who, code, free_port};
use serde_json::{Value, json};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Finding 4: every response, whatever answered it, carries the security headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = Platform::spawn(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let responses = [
        client.get(format!("{}/", app.url)).send().await.unwrap(),
        client
            .get(format!("{}/tickets/12", app.url))
            .send()
            .await
            .unwrap(),
        client
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap(),
        client
            .get(format!("{}/exports/1.csv", app.url))
            .send()
            .await
            .unwrap(),
        client
            .post(format!("{}/graphql", app.url))
            .json(&json!({"query": ME}))
            .send()
            .await
            .unwrap(),
        app.login(&client, "nobody@test.edu", "wrong").await,
    ];
    for response in responses {
        let headers = response.headers();
        let at = response.url().path().to_string();
        assert_eq!(headers["content-security-policy"], CSP, "{at}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{at}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{at}");
        assert_eq!(headers["x-frame-options"], "DENY", "{at}");
    }
    app.cleanup().await;
}

async fn metrics_status(url: &str, token: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().get(format!("{url}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status().as_u16()
}

/// Finding 5: `/metrics` is open only in development; production serves it to the bearer
/// of `METRICS_TOKEN` or on `METRICS_ADDR`, and 404 on the public port otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_the_operator_in_production() {
    let development = Platform::spawn(Backend::Sqlite).await;
    assert_eq!(metrics_status(&development.url, None).await, 200);
    development.cleanup().await;

    let production = Options {
        production: true,
        ..Options::default()
    };
    let closed = Platform::spawn_with(Backend::Sqlite, production.clone()).await;
    assert_eq!(metrics_status(&closed.url, None).await, 404);
    closed.cleanup().await;

    let secret = "a-long-scrape-secret-0123456789";
    let token = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("METRICS_TOKEN", secret.to_string())],
            ..production.clone()
        },
    )
    .await;
    assert_eq!(metrics_status(&token.url, None).await, 401);
    assert_eq!(metrics_status(&token.url, Some("guess")).await, 401);
    assert_eq!(metrics_status(&token.url, Some(secret)).await, 200);
    token.cleanup().await;

    let port = free_port();
    let listener = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("METRICS_ADDR", format!("127.0.0.1:{port}"))],
            ..production
        },
    )
    .await;
    assert_eq!(metrics_status(&listener.url, None).await, 404);
    let scraped = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("tessera_gateway_queue_depth")
    );
    listener.cleanup().await;
}

/// Finding 9: errors name the subgraph they came from only to ADMIN and in development.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_subgraphs_only_to_admins_and_developers() {
    // notificationPreferences of someone else: FORBIDDEN, from notify-service.
    let query = "query($id: ID!) { user(id: $id) { notificationPreferences { email } } }";
    for (production, who, named) in [
        (true, Who::Chair, false),
        (true, Who::Admin, true),
        (false, Who::Chair, true),
    ] {
        let app = Platform::spawn_with(
            Backend::Sqlite,
            Options {
                production,
                ..Options::default()
            },
        )
        .await;
        let client = app.signed_in(who).await;
        let other = if who == Who::Admin {
            Who::Chair
        } else {
            Who::Grad
        };
        let variables = json!({"id": app.id(other).to_string()});
        let body = if who == Who::Admin {
            // An ADMIN may read anyone's preferences: another subgraph error.
            app.gql(
                &client,
                "mutation { updateUser(input: {id: \"999999\", name: \"x\"}) { id } }",
                json!({}),
            )
            .await
        } else {
            app.gql(&client, query, variables).await
        };
        let errors = body["errors"].as_array().cloned().unwrap_or_default();
        assert!(!errors.is_empty(), "{body}");
        let service_named = errors
            .iter()
            .any(|e| e["extensions"].get("service").is_some());
        assert_eq!(
            service_named, named,
            "production {production}, {who:?}: {body}"
        );
        app.cleanup().await;
    }
}

/// Found by the fuzz: a selection under `__typename` made the engine fail with an internal
/// error, answered 500 INTERNAL; it is the request's fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_under_a_scalar_is_bad_input_not_internal() {
    let app = Platform::spawn(Backend::Sqlite).await;
    for query in [
        "{ __typename { id } }",
        "{ me { __typename { name } } }",
        "{ me { ... on User { __typename { id } } } }",
    ] {
        let response = app.post(&app.client(), query, json!({})).await;
        assert!(response.status().as_u16() < 500, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{query}: {body}");
    }
    app.cleanup().await;
}
