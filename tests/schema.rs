//! The committed schemas are what the code serves: each subgraph's SDL in `subgraphs/` matches
//! the code, and `supergraph.graphql` / `schema.graphql` were composed from exactly those files.
//!
//! After changing a subgraph's schema: `UPDATE_SCHEMA=1 cargo test --test schema`, then
//! `node tools/compose/compose.mjs` (see README).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every subgraph with its file name and default URL.
fn subgraphs() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "auth.graphql",
            // Only a default: the gateway serves this subgraph itself and always overrides it.
            "http://127.0.0.1:4000/graphql",
            api_gateway::schema::sdl(),
        ),
        (
            "live.graphql",
            // Never called: the gateway serves these subscriptions itself.
            "http://127.0.0.1:4000/graphql",
            api_gateway::live::SDL.to_string(),
        ),
        (
            "ticket-service.graphql",
            "http://127.0.0.1:4001/graphql",
            ticket_service::schema::sdl(),
        ),
        (
            "export-service.graphql",
            "http://127.0.0.1:4002/graphql",
            export_service::schema::sdl(),
        ),
        (
            "notify-service.graphql",
            "http://127.0.0.1:4003/graphql",
            notify_service::schema::sdl(),
        ),
    ]
}

fn render(url: &str, sdl: &str) -> String {
    format!("# url: {url}\n{}\n", sdl.trim_end())
}

#[test]
fn subgraph_files_match_the_code() {
    let update = std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (file, url, sdl) in subgraphs() {
        let path = root().join("subgraphs").join(file);
        let expected = render(url, &sdl);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != expected {
            if update {
                std::fs::write(&path, &expected).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale subgraph SDL: {stale:?}\nrun `UPDATE_SCHEMA=1 cargo test --test schema` and then `node tools/compose/compose.mjs`"
    );
}

/// The SHA-256 that `tools/compose/compose.mjs` records: the subgraph files' bytes,
/// concatenated in byte-wise file-name order.
fn inputs_hash(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".graphql"))
        .collect();
    names.sort();
    let mut hasher = Sha256::new();
    for name in names {
        hasher.update(std::fs::read(dir.join(name)).unwrap());
    }
    hex::encode(hasher.finalize())
}

#[test]
fn composed_schemas_come_from_the_committed_subgraphs() {
    let hash = inputs_hash(&root().join("subgraphs"));
    for file in ["supergraph.graphql", "schema.graphql"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let recorded = text
            .lines()
            .find_map(|l| l.strip_prefix("# inputs-sha256: "))
            .unwrap_or("(none)");
        assert_eq!(
            recorded, hash,
            "{file} is stale: run `node tools/compose/compose.mjs`"
        );
    }
}
