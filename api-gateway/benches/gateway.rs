//! The gateway benchmark, side by side in one run: the same ticket queries
//! (a) straight to ticket-service with a gateway-minted token,
//! (b) through our gateway with a session cookie (session lookup, the caller's token, our
//!     limits, the embedded engine's planning and execution),
//! (c) through the stock Hive Router binary on the same supergraph, without sessions (it adds
//!     a fixed token to every subgraph call), when `HIVE_ROUTER_BIN` names one.
//!
//!     cargo install hive-router --version =0.2.19 --features graphiql --root /var/tmp/hive-router-stock
//!     HIVE_ROUTER_BIN=/var/tmp/hive-router-stock/bin/hive_router cargo bench -p api-gateway --bench gateway
//!
//! Both routers run as their own release processes, and so do the subgraphs (ticket-service
//! and notify-service, in one process started from this binary); the client is this process.
//! On a small machine every piece shares the same cores, so the targets
//! take turns in short rounds (a, b, c, a, b, c, ...) and each row reports the median round's
//! requests per second and the percentiles of all its rounds' latencies: a burst of other work
//! on the machine then lands on every target alike. The `vs` columns are the median ratio of
//! neighbouring rounds (the first round of (b) against the first of (a), and so on). For the
//! two routers it also reports the CPU time their process used per request, which other work
//! on the machine moves less than it moves requests per second; for every target, the CPU
//! time per request of the subgraphs' process and of the whole machine (the user time of
//! niced processes left out): (b)'s machine time minus (a)'s is what the gateway's hop costs
//! in all.
//!
//! Settings: BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432), BENCH_TICKETS (10000),
//! BENCH_SECONDS per target and query (10), BENCH_ROUNDS (10), BENCH_CONCURRENCY (8),
//! BENCH_ROUTER_WORKERS (serving threads of both routers: `GATEWAY_THREADS` for ours,
//! `http.workers` for the stock one; each one's default, a thread per core, when unset),
//! BENCH_QUERIES (which queries, by number: `3` or `1,3`; all three when unset).
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The subgraphs hosted here run on the allocator their own binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "gateway/measure.rs"]
mod measure;
#[path = "support/measured.rs"]
mod measured;
#[path = "support/stack.rs"]
mod stack;
mod support;
use biscuit_auth::KeyPair;
use common::{Principal, Role, TokenMinter};
use db::sea_orm::{self, ConnectionTrait};
use measure::{Load, Target, round, warm_up};
use measured::Measured;
use serde_json::json;
use stack::{SUBGRAPH_PORTS, serve_subgraphs, start_gateway, start_subgraphs};
use std::{
    collections::HashMap,
    process::{Command, Stdio},
    time::Duration,
};
use support::{Killed, env, free_port};

/// What a query returns, to check every answer.
#[derive(Clone, Copy)]
enum Expect {
    /// `tickets.nodes` has this many entries.
    Page(usize),
    /// `ticket` is there.
    Ticket,
}

/// The queries measured. Every client sends the same page queries at once, which the engine's
/// in-flight de-duplication may collapse into fewer subgraph calls; the third query asks for a
/// random ticket each time, so every request reaches the subgraph.
const QUERIES: [(&str, &str, Expect); 3] = [
    (
        "page of 10, owner name",
        "{ tickets(first: 10) { nodes { number state owner { name } } } }",
        Expect::Page(10),
    ),
    (
        "page of 100, owner, applicant, supervisors, notes",
        "{ tickets(first: 100) { nodes { number state owner { name } applicant { name applicantNumber } supervisors { name } notes { body } } } }",
        Expect::Page(100),
    ),
    (
        "a random ticket by id, owner, notes",
        "query($id: ID!) { ticket(id: $id) { number state owner { name } notes { body } } }",
        Expect::Ticket,
    ),
];

/// The run's settings, from the environment (see the top of this file).
struct Settings {
    base: String,
    tickets: i64,
    seconds: u64,
    clients: usize,
    rounds: u32,
    /// Worker threads of both routers; each router's own default (one per core) when unset.
    workers: Option<usize>,
    /// The queries to measure, by number from 1.
    chosen: Vec<usize>,
}

impl Settings {
    fn from_env() -> Settings {
        let chosen: Vec<usize> = match std::env::var("BENCH_QUERIES") {
            Ok(list) => list
                .split(',')
                .map(|n| {
                    n.trim()
                        .parse()
                        .ok()
                        .filter(|n| (1..=QUERIES.len()).contains(n))
                        .unwrap_or_else(|| {
                            panic!(
                                "BENCH_QUERIES: expected query numbers from 1 to {} separated by commas, got {list:?}",
                                QUERIES.len()
                            )
                        })
                })
                .collect(),
            Err(_) => (1..=QUERIES.len()).collect(),
        };
        Settings {
            base: std::env::var("BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into()),
            tickets: env("BENCH_TICKETS", 10_000),
            seconds: env("BENCH_SECONDS", 10),
            clients: env("BENCH_CONCURRENCY", 8),
            rounds: env("BENCH_ROUNDS", 10).max(1),
            workers: std::env::var("BENCH_ROUTER_WORKERS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0),
            chosen,
        }
    }
}

/// The bench's own database, seeded.
struct Seeded {
    admin: sea_orm::DatabaseConnection,
    name: String,
    url: String,
    conn: sea_orm::DatabaseConnection,
    /// The graduate office user whose token calls ticket-service directly.
    reader: i64,
}

const PASSWORD: &str = "bench password";

/// A new database with `tickets` tickets, every user's password `PASSWORD`.
async fn seed(base: &str, tickets: i64) -> Seeded {
    let name = format!("tessera_gw_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(format!("{base}/postgres"))
        .await
        .expect("PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let url = format!("{base}/{name}");
    let conn = db::connect(&url).await.unwrap();
    db::migrate(&conn).await.unwrap();
    let reader = db::seed::bulk(
        &conn,
        tickets,
        Some(common::password::hash(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    // The seed ends with ANALYZE; a VACUUM too, so autovacuum cannot start on the fresh rows
    // in the middle of the measurement.
    conn.execute_unprepared("VACUUM").await.unwrap();
    println!("seeded {tickets} tickets");
    Seeded {
        admin,
        name,
        url,
        conn,
        reader,
    }
}

impl Seeded {
    async fn drop_database(self) {
        self.conn.close().await.ok();
        self.admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await
            .ok();
    }
}

/// The stock Hive Router at `bin` on our supergraph, adding `token` to every subgraph call,
/// once it answers: the process and its target.
async fn start_stock(
    bin: &str,
    data: &std::path::Path,
    token: &str,
    (ticket_url, notify_url): (&str, &str),
    workers: Option<usize>,
) -> (Killed, Target) {
    let port = free_port();
    std::fs::create_dir_all(data).unwrap();
    let supergraph = data.join("stock-supergraph.graphql");
    std::fs::write(&supergraph, api_gateway::SUPERGRAPH).unwrap();
    let config = data.join("router.yaml");
    std::fs::write(
        &config,
        format!(
            "supergraph:\n  source: file\n  path: {}\nhttp:\n  host: 127.0.0.1\n  port: {port}\n{}log:\n  level: error\nheaders:\n  all:\n    request:\n      - insert:\n          name: authorization\n          value: \"Bearer {token}\"\noverride_subgraph_urls:\n  subgraphs:\n    ticket_service:\n      url: {ticket_url}\n    notify_service:\n      url: {notify_url}\n",
            supergraph.display(),
            workers.map_or(String::new(), |n| format!("  workers: {n}\n")),
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .env("ROUTER_CONFIG_FILE_PATH", &config)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the stock router");
    let pid = child.id();
    let stock = Killed(child);
    let router_url = format!("http://127.0.0.1:{port}/graphql");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client
            .post(&router_url)
            .json(&json!({"query": "{ __typename }"}))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the stock router did not start");
    let target = Target {
        name: "(c) stock Hive Router 0.2.19",
        url: router_url,
        header: ("x-bench", "1".into()),
        pid: Some(pid),
    };
    (stock, target)
}

fn print_header(settings: &Settings) {
    println!();
    println!(
        "PostgreSQL, {} tickets, {} clients, {} s per target and query in {} rounds, router worker threads: {}",
        settings.tickets,
        settings.clients,
        settings.seconds,
        settings.rounds,
        settings
            .workers
            .map_or("each router's default".to_string(), |n| n.to_string())
    );
    println!(
        "| query | target | requests/s (median round) | p50 | p99 | vs (a) | vs (c) | router CPU per request | subgraphs' CPU per request | machine CPU per request |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
}

/// One row per target for query `label`.
fn print_rows(label: &str, targets: &[Target], mut results: Vec<Measured>) {
    let rps: Vec<f64> = results.iter().map(Measured::rps).collect();
    let ratios: Vec<(Option<f64>, Option<f64>)> = results
        .iter()
        .map(|m| {
            let vs = |other: Option<&Measured>| other.map(|o| m.paired(o));
            (vs(results.first()), vs(results.get(2)))
        })
        .collect();
    for (((target, m), own), (vs_a, vs_c)) in targets.iter().zip(&mut results).zip(&rps).zip(ratios)
    {
        let vs = |ratio: Option<f64>| ratio.map_or("-".to_string(), |r| format!("{r:.2}x"));
        let (p50, p99) = (m.percentile(0.50), m.percentile(0.99));
        let cpu = target.pid.map_or("-".to_string(), |_| {
            format!("{:.0} µs", m.per_request(m.cpu))
        });
        println!(
            "| {label} | {} | {own:.0} | {:.2} ms | {:.2} ms | {} | {} | {cpu} | {:.0} µs | {:.0} µs |",
            target.name,
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
            vs(vs_a),
            vs(vs_c),
            m.per_request(m.subgraphs),
            m.per_request(m.machine),
        );
    }
}

/// Every chosen query against every target, in rounds that take turns; a table row each.
async fn measure_all(settings: &Settings, targets: &[Target], subgraphs: u32) {
    let client = reqwest::Client::new();
    let slice = Duration::from_secs(settings.seconds) / settings.rounds;
    for (n, (label, query, expect)) in (1..).zip(QUERIES) {
        if !settings.chosen.contains(&n) {
            continue;
        }
        for target in targets {
            warm_up(&client, target, query, expect, settings.tickets).await;
        }
        let load = Load {
            query,
            expect,
            tickets: settings.tickets,
            clients: settings.clients,
            duration: slice,
            subgraphs,
        };
        let mut results: Vec<Measured> = targets.iter().map(|_| Measured::default()).collect();
        for _ in 0..settings.rounds {
            for (target, into) in targets.iter().zip(&mut results) {
                round(&client, target, &load, into).await;
            }
        }
        print_rows(label, targets, results);
    }
}

#[tokio::main]
async fn main() {
    if let Ok(ports) = std::env::var(SUBGRAPH_PORTS) {
        return serve_subgraphs(&ports).await;
    }
    let settings = Settings::from_env();
    let seeded = seed(&settings.base, settings.tickets).await;
    let key = KeyPair::new();
    let key_hex = key.private().to_bytes_hex();
    let data = std::env::temp_dir().join(format!("tessera-gw-bench-{}", seeded.name));
    let data_s = data.display().to_string();
    // The environment of the subgraphs' process and of our gateway; each is given its port.
    let env_map = HashMap::from([
        ("DATABASE_URL", seeded.url.as_str()),
        ("DATA_DIR", data_s.as_str()),
        ("TESSERA_SIGNING_KEY", key_hex.as_str()),
        ("RATE_LIMIT_PER_ADDRESS", "0"),
        ("RATE_LIMIT_PER_USER", "0"),
        ("RUST_LOG", "warn"),
    ]);
    let minter =
        TokenMinter::new(KeyPair::from(&key.private())).with_ttl(Duration::from_secs(3600));
    let subgraphs = start_subgraphs(&env_map).await;
    let (ticket_url, notify_url) = (subgraphs.ticket_url.clone(), subgraphs.notify_url.clone());
    let urls = (ticket_url.as_str(), notify_url.as_str());
    let (gateway, gateway_url) = start_gateway(&env_map, urls, settings.workers).await;
    let cookie = support::sign_in(&gateway_url, "grad@bench.edu", PASSWORD).await;
    let token = minter
        .mint(&Principal::user(
            seeded.reader,
            vec![Role::GradOffice],
            vec![],
        ))
        .unwrap();

    let mut targets = vec![
        Target {
            name: "(a) ticket-service directly",
            url: ticket_url.clone(),
            header: ("authorization", format!("Bearer {token}")),
            pid: None,
        },
        Target {
            name: "(b) our gateway, session cookie",
            url: format!("{gateway_url}/graphql"),
            header: ("cookie", cookie),
            pid: Some(gateway.0.id()),
        },
    ];
    let mut _stock = None;
    match std::env::var("HIVE_ROUTER_BIN") {
        Ok(bin) => {
            let (stock, target) = start_stock(&bin, &data, &token, urls, settings.workers).await;
            _stock = Some(stock);
            targets.push(target);
        }
        Err(_) => println!(
            "HIVE_ROUTER_BIN is not set: skipping (c); see the top of this file to install it"
        ),
    }

    print_header(&settings);
    measure_all(&settings, &targets, subgraphs.pid()).await;

    drop(_stock);
    drop(subgraphs);
    seeded.drop_database().await;
    let _ = std::fs::remove_dir_all(&data);
}
