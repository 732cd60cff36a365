//! Forward: POST bookme's normalized booking event, with the original
//! Cal.com body, signed per the Standard Webhooks spec.
//!
//! The `webhook-id` is the notification's id, so it stays the same across
//! retries and a receiver can drop a second copy. The signature is
//! `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")). The body's
//! schema is documented in `docs/forward-schema.md`.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;

use super::config::ForwardConfig;
use super::{SendError, describe, retry_after};
use crate::calcom::booking::Person;
use crate::calcom::{BookingEvent, Event};
use crate::worker::rfc3339;

/// The schema version in every body's `data.schema`.
pub const SCHEMA: &str = "bookme.booking-event.v1";

/// The normalized event: `type`, `timestamp`, `data`, as Standard Webhooks
/// recommends.
pub fn payload(
    event_key: &str,
    delivery_id: &str,
    event: &Event,
    booking: &BookingEvent,
    original: &[u8],
) -> Value {
    let original: Value = serde_json::from_slice(original).unwrap_or(Value::Null);
    json!({
        "type": event_type(booking),
        "timestamp": rfc3339(OffsetDateTime::now_utc()),
        "data": {
            "schema": SCHEMA,
            "event_key": event_key,
            "delivery_id": delivery_id,
            "trigger": booking.trigger.as_str(),
            "created_at": booking.created_at.map(rfc3339),
            "booking": booking_json(event, booking),
            "original": original,
        }
    })
}

/// The body `bookme notify test` forwards.
pub fn test_payload() -> Value {
    json!({
        "type": "bookme.test",
        "timestamp": rfc3339(OffsetDateTime::now_utc()),
        "data": { "schema": SCHEMA, "test": true },
    })
}

/// `booking.created`, `booking.rescheduled`, …
fn event_type(booking: &BookingEvent) -> String {
    let trigger = booking.trigger.as_str().to_ascii_lowercase();
    let short = trigger.strip_prefix("booking_").unwrap_or(&trigger);
    format!("booking.{short}")
}

fn booking_json(event: &Event, b: &BookingEvent) -> Value {
    let time = |t: Option<OffsetDateTime>| t.map(rfc3339);
    let rescheduled_from = b.reschedule_uid.as_ref().map(|uid| {
        json!({
            "uid": uid,
            "booking_id": b.reschedule_id,
            "start": time(b.reschedule_start_time),
            "end": time(b.reschedule_end_time),
        })
    });
    json!({
        "uid": b.uid,
        "booking_id": b.booking_id,
        "status": b.status.map(|s| s.as_str()),
        "title": b.title,
        "event_type": b.event_type,
        "event_type_id": b.event_type_id,
        "start": time(b.start_time),
        "end": time(b.end_time),
        "location": b.location,
        "video_url": b.video_url,
        "notes": super::message::notes(event),
        "organizer": person(&b.organizer),
        "attendee": person(&b.attendee),
        "rescheduled_from": rescheduled_from,
        "cancellation_reason": b.cancellation_reason,
        "rejection_reason": b.rejection_reason,
        "request_reschedule": b.request_reschedule,
    })
}

fn person(p: &Person) -> Value {
    json!({
        "name": p.name,
        "email": p.email,
        "time_zone": p.time_zone,
        "locale": p.locale,
    })
}

/// The `webhook-signature` value for one attempt.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("v1,{sig}")
}

/// POSTs `body` once. 2xx is success; 410 is [`SendError::Gone`]; 429 and
/// 503 honour `Retry-After`.
pub async fn send(
    http: &reqwest::Client,
    config: &ForwardConfig,
    webhook_id: &str,
    body: &Value,
) -> Result<(), SendError> {
    let bytes = serde_json::to_vec(body).expect("JSON values serialize");
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let signature = sign(&config.secret.key(), webhook_id, timestamp, &bytes);
    let resp = http
        .post(config.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(bytes)
        .send()
        .await
        .map_err(describe)?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    if status == reqwest::StatusCode::GONE {
        return Err(SendError::Gone(format!("the receiver answered {status}")));
    }
    Err(SendError::Retry {
        reason: format!("the receiver answered {status}"),
        after: retry_after(resp.headers()),
    })
}
