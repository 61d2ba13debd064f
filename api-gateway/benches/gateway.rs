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

mod support;
use biscuit_auth::KeyPair;
use common::{Principal, Role, TokenMinter, config::SubgraphSettings};
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

/// The CPU time the whole machine has spent so far outside idle, less the user time of niced
/// processes (Linux: `/proc/stat`, in the kernel's fixed 1/100 s ticks): the client, the
/// subgraphs, PostgreSQL and the router together, and of a niced build in the background only
/// its time in the kernel (the kernel does not count that apart). Zero where that cannot be
/// read.
fn machine_busy() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return Duration::ZERO;
    };
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    // user, nice, system, idle, iowait, irq, softirq, ...
    let busy = match ticks.as_slice() {
        [user, _nice, system, _idle, _iowait, irq, softirq, ..] => user + system + irq + softirq,
        _ => 0,
    };
    Duration::from_millis(busy * 10)
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
    /// The subgraphs' process's CPU time over all rounds.
    subgraphs: Duration,
    /// The machine's CPU time over all rounds (`machine_busy`).
    machine: Duration,
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

    /// `time` per request, in microseconds.
    fn per_request(&self, time: Duration) -> f64 {
        time.as_secs_f64() * 1e6 / self.latencies.len().max(1) as f64
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
    /// The subgraphs' process, whose CPU time each round measures too.
    subgraphs: u32,
}

/// `load.clients` concurrent callers for `load.duration`; adds the round to `into`.
async fn round(client: &reqwest::Client, target: &Target, load: &Load, into: &mut Measured) {
    let Load {
        query,
        expect,
        tickets,
        clients,
        duration,
        subgraphs,
    } = *load;
    let subgraphs_before = cpu_time(subgraphs);
    let cpu_before = target.pid.map(cpu_time);
    let machine_before = machine_busy();
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
    into.machine += machine_busy().saturating_sub(machine_before);
    into.subgraphs += cpu_time(subgraphs).saturating_sub(subgraphs_before);
    if let (Some(pid), Some(before)) = (target.pid, cpu_before) {
        into.cpu += cpu_time(pid).saturating_sub(before);
    }
}

/// Set (to `<ticket-service port>,<notify-service port>`) in the child process that hosts the
/// subgraphs.
const SUBGRAPH_PORTS: &str = "BENCH_SUBGRAPH_PORTS";

/// The subgraphs' process: ticket-service and notify-service built from the environment the
/// bench passes (database, key, data folder) as their own binaries build them (notify-service
/// without its email worker), each with its own database pool, served until the bench kills
/// the process.
async fn serve_subgraphs(ports: &str) {
    let (ticket, notify) = ports.split_once(',').expect("two ports");
    let vars: HashMap<String, String> = std::env::vars().collect();
    let settings = |port: &str| {
        let mut source: HashMap<&str, &str> =
            vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        source.insert("PORT", port);
        SubgraphSettings::from_source(&source, 0).unwrap()
    };
    let tickets = ticket_service::Application::build(settings(ticket))
        .await
        .unwrap();
    // Without the email worker its binary starts: nothing here sends mail.
    let notify = settings(notify);
    let db = db::connect(&notify.common.database_url).await.unwrap();
    let notify = notify_service::Application::build_with_db(notify, db)
        .await
        .unwrap();
    tokio::select! {
        served = tickets.run_until_stopped() => served.unwrap(),
        served = notify.run_until_stopped() => served.unwrap(),
    }
}

#[tokio::main]
async fn main() {
    if let Ok(ports) = std::env::var(SUBGRAPH_PORTS) {
        return serve_subgraphs(&ports).await;
    }
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
    // The environment of the subgraphs' process and of our gateway; each is given its port.
    let env_map = HashMap::from([
        ("DATABASE_URL", url.as_str()),
        ("DATA_DIR", data_s.as_str()),
        ("TESSERA_SIGNING_KEY", key_hex.as_str()),
        ("RATE_LIMIT_PER_ADDRESS", "0"),
        ("RATE_LIMIT_PER_USER", "0"),
        ("RUST_LOG", "warn"),
    ]);
    let minter =
        TokenMinter::new(KeyPair::from(&key.private())).with_ttl(Duration::from_secs(3600));
    // The subgraphs in a process of their own (this binary again, see `serve_subgraphs`), as
    // their binaries run them: a client calling ticket-service directly crosses a process
    // boundary just as the routers' calls do, and shares no runtime with it.
    let (ticket_port, notify_port) = (free_port(), free_port());
    let subgraphs_process = Killed(
        Command::new(std::env::current_exe().unwrap())
            .env_clear()
            .envs(&env_map)
            .env(SUBGRAPH_PORTS, format!("{ticket_port},{notify_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the subgraphs' process"),
    );
    let ticket_url = format!("http://127.0.0.1:{ticket_port}/graphql");
    let notify_url = format!("http://127.0.0.1:{notify_port}/graphql");
    for url in [&ticket_url, &notify_url] {
        support::wait_for_health(url.trim_end_matches("/graphql"), 100).await;
    }
    // Our gateway as its own release process (built with this bench), like the stock router.
    let port = free_port();
    let gateway = Killed(
        Command::new(env!("CARGO_BIN_EXE_api-gateway"))
            .env_clear()
            .envs(&env_map)
            .env("PORT", port.to_string())
            .env("TICKET_SERVICE_URL", &ticket_url)
            .env("NOTIFY_SERVICE_URL", &notify_url)
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
        "| query | target | requests/s (median round) | p50 | p99 | vs (a) | vs (c) | router CPU per request | subgraphs' CPU per request | machine CPU per request |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
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
            subgraphs: subgraphs_process.0.id(),
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

    drop(_stock);
    drop(subgraphs_process);
    conn.close().await.ok();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .ok();
    let _ = std::fs::remove_dir_all(&data);
}
