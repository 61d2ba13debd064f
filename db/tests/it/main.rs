//! The migrations, constraints and demo seed, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use common::TicketState;
use db::entity::{applicant, note, ticket, user, user_support};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set};
use std::collections::HashSet;

/// A fresh database on each backend that answers (PostgreSQL is required in CI).
struct Databases {
    list: Vec<(String, DatabaseConnection)>,
    created: Vec<testkit::TestDatabase>,
}

impl Databases {
    /// Closes the connections and removes the databases.
    async fn remove(self) {
        for (_, conn) in self.list {
            conn.close().await.ok();
        }
        for database in self.created {
            database.remove().await;
        }
    }
}

async fn databases() -> Databases {
    let mut backends = vec![("sqlite", testkit::Backend::Sqlite)];
    if let Some(postgres) = testkit::postgres_or_skip().await {
        backends.push(("postgres", postgres));
    }
    let mut list = Vec::new();
    let mut created = Vec::new();
    for (label, backend) in backends {
        let database = testkit::TestDatabase::create(&backend, "db_test").await;
        list.push((label.to_owned(), db::connect(&database.url).await.unwrap()));
        created.push(database);
    }
    Databases { list, created }
}

async fn user(conn: &DatabaseConnection, email: &str) -> Result<user::Model, sea_orm::DbErr> {
    let now = db::now();
    user::ActiveModel {
        email: Set(email.into()),
        name: Set("Someone".into()),
        roles: Set("FACULTY".into()),
        password_hash: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

async fn ticket(
    conn: &DatabaseConnection,
    number: i64,
    owner: i64,
    applicant: Option<i64>,
    state: TicketState,
) -> Result<ticket::Model, sea_orm::DbErr> {
    let now = db::now();
    ticket::ActiveModel {
        number: Set(number),
        cycle: Set("2027".into()),
        residency: Set("DOMESTIC".into()),
        state: Set(state.as_str().into()),
        owner_id: Set(owner),
        applicant_id: Set(applicant),
        created_by: Set(owner),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(conn)
    .await
}

#[tokio::test]
async fn migrations_apply_once_and_report_status() {
    let dbs = databases().await;
    for (backend, conn) in &dbs.list {
        let (backend, conn) = (backend.as_str(), conn);
        let before = db::status(conn).await.unwrap();
        assert!(
            before.iter().all(|(_, applied)| !applied),
            "{backend}: {before:?}"
        );
        db::migrate(conn).await.unwrap();
        db::migrate(conn).await.unwrap();
        let after = db::status(conn).await.unwrap();
        assert!(
            !after.is_empty() && after.iter().all(|(_, applied)| *applied),
            "{backend}: {after:?}"
        );
    }
    dbs.remove().await;
}

#[tokio::test]
async fn the_database_enforces_the_rules() {
    let dbs = databases().await;
    for (backend, conn) in &dbs.list {
        let (backend, conn) = (backend.as_str(), conn);
        db::migrate(conn).await.unwrap();
        let owner = user(conn, "Owner@Test.edu").await.unwrap();
        assert!(
            user(conn, "owner@test.EDU").await.is_err(),
            "{backend}: emails are unique whatever their case"
        );
        let now = db::now();
        let a = applicant::ActiveModel {
            applicant_number: Set("U-1".into()),
            name: Set("Pat".into()),
            email: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(conn)
        .await
        .unwrap();
        // One applicant, one ticket that holds them; refused and other states do not hold.
        ticket(conn, 1, owner.id, Some(a.id), TicketState::OfferPending)
            .await
            .unwrap();
        for (n, state) in [
            (2, TicketState::OfferRequested),
            (3, TicketState::OfferAccepted),
        ] {
            let err = ticket(conn, n, owner.id, Some(a.id), state)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ),
                "{backend}: {err}"
            );
        }
        ticket(conn, 4, owner.id, Some(a.id), TicketState::OfferRefused)
            .await
            .unwrap();
        // Numbers are unique; tickets need a real owner.
        assert!(
            ticket(conn, 4, owner.id, None, TicketState::Initial)
                .await
                .is_err(),
            "{backend}"
        );
        assert!(
            ticket(conn, 5, 999_999, None, TicketState::Initial)
                .await
                .is_err(),
            "{backend}: foreign keys"
        );
    }
    dbs.remove().await;
}

#[tokio::test]
async fn the_demo_covers_every_state_once_seeded() {
    let dbs = databases().await;
    for (backend, conn) in &dbs.list {
        let (backend, conn) = (backend.as_str(), conn);
        db::migrate(conn).await.unwrap();
        assert!(db::seed::seed_if_empty(conn).await.unwrap(), "{backend}");
        assert!(
            !db::seed::seed_if_empty(conn).await.unwrap(),
            "{backend}: seeds only an empty database"
        );
        let tickets = ticket::Entity::find().all(conn).await.unwrap();
        assert_eq!(tickets.len(), 40, "{backend}");
        let states: HashSet<TicketState> = tickets.iter().map(|t| t.state()).collect();
        assert_eq!(
            states.len(),
            TicketState::ALL.len(),
            "{backend}: {states:?}"
        );
        let users = user::Entity::find().all(conn).await.unwrap();
        for role in common::Role::ALL {
            assert!(
                users.iter().any(|u| u.role_list().contains(role)),
                "{backend}: no {role}"
            );
        }
        assert!(
            user_support::Entity::find().count(conn).await.unwrap() > 0,
            "{backend}: the FSS supports someone"
        );
        assert!(
            note::Entity::find().count(conn).await.unwrap() > 0,
            "{backend}: notes"
        );
        assert_eq!(db::seed::logins().len(), common::Role::ALL.len());
        let hash = users[0].password_hash.clone().unwrap();
        assert!(common::password::verify(db::seed::DEMO_PASSWORD, &hash));
    }
    dbs.remove().await;
}

/// PostgreSQL stopped: a statement is answered with an error, not held until the gateway's
/// subgraph timeout (10 s) fires; started again, the same pool works without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_postgres_fails_fast_and_the_pool_recovers() {
    use sea_orm::ConnectionTrait;
    use std::time::Duration;
    let Some(mut postgres) = testkit::private::PrivatePostgres::start() else {
        return;
    };
    let conn = db::connect(&format!("{}/postgres", postgres.base_url()))
        .await
        .unwrap();
    conn.execute_unprepared("SELECT 1").await.unwrap();
    postgres.stop();
    for _ in 0..3 {
        // A bound that only a hang reaches: the pool's acquire timeout used to be 10 s.
        let answered = tokio::time::timeout(Duration::from_secs(8), conn.ping()).await;
        assert!(
            matches!(answered, Ok(Err(_))),
            "a stopped database must be an error at once, got {answered:?}"
        );
    }
    postgres.start_again();
    let mut healed = false;
    for _ in 0..100 {
        if conn.execute_unprepared("SELECT 1").await.is_ok() {
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healed, "the pool never reconnected");
    conn.close().await.ok();
}
