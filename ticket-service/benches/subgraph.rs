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
use common::{Principal, Role, TicketState, TokenMinter, config::CommonSettings};
use db::entity::{applicant, counter, note, ticket, ticket_supervisor, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
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

#[tokio::main]
async fn main() {
    let base = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let tickets: i64 = env("BENCH_TICKETS", 10_000);
    let seconds: u64 = env("BENCH_SECONDS", 10);
    let concurrency: usize = env("BENCH_CONCURRENCY", 8);
    let name = format!("tessera_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(format!("{base}/postgres"))
        .await
        .expect("PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");
    let url = format!("{base}/{name}");

    let mut conn = db::connect(&url).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    let started = Instant::now();
    let reader = seed(&conn, tickets).await;
    println!(
        "seeded {tickets} tickets in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    conn.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let minter = TokenMinter::new(KeyPair::new()).with_ttl(Duration::from_secs(3600));
    let env_map = HashMap::from([("DATABASE_URL", url.as_str())]);
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
    let token = minter.mint(&reader).unwrap();
    let client = reqwest::Client::new();
    let call = |client: reqwest::Client, endpoint: String, token: String| async move {
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
    };
    for _ in 0..20 {
        call(client.clone(), endpoint.clone(), token.clone()).await;
    }
    let mut per_request = Vec::new();
    for _ in 0..5 {
        statements.store(0, Ordering::SeqCst);
        call(client.clone(), endpoint.clone(), token.clone()).await;
        per_request.push(statements.load(Ordering::SeqCst));
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    // Spawned eagerly: every client runs for the whole measuring window.
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, endpoint, token) = (client.clone(), endpoint.clone(), token.clone());
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

    conn.close().await.ok();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .ok();
}

/// Users, and `count` tickets spread over every state, half with an applicant, a co-supervisor
/// and notes. Returns the graduate office reader the benchmark queries as.
async fn seed(conn: &sea_orm::DatabaseConnection, count: i64) -> Principal {
    let now = db::now();
    let mk = |email: String, name: String, role: Role| user::ActiveModel {
        email: Set(email),
        name: Set(name),
        roles: Set(role.as_str().into()),
        password_hash: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let budget = mk(
        "budget@bench.edu".into(),
        "Budget".into(),
        Role::BudgetDirector,
    )
    .insert(conn)
    .await
    .unwrap();
    let grad = mk("grad@bench.edu".into(), "Grad".into(), Role::GradOffice)
        .insert(conn)
        .await
        .unwrap();
    let mut faculty = Vec::new();
    for i in 0..20 {
        faculty.push(
            mk(
                format!("f{i}@bench.edu"),
                format!("Faculty {i:02}"),
                Role::Faculty,
            )
            .insert(conn)
            .await
            .unwrap()
            .id,
        );
    }
    let states = TicketState::ALL;
    for chunk_start in (0..count).step_by(500) {
        let chunk: Vec<i64> = (chunk_start..(chunk_start + 500).min(count)).collect();
        let with_applicant = |i: i64| i % 2 == 0;
        let applicants: Vec<applicant::ActiveModel> = chunk
            .iter()
            .filter(|i| with_applicant(**i))
            .map(|i| applicant::ActiveModel {
                applicant_number: Set(format!("BENCH-{i:06}")),
                name: Set(format!("Applicant {i}")),
                email: Set(Some(format!("applicant{i}@example.org"))),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect();
        applicant::Entity::insert_many(applicants)
            .exec_without_returning(conn)
            .await
            .unwrap();
        let first_applicant = applicant::Entity::find()
            .all(conn)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.applicant_number.starts_with("BENCH-"))
            .map(|a| (a.applicant_number.clone(), a.id))
            .collect::<HashMap<_, _>>();
        let rows: Vec<ticket::ActiveModel> = chunk
            .iter()
            .map(|i| {
                // Applicants sit on tickets in states that hold one; the rest are spread evenly.
                let state = if with_applicant(*i) {
                    [
                        TicketState::OfferRequested,
                        TicketState::OfferPending,
                        TicketState::OfferAccepted,
                    ][(*i as usize / 2) % 3]
                } else {
                    states[(*i as usize) % states.len()]
                };
                ticket::ActiveModel {
                    number: Set(i + 1),
                    cycle: Set("2027".into()),
                    residency: Set(if i % 3 == 0 {
                        "INTERNATIONAL"
                    } else {
                        "DOMESTIC"
                    }
                    .into()),
                    state: Set(state.as_str().into()),
                    owner_id: Set(faculty[(*i as usize) % faculty.len()]),
                    applicant_id: Set(
                        with_applicant(*i).then(|| first_applicant[&format!("BENCH-{i:06}")])
                    ),
                    created_by: Set(budget.id),
                    created_at: Set(now),
                    updated_at: Set(now),
                    version: Set(1),
                    ..Default::default()
                }
            })
            .collect();
        ticket::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await
            .unwrap();
    }
    let all = ticket::Entity::find().all(conn).await.unwrap();
    let mut links = Vec::new();
    let mut notes = Vec::new();
    for t in &all {
        if t.applicant_id.is_some() {
            links.push(ticket_supervisor::ActiveModel {
                ticket_id: Set(t.id),
                user_id: Set(t.owner_id),
            });
            let other = faculty[(t.number as usize + 1) % faculty.len()];
            links.push(ticket_supervisor::ActiveModel {
                ticket_id: Set(t.id),
                user_id: Set(other),
            });
            for k in 0..2 {
                notes.push(note::ActiveModel {
                    ticket_id: Set(t.id),
                    author_id: Set(grad.id),
                    body: Set(format!("Note {k} on ticket {}", t.number)),
                    resolved: Set(false),
                    resolved_by: Set(None),
                    created_at: Set(now),
                    edited_at: Set(None),
                    ..Default::default()
                });
            }
        }
    }
    for chunk in links.chunks(1000) {
        ticket_supervisor::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await
            .unwrap();
    }
    for chunk in notes.chunks(1000) {
        note::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await
            .unwrap();
    }
    counter::Entity::update(counter::ActiveModel {
        name: Set(counter::TICKET_NUMBER.into()),
        value: Set(count),
    })
    .exec(conn)
    .await
    .unwrap();
    conn.execute_unprepared("ANALYZE").await.unwrap();
    Principal::user(grad.id, vec![Role::GradOffice], vec![])
}
