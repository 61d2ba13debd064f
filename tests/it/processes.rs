//! The production wiring, as `compose.yaml` describes it: the one-shot `db migrate` job, then
//! ticket-service, notify-service and two api-gateway replicas as separate processes (the
//! binaries `cargo build` makes), each started with the command and environment compose gives
//! it (its service hosts, ports and volume swapped for local ones) plus the settings of
//! `tessera.env.example`, on PostgreSQL and Redis.
//!
//! One test, in phases that share the processes (starting them is the expensive part).

use crate::compose::{Local, Proc, compose, env_file, wait_ready};
use crate::support::clients::{EVENTS, Ws, cookie, gql, open_subscriptions};
use crate::support::{METRICS_TOKEN, Who, code, free_port, redis_or_skip, seed_cast};
use db::sea_orm::DatabaseConnection;
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

/// A query with an API token: the status and the body.
async fn with_token(url: &str, token: &str, query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .json(&json!({"query": query}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The processes of one run: the subgraphs, two gateway replicas, and what they run on.
struct Wiring {
    database: testkit::TestDatabase,
    data: std::path::PathBuf,
    conn: DatabaseConnection,
    ids: HashMap<Who, i64>,
    /// ticket-service, notify-service, export-service, in that order.
    services: Vec<Proc>,
    gateways: Vec<Proc>,
    /// The replicas' base URLs.
    urls: Vec<String>,
}

impl Wiring {
    /// Migrates with compose's one-shot job, seeds the cast, starts the subgraphs and two
    /// gateways, and waits until the gateways are ready.
    async fn start(backend: &testkit::Backend, redis: String) -> Wiring {
        let database = testkit::TestDatabase::create(backend, "gw_proc").await;
        let name = database.url.rsplit('/').next().unwrap().to_string();
        let data = std::env::temp_dir().join(format!("tessera-proc-{name}"));
        let compose = compose();
        let mut local = Local {
            database_url: database.url.clone(),
            redis_url: redis,
            data_dir: data.display().to_string(),
            ports: HashMap::new(),
        };
        let extra = tessera_env(&name);

        // The one-shot migration job, into an empty database.
        let migrated = local.command(&compose, "migrate", 0, &[]).output().unwrap();
        eprint!("{}", String::from_utf8_lossy(&migrated.stderr));
        assert!(migrated.status.success(), "db migrate failed");
        let conn = db::connect(&database.url).await.unwrap();
        let ids = seed_cast(&conn).await;

        let mut services = Vec::new();
        for service in ["ticket-service", "notify-service", "export-service"] {
            let port = free_port();
            local.ports.insert(service.to_string(), port);
            services.push(Proc::start(
                &mut local.command(&compose, service, port, &extra),
            ));
        }
        let mut gateways = Vec::new();
        let mut urls = Vec::new();
        for _ in 0..2 {
            let port = free_port();
            gateways.push(Proc::start(&mut local.command(
                &compose,
                "api-gateway",
                port,
                &extra,
            )));
            urls.push(format!("http://127.0.0.1:{port}"));
        }
        for url in &urls {
            wait_ready(url).await;
        }
        Wiring {
            database,
            data,
            conn,
            ids,
            services,
            gateways,
            urls,
        }
    }

    async fn stop(self) {
        drop(self.gateways);
        drop(self.services);
        self.conn.close().await.ok();
        self.database.remove().await;
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// tessera.env: the example's settings with a signing key filled in. The test's own
/// additions: a Redis prefix of its own, no per-address rate limit (every request comes from
/// 127.0.0.1), and a metrics token (the replicas run in production mode).
fn tessera_env(prefix: &str) -> Vec<(String, String)> {
    let mut extra: Vec<(String, String)> = env_file()
        .into_iter()
        .filter(|(k, _)| k != "TESSERA_SIGNING_KEY")
        .collect();
    extra.push((
        "TESSERA_SIGNING_KEY".into(),
        biscuit_auth::KeyPair::new().private().to_bytes_hex(),
    ));
    extra.push(("REDIS_KEY_PREFIX".into(), prefix.to_string()));
    extra.push(("RATE_LIMIT_PER_ADDRESS".into(), "0".into()));
    extra.push(("METRICS_TOKEN".into(), METRICS_TOKEN.into()));
    extra
}

/// Signs in through the first replica; the session works on the second (Redis). The cookie.
async fn a_session_from_one_replica_works_on_the_other(w: &Wiring) -> String {
    let cookie = cookie(&w.urls[0], Who::Budget).await;
    let created = gql(
        &w.urls[1],
        &cookie,
        "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: INTERNATIONAL, cycle: \"2028\", count: 2}) { number owner { name } } }",
        json!({"o": w.ids[&Who::FacultyA].to_string()}),
    )
    .await;
    assert_eq!(
        created["data"]["createTickets"][1]["owner"]["name"], "Alice Faculty",
        "{created}"
    );
    let stats = gql(
        &w.urls[0],
        &cookie,
        "{ ticketStats { international } }",
        json!({}),
    )
    .await;
    assert_eq!(stats["data"]["ticketStats"]["international"], 2, "{stats}");
    cookie
}

/// An API token made on the first replica works on the second; revoked on the first, it is
/// refused there at once and on the second as soon as its row is read again.
async fn a_token_revoked_on_one_replica_is_refused_on_both(w: &Wiring, cookie: &str) {
    let created = gql(
        &w.urls[0],
        cookie,
        "mutation { createApiToken(name: \"dashboard\", scopes: [TICKETS_READ]) { token apiToken { id } } }",
        json!({}),
    )
    .await;
    let token = created["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let (status, body) = with_token(&w.urls[1], &token, "{ ticketStats { international } }").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["ticketStats"]["international"], 2, "{body}");
    let revoked = gql(
        &w.urls[0],
        cookie,
        "mutation($id: ID!) { revokeApiToken(id: $id) { revoked } }",
        json!({"id": created["data"]["createApiToken"]["apiToken"]["id"]}),
    )
    .await;
    assert_eq!(
        revoked["data"]["revokeApiToken"]["revoked"], true,
        "{revoked}"
    );
    let (status, body) = with_token(&w.urls[0], &token, "{ me { id } }").await;
    assert_eq!(status, 401, "{body}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = with_token(&w.urls[1], &token, "{ me { id } }").await;
        if status == 401 {
            assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
            break;
        }
        assert_eq!(
            body["data"]["me"]["id"],
            w.ids[&Who::Budget].to_string(),
            "{body}"
        );
        assert!(
            Instant::now() < deadline,
            "the second replica never saw the revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Live updates: a subscriber of the second replica sees a change made through the first
/// (ticket-service's relay, the stream in Redis, the second gateway's follower). The
/// subscriber, still open.
async fn a_change_on_one_replica_is_live_on_the_other(w: &Wiring, cookie: &str) -> Ws {
    let mut live = Ws::signed_in(&w.urls[1], cookie).await;
    live.subscribe("1", EVENTS, json!({})).await;
    open_subscriptions(&w.urls[1], 1).await;
    let created = gql(
        &w.urls[0],
        cookie,
        "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2028\", count: 1}) { id } }",
        json!({"o": w.ids[&Who::FacultyB].to_string()}),
    )
    .await;
    let event = live.event("1").await;
    assert_eq!(
        event["data"]["ticketEvents"]["ticket"]["id"], created["data"]["createTickets"][0]["id"],
        "{event}"
    );
    assert_eq!(
        event["data"]["ticketEvents"]["ticket"]["owner"]["name"],
        "Bob Faculty"
    );
    live
}

/// Logging out on the second replica ends the session on the first, and its live updates.
async fn a_logout_on_one_replica_ends_the_session_on_both(w: &Wiring, cookie: &str, mut live: Ws) {
    let out = reqwest::Client::new()
        .post(format!("{}/auth/logout", w.urls[1]))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = gql(
        &w.urls[0],
        cookie,
        "{ me { id } ticketStats { total } }",
        json!({}),
    )
    .await;
    assert_eq!(after["data"], Value::Null, "{after}");
    assert_eq!(code(&after), Some("UNAUTHENTICATED"), "{after}");
    assert_eq!(
        live.closed().await.0,
        4403,
        "the session's live updates end with it"
    );
}

/// Kill the subgraph: its fields are UNAVAILABLE and /readyz names it.
async fn a_killed_subgraph_is_unavailable_and_named_by_readyz(w: &mut Wiring) {
    drop(w.services.remove(0));
    let cookie = cookie(&w.urls[0], Who::Grad).await;
    let down = gql(&w.urls[0], &cookie, "{ ticketStats { total } }", json!({})).await;
    assert_eq!(code(&down), Some("UNAVAILABLE"), "{down}");
    let ready = reqwest::get(format!("{}/readyz", w.urls[1])).await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["down"], json!(["ticket_service"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_on_postgres_and_redis() {
    let (Some(backend), Some(redis)) = (testkit::postgres_or_skip().await, redis_or_skip().await)
    else {
        return;
    };
    let mut wiring = Wiring::start(&backend, redis).await;
    let cookie = a_session_from_one_replica_works_on_the_other(&wiring).await;
    a_token_revoked_on_one_replica_is_refused_on_both(&wiring, &cookie).await;
    let live = a_change_on_one_replica_is_live_on_the_other(&wiring, &cookie).await;
    a_logout_on_one_replica_ends_the_session_on_both(&wiring, &cookie, live).await;
    a_killed_subgraph_is_unavailable_and_named_by_readyz(&mut wiring).await;
    wiring.stop().await;
}
