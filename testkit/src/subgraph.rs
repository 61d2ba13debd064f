//! What every subgraph refuses, checked over HTTP the same way for each: a request without
//! the gateway's token, and a body over the limit.

use serde_json::{Value, json};

/// Asserts that the subgraph at `graphql_url` answers a request without a token, and one
/// with a token it did not issue, 401 UNAUTHENTICATED.
pub async fn assert_refuses_unsigned(graphql_url: &str) {
    let client = reqwest::Client::new();
    for token in [None, Some("not-a-biscuit")] {
        let mut request = client
            .post(graphql_url)
            .json(&json!({"query": "{ __typename }"}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{graphql_url} with {token:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
    }
}

/// Asserts that the subgraph at `graphql_url` refuses a body over `max_body` bytes (413),
/// and still answers `/healthz` afterwards.
pub async fn assert_refuses_oversized(graphql_url: &str, max_body: usize) {
    let sent = reqwest::Client::new()
        .post(graphql_url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(format!(r#"{{"query":"{}"}}"#, "a".repeat(max_body + 1)))
        .send()
        .await;
    match sent {
        Ok(response) => assert_eq!(response.status(), 413, "{graphql_url}"),
        // The subgraph answered 413 and closed the connection while the client was still
        // writing the rest (a broken pipe): refused all the same.
        Err(err) => assert!(err.is_request(), "{graphql_url}: {err}"),
    }
    let health = graphql_url.replace("/graphql", "/healthz");
    assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);
}

/// Asserts that a GraphQL answer failed INTERNAL with the one message INTERNAL shows (not
/// UNAVAILABLE, which would tell the client to retry).
pub fn assert_internal(answer: &Value) {
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "INTERNAL",
        "{answer}"
    );
    assert_eq!(answer["errors"][0]["message"], "internal error", "{answer}");
}
