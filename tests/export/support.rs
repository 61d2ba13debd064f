//! The harness: ticket-service (to make tickets and to compare lists with) and export-service
//! on one fresh database and one in-process queue, a small cast of users, and a client that
//! signs requests like the gateway.

use biscuit_auth::KeyPair;
use common::{Principal, Role, TokenMinter, config::CommonSettings, stream::EventStream};
use db::entity::{export_job, user, user_support};
use export_service::{Worker, config::WorkerSettings};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::{Value, json};
use std::{collections::HashMap, path::PathBuf, time::Duration};

pub use testkit::Backend;

/// The cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    Budget,
    Grad,
    FacultyA,
    FacultyB,
    /// Supports faculty A.
    FssA,
}

impl Who {
    const ALL: [Who; 5] = [
        Who::Budget,
        Who::Grad,
        Who::FacultyA,
        Who::FacultyB,
        Who::FssA,
    ];

    fn seed(self) -> (&'static str, &'static str, Role) {
        match self {
            Who::Budget => ("budget@test.edu", "Bea Budget", Role::BudgetDirector),
            Who::Grad => ("grad@test.edu", "Gil Grad", Role::GradOffice),
            Who::FacultyA => ("a@test.edu", "Alice Faculty", Role::Faculty),
            Who::FacultyB => ("b@test.edu", "Bob Faculty", Role::Faculty),
            Who::FssA => ("fss.a@test.edu", "Fay Support", Role::Fss),
        }
    }
}

/// The two subgraphs, their database, queue and exports folder.
pub struct TestApp {
    pub tickets_url: String,
    pub exports_url: String,
    pub db: DatabaseConnection,
    pub stream: EventStream,
    pub data_dir: PathBuf,
    pub minter: TokenMinter,
    pub client: reqwest::Client,
    pub ids: HashMap<Who, i64>,
    principals: HashMap<Who, Principal>,
    database: testkit::TestDatabase,
}

/// Worker settings for tests: small batches so that every export spans several.
pub fn small_batches() -> WorkerSettings {
    WorkerSettings {
        batch_size: 3,
        ..WorkerSettings::default()
    }
}

impl TestApp {
    /// Both subgraphs on an in-process queue, with no worker yet.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_on(backend, EventStream::memory()).await
    }

    /// Both subgraphs queueing jobs on `stream`, with no worker yet.
    pub async fn spawn_on(backend: Backend, stream: EventStream) -> TestApp {
        common::telemetry::init_for_tests();
        let database = testkit::TestDatabase::create(&backend, "export").await;
        let url = database.url.clone();
        let conn = db::connect(&url).await.expect("connect");
        db::migrate(&conn).await.expect("migrate");
        let (ids, principals) = seed_cast(&conn).await;
        let minter = TokenMinter::new(KeyPair::new());
        let data_dir = std::env::temp_dir().join(format!("tessera-export-test-{}", uuid_like()));
        let data = data_dir.display().to_string();
        let env = HashMap::from([
            ("DATABASE_URL", url.as_str()),
            ("TESSERA_ENV", "development"),
            ("DATA_DIR", data.as_str()),
        ]);
        let common = CommonSettings::from_source(&env).expect("settings");
        let tickets = ticket_service::Application::serve(
            ticket_service::Settings {
                common: common.clone(),
                port: 0,
                verifier: minter.verifier(),
            },
            conn.clone(),
        )
        .await
        .expect("ticket-service");
        let exports = export_service::Application::serve(
            export_service::Settings {
                subgraph: common::config::SubgraphSettings {
                    common,
                    port: 0,
                    verifier: minter.verifier(),
                },
                worker: WorkerSettings::default(),
            },
            conn.clone(),
            stream.clone(),
        )
        .await
        .expect("export-service");
        let tickets_url = format!("http://127.0.0.1:{}/graphql", tickets.port());
        let exports_url = format!("http://127.0.0.1:{}/graphql", exports.port());
        tokio::spawn(tickets.run_until_stopped());
        tokio::spawn(exports.run_until_stopped());
        TestApp {
            tickets_url,
            exports_url,
            db: conn,
            stream,
            data_dir,
            minter,
            client: reqwest::Client::new(),
            ids,
            principals,
            database,
        }
    }

    /// A worker on the app's queue with `settings`.
    pub fn worker(&self, settings: WorkerSettings) -> Worker {
        Worker::new(
            self.db.clone(),
            self.stream.clone(),
            self.data_dir.clone(),
            settings,
        )
    }

    pub fn id(&self, who: Who) -> i64 {
        self.ids[&who]
    }

    pub fn principal(&self, who: Who) -> Principal {
        self.principals[&who].clone()
    }

    async fn post(&self, url: &str, principal: &Principal, query: &str, variables: Value) -> Value {
        let token = self.minter.mint(principal).expect("mint");
        let response = self
            .client
            .post(url)
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    /// A request to ticket-service as `who`.
    pub async fn tickets(&self, who: Who, query: &str, variables: Value) -> Value {
        self.post(&self.tickets_url, &self.principal(who), query, variables)
            .await
    }

    /// A request to export-service as `principal`.
    pub async fn exports_as(&self, principal: &Principal, query: &str, variables: Value) -> Value {
        self.post(&self.exports_url, principal, query, variables)
            .await
    }

    /// A request to export-service as `who`.
    pub async fn exports(&self, who: Who, query: &str, variables: Value) -> Value {
        self.exports_as(&self.principal(who), query, variables)
            .await
    }

    /// Creates `count` GRANTED tickets for `owner`; returns their ids.
    pub async fn granted(&self, owner: Who, count: i32) -> Vec<String> {
        let r = self
            .tickets(
                Who::Budget,
                "mutation($o: ID!, $n: Int!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\", count: $n}) { id } }",
                json!({"o": self.id(owner).to_string(), "n": count}),
            )
            .await;
        let ids: Vec<String> = ok(&r)["createTickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect();
        for id in &ids {
            let r = self
                .tickets(
                    Who::Budget,
                    "mutation($t: ID!) { grantTicket(ticketId: $t) { state } }",
                    json!({"t": id}),
                )
                .await;
            ok(&r);
        }
        ids
    }

    /// Queues an export as `who`; returns the job id.
    pub async fn export(&self, who: Who, filter: Value, order: Value) -> String {
        let r = self
            .exports(
                who,
                "mutation($f: TicketFilter, $o: TicketOrder) { exportTickets(filter: $f, orderBy: $o) { id status rowsWritten downloadUrl requestedBy { id } } }",
                json!({"f": filter, "o": order}),
            )
            .await;
        let job = &ok(&r)["exportTickets"];
        assert_eq!(job["status"], "QUEUED", "{job}");
        assert_eq!(job["downloadUrl"], Value::Null);
        assert_eq!(job["requestedBy"]["id"], self.id(who).to_string());
        job["id"].as_str().unwrap().to_owned()
    }

    /// The job row.
    pub async fn job(&self, id: &str) -> export_job::Model {
        export_job::Entity::find_by_id(id.parse::<i64>().unwrap())
            .one(&self.db)
            .await
            .unwrap()
            .expect("job row")
    }

    /// Waits until the job is DONE or FAILED (a generous bound: a stuck job fails the test,
    /// it does not time anything).
    pub async fn finished(&self, id: &str) -> export_job::Model {
        for _ in 0..1200 {
            let job = self.job(id).await;
            if job.status == "DONE" || job.status == "FAILED" {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("job {id} never finished: {:?}", self.job(id).await);
    }

    /// The finished file's bytes.
    pub fn file(&self, id: &str) -> Vec<u8> {
        std::fs::read(common::export::file(&self.data_dir, id.parse().unwrap())).expect("file")
    }

    pub async fn cleanup(self) {
        self.db.close().await.ok();
        self.database.remove().await;
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn uuid_like() -> String {
    uuid::Uuid::new_v4().simple().to_string()
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
    user_support::ActiveModel {
        fss_id: Set(ids[&Who::FssA]),
        faculty_id: Set(ids[&Who::FacultyA]),
    }
    .insert(conn)
    .await
    .expect("support");
    let principals = Who::ALL
        .iter()
        .map(|who| {
            let supports = if *who == Who::FssA {
                vec![ids[&Who::FacultyA]]
            } else {
                vec![]
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

/// Parses an export file strictly: it must start with the BOM, end every record with CRLF
/// (a line end outside quotes is always CRLF), and have the same number of cells in every
/// record. Returns the records, header first.
pub fn parse_strict(bytes: &[u8]) -> Vec<Vec<String>> {
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("the file starts with the BOM");
    let mut quoted = false;
    for (i, b) in body.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\r' if !quoted => assert_eq!(body.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            b'\n' if !quoted => assert_eq!(body[i - 1], b'\r', "bare LF at {i}"),
            _ => {}
        }
    }
    assert!(!quoted, "an unterminated quote");
    assert!(body.ends_with(b"\r\n"), "the last record ends with CRLF");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .terminator(csv::Terminator::CRLF)
        .from_reader(body);
    reader
        .records()
        .map(|r| {
            r.expect("a well-formed record")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}
