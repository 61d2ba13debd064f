//! The gateway's application state: what the route handlers share, in parts that group what
//! belongs together (identity, the engine, live updates, limits and metrics, the deployment's
//! policy, and the backends readiness and downloads reach).

use crate::auth::Login;
use crate::config::{MetricsAccess, Subgraph};
use crate::engine::Engine;
use crate::identity::Identity;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::rate::RateLimits;
use db::sea_orm::DatabaseConnection;
use std::{path::PathBuf, sync::Arc, time::Duration};

/// Everything the handlers share.
pub struct Gateway {
    /// Sessions, API tokens and the users behind them.
    pub identity: Arc<Identity>,
    /// Password sign-in.
    pub login: Login,
    /// Sign-in with the identity provider, when configured.
    pub oidc: Option<crate::oidc::Oidc>,
    /// The federation engine.
    pub engine: Engine,
    /// Live updates: subscriptions over the websocket.
    pub live: Arc<Live>,
    /// Request rate limits per address and per user.
    pub rate: Arc<RateLimits>,
    /// `/metrics`.
    pub metrics: Metrics,
    /// This deployment's choices for the public door.
    pub policy: Policy,
    /// What the gateway depends on.
    pub backends: Backends,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// This deployment's choices for the public door.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Mark the session cookie `Secure`.
    pub cookie_secure: bool,
    /// Who may read `/metrics` on the public port.
    pub metrics_access: MetricsAccess,
    /// Which ways in are open (the sign-in page asks, `/auth/config`).
    pub sign_in: crate::oidc::SignInMethods,
}

/// What the gateway depends on: readiness probes them; downloads and metrics read other
/// services' data only through those services' read models.
#[derive(Debug)]
pub struct Backends {
    /// The database.
    pub db: DatabaseConnection,
    /// Whether Redis is configured (readiness then asks the session store).
    pub redis: bool,
    /// The subgraphs, for readiness.
    pub subgraphs: Vec<Subgraph>,
    /// For readiness probes of the subgraphs.
    pub client: reqwest::Client,
    /// `DATA_DIR`: finished exports are read from its `exports/` folder (shared with
    /// export-service when they run on different hosts).
    pub data_dir: PathBuf,
}

impl Backends {
    /// The backends, with a client for probing the subgraphs.
    pub fn new(
        db: DatabaseConnection,
        redis: bool,
        subgraphs: Vec<Subgraph>,
        data_dir: PathBuf,
    ) -> Self {
        Self {
            db,
            redis,
            subgraphs,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
            data_dir,
        }
    }
}
