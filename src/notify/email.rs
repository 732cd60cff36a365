//! Email over SMTP with lettre: plain text plus HTML, UTF-8 throughout.
//!
//! `smtps://` is TLS from the first byte. `smtp://` upgrades with STARTTLS
//! and refuses a server that cannot (`?tls=required`, the default), or
//! tries it (`?tls=opportunistic`), or speaks plain SMTP (`?tls=none`, the
//! default only for a loopback host, where there is no wire to protect).

use lettre::message::MultiPart;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use url::Url;

use super::config::EmailConfig;
use super::{Locale, Message, SendError};

/// How long one SMTP conversation may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Checks an SMTP URL at start, so a typo stops bookme instead of failing
/// every send. The message never includes the password.
pub fn check_url(raw: &str) -> Result<(), String> {
    transport(raw).map(|_| ())
}

/// Sends `message` to every configured recipient.
pub async fn send(
    config: &EmailConfig,
    message: &Message,
    locale: Locale,
) -> Result<(), SendError> {
    let mut builder = lettre::Message::builder()
        .from(config.from.clone())
        .subject(message.subject());
    for to in &config.to {
        builder = builder.to(to.clone());
    }
    let email = builder
        .multipart(MultiPart::alternative_plain_html(
            message.text(),
            message.email_html(locale.as_str()),
        ))
        .map_err(|e| SendError::retry(format!("could not build the email: {e}")))?;
    let mailer = transport(config.smtp_url.expose_secret()).map_err(SendError::retry)?;
    match mailer.send(email).await {
        Ok(_) => Ok(()),
        Err(e) => Err(SendError::retry(format!("SMTP: {e}"))),
    }
}

pub(super) fn transport(raw: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let url = Url::parse(raw.trim()).map_err(|_| "an smtp:// or smtps:// URL".to_owned())?;
    let host = url.host_str().ok_or("an SMTP URL with a host")?.to_owned();
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let params = || TlsParameters::new(host.clone()).map_err(|e| format!("TLS: {e}"));
    let (tls, port) = match (url.scheme(), tls.as_deref()) {
        ("smtps", None) => (Tls::Wrapper(params()?), 465),
        ("smtp", Some("required")) => (Tls::Required(params()?), 587),
        ("smtp", None) if !is_loopback(&url) => (Tls::Required(params()?), 587),
        ("smtp", Some("opportunistic")) => (Tls::Opportunistic(params()?), 587),
        ("smtp", Some("none")) | ("smtp", None) => (Tls::None, 25),
        _ => {
            return Err("smtp:// (tls=required|opportunistic|none) or smtps://".into());
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(url.port().unwrap_or(port))
        .tls(tls)
        .timeout(Some(TIMEOUT));
    if !url.username().is_empty() {
        let user = decode(url.username());
        let pass = decode(url.password().unwrap_or_default());
        builder = builder.credentials(Credentials::new(user, pass));
    }
    Ok(builder.build())
}

/// `smtp:` is not a special scheme to the URL parser, so an IP address
/// arrives as a plain host name and is parsed here.
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
