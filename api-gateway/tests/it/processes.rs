//! The production wiring: ticket-service and two api-gateway replicas as separate processes
//! (the binaries `cargo build` makes) on PostgreSQL, sharing sessions through Redis, with the
//! environment compose would pass them.

use crate::support::{PASSWORD, Who, code, postgres_or_skip, redis_or_skip, seed_cast};
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary(name: &str) -> PathBuf {
    // Integration tests run from target/<profile>/deps; the binaries sit one level up.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (it builds every binary)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(name: &str, env: &[(&str, String)]) -> Proc {
    let mut command = Command::new(binary(name));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        command.env(k, v);
    }
    Proc(command.spawn().unwrap())
}

async fn wait_ready(url: &str) {
    for _ in 0..300 {
        if let Ok(r) = reqwest::get(format!("{url}/readyz")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never became ready");
}

async fn gql(url: &str, cookie: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .header(COOKIE, cookie)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_on_postgres_and_redis() {
    let (Some(backend), Some(redis)) = (postgres_or_skip().await, redis_or_skip().await) else {
        return;
    };
    let database = testkit::TestDatabase::create(&backend, "gw_proc").await;
    let database_url = database.url.clone();
    let name = database_url.rsplit('/').next().unwrap().to_string();
    let conn = db::connect(&database_url).await.unwrap();
    db::migrate(&conn).await.unwrap();
    let ids = seed_cast(&conn).await;

    let data = std::env::temp_dir().join(format!("tessera-proc-{name}"));
    let key = biscuit_auth::KeyPair::new().private().to_bytes_hex();
    let shared = vec![
        ("DATABASE_URL", database_url.clone()),
        ("REDIS_URL", redis.clone()),
        ("TESSERA_SIGNING_KEY", key),
        ("DATA_DIR", data.display().to_string()),
        ("RATE_LIMIT_PER_ADDRESS", "0".into()),
        ("REDIS_KEY_PREFIX", name.clone()),
    ];
    let ticket_port = free_port();
    let mut env = shared.clone();
    env.push(("PORT", ticket_port.to_string()));
    let _tickets = start("ticket-service", &env);
    let notify_port = free_port();
    let mut env = shared.clone();
    env.push(("PORT", notify_port.to_string()));
    let _notify = start("notify-service", &env);
    let export_port = free_port();
    let mut env = shared.clone();
    env.push(("PORT", export_port.to_string()));
    let _export = start("export-service", &env);
    let mut gateways = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        let mut env = shared.clone();
        env.push(("PORT", port.to_string()));
        env.push((
            "TICKET_SERVICE_URL",
            format!("http://127.0.0.1:{ticket_port}/graphql"),
        ));
        env.push((
            "NOTIFY_SERVICE_URL",
            format!("http://127.0.0.1:{notify_port}/graphql"),
        ));
        env.push((
            "EXPORT_SERVICE_URL",
            format!("http://127.0.0.1:{export_port}/graphql"),
        ));
        gateways.push(start("api-gateway", &env));
        urls.push(format!("http://127.0.0.1:{port}"));
    }
    for url in &urls {
        wait_ready(url).await;
    }

    // Sign in through the first replica; the session works on the second (Redis).
    let login = reqwest::Client::new()
        .post(format!("{}/auth/login", urls[0]))
        .json(&json!({"email": Who::Budget.email(), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let created = gql(
        &urls[1],
        &cookie,
        "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: INTERNATIONAL, cycle: \"2028\", count: 2}) { number owner { name } } }",
        json!({"o": ids[&Who::FacultyA].to_string()}),
    )
    .await;
    assert_eq!(
        created["data"]["createTickets"][1]["owner"]["name"], "Alice Faculty",
        "{created}"
    );
    let stats = gql(
        &urls[0],
        &cookie,
        "{ ticketStats { international } }",
        json!({}),
    )
    .await;
    assert_eq!(stats["data"]["ticketStats"]["international"], 2, "{stats}");

    // Logging out on the second replica ends the session on the first.
    let out = reqwest::Client::new()
        .post(format!("{}/auth/logout", urls[1]))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = gql(
        &urls[0],
        &cookie,
        "{ me { id } ticketStats { total } }",
        json!({}),
    )
    .await;
    assert_eq!(after["data"], Value::Null, "{after}");
    assert_eq!(code(&after), Some("UNAUTHENTICATED"), "{after}");

    // Kill the subgraph: its fields are UNAVAILABLE and /readyz names it.
    drop(_tickets);
    let login = reqwest::Client::new()
        .post(format!("{}/auth/login", urls[0]))
        .json(&json!({"email": Who::Grad.email(), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let down = gql(&urls[0], &cookie, "{ ticketStats { total } }", json!({})).await;
    assert_eq!(code(&down), Some("UNAVAILABLE"), "{down}");
    let ready = reqwest::get(format!("{}/readyz", urls[1])).await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["down"], json!(["ticket_service"]));

    drop(gateways);
    conn.close().await.ok();
    database.remove().await;
    let _ = std::fs::remove_dir_all(&data);
}
