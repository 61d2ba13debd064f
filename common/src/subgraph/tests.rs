//! The kit's routes, called without a socket: what every subgraph refuses and answers.

use super::{Routes, caller, schema};
use crate::{Principal, Role, TokenMinter, config::Mode, server::MAX_BODY};
use async_graphql::{Context, Object};
use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Request, StatusCode, header},
};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use tower::ServiceExt;

struct Query;

#[Object]
impl Query {
    async fn me(&self, ctx: &Context<'_>) -> Option<i64> {
        caller(ctx).user_id
    }

    async fn greeting(&self, ctx: &Context<'_>) -> String {
        ctx.data_opt::<String>().cloned().unwrap_or_default()
    }
}

struct Mutation;

#[Object]
impl Mutation {
    async fn touch(&self) -> bool {
        true
    }
}

static MUTATIONS: AtomicUsize = AtomicUsize::new(0);

fn counted() {
    MUTATIONS.fetch_add(1, Ordering::SeqCst);
}

fn router(minter: &TokenMinter) -> Router {
    let schema = schema::builder(Query, Mutation, Mode::Production).finish();
    Routes::new(schema, minter.verifier())
        .prepare(|request, _caller| request.data("hello".to_string()))
        .after_mutation(counted)
        .into_router()
}

fn post(body: impl Into<Body>, token: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(body.into()).unwrap()
}

async fn call(router: Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A minter, and a token it signed for user 7, an ADMIN.
fn admin_seven() -> (TokenMinter, String) {
    let minter = TokenMinter::new(biscuit_auth::KeyPair::new());
    let token = minter
        .mint(&Principal::user(7, vec![Role::Admin], vec![]))
        .unwrap();
    (minter, token)
}

fn query(text: &str) -> String {
    json!({ "query": text }).to_string()
}

#[tokio::test]
async fn a_request_without_the_gateways_token_is_401_unauthenticated() {
    let minter = TokenMinter::new(biscuit_auth::KeyPair::new());
    let stranger = TokenMinter::new(biscuit_auth::KeyPair::new());
    let foreign = stranger
        .mint(&Principal::user(1, vec![Role::Admin], vec![]))
        .unwrap();
    for token in [None, Some("garbage"), Some(foreign.as_str())] {
        let (status, body) = call(router(&minter), post(query("{ me }"), token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn a_signed_request_runs_with_its_caller_and_prepared_data() {
    let (minter, token) = admin_seven();
    let (status, body) = call(
        router(&minter),
        post(query("{ me greeting }"), Some(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!({"me": 7, "greeting": "hello"}));
}

#[tokio::test]
async fn a_mutation_is_followed_by_the_after_mutation_hook() {
    let (minter, token) = admin_seven();
    let before = MUTATIONS.load(Ordering::SeqCst);
    call(router(&minter), post(query("{ me }"), Some(&token))).await;
    assert_eq!(MUTATIONS.load(Ordering::SeqCst), before);
    let (_, body) = call(
        router(&minter),
        post(query("mutation { touch }"), Some(&token)),
    )
    .await;
    assert_eq!(body["data"]["touch"], true);
    assert!(MUTATIONS.load(Ordering::SeqCst) > before);
}

#[tokio::test]
async fn an_oversized_body_is_413_before_the_token_is_looked_at() {
    let minter = TokenMinter::new(biscuit_auth::KeyPair::new());
    let padded = format!(
        "{{\"query\":\"{{ me }}\",\"pad\":\"{}\"}}",
        "x".repeat(MAX_BODY)
    );
    let (status, body) = call(router(&minter), post(padded, None)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn health_always_answers_and_readiness_only_with_a_database() {
    let minter = TokenMinter::new(biscuit_auth::KeyPair::new());
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let response = router(&minter).oneshot(get("/healthz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = router(&minter).oneshot(get("/readyz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
    let schema = schema::builder(Query, Mutation, Mode::Development).finish();
    let ready = Routes::new(schema, minter.verifier())
        .ready_with(db)
        .into_router();
    let (status, body) = call(ready, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
}

#[test]
fn the_sdl_is_a_federation_subgraphs() {
    let sdl = schema::sdl(Query, Mutation);
    assert!(sdl.contains("type Query"), "{sdl}");
    assert!(sdl.contains("touch: Boolean!"), "{sdl}");
    // Federation's own fields are the gateway's business, not part of the exported SDL.
    assert!(!sdl.contains("_service"), "{sdl}");
}
