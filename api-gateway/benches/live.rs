//! The live-updates benchmark: N websocket subscribers on one gateway process (the release
//! `api-gateway` binary, on PostgreSQL and Redis, ticket-service and its relay in this
//! process), a steady stream of mutations through the gateway; reports the gateway's memory,
//! the events delivered per second, and the mutation-to-client latency (from the event's
//! commit time to its arrival at each client).
//!
//!     cargo bench -p api-gateway --bench live
//!
//! Subscribers are spread over 10 graduate-office users (who see every ticket) and 10
//! faculty members (who see their own); each subscribes to `ticketEvents` with the fields a
//! dashboard shows, so each event reaches the office share (BENCH_SEE_ALL percent, 50 by
//! default) plus its owner's tenth of the rest.
//!
//! Settings: BENCH_SUBSCRIBERS (1000,10000), BENCH_RATE (mutations a second, 10),
//! BENCH_SEE_ALL (50),
//! BENCH_SECONDS (10), BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432),
//! BENCH_REDIS_URL (redis://127.0.0.1:6379).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
use biscuit_auth::KeyPair;
use common::{Role, TokenMinter, config::CommonSettings};
use db::entity::user;
use db::sea_orm::{self, ActiveModelTrait, ConnectionTrait, Set};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use support::{Killed, env, free_port, sign_in};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

const SUBSCRIPTION: &str = "subscription { ticketEvents { id kind at fromState toState ticket { id number state owner { name } } actor { name } } }";

/// `VmRSS` and `VmHWM` (peak) of a process, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or_default()
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The gateway's `METRICS_TOKEN`: it runs in production mode (a `DATABASE_URL` is set), where
/// `/metrics` answers only its bearer.
const METRICS_TOKEN: &str = "bench-metrics-token-0123456789";

async fn open_subscriptions(url: &str) -> usize {
    let metrics = reqwest::Client::new()
        .get(format!("{url}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tessera_gateway_subscriptions_open "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// One subscriber: connects, subscribes, and records the latency of every event it gets
/// until `stop`.
async fn subscriber(
    url: String,
    cookie: String,
    latencies: Arc<Mutex<Vec<u32>>>,
    connected: Arc<tokio::sync::Semaphore>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let ws_url = format!("{}/graphql", url.replacen("http", "ws", 1));
    let mut request = ws_url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    socket
        .send(Message::text(
            json!({"type": "connection_init"}).to_string(),
        ))
        .await
        .unwrap();
    let ack = socket.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}).to_string(),
        ))
        .await
        .unwrap();
    connected.add_permits(1);
    let mut mine = Vec::new();
    let mut stop = stop;
    loop {
        tokio::select! {
            message = socket.next() => {
                let Some(Ok(Message::Text(text))) = message else { break };
                let arrived = chrono::Utc::now();
                // Just the commit time, without parsing the whole message: the client's work
                // shares the cores with the gateway and should not be what is measured.
                let text = text.as_str();
                let at = text
                    .find("\"at\":\"")
                    .and_then(|i| text[i + 6..].split('"').next())
                    .unwrap_or_else(|| panic!("{text}"));
                let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
                let micros = (arrived - at.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0);
                mine.push(u32::try_from(micros.max(0)).unwrap_or(u32::MAX));
            }
            _ = stop.changed() => break,
        }
    }
    latencies.lock().unwrap().extend(mine);
}

/// The platform under load and who signs in to it.
struct Run {
    /// The gateway's base URL.
    url: String,
    /// The gateway's process.
    pid: u32,
    /// Session cookies of the graduate office users.
    office: Vec<String>,
    /// Faculty members' ids and session cookies.
    faculty: Vec<(i64, String)>,
    /// The budget director's cookie, who makes the mutations.
    budget: String,
    rate: u64,
    seconds: u64,
    see_all: usize,
}

/// The subscribers of one size, connected.
struct Subscribers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    latencies: Arc<Mutex<Vec<u32>>>,
    stop: tokio::sync::watch::Sender<bool>,
    /// How many see every ticket.
    office_count: usize,
    subscribed_rss: f64,
}

/// What the mutations streamed.
struct Streamed {
    mutations: u64,
    expected: usize,
    seconds: f64,
    peak_rss: f64,
}

impl Run {
    /// `n` subscribers, `see_all` percent of them office users and the rest faculty members,
    /// connected 200 at a time; waits until the gateway has them all open.
    async fn connect(&self, n: usize) -> Subscribers {
        let (idle_rss, _) = memory(self.pid);
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let connected = Arc::new(tokio::sync::Semaphore::new(0));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let started = Instant::now();
        let mut tasks = Vec::new();
        let gate = Arc::new(tokio::sync::Semaphore::new(200));
        let office_count = n * self.see_all / 100;
        for i in 0..n {
            let cookie = if i < office_count {
                self.office[i % self.office.len()].clone()
            } else {
                self.faculty[i % self.faculty.len()].1.clone()
            };
            let permit = gate.clone().acquire_owned().await.unwrap();
            let connected_one = Arc::new(tokio::sync::Semaphore::new(0));
            tasks.push(tokio::spawn(subscriber(
                self.url.clone(),
                cookie,
                latencies.clone(),
                connected_one.clone(),
                stop_rx.clone(),
            )));
            let connected = connected.clone();
            tokio::spawn(async move {
                let _ok = connected_one.acquire().await.unwrap();
                connected.add_permits(1);
                drop(permit);
            });
        }
        let _all = connected.acquire_many(n as u32).await.unwrap();
        while open_subscriptions(&self.url).await < n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (subscribed_rss, _) = memory(self.pid);
        println!(
            "  {n} subscribers connected in {:.1} s; gateway RSS {:.0} MiB idle, {:.0} MiB with them",
            started.elapsed().as_secs_f64(),
            idle_rss,
            subscribed_rss
        );
        Subscribers {
            tasks,
            latencies,
            stop: stop_tx,
            office_count,
            subscribed_rss,
        }
    }

    /// The mutations: one ticket for a faculty member at a time, `rate` a second, for
    /// `seconds`; then a moment for the last deliveries to land.
    async fn stream(&self, n: usize, subscribers: &Subscribers) -> Streamed {
        let client = reqwest::Client::new();
        let (rate, faculty) = (self.rate, &self.faculty);
        let mutations = rate * self.seconds;
        let mut expected = 0usize;
        let subscribers_per_faculty = (n - subscribers.office_count) / faculty.len().max(1);
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
        let stream_start = Instant::now();
        let mut peak_rss: f64 = subscribers.subscribed_rss;
        for m in 0..mutations {
            tick.tick().await;
            let owner = faculty[m as usize % faculty.len()].0;
            let r: Value = client
                .post(format!("{}/graphql", self.url))
                .header("cookie", &self.budget)
                .json(&json!({"query": "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\", count: 1}) { id } }", "variables": {"o": owner.to_string()}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(r["errors"].is_null(), "{r}");
            expected += subscribers.office_count + subscribers_per_faculty;
            if m % rate == 0 {
                peak_rss = peak_rss.max(memory(self.pid).0);
            }
        }
        let seconds = stream_start.elapsed().as_secs_f64();
        // Let the last deliveries land (they take milliseconds; the margin is generous).
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            peak_rss = peak_rss.max(memory(self.pid).0);
        }
        Streamed {
            mutations,
            expected,
            seconds,
            peak_rss,
        }
    }

    /// Stops the subscribers, prints what they got, and waits until the gateway has let
    /// them all go.
    async fn report(&self, subscribers: Subscribers, streamed: Streamed) {
        let _ = subscribers.stop.send(true);
        for task in subscribers.tasks {
            let _ = task.await;
        }
        let (_, hwm) = memory(self.pid);
        let mut all = subscribers.latencies.lock().unwrap().clone();
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                .map(|v| f64::from(*v) / 1000.0)
                .unwrap_or(f64::NAN)
        };
        let Streamed {
            mutations,
            expected,
            seconds: streamed,
            peak_rss,
        } = streamed;
        let rate = self.rate;
        println!(
            "  {mutations} mutations ({rate}/s) over {streamed:.1} s: {} of ~{expected} deliveries = {:.0} events/s delivered",
            all.len(),
            all.len() as f64 / streamed
        );
        println!(
            "  mutation-to-client latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; gateway RSS peak {:.0} MiB (VmHWM {:.0} MiB)",
            pct(0.50),
            pct(0.99),
            pct(1.0),
            peak_rss,
            hwm
        );
        while open_subscriptions(&self.url).await > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn run(&self, n: usize) {
        let subscribers = self.connect(n).await;
        let streamed = self.stream(n, &subscribers).await;
        self.report(subscribers, streamed).await;
    }
}

const PASSWORD: &str = "bench password";

/// The budget director, 10 graduate office users and 10 faculty members, every password
/// `PASSWORD`: the office users' emails and the faculty members' ids and emails.
async fn seed_users(conn: &sea_orm::DatabaseConnection) -> (Vec<String>, Vec<(i64, String)>) {
    let hash = common::password::hash(PASSWORD).unwrap();
    let now = db::now();
    let add = |email: String, role: Role| {
        let conn = conn.clone();
        let hash = hash.clone();
        async move {
            user::ActiveModel {
                email: Set(email.clone()),
                name: Set(email),
                roles: Set(user::format_roles(&[role])),
                password_hash: Set(Some(hash)),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&conn)
            .await
            .unwrap()
            .id
        }
    };
    add("budget@bench.edu".into(), Role::BudgetDirector).await;
    let mut office_emails = Vec::new();
    let mut faculty_ids = Vec::new();
    for i in 0..10 {
        let email = format!("office{i}@bench.edu");
        add(email.clone(), Role::GradOffice).await;
        office_emails.push(email);
        let email = format!("faculty{i}@bench.edu");
        faculty_ids.push((add(email.clone(), Role::Faculty).await, email));
    }
    (office_emails, faculty_ids)
}

/// ticket-service (and nothing else) in this process, on `env_map`'s database; its URL.
async fn start_ticket_service(
    env_map: &HashMap<&str, &str>,
    minter: &TokenMinter,
    conn: &sea_orm::DatabaseConnection,
) -> String {
    let tickets = ticket_service::Application::build_with_db(
        ticket_service::Settings {
            common: CommonSettings::from_source(env_map).unwrap(),
            port: 0,
            verifier: minter.verifier(),
        },
        conn.clone(),
    )
    .await
    .unwrap();
    let ticket_url = format!("http://127.0.0.1:{}/graphql", tickets.port());
    tokio::spawn(tickets.run_until_stopped());
    ticket_url
}

/// The release gateway binary on `env_map`'s database, Redis and key, calling `ticket_url`,
/// once it answers: the process and its base URL.
async fn start_gateway(env_map: &HashMap<&str, &str>, ticket_url: &str) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_api-gateway"))
        .env_clear()
        .env("DATABASE_URL", env_map["DATABASE_URL"])
        .env("REDIS_URL", env_map["REDIS_URL"])
        .env("REDIS_KEY_PREFIX", env_map["REDIS_KEY_PREFIX"])
        .env("DATA_DIR", env_map["DATA_DIR"])
        .env("TESSERA_SIGNING_KEY", env_map["TESSERA_SIGNING_KEY"])
        .env("PORT", port.to_string())
        .env("TICKET_SERVICE_URL", ticket_url)
        .env("RATE_LIMIT_PER_ADDRESS", "0")
        .env("RATE_LIMIT_PER_USER", "0")
        .env("METRICS_TOKEN", METRICS_TOKEN)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the gateway binary");
    let gateway = format!("http://127.0.0.1:{port}");
    let process = Killed(child);
    support::wait_for_health(&gateway, 200).await;
    (process, gateway)
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_SUBSCRIBERS")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let base = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let redis =
        std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let name = format!("tessera_live_bench_{}", uuid::Uuid::new_v4().simple());
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
    let (office_emails, faculty_ids) = seed_users(&conn).await;

    let key = KeyPair::new();
    let key_hex = key.private().to_bytes_hex();
    let prefix = format!("tessera-live-bench-{}", uuid::Uuid::new_v4().simple());
    let data = std::env::temp_dir().join(format!("tessera-live-bench-{name}"));
    let data_s = data.display().to_string();
    let env_map = HashMap::from([
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("DATA_DIR", data_s.as_str()),
        ("TESSERA_SIGNING_KEY", key_hex.as_str()),
        ("PORT", "0"),
    ]);
    let minter = TokenMinter::new(KeyPair::from(&key.private()));
    let ticket_url = start_ticket_service(&env_map, &minter, &conn).await;
    let (gateway_process, gateway) = start_gateway(&env_map, &ticket_url).await;

    let mut run = Run {
        pid: gateway_process.0.id(),
        budget: sign_in(&gateway, "budget@bench.edu", PASSWORD).await,
        office: Vec::new(),
        faculty: Vec::new(),
        rate: env("BENCH_RATE", 10),
        seconds: env("BENCH_SECONDS", 10),
        see_all: env::<usize>("BENCH_SEE_ALL", 50).min(100),
        url: gateway,
    };
    for email in &office_emails {
        run.office.push(sign_in(&run.url, email, PASSWORD).await);
    }
    for (id, email) in &faculty_ids {
        run.faculty
            .push((*id, sign_in(&run.url, email, PASSWORD).await));
    }
    println!(
        "live updates: one gateway process (release), PostgreSQL + Redis, {} cores; {}% of subscribers see every ticket",
        std::thread::available_parallelism().map_or(0, usize::from),
        run.see_all
    );
    for n in sizes {
        println!("N = {n}");
        run.run(n).await;
    }
    drop(gateway_process);
    conn.close().await.ok();
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    let _ = std::fs::remove_dir_all(&data);
}
