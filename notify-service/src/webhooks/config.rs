//! The webhook settings: what a hook's URL may be, and how the delivery worker sends.

use crate::config::millis;
use common::config::{CommonSettings, ConfigError, Mode, Source, flag, parse_or};
use std::time::Duration;

/// How webhooks are checked and delivered.
#[derive(Debug, Clone)]
pub struct HookSettings {
    /// `WEBHOOK_ALLOW_HTTP`: plain `http://` URLs (default: in development only).
    pub allow_http: bool,
    /// `WEBHOOK_ALLOW_PRIVATE_ADDRESSES`: loopback, private, link-local and other internal
    /// addresses (default: in development only). Production refuses them, at creation when
    /// the URL names one and at delivery when DNS answers one.
    pub allow_private: bool,
    /// `WEBHOOK_TIMEOUT_MS`: one request (connect, send, answer) is given up after this.
    pub timeout: Duration,
    /// `WEBHOOK_CONCURRENCY`: requests in flight at once from one process, over every hook.
    pub concurrency: usize,
    /// `WEBHOOK_HOOK_CONCURRENCY`: requests in flight at once to one hook from one process
    /// (each about a different ticket: one ticket's deliveries go one after another).
    pub hook_concurrency: usize,
    /// `WEBHOOK_RETRY_BASE_MS`: the first retry waits about this long, each next one twice
    /// as long (with jitter), up to `retry_max`.
    pub retry_base: Duration,
    /// `WEBHOOK_RETRY_MAX_MS`: the longest wait between two attempts.
    pub retry_max: Duration,
    /// `WEBHOOK_MAX_ATTEMPTS`: attempts before a delivery is FAILED. The defaults (5 s
    /// doubling to 4 h, 25 attempts) span 27 hours at least, two days at most.
    pub max_attempts: i32,
    /// `WEBHOOK_DISABLE_AFTER_MS`: a hook whose every attempt failed for this long is
    /// disabled and its owner emailed (default 3 days).
    pub disable_after: Duration,
    /// `WEBHOOK_CLAIM_IDLE_MS`: events a stopped worker left are taken over after this.
    pub claim_idle: Duration,
    /// `WEBHOOK_MAX_PER_USER`: webhooks one user may have.
    pub max_per_user: u64,
    /// `WEBHOOK_CREATE_PER_HOUR`: webhooks one user may create in an hour.
    pub create_per_hour: u64,
}

fn positive<S: Source + ?Sized>(
    source: &S,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    let value = parse_or(source, name, default, "a number from 1")?;
    if value == 0 {
        return Err(ConfigError::new(name, "expected a number from 1"));
    }
    Ok(value)
}

impl HookSettings {
    /// Reads the settings from `source`; the address rules default to `common`'s mode.
    pub fn from_source<S: Source + ?Sized>(
        source: &S,
        common: &CommonSettings,
    ) -> Result<Self, ConfigError> {
        let development = common.mode == Mode::Development;
        let max_attempts = positive(source, "WEBHOOK_MAX_ATTEMPTS", 25)?;
        Ok(Self {
            allow_http: flag(source, "WEBHOOK_ALLOW_HTTP", development)?,
            allow_private: flag(source, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", development)?,
            timeout: millis(source, "WEBHOOK_TIMEOUT_MS", 10_000)?,
            concurrency: usize::try_from(positive(source, "WEBHOOK_CONCURRENCY", 64)?)
                .unwrap_or(64),
            hook_concurrency: usize::try_from(positive(source, "WEBHOOK_HOOK_CONCURRENCY", 8)?)
                .unwrap_or(8),
            retry_base: millis(source, "WEBHOOK_RETRY_BASE_MS", 5_000)?,
            retry_max: millis(source, "WEBHOOK_RETRY_MAX_MS", 4 * 3_600_000)?,
            max_attempts: i32::try_from(max_attempts).unwrap_or(i32::MAX),
            disable_after: millis(source, "WEBHOOK_DISABLE_AFTER_MS", 3 * 86_400_000)?,
            claim_idle: millis(source, "WEBHOOK_CLAIM_IDLE_MS", 5_000)?,
            max_per_user: positive(source, "WEBHOOK_MAX_PER_USER", 20)?,
            create_per_hour: positive(source, "WEBHOOK_CREATE_PER_HOUR", 10)?,
        })
    }

    /// The defaults for `mode` (no variable set).
    pub fn defaults(common: &CommonSettings) -> Self {
        let none = std::collections::HashMap::<&str, &str>::new();
        Self::from_source(&none, common).unwrap_or_else(|_| unreachable!("defaults parse"))
    }

    /// The wait after the `attempts`th failed attempt (see [`crate::config::backoff`]).
    pub fn backoff(&self, attempts: i32) -> Duration {
        crate::config::backoff(self.retry_base, self.retry_max, attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn common(env: &HashMap<&str, &str>) -> CommonSettings {
        CommonSettings::from_source(env).unwrap()
    }

    #[test]
    fn production_refuses_http_and_private_addresses_by_default() {
        let env = HashMap::from([("DATABASE_URL", "postgres://db/tessera")]);
        let settings = HookSettings::from_source(&env, &common(&env)).unwrap();
        assert!(!settings.allow_http && !settings.allow_private);
        let dev = HashMap::new();
        let settings = HookSettings::from_source(&dev, &common(&dev)).unwrap();
        assert!(settings.allow_http && settings.allow_private);
    }

    #[test]
    fn the_default_retries_span_more_than_a_day() {
        let env = HashMap::new();
        let settings = HookSettings::from_source(&env, &common(&env)).unwrap();
        let least: Duration = (1..settings.max_attempts)
            .map(|n| settings.backoff(n))
            .sum();
        assert!(least > Duration::from_secs(86_400), "{least:?}");
    }

    #[test]
    fn a_bad_setting_names_its_variable() {
        let env = HashMap::from([("WEBHOOK_MAX_ATTEMPTS", "0")]);
        let err = HookSettings::from_source(&env, &common(&env)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "WEBHOOK_MAX_ATTEMPTS: expected a number from 1"
        );
        let env = HashMap::from([("WEBHOOK_ALLOW_HTTP", "maybe")]);
        let err = HookSettings::from_source(&env, &common(&env)).unwrap_err();
        assert!(err.to_string().starts_with("WEBHOOK_ALLOW_HTTP:"), "{err}");
    }
}
