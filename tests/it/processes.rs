//! The production wiring, as `compose.yaml` describes it: the one-shot `db migrate` job, then
//! ticket-service, notify-service and two api-gateway replicas as separate processes (the
//! binaries `cargo build` makes), each started with the command and environment compose gives
//! it (its service hosts, ports and volume swapped for local ones) plus the settings of
//! `tessera.env.example`, on PostgreSQL and Redis.

use crate::support::{PASSWORD, Who, code, postgres_or_skip, redis_or_skip, seed_cast};
use reqwest::header::{AUTHORIZATION, COOKIE};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A child process killed when the test ends, however it ends.
pub(crate) struct Proc(pub(crate) Child);

impl Proc {
    /// Starts `command`, its logs captured by the test (shown only when it fails).
    fn start(command: &mut Command) -> Self {
        let mut child = command.spawn().unwrap();
        testkit::capture_stderr(&mut child);
        Self(child)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// One service of compose.yaml: what it runs and the environment it is given.
#[derive(Debug)]
pub(crate) struct Service {
    command: Vec<String>,
    environment: BTreeMap<String, String>,
}

/// The services of compose.yaml, by name.
pub(crate) fn compose() -> BTreeMap<String, Service> {
    let text = std::fs::read_to_string(repo().join("compose.yaml")).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    doc.apply_merge().unwrap();
    let services = doc["services"].as_mapping().unwrap();
    services
        .iter()
        .map(|(name, service)| {
            let command = service["command"]
                .as_sequence()
                .map(|c| c.iter().map(|a| a.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            let environment = service["environment"]
                .as_mapping()
                .map(|env| {
                    env.iter()
                        .map(|(k, v)| {
                            let v = match v {
                                serde_yaml::Value::String(s) => s.clone(),
                                other => serde_yaml::to_string(other).unwrap().trim().to_string(),
                            };
                            (k.as_str().unwrap().to_string(), v)
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                name.as_str().unwrap().to_string(),
                Service {
                    command,
                    environment,
                },
            )
        })
        .collect()
}

/// The settings compose reads from `tessera.env`, as the example gives them.
pub(crate) fn env_file() -> Vec<(String, String)> {
    std::fs::read_to_string(repo().join("tessera.env.example"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Where the test's own PostgreSQL database, Redis, data dir and ports are.
pub(crate) struct Local {
    pub(crate) database_url: String,
    pub(crate) redis_url: String,
    pub(crate) data_dir: String,
    /// Ports of the compose services the test started, by service name.
    pub(crate) ports: HashMap<String, u16>,
}

impl Local {
    /// A compose value with compose's hosts, ports and volume swapped for the test's.
    fn value(&self, key: &str, value: &str, port: u16) -> String {
        match key {
            "DATABASE_URL" => {
                assert!(value.contains("@postgres:5432/"), "{key}={value}");
                self.database_url.clone()
            }
            "REDIS_URL" => {
                assert_eq!(value, "redis://redis:6379", "{key}");
                self.redis_url.clone()
            }
            "DATA_DIR" => self.data_dir.clone(),
            "PORT" => port.to_string(),
            _ => match value
                .strip_prefix("http://")
                .and_then(|rest| rest.split_once(':'))
            {
                Some((host, rest)) => {
                    let port = self.ports.get(host).unwrap_or_else(|| {
                        panic!("{key}={value} names {host}, which is not started")
                    });
                    let path = &rest[rest.find('/').unwrap_or(rest.len())..];
                    format!("http://127.0.0.1:{port}{path}")
                }
                None => value.to_string(),
            },
        }
    }

    /// The command and environment compose gives `service`, made local; `port` is where it
    /// listens.
    pub(crate) fn command(
        &self,
        compose: &BTreeMap<String, Service>,
        service: &str,
        port: u16,
        extra: &[(String, String)],
    ) -> Command {
        let service = &compose[service];
        let mut command = Command::new(binary(&service.command[0]));
        command
            .args(&service.command[1..])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra {
            command.env(k, v);
        }
        for (k, v) in &service.environment {
            command.env(k, self.value(k, v, port));
        }
        command
    }
}

fn binary(name: &str) -> PathBuf {
    // Integration tests run from target/<profile>/deps; the binaries sit one level up.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (it builds every binary)",
        path.display()
    );
    path
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) async fn wait_ready(url: &str) {
    for _ in 0..300 {
        if let Ok(r) = reqwest::get(format!("{url}/readyz")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never became ready");
}

async fn gql(url: &str, cookie: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .header(COOKIE, cookie)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A query with an API token: the status and the body.
async fn with_token(url: &str, token: &str, query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .json(&json!({"query": query}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_on_postgres_and_redis() {
    let (Some(backend), Some(redis)) = (postgres_or_skip().await, redis_or_skip().await) else {
        return;
    };
    let database = testkit::TestDatabase::create(&backend, "gw_proc").await;
    let name = database.url.rsplit('/').next().unwrap().to_string();
    let data = std::env::temp_dir().join(format!("tessera-proc-{name}"));
    let compose = compose();
    let mut local = Local {
        database_url: database.url.clone(),
        redis_url: redis,
        data_dir: data.display().to_string(),
        ports: HashMap::new(),
    };
    // tessera.env: the example's settings with a signing key filled in. The test's own
    // additions: a Redis prefix of its own, no per-address rate limit (every request comes
    // from 127.0.0.1), and a metrics token (the replicas run in production mode).
    let mut extra: Vec<(String, String)> = env_file()
        .into_iter()
        .filter(|(k, _)| k != "TESSERA_SIGNING_KEY")
        .collect();
    extra.push((
        "TESSERA_SIGNING_KEY".into(),
        biscuit_auth::KeyPair::new().private().to_bytes_hex(),
    ));
    extra.push(("REDIS_KEY_PREFIX".into(), name.clone()));
    extra.push(("RATE_LIMIT_PER_ADDRESS".into(), "0".into()));
    extra.push(("METRICS_TOKEN".into(), crate::support::METRICS_TOKEN.into()));

    // The one-shot migration job, into an empty database.
    let migrated = local.command(&compose, "migrate", 0, &[]).output().unwrap();
    eprint!("{}", String::from_utf8_lossy(&migrated.stderr));
    assert!(migrated.status.success(), "db migrate failed");
    let conn = db::connect(&database.url).await.unwrap();
    let ids = seed_cast(&conn).await;

    let mut services = Vec::new();
    for service in ["ticket-service", "notify-service", "export-service"] {
        let port = free_port();
        local.ports.insert(service.to_string(), port);
        services.push(Proc::start(
            &mut local.command(&compose, service, port, &extra),
        ));
    }
    let mut gateways = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        gateways.push(Proc::start(&mut local.command(
            &compose,
            "api-gateway",
            port,
            &extra,
        )));
        urls.push(format!("http://127.0.0.1:{port}"));
    }
    for url in &urls {
        wait_ready(url).await;
    }

    // Sign in through the first replica; the session works on the second (Redis).
    let login = reqwest::Client::new()
        .post(format!("{}/auth/login", urls[0]))
        .json(&json!({"email": Who::Budget.email(), "password": PASSWORD}))
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
    let created = gql(
        &urls[1],
        &cookie,
        "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: INTERNATIONAL, cycle: \"2028\", count: 2}) { number owner { name } } }",
        json!({"o": ids[&Who::FacultyA].to_string()}),
    )
    .await;
    assert_eq!(
        created["data"]["createTickets"][1]["owner"]["name"], "Alice Faculty",
        "{created}"
    );
    let stats = gql(
        &urls[0],
        &cookie,
        "{ ticketStats { international } }",
        json!({}),
    )
    .await;
    assert_eq!(stats["data"]["ticketStats"]["international"], 2, "{stats}");

    // An API token made on the first replica works on the second; revoked on the first, it
    // is refused there at once and on the second as soon as its row is read again.
    let created = gql(
        &urls[0],
        &cookie,
        "mutation { createApiToken(name: \"dashboard\", scopes: [TICKETS_READ]) { token apiToken { id } } }",
        json!({}),
    )
    .await;
    let token = created["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let (status, body) = with_token(&urls[1], &token, "{ ticketStats { international } }").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["ticketStats"]["international"], 2, "{body}");
    let revoked = gql(
        &urls[0],
        &cookie,
        "mutation($id: ID!) { revokeApiToken(id: $id) { revoked } }",
        json!({"id": created["data"]["createApiToken"]["apiToken"]["id"]}),
    )
    .await;
    assert_eq!(
        revoked["data"]["revokeApiToken"]["revoked"], true,
        "{revoked}"
    );
    let (status, body) = with_token(&urls[0], &token, "{ me { id } }").await;
    assert_eq!(status, 401, "{body}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = with_token(&urls[1], &token, "{ me { id } }").await;
        if status == 401 {
            assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
            break;
        }
        assert_eq!(
            body["data"]["me"]["id"],
            ids[&Who::Budget].to_string(),
            "{body}"
        );
        assert!(
            Instant::now() < deadline,
            "the second replica never saw the revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Live updates: a subscriber of the second replica sees a change made through the first
    // (ticket-service's relay, the stream in Redis, the second gateway's follower).
    let mut live = crate::live::Ws::signed_in(&urls[1], &cookie).await;
    live.subscribe("1", crate::live::EVENTS, json!({})).await;
    crate::live::open_subscriptions(&urls[1], 1).await;
    let created = gql(
        &urls[0],
        &cookie,
        "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2028\", count: 1}) { id } }",
        json!({"o": ids[&Who::FacultyB].to_string()}),
    )
    .await;
    let event = live.event("1").await;
    assert_eq!(
        event["data"]["ticketEvents"]["ticket"]["id"], created["data"]["createTickets"][0]["id"],
        "{event}"
    );
    assert_eq!(
        event["data"]["ticketEvents"]["ticket"]["owner"]["name"],
        "Bob Faculty"
    );

    // Logging out on the second replica ends the session on the first.
    let out = reqwest::Client::new()
        .post(format!("{}/auth/logout", urls[1]))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = gql(
        &urls[0],
        &cookie,
        "{ me { id } ticketStats { total } }",
        json!({}),
    )
    .await;
    assert_eq!(after["data"], Value::Null, "{after}");
    assert_eq!(code(&after), Some("UNAUTHENTICATED"), "{after}");
    assert_eq!(
        live.closed().await.0,
        4403,
        "the session's live updates end with it"
    );

    // Kill the subgraph: its fields are UNAVAILABLE and /readyz names it.
    drop(services.remove(0));
    let login = reqwest::Client::new()
        .post(format!("{}/auth/login", urls[0]))
        .json(&json!({"email": Who::Grad.email(), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let down = gql(&urls[0], &cookie, "{ ticketStats { total } }", json!({})).await;
    assert_eq!(code(&down), Some("UNAVAILABLE"), "{down}");
    let ready = reqwest::get(format!("{}/readyz", urls[1])).await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["down"], json!(["ticket_service"]));

    drop(gateways);
    drop(services);
    conn.close().await.ok();
    database.remove().await;
    let _ = std::fs::remove_dir_all(&data);
}
