//! PostGraphile v4 (the npm package pinned in `benches/postgraphile/`) over the bench's
//! database: once as the table owner (no visibility rules at all), once with Tessera's
//! visibility rule as a row-level security policy, applied to the role a signed JWT names.

use super::people::Person;
use crate::support::{Killed, free_port};
use db::sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;
use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

/// The role RLS requests run as (the cluster's; made once).
const VISITOR: &str = "tessera_bench_visitor";

/// The secret PostGraphile checks the bench's JWTs with.
pub const JWT_SECRET: &str = "tessera mixed bench, never a real secret";

/// Tessera's visibility rule (`ticket_domain::visibility::tickets_visible_to`) as a policy on
/// the JWT's claims: every ticket for the roles that see all, owned or supervised ones for
/// FACULTY, the supported faculty's for FSS. Our services connect as the owner, which RLS
/// does not restrict.
const RLS: &str = "
DO $$ BEGIN CREATE ROLE tessera_bench_visitor NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT USAGE ON SCHEMA public TO tessera_bench_visitor;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO tessera_bench_visitor;
ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS bench_visible ON tickets;
CREATE POLICY bench_visible ON tickets FOR SELECT TO tessera_bench_visitor USING (
  current_setting('jwt.claims.sees_all', true) = '1'
  OR (current_setting('jwt.claims.faculty', true) = '1' AND (
        owner_id = current_setting('jwt.claims.user_id', true)::bigint
        OR id IN (SELECT ticket_id FROM ticket_supervisors
                  WHERE user_id = current_setting('jwt.claims.user_id', true)::bigint)))
  OR owner_id = ANY (string_to_array(nullif(current_setting('jwt.claims.supports', true), ''), ',')::bigint[])
);
";

/// Makes the role and the policy (idempotent).
pub async fn prepare_rls(conn: &DatabaseConnection) {
    conn.execute_unprepared(RLS).await.unwrap();
}

/// The package's folder, with `node_modules` installed (`npm ci` when missing).
fn installed() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/postgraphile");
    if !dir.join("node_modules/postgraphile").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm (Node.js) for the PostGraphile comparison");
        assert!(status.success(), "npm ci in {}", dir.display());
    }
    dir
}

/// PostGraphile on `url`, with JWT-checked roles when `rls`; the process and its endpoint
/// once it answers.
pub async fn start(url: &str, rls: bool) -> (Killed, String) {
    let dir = installed();
    let port = free_port();
    let mut command = Command::new(dir.join("node_modules/.bin/postgraphile"));
    command
        .current_dir(&dir)
        .env("NODE_ENV", "production")
        .args([
            "--connection",
            url,
            "--schema",
            "public",
            "--host",
            "127.0.0.1",
        ])
        .args(["--port", &port.to_string(), "--disable-query-log"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if rls {
        command.args(["--jwt-secret", JWT_SECRET]);
    }
    let process = Killed(command.spawn().expect("start PostGraphile"));
    let endpoint = format!("http://127.0.0.1:{port}/graphql");
    let client = reqwest::Client::new();
    for _ in 0..300 {
        let answer = client
            .post(&endpoint)
            .json(&json!({"query": "{ __typename }"}))
            .send()
            .await;
        if answer.is_ok_and(|r| r.status() == 200) {
            return (process, endpoint);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("PostGraphile did not answer at {endpoint}");
}

/// The bearer JWT PostGraphile turns into `person`'s role and claims (an hour).
pub fn token(person: &Person) -> String {
    use common::Role;
    let sees_all = !matches!(person.role, Role::Faculty | Role::Fss);
    let supports: Vec<String> = person.supports.iter().map(i64::to_string).collect();
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let claims = json!({
        "aud": "postgraphile",
        "role": VISITOR,
        "exp": exp,
        "user_id": person.id.to_string(),
        "sees_all": if sees_all { "1" } else { "0" },
        "faculty": if person.role == Role::Faculty { "1" } else { "0" },
        "supports": supports.join(","),
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}
