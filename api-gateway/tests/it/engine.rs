//! The engine shares an identical subgraph call already in flight, but a read never joins one
//! begun before a change the gateway knew of (a mutation it ran, an event of the stream), and
//! a `fresh` request (a live delivery's) never joins one at all. The subgraph is a fake that
//! answers reads after a pause, so the calls of each pair are in flight together.

use api_gateway::{
    config::Subgraph,
    engine::{Engine, Request, Response},
    limits::Limits,
};
use hive_router::executor::plugins::hooks::on_graphql_params::GraphQLParams;
use hive_router::http::Method;
use serde_json::json;
use std::time::Duration;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_string_contains, method},
};

fn request(fresh: bool) -> Request {
    operation(
        json!({
            "query": "query($id: ID!) { ticket(id: $id) { number } }",
            "variables": {"id": "1"},
        }),
        fresh,
    )
}

fn operation(body: serde_json::Value, fresh: bool) -> Request {
    let params: GraphQLParams = hive_router::sonic_rs::from_str(&body.to_string()).unwrap();
    Request {
        params,
        method: Method::POST,
        token: "a-token".into(),
        allow_introspection: false,
        authorize: None,
        fresh,
    }
}

/// The read's answer is the fake subgraph's ticket.
fn assert_ticket(response: &Response) {
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["data"]["ticket"]["number"], 1, "{body}");
}

/// Sends two identical requests at once; returns how many calls reached the subgraph.
async fn pair(engine: &Engine, subgraph: &MockServer, fresh: bool) -> usize {
    let before = subgraph.received_requests().await.unwrap().len();
    let (one, two) = tokio::join!(
        engine.execute(request(fresh)),
        engine.execute(request(fresh))
    );
    assert_ticket(&one);
    assert_ticket(&two);
    subgraph.received_requests().await.unwrap().len() - before
}

/// A fake ticket-service that answers reads after 2 s and mutations at once, and an engine
/// in front of it.
async fn engine_on_slow_subgraph(name: &str) -> (Engine, MockServer) {
    let subgraph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("mutation"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"grantTicket": {"number": 1}}})),
        )
        .with_priority(1)
        .mount(&subgraph)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(2))
                .set_body_json(json!({"data": {"ticket": {"number": 1}}})),
        )
        .mount(&subgraph)
        .await;
    let work =
        std::env::temp_dir().join(format!("tessera-engine-it-{name}-{}", std::process::id()));
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
    (engine, subgraph)
}

#[tokio::test]
async fn fresh_requests_never_join_a_call_in_flight() {
    let (engine, subgraph) = engine_on_slow_subgraph("fresh").await;
    assert_eq!(pair(&engine, &subgraph, false).await, 1, "shared");
    assert_eq!(pair(&engine, &subgraph, true).await, 2, "fresh");
}

/// A mutation the fake subgraph answers at once.
fn grant() -> Request {
    operation(
        json!({"query": "mutation { grantTicket(ticketId: \"1\") { number } }"}),
        false,
    )
}

fn assert_granted(response: &Response) {
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["data"]["grantTicket"]["number"], 1, "{body}");
}

/// The reads (not mutations) the subgraph has received.
async fn reads(subgraph: &MockServer) -> usize {
    subgraph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| !String::from_utf8_lossy(&r.body).contains("mutation"))
        .count()
}

/// Starts a read, waits until its call is at the subgraph, runs `between`, then sends the
/// same read again while the first is still in flight; returns how many reads reached the
/// subgraph.
async fn read_twice_around(
    engine: &Engine,
    subgraph: &MockServer,
    between: impl std::future::Future<Output = ()>,
) -> usize {
    let before = reads(subgraph).await;
    let first = tokio::spawn({
        let engine = engine.clone();
        async move { engine.execute(request(false)).await }
    });
    while reads(subgraph).await == before {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    between.await;
    let second = engine.execute(request(false)).await;
    assert_ticket(&first.await.unwrap());
    assert_ticket(&second);
    reads(subgraph).await - before
}

#[tokio::test]
async fn a_read_never_joins_one_begun_before_a_change() {
    let (engine, subgraph) = engine_on_slow_subgraph("changes").await;
    // Nothing changed in between: the second read shares the first one's call.
    assert_eq!(
        read_twice_around(&engine, &subgraph, async {}).await,
        1,
        "nothing changed"
    );
    // A mutation completed in between (a client refetching after its own change).
    assert_eq!(
        read_twice_around(&engine, &subgraph, async {
            assert_granted(&engine.execute(grant()).await);
        })
        .await,
        2,
        "after a mutation"
    );
    // The hub read an event of the stream in between (another replica's or a worker's write).
    assert_eq!(
        read_twice_around(&engine, &subgraph, async { engine.changed() }).await,
        2,
        "after an event"
    );
}
