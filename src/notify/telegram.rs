//! Telegram: one `sendMessage` call through the Bot API.
//!
//! The bot token is part of the request path, so the URL is built only
//! here, never formatted into an error or a log line ([`super::describe`]
//! drops it from reqwest's errors).

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::config::TelegramConfig;
use super::{Message, SendError, describe, retry_after};

/// Sends `message` to the configured chat, in Telegram's HTML parse mode.
pub async fn send(
    http: &reqwest::Client,
    config: &TelegramConfig,
    message: &Message,
) -> Result<(), SendError> {
    let url = format!(
        "{}/bot{}/sendMessage",
        config.api_base.as_str().trim_end_matches('/'),
        config.bot_token.expose_secret()
    );
    let body = json!({
        "chat_id": config.chat_id,
        "text": message.telegram_html(),
        "parse_mode": "HTML",
        "link_preview_options": { "is_disabled": true },
    });
    let resp = http.post(url).json(&body).send().await.map_err(describe)?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let header_wait = retry_after(resp.headers());
    let answer: Value = resp.json().await.unwrap_or(Value::Null);
    // Telegram says how long to wait in the body, not in a header.
    let body_wait = answer["parameters"]["retry_after"]
        .as_u64()
        .map(std::time::Duration::from_secs);
    let what = answer["description"].as_str().unwrap_or("no description");
    Err(SendError::Retry {
        reason: format!("Telegram answered {status}: {what}"),
        after: body_wait.or(header_wait),
    })
}
