//! The production wiring as `compose.yaml` describes it, made local: each service's command
//! and environment (its service hosts, ports and volume swapped for the test's own), the
//! settings of `tessera.env.example`, and child processes that die with the test.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A child process killed when the test ends, however it ends.
pub struct Proc(pub Child);

impl Proc {
    /// Starts `command`, its logs captured by the test (shown only when it fails).
    pub fn start(command: &mut Command) -> Self {
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

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One service of compose.yaml: what it runs and the environment it is given.
#[derive(Debug)]
pub struct Service {
    command: Vec<String>,
    environment: BTreeMap<String, String>,
}

/// The services of compose.yaml, by name.
pub fn compose() -> BTreeMap<String, Service> {
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
pub fn env_file() -> Vec<(String, String)> {
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
pub struct Local {
    pub database_url: String,
    pub redis_url: String,
    pub data_dir: String,
    /// Ports of the compose services the test started, by service name.
    pub ports: HashMap<String, u16>,
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
    pub fn command(
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

pub async fn wait_ready(url: &str) {
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
