//! Settings from the environment. Every variable is optional; a malformed one stops the
//! process at start with one line that names it (`PORT: expected a number from 0 to 65535`).

use biscuit_auth::{Algorithm, KeyPair, PrivateKey};
use std::{
    fmt::Display,
    net::IpAddr,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

/// A setting that is present but unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it, in a few words.
    pub message: String,
}

impl ConfigError {
    /// An error about `var`.
    pub fn new(var: &'static str, message: impl Display) -> Self {
        Self {
            var,
            message: message.to_string(),
        }
    }
}

/// Where settings come from: the process environment, or a fixed map in tests.
pub trait Source {
    /// The value of `name`, if set and not empty.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Source for std::collections::HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| (*v).to_owned())
            .filter(|v| !v.trim().is_empty())
    }
}

/// `name` parsed as `T`, or `default` when unset.
pub fn parse_or<T, S>(
    source: &S,
    name: &'static str,
    default: T,
    expected: &str,
) -> Result<T, ConfigError>
where
    T: FromStr,
    S: Source + ?Sized,
{
    match source.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| ConfigError::new(name, format!("expected {expected}, got `{raw}`"))),
    }
}

/// A boolean setting: `true`/`false`/`1`/`0`/`yes`/`no`.
pub fn flag<S: Source + ?Sized>(
    source: &S,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match source.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "true" | "1" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "false" | "0" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError::new(
            name,
            format!("expected true or false, got `{v}`"),
        )),
    }
}

/// Whether the platform runs in development mode (introspection for everyone, suggestions on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The embedded default: no `DATABASE_URL`.
    Development,
    /// Anything with a configured database.
    Production,
}

/// The settings every process shares (HTTP.md's configuration table).
#[derive(Debug, Clone)]
pub struct CommonSettings {
    /// `DATABASE_URL`, or the embedded SQLite file under `DATA_DIR`.
    pub database_url: String,
    /// Whether `DATABASE_URL` was given (production) or defaulted (embedded).
    pub database_configured: bool,
    /// `REDIS_URL`: unset means in-process queues, pub/sub and sessions.
    pub redis_url: Option<String>,
    /// `REDIS_KEY_PREFIX`: prepended to every Redis key, so deployments (or test runs) can
    /// share one Redis.
    pub redis_prefix: String,
    /// `DATA_DIR`: exports, the local mail outbox, the generated signing key.
    pub data_dir: PathBuf,
    /// `TESSERA_ENV`.
    pub mode: Mode,
    /// `TESSERA_DEMO`: seed demo data into an empty database.
    pub demo: bool,
    /// `BIND`: the address to listen on.
    pub bind: IpAddr,
}

impl CommonSettings {
    /// Reads the shared settings from `source`.
    pub fn from_source<S: Source + ?Sized>(source: &S) -> Result<Self, ConfigError> {
        let data_dir = source
            .get("DATA_DIR")
            .unwrap_or_else(|| "tessera-data".into());
        let data_dir =
            absolute(Path::new(&data_dir)).map_err(|m| ConfigError::new("DATA_DIR", m))?;
        let configured = source.get("DATABASE_URL");
        let database_configured = configured.is_some();
        let database_url = match configured {
            Some(url) => {
                if !(url.starts_with("postgres://")
                    || url.starts_with("postgresql://")
                    || url.starts_with("sqlite:"))
                {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "expected a postgres://... or sqlite:... URL",
                    ));
                }
                absolute_sqlite_url(&url).map_err(|m| ConfigError::new("DATABASE_URL", m))?
            }
            None => format!("sqlite://{}/tessera.db?mode=rwc", data_dir.display()),
        };
        let redis_url = source.get("REDIS_URL");
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError::new("REDIS_URL", "expected a redis://... URL"));
        }
        let redis_prefix = source
            .get("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| "tessera".into());
        let mode = match source.get("TESSERA_ENV").map(|v| v.to_ascii_lowercase()) {
            None if database_configured => Mode::Production,
            None => Mode::Development,
            Some(v) if v == "development" => Mode::Development,
            Some(v) if v == "production" => Mode::Production,
            Some(v) => {
                return Err(ConfigError::new(
                    "TESSERA_ENV",
                    format!("expected development or production, got `{v}`"),
                ));
            }
        };
        let demo = flag(source, "TESSERA_DEMO", !database_configured)?;
        let bind = parse_or(
            source,
            "BIND",
            IpAddr::from([127, 0, 0, 1]),
            "an IP address",
        )?;
        Ok(Self {
            database_url,
            database_configured,
            redis_url,
            redis_prefix,
            data_dir,
            mode,
            demo,
            bind,
        })
    }

    /// Reads the shared settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }
}

/// `path` made absolute against the working directory, once, at start: the engine refuses
/// relative paths, and a process that later changes directory must still find its files.
fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|e| format!("cannot resolve `{}`: {e}", path.display()))
}

/// A SQLite URL whose file path is relative, made absolute (`sqlite://data/t.db?mode=rwc` ->
/// `sqlite:///srv/app/data/t.db?mode=rwc`); other URLs, and in-memory databases, unchanged.
fn absolute_sqlite_url(url: &str) -> Result<String, String> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(url.to_owned());
    };
    let (path, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    if path.is_empty() || path.starts_with(':') || Path::new(path).is_absolute() {
        return Ok(url.to_owned());
    }
    Ok(format!(
        "sqlite://{}{query}",
        absolute(Path::new(path))?.display()
    ))
}

/// What a subgraph needs to start: the shared settings, its port, and the key it verifies
/// the gateway's tokens with.
#[derive(Debug, Clone)]
pub struct SubgraphSettings {
    /// Database, mode, data dir, bind address.
    pub common: CommonSettings,
    /// `PORT`; 0 picks a free port (tests).
    pub port: u16,
    /// Verifies the gateway-signed token every request must carry.
    pub verifier: crate::TokenVerifier,
}

impl SubgraphSettings {
    /// Reads the settings from `source`; `PORT` defaults to `default_port`.
    pub fn from_source<S: Source + ?Sized>(
        source: &S,
        default_port: u16,
    ) -> Result<Self, ConfigError> {
        let common = CommonSettings::from_source(source)?;
        let port = port(source, default_port)?;
        let key = signing_key(source, &common.data_dir)?;
        Ok(Self {
            common,
            port,
            verifier: crate::TokenVerifier::new(key.public()),
        })
    }
}

/// `PORT`, or `default`.
pub fn port<S: Source + ?Sized>(source: &S, default: u16) -> Result<u16, ConfigError> {
    parse_or(source, "PORT", default, "a number from 0 to 65535")
}

/// The biscuit root key pair: `TESSERA_SIGNING_KEY` (64 hex characters, Ed25519), or the key
/// stored in `DATA_DIR/signing-key`, generated there on first start.
pub fn signing_key<S: Source + ?Sized>(
    source: &S,
    data_dir: &Path,
) -> Result<KeyPair, ConfigError> {
    const VAR: &str = "TESSERA_SIGNING_KEY";
    if let Some(hex) = source.get(VAR) {
        return parse_signing_key(hex.trim()).map_err(|m| ConfigError::new(VAR, m));
    }
    let path = data_dir.join("signing-key");
    match std::fs::read_to_string(&path) {
        Ok(stored) => parse_signing_key(stored.trim()).map_err(|m| {
            ConfigError::new(
                VAR,
                format!("unset, and {} holds no usable key: {m}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = KeyPair::new();
            let written = std::fs::create_dir_all(data_dir)
                .and_then(|()| write_private(&path, &key.private().to_bytes_hex()));
            written.map_err(|e| {
                ConfigError::new(
                    VAR,
                    format!(
                        "unset, and the generated key could not be saved to {}: {e}",
                        path.display()
                    ),
                )
            })?;
            tracing::info!(path = %path.display(), "generated a new signing key");
            Ok(key)
        }
        Err(e) => Err(ConfigError::new(
            VAR,
            format!("unset, and {} is unreadable: {e}", path.display()),
        )),
    }
}

/// Parses 64 hex characters into an Ed25519 key pair.
pub fn parse_signing_key(hex: &str) -> Result<KeyPair, String> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("expected 64 hex characters (an Ed25519 private key)".into());
    }
    PrivateKey::from_bytes_hex(hex, Algorithm::Ed25519)
        .map(|k| KeyPair::from(&k))
        .map_err(|e| format!("not an Ed25519 private key: {e}"))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// A tick of timed work (`SCHEDULER_TICK`): `30s`, `1m`, `1h`; at least a second, at most a
/// day.
pub fn tick(raw: &str) -> Result<Duration, String> {
    let expected = || format!("expected a duration such as 30s, 1m or 1h, got `{raw}`");
    let raw = raw.trim();
    let (number, unit) = raw.split_at(raw.len().saturating_sub(1));
    let n: u64 = number.parse().map_err(|_| expected())?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(expected()),
    };
    if !(1..=86_400).contains(&seconds) {
        return Err(format!("expected between 1s and 24h, got `{raw}`"));
    }
    Ok(Duration::from_secs(seconds))
}

/// `OFFICE_TIME_ZONE`, an IANA name such as `America/Toronto`, when set: the office's
/// calendar (business days) and the digest hour of users who chose no zone of their own.
pub fn office_time_zone<S: Source + ?Sized>(
    source: &S,
) -> Result<Option<chrono_tz::Tz>, ConfigError> {
    let Some(raw) = source.get("OFFICE_TIME_ZONE") else {
        return Ok(None);
    };
    raw.trim().parse().map(Some).map_err(|_| {
        ConfigError::new(
            "OFFICE_TIME_ZONE",
            format!("expected an IANA time zone such as America/Toronto, got `{raw}`"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_are_the_embedded_platform() {
        let s = CommonSettings::from_source(&HashMap::new()).unwrap();
        let data = std::env::current_dir().unwrap().join("tessera-data");
        assert_eq!(s.data_dir, data);
        assert_eq!(
            s.database_url,
            format!("sqlite://{}/tessera.db?mode=rwc", data.display())
        );
        assert_eq!(s.mode, Mode::Development);
        assert!(s.demo);
        assert!(s.redis_url.is_none());
    }

    #[test]
    fn relative_paths_are_resolved_against_the_working_directory() {
        let cwd = std::env::current_dir().unwrap();
        let env = HashMap::from([
            ("DATA_DIR", "var/data"),
            ("DATABASE_URL", "sqlite://db/t.db?mode=rwc"),
        ]);
        let s = CommonSettings::from_source(&env).unwrap();
        assert_eq!(s.data_dir, cwd.join("var/data"));
        assert_eq!(
            s.database_url,
            format!("sqlite://{}?mode=rwc", cwd.join("db/t.db").display())
        );
        for unchanged in [
            "sqlite::memory:",
            "sqlite:///srv/t.db",
            "postgres://db/tessera",
        ] {
            let env = HashMap::from([("DATABASE_URL", unchanged)]);
            let s = CommonSettings::from_source(&env).unwrap();
            assert_eq!(s.database_url, unchanged);
        }
    }

    #[test]
    fn a_configured_database_means_production() {
        let env = HashMap::from([("DATABASE_URL", "postgres://db/tessera")]);
        let s = CommonSettings::from_source(&env).unwrap();
        assert_eq!(s.mode, Mode::Production);
        assert!(!s.demo);
    }

    #[test]
    fn errors_name_the_variable() {
        let env = HashMap::from([("PORT", "eighty")]);
        let err = port(&env, 8080).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PORT: expected a number from 0 to 65535, got `eighty`"
        );
        let env = HashMap::from([("TESSERA_SIGNING_KEY", "abc")]);
        let err = signing_key(&env, Path::new("/nonexistent")).unwrap_err();
        assert!(
            err.to_string().starts_with("TESSERA_SIGNING_KEY: "),
            "{err}"
        );
        let env = HashMap::from([("REDIS_URL", "localhost:6379")]);
        assert_eq!(
            CommonSettings::from_source(&env).unwrap_err().var,
            "REDIS_URL"
        );
        let env = HashMap::from([("TESSERA_DEMO", "maybe")]);
        assert_eq!(
            CommonSettings::from_source(&env).unwrap_err().var,
            "TESSERA_DEMO"
        );
    }

    #[test]
    fn a_generated_key_is_kept() {
        let dir = std::env::temp_dir().join(format!("tessera-key-{}", std::process::id()));
        let first = signing_key(&HashMap::new(), &dir).unwrap();
        let second = signing_key(&HashMap::new(), &dir).unwrap();
        assert_eq!(first.public().to_bytes(), second.public().to_bytes());
        std::fs::remove_dir_all(&dir).ok();
    }
}
