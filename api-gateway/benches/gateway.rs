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
//! Both routers run as their own release processes; ticket-service, notify-service and the
//! client share this one. On a small machine every piece shares the same cores, so the targets
//! take turns in short rounds (a, b, c, a, b, c, ...) and each row reports the median round's
//! requests per second and the percentiles of all its rounds' latencies: a burst of other work
//! on the machine then lands on every target alike. The `vs` columns are the median ratio of
//! neighbouring rounds (the first round of (b) against the first of (a), and so on). For the
//! two routers it also reports the CPU time their process used per request, which other work
//! on the machine moves less than it moves requests per second.
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

mod support;
use biscuit_auth::KeyPair;
use common::{Principal, Role, TokenMinter, config::CommonSettings};
use db::sea_orm::{self, ConnectionTrait};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    process::{Command, Stdio},
    time::{Duration, Instant},
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

/// How one target is called.
#[derive(Clone)]
struct Target {
    name: &'static str,
    url: String,
    header: (&'static str, String),
    /// The router's own process, whose CPU time each round measures (none for (a), which
    /// runs in this process).
    pid: Option<u32>,
}

/// The CPU time all threads of process `pid` have used so far (Linux: the scheduler's own
/// nanosecond count in `/proc/<pid>/task/*/schedstat`); zero where that cannot be read.
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

async fn call(
    client: &reqwest::Client,
    target: &Target,
    query: &str,
    expect: Expect,
    tickets: i64,
) {
    use rand::Rng;
    let variables = match expect {
        Expect::Ticket => json!({"id": rand::thread_rng().gen_range(1..=tickets).to_string()}),
        Expect::Page(_) => json!({}),
    };
    let r = client
        .post(&target.url)
        .header(target.header.0, &target.header.1)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", target.name);
    let body: Value = r.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{}: {body}", target.name);
    match expect {
        Expect::Page(n) => assert_eq!(
            body["data"]["tickets"]["nodes"].as_array().map(Vec::len),
            Some(n),
            "{}",
            target.name
        ),
        Expect::Ticket => assert!(body["data"]["ticket"]["number"].is_number(), "{body}"),
    }
}

/// One target's rounds for one query.
#[derive(Default)]
struct Measured {
    /// Requests per second of each round.
    rounds: Vec<f64>,
    /// Every request's latency, over all rounds.
    latencies: Vec<Duration>,
    /// The router process's CPU time over all rounds.
    cpu: Duration,
}

/// The median of `values` (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

impl Measured {
    /// The median round's requests per second.
    fn rps(&self) -> f64 {
        median(self.rounds.clone())
    }

    /// How this target's requests per second compare with `other`'s: the median of the ratios
    /// of rounds that ran one after the other (the machine's state drifts between runs and
    /// within them; neighbouring rounds see nearly the same machine).
    fn paired(&self, other: &Measured) -> f64 {
        median(
            self.rounds
                .iter()
                .zip(&other.rounds)
                .map(|(own, theirs)| own / theirs)
                .collect(),
        )
    }

    /// The router's CPU time per request, in microseconds.
    fn cpu_per_request(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.latencies.len().max(1) as f64
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        let last = self.latencies.len() - 1;
        self.latencies[((self.latencies.len() as f64 * p) as usize).min(last)]
    }
}

async fn warm_up(
    client: &reqwest::Client,
    target: &Target,
    query: &str,
    expect: Expect,
    tickets: i64,
) {
    for _ in 0..50 {
        call(client, target, query, expect, tickets).await;
    }
}

/// What each round sends.
struct Load {
    query: &'static str,
    expect: Expect,
    tickets: i64,
    clients: usize,
    duration: Duration,
}

/// `load.clients` concurrent callers for `load.duration`; adds the round to `into`.
async fn round(client: &reqwest::Client, target: &Target, load: &Load, into: &mut Measured) {
    let Load {
        query,
        expect,
        tickets,
        clients,
        duration,
    } = *load;
    let cpu_before = target.pid.map(cpu_time);
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (client, target) = (client.clone(), target.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    call(&client, &target, query, expect, tickets).await;
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut count = 0;
    for w in workers {
        let latencies = w.await.unwrap();
        count += latencies.len();
        into.latencies.extend(latencies);
    }
    into.rounds
        .push(count as f64 / started.elapsed().as_secs_f64());
    if let (Some(pid), Some(before)) = (target.pid, cpu_before) {
        into.cpu += cpu_time(pid).saturating_sub(before);
    }
}

#[tokio::main]
async fn main() {
    let base = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let tickets: i64 = env("BENCH_TICKETS", 10_000);
    let seconds: u64 = env("BENCH_SECONDS", 10);
    let clients: usize = env("BENCH_CONCURRENCY", 8);
    let rounds: u32 = env("BENCH_ROUNDS", 10).max(1);
    // Worker threads of both routers; each router's own default (one per core) when unset.
    let workers: Option<usize> = std::env::var("BENCH_ROUTER_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0);
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
    let password = "bench password";
    let reader = db::seed::bulk(
        &conn,
        tickets,
        Some(common::password::hash(password).unwrap()),
    )
    .await
    .unwrap();
    // The seed ends with ANALYZE; a VACUUM too, so autovacuum cannot start on the fresh rows
    // in the middle of the measurement.
    conn.execute_unprepared("VACUUM").await.unwrap();
    println!("seeded {tickets} tickets");

    let key = KeyPair::new();
    let key_hex = key.private().to_bytes_hex();
    let data = std::env::temp_dir().join(format!("tessera-gw-bench-{name}"));
    let data_s = data.display().to_string();
    let env_map = HashMap::from([
        ("DATABASE_URL", url.as_str()),
        ("DATA_DIR", data_s.as_str()),
        ("TESSERA_SIGNING_KEY", key_hex.as_str()),
        ("PORT", "0"),
        ("RATE_LIMIT_PER_ADDRESS", "0"),
        ("RATE_LIMIT_PER_USER", "0"),
        ("RUST_LOG", "warn"),
    ]);
    let minter =
        TokenMinter::new(KeyPair::from(&key.private())).with_ttl(Duration::from_secs(3600));
    let tickets_app = ticket_service::Application::build_with_db(
        ticket_service::Settings {
            common: CommonSettings::from_source(&env_map).unwrap(),
            port: 0,
            verifier: minter.verifier(),
        },
        conn.clone(),
    )
    .await
    .unwrap();
    let notify_app = notify_service::Application::build_with_db(
        notify_service::Settings {
            common: CommonSettings::from_source(&env_map).unwrap(),
            port: 0,
            verifier: minter.verifier(),
        },
        conn.clone(),
    )
    .await
    .unwrap();
    let ticket_url = format!("http://127.0.0.1:{}/graphql", tickets_app.port());
    let notify_url = format!("http://127.0.0.1:{}/graphql", notify_app.port());
    tokio::spawn(tickets_app.run_until_stopped());
    tokio::spawn(notify_app.run_until_stopped());
    // Our gateway as its own release process (built with this bench), like the stock router.
    let port = free_port();
    let gateway = Killed(
        Command::new(env!("CARGO_BIN_EXE_api-gateway"))
            .env_clear()
            .env("DATABASE_URL", &url)
            .env("DATA_DIR", &data_s)
            .env("TESSERA_SIGNING_KEY", &key_hex)
            .env("PORT", port.to_string())
            .env("TICKET_SERVICE_URL", &ticket_url)
            .env("NOTIFY_SERVICE_URL", &notify_url)
            .env("RATE_LIMIT_PER_ADDRESS", "0")
            .env("RATE_LIMIT_PER_USER", "0")
            .env("RUST_LOG", "warn")
            .envs(workers.map(|n| ("GATEWAY_THREADS", n.to_string())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the gateway binary"),
    );
    let gateway_url = format!("http://127.0.0.1:{port}");
    support::wait_for_health(&gateway_url, 100).await;

    let login = reqwest::Client::new()
        .post(format!("{gateway_url}/auth/login"))
        .json(&json!({"email": "grad@bench.edu", "password": password}))
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
    let token = minter
        .mint(&Principal::user(reader, vec![Role::GradOffice], vec![]))
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
            let port = free_port();
            std::fs::create_dir_all(&data).unwrap();
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
            let child = Command::new(&bin)
                .env("ROUTER_CONFIG_FILE_PATH", &config)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the stock router");
            let pid = child.id();
            _stock = Some(Killed(child));
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
            targets.push(Target {
                name: "(c) stock Hive Router 0.2.19",
                url: router_url,
                header: ("x-bench", "1".into()),
                pid: Some(pid),
            });
        }
        Err(_) => println!(
            "HIVE_ROUTER_BIN is not set: skipping (c); see the top of this file to install it"
        ),
    }

    println!();
    println!(
        "PostgreSQL, {tickets} tickets, {clients} clients, {seconds} s per target and query in {rounds} rounds, router worker threads: {}",
        workers.map_or("each router's default".to_string(), |n| n.to_string())
    );
    println!(
        "| query | target | requests/s (median round) | p50 | p99 | vs (a) | vs (c) | router CPU per request |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let client = reqwest::Client::new();
    let slice = Duration::from_secs(seconds) / rounds;
    for (n, (label, query, expect)) in (1..).zip(QUERIES) {
        if !chosen.contains(&n) {
            continue;
        }
        for target in &targets {
            warm_up(&client, target, query, expect, tickets).await;
        }
        let load = Load {
            query,
            expect,
            tickets,
            clients,
            duration: slice,
        };
        let mut results: Vec<Measured> = targets.iter().map(|_| Measured::default()).collect();
        for _ in 0..rounds {
            for (target, into) in targets.iter().zip(&mut results) {
                round(&client, target, &load, into).await;
            }
        }
        let rps: Vec<f64> = results.iter().map(Measured::rps).collect();
        let ratios: Vec<(Option<f64>, Option<f64>)> = results
            .iter()
            .map(|m| {
                let vs = |other: Option<&Measured>| other.map(|o| m.paired(o));
                (vs(results.first()), vs(results.get(2)))
            })
            .collect();
        for (((target, m), own), (vs_a, vs_c)) in
            targets.iter().zip(&mut results).zip(&rps).zip(ratios)
        {
            let vs = |ratio: Option<f64>| ratio.map_or("-".to_string(), |r| format!("{r:.2}x"));
            let (p50, p99) = (m.percentile(0.50), m.percentile(0.99));
            let cpu = target.pid.map_or("-".to_string(), |_| {
                format!("{:.0} µs", m.cpu_per_request())
            });
            println!(
                "| {label} | {} | {own:.0} | {:.2} ms | {:.2} ms | {} | {} | {cpu} |",
                target.name,
                p50.as_secs_f64() * 1000.0,
                p99.as_secs_f64() * 1000.0,
                vs(vs_a),
                vs(vs_c),
            );
        }
    }

    drop(_stock);
    conn.close().await.ok();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .ok();
    let _ = std::fs::remove_dir_all(&data);
}
