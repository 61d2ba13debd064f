//! The mixed benchmark: what many different users send, on PostgreSQL with 100,000 tickets,
//! side by side in one run:
//! (a) straight to ticket-service, each session with a gateway-minted token of its user,
//! (b) through our gateway (its release binary) with each session's cookie,
//! (c) PostGraphile v4 with Tessera's visibility as row-level security (a JWT per user),
//! (d) PostGraphile v4 as the table owner (no visibility rules at all).
//!
//!     cargo bench -p api-gateway --bench mixed
//!
//! Users of every role that reads tickets (FACULTY, FSS, ASSOCIATE_CHAIR, GRAD_OFFICE,
//! BUDGET_DIRECTOR) hold `BENCH_SESSIONS` sessions, spread over `BENCH_CONCURRENCY` clients;
//! each request is for one of a client's sessions at random. The page query walks that
//! session's list page by page along the cursor chain (100 a page, with owner, applicant,
//! supervisors, notes, page information and the count), starting another list (a random
//! filter and ordering) after 1 to 10 pages; the ticket query asks for a ticket the user may
//! see. The gateway's sharing of identical calls in flight stays on: it only helps when two
//! sessions ask the very same thing at once.
//!
//! The targets take turns in rounds (a, b, c, d, a, ...); each row reports the median round's
//! requests per second, the latency percentiles of all its rounds, the ratio to PostGraphile
//! (median of neighbouring rounds), the CPU time per request of each process read from
//! `/proc` (the gateway or node, ticket-service's process, PostgreSQL's backends of the
//! database), SQL statements per request ticket-service sent (each round's count, to see
//! that it does not move with the load) and PostgreSQL transactions per request.
//!
//! The database (`tessera_mixed_bench_<tickets>`) is seeded once and kept between runs.
//! PostGraphile comes from `benches/postgraphile/` (`npm ci` there when `node_modules` is
//! missing; Node.js needed).
//!
//! Settings: BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432), BENCH_TICKETS (100000),
//! BENCH_SECONDS per target and query (20), BENCH_ROUNDS (5), BENCH_CONCURRENCY (16),
//! BENCH_SESSIONS (128), BENCH_QUERIES (`page`, `ticket` or both: `page,ticket`),
//! BENCH_POSTGRAPHILE (`0` leaves (c) and (d) out), BENCH_ROUTER_WORKERS (`GATEWAY_THREADS`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The subgraphs hosted here run on the allocator their own binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/measured.rs"]
mod measured;
/// The mixed workload's parts.
mod mixed {
    pub mod people;
    pub mod postgraphile;
    pub mod report;
    pub mod run;
    pub mod workload;
}
#[path = "support/stack.rs"]
mod stack;
mod support;

use biscuit_auth::KeyPair;
use common::{Principal, Role, TokenMinter};
use mixed::{
    people::{self, PASSWORD, Person},
    postgraphile,
    run::{Bench, Credential, Tally, Target},
    workload::{Chain, Dialect, Kind},
};
use std::{collections::HashMap, sync::Arc, time::Duration};
use support::env;

/// The run's settings, from the environment (see the top of this file).
struct Settings {
    base: String,
    tickets: i64,
    seconds: u64,
    rounds: u32,
    clients: usize,
    sessions: usize,
    kinds: Vec<Kind>,
    postgraphile: bool,
    workers: Option<usize>,
}

impl Settings {
    fn from_env() -> Settings {
        let kinds = std::env::var("BENCH_QUERIES").unwrap_or_else(|_| "page,ticket".into());
        let kinds = kinds
            .split(',')
            .map(|k| match k.trim() {
                "page" => Kind::Page,
                "ticket" => Kind::Ticket,
                other => panic!("BENCH_QUERIES: `page` or `ticket`, not {other:?}"),
            })
            .collect();
        Settings {
            base: std::env::var("BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into()),
            tickets: env("BENCH_TICKETS", 100_000),
            seconds: env("BENCH_SECONDS", 20),
            rounds: env("BENCH_ROUNDS", 5).max(1),
            clients: env("BENCH_CONCURRENCY", 16).max(1),
            sessions: env("BENCH_SESSIONS", 128).max(1),
            kinds,
            postgraphile: env("BENCH_POSTGRAPHILE", 1) != 0,
            workers: std::env::var("BENCH_ROUTER_WORKERS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0),
        }
    }
}

/// Every faculty member's id.
fn faculty(people: &[Person]) -> Vec<i64> {
    people
        .iter()
        .filter(|p| p.role == Role::Faculty)
        .map(|p| p.id)
        .collect()
}

/// The person behind session `s`.
fn person(people: &[Person], s: usize) -> &Person {
    &people[s % people.len()]
}

/// Every session signed in at the gateway (four at a time): its cookie header.
async fn sign_in_all(gateway: &str, people: &[Person], sessions: usize) -> Vec<Credential> {
    let mut cookies = Vec::with_capacity(sessions);
    for batch in (0..sessions).collect::<Vec<_>>().chunks(4) {
        let signed = futures::future::join_all(
            batch
                .iter()
                .map(|s| support::sign_in(gateway, &person(people, *s).email, PASSWORD)),
        )
        .await;
        cookies.extend(signed.into_iter().map(|c| Some(("cookie", c))));
    }
    cookies
}

/// A target with a fresh list for every session.
fn target(
    name: &'static str,
    url: String,
    dialect: Dialect,
    headers: Vec<Credential>,
    front: Option<u32>,
) -> Target {
    let chains = vec![Chain::default(); headers.len()];
    Target {
        name,
        url,
        dialect,
        headers: Arc::new(headers),
        front,
        chains,
    }
}

/// Warms every target up (a few requests of each kind), then measures each kind in rounds
/// that take turns, printing its rows.
async fn measure(bench: &mut Bench, targets: &mut [Target], settings: &Settings) {
    mixed::report::header(settings.tickets, bench, settings.rounds, settings.sessions);
    for &kind in &settings.kinds {
        let mut tallies: Vec<Tally> = targets.iter().map(|_| Tally::default()).collect();
        let duration = bench.duration;
        bench.duration = Duration::from_secs(2);
        for target in targets.iter_mut() {
            bench.round(target, kind, &mut Tally::default()).await;
        }
        bench.duration = duration;
        for _ in 0..settings.rounds {
            for (target, tally) in targets.iter_mut().zip(&mut tallies) {
                bench.round(target, kind, tally).await;
            }
        }
        mixed::report::rows(kind, targets, tallies);
    }
}

/// PostGraphile with row-level security and as the owner, started and added to `targets`;
/// their processes.
async fn postgraphile_targets(
    url: &str,
    conn: &db::sea_orm::DatabaseConnection,
    people: &[Person],
    targets: &mut Vec<Target>,
) -> Vec<support::Killed> {
    let sessions = targets[0].headers.len();
    postgraphile::prepare_rls(conn).await;
    let (rls, rls_url) = postgraphile::start(url, true).await;
    let jwt = |s: usize| {
        let token = postgraphile::token(person(people, s));
        Some(("authorization", format!("Bearer {token}")))
    };
    targets.push(target(
        "(c) PostGraphile, RLS",
        rls_url,
        Dialect::PostGraphile,
        (0..sessions).map(jwt).collect(),
        Some(rls.0.id()),
    ));
    let (owner, owner_url) = postgraphile::start(url, false).await;
    targets.push(target(
        "(d) PostGraphile, owner",
        owner_url,
        Dialect::PostGraphile,
        vec![None; sessions],
        Some(owner.0.id()),
    ));
    vec![rls, owner]
}

#[tokio::main]
async fn main() {
    if let Ok(ports) = std::env::var(stack::SUBGRAPH_PORTS) {
        return stack::serve_subgraphs(&ports).await;
    }
    let settings = Settings::from_env();
    let (database, url, conn) = people::database(&settings.base, settings.tickets).await;
    let people = people::people(&conn).await;
    let key = KeyPair::new();
    let key_hex = key.private().to_bytes_hex();
    let data = std::env::temp_dir().join(format!("tessera-mixed-bench-{}", std::process::id()));
    let data_s = data.display().to_string();
    let env_map = HashMap::from([
        ("DATABASE_URL", url.as_str()),
        ("DATA_DIR", data_s.as_str()),
        ("TESSERA_SIGNING_KEY", key_hex.as_str()),
        ("RATE_LIMIT_PER_ADDRESS", "0"),
        ("RATE_LIMIT_PER_USER", "0"),
        ("RUST_LOG", "warn"),
    ]);
    let subgraphs = stack::start_subgraphs(&env_map).await;
    let urls = (subgraphs.ticket_url.clone(), subgraphs.notify_url.clone());
    let (gateway, gateway_url) =
        stack::start_gateway(&env_map, (&urls.0, &urls.1), settings.workers).await;
    let minter =
        TokenMinter::new(KeyPair::from(&key.private())).with_ttl(Duration::from_secs(3600));
    let bearer = |s: usize| {
        let p = person(&people, s);
        let principal = Principal::user(p.id, vec![p.role], p.supports.clone());
        Some((
            "authorization",
            format!("Bearer {}", minter.mint(&principal).unwrap()),
        ))
    };
    let sessions = settings.sessions;
    let mut targets = vec![
        target(
            "(a) ticket-service directly",
            urls.0.clone(),
            Dialect::Tessera,
            (0..sessions).map(bearer).collect(),
            None,
        ),
        target(
            "(b) our gateway",
            format!("{gateway_url}/graphql"),
            Dialect::Tessera,
            sign_in_all(&gateway_url, &people, sessions).await,
            Some(gateway.0.id()),
        ),
    ];
    let _postgraphile = if settings.postgraphile {
        postgraphile_targets(&url, &conn, &people, &mut targets).await
    } else {
        Vec::new()
    };
    let owners = Arc::new(faculty(&people));
    let mut bench = Bench {
        client: reqwest::Client::new(),
        people: Arc::new(people),
        owners,
        tickets: settings.tickets,
        clients: settings.clients,
        duration: Duration::from_secs(settings.seconds) / settings.rounds,
        database,
        conn,
        subgraphs,
        background: (0.0, 0.0),
    };
    bench.measure_background(5).await;
    println!(
        "background, no request: {:.1} statements/s from ticket-service, {:.1} transactions/s in the database (taken off every round)",
        bench.background.0, bench.background.1
    );
    measure(&mut bench, &mut targets, &settings).await;
    drop(_postgraphile);
    drop(gateway);
    let _ = std::fs::remove_dir_all(&data);
}
