//! The test harness: a real ticket-service and a real gateway on port 0 over a fresh database
//! (a SQLite file or a UUID-named PostgreSQL database), sessions in-process or in Redis, a
//! small cast of users with passwords, and a cookie-keeping client per user.
//!
//! Two test targets use it: the gateway's own tests (`api-gateway/tests/it`) and the platform
//! tests at the repository's root (`tests/it`, which include this folder by path), so that
//! both start the platform the same way.

mod cast;
pub mod clients;
mod killable;

use common::config::CommonSettings;
use db::sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use std::{collections::HashMap, time::Duration};

pub use cast::{PASSWORD, Who, seed_cast};
pub use killable::Killable;
pub use testkit::{Backend, redis_or_skip};

/// The `METRICS_TOKEN` of gateways started in production mode by tests (development serves
/// `/metrics` to anyone, with or without it).
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

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
    // Read by the platform tests (`tests/it`) only.
    #[allow(dead_code)]
    pub data_dir: std::path::PathBuf,
    /// The event stream the services share (in Redis with `Options::redis`).
    pub stream: common::stream::EventStream,
    /// The outbox relay, when running.
    pub relay: Option<tokio::task::JoinHandle<()>>,
    /// The gateway's settings, for starting another replica.
    pub gateway_settings: api_gateway::Settings,
    database: testkit::TestDatabase,
}

/// The environment every service of one platform reads its settings from.
struct Environment(HashMap<&'static str, String>);

impl Environment {
    fn new(
        database_url: &str,
        data_dir: &std::path::Path,
        unique: &str,
        options: &Options,
    ) -> Self {
        let mode = if options.production {
            "production"
        } else {
            "development"
        };
        let mut env = HashMap::from([
            ("DATABASE_URL", database_url.to_string()),
            ("DATA_DIR", data_dir.display().to_string()),
            ("TESSERA_ENV", mode.to_string()),
            ("PORT", "0".to_string()),
            ("RATE_LIMIT_PER_ADDRESS", "0".to_string()),
            ("RATE_LIMIT_PER_USER", "0".to_string()),
        ]);
        // Every test gets its own Redis keys, so one test's lockout cannot lock another out.
        if let Some(redis) = &options.redis {
            env.insert("REDIS_URL", redis.clone());
            env.insert("REDIS_KEY_PREFIX", format!("tessera-test-{unique}"));
        }
        env.extend(options.env.iter().cloned());
        Self(env)
    }

    /// The settings' source: the configuration readers take borrowed pairs.
    fn source(&self) -> HashMap<&str, &str> {
        self.0.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    fn common(&self) -> CommonSettings {
        CommonSettings::from_source(&self.source()).expect("settings")
    }

    /// The gateway's settings with the test's overrides (its subgraph URLs come later).
    fn gateway(&self, options: &Options) -> api_gateway::Settings {
        let mut settings = api_gateway::Settings::from_source(&self.source()).expect("settings");
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
        settings
    }
}

/// The three subgraphs and the export worker, serving; the gateway is not started yet.
struct Subgraphs {
    ticket_port: u16,
    ticket_service: Killable,
    notify_port: u16,
    notify_service: tokio::task::JoinHandle<std::io::Result<()>>,
    export_port: u16,
    export_service: tokio::task::JoinHandle<std::io::Result<()>>,
    export_worker: tokio::task::JoinHandle<()>,
    stream: common::stream::EventStream,
}

impl Subgraphs {
    async fn start(
        env: &Environment,
        gateway: &api_gateway::Settings,
        conn: &DatabaseConnection,
        data_dir: &std::path::Path,
    ) -> Self {
        let (ticket_port, ticket_service) = Killable::ticket_service(
            ticket_service::Settings {
                common: env.common(),
                port: 0,
                verifier: gateway.minter.verifier(),
            },
            conn.clone(),
        );
        let export_common = env.common();
        let stream = common::stream::EventStream::connect(&export_common)
            .await
            .expect("event stream");
        let notify_settings = notify_service::Settings {
            common: env.common(),
            port: 0,
            verifier: gateway.minter.verifier(),
        };
        let hooks = notify_service::HookSettings::from_source(
            &common::config::Env,
            &notify_settings.common,
        )
        .expect("webhook settings");
        // On the platform's stream: the gateway hears the inbox changes it announces.
        let notify = notify_service::Application::serve(
            notify_settings,
            conn.clone(),
            hooks,
            stream.clone(),
        )
        .await
        .expect("notify-service");
        let exports = export_service::Application::serve(
            export_service::Settings {
                subgraph: common::config::SubgraphSettings {
                    common: export_common,
                    port: 0,
                    verifier: gateway.minter.verifier(),
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
            data_dir.to_path_buf(),
            export_service::config::WorkerSettings::default(),
        )
        .start();
        Self {
            ticket_port,
            ticket_service,
            notify_port: notify.port(),
            notify_service: tokio::spawn(notify.run_until_stopped()),
            export_port: exports.port(),
            export_service: tokio::spawn(exports.run_until_stopped()),
            export_worker,
            stream,
        }
    }

    /// The gateway's settings pointed at these subgraphs (or at `Options::ticket_service_url`).
    fn route(&self, settings: api_gateway::Settings, options: &Options) -> api_gateway::Settings {
        let ticket_service = options
            .ticket_service_url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{}/graphql", self.ticket_port));
        settings
            .with_subgraph_url("ticket_service", ticket_service)
            .with_subgraph_url(
                "notify_service",
                format!("http://127.0.0.1:{}/graphql", self.notify_port),
            )
            .with_subgraph_url(
                "export_service",
                format!("http://127.0.0.1:{}/graphql", self.export_port),
            )
    }
}

/// The email worker, with the test's mail settings, on the platform's stream.
fn start_email_worker(
    mail: &HashMap<&'static str, String>,
    env: &Environment,
    conn: &DatabaseConnection,
    stream: &common::stream::EventStream,
) {
    let source: HashMap<&str, &str> = mail.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mail =
        notify_service::MailSettings::from_source(&source, &env.common()).expect("mail settings");
    notify_service::worker::Worker::new(conn.clone(), stream.clone(), mail)
        .expect("email worker")
        .start();
}

/// Starts a gateway; its base URL.
async fn start_gateway(
    settings: api_gateway::Settings,
    conn: &DatabaseConnection,
    stream: &common::stream::EventStream,
) -> String {
    let gateway =
        api_gateway::Application::build_with_stream(settings, conn.clone(), stream.clone())
            .await
            .expect("gateway");
    let url = format!("http://127.0.0.1:{}", gateway.port());
    tokio::spawn(gateway.run_until_stopped());
    url
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
        let conn = db::connect(&database.url).await.expect("connect");
        db::migrate(&conn).await.expect("migrate");
        let ids = seed_cast(&conn).await;

        let env = Environment::new(&database.url, &data_dir, &unique, &options);
        let settings = env.gateway(&options);
        let minter = settings.minter.clone();
        let subgraphs = Subgraphs::start(&env, &settings, &conn, &data_dir).await;
        let settings = subgraphs.route(settings, &options);
        let Subgraphs {
            ticket_service,
            notify_service,
            export_service,
            export_worker,
            stream,
            ..
        } = subgraphs;
        if let Some(mail) = &options.mail {
            start_email_worker(mail, &env, &conn, &stream);
        }
        let relay = (options.relay || options.mail.is_some())
            .then(|| ticket_service::relay::start(conn.clone(), stream.clone()));
        let gateway_settings = settings.clone();
        let url = start_gateway(settings, &conn, &stream).await;
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
        start_gateway(self.gateway_settings.clone(), &self.db, &self.stream).await
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

/// A port nobody listens on now, for a server the test starts itself.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// The first error's `extensions.code`, if any.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}
