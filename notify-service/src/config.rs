//! notify-service settings: the subgraph settings every subgraph shares, with its default port,
//! and the email worker's.

use common::config::{CommonSettings, ConfigError, Env, Source, SubgraphSettings, parse_or};
use lettre::message::Mailbox;
use std::{path::PathBuf, time::Duration};

/// The port notify-service listens on unless `PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 4003;

/// Everything notify-service needs to start.
pub type Settings = SubgraphSettings;

/// Reads the settings from the process environment.
pub fn from_env() -> Result<Settings, ConfigError> {
    Settings::from_source(&Env, DEFAULT_PORT)
}

/// Where emails go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// SendGrid's v3 API (`SENDGRID_API_KEY` set).
    SendGrid {
        /// `SENDGRID_API_URL`, default `https://api.sendgrid.com`.
        api_url: String,
        /// `SENDGRID_API_KEY`.
        api_key: String,
    },
    /// `.eml` files in this folder (`DATA_DIR/outbox`), marked SENT.
    Outbox(PathBuf),
}

/// The email worker's settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// SendGrid or the outbox folder.
    pub provider: Provider,
    /// `MAIL_FROM`, default `Tessera <tessera@localhost>`.
    pub from: Mailbox,
    /// `PUBLIC_URL`: where the web client is, for links in emails.
    pub public_url: String,
    /// `SENDGRID_TIMEOUT_MS`: one call to the provider is given up after this.
    pub timeout: Duration,
    /// `SENDGRID_MAX_ATTEMPTS`: failed calls (5xx, timeouts; 429s are not failures) per email
    /// before it is FAILED. With the default backoff, 50 span about 3.5 to 7 hours: longer
    /// than the provider incidents we ride out.
    pub max_attempts: u32,
    /// `SENDGRID_RETRY_BASE_MS`: the first retry waits about this long, each next one twice
    /// as long (with jitter), up to `retry_max`.
    pub retry_base: Duration,
    /// `SENDGRID_RETRY_MAX_MS`: the longest wait between two calls after a failure.
    pub retry_max: Duration,
    /// `NOTIFY_CLAIM_IDLE_MS`: events another worker holds and has not renewed its claim on
    /// for this long are taken over (that worker stopped; a live one renews every quarter of
    /// this).
    pub claim_idle: Duration,
    /// `NOTIFY_CONCURRENCY`: calls to the provider at once.
    pub concurrency: usize,
    /// `OFFICE_TIME_ZONE` (default UTC): dates in emails are shown in the recipient's time
    /// zone, this one for those who chose none.
    pub office_zone: chrono_tz::Tz,
}

/// `name` as a number of milliseconds, or `default_ms`.
pub(crate) fn millis<S: Source + ?Sized>(
    source: &S,
    name: &'static str,
    default_ms: u64,
) -> Result<Duration, ConfigError> {
    parse_or(source, name, default_ms, "a number of milliseconds").map(Duration::from_millis)
}

/// The wait after the `attempts`th failure: `base * 2^(attempts - 1)`, at most `max`, with
/// jitter (between half and all of it) so retries do not come in waves. Emails and webhooks
/// both wait so.
pub fn backoff(base: Duration, max: Duration, attempts: i32) -> Duration {
    use rand::Rng;
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let full = base.saturating_mul(1 << exponent).min(max);
    full / 2 + full.mul_f64(rand::thread_rng().r#gen::<f64>() * 0.5)
}

impl MailSettings {
    /// Reads the worker's settings from `source`.
    pub fn from_source<S: Source + ?Sized>(
        source: &S,
        common: &CommonSettings,
    ) -> Result<Self, ConfigError> {
        let provider = match source.get("SENDGRID_API_KEY") {
            Some(api_key) => {
                let api_url = source
                    .get("SENDGRID_API_URL")
                    .unwrap_or_else(|| "https://api.sendgrid.com".into());
                if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
                    return Err(ConfigError::new(
                        "SENDGRID_API_URL",
                        "expected an http:// or https:// URL",
                    ));
                }
                Provider::SendGrid { api_url, api_key }
            }
            None => Provider::Outbox(common.data_dir.join("outbox")),
        };
        let from_raw = source
            .get("MAIL_FROM")
            .unwrap_or_else(|| "Tessera <tessera@localhost>".into());
        let from = from_raw.parse::<Mailbox>().map_err(|_| {
            ConfigError::new(
                "MAIL_FROM",
                format!(
                    "expected an address like `Tessera <tessera@example.edu>`, got `{from_raw}`"
                ),
            )
        })?;
        let public_url = source
            .get("PUBLIC_URL")
            .unwrap_or_else(|| "http://127.0.0.1:8080".into());
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::new(
                "PUBLIC_URL",
                "expected an http:// or https:// URL",
            ));
        }
        let max_attempts = parse_or(source, "SENDGRID_MAX_ATTEMPTS", 50u32, "a number from 1")?;
        if max_attempts == 0 {
            return Err(ConfigError::new(
                "SENDGRID_MAX_ATTEMPTS",
                "expected a number from 1",
            ));
        }
        let concurrency = parse_or(source, "NOTIFY_CONCURRENCY", 32usize, "a number from 1")?;
        if concurrency == 0 {
            return Err(ConfigError::new(
                "NOTIFY_CONCURRENCY",
                "expected a number from 1",
            ));
        }
        Ok(Self {
            provider,
            from,
            public_url,
            timeout: millis(source, "SENDGRID_TIMEOUT_MS", 10_000)?,
            max_attempts,
            retry_base: millis(source, "SENDGRID_RETRY_BASE_MS", 1_000)?,
            retry_max: millis(source, "SENDGRID_RETRY_MAX_MS", 600_000)?,
            claim_idle: millis(source, "NOTIFY_CLAIM_IDLE_MS", 5_000)?,
            concurrency,
            office_zone: common::config::office_time_zone(source)?.unwrap_or(chrono_tz::UTC),
        })
    }

    /// Reads the worker's settings from the process environment.
    pub fn from_env(common: &CommonSettings) -> Result<Self, ConfigError> {
        Self::from_source(&Env, common)
    }

    /// The embedded default for `common`: the outbox, no environment read.
    pub fn outbox(common: &CommonSettings) -> Self {
        Self::from_source(&std::collections::HashMap::<&str, &str>::new(), common)
            .unwrap_or_else(|_| unreachable!("the defaults parse"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&'static str, &'static str)]) -> Result<MailSettings, ConfigError> {
        let source: HashMap<&str, &str> = vars.iter().copied().collect();
        let common = CommonSettings::from_source(&source).unwrap();
        MailSettings::from_source(&source, &common)
    }

    #[test]
    fn without_a_key_emails_go_to_the_outbox() {
        let settings = read(&[("DATA_DIR", "/srv/tessera")]).unwrap();
        assert_eq!(
            settings.provider,
            Provider::Outbox(PathBuf::from("/srv/tessera/outbox"))
        );
        assert_eq!(settings.max_attempts, 50);
        let settings = read(&[("SENDGRID_API_KEY", "SG.x")]).unwrap();
        assert_eq!(
            settings.provider,
            Provider::SendGrid {
                api_url: "https://api.sendgrid.com".into(),
                api_key: "SG.x".into()
            }
        );
    }

    /// The default retries outlast a provider incident of hours (five attempts from a 1 s
    /// base spanned 7.5 to 15 s), and a stopped worker's events are taken over in seconds.
    #[test]
    fn the_default_retries_span_hours_and_takeover_takes_seconds() {
        let settings = read(&[]).unwrap();
        // Each wait is at least half its full backoff (the jitter), so the shortest span:
        let shortest: Duration = (1..i64::from(settings.max_attempts))
            .map(|failures| {
                let exponent = u32::try_from(failures - 1).unwrap().min(20);
                settings
                    .retry_base
                    .saturating_mul(1 << exponent)
                    .min(settings.retry_max)
                    / 2
            })
            .sum();
        assert!(
            shortest >= Duration::from_secs(3 * 60 * 60),
            "the default retries give up after {shortest:?}"
        );
        assert!(settings.retry_max <= Duration::from_secs(15 * 60));
        assert!(settings.claim_idle <= Duration::from_secs(10));
    }

    #[test]
    fn a_malformed_setting_is_named() {
        for (vars, var) in [
            (vec![("MAIL_FROM", "not an address")], "MAIL_FROM"),
            (vec![("PUBLIC_URL", "tessera.edu")], "PUBLIC_URL"),
            (
                vec![("SENDGRID_API_KEY", "k"), ("SENDGRID_API_URL", "ftp://x")],
                "SENDGRID_API_URL",
            ),
            (
                vec![("SENDGRID_MAX_ATTEMPTS", "0")],
                "SENDGRID_MAX_ATTEMPTS",
            ),
            (vec![("SENDGRID_TIMEOUT_MS", "ten")], "SENDGRID_TIMEOUT_MS"),
            (vec![("NOTIFY_CONCURRENCY", "0")], "NOTIFY_CONCURRENCY"),
        ] {
            assert_eq!(read(&vars).unwrap_err().var, var);
        }
    }
}
