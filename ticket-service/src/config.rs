//! ticket-service settings: the subgraph settings every subgraph shares, with its default port.

use common::config::{ConfigError, Env, SubgraphSettings};

/// The port ticket-service listens on unless `PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 4001;

/// Everything ticket-service needs to start.
pub type Settings = SubgraphSettings;

/// Reads the settings from the process environment.
pub fn from_env() -> Result<Settings, ConfigError> {
    Settings::from_source(&Env, DEFAULT_PORT)
}
