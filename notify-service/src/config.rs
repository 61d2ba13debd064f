//! notify-service settings: the shared ones plus its port and the key it verifies tokens with.

use common::{
    TokenVerifier,
    config::{self, CommonSettings, ConfigError, Env, Source},
};

/// The port notify-service listens on unless `PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 4003;

/// Everything notify-service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database, mode, data dir, bind address.
    pub common: CommonSettings,
    /// `PORT`; 0 picks a free port (tests).
    pub port: u16,
    /// Verifies the gateway-signed token every request must carry.
    pub verifier: TokenVerifier,
}

impl Settings {
    /// Reads the settings from `source`.
    pub fn from_source<S: Source + ?Sized>(source: &S) -> Result<Self, ConfigError> {
        let common = CommonSettings::from_source(source)?;
        let port = config::port(source, DEFAULT_PORT)?;
        let key = config::signing_key(source, &common.data_dir)?;
        Ok(Self {
            common,
            port,
            verifier: TokenVerifier::new(key.public()),
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }
}
