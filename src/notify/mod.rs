//! Telling the owner: Telegram, email and a signed forward, once per
//! booking event and destination.
//!
//! # Layout
//!
//! - [`config`]: destinations from the environment and `BOOKME_CONFIG`.
//! - [`Outbox`]: which destination takes which trigger. The worker queues
//!   one `notifications` row per (event, destination) in the transaction
//!   that marks a delivery processed (`store::notifications`).
//! - [`dispatcher`]: one loop per destination claims due rows with a
//!   lease, sends, and records sent, retry (backoff with jitter) or dead.
//! - [`message`]: the owner's text in English or Russian (Fluent files in
//!   `locales/`), [`telegram`], [`email`] and [`forward`] send it.
//! - [`commands`]: `bookme notify test` and `bookme notify resend`.

pub mod commands;
pub mod config;
pub mod dispatcher;
pub mod email;
pub mod forward;
pub mod message;
pub mod reach;
pub mod telegram;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::calcom::{BookingEvent, Trigger};
use crate::store::DeliveryId;
use crate::worker::rfc3339;

pub use config::{Destination, DestinationKind, NotifyConfig, TriggerFilter};
pub use dispatcher::{Dispatcher, DispatcherOptions};
pub use message::Message;

/// The languages bookme writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Ru,
}

impl Locale {
    /// Reads `ru`, `ru-RU`, `en_GB` and the like; other languages are None.
    pub fn parse(raw: &str) -> Option<Self> {
        let lang = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match lang.as_str() {
            "en" => Some(Self::En),
            "ru" => Some(Self::Ru),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
        }
    }
}

/// Which destinations get which triggers, and a nudge for the dispatcher.
/// Cheap to clone; the default has no destinations.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    routes: Arc<[(String, TriggerFilter)]>,
    wake: Arc<Notify>,
}

impl Outbox {
    pub fn from_config(config: &NotifyConfig) -> Self {
        let routes = config
            .destinations
            .iter()
            .map(|d| (d.name.clone(), d.triggers.clone()))
            .collect();
        Self {
            routes,
            wake: Arc::default(),
        }
    }

    /// The destinations whose filter takes `trigger`.
    pub fn destinations_for<'a>(&'a self, trigger: &'a Trigger) -> impl Iterator<Item = &'a str> {
        self.routes
            .iter()
            .filter(move |(_, filter)| filter.accepts(trigger))
            .map(|(name, _)| name.as_str())
    }

    /// Tells waiting dispatcher loops that rows were queued.
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    pub(crate) fn woken(&self) -> &Notify {
        &self.wake
    }
}

/// What makes two deliveries the same booking event: the trigger, the
/// booking uid and Cal.com's `createdAt`. A redelivery with other bytes
/// (re-serialized, another webhook subscription) has the same key. Without
/// a uid or a `createdAt` nothing else identifies the event, so the
/// delivery (one body) is the event.
///
/// (trigger, uid) alone could be too coarse: a seated event may fire
/// BOOKING_CREATED once per seat under one uid (not confirmed from Cal.com's
/// source), and each seat is news to the owner. The price is that a sender
/// that re-stamped `createdAt` on a retry would be told twice; whether
/// Cal.com retries at all is not confirmed either (`FACTS.md`, section 5).
pub fn event_key(event: &BookingEvent, delivery: &DeliveryId) -> String {
    match (&event.uid, event.created_at) {
        (Some(uid), Some(at)) => format!("{}|{uid}|{}", event.trigger, rfc3339(at)),
        _ => format!("delivery|{delivery}"),
    }
}

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again: a network error, a 5xx, a 429. `after` is the
    /// wait the destination asked for, if any.
    #[error("{reason}")]
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// The destination answered 410 Gone: it must not be sent to again.
    #[error("{0}")]
    Gone(String),
}

impl SendError {
    pub fn retry(reason: impl Into<String>) -> Self {
        Self::Retry {
            reason: reason.into(),
            after: None,
        }
    }
}

/// A reqwest error as text without its URL, which for Telegram holds the
/// bot token.
pub(crate) fn describe(e: reqwest::Error) -> SendError {
    let e = e.without_url();
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    SendError::retry(text)
}

/// The wait a `Retry-After` header asks for, in seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}
