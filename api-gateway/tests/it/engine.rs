//! The engine shares an identical subgraph call already in flight; a `fresh` request (a live
//! delivery's) never joins one. The subgraph is a fake that answers after a pause, so the two
//! calls of each pair are in flight together.

use api_gateway::{
    config::Subgraph,
    engine::{Engine, Request},
    limits::Limits,
};
use hive_router::executor::plugins::hooks::on_graphql_params::GraphQLParams;
use hive_router::http::Method;
use serde_json::json;
use std::time::Duration;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

fn request(fresh: bool) -> Request {
    let params: GraphQLParams = hive_router::sonic_rs::from_str(
        &json!({
            "query": "query($id: ID!) { ticket(id: $id) { number } }",
            "variables": {"id": "1"},
        })
        .to_string(),
    )
    .unwrap();
    Request {
        params,
        method: Method::POST,
        token: "a-token".into(),
        allow_introspection: false,
        authorize: None,
        fresh,
    }
}

/// Sends two identical requests at once; returns how many calls reached the subgraph.
async fn pair(engine: &Engine, subgraph: &MockServer, fresh: bool) -> usize {
    let before = subgraph.received_requests().await.unwrap().len();
    let (one, two) = tokio::join!(
        engine.execute(request(fresh)),
        engine.execute(request(fresh))
    );
    for response in [one, two] {
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["data"]["ticket"]["number"], 1, "{body}");
    }
    subgraph.received_requests().await.unwrap().len() - before
}

#[tokio::test]
async fn fresh_requests_never_join_a_call_in_flight() {
    let subgraph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(2))
                .set_body_json(json!({"data": {"ticket": {"number": 1}}})),
        )
        .mount(&subgraph)
        .await;
    let work = std::env::temp_dir().join(format!("tessera-engine-it-{}", std::process::id()));
    let engine = Engine::start(
        api_gateway::SUPERGRAPH,
        &[Subgraph {
            name: "ticket_service",
            url: format!("{}/graphql", subgraph.uri()),
        }],
        Duration::from_secs(10),
        Limits::default(),
        &work,
    )
    .await
    .unwrap();
    assert_eq!(pair(&engine, &subgraph, false).await, 1, "shared");
    assert_eq!(pair(&engine, &subgraph, true).await, 2, "fresh");
}
