//! Typed configuration, read once at start from the environment.
//!
//! Every variable is parsed and checked here, so a bad value stops the start
//! with a message that names the variable and what it expects. Secrets are
//! wrapped in [`SecretString`] and never echoed back, not even in errors.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Default cap on a webhook body: Cal.com's largest payloads are a few KiB.
pub const DEFAULT_MAX_BODY: usize = 2 * 1024 * 1024;

/// Default store: a SQLite file in the working directory, created on start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://bookme.db";

/// Everything `bookme serve` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub secrets: WebhookSecrets,
    pub debug: bool,
    pub tunnel_origin: Option<Origin>,
    pub database: DatabaseUrl,
    pub max_body: usize,
    pub allowed_hosts: Vec<String>,
    pub mode: Mode,
    pub log_format: LogFormat,
    pub max_attempts: u32,
    /// Serve `/metrics` on the main port.
    pub metrics: bool,
    /// Serve `/metrics` on its own listener instead.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// A client must send its request headers within this time.
    pub header_timeout: Duration,
    /// A request (body included) must be answered within this time, or 408.
    pub request_timeout: Duration,
    pub pages: crate::pages::PagesConfig,
    pub notify: crate::notify::NotifyConfig,
    /// `BOOKME_ADMIN_TOKEN`: enables `/admin` when set. Never logged.
    pub admin_token: Option<SecretString>,
}

/// A configuration value that could not be used, with the variable it came from.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {expected}")]
pub struct ConfigError {
    pub var: &'static str,
    pub expected: String,
}

impl ConfigError {
    pub(crate) fn new(var: &'static str, expected: impl Into<String>) -> Self {
        Self {
            var,
            expected: expected.into(),
        }
    }
}

/// Whether the instance serves development or production traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Development => "development",
            Mode::Production => "production",
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The public origin (scheme, host and port) under which Cal.com reaches us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(Url);

impl Origin {
    /// Parses an absolute http(s) URL and keeps only its origin.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err("an http:// or https:// origin with a host".into());
        }
        let origin = url.origin().ascii_serialization();
        Url::parse(&origin).map(Origin).map_err(|e| e.to_string())
    }

    /// The host name, without the port.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// A URL under this origin for an absolute path such as `/api/cal/webhook`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.as_str())
    }

    /// The origin without a trailing slash, e.g. `https://book.example.com`.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The webhook secrets. Any one of them verifies a delivery, which lets an
/// operator rotate the secret in Cal.com without losing deliveries.
#[derive(Clone, Default)]
pub struct WebhookSecrets(Vec<SecretString>);

impl WebhookSecrets {
    /// Splits a comma-separated list; blank entries are dropped.
    pub fn parse(raw: &str) -> Self {
        let secrets = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.to_owned()))
            .collect();
        Self(secrets)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The raw key bytes, for building HMAC states. Callers must not log them.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(|s| s.expose_secret().as_bytes())
    }
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecrets([{} redacted])", self.0.len())
    }
}

/// Where deliveries are stored.
#[derive(Clone)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(SecretString),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(Self::Postgres(SecretString::from(raw.to_owned())))
        } else if raw.starts_with("sqlite:") {
            Ok(Self::Sqlite(raw.to_owned()))
        } else {
            Err("a sqlite:// or postgres:// URL".into())
        }
    }

    /// The backend's name, safe to show: it never includes a path or password.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(url) => write!(f, "Sqlite({url})"),
            Self::Postgres(_) => f.write_str("Postgres([redacted])"),
        }
    }
}

impl Config {
    /// Reads the process environment, after an optional `.env` file in the
    /// working directory (which never overrides a variable already set).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source; tests pass a map.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        Ok(Self {
            host: var("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: parse_port(var("PORT"))?,
            secrets: var("CAL_WEBHOOK_SECRET")
                .map(|s| WebhookSecrets::parse(&s))
                .unwrap_or_default(),
            debug: parse_flag("CAL_DEBUG", var("CAL_DEBUG"))?,
            tunnel_origin: parse_origin(var("CAL_TUNNEL_ORIGIN"))?,
            database: parse_database(var("DATABASE_URL"))?,
            max_body: parse_size("BOOKME_MAX_BODY", var("BOOKME_MAX_BODY"))?,
            allowed_hosts: parse_hosts(var("BOOKME_ALLOWED_HOSTS")),
            mode: parse_mode(var("BOOKME_MODE"))?,
            log_format: parse_log_format(var("BOOKME_LOG_FORMAT"))?,
            max_attempts: parse_attempts(var("BOOKME_MAX_ATTEMPTS"))?,
            metrics: parse_flag("BOOKME_METRICS", var("BOOKME_METRICS"))?,
            metrics_addr: parse_addr("BOOKME_METRICS_ADDR", var("BOOKME_METRICS_ADDR"))?,
            header_timeout: parse_duration(
                "BOOKME_HEADER_TIMEOUT",
                var("BOOKME_HEADER_TIMEOUT"),
                10,
            )?,
            request_timeout: parse_duration(
                "BOOKME_REQUEST_TIMEOUT",
                var("BOOKME_REQUEST_TIMEOUT"),
                30,
            )?,
            pages: crate::pages::parse(&var)?,
            notify: crate::notify::NotifyConfig::from_lookup(&var)?,
            admin_token: var("BOOKME_ADMIN_TOKEN").map(|t| SecretString::from(t.trim().to_owned())),
        })
    }

    /// The URL to paste into Cal.com's "Subscriber URL" field.
    pub fn webhook_url(&self, bound_port: u16) -> String {
        match &self.tunnel_origin {
            Some(origin) => origin.join(crate::http::WEBHOOK_PATH),
            None => {
                let host = if self.host.contains(':') {
                    format!("[{}]", self.host)
                } else {
                    self.host.clone()
                };
                format!("http://{host}:{bound_port}{}", crate::http::WEBHOOK_PATH)
            }
        }
    }
}

fn parse_port(raw: Option<String>) -> Result<u16, ConfigError> {
    match raw {
        None => Ok(4321),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ConfigError::new("PORT", format!("a port number 0-65535, got {v:?}"))),
    }
}

fn parse_flag(var: &'static str, raw: Option<String>) -> Result<bool, ConfigError> {
    match raw.as_deref().map(str::trim) {
        None | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(other) => Err(ConfigError::new(var, format!("1 or 0, got {other:?}"))),
    }
}

fn parse_origin(raw: Option<String>) -> Result<Option<Origin>, ConfigError> {
    raw.map(|v| Origin::parse(&v))
        .transpose()
        .map_err(|e| ConfigError::new("CAL_TUNNEL_ORIGIN", e))
}

fn parse_database(raw: Option<String>) -> Result<DatabaseUrl, ConfigError> {
    let raw = raw.unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
    DatabaseUrl::parse(&raw).map_err(|e| ConfigError::new("DATABASE_URL", e))
}

/// Parses a byte size such as `2097152`, `512K`, `2MiB` or `1M`.
pub fn parse_size(var: &'static str, raw: Option<String>) -> Result<usize, ConfigError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_MAX_BODY);
    };
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => 0,
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ConfigError::new(
                var,
                format!("a size in bytes such as 2097152 or 2MiB, got {raw:?}"),
            )
        })
}

fn parse_hosts(raw: Option<String>) -> Vec<String> {
    raw.map(|v| {
        v.split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

fn parse_addr(
    var: &'static str,
    raw: Option<String>,
) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    raw.map(|v| {
        v.trim().parse().map_err(|_| {
            ConfigError::new(var, format!("an address such as 127.0.0.1:9464, got {v:?}"))
        })
    })
    .transpose()
}

/// Parses `500ms`, `10s` or `2m`; `default_secs` when unset.
fn parse_duration(
    var: &'static str,
    raw: Option<String>,
    default_secs: u64,
) -> Result<Duration, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Duration::from_secs(default_secs));
    };
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: Option<u64> = digits.parse().ok();
    let parsed = match (n, unit) {
        (Some(n), "ms") => Some(Duration::from_millis(n)),
        (Some(n), "s" | "") => Some(Duration::from_secs(n)),
        (Some(n), "m") => n.checked_mul(60).map(Duration::from_secs),
        _ => None,
    };
    parsed.filter(|d| !d.is_zero()).ok_or_else(|| {
        ConfigError::new(
            var,
            format!("a duration such as 500ms, 10s or 2m, got {raw:?}"),
        )
    })
}

fn parse_attempts(raw: Option<String>) -> Result<u32, ConfigError> {
    let Some(raw) = raw else { return Ok(10) };
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            ConfigError::new(
                "BOOKME_MAX_ATTEMPTS",
                format!("a whole number of at least 1, got {raw:?}"),
            )
        })
}

fn parse_mode(raw: Option<String>) -> Result<Mode, ConfigError> {
    match raw.as_deref().map(str::trim) {
        None | Some("production") => Ok(Mode::Production),
        Some("development") => Ok(Mode::Development),
        Some(other) => Err(ConfigError::new(
            "BOOKME_MODE",
            format!("development or production, got {other:?}"),
        )),
    }
}

fn parse_log_format(raw: Option<String>) -> Result<LogFormat, ConfigError> {
    match raw.as_deref().map(str::trim) {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(ConfigError::new(
            "BOOKME_LOG_FORMAT",
            format!("text or json, got {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_original_site() {
        let c = config(&[]).unwrap();
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 4321));
        assert!(c.secrets.is_empty());
        assert!(!c.debug);
        assert_eq!(c.database.kind(), "sqlite");
        assert_eq!(c.max_body, DEFAULT_MAX_BODY);
        assert_eq!(c.mode, Mode::Production);
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn several_secrets_are_split_on_commas() {
        let c = config(&[("CAL_WEBHOOK_SECRET", "old, new,,")]).unwrap();
        assert_eq!(c.secrets.len(), 2);
        assert!(!format!("{c:?}").contains("old"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("PORT", "http"),
            ("CAL_DEBUG", "yes"),
            ("CAL_TUNNEL_ORIGIN", "ftp://x"),
            ("DATABASE_URL", "mysql://x"),
            ("BOOKME_MAX_BODY", "2GB"),
            ("BOOKME_MODE", "staging"),
            ("BOOKME_LOG_FORMAT", "xml"),
            ("BOOKME_MAX_ATTEMPTS", "0"),
            ("BOOKME_METRICS", "on"),
            ("BOOKME_METRICS_ADDR", "localhost"),
            ("BOOKME_HEADER_TIMEOUT", "soon"),
            ("BOOKME_REQUEST_TIMEOUT", "0s"),
        ];
        for (var, value) in cases {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{err}");
            assert!(err.to_string().starts_with(var));
        }
    }

    #[test]
    fn sizes_accept_units() {
        let size = |s: &str| parse_size("X", Some(s.into())).unwrap();
        assert_eq!(size("1024"), 1024);
        assert_eq!(size("512K"), 512 * 1024);
        assert_eq!(size("2MiB"), 2 * 1024 * 1024);
        assert!(parse_size("X", Some("0".into())).is_err());
    }

    #[test]
    fn tunnel_origin_keeps_only_the_origin() {
        let c = config(&[("CAL_TUNNEL_ORIGIN", "https://abc.trycloudflare.com/x/y")]).unwrap();
        let origin = c.tunnel_origin.clone().unwrap();
        assert_eq!(origin.as_str(), "https://abc.trycloudflare.com");
        assert_eq!(
            c.webhook_url(1),
            "https://abc.trycloudflare.com/api/cal/webhook"
        );
    }

    #[test]
    fn postgres_password_is_not_debug_printed() {
        let c = config(&[("DATABASE_URL", "postgres://u:hunter2@db/bookme")]).unwrap();
        assert_eq!(c.database.kind(), "postgres");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn the_admin_token_is_not_debug_printed() {
        let c = config(&[("BOOKME_ADMIN_TOKEN", " open-sesame-token ")]).unwrap();
        let token = c.admin_token.as_ref().unwrap();
        assert_eq!(token.expose_secret(), "open-sesame-token");
        assert!(!format!("{c:?}").contains("open-sesame"));
        assert!(config(&[]).unwrap().admin_token.is_none());
    }
}
