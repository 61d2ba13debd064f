//! How the mixed benchmark measures a target: a round of clients, each walking the lists of
//! the sessions it holds (or asking for tickets they may see), every answer checked, and what
//! the round cost each process in CPU time, ticket-service in SQL statements and PostgreSQL
//! in transactions.

use super::{
    people::Person,
    workload::{self, Chain, Dialect, Kind},
};
use crate::{measured::Measured, stack::Subgraphs};
use db::sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use testkit::cpu::{machine_busy, postgres_backend_times, process};

/// A session's credentials at a target: a header name and value (none: PostGraphile as the
/// owner takes no credentials).
pub type Credential = Option<(&'static str, String)>;

/// One target: where it listens, whose schema it speaks, how each session authenticates.
pub struct Target {
    pub name: &'static str,
    pub url: String,
    pub dialect: Dialect,
    /// Each session's credentials.
    pub headers: Arc<Vec<Credential>>,
    /// The process in front of the database (gateway or node), whose CPU time is measured.
    pub front: Option<u32>,
    /// Each session's list in progress, kept from round to round.
    pub chains: Vec<Chain>,
}

/// A target's rounds of one query, with the mixed bench's own counts.
#[derive(Default)]
pub struct Tally {
    pub measured: Measured,
    /// PostgreSQL's backends of the database.
    pub postgres: Duration,
    /// SQL statements ticket-service sent (less the background's).
    pub statements: f64,
    /// Transactions the database committed or rolled back (less the background's).
    pub transactions: f64,
    /// Each round's statements per request, to show whether the count varies with the load.
    pub statements_per_round: Vec<f64>,
}

/// What every round shares.
pub struct Bench {
    pub client: reqwest::Client,
    pub people: Arc<Vec<Person>>,
    /// Every faculty member's id (the owners a filter may name).
    pub owners: Arc<Vec<i64>>,
    pub tickets: i64,
    pub clients: usize,
    pub duration: Duration,
    pub database: String,
    pub conn: DatabaseConnection,
    pub subgraphs: Subgraphs,
    /// Statements and transactions a second with no request at all (ticket-service's outbox
    /// relay, notify-service's workers), taken off every round's counts.
    pub background: (f64, f64),
}

/// What one client task needs of the round.
#[derive(Clone)]
struct Caller {
    client: reqwest::Client,
    people: Arc<Vec<Person>>,
    owners: Arc<Vec<i64>>,
    tickets: i64,
    name: &'static str,
    url: String,
    dialect: Dialect,
    headers: Arc<Vec<Credential>>,
    kind: Kind,
}

impl Caller {
    /// One request for session `s`, its answer checked and its list advanced.
    async fn call(&self, s: usize, chain: &mut Chain, rng: &mut StdRng) {
        let person = &self.people[s % self.people.len()];
        let variables = match self.kind {
            Kind::Page => chain.next_variables(self.dialect, rng, &self.owners),
            Kind::Ticket => {
                let id = match person.visible.choose(rng) {
                    Some(id) => *id,
                    None => rng.gen_range(1..=self.tickets),
                };
                serde_json::json!({"id": id.to_string()})
            }
        };
        let mut request = self.client.post(&self.url).json(&serde_json::json!({
            "query": workload::query(self.kind, self.dialect),
            "variables": variables,
        }));
        if let Some((name, value)) = &self.headers[s] {
            request = request.header(*name, value);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), 200, "{}", self.name);
        let body: serde_json::Value = answer.json().await.unwrap();
        workload::check(self.kind, self.name, &body);
        if self.kind == Kind::Page {
            chain.advance(&body);
        }
    }

    /// Requests until `deadline`, each for one of `mine` at random: their lists back and
    /// every latency.
    async fn run(
        self,
        mut mine: Vec<(usize, Chain)>,
        deadline: Instant,
        seed: u64,
    ) -> (Vec<(usize, Chain)>, Vec<Duration>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut latencies = Vec::new();
        while Instant::now() < deadline {
            let pick = rng.gen_range(0..mine.len());
            let (s, chain) = &mut mine[pick];
            let t = Instant::now();
            self.call(*s, chain, &mut rng).await;
            latencies.push(t.elapsed());
        }
        (mine, latencies)
    }
}

/// The counters a round reads before and after.
struct Readings {
    front: Duration,
    subgraphs: Duration,
    /// Each backend's, so that one that ends or starts during a round (PostGraphile's pool
    /// closes idle connections) neither takes time off nor adds its past.
    postgres: std::collections::HashMap<u32, Duration>,
    machine: Duration,
    statements: u64,
    transactions: i64,
    at: Instant,
}

impl Bench {
    async fn read(&mut self, target: &Target) -> Readings {
        Readings {
            front: target.front.map_or(Duration::ZERO, process),
            subgraphs: process(self.subgraphs.pid()),
            postgres: postgres_backend_times(&self.database),
            machine: machine_busy(),
            statements: self.subgraphs.statements(),
            transactions: transactions(&self.conn, &self.database).await,
            at: Instant::now(),
        }
    }

    /// Measures `background` over `seconds` with nothing sent.
    pub async fn measure_background(&mut self, seconds: u64) {
        let idle = Target {
            name: "",
            url: String::new(),
            dialect: Dialect::Tessera,
            headers: Arc::new(Vec::new()),
            front: None,
            chains: Vec::new(),
        };
        let before = self.read(&idle).await;
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let after = self.read(&idle).await;
        let elapsed = after.at.duration_since(before.at).as_secs_f64();
        self.background = (
            (after.statements - before.statements) as f64 / elapsed,
            (after.transactions - before.transactions - 1) as f64 / elapsed,
        );
    }

    /// One round of `kind` against `target`, added to `into`.
    pub async fn round(&mut self, target: &mut Target, kind: Kind, into: &mut Tally) {
        let caller = Caller {
            client: self.client.clone(),
            people: self.people.clone(),
            owners: self.owners.clone(),
            tickets: self.tickets,
            name: target.name,
            url: target.url.clone(),
            dialect: target.dialect,
            headers: target.headers.clone(),
            kind,
        };
        let before = self.read(target).await;
        let started = Instant::now();
        let deadline = started + self.duration;
        let tasks: Vec<_> = (0..self.clients)
            .map(|c| {
                // The sessions this client holds, with their lists.
                let mine: Vec<(usize, Chain)> = (c..target.chains.len())
                    .step_by(self.clients)
                    .map(|s| (s, std::mem::take(&mut target.chains[s])))
                    .collect();
                tokio::spawn(caller.clone().run(mine, deadline, rand::random()))
            })
            .collect();
        let mut count = 0;
        for task in tasks {
            let (mine, latencies) = task.await.unwrap();
            count += latencies.len();
            into.measured.latencies.extend(latencies);
            for (s, chain) in mine {
                target.chains[s] = chain;
            }
        }
        into.measured
            .rounds
            .push(count as f64 / started.elapsed().as_secs_f64());
        // PostgreSQL's backends report their counts when idle, within a second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let after = self.read(target).await;
        into.measured.cpu += after.front.saturating_sub(before.front);
        into.measured.subgraphs += after.subgraphs.saturating_sub(before.subgraphs);
        into.measured.machine += after.machine.saturating_sub(before.machine);
        into.postgres += after
            .postgres
            .iter()
            .map(|(pid, now)| {
                now.saturating_sub(before.postgres.get(pid).copied().unwrap_or_default())
            })
            .sum::<Duration>();
        let elapsed = after.at.duration_since(before.at).as_secs_f64();
        let statements =
            (after.statements - before.statements) as f64 - self.background.0 * elapsed;
        into.statements += statements;
        into.statements_per_round
            .push(statements / count.max(1) as f64);
        // Less the one this reading's own query made.
        into.transactions +=
            (after.transactions - before.transactions - 1) as f64 - self.background.1 * elapsed;
    }
}

/// The database's transactions so far (committed and rolled back).
async fn transactions(conn: &DatabaseConnection, database: &str) -> i64 {
    let row = conn
        .query_one(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = $1",
            [database.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}
