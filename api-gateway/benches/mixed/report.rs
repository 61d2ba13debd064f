//! The mixed benchmark's table: a row per target and query.

use super::{
    run::{Bench, Tally, Target},
    workload::Kind,
};

/// The run's conditions and the table's head.
pub fn header(tickets: i64, bench: &Bench, rounds: u32, sessions: usize) {
    println!();
    println!(
        "PostgreSQL, {tickets} tickets, {} users of five roles in {sessions} sessions, {} clients, {} s per target and query in {rounds} rounds",
        bench.people.len(),
        bench.clients,
        (bench.duration * rounds).as_secs_f64(),
    );
    println!(
        "| query | target | requests/s (median round) | p50 | p99 | vs (c) RLS | vs (d) owner | CPU µs/request: front (gateway, node) | ticket-service | PostgreSQL | sum | machine | SQL statements/request (per round) | transactions/request |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
}

/// One row per target for `kind`.
pub fn rows(kind: Kind, targets: &[Target], mut tallies: Vec<Tally>) {
    let label = match kind {
        Kind::Page => "page of 100",
        Kind::Ticket => "one ticket",
    };
    let ratios: Vec<(Option<f64>, Option<f64>)> = tallies
        .iter()
        .map(|t| {
            let vs = |i: usize| tallies.get(i).map(|o| t.measured.paired(&o.measured));
            (vs(2), vs(3))
        })
        .collect();
    for ((target, tally), (rls, owner)) in targets.iter().zip(&mut tallies).zip(ratios) {
        let vs = |ratio: Option<f64>| ratio.map_or("-".to_string(), |r| format!("{r:.2}x"));
        let m = &mut tally.measured;
        let (p50, p99) = (m.percentile(0.50), m.percentile(0.99));
        let front = target.front.map_or(0.0, |_| m.per_request(m.cpu));
        let subgraph = if target.dialect == super::workload::Dialect::Tessera {
            m.per_request(m.subgraphs)
        } else {
            0.0
        };
        let postgres = m.per_request(tally.postgres);
        let requests = m.latencies.len().max(1) as f64;
        let per_round: Vec<String> = tally
            .statements_per_round
            .iter()
            .map(|n| format!("{n:.2}"))
            .collect();
        println!(
            "| {label} | {} | {:.0} | {:.2} ms | {:.2} ms | {} | {} | {front:.0} | {subgraph:.0} | {postgres:.0} | {:.0} | {:.0} | {:.2} ({}) | {:.2} |",
            target.name,
            m.rps(),
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
            vs(rls),
            vs(owner),
            front + subgraph + postgres,
            m.per_request(m.machine),
            tally.statements / requests,
            per_round.join(", "),
            tally.transactions / requests,
        );
    }
}
