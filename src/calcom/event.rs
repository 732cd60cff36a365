//! Typed Cal.com events, parsed leniently from a verified body.
//!
//! Cal.com's payloads vary by version and trigger (see `FACTS.md` in the
//! shared material): times come with `Z` or `+00:00`, with or without
//! milliseconds; MEETING_* bodies are flat; no-show updates say `bookingUid`.
//! Each variance has one fix here, applied to every field where it occurs:
//! a field that is missing or of an unexpected type becomes `None` and adds a
//! note, and never fails the whole event.

use std::fmt;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A Cal.com trigger. Unknown names are kept, not refused: the enum grows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Trigger {
    BookingCreated,
    BookingRescheduled,
    BookingCancelled,
    BookingRequested,
    BookingRejected,
    BookingPaid,
    BookingPaymentInitiated,
    BookingNoShowUpdated,
    MeetingStarted,
    MeetingEnded,
    Ping,
    Other(String),
}

const KNOWN: [(&str, Trigger); 11] = [
    ("BOOKING_CREATED", Trigger::BookingCreated),
    ("BOOKING_RESCHEDULED", Trigger::BookingRescheduled),
    ("BOOKING_CANCELLED", Trigger::BookingCancelled),
    ("BOOKING_REQUESTED", Trigger::BookingRequested),
    ("BOOKING_REJECTED", Trigger::BookingRejected),
    ("BOOKING_PAID", Trigger::BookingPaid),
    (
        "BOOKING_PAYMENT_INITIATED",
        Trigger::BookingPaymentInitiated,
    ),
    ("BOOKING_NO_SHOW_UPDATED", Trigger::BookingNoShowUpdated),
    ("MEETING_STARTED", Trigger::MeetingStarted),
    ("MEETING_ENDED", Trigger::MeetingEnded),
    ("PING", Trigger::Ping),
];

impl Trigger {
    pub fn parse(name: &str) -> Self {
        KNOWN
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| Self::Other(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(name) => name,
            known => KNOWN
                .iter()
                .find(|(_, t)| t == known)
                .map(|(n, _)| *n)
                .unwrap_or(""),
        }
    }

    /// True for triggers whose payload describes one booking.
    pub fn is_booking(&self) -> bool {
        !matches!(self, Self::Ping | Self::Other(_))
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A booking uid as Cal.com sends it: a non-empty string.
///
/// It orders and serializes as the plain string, so the ledger can key
/// records by it and store it in JSON; deserializing checks it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct BookingUid(String);

impl<'de> serde::Deserialize<'de> for BookingUid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).ok_or_else(|| serde::de::Error::custom("empty booking uid"))
    }
}

impl BookingUid {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        (!raw.is_empty()).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BookingUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed event. `notes` lists the fields that could not be read, so an
/// operator can see what was skipped without losing what was understood.
#[derive(Debug, Clone)]
pub struct Event {
    pub trigger: Trigger,
    /// Delivery time for enveloped events; the booking's creation time for
    /// flat MEETING_* bodies, which is what Cal.com puts there.
    pub created_at: Option<OffsetDateTime>,
    pub booking_uid: Option<BookingUid>,
    pub start_time: Option<OffsetDateTime>,
    pub end_time: Option<OffsetDateTime>,
    pub notes: Vec<String>,
    /// The object that holds the booking fields: `payload`, or the root for
    /// flat bodies. Kept for the ledger, which reads more fields from it.
    pub fields: Value,
}

/// Why a body is not an event at all. These are stored and quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unparsed {
    #[error("body is not JSON")]
    NotJson,
    #[error("body is JSON but not an object")]
    NotObject,
    #[error("body has no triggerEvent; is a custom payload template set in Cal.com?")]
    NoTrigger,
}

impl Event {
    /// Parses a verified body. Fails only when there is no event to speak of.
    pub fn parse(body: &[u8]) -> Result<Self, Unparsed> {
        let root: Value = serde_json::from_slice(body).map_err(|_| Unparsed::NotJson)?;
        let Value::Object(mut root) = root else {
            return Err(Unparsed::NotObject);
        };
        let trigger = match root.get("triggerEvent") {
            Some(Value::String(t)) if !t.is_empty() => Trigger::parse(t),
            _ => return Err(Unparsed::NoTrigger),
        };
        let mut notes = Vec::new();
        let created_at = time_field(root.get("createdAt"), "createdAt", &mut notes);
        let fields = match root.remove("payload") {
            Some(Value::Object(payload)) => Value::Object(payload),
            Some(other) if !other.is_null() => {
                notes.push("payload: not an object".into());
                Value::Null
            }
            _ => Value::Object(root),
        };
        Ok(Self::from_fields(trigger, created_at, fields, notes))
    }

    fn from_fields(
        trigger: Trigger,
        created_at: Option<OffsetDateTime>,
        fields: Value,
        mut notes: Vec<String>,
    ) -> Self {
        let uid = string_field(fields.get("uid"), "uid", &mut notes)
            .or_else(|| string_field(fields.get("bookingUid"), "bookingUid", &mut notes))
            .and_then(|s| BookingUid::parse(&s));
        if uid.is_none() && trigger.is_booking() {
            notes.push("uid: missing".into());
        }
        let start_time = time_field(fields.get("startTime"), "startTime", &mut notes);
        let end_time = time_field(fields.get("endTime"), "endTime", &mut notes);
        Self {
            trigger,
            created_at,
            booking_uid: uid,
            start_time,
            end_time,
            notes,
            fields,
        }
    }
}

/// Reads an optional string; other types are noted and ignored.
pub fn string_field(v: Option<&Value>, name: &str, notes: &mut Vec<String>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            notes.push(format!("{name}: expected a string"));
            None
        }
    }
}

/// Reads an optional RFC 3339 time: `Z` or an offset, any fraction of a second.
pub fn time_field(
    v: Option<&Value>,
    name: &str,
    notes: &mut Vec<String>,
) -> Option<OffsetDateTime> {
    let text = string_field(v, name, notes)?;
    match OffsetDateTime::parse(&text, &Rfc3339) {
        Ok(t) => Some(t),
        Err(_) => {
            notes.push(format!("{name}: not an RFC 3339 time"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn an_envelope_yields_trigger_uid_and_times() {
        let body = br#"{"triggerEvent":"BOOKING_CREATED","createdAt":"2025-03-10T07:15:42.318Z",
            "payload":{"uid":"abc","startTime":"2025-03-14T09:00:00Z",
            "endTime":"2025-03-14T09:30:00+00:00"}}"#;
        let e = Event::parse(body).unwrap();
        assert_eq!(e.trigger, Trigger::BookingCreated);
        assert_eq!(e.booking_uid.unwrap().as_str(), "abc");
        assert_eq!(e.start_time, Some(datetime!(2025-03-14 09:00 UTC)));
        assert_eq!(e.end_time, Some(datetime!(2025-03-14 09:30 UTC)));
        assert!(e.notes.is_empty(), "{:?}", e.notes);
    }

    #[test]
    fn flat_meeting_bodies_read_from_the_root() {
        let body = br#"{"triggerEvent":"MEETING_ENDED","uid":"m1",
            "startTime":"2025-03-14T09:00:00.000Z"}"#;
        let e = Event::parse(body).unwrap();
        assert_eq!(e.trigger, Trigger::MeetingEnded);
        assert_eq!(e.booking_uid.unwrap().as_str(), "m1");
        assert!(e.start_time.is_some());
    }

    #[test]
    fn wrong_types_become_notes_not_failures() {
        let body = br#"{"triggerEvent":"BOOKING_CANCELLED","payload":{"uid":["x"],
            "startTime":"tomorrow"}}"#;
        let e = Event::parse(body).unwrap();
        assert!(e.booking_uid.is_none());
        assert!(e.start_time.is_none());
        assert_eq!(e.notes.len(), 3, "{:?}", e.notes);
    }

    #[test]
    fn unknown_triggers_are_kept_by_name() {
        let e = Event::parse(br#"{"triggerEvent":"OOO_CREATED","payload":{}}"#).unwrap();
        assert_eq!(e.trigger, Trigger::Other("OOO_CREATED".into()));
        assert_eq!(e.trigger.to_string(), "OOO_CREATED");
        assert!(e.notes.is_empty());
    }

    #[test]
    fn bodies_without_an_event_say_why() {
        assert_eq!(Event::parse(b"false").unwrap_err(), Unparsed::NotObject);
        assert_eq!(Event::parse(b"{}").unwrap_err(), Unparsed::NoTrigger);
        assert_eq!(Event::parse(b"a=b").unwrap_err(), Unparsed::NotJson);
    }

    #[test]
    fn trigger_names_round_trip() {
        for (name, _) in KNOWN {
            assert_eq!(Trigger::parse(name).as_str(), name);
        }
    }
}
