//! Finding 1: JSON nested 10,000 and 100,000 deep, in every place the gateway and the
//! subgraphs parse JSON, is refused with 400 and every process keeps serving; so is a body
//! over a subgraph's limit.

use crate::on_both_databases;
use crate::support::{Backend, Platform, Who};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

fn nested(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

async fn healthy(app: &Platform) {
    let health = reqwest::get(format!("{}/healthz", app.url)).await;
    assert_eq!(
        health.map(|r| r.status().as_u16()).ok(),
        Some(200),
        "the gateway stopped answering /healthz"
    );
}

/// Asserts a 400 whose body is a BAD_USER_INPUT (or, for a document, QUERY_TOO_COMPLEX,
/// answered 200 like every limit of a well-formed request) saying what was nested too deep.
async fn refused_as_too_deep(response: reqwest::Response, expected_code: &str, what: &str) {
    let status = if expected_code == "QUERY_TOO_COMPLEX" {
        200
    } else {
        400
    };
    assert_eq!(response.status(), status, "{what}");
    let body: Value = response.json().await.unwrap();
    let found = body["errors"][0]["extensions"]["code"]
        .as_str()
        .or(body["error"]["code"].as_str());
    assert_eq!(found, Some(expected_code), "{what}: {body}");
    assert!(body.to_string().contains("nested"), "{what}: {body}");
}

/// The gateway refuses `deep` in a body's variables, its extensions and as the body itself,
/// in GET parameters (when a link that long is possible at all) and in a sign-in, and keeps
/// serving after each.
async fn the_gateway_refuses(app: &Platform, client: &reqwest::Client, levels: usize) {
    let deep = nested(levels);
    let graphql = format!("{}/graphql", app.url);
    let bodies = [
        (
            "variables",
            format!(r#"{{"query":"{{__typename}}","variables":{{"x":{deep}}}}}"#),
        ),
        (
            "extensions",
            format!(r#"{{"query":"{{__typename}}","extensions":{{"x":{deep}}}}}"#),
        ),
        ("the body", deep.clone()),
    ];
    for (what, body) in bodies {
        let response = client
            .post(&graphql)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        refused_as_too_deep(response, "BAD_USER_INPUT", what).await;
        healthy(app).await;
    }
    // A link as long as 100,000 levels is longer than any URL the server takes.
    let params: &[&str] = if levels == 10_000 {
        &["variables", "extensions"]
    } else {
        &[]
    };
    for &param in params {
        let response = client
            .get(&graphql)
            .query(&[
                ("query", "{__typename}".to_string()),
                (param, format!(r#"{{"x":{deep}}}"#)),
            ])
            .send()
            .await
            .unwrap();
        refused_as_too_deep(response, "BAD_USER_INPUT", param).await;
        healthy(app).await;
    }
    let login = client
        .post(format!("{}/auth/login", app.url))
        .header(CONTENT_TYPE, "application/json")
        .body(format!(r#"{{"email":{deep},"password":"x"}}"#))
        .send()
        .await
        .unwrap();
    refused_as_too_deep(login, "BAD_USER_INPUT", "a sign-in").await;
}

/// A document nested as deep, as selections and as a list value, is too complex.
async fn documents_as_deep_are_too_complex(
    app: &Platform,
    client: &reqwest::Client,
    levels: usize,
) {
    let selections = format!("{}{}", "{a".repeat(levels), "}".repeat(levels));
    let list = format!("{{ user(id: {}) {{ id }} }}", nested(levels));
    for document in [selections, list] {
        let response = client
            .post(format!("{}/graphql", app.url))
            .json(&json!({ "query": document }))
            .send()
            .await
            .unwrap();
        refused_as_too_deep(response, "QUERY_TOO_COMPLEX", "a document").await;
    }
}

/// Straight to each subgraph, without a token: the body is refused before anything parses
/// it, and the subgraph keeps serving.
async fn each_subgraph_refuses(app: &Platform, client: &reqwest::Client, levels: usize) {
    let deep = nested(levels);
    for subgraph in &app.gateway_settings.subgraphs {
        let response = client
            .post(&subgraph.url)
            .header(CONTENT_TYPE, "application/json")
            .body(format!(
                r#"{{"query":"{{__typename}}","variables":{{"x":{deep}}}}}"#
            ))
            .send()
            .await
            .unwrap();
        refused_as_too_deep(response, "BAD_USER_INPUT", subgraph.name).await;
        let health = subgraph.url.replace("/graphql", "/healthz");
        assert_eq!(
            client.get(&health).send().await.unwrap().status(),
            200,
            "{}",
            subgraph.name
        );
    }
}

/// The gateway serves on this test's tokio workers (2 MiB stacks, like production's).
async fn deep_json_is_refused_and_everything_keeps_serving(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let client = reqwest::Client::new();
    for levels in [10_000, 100_000] {
        the_gateway_refuses(&app, &client, levels).await;
        documents_as_deep_are_too_complex(&app, &client, levels).await;
        each_subgraph_refuses(&app, &client, levels).await;
        healthy(&app).await;
    }
    // Honest nesting still works: a list variable a few levels deep reaches validation.
    let client = app.signed_in(Who::Budget).await;
    let body = app
        .gql(
            &client,
            "query($s: [TicketState!]) { tickets(filter: {states: $s}) { totalCount } }",
            json!({"s": ["GRANTED"]}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    app.cleanup().await;
}

/// A body over the subgraphs' 2 MiB is refused before it is read whole.
async fn a_body_over_the_limit_is_refused_by_every_subgraph(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let client = reqwest::Client::new();
    for subgraph in &app.gateway_settings.subgraphs {
        let sent = client
            .post(&subgraph.url)
            .header(CONTENT_TYPE, "application/json")
            .body(format!(r#"{{"query":"{}"}}"#, "a".repeat(3 * 1024 * 1024)))
            .send()
            .await;
        match sent {
            Ok(response) => assert_eq!(response.status(), 413, "{}", subgraph.name),
            // The subgraph answered 413 and closed the connection while the client was still
            // writing the rest (a broken pipe): refused all the same.
            Err(err) => assert!(err.is_request(), "{}: {err}", subgraph.name),
        }
        // On a new connection: the refused one may have been closed under the client's pool.
        let health = subgraph.url.replace("/graphql", "/healthz");
        assert_eq!(
            reqwest::get(&health).await.unwrap().status(),
            200,
            "{}",
            subgraph.name
        );
    }
    app.cleanup().await;
}

on_both_databases!(
    deep_json_is_refused_and_everything_keeps_serving,
    a_body_over_the_limit_is_refused_by_every_subgraph,
);
