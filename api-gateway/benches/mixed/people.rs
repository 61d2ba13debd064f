//! The mixed benchmark's database and the people who call it: `tessera_mixed_bench_<count>`,
//! seeded once and kept between runs, with users of every role that reads tickets.

use db::sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::time::Instant;

/// Every bench user's password.
pub const PASSWORD: &str = "bench password";

/// A bench user: who they are and what they may see.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: i64,
    pub email: String,
    pub role: common::Role,
    /// For FSS: the faculty members they act for.
    pub supports: Vec<i64>,
    /// Tickets this person may see, to ask for one at random (empty: any ticket).
    pub visible: Vec<i64>,
}

/// The users the bulk seed lacks, added once: FSS users (each supporting two faculty members),
/// associate chairs, more graduate office staff and budget directors. Every one has the
/// graduate office reader's password hash.
const EXTRA_USERS: &str = "
INSERT INTO users (email, name, roles, password_hash, active, created_at, updated_at)
SELECT e.email, e.name, e.roles, g.password_hash, true, now(), now()
FROM (VALUES
  ('fss0@bench.edu', 'FSS 0', 'FSS'), ('fss1@bench.edu', 'FSS 1', 'FSS'),
  ('fss2@bench.edu', 'FSS 2', 'FSS'), ('fss3@bench.edu', 'FSS 3', 'FSS'),
  ('fss4@bench.edu', 'FSS 4', 'FSS'), ('fss5@bench.edu', 'FSS 5', 'FSS'),
  ('fss6@bench.edu', 'FSS 6', 'FSS'), ('fss7@bench.edu', 'FSS 7', 'FSS'),
  ('fss8@bench.edu', 'FSS 8', 'FSS'), ('fss9@bench.edu', 'FSS 9', 'FSS'),
  ('chair0@bench.edu', 'Chair 0', 'ASSOCIATE_CHAIR'), ('chair1@bench.edu', 'Chair 1', 'ASSOCIATE_CHAIR'),
  ('chair2@bench.edu', 'Chair 2', 'ASSOCIATE_CHAIR'), ('chair3@bench.edu', 'Chair 3', 'ASSOCIATE_CHAIR'),
  ('grad1@bench.edu', 'Grad 1', 'GRAD_OFFICE'), ('grad2@bench.edu', 'Grad 2', 'GRAD_OFFICE'),
  ('grad3@bench.edu', 'Grad 3', 'GRAD_OFFICE'),
  ('budget1@bench.edu', 'Budget 1', 'BUDGET_DIRECTOR'), ('budget2@bench.edu', 'Budget 2', 'BUDGET_DIRECTOR')
) AS e(email, name, roles)
CROSS JOIN (SELECT password_hash FROM users WHERE email = 'grad@bench.edu') AS g;
INSERT INTO user_supports (fss_id, faculty_id)
SELECT s.id, f.id
FROM users s
JOIN users f ON f.email IN (
  'f' || (2 * substr(s.email, 4, 1)::int) || '@bench.edu',
  'f' || (2 * substr(s.email, 4, 1)::int + 1) || '@bench.edu')
WHERE s.email LIKE 'fss_@bench.edu';
ANALYZE;
";

/// The kept database with `count` tickets (seeded now when it is new; that takes a minute or
/// two at 100,000): its name, URL and a connection.
pub async fn database(base: &str, count: i64) -> (String, String, DatabaseConnection) {
    let name = format!("tessera_mixed_bench_{count}");
    let url = testkit::kept_database(base, &name).await;
    let conn = db::connect(&url).await.unwrap();
    db::migrate(&conn).await.unwrap();
    let seeded = scalar(
        &conn,
        "SELECT count(*) FROM users WHERE email = 'fss9@bench.edu'",
    )
    .await;
    if seeded == 0 {
        println!("seeding {count} tickets into {name} (kept for later runs)...");
        let started = Instant::now();
        let hash = common::password::hash(PASSWORD).unwrap();
        db::seed::bulk(&conn, count, Some(hash)).await.unwrap();
        conn.execute_unprepared(EXTRA_USERS).await.unwrap();
        // No autovacuum in the middle of a measurement.
        conn.execute_unprepared("VACUUM ANALYZE").await.unwrap();
        println!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    }
    // One process per query: a parallel worker's CPU time is not in the backend's, and it
    // leaves with it (and on two cores parallel plans only take time from other clients).
    conn.execute_unprepared(&format!(
        "ALTER DATABASE \"{name}\" SET max_parallel_workers_per_gather = 0"
    ))
    .await
    .unwrap();
    let have = scalar(&conn, "SELECT count(*) FROM tickets").await;
    assert_eq!(
        have, count,
        "{name} holds {have} tickets; drop it to reseed"
    );
    (name, url, conn)
}

async fn scalar(conn: &DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

/// Everyone who reads tickets in the bench, with what they may see.
pub async fn people(conn: &DatabaseConnection) -> Vec<Person> {
    let rows = conn
        .query_all(Statement::from_string(
            conn.get_database_backend(),
            "SELECT u.id, u.email, u.roles, \
             coalesce((SELECT string_agg(faculty_id::text, ',' ORDER BY faculty_id) \
                       FROM user_supports WHERE fss_id = u.id), '') \
             FROM users u WHERE u.email LIKE '%@bench.edu' ORDER BY u.id",
        ))
        .await
        .unwrap();
    let mut people = Vec::new();
    for row in rows {
        let (id, email, role, supports): (i64, String, String, String) = (
            row.try_get_by_index(0).unwrap(),
            row.try_get_by_index(1).unwrap(),
            row.try_get_by_index(2).unwrap(),
            row.try_get_by_index(3).unwrap(),
        );
        let role: common::Role = role.parse().expect("one role");
        let supports: Vec<i64> = supports.split(',').filter_map(|s| s.parse().ok()).collect();
        let owners = match role {
            common::Role::Faculty => vec![id],
            common::Role::Fss => supports.clone(),
            _ => vec![],
        };
        let visible = owned_tickets(conn, &owners).await;
        people.push(Person {
            id,
            email,
            role,
            supports,
            visible,
        });
    }
    people
}

/// Up to 2,000 ids of tickets `owners` own (none for an empty list).
async fn owned_tickets(conn: &DatabaseConnection, owners: &[i64]) -> Vec<i64> {
    if owners.is_empty() {
        return Vec::new();
    }
    let list: Vec<String> = owners.iter().map(i64::to_string).collect();
    conn.query_all(Statement::from_string(
        conn.get_database_backend(),
        format!(
            "SELECT id FROM tickets WHERE owner_id IN ({}) ORDER BY id LIMIT 2000",
            list.join(",")
        ),
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get_by_index(0).unwrap())
    .collect()
}
