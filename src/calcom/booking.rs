//! A typed booking event: what the ledger needs from one Cal.com delivery.
//!
//! [`BookingEvent::from_event`] reads the booking fields of an [`Event`]. It
//! is built for what Cal.com really sends (`FACTS.md` in the shared
//! material), and every variance has one fix that covers every field:
//!
//! - All reads go through one [`Reader`], which looks a dotted path up
//!   (`attendees.0.name`) and converts the value with one function per kind
//!   (`text`, `int`, `flag`, `time`). A missing value is `None`; a value of
//!   an unexpected type is `None` plus a note. Nothing fails the event.
//! - `text` accepts a string, a number (so `timeFormat: 12` reads as `"12"`),
//!   a `{value}` wrapper (booking-form `responses`, at any depth), a
//!   `{firstName, lastName}` name and a list of strings. Flat `responses`,
//!   where values are plain strings, are therefore read the same way.
//! - Times are RFC 3339 with `Z` or an offset, any fraction of a second.
//! - Flat MEETING_* bodies name the organizer `user` and the booking id
//!   `id`; attendees carry `locale` instead of `language.locale`; no-show
//!   updates carry `bookingUid` (the [`Event`] already reads that).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::event::{BookingUid, Event, Trigger, Unparsed};

/// A booking's state. Cal.com sends the first four in `payload.status`;
/// `Rescheduled` is bookme's name for a booking replaced by a reschedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingStatus {
    Pending,
    Accepted,
    Cancelled,
    Rejected,
    Rescheduled,
}

impl BookingStatus {
    /// Reads Cal.com's spelling (`ACCEPTED`) or bookme's (`accepted`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "cancelled" | "canceled" => Some(Self::Cancelled),
            "rejected" => Some(Self::Rejected),
            "rescheduled" => Some(Self::Rescheduled),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::Rescheduled => "rescheduled",
        }
    }

    /// True for states a booking never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Cancelled | Self::Rejected | Self::Rescheduled)
    }
}

/// An organizer or attendee, each field as far as it could be read. Its
/// `Debug` hides the name and email, so a logged event names nobody.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub name: Option<String>,
    pub email: Option<String>,
    pub time_zone: Option<String>,
    pub locale: Option<String>,
    /// `h:mma`, `HH:mm`, or a number such as `12` read as text.
    pub time_format: Option<String>,
    /// Minutes east of UTC at the booking's start; absent on older senders.
    pub utc_offset_minutes: Option<i64>,
}

/// A price as Cal.com sends it. The unit (minor units?) is not confirmed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Price {
    pub amount: i64,
    /// Upper-cased: Cal.com sends both `usd` and `USD`.
    pub currency: Option<String>,
}

/// One attendee's no-show flag from BOOKING_NO_SHOW_UPDATED (or a flat
/// MEETING_* snapshot). Its `Debug` hides the email.
#[derive(Clone, PartialEq, Eq)]
pub struct NoShow {
    pub email: String,
    pub no_show: bool,
}

/// The booking fields of one event. Every field is optional: which ones
/// arrive depends on the trigger and on the Cal.com version. Its `Debug`
/// hides names, emails and free text (title, location, reasons).
#[derive(Clone)]
pub struct BookingEvent {
    pub trigger: Trigger,
    /// The envelope's `createdAt`; for flat MEETING_* bodies, the booking's
    /// creation time, because that is what Cal.com puts there.
    pub created_at: Option<OffsetDateTime>,
    /// `uid`, or `bookingUid` on no-show updates. On BOOKING_RESCHEDULED
    /// this is the NEW booking.
    pub uid: Option<BookingUid>,
    pub booking_id: Option<i64>,
    pub status: Option<BookingStatus>,
    pub start_time: Option<OffsetDateTime>,
    pub end_time: Option<OffsetDateTime>,
    pub title: Option<String>,
    /// The event type's slug (`type`).
    pub event_type: Option<String>,
    pub event_type_id: Option<i64>,
    pub organizer: Person,
    /// The first attendee, the person who booked.
    pub attendee: Person,
    /// `metadata.lang`, passed from the booking page through the embed.
    pub lang: Option<String>,
    pub location: Option<String>,
    pub video_url: Option<String>,
    pub price: Option<Price>,
    pub cancellation_reason: Option<String>,
    pub rejection_reason: Option<String>,
    /// True when the host cancelled with "Request reschedule".
    pub request_reschedule: Option<bool>,
    /// The OLD booking on BOOKING_RESCHEDULED (and on some REQUESTED).
    pub reschedule_uid: Option<BookingUid>,
    pub reschedule_id: Option<i64>,
    pub reschedule_start_time: Option<OffsetDateTime>,
    pub reschedule_end_time: Option<OffsetDateTime>,
    pub paid: Option<bool>,
    pub no_shows: Vec<NoShow>,
    /// The event's own notes plus one per field that could not be read.
    pub notes: Vec<String>,
}

/// Fields every booking-shaped trigger should carry; their absence is noted.
const EXPECTED: [&str; 4] = ["bookingId", "status", "startTime", "endTime"];

impl BookingEvent {
    /// Parses a verified body straight into a booking event.
    pub fn parse(body: &[u8]) -> Result<Self, Unparsed> {
        Event::parse(body).map(|e| Self::from_event(&e))
    }

    /// Reads the booking fields of `event`. Never fails; see the notes.
    pub fn from_event(event: &Event) -> Self {
        let mut notes = event.notes.clone();
        let mut r = Reader::new(&event.fields, &mut notes);
        if has_booking_shape(&event.trigger) {
            r.expect(&EXPECTED);
        }
        let flat = matches!(
            event.trigger,
            Trigger::MeetingStarted | Trigger::MeetingEnded
        );
        let booking_id = r
            .int("bookingId")
            .or_else(|| flat.then(|| r.int("id")).flatten());
        let status = r.text("status").and_then(|s| r.status(&s));
        let organizer = r.person(if r.has("organizer") {
            "organizer"
        } else {
            "user"
        });
        let mut attendee = r.person("attendees.0");
        attendee.name = attendee.name.or_else(|| r.text("responses.name"));
        attendee.email = attendee.email.or_else(|| r.text("responses.email"));
        let paid = match event.trigger {
            Trigger::BookingPaid => Some(true),
            _ => r.flag("paid"),
        };
        Self {
            trigger: event.trigger.clone(),
            created_at: event.created_at,
            uid: event.booking_uid.clone(),
            booking_id,
            status,
            start_time: event.start_time,
            end_time: event.end_time,
            title: r.text("title"),
            event_type: r.text("type"),
            event_type_id: r.int("eventTypeId"),
            organizer,
            attendee,
            lang: r.text("metadata.lang"),
            location: r.text("location").or_else(|| r.text("responses.location")),
            video_url: r
                .text("metadata.videoCallUrl")
                .or_else(|| r.text("videoCallData.url")),
            price: r.price(),
            cancellation_reason: r.text("cancellationReason"),
            rejection_reason: r.text("rejectionReason"),
            request_reschedule: r.flag("requestReschedule"),
            reschedule_uid: r.text("rescheduleUid").and_then(|s| BookingUid::parse(&s)),
            reschedule_id: r.int("rescheduleId"),
            reschedule_start_time: r.time("rescheduleStartTime"),
            reschedule_end_time: r.time("rescheduleEndTime"),
            paid,
            no_shows: r.no_shows(),
            notes,
        }
    }
}

/// Shows whether a personal value is present, never the value.
pub(crate) struct Redacted<'a, T>(pub(crate) &'a Option<T>);

impl<T> fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(<redacted>)"
        } else {
            "None"
        })
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("name", &Redacted(&self.name))
            .field("email", &Redacted(&self.email))
            .field("time_zone", &self.time_zone)
            .field("locale", &self.locale)
            .field("time_format", &self.time_format)
            .field("utc_offset_minutes", &self.utc_offset_minutes)
            .finish()
    }
}

impl fmt::Debug for NoShow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoShow")
            .field("email", &"<redacted>")
            .field("no_show", &self.no_show)
            .finish()
    }
}

impl fmt::Debug for BookingEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BookingEvent")
            .field("trigger", &self.trigger)
            .field("created_at", &self.created_at)
            .field("uid", &self.uid)
            .field("booking_id", &self.booking_id)
            .field("status", &self.status)
            .field("start_time", &self.start_time)
            .field("end_time", &self.end_time)
            .field("title", &Redacted(&self.title))
            .field("event_type", &self.event_type)
            .field("event_type_id", &self.event_type_id)
            .field("organizer", &self.organizer)
            .field("attendee", &self.attendee)
            .field("lang", &self.lang)
            .field("location", &Redacted(&self.location))
            .field("video_url", &self.video_url)
            .field("price", &self.price)
            .field("cancellation_reason", &Redacted(&self.cancellation_reason))
            .field("rejection_reason", &Redacted(&self.rejection_reason))
            .field("request_reschedule", &self.request_reschedule)
            .field("reschedule_uid", &self.reschedule_uid)
            .field("reschedule_id", &self.reschedule_id)
            .field("reschedule_start_time", &self.reschedule_start_time)
            .field("reschedule_end_time", &self.reschedule_end_time)
            .field("paid", &self.paid)
            .field("no_shows", &self.no_shows)
            .field("notes", &self.notes)
            .finish()
    }
}

/// Triggers whose payload is a whole booking, as opposed to a no-show
/// update, a ping or something unknown.
fn has_booking_shape(trigger: &Trigger) -> bool {
    matches!(
        trigger,
        Trigger::BookingCreated
            | Trigger::BookingRescheduled
            | Trigger::BookingCancelled
            | Trigger::BookingRequested
            | Trigger::BookingRejected
            | Trigger::BookingPaid
            | Trigger::BookingPaymentInitiated
    )
}

/// The one lenient reader: dotted paths in, `Option`s and notes out.
struct Reader<'a> {
    root: &'a Value,
    notes: &'a mut Vec<String>,
}

impl<'a> Reader<'a> {
    fn new(root: &'a Value, notes: &'a mut Vec<String>) -> Self {
        Self { root, notes }
    }

    /// The value at `path`; `null` counts as absent. Numeric segments index
    /// arrays, so `attendees.0.email` is the first attendee's email.
    fn at(&self, path: &str) -> Option<&'a Value> {
        let mut v = self.root;
        for key in path.split('.') {
            v = match v {
                Value::Object(map) => map.get(key)?,
                Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        (!v.is_null()).then_some(v)
    }

    fn has(&self, path: &str) -> bool {
        self.at(path).is_some()
    }

    /// The first part of `path` that holds a value but not an object or a
    /// list, so the rest of the path cannot be looked up in it.
    fn blocked_at(&self, path: &str) -> Option<(String, &'a Value)> {
        let mut v = self.root;
        let mut walked: Vec<&str> = Vec::new();
        for key in path.split('.') {
            v = match v {
                Value::Object(map) => map.get(key)?,
                Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                Value::Null => return None,
                scalar => return Some((walked.join("."), scalar)),
            };
            walked.push(key);
        }
        None
    }

    /// Adds a note once, however many fields run into the same problem.
    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Notes each path that is absent.
    fn expect(&mut self, paths: &[&str]) {
        for path in paths {
            if !self.has(path) {
                self.note(format!("{path}: missing"));
            }
        }
    }

    /// Reads `path` with `convert`; a value it refuses becomes a note.
    fn read<T>(&mut self, path: &str, want: &str, convert: fn(&Value) -> Option<T>) -> Option<T> {
        let Some(v) = self.at(path) else {
            if let Some((part, v)) = self.blocked_at(path) {
                self.note(format!(
                    "{part}: expected an object or a list, got {}",
                    kind_of(v)
                ));
            }
            return None;
        };
        let got = convert(v);
        if got.is_none() && !is_blank(v) {
            self.note(format!("{path}: expected {want}, got {}", kind_of(v)));
        }
        got
    }

    fn text(&mut self, path: &str) -> Option<String> {
        self.read(path, "text", text_of)
    }

    fn int(&mut self, path: &str) -> Option<i64> {
        self.read(path, "an integer", int_of)
    }

    fn flag(&mut self, path: &str) -> Option<bool> {
        self.read(path, "a boolean", flag_of)
    }

    fn time(&mut self, path: &str) -> Option<OffsetDateTime> {
        self.read(path, "an RFC 3339 time", time_of)
    }

    fn status(&mut self, raw: &str) -> Option<BookingStatus> {
        let status = BookingStatus::parse(raw);
        if status.is_none() {
            self.note(format!("status: unknown value {raw:?}"));
        }
        status
    }

    fn person(&mut self, at: &str) -> Person {
        let locale = self
            .text(&format!("{at}.language.locale"))
            .or_else(|| self.text(&format!("{at}.locale")));
        Person {
            name: self.text(&format!("{at}.name")),
            email: self.text(&format!("{at}.email")),
            time_zone: self.text(&format!("{at}.timeZone")),
            locale,
            time_format: self.text(&format!("{at}.timeFormat")),
            utc_offset_minutes: self.int(&format!("{at}.utcOffset")),
        }
    }

    fn price(&mut self) -> Option<Price> {
        let amount = self.int("price")?;
        let currency = self.text("currency").map(|c| c.to_ascii_uppercase());
        Some(Price { amount, currency })
    }

    fn no_shows(&mut self) -> Vec<NoShow> {
        let count = self
            .at("attendees")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        (0..count)
            .filter_map(|i| {
                let no_show = self.flag(&format!("attendees.{i}.noShow"))?;
                let email = self.text(&format!("attendees.{i}.email"))?;
                Some(NoShow { email, no_show })
            })
            .collect()
    }
}

/// Text from a string, a number, a `{value}` wrapper, a split name or a list
/// of strings. Blank text counts as absent.
fn text_of(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Object(map) if map.contains_key("value") => return text_of(&map["value"]),
        Value::Object(map) if map.contains_key("firstName") => join_name(map),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(text_of).collect();
            parts?.join(", ")
        }
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

fn join_name(map: &serde_json::Map<String, Value>) -> String {
    ["firstName", "lastName"]
        .iter()
        .filter_map(|k| map.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn flag_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn time_of(v: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(v.as_str()?.trim(), &Rfc3339).ok()
}

/// Blank values (empty strings, empty lists, `{value: ""}`) are absent, not
/// wrong, so they are not noted.
fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.iter().all(is_blank),
        Value::Object(map) => match map.get("value") {
            Some(inner) => is_blank(inner),
            None if map.contains_key("firstName") => join_name(map).is_empty(),
            // A booking-form answer the booker left out: `{label, isHidden}`.
            None => map.contains_key("label"),
        },
        _ => false,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
