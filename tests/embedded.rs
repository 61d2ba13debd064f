//! `cargo run` with no configuration: the binary starts on SQLite in a fresh data folder
//! (the default, relative `tessera-data/` in the working directory, as on a fresh clone),
//! migrates, seeds the demo, prints how to reach it and the demo logins, and answers through
//! the gateway: sign in with a demo login, then federated queries with the session cookie.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// Starts `tessera` in `cwd` with nothing but a free port configured (DATA_DIR keeps its
/// relative default); the child and the base URL it prints, once it has printed the demo
/// logins too.
fn start_with_no_configuration(cwd: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tessera");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut base = None;
    while !lines
        .iter()
        .any(|l: &String| l.contains("budget@example.edu"))
    {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no URL and demo logins in {lines:#?}"));
        if base.is_none()
            && let Some(rest) = line.strip_prefix("Tessera is running at ")
        {
            base = rest
                .split_whitespace()
                .next()
                .map(|u| u.trim_end_matches('/').to_string());
        }
        lines.push(line);
    }
    let base = base.unwrap_or_else(|| panic!("no URL in {lines:#?}"));
    (child, base)
}

/// The page, a demo login, and federated queries with its session; none without one.
async fn the_demo_answers(base: &str) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let login = client
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": "budget@example.edu", "password": "tessera-demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let body: serde_json::Value = client
        .post(format!("{base}/graphql"))
        .json(&serde_json::json!({"query": "{ me { email notificationPreferences { email } } ticketStats { total } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["me"]["email"], "budget@example.edu", "{body}");
    assert_eq!(
        body["data"]["me"]["notificationPreferences"]["email"], true,
        "{body}"
    );
    assert_eq!(body["data"]["ticketStats"]["total"], 40, "{body}");
    let anonymous: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&serde_json::json!({"query": "{ ticketStats { total } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anonymous}"
    );
}

#[tokio::test]
async fn cargo_run_serves_the_demo_on_sqlite() {
    let cwd = std::env::temp_dir().join(format!("tessera-embedded-{}", std::process::id()));
    std::fs::create_dir_all(&cwd).unwrap();
    let data = cwd.join("tessera-data");
    let (mut child, base) = start_with_no_configuration(&cwd);
    the_demo_answers(&base).await;

    child.kill().ok();
    child.wait().ok();
    assert!(data.join("tessera.db").exists());
    assert!(data.join("signing-key").exists());
    // The engine's copy of the supergraph is removed once loaded: starts leave nothing behind.
    let left: Vec<_> = std::fs::read_dir(data.join("gateway"))
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in tessera-data/gateway: {left:?}");
    std::fs::remove_dir_all(&cwd).ok();
}
