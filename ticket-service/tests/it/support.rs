//! The test harness: a real ticket-service on port 0 over a fresh database (a SQLite file or
//! a UUID-named PostgreSQL database), a fixed cast of users, and a client that signs each
//! request the way the gateway does.

use biscuit_auth::KeyPair;
use common::{Principal, Role, TokenMinter, config::CommonSettings};
use db::entity::{user, user_support};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use serde_json::{Value, json};
use std::collections::HashMap;

pub use testkit::Backend;

/// The cast every test starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    Admin,
    Budget,
    Chair,
    Grad,
    /// Faculty A owns most tickets in tests.
    FacultyA,
    FacultyB,
    FacultyC,
    /// Supports faculty A.
    FssA,
    /// Supports faculty B.
    FssB,
}

impl Who {
    pub const ALL: [Who; 9] = [
        Who::Admin,
        Who::Budget,
        Who::Chair,
        Who::Grad,
        Who::FacultyA,
        Who::FacultyB,
        Who::FacultyC,
        Who::FssA,
        Who::FssB,
    ];

    fn seed(self) -> (&'static str, &'static str, Role) {
        match self {
            Who::Admin => ("admin@test.edu", "Ann Admin", Role::Admin),
            Who::Budget => ("budget@test.edu", "Bea Budget", Role::BudgetDirector),
            Who::Chair => ("chair@test.edu", "Cy Chair", Role::AssociateChair),
            Who::Grad => ("grad@test.edu", "Gil Grad", Role::GradOffice),
            Who::FacultyA => ("a@test.edu", "Alice Faculty", Role::Faculty),
            Who::FacultyB => ("b@test.edu", "Bob Faculty", Role::Faculty),
            Who::FacultyC => ("c@test.edu", "Carol Faculty", Role::Faculty),
            Who::FssA => ("fss.a@test.edu", "Fay Support", Role::Fss),
            Who::FssB => ("fss.b@test.edu", "Fred Support", Role::Fss),
        }
    }
}

/// A running ticket-service with its database.
pub struct TestApp {
    pub url: String,
    pub db: DatabaseConnection,
    pub minter: TokenMinter,
    pub client: reqwest::Client,
    pub ids: HashMap<Who, i64>,
    principals: HashMap<Who, Principal>,
    database: testkit::TestDatabase,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |c| c).await
    }

    /// Spawns with a hook on the connection (the benchmark counts statements with it).
    pub async fn spawn_with(
        backend: Backend,
        hook: impl FnOnce(DatabaseConnection) -> DatabaseConnection,
    ) -> TestApp {
        common::telemetry::init_for_tests();
        let database = testkit::TestDatabase::create(&backend, "test").await;
        let url = database.url.clone();
        let conn = db::connect(&url).await.expect("connect");
        db::migrate(&conn).await.expect("migrate");
        let (ids, principals) = seed_cast(&conn).await;
        let conn = hook(conn);
        let minter = TokenMinter::new(KeyPair::new());
        let env = HashMap::from([
            ("DATABASE_URL", url.as_str()),
            ("TESSERA_ENV", "development"),
        ]);
        let settings = ticket_service::Settings {
            common: CommonSettings::from_source(&env).expect("settings"),
            port: 0,
            verifier: minter.verifier(),
        };
        let app = ticket_service::Application::serve(settings, conn.clone())
            .await
            .expect("build");
        let url = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        TestApp {
            url,
            db: conn,
            minter,
            client: reqwest::Client::new(),
            ids,
            principals,
            database,
        }
    }

    /// The test database's URL (a second pool on it is a second app instance).
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    pub fn id(&self, who: Who) -> i64 {
        self.ids[&who]
    }

    pub fn principal(&self, who: Who) -> Principal {
        self.principals[&who].clone()
    }

    /// A GraphQL request as `who`, signed like the gateway signs it.
    pub async fn gql(&self, who: Who, query: &str, variables: Value) -> Value {
        self.gql_as(&self.principal(who), query, variables).await
    }

    pub async fn gql_as(&self, principal: &Principal, query: &str, variables: Value) -> Value {
        let token = self.minter.mint(principal).expect("mint");
        let response = self
            .client
            .post(format!("{}/graphql", self.url))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body = response.text().await.expect("body");
        assert_eq!(status, 200, "graphql status, body: {body}");
        serde_json::from_str(&body).expect("json")
    }

    /// Creates tickets for `owner` as the budget director and returns their ids.
    pub async fn create_tickets(&self, owner: Who, count: i32) -> Vec<String> {
        let r = self
            .gql(
                Who::Budget,
                "mutation($o: ID!, $n: Int!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\", count: $n}) { id } }",
                json!({"o": self.id(owner).to_string(), "n": count}),
            )
            .await;
        ok(&r)["createTickets"]
            .as_array()
            .expect("tickets")
            .iter()
            .map(|t| t["id"].as_str().expect("id").to_owned())
            .collect()
    }

    /// One GRANTED ticket owned by `owner`.
    pub async fn granted_ticket(&self, owner: Who) -> String {
        let id = self.create_tickets(owner, 1).await.remove(0);
        let r = self
            .gql(
                Who::Budget,
                "mutation($t: ID!) { grantTicket(ticketId: $t) { state } }",
                json!({"t": id}),
            )
            .await;
        assert_eq!(ok(&r)["grantTicket"]["state"], "GRANTED");
        id
    }

    /// Moves a granted ticket to OFFER_REQUESTED for applicant `number`.
    pub async fn requested_ticket(&self, owner: Who, number: &str) -> String {
        let id = self.granted_ticket(owner).await;
        let r = self.request_offer(owner, &id, number, json!([])).await;
        assert_eq!(ok(&r)["requestOffer"]["state"], "OFFER_REQUESTED");
        id
    }

    pub async fn request_offer(
        &self,
        who: Who,
        ticket: &str,
        number: &str,
        supervisors: Value,
    ) -> Value {
        self.gql(
            who,
            "mutation($t: ID!, $n: String!, $s: [ID!]) { requestOffer(input: {ticketId: $t, applicant: {applicantNumber: $n, name: \"Test Applicant\", email: \"applicant@example.org\"}, supervisorIds: $s}) { state version applicant { applicantNumber } supervisors { id } } }",
            json!({"t": ticket, "n": number, "s": supervisors}),
        )
        .await
    }

    /// Removes the test's database.
    pub async fn cleanup(self) {
        self.db.close().await.ok();
        self.database.remove().await;
    }
}

async fn seed_cast(conn: &DatabaseConnection) -> (HashMap<Who, i64>, HashMap<Who, Principal>) {
    let mut ids = HashMap::new();
    let now = db::now();
    for who in Who::ALL {
        let (email, name, role) = who.seed();
        let row = user::ActiveModel {
            email: Set(email.into()),
            name: Set(name.into()),
            roles: Set(role.as_str().into()),
            password_hash: Set(None),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("user");
        ids.insert(who, row.id);
    }
    for (fss, faculty) in [(Who::FssA, Who::FacultyA), (Who::FssB, Who::FacultyB)] {
        user_support::ActiveModel {
            fss_id: Set(ids[&fss]),
            faculty_id: Set(ids[&faculty]),
        }
        .insert(conn)
        .await
        .expect("support");
    }
    let principals = Who::ALL
        .iter()
        .map(|who| {
            let supports = match who {
                Who::FssA => vec![ids[&Who::FacultyA]],
                Who::FssB => vec![ids[&Who::FacultyB]],
                _ => vec![],
            };
            (
                *who,
                Principal::user(ids[who], vec![who.seed().2], supports),
            )
        })
        .collect();
    (ids, principals)
}

/// The `data` of a response that must have no errors.
pub fn ok(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none_or(|e| e.is_null()),
        "unexpected errors: {response:#}"
    );
    &response["data"]
}

/// The `extensions.code` of a response's first error.
pub fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {response:#}"))
}

/// The `extensions.field` of a response's first error.
pub fn field(response: &Value) -> &str {
    response["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {response:#}"))
}
