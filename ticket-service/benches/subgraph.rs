//! The subgraph benchmark: seeds 10,000 tickets into a fresh PostgreSQL database and reports,
//! for a page of 100 tickets with owner, applicant, supervisors and notes, the SQL statements
//! one request costs and the requests per second (with latency percentiles) straight to the
//! subgraph over HTTP.
//!
//!     cargo bench -p ticket-service --bench subgraph
//!
//! Settings: BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432), BENCH_TICKETS (10000),
//! BENCH_SECONDS (10), BENCH_CONCURRENCY (8).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use biscuit_auth::KeyPair;
use common::{Principal, Role, TokenMinter, config::CommonSettings};
use sea_orm::ConnectionTrait;
use serde_json::json;
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

const QUERY: &str = "{ tickets(first: 100) { nodes { number state owner { name } applicant { name applicantNumber } supervisors { name } notes { body } } } }";

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One page request, its answer checked.
async fn call(client: reqwest::Client, endpoint: String, token: String) {
    let r = client
        .post(endpoint)
        .bearer_auth(token)
        .json(&json!({"query": QUERY}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["tickets"]["nodes"].as_array().map(Vec::len),
        Some(100)
    );
}

/// The database, seeded: the server's connection, the database's name and URL, a connection to
/// it, and the graduate office reader.
struct Seeded {
    admin: sea_orm::DatabaseConnection,
    name: String,
    url: String,
    conn: sea_orm::DatabaseConnection,
    reader: Principal,
}

/// A new database with `tickets` tickets.
async fn seeded(base: &str, tickets: i64) -> Seeded {
    let name = format!("tessera_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(format!("{base}/postgres"))
        .await
        .expect("PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");
    let url = format!("{base}/{name}");
    let conn = db::connect(&url).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    let started = Instant::now();
    let reader = db::seed::bulk(&conn, tickets, None).await.unwrap();
    let reader = Principal::user(reader, vec![Role::GradOffice], vec![]);
    println!(
        "seeded {tickets} tickets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Seeded {
        admin,
        name,
        url,
        conn,
        reader,
    }
}

/// ticket-service on `conn`; its endpoint.
async fn serve(url: &str, conn: &sea_orm::DatabaseConnection, minter: &TokenMinter) -> String {
    let env_map = HashMap::from([("DATABASE_URL", url)]);
    let settings = ticket_service::Settings {
        common: CommonSettings::from_source(&env_map).unwrap(),
        port: 0,
        verifier: minter.verifier(),
    };
    let app = ticket_service::Application::build_with_db(settings, conn.clone())
        .await
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{}/graphql", app.port());
    tokio::spawn(app.run_until_stopped());
    endpoint
}

/// `concurrency` clients for `seconds`: every request's latency, sorted.
async fn load(endpoint: &str, token: &str, concurrency: usize, seconds: u64) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    // Spawned eagerly: every client runs for the whole measuring window.
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, endpoint, token) =
                (client.clone(), endpoint.to_string(), token.to_string());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    call(client.clone(), endpoint.clone(), token.clone()).await;
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    latencies.sort();
    latencies
}

fn print(
    tickets: i64,
    per_request: &[usize],
    latencies: &[Duration],
    (concurrency, seconds): (usize, u64),
) {
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!();
    println!(
        "ticket-service, PostgreSQL, {tickets} tickets, page of 100 with owner, applicant, supervisors, notes"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| SQL statements per request | {} (5 samples: {:?}) |",
        per_request.iter().max().unwrap(),
        per_request
    );
    println!(
        "| requests/s ({concurrency} clients, {seconds} s) | {:.0} |",
        latencies.len() as f64 / seconds as f64
    );
    println!(
        "| latency p50 | {:.2} ms |",
        pct(0.50).as_secs_f64() * 1000.0
    );
    println!(
        "| latency p99 | {:.2} ms |",
        pct(0.99).as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let base = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let tickets: i64 = env("BENCH_TICKETS", 10_000);
    let seconds: u64 = env("BENCH_SECONDS", 10);
    let concurrency: usize = env("BENCH_CONCURRENCY", 8);
    let Seeded {
        admin,
        name,
        url,
        mut conn,
        reader,
    } = seeded(&base, tickets).await;
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    conn.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let minter = TokenMinter::new(KeyPair::new()).with_ttl(Duration::from_secs(3600));
    let endpoint = serve(&url, &conn, &minter).await;
    let token = minter.mint(&reader).unwrap();
    let client = reqwest::Client::new();
    for _ in 0..20 {
        call(client.clone(), endpoint.clone(), token.clone()).await;
    }
    let mut per_request = Vec::new();
    for _ in 0..5 {
        statements.store(0, Ordering::SeqCst);
        call(client.clone(), endpoint.clone(), token.clone()).await;
        per_request.push(statements.load(Ordering::SeqCst));
    }
    let latencies = load(&endpoint, &token, concurrency, seconds).await;
    print(tickets, &per_request, &latencies, (concurrency, seconds));

    conn.close().await.ok();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .ok();
}
