//! `cargo run` with no configuration: the binary starts on SQLite in a fresh data folder,
//! migrates, seeds the demo, prints how to reach it, and answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

#[tokio::test]
async fn cargo_run_serves_the_demo_on_sqlite() {
    let data = std::env::temp_dir().join(format!("tessera-embedded-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", &data)
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
    let (mut url, mut token) = (None, None);
    while url.is_none() || token.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no URL and token in {lines:#?}"));
        if let Some(rest) = line.split("http://").nth(1).filter(|_| url.is_none()) {
            url = rest
                .split_whitespace()
                .next()
                .map(|u| format!("http://{u}"));
        }
        if let Some(rest) = line.split("Bearer ").nth(1) {
            token = rest.split('\'').next().map(str::to_owned);
        }
        lines.push(line);
    }
    let (url, token) = (url.unwrap(), token.unwrap());
    assert!(
        lines.iter().any(|l| l.contains("budget@example.edu")),
        "demo logins are printed: {lines:#?}"
    );

    let client = reqwest::Client::new();
    let body: serde_json::Value = client
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"query": "{ me { email } ticketStats { total } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["me"]["email"], "budget@example.edu", "{body}");
    assert_eq!(body["data"]["ticketStats"]["total"], 40, "{body}");
    let unsigned = client
        .post(&url)
        .json(&serde_json::json!({"query": "{ me { email } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);

    child.kill().ok();
    child.wait().ok();
    assert!(data.join("tessera.db").exists());
    assert!(data.join("signing-key").exists());
    std::fs::remove_dir_all(&data).ok();
}
