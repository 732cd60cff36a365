//! Where notifications go, read from the environment and an optional TOML
//! file (`BOOKME_CONFIG`) that can list several destinations of one kind.
//!
//! Secrets (bot tokens, SMTP URLs with passwords, forward secrets) are held
//! in [`SecretString`], so neither `Debug` nor an error prints them.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::calcom::Trigger;
use crate::config::ConfigError;

use super::Locale;

/// Telegram's own Bot API origin.
pub const TELEGRAM_API: &str = "https://api.telegram.org";

/// How long a notification is retried before it becomes a dead letter.
pub const DEFAULT_GIVE_UP: Duration = Duration::from_secs(24 * 3600);

/// Everything the outbox and the dispatcher need, validated.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub destinations: Vec<Destination>,
    pub give_up: Duration,
    /// `BOOKME_OWNER_LOCALE`; otherwise the organizer's Cal.com locale.
    pub owner_locale: Option<Locale>,
    /// `BOOKME_OWNER_TIMEZONE`; otherwise the organizer's time zone.
    pub owner_timezone: Option<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            destinations: Vec::new(),
            give_up: DEFAULT_GIVE_UP,
            owner_locale: None,
            owner_timezone: None,
        }
    }
}

/// One configured destination. Its name keys the outbox, so renaming a
/// destination starts it afresh.
#[derive(Debug, Clone)]
pub struct Destination {
    pub name: String,
    pub triggers: TriggerFilter,
    pub kind: DestinationKind,
}

#[derive(Debug, Clone)]
pub enum DestinationKind {
    Telegram(TelegramConfig),
    Email(EmailConfig),
    Forward(ForwardConfig),
}

impl DestinationKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Telegram(_) => "telegram",
            Self::Email(_) => "email",
            Self::Forward(_) => "forward",
        }
    }
}

#[derive(Clone)]
pub struct TelegramConfig {
    pub bot_token: SecretString,
    pub chat_id: String,
    pub api_base: Url,
}

#[derive(Clone)]
pub struct EmailConfig {
    /// `smtp://` or `smtps://`, possibly with a password: kept secret.
    pub smtp_url: SecretString,
    pub from: lettre::message::Mailbox,
    pub to: Vec<lettre::message::Mailbox>,
}

#[derive(Clone)]
pub struct ForwardConfig {
    pub url: Url,
    /// The decoded Standard Webhooks key.
    pub secret: ForwardSecret,
}

/// A Standard Webhooks signing key: `whsec_` followed by base64.
#[derive(Clone)]
pub struct ForwardSecret(SecretString);

impl ForwardSecret {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let encoded = raw.trim().strip_prefix("whsec_").unwrap_or(raw.trim());
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| "whsec_ followed by base64 (a Standard Webhooks secret)".to_owned())?;
        if key.len() < 16 {
            return Err("a key of at least 16 bytes, e.g. whsec_$(openssl rand -base64 32)".into());
        }
        Ok(Self(SecretString::from(encoded.to_owned())))
    }

    /// The raw key bytes. Callers must not log them.
    pub fn key(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(self.0.expose_secret())
            .unwrap_or_default()
    }
}

impl fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("bot_token", &"[redacted]")
            .field("chat_id", &self.chat_id)
            .field("api_base", &self.api_base.as_str())
            .finish()
    }
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("smtp_url", &"[redacted]")
            .field("to", &self.to.len())
            .finish()
    }
}

impl fmt::Debug for ForwardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardConfig")
            .field("url", &self.url.as_str())
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Which triggers a destination is told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerFilter(Vec<Trigger>);

/// The triggers a message can be written for.
const NOTIFIABLE: [(&str, Trigger); 6] = [
    ("created", Trigger::BookingCreated),
    ("rescheduled", Trigger::BookingRescheduled),
    ("cancelled", Trigger::BookingCancelled),
    ("requested", Trigger::BookingRequested),
    ("rejected", Trigger::BookingRejected),
    ("paid", Trigger::BookingPaid),
];

impl Default for TriggerFilter {
    /// Created, rescheduled, cancelled, requested and rejected.
    fn default() -> Self {
        Self(NOTIFIABLE[..5].iter().map(|(_, t)| t.clone()).collect())
    }
}

impl TriggerFilter {
    /// Reads `created, cancelled` or `BOOKING_CREATED,BOOKING_CANCELLED`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let names: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        Self::from_names(&names)
    }

    fn from_names(names: &[&str]) -> Result<Self, String> {
        let mut triggers = Vec::new();
        for name in names {
            let short = name.to_ascii_lowercase();
            let short = short.strip_prefix("booking_").unwrap_or(&short);
            let Some((_, t)) = NOTIFIABLE.iter().find(|(n, _)| *n == short) else {
                return Err(format!(
                    "triggers from created, rescheduled, cancelled, requested, rejected, \
                     paid; got {name:?}"
                ));
            };
            triggers.push(t.clone());
        }
        if triggers.is_empty() {
            return Err("at least one trigger".into());
        }
        Ok(Self(triggers))
    }

    pub fn accepts(&self, trigger: &Trigger) -> bool {
        self.0.contains(trigger)
    }
}

impl NotifyConfig {
    /// Reads the `BOOKME_*` notification variables and, if `BOOKME_CONFIG`
    /// names one, the TOML file.
    pub fn from_lookup(var: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut destinations = Vec::new();
        destinations.extend(telegram_from_env(var)?);
        destinations.extend(email_from_env(var)?);
        destinations.extend(forward_from_env(var)?);
        if let Some(path) = var("BOOKME_CONFIG") {
            destinations.extend(file::read(&path)?);
        }
        check_unique_names(&destinations)?;
        Ok(Self {
            destinations,
            give_up: parse_duration("BOOKME_NOTIFY_GIVE_UP", var("BOOKME_NOTIFY_GIVE_UP"))?
                .unwrap_or(DEFAULT_GIVE_UP),
            owner_locale: parse_locale(var("BOOKME_OWNER_LOCALE"))?,
            owner_timezone: parse_timezone(var("BOOKME_OWNER_TIMEZONE"))?,
        })
    }

    pub fn destination(&self, name: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.name == name)
    }
}

fn err(var: &'static str, expected: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        expected: expected.into(),
    }
}

fn triggers(var: &'static str, raw: Option<String>) -> Result<TriggerFilter, ConfigError> {
    raw.map(|r| TriggerFilter::parse(&r).map_err(|e| err(var, e)))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Both variables or neither; one alone is a mistake worth stopping for.
fn pair(
    var: &impl Fn(&str) -> Option<String>,
    a: &'static str,
    b: &'static str,
) -> Result<Option<(String, String)>, ConfigError> {
    match (var(a), var(b)) {
        (Some(x), Some(y)) => Ok(Some((x, y))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(err(b, format!("required when {a} is set"))),
        (None, Some(_)) => Err(err(a, format!("required when {b} is set"))),
    }
}

fn telegram_from_env(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Destination>, ConfigError> {
    let Some((token, chat)) = pair(var, "BOOKME_TELEGRAM_BOT_TOKEN", "BOOKME_TELEGRAM_CHAT_ID")?
    else {
        return Ok(None);
    };
    let base = var("BOOKME_TELEGRAM_API_BASE").unwrap_or_else(|| TELEGRAM_API.into());
    let config = telegram(&token, &chat, &base).map_err(|(v, e)| err(v, e))?;
    Ok(Some(Destination {
        name: "telegram".into(),
        triggers: triggers("BOOKME_TELEGRAM_TRIGGERS", var("BOOKME_TELEGRAM_TRIGGERS"))?,
        kind: DestinationKind::Telegram(config),
    }))
}

fn telegram(token: &str, chat: &str, base: &str) -> Result<TelegramConfig, (&'static str, String)> {
    let token = token.trim();
    // A token is `<bot id>:<secret>`; anything with a slash or a space would
    // change the request path.
    if !token.contains(':') || token.contains(['/', ' ', '?', '#']) {
        return Err((
            "BOOKME_TELEGRAM_BOT_TOKEN",
            "a token from BotFather, like 123456:ABC-DEF…".into(),
        ));
    }
    Ok(TelegramConfig {
        bot_token: SecretString::from(token.to_owned()),
        chat_id: chat.trim().to_owned(),
        api_base: http_url(base).map_err(|e| ("BOOKME_TELEGRAM_API_BASE", e))?,
    })
}

fn email_from_env(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Destination>, ConfigError> {
    let Some(url) = var("BOOKME_SMTP_URL") else {
        for v in ["BOOKME_EMAIL_FROM", "BOOKME_EMAIL_TO"] {
            if var(v).is_some() {
                return Err(err("BOOKME_SMTP_URL", format!("required when {v} is set")));
            }
        }
        return Ok(None);
    };
    let from = var("BOOKME_EMAIL_FROM")
        .ok_or_else(|| err("BOOKME_EMAIL_FROM", "required when BOOKME_SMTP_URL is set"))?;
    let to = var("BOOKME_EMAIL_TO")
        .ok_or_else(|| err("BOOKME_EMAIL_TO", "required when BOOKME_SMTP_URL is set"))?;
    let to: Vec<&str> = to.split(',').collect();
    let config = email(&url, &from, &to).map_err(|(v, e)| err(v, e))?;
    Ok(Some(Destination {
        name: "email".into(),
        triggers: triggers("BOOKME_EMAIL_TRIGGERS", var("BOOKME_EMAIL_TRIGGERS"))?,
        kind: DestinationKind::Email(config),
    }))
}

fn email(url: &str, from: &str, to: &[&str]) -> Result<EmailConfig, (&'static str, String)> {
    super::email::check_url(url).map_err(|e| ("BOOKME_SMTP_URL", e))?;
    let mailbox = |v: &'static str, s: &str| {
        s.trim()
            .parse()
            .map_err(|_| (v, format!("an email address, got {:?}", s.trim())))
    };
    let to = to
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| mailbox("BOOKME_EMAIL_TO", s))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(("BOOKME_EMAIL_TO", "at least one address".into()));
    }
    Ok(EmailConfig {
        smtp_url: SecretString::from(url.trim().to_owned()),
        from: mailbox("BOOKME_EMAIL_FROM", from)?,
        to,
    })
}

fn forward_from_env(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Destination>, ConfigError> {
    let Some((url, secret)) = pair(var, "BOOKME_FORWARD_URL", "BOOKME_FORWARD_SECRET")? else {
        return Ok(None);
    };
    let config = forward(&url, &secret).map_err(|(v, e)| err(v, e))?;
    Ok(Some(Destination {
        name: "forward".into(),
        triggers: triggers("BOOKME_FORWARD_TRIGGERS", var("BOOKME_FORWARD_TRIGGERS"))?,
        kind: DestinationKind::Forward(config),
    }))
}

fn forward(url: &str, secret: &str) -> Result<ForwardConfig, (&'static str, String)> {
    Ok(ForwardConfig {
        url: http_url(url).map_err(|e| ("BOOKME_FORWARD_URL", e))?,
        secret: ForwardSecret::parse(secret).map_err(|e| ("BOOKME_FORWARD_SECRET", e))?,
    })
}

fn http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("an http(s) URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("an http:// or https:// URL".into());
    }
    Ok(url)
}

fn check_unique_names(destinations: &[Destination]) -> Result<(), ConfigError> {
    for (i, d) in destinations.iter().enumerate() {
        if destinations[..i].iter().any(|o| o.name == d.name) {
            return Err(err(
                "BOOKME_CONFIG",
                format!(
                    "destination names must be unique; {:?} is used twice",
                    d.name
                ),
            ));
        }
    }
    Ok(())
}

/// Reads `24h`, `90m`, `30s`, `1h 30m` or an ISO 8601 duration.
pub fn parse_duration(
    var: &'static str,
    raw: Option<String>,
) -> Result<Option<Duration>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    raw.trim()
        .parse::<jiff::SignedDuration>()
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
        .map(Some)
        .ok_or_else(|| err(var, format!("a duration such as 24h or 90m, got {raw:?}")))
}

fn parse_locale(raw: Option<String>) -> Result<Option<Locale>, ConfigError> {
    raw.map(|r| {
        Locale::parse(&r).ok_or_else(|| err("BOOKME_OWNER_LOCALE", format!("en or ru, got {r:?}")))
    })
    .transpose()
}

fn parse_timezone(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    raw.map(|r| {
        let name = r.trim().to_owned();
        jiff::tz::TimeZone::get(&name).map(|_| name).map_err(|_| {
            err(
                "BOOKME_OWNER_TIMEZONE",
                format!("an IANA time zone such as Europe/Moscow, got {r:?}"),
            )
        })
    })
    .transpose()
}

/// The optional TOML file, for several destinations of one kind.
mod file {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        telegram: Vec<Telegram>,
        #[serde(default)]
        email: Vec<Email>,
        #[serde(default)]
        forward: Vec<Forward>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Telegram {
        name: String,
        bot_token: String,
        chat_id: String,
        api_base: Option<String>,
        triggers: Option<Vec<String>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Email {
        name: String,
        smtp_url: String,
        from: String,
        to: Vec<String>,
        triggers: Option<Vec<String>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Forward {
        name: String,
        url: String,
        secret: String,
        triggers: Option<Vec<String>>,
    }

    const VAR: &str = "BOOKME_CONFIG";

    pub fn read(path: &str) -> Result<Vec<Destination>, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(VAR, format!("a readable TOML file; {path}: {e}")))?;
        // The TOML error quotes the offending line, which may hold a secret,
        // so only its position is reported.
        let file: File = toml::from_str(&text).map_err(|e| {
            let at = e.span().map(|s| line_of(&text, s.start)).unwrap_or(0);
            err(
                VAR,
                format!("{path}: invalid TOML or unknown key near line {at}"),
            )
        })?;
        let mut out = Vec::new();
        for t in file.telegram {
            let base = t.api_base.as_deref().unwrap_or(TELEGRAM_API);
            let kind = telegram(&t.bot_token, &t.chat_id, base).map_err(in_file(&t.name))?;
            out.push(entry(t.name, t.triggers, DestinationKind::Telegram(kind))?);
        }
        for m in file.email {
            let to: Vec<&str> = m.to.iter().map(String::as_str).collect();
            let kind = email(&m.smtp_url, &m.from, &to).map_err(in_file(&m.name))?;
            out.push(entry(m.name, m.triggers, DestinationKind::Email(kind))?);
        }
        for f in file.forward {
            let kind = forward(&f.url, &f.secret).map_err(in_file(&f.name))?;
            out.push(entry(f.name, f.triggers, DestinationKind::Forward(kind))?);
        }
        Ok(out)
    }

    fn in_file(name: &str) -> impl Fn((&'static str, String)) -> ConfigError + '_ {
        move |(var, e)| err(VAR, format!("destination {name:?}: {} ({var})", e))
    }

    fn entry(
        name: String,
        triggers: Option<Vec<String>>,
        kind: DestinationKind,
    ) -> Result<Destination, ConfigError> {
        if name.trim().is_empty() || name.contains(char::is_whitespace) {
            return Err(err(
                VAR,
                format!("a destination name without spaces, got {name:?}"),
            ));
        }
        let triggers = match triggers {
            None => TriggerFilter::default(),
            Some(list) => {
                let names: Vec<&str> = list.iter().map(String::as_str).collect();
                TriggerFilter::from_names(&names)
                    .map_err(|e| err(VAR, format!("destination {name:?}: {e}")))?
            }
        };
        Ok(Destination {
            name,
            triggers,
            kind,
        })
    }

    fn line_of(text: &str, offset: usize) -> usize {
        text[..offset.min(text.len())].matches('\n').count() + 1
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<NotifyConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        NotifyConfig::from_lookup(&|name: &str| map.get(name).cloned())
    }

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn nothing_configured_means_no_destinations_and_a_day_to_give_up() {
        let c = parse(&[]).unwrap();
        assert!(c.destinations.is_empty());
        assert_eq!(c.give_up, DEFAULT_GIVE_UP);
    }

    #[test]
    fn each_kind_from_the_environment_with_default_triggers() {
        let c = parse(&[
            ("BOOKME_TELEGRAM_BOT_TOKEN", "123:abc-secret"),
            ("BOOKME_TELEGRAM_CHAT_ID", "42"),
            ("BOOKME_SMTP_URL", "smtps://u:hunter2@mail.example.com"),
            ("BOOKME_EMAIL_FROM", "bookme <b@example.com>"),
            ("BOOKME_EMAIL_TO", "a@example.com, c@example.com"),
            ("BOOKME_FORWARD_URL", "https://crm.example.com/hook"),
            ("BOOKME_FORWARD_SECRET", SECRET),
            ("BOOKME_FORWARD_TRIGGERS", "created,BOOKING_CANCELLED"),
            ("BOOKME_NOTIFY_GIVE_UP", "90m"),
        ])
        .unwrap();
        let names: Vec<_> = c.destinations.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["telegram", "email", "forward"]);
        assert!(
            c.destinations[0]
                .triggers
                .accepts(&Trigger::BookingRejected)
        );
        assert!(
            !c.destinations[2]
                .triggers
                .accepts(&Trigger::BookingRescheduled)
        );
        assert!(
            c.destinations[2]
                .triggers
                .accepts(&Trigger::BookingCancelled)
        );
        assert_eq!(c.give_up, Duration::from_secs(90 * 60));
        let debug = format!("{c:?}");
        for secret in ["abc-secret", "hunter2", "MfKQ9r8"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases: [&[(&str, &str)]; 7] = [
            &[("BOOKME_TELEGRAM_BOT_TOKEN", "123:abc")],
            &[
                ("BOOKME_TELEGRAM_BOT_TOKEN", "no-colon"),
                ("BOOKME_TELEGRAM_CHAT_ID", "1"),
            ],
            &[
                ("BOOKME_FORWARD_URL", "ftp://x"),
                ("BOOKME_FORWARD_SECRET", SECRET),
            ],
            &[
                ("BOOKME_FORWARD_URL", "https://x"),
                ("BOOKME_FORWARD_SECRET", "short"),
            ],
            &[
                ("BOOKME_SMTP_URL", "http://x"),
                ("BOOKME_EMAIL_FROM", "a@b.c"),
                ("BOOKME_EMAIL_TO", "d@e.f"),
            ],
            &[("BOOKME_NOTIFY_GIVE_UP", "soon")],
            &[("BOOKME_OWNER_TIMEZONE", "Mars/Olympus")],
        ];
        let want = [
            "BOOKME_TELEGRAM_CHAT_ID",
            "BOOKME_TELEGRAM_BOT_TOKEN",
            "BOOKME_FORWARD_URL",
            "BOOKME_FORWARD_SECRET",
            "BOOKME_SMTP_URL",
            "BOOKME_NOTIFY_GIVE_UP",
            "BOOKME_OWNER_TIMEZONE",
        ];
        for (vars, var) in cases.iter().zip(want) {
            let e = parse(vars).unwrap_err();
            assert_eq!(e.var, var, "{e}");
        }
    }

    #[test]
    fn a_toml_file_adds_several_destinations_of_one_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bookme.toml");
        let toml = format!(
            "[[telegram]]\nname = \"me\"\nbot_token = \"1:a\"\nchat_id = \"1\"\n\n\
             [[telegram]]\nname = \"team\"\nbot_token = \"2:b\"\nchat_id = \"-100\"\n\
             triggers = [\"created\"]\n\n\
             [[forward]]\nname = \"crm\"\nurl = \"https://crm.example.com\"\n\
             secret = \"{SECRET}\"\n"
        );
        std::fs::write(&path, toml).unwrap();
        let c = parse(&[("BOOKME_CONFIG", path.to_str().unwrap())]).unwrap();
        let names: Vec<_> = c.destinations.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["me", "team", "crm"]);
        assert!(
            !c.destinations[1]
                .triggers
                .accepts(&Trigger::BookingCancelled)
        );
        std::fs::write(
            &path,
            "[[telegram]]\nname = \"x\"\nbot_token = \"1:s3cr3t\"\n",
        )
        .unwrap();
        let e = parse(&[("BOOKME_CONFIG", path.to_str().unwrap())]).unwrap_err();
        assert_eq!(e.var, "BOOKME_CONFIG");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }
}
