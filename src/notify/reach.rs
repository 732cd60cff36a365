//! Reachability probes for `bookme doctor`: each destination is contacted
//! without sending anything the owner would see.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::config::{Destination, DestinationKind};

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Ok when the destination answers. The error never holds a secret: the
/// Telegram URL carries the bot token, so errors are reported without it.
pub async fn probe(dest: &Destination) -> Result<(), String> {
    let probe = async {
        match &dest.kind {
            DestinationKind::Telegram(t) => telegram(t).await,
            DestinationKind::Email(e) => email(e).await,
            DestinationKind::Forward(f) => tcp(&f.url).await,
        }
    };
    tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs())))
}

/// Telegram's `getMe` checks both the network path and the token.
async fn telegram(t: &super::config::TelegramConfig) -> Result<(), String> {
    let base = t.api_base.as_str().trim_end_matches('/');
    let url = format!("{base}/bot{}/getMe", t.bot_token.expose_secret());
    let response = reqwest::get(url)
        .await
        .map_err(|e| e.without_url().to_string())?;
    match response.status() {
        s if s.is_success() => Ok(()),
        s if s.as_u16() == 401 || s.as_u16() == 404 => Err("Telegram refused the bot token".into()),
        s => Err(format!("Telegram answered {s}")),
    }
}

/// Opens an SMTP session (and TLS, as configured) without sending mail.
async fn email(e: &super::config::EmailConfig) -> Result<(), String> {
    let transport = super::email::transport(e.smtp_url.expose_secret())?;
    match transport.test_connection().await {
        Ok(true) => Ok(()),
        Ok(false) => Err("the SMTP server did not accept a session".into()),
        Err(err) => Err(format!("SMTP: {}", redact_smtp(&err.to_string()))),
    }
}

/// A forward target only has to accept a TCP connection; a probe request
/// could be taken for a real event by the receiver.
async fn tcp(url: &url::Url) -> Result<(), String> {
    let host = url.host_str().ok_or("the forward URL has no host")?;
    let port = url
        .port_or_known_default()
        .ok_or("the forward URL has no port")?;
    tokio::net::TcpStream::connect((host, port))
        .await
        .map(drop)
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))
}

/// lettre's errors do not include credentials, but keep only the first
/// line to be safe and short.
fn redact_smtp(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}
