//! The processes the gateway and mixed benchmarks run against: the subgraphs (ticket-service
//! and notify-service, in a process of their own started from the bench's binary) and our
//! gateway (its release binary). The subgraphs' process counts the SQL statements
//! ticket-service sends and tells the bench on request (a line on its stdin is answered with
//! the count on its stdout).

use crate::support::{Killed, free_port, wait_for_health};
use common::config::SubgraphSettings;
use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    process::{ChildStdin, ChildStdout, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

/// Set (to `<ticket-service port>,<notify-service port>`) in the child process that hosts the
/// subgraphs.
pub const SUBGRAPH_PORTS: &str = "BENCH_SUBGRAPH_PORTS";

/// The subgraphs' process: ticket-service and notify-service built from the environment the
/// bench passes (database, key, data folder) as their own binaries build them (notify-service
/// without its email worker), each with its own database pool, served until the bench kills
/// the process. ticket-service's statements are counted for `Subgraphs::statements`.
pub async fn serve_subgraphs(ports: &str) {
    let (ticket, notify) = ports.split_once(',').expect("two ports");
    let vars: HashMap<String, String> = std::env::vars().collect();
    let settings = |port: &str| {
        let mut source: HashMap<&str, &str> =
            vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        source.insert("PORT", port);
        SubgraphSettings::from_source(&source, 0).unwrap()
    };
    let ticket = settings(ticket);
    let mut ticket_db = db::open(&ticket.common).await.unwrap();
    let statements = Arc::new(AtomicU64::new(0));
    let counter = statements.clone();
    ticket_db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    answer_statement_probes(statements);
    let tickets = ticket_service::Application::build_with_db(ticket, ticket_db)
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

/// Answers every line on stdin with `statements` on stdout, on a thread of its own, until
/// stdin closes.
fn answer_statement_probes(statements: Arc<AtomicU64>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut stdout = std::io::stdout();
        for line in stdin.lock().lines() {
            if line.is_err() {
                break;
            }
            let _ = writeln!(stdout, "{}", statements.load(Ordering::SeqCst));
            let _ = stdout.flush();
        }
    });
}

/// The subgraphs' process, their URLs and the pipe to its statement count.
pub struct Subgraphs {
    pub process: Killed,
    pub ticket_url: String,
    pub notify_url: String,
    probe: (ChildStdin, BufReader<ChildStdout>),
}

impl Subgraphs {
    /// The SQL statements ticket-service has sent so far.
    #[allow(dead_code)] // the gateway bench does not count statements
    pub fn statements(&mut self) -> u64 {
        let (stdin, stdout) = &mut self.probe;
        writeln!(stdin).unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line.trim().parse().expect("a statement count")
    }

    /// The process id, whose CPU time the benches read.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }
}

/// The subgraphs in a process of their own (the bench's binary again, see `serve_subgraphs`),
/// as their binaries run them: a client calling ticket-service directly crosses a process
/// boundary just as the routers' calls do, and shares no runtime with it.
pub async fn start_subgraphs(env_map: &HashMap<&str, &str>) -> Subgraphs {
    let (ticket_port, notify_port) = (free_port(), free_port());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env_clear()
        .envs(env_map)
        .env(SUBGRAPH_PORTS, format!("{ticket_port},{notify_port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the subgraphs' process");
    let probe = (
        child.stdin.take().unwrap(),
        BufReader::new(child.stdout.take().unwrap()),
    );
    let subgraphs = Subgraphs {
        process: Killed(child),
        ticket_url: format!("http://127.0.0.1:{ticket_port}/graphql"),
        notify_url: format!("http://127.0.0.1:{notify_port}/graphql"),
        probe,
    };
    for url in [&subgraphs.ticket_url, &subgraphs.notify_url] {
        wait_for_health(url.trim_end_matches("/graphql"), 100).await;
    }
    subgraphs
}

/// Our gateway as its own release process (built with the bench); the process and its base
/// URL.
pub async fn start_gateway(
    env_map: &HashMap<&str, &str>,
    (ticket_url, notify_url): (&str, &str),
    workers: Option<usize>,
) -> (Killed, String) {
    let port = free_port();
    let gateway = Killed(
        Command::new(env!("CARGO_BIN_EXE_api-gateway"))
            .env_clear()
            .envs(env_map)
            .env("PORT", port.to_string())
            .env("TICKET_SERVICE_URL", ticket_url)
            .env("NOTIFY_SERVICE_URL", notify_url)
            .envs(workers.map(|n| ("GATEWAY_THREADS", n.to_string())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the gateway binary"),
    );
    let gateway_url = format!("http://127.0.0.1:{port}");
    wait_for_health(&gateway_url, 100).await;
    (gateway, gateway_url)
}
