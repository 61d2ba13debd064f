//! How the gateway benchmark measures: one target's requests (each answer checked), rounds of
//! concurrent callers, and what a round costs in CPU time (the router's process, the
//! subgraphs' process, the whole machine).

use super::{Expect, measured::Measured};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How one target is called.
#[derive(Clone)]
pub struct Target {
    pub name: &'static str,
    pub url: String,
    pub header: (&'static str, String),
    /// The router's own process, whose CPU time each round measures (none for (a), which
    /// runs in this process).
    pub pid: Option<u32>,
}

pub use testkit::cpu::{machine_busy, process as cpu_time};

pub async fn call(
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

pub async fn warm_up(
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
pub struct Load {
    pub query: &'static str,
    pub expect: Expect,
    pub tickets: i64,
    pub clients: usize,
    pub duration: Duration,
    /// The subgraphs' process, whose CPU time each round measures too.
    pub subgraphs: u32,
}

/// `load.clients` concurrent callers for `load.duration`; adds the round to `into`.
pub async fn round(client: &reqwest::Client, target: &Target, load: &Load, into: &mut Measured) {
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
