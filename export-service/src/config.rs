//! export-service settings: the subgraph settings every subgraph shares, with its default
//! port, and the worker's knobs.

use common::config::{ConfigError, Env, Source, SubgraphSettings, parse_or};
use std::time::Duration;

/// The port export-service listens on unless `PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 4002;

/// Everything export-service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database, mode, data dir, port, the gateway's public key.
    pub subgraph: SubgraphSettings,
    /// How the worker runs.
    pub worker: WorkerSettings,
}

/// How the export worker runs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `EXPORT_BATCH_SIZE`: rows read per keyset query (and written per progress report).
    pub batch_size: u64,
    /// `EXPORT_BATCH_PAUSE_MS`: a pause between batches, to spare a busy database.
    pub batch_pause: Duration,
    /// `EXPORT_CONCURRENCY`: jobs one worker writes at once.
    pub concurrency: usize,
    /// `EXPORT_LEASE_MS`: how long a worker holds a job without reporting progress before
    /// another may take it over (its queue entry is claimed after the same idle time).
    pub lease: Duration,
    /// `EXPORT_MAX_AGE_HOURS`: finished files older than this are removed and their jobs
    /// marked expired.
    pub max_age: Duration,
    /// How often the expiry sweep runs.
    pub expiry_interval: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            batch_pause: Duration::ZERO,
            concurrency: 2,
            lease: Duration::from_secs(30),
            max_age: Duration::from_secs(7 * 24 * 3600),
            expiry_interval: Duration::from_secs(600),
        }
    }
}

impl WorkerSettings {
    /// Reads the worker's settings from `source`.
    pub fn from_source<S: Source + ?Sized>(source: &S) -> Result<Self, ConfigError> {
        let d = Self::default();
        let batch_size = within(
            source,
            "EXPORT_BATCH_SIZE",
            d.batch_size,
            1,
            100_000,
            "rows",
        )?;
        let pause = within(
            source,
            "EXPORT_BATCH_PAUSE_MS",
            0,
            0,
            3_600_000,
            "milliseconds",
        )?;
        let concurrency = within(source, "EXPORT_CONCURRENCY", 2, 1, 64, "jobs")?;
        let lease = within(
            source,
            "EXPORT_LEASE_MS",
            30_000,
            1,
            86_400_000,
            "milliseconds",
        )?;
        let hours = within(source, "EXPORT_MAX_AGE_HOURS", 7 * 24, 0, 876_000, "hours")?;
        Ok(Self {
            batch_size,
            batch_pause: Duration::from_millis(pause),
            concurrency: usize::try_from(concurrency).unwrap_or(d.concurrency),
            lease: Duration::from_millis(lease),
            max_age: Duration::from_secs(hours * 3600),
            expiry_interval: d.expiry_interval,
        })
    }
}

/// `name` as a whole number from `min` to `max` (of `unit`), or `default` when unset.
fn within<S: Source + ?Sized>(
    source: &S,
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
    unit: &str,
) -> Result<u64, ConfigError> {
    let expected = format!("a number of {unit} from {min} to {max}");
    let value: u64 = parse_or(source, name, default, &expected)?;
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(
            name,
            format!("expected {expected}, got `{value}`"),
        ))
    }
}

impl Settings {
    /// Reads the settings from `source`.
    pub fn from_source<S: Source + ?Sized>(source: &S) -> Result<Self, ConfigError> {
        Ok(Self {
            subgraph: SubgraphSettings::from_source(source, DEFAULT_PORT)?,
            worker: WorkerSettings::from_source(source)?,
        })
    }
}

/// Reads the settings from the process environment.
pub fn from_env() -> Result<Settings, ConfigError> {
    Settings::from_source(&Env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_and_overrides() {
        let s = WorkerSettings::from_source(&HashMap::new()).unwrap();
        assert_eq!(s.batch_size, 1000);
        assert_eq!(s.max_age, Duration::from_secs(7 * 24 * 3600));
        let env = HashMap::from([
            ("EXPORT_BATCH_SIZE", "50"),
            ("EXPORT_MAX_AGE_HOURS", "1"),
            ("EXPORT_LEASE_MS", "250"),
        ]);
        let s = WorkerSettings::from_source(&env).unwrap();
        assert_eq!(
            (s.batch_size, s.max_age, s.lease),
            (50, Duration::from_secs(3600), Duration::from_millis(250))
        );
    }

    #[test]
    fn a_malformed_setting_names_its_variable() {
        for (var, value) in [
            ("EXPORT_BATCH_SIZE", "0"),
            ("EXPORT_BATCH_SIZE", "many"),
            ("EXPORT_CONCURRENCY", "0"),
            ("EXPORT_LEASE_MS", "0"),
            ("EXPORT_MAX_AGE_HOURS", "-1"),
            ("EXPORT_BATCH_PAUSE_MS", "soon"),
        ] {
            let env = HashMap::from([(var, value)]);
            let err = WorkerSettings::from_source(&env).unwrap_err();
            assert_eq!(err.var, var, "{value}: {err}");
        }
    }
}
