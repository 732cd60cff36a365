//! `bookme send-test`: a Cal.com-shaped delivery, signed exactly as Cal.com
//! signs (compact JSON, raw UTF-8, lowercase hex HMAC-SHA256), sent to a
//! running bookme.

use std::path::PathBuf;

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Time};

use super::sign::secrets;
use crate::calcom::signature::sign;
use crate::config::Config;

/// The triggers with a built-in body.
pub const TRIGGERS: [&str; 7] = [
    "BOOKING_CREATED",
    "BOOKING_RESCHEDULED",
    "BOOKING_CANCELLED",
    "BOOKING_REQUESTED",
    "BOOKING_REJECTED",
    "MEETING_ENDED",
    "PING",
];

/// What to send and where.
#[derive(Debug, Clone)]
pub struct SendTest {
    pub trigger: String,
    pub url: Option<String>,
    pub secret: Option<SecretString>,
    pub set: Vec<String>,
    pub body: Option<PathBuf>,
}

/// Sends the delivery and prints the answer. Returns whether it was 2xx.
pub async fn run(config: &Config, args: SendTest) -> anyhow::Result<bool> {
    let body = match &args.body {
        Some(path) => std::fs::read(path).with_context(|| format!("could not read {path:?}"))?,
        None => build(&args.trigger, &args.set, OffsetDateTime::now_utc())?,
    };
    let secrets = secrets(config, args.secret.clone())?;
    let key = secrets.keys().next().context("no secret")?;
    let url = args.url.clone().unwrap_or_else(|| local_url(config));
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("x-cal-signature-256", sign(key, &body))
        .header("x-cal-webhook-version", "2021-10-20")
        .body(body)
        .send()
        .await
        .with_context(|| format!("could not reach {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("POST {url} -> {status}");
    println!("{text}");
    Ok(status.is_success())
}

/// Where `bookme serve` with this configuration listens.
fn local_url(config: &Config) -> String {
    let host = match config.host.as_str() {
        "0.0.0.0" | "::" => "127.0.0.1",
        other => other,
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!("http://{host}:{}{}", config.port, crate::http::WEBHOOK_PATH)
}

/// Builds the body for `trigger`: the built-in sample with a fresh uid and
/// times (tomorrow, on the hour), then each `path=value` edit.
pub fn build(trigger: &str, edits: &[String], now: OffsetDateTime) -> anyhow::Result<Vec<u8>> {
    let mut body = sample(trigger)?;
    freshen(&mut body, trigger, now);
    for edit in edits {
        let (path, value) = edit
            .split_once('=')
            .with_context(|| format!("--set {edit:?}: expected path=value"))?;
        set_path(&mut body, path, value)?;
    }
    Ok(serde_json::to_vec(&body)?)
}

fn sample(trigger: &str) -> anyhow::Result<Value> {
    let raw: &str = match trigger {
        "BOOKING_CREATED" | "BOOKING_REQUESTED" | "BOOKING_REJECTED" => {
            include_str!("../../tests/fixtures/deliveries/BOOKING_CREATED.json")
        }
        "BOOKING_RESCHEDULED" => {
            include_str!("../../tests/fixtures/deliveries/BOOKING_RESCHEDULED.json")
        }
        "BOOKING_CANCELLED" => {
            include_str!("../../tests/fixtures/deliveries/BOOKING_CANCELLED.json")
        }
        "MEETING_ENDED" => include_str!("../../tests/fixtures/deliveries/MEETING_ENDED.json"),
        "PING" => include_str!("../../tests/fixtures/deliveries/PING.json"),
        other => bail!(
            "no built-in body for {other}; known: {}",
            TRIGGERS.join(", ")
        ),
    };
    let mut body: Value = serde_json::from_str(raw)?;
    let payload = body.get_mut("payload").and_then(Value::as_object_mut);
    match (trigger, payload) {
        ("BOOKING_REQUESTED", Some(p)) => {
            p.insert("status".into(), "PENDING".into());
        }
        ("BOOKING_REJECTED", Some(p)) => {
            p.insert("status".into(), "REJECTED".into());
            p.insert("rejectionReason".into(), "Not available that day".into());
        }
        _ => {}
    }
    body["triggerEvent"] = trigger.into();
    Ok(body)
}

/// A new uid and a slot tomorrow, so each run is a distinct booking.
fn freshen(body: &mut Value, trigger: &str, now: OffsetDateTime) {
    let stamp = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let start = (now + Duration::days(1))
        .replace_time(Time::from_hms(now.hour(), 0, 0).unwrap_or(Time::MIDNIGHT));
    let (start, end) = (stamp(start), stamp(start + Duration::minutes(30)));
    let flat = trigger.starts_with("MEETING_");
    if !flat {
        body["createdAt"] = stamp(now).into();
    }
    let fields = if flat { body } else { &mut body["payload"] };
    if trigger != "PING" {
        fields["uid"] = fresh_uid().into();
    }
    fields["startTime"] = start.into();
    fields["endTime"] = end.into();
    if trigger == "BOOKING_RESCHEDULED" {
        fields["rescheduleUid"] = fresh_uid().into();
    }
}

/// A 22-character uid in Cal.com's alphabet.
fn fresh_uid() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..22)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// Sets `a.b.0.c` to `value`: JSON if it parses (numbers, true, null,
/// quoted strings), else the text itself. Missing objects are created.
fn set_path(body: &mut Value, path: &str, value: &str) -> anyhow::Result<()> {
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    let mut node = body;
    for key in path.split('.') {
        node = match node {
            Value::Array(items) => {
                let index: usize = key
                    .parse()
                    .with_context(|| format!("{path}: {key} is not an index"))?;
                items
                    .get_mut(index)
                    .with_context(|| format!("{path}: no element {index}"))?
            }
            Value::Object(map) => map.entry(key).or_insert(Value::Null),
            other => {
                *other = Value::Object(Default::default());
                other
                    .as_object_mut()
                    .expect("just made an object")
                    .entry(key)
                    .or_insert(Value::Null)
            }
        };
    }
    *node = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn parsed(trigger: &str, edits: &[&str]) -> Value {
        let edits: Vec<String> = edits.iter().map(|e| e.to_string()).collect();
        let now = datetime!(2026-12-03 16:20:11 UTC);
        serde_json::from_slice(&build(trigger, &edits, now).unwrap()).unwrap()
    }

    #[test]
    fn every_built_in_trigger_parses_as_its_own_event() {
        for trigger in TRIGGERS {
            let body = parsed(trigger, &[]);
            let event = crate::calcom::Event::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
            assert_eq!(event.trigger.as_str(), trigger);
        }
    }

    #[test]
    fn uids_and_times_are_fresh_and_on_the_hour() {
        let a = parsed("BOOKING_CREATED", &[]);
        let b = parsed("BOOKING_CREATED", &[]);
        assert_ne!(a["payload"]["uid"], b["payload"]["uid"]);
        assert_eq!(a["payload"]["startTime"], "2026-12-04T16:00:00Z");
        assert_eq!(a["payload"]["endTime"], "2026-12-04T16:30:00Z");
        assert_eq!(a["createdAt"], "2026-12-03T16:20:11Z");
        let flat = parsed("MEETING_ENDED", &[]);
        assert_eq!(flat["startTime"], "2026-12-04T16:00:00Z");
    }

    #[test]
    fn set_edits_fields_by_path_with_json_values() {
        let body = parsed(
            "BOOKING_CREATED",
            &[
                "payload.attendees.0.name=Пётр Тест",
                "payload.length=45",
                "payload.uid=\"fixed\"",
            ],
        );
        assert_eq!(body["payload"]["attendees"][0]["name"], "Пётр Тест");
        assert_eq!(body["payload"]["length"], 45);
        assert_eq!(body["payload"]["uid"], "fixed");
        let err = build(
            "BOOKING_CREATED",
            &["payload.attendees.x=1".into()],
            OffsetDateTime::now_utc(),
        );
        assert!(err.unwrap_err().to_string().contains("not an index"));
    }

    #[test]
    fn requested_and_rejected_carry_their_status() {
        assert_eq!(
            parsed("BOOKING_REQUESTED", &[])["payload"]["status"],
            "PENDING"
        );
        assert_eq!(
            parsed("BOOKING_REJECTED", &[])["payload"]["status"],
            "REJECTED"
        );
        assert!(build("NOPE", &[], OffsetDateTime::now_utc()).is_err());
    }

    #[test]
    fn bodies_are_compact_with_raw_utf8() {
        let body = build(
            "BOOKING_CREATED",
            &["payload.title=Встреча".into()],
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("Встреча") && !text.contains("\\u") && !text.contains(": "));
    }
}
