//! api-gateway settings: the shared ones, its port, where the subgraphs are, the signing key,
//! cookie and admin-bootstrap options, read and validated once at start.

use common::{
    TokenMinter,
    config::{self, CommonSettings, ConfigError, Env, Mode, Source, flag},
};
use std::time::Duration;

/// The port the gateway listens on unless `PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 8080;

/// Where one subgraph is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subgraph {
    /// The subgraph's name in the supergraph (`ticket_service`).
    pub name: &'static str,
    /// Its GraphQL endpoint.
    pub url: String,
}

/// The administrator created at start when no ADMIN exists.
#[derive(Clone)]
pub struct AdminBootstrap {
    /// `TESSERA_ADMIN_EMAIL`.
    pub email: String,
    /// `TESSERA_ADMIN_PASSWORD`.
    pub password: String,
}

impl std::fmt::Debug for AdminBootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminBootstrap")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// Everything the gateway needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database, Redis, mode, data dir, bind address.
    pub common: CommonSettings,
    /// `PORT`; 0 picks a free port (tests).
    pub port: u16,
    /// `TICKET_SERVICE_URL` and friends, for every subgraph in the supergraph.
    pub subgraphs: Vec<Subgraph>,
    /// Mints per-request tokens with the biscuit root key (`TESSERA_SIGNING_KEY` or
    /// `DATA_DIR/signing-key`).
    pub minter: TokenMinter,
    /// `COOKIE_SECURE`: mark the session cookie `Secure`.
    pub cookie_secure: bool,
    /// `TESSERA_ADMIN_EMAIL` + `TESSERA_ADMIN_PASSWORD`.
    pub admin: Option<AdminBootstrap>,
    /// `SUBGRAPH_TIMEOUT_MS`: how long one subgraph call may take before its fields are
    /// UNAVAILABLE.
    pub subgraph_timeout: Duration,
    /// Session lifetimes (DESIGN.md: 30 min idle, 8 h absolute).
    pub session_idle: Duration,
    /// See `session_idle`.
    pub session_absolute: Duration,
    /// `RATE_LIMIT_PER_ADDRESS`: GraphQL requests a second from one client address (0: off).
    pub rate_per_address: u32,
    /// `RATE_LIMIT_PER_USER`: GraphQL requests a second from one signed-in user (0: off).
    pub rate_per_user: u32,
    /// How often API token uses are written to `lastUsedAt` (one transaction each time).
    pub token_use_flush: Duration,
    /// `GATEWAY_THREADS`: the threads the gateway binary serves its port on, each serving
    /// its connections start to end (one per core by default; the all-in-one process serves
    /// on its shared runtime).
    pub threads: usize,
    /// Who may read `/metrics`.
    pub metrics: MetricsAccess,
    /// `OIDC_*`: sign-in with the organisation's identity provider, when configured.
    pub oidc: Option<crate::oidc::OidcSettings>,
    /// `PASSWORD_LOGIN`, `BREAK_GLASS_ADMIN`.
    pub sign_in: crate::oidc::SignInMethods,
    /// The scheduler's settings (`SCHEDULER_TICK`, `DEADLINE_REMINDERS`, ...): `/metrics`
    /// computes what is due with them, as ticket-service's scheduler does.
    pub scheduler: ticket_service::scheduler::Settings,
}

/// Who may read `/metrics` (`METRICS_TOKEN`, `METRICS_ADDR`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MetricsAccess {
    /// `METRICS_TOKEN`: on the public port, `/metrics` answers only `Authorization: Bearer
    /// <this>`.
    pub token: Option<String>,
    /// `METRICS_ADDR`: a listener of its own that serves `/metrics` to whoever reaches it
    /// (a private address the scraper can reach and the public cannot).
    pub addr: Option<std::net::SocketAddr>,
    /// With neither set: development serves `/metrics` on the public port to anyone;
    /// production answers 404 there.
    pub open: bool,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccess")
            .field("token", &self.token.as_ref().map(|_| "<secret>"))
            .field("addr", &self.addr)
            .field("open", &self.open)
            .finish()
    }
}

/// The shortest `METRICS_TOKEN` accepted: a bearer secret must not be guessable.
const METRICS_TOKEN_MIN: usize = 16;

/// The subgraphs the gateway federates, with their variable and default URL.
pub const SUBGRAPHS: [(&str, &str, &str); 3] = [
    (
        "ticket_service",
        "TICKET_SERVICE_URL",
        "http://127.0.0.1:4001/graphql",
    ),
    (
        "export_service",
        "EXPORT_SERVICE_URL",
        "http://127.0.0.1:4002/graphql",
    ),
    (
        "notify_service",
        "NOTIFY_SERVICE_URL",
        "http://127.0.0.1:4003/graphql",
    ),
];

impl Settings {
    /// Reads the settings from `source`.
    pub fn from_source<S: Source + ?Sized>(source: &S) -> Result<Self, ConfigError> {
        let common = CommonSettings::from_source(source)?;
        let port = config::port(source, DEFAULT_PORT)?;
        let subgraphs = subgraphs(source)?;
        let minter = TokenMinter::new(config::signing_key(source, &common.data_dir)?);
        let cookie_secure = flag(source, "COOKIE_SECURE", false)?;
        let admin = admin(source)?;
        let timeout_ms: u64 = config::parse_or(
            source,
            "SUBGRAPH_TIMEOUT_MS",
            10_000,
            "a number of milliseconds",
        )?;
        let rate_per_address = config::parse_or(
            source,
            "RATE_LIMIT_PER_ADDRESS",
            100,
            "a number of requests a second (0 turns the limit off)",
        )?;
        let rate_per_user = config::parse_or(
            source,
            "RATE_LIMIT_PER_USER",
            50,
            "a number of requests a second (0 turns the limit off)",
        )?;
        let threads: std::num::NonZeroUsize = config::parse_or(
            source,
            "GATEWAY_THREADS",
            std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN),
            "a number of threads, at least 1",
        )?;
        let metrics = metrics_access(source, common.mode)?;
        let oidc = crate::oidc::config::oidc(source)?;
        let sign_in = crate::oidc::config::methods(source, oidc.as_ref())?;
        let scheduler = ticket_service::scheduler::Settings::from_source(source)?;
        Ok(Self {
            scheduler,
            oidc,
            sign_in,
            metrics,
            common,
            port,
            subgraphs,
            minter,
            cookie_secure,
            admin,
            subgraph_timeout: Duration::from_millis(timeout_ms.max(1)),
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(8 * 3600),
            rate_per_address,
            rate_per_user,
            token_use_flush: Duration::from_secs(5),
            threads: threads.get(),
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// Points the named subgraph at `url` (the all-in-one process and tests, after binding).
    pub fn with_subgraph_url(mut self, name: &str, url: String) -> Self {
        for subgraph in &mut self.subgraphs {
            if subgraph.name == name {
                subgraph.url = url.clone();
            }
        }
        self
    }
}

/// `TICKET_SERVICE_URL` and friends: every subgraph's URL, or its default.
fn subgraphs<S: Source + ?Sized>(source: &S) -> Result<Vec<Subgraph>, ConfigError> {
    let mut subgraphs = Vec::new();
    for (name, var, default) in SUBGRAPHS {
        let url = source.get(var).unwrap_or_else(|| default.to_string());
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::new(var, "expected an http(s):// URL"));
        }
        subgraphs.push(Subgraph { name, url });
    }
    Ok(subgraphs)
}

/// `TESSERA_ADMIN_EMAIL` + `TESSERA_ADMIN_PASSWORD`: both or neither.
fn admin<S: Source + ?Sized>(source: &S) -> Result<Option<AdminBootstrap>, ConfigError> {
    Ok(
        match (
            source.get("TESSERA_ADMIN_EMAIL"),
            source.get("TESSERA_ADMIN_PASSWORD"),
        ) {
            (None, None) => None,
            (Some(email), Some(password)) => {
                if !email.contains('@') {
                    return Err(ConfigError::new(
                        "TESSERA_ADMIN_EMAIL",
                        "expected an email address",
                    ));
                }
                if password.chars().count() < common::password::MIN_LENGTH {
                    return Err(ConfigError::new(
                        "TESSERA_ADMIN_PASSWORD",
                        format!(
                            "must be at least {} characters",
                            common::password::MIN_LENGTH
                        ),
                    ));
                }
                Some(AdminBootstrap { email, password })
            }
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "TESSERA_ADMIN_PASSWORD",
                    "must be set with TESSERA_ADMIN_EMAIL",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "TESSERA_ADMIN_EMAIL",
                    "must be set with TESSERA_ADMIN_PASSWORD",
                ));
            }
        },
    )
}

/// `METRICS_TOKEN` and `METRICS_ADDR`; `/metrics` is open on the public port only in
/// development with neither.
fn metrics_access<S: Source + ?Sized>(
    source: &S,
    mode: Mode,
) -> Result<MetricsAccess, ConfigError> {
    let token = source.get("METRICS_TOKEN").filter(|t| !t.is_empty());
    if token
        .as_ref()
        .is_some_and(|t| t.chars().count() < METRICS_TOKEN_MIN)
    {
        return Err(ConfigError::new(
            "METRICS_TOKEN",
            format!("must be at least {METRICS_TOKEN_MIN} characters"),
        ));
    }
    let addr = match source.get("METRICS_ADDR").filter(|a| !a.is_empty()) {
        Some(addr) => Some(addr.parse().map_err(|_| {
            ConfigError::new(
                "METRICS_ADDR",
                "expected an address and port, e.g. 10.0.0.5:9090",
            )
        })?),
        None => None,
    };
    Ok(MetricsAccess {
        open: token.is_none() && addr.is_none() && mode == Mode::Development,
        token,
        addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(extra: &[(&'static str, &'static str)]) -> Result<Settings, ConfigError> {
        let key = biscuit_auth::KeyPair::new().private().to_bytes_hex();
        let mut env: HashMap<&str, String> = HashMap::from([
            ("TESSERA_SIGNING_KEY", key),
            ("DATA_DIR", "/nonexistent".into()),
        ]);
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let env: HashMap<&str, &str> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Settings::from_source(&env)
    }

    #[test]
    fn metrics_are_open_in_development_and_closed_in_production_unless_configured() {
        let dev = settings(&[("TESSERA_ENV", "development")]).unwrap().metrics;
        assert!(dev.open && dev.token.is_none() && dev.addr.is_none());
        let prod = settings(&[("TESSERA_ENV", "production")]).unwrap().metrics;
        assert_eq!(prod, MetricsAccess::default());
        let token = settings(&[
            ("TESSERA_ENV", "development"),
            ("METRICS_TOKEN", "0123456789abcdef"),
        ])
        .unwrap()
        .metrics;
        assert!(!token.open);
        assert_eq!(token.token.as_deref(), Some("0123456789abcdef"));
        let addr = settings(&[("METRICS_ADDR", "127.0.0.1:9090")])
            .unwrap()
            .metrics;
        assert_eq!(addr.addr, Some("127.0.0.1:9090".parse().unwrap()));
        let short = settings(&[("METRICS_TOKEN", "short")]).unwrap_err();
        assert!(short.to_string().contains("METRICS_TOKEN"), "{short}");
        let bad = settings(&[("METRICS_ADDR", "nowhere")]).unwrap_err();
        assert!(bad.to_string().contains("METRICS_ADDR"), "{bad}");
        assert!(!format!("{token:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn serving_threads_default_to_one_per_core_and_refuse_zero() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        assert_eq!(settings(&[]).unwrap().threads, cores);
        assert_eq!(settings(&[("GATEWAY_THREADS", "3")]).unwrap().threads, 3);
        for bad in ["0", "-1", "two"] {
            let err = settings(&[("GATEWAY_THREADS", bad)])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("GATEWAY_THREADS") && err.contains("at least 1"),
                "{bad}: {err}"
            );
        }
    }
}
