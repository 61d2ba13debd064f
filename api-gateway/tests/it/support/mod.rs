//! The test harness: a real ticket-service and a real gateway on port 0 over a fresh database
//! (a SQLite file or a UUID-named PostgreSQL database), sessions in-process or in Redis, a
//! small cast of users with passwords, and a cookie-keeping client per user.

use common::{Role, config::CommonSettings};
use db::entity::{user, user_support};
use db::sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use serde_json::{Value, json};
use std::{collections::HashMap, sync::OnceLock, time::Duration};

/// The `METRICS_TOKEN` of gateways started in production mode by tests (development serves
/// `/metrics` to anyone, with or without it).
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";

pub use testkit::{Backend, postgres_or_skip, redis_or_skip};

/// The cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    Admin,
    Budget,
    Chair,
    Grad,
    FacultyA,
    FacultyB,
    FssA,
}

impl Who {
    pub const ALL: [Who; 7] = [
        Who::Admin,
        Who::Budget,
        Who::Chair,
        Who::Grad,
        Who::FacultyA,
        Who::FacultyB,
        Who::FssA,
    ];

    pub fn email(self) -> &'static str {
        self.seed().0
    }

    pub fn name(self) -> &'static str {
        self.seed().1
    }

    fn seed(self) -> (&'static str, &'static str, Role) {
        match self {
            Who::Admin => ("admin@test.edu", "Ann Admin", Role::Admin),
            Who::Budget => ("budget@test.edu", "Bea Budget", Role::BudgetDirector),
            Who::Chair => ("chair@test.edu", "Cy Chair", Role::AssociateChair),
            Who::Grad => ("grad@test.edu", "Gil Grad", Role::GradOffice),
            Who::FacultyA => ("a@test.edu", "Alice Faculty", Role::Faculty),
            Who::FacultyB => ("b@test.edu", "Bob Faculty", Role::Faculty),
            Who::FssA => ("fss.a@test.edu", "Fay Support", Role::Fss),
        }
    }
}

/// How the platform is put together for a test.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Sessions and login failures in Redis.
    pub redis: Option<String>,
    /// `TESSERA_ENV`.
    pub production: bool,
    /// Session lifetimes (idle, absolute), when not the defaults.
    pub session: Option<(Duration, Duration)>,
    /// Requests a second per address and per user (default: off, so tests are not throttled).
    pub rate: Option<(u32, u32)>,
    /// Subgraph call timeout.
    pub subgraph_timeout: Option<Duration>,
    /// Where the gateway looks for ticket-service instead of the real one.
    pub ticket_service_url: Option<String>,
    /// Run the outbox relay and the email worker (over an in-process stream) with these
    /// settings (`SENDGRID_API_URL`, ...); the outbox folder is the test's own.
    pub mail: Option<HashMap<&'static str, String>>,
    /// Run ticket-service's outbox relay on the platform's event stream (live updates).
    pub relay: bool,
    /// More of the gateway's environment (`METRICS_TOKEN`, ...).
    pub env: Vec<(&'static str, String)>,
}

/// A running platform.
pub struct Platform {
    /// The gateway's base URL.
    pub url: String,
    pub db: DatabaseConnection,
    pub ids: HashMap<Who, i64>,
    /// ticket-service, on a runtime of its own so that it can be killed outright.
    pub ticket_service: Killable,
    /// The notify-service server task.
    pub notify_service: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The gateway's signing key, for tests that forge or mint tokens themselves.
    pub minter: common::TokenMinter,
    /// The export-service server task.
    pub export_service: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The export worker.
    pub export_worker: tokio::task::JoinHandle<()>,
    /// `DATA_DIR` (export files are under `exports/`).
    pub data_dir: std::path::PathBuf,
    /// The event stream the services share (in Redis with `Options::redis`).
    pub stream: common::stream::EventStream,
    /// The outbox relay, when running.
    pub relay: Option<tokio::task::JoinHandle<()>>,
    /// The gateway's settings, for starting another replica.
    pub gateway_settings: api_gateway::Settings,
    database: testkit::TestDatabase,
}

/// A service on its own runtime and thread: `kill` drops the runtime, which ends every task
/// of it, open keep-alive connections included (what a crashed process looks like to its
/// clients).
pub struct Killable {
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Killable {
    fn ticket_service(settings: ticket_service::Settings, conn: DatabaseConnection) -> (u16, Self) {
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (kill, killed) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let app = ticket_service::Application::serve(settings, conn)
                    .await
                    .expect("ticket-service");
                port_tx.send(app.port()).expect("port");
                tokio::select! {
                    _ = app.run_until_stopped() => {}
                    _ = killed => {}
                }
            });
        });
        let port = port_rx.recv().expect("ticket-service started");
        (
            port,
            Self {
                kill: Some(kill),
                thread: Some(thread),
            },
        )
    }

    /// Stops the service and every connection it had open.
    pub fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| common::password::hash(PASSWORD).expect("hash"))
        .clone()
}

impl Platform {
    pub async fn spawn(backend: Backend) -> Platform {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> Platform {
        common::telemetry::init_for_tests();
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("tessera-gw-data-{unique}"));
        let database = testkit::TestDatabase::create(&backend, "gw_test").await;
        let url = database.url.clone();
        let conn = db::connect(&url).await.expect("connect");
        db::migrate(&conn).await.expect("migrate");
        let ids = seed_cast(&conn).await;

        let data = data_dir.display().to_string();
        let mut env = HashMap::from([
            ("DATABASE_URL", url.as_str()),
            ("DATA_DIR", data.as_str()),
            (
                "TESSERA_ENV",
                if options.production {
                    "production"
                } else {
                    "development"
                },
            ),
            ("PORT", "0"),
            ("RATE_LIMIT_PER_ADDRESS", "0"),
            ("RATE_LIMIT_PER_USER", "0"),
        ]);
        // Every test gets its own Redis keys, so one test's lockout cannot lock another out.
        let prefix = format!("tessera-test-{unique}");
        if let Some(redis) = &options.redis {
            env.insert("REDIS_URL", redis.as_str());
            env.insert("REDIS_KEY_PREFIX", prefix.as_str());
        }
        for (name, value) in &options.env {
            env.insert(name, value.as_str());
        }
        let mut settings = api_gateway::Settings::from_source(&env).expect("settings");
        if let Some((idle, absolute)) = options.session {
            settings.session_idle = idle;
            settings.session_absolute = absolute;
        }
        if let Some((address, user)) = options.rate {
            settings.rate_per_address = address;
            settings.rate_per_user = user;
        }
        if let Some(timeout) = options.subgraph_timeout {
            settings.subgraph_timeout = timeout;
        }
        // Tests poll for `lastUsedAt`; no need to make them wait the production interval.
        settings.token_use_flush = Duration::from_millis(200);
        let minter = settings.minter.clone();
        let (ticket_port, ticket_service) = Killable::ticket_service(
            ticket_service::Settings {
                common: CommonSettings::from_source(&env).expect("settings"),
                port: 0,
                verifier: settings.minter.verifier(),
            },
            conn.clone(),
        );
        let notify = notify_service::Application::build_with_db(
            notify_service::Settings {
                common: CommonSettings::from_source(&env).expect("settings"),
                port: 0,
                verifier: settings.minter.verifier(),
            },
            conn.clone(),
        )
        .await
        .expect("notify-service");
        let export_common = CommonSettings::from_source(&env).expect("settings");
        let stream = common::stream::EventStream::connect(&export_common)
            .await
            .expect("event stream");
        let exports = export_service::Application::serve(
            export_service::Settings {
                subgraph: common::config::SubgraphSettings {
                    common: export_common,
                    port: 0,
                    verifier: settings.minter.verifier(),
                },
                worker: export_service::config::WorkerSettings::default(),
            },
            conn.clone(),
            stream.clone(),
        )
        .await
        .expect("export-service");
        let export_worker = export_service::Worker::new(
            conn.clone(),
            stream.clone(),
            data_dir.clone(),
            export_service::config::WorkerSettings::default(),
        )
        .start();
        let settings = settings
            .with_subgraph_url(
                "ticket_service",
                options
                    .ticket_service_url
                    .clone()
                    .unwrap_or_else(|| format!("http://127.0.0.1:{ticket_port}/graphql")),
            )
            .with_subgraph_url(
                "notify_service",
                format!("http://127.0.0.1:{}/graphql", notify.port()),
            )
            .with_subgraph_url(
                "export_service",
                format!("http://127.0.0.1:{}/graphql", exports.port()),
            );
        let notify_service = tokio::spawn(notify.run_until_stopped());
        if let Some(mail) = &options.mail {
            let source: HashMap<&str, &str> = mail.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let common = CommonSettings::from_source(&env).expect("settings");
            let mail =
                notify_service::MailSettings::from_source(&source, &common).expect("mail settings");
            notify_service::worker::Worker::new(conn.clone(), stream.clone(), mail)
                .expect("email worker")
                .start();
        }
        let relay = (options.relay || options.mail.is_some())
            .then(|| ticket_service::relay::start(conn.clone(), stream.clone()));
        let export_service = tokio::spawn(exports.run_until_stopped());
        let gateway_settings = settings.clone();
        let gateway =
            api_gateway::Application::build_with_stream(settings, conn.clone(), stream.clone())
                .await
                .expect("gateway");
        let url = format!("http://127.0.0.1:{}", gateway.port());
        tokio::spawn(gateway.run_until_stopped());
        Platform {
            url,
            db: conn,
            ids,
            ticket_service,
            notify_service,
            minter,
            export_service,
            export_worker,
            data_dir,
            stream,
            relay,
            gateway_settings,
            database,
        }
    }

    /// Starts another gateway replica over the same database and event stream (a separate
    /// process as far as its state goes: its own sessions cache, hub and engine); returns its
    /// base URL.
    pub async fn another_gateway(&self) -> String {
        let gateway = api_gateway::Application::build_with_stream(
            self.gateway_settings.clone(),
            self.db.clone(),
            self.stream.clone(),
        )
        .await
        .expect("gateway");
        let url = format!("http://127.0.0.1:{}", gateway.port());
        tokio::spawn(gateway.run_until_stopped());
        url
    }

    pub fn id(&self, who: Who) -> i64 {
        self.ids[&who]
    }

    /// A client with its own cookie jar, not signed in.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client")
    }

    /// Signs `who` in and returns their client (it keeps the session cookie).
    pub async fn signed_in(&self, who: Who) -> reqwest::Client {
        let client = self.client();
        let response = self.login(&client, who.email(), PASSWORD).await;
        assert_eq!(response.status(), 200, "{who:?} signs in");
        client
    }

    /// Signs `who` in with `password` without a cookie jar and returns the raw cookie pair
    /// `tessera_session=...`, to send by hand.
    pub async fn session_cookie(&self, who: Who, password: &str) -> String {
        let response = self
            .login(&reqwest::Client::new(), who.email(), password)
            .await;
        assert_eq!(response.status(), 200, "{who:?} signs in");
        let set = response.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .expect("a cookie");
        set.split(';').next().unwrap_or_default().to_string()
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(format!("{}/auth/login", self.url))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login request")
    }

    /// POSTs a GraphQL request and returns the JSON body.
    pub async fn gql(&self, client: &reqwest::Client, query: &str, variables: Value) -> Value {
        self.post(client, query, variables)
            .await
            .json()
            .await
            .expect("JSON body")
    }

    /// POSTs a GraphQL request.
    pub async fn post(
        &self,
        client: &reqwest::Client,
        query: &str,
        variables: Value,
    ) -> reqwest::Response {
        client
            .post(format!("{}/graphql", self.url))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("graphql request")
    }

    pub async fn cleanup(mut self) {
        if let Some(relay) = self.relay.take() {
            relay.abort();
        }
        self.ticket_service.kill();
        self.notify_service.abort();
        self.export_service.abort();
        self.export_worker.abort();
        self.db.close().await.ok();
        self.database.remove().await;
    }
}

pub async fn seed_cast(conn: &DatabaseConnection) -> HashMap<Who, i64> {
    let mut ids = HashMap::new();
    let now = db::now();
    for who in Who::ALL {
        let (email, name, role) = who.seed();
        let row = user::ActiveModel {
            email: Set(email.into()),
            name: Set(name.into()),
            roles: Set(user::format_roles(&[role])),
            password_hash: Set(Some(password_hash())),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("seed user");
        ids.insert(who, row.id);
    }
    user_support::ActiveModel {
        fss_id: Set(ids[&Who::FssA]),
        faculty_id: Set(ids[&Who::FacultyA]),
    }
    .insert(conn)
    .await
    .expect("seed support");
    ids
}

/// The first error's `extensions.code`, if any.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}
