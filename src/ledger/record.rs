//! The ledger's record of one booking and the registers it is made of.
//!
//! Every field is a [`Reg`]: a value plus the [`Stamp`] of the event that
//! wrote it. Merging two records keeps, per field, the value with the
//! greater stamp, so merging is commutative, associative and idempotent,
//! whatever order the events came in. See the module docs of
//! [`crate::ledger`] for the rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::calcom::booking::{BookingStatus, Price};
use crate::calcom::event::BookingUid;

/// A point in time, kept in UTC and stored as RFC 3339 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(OffsetDateTime);

impl UtcTime {
    pub fn new(t: OffsetDateTime) -> Self {
        Self(t.to_offset(UtcOffset::UTC))
    }

    pub fn get(self) -> OffsetDateTime {
        self.0
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(&Rfc3339).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for UtcTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtcTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let t = OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)?;
        Ok(Self::new(t))
    }
}

/// Who wrote a value and when; greater stamps win.
///
/// Fields compare in declaration order: `rank` first, so a flat MEETING_*
/// snapshot (rank 0, whose `createdAt` is the booking's creation time, not
/// a delivery time) never overrides a BOOKING_* event (rank 1); then
/// Cal.com's `createdAt` (absent sorts first); then the delivery id, which
/// only breaks ties between identical times.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    pub rank: u8,
    pub at: Option<UtcTime>,
    pub delivery: String,
}

/// A value with the stamp of the event that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written<T> {
    pub value: T,
    pub stamp: Stamp,
}

/// A last-writer-wins register: empty until some event carries the field.
/// An event that lacks a field leaves it alone; it never clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reg<T>(Option<Written<T>>);

impl<T> Default for Reg<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T: Clone + Ord> Reg<T> {
    /// A register written by `stamp`, or an empty one when `value` is None.
    pub fn from(value: Option<T>, stamp: &Stamp) -> Self {
        Self(value.map(|value| Written {
            value,
            stamp: stamp.clone(),
        }))
    }

    pub fn get(&self) -> Option<&T> {
        self.0.as_ref().map(|w| &w.value)
    }

    pub fn written(&self) -> Option<&Written<T>> {
        self.0.as_ref()
    }

    /// Keeps the value with the greater stamp. Equal stamps with different
    /// values cannot come from one event, but are still settled (by value)
    /// so the result never depends on order.
    pub fn join(&mut self, other: &Self) {
        self.join_by(other, |_| ());
    }

    /// Like [`Reg::join`], but `key` of the value is compared before the
    /// stamp: the status lattice uses it to let terminal states win.
    pub fn join_by<K: Ord>(&mut self, other: &Self, key: impl Fn(&T) -> K) {
        let Some(theirs) = &other.0 else { return };
        let wins = match &self.0 {
            None => true,
            Some(mine) => {
                let rank = |w: &Written<T>| (key(&w.value), w.stamp.clone(), w.value.clone());
                rank(theirs) > rank(mine)
            }
        };
        if wins {
            self.0 = Some(theirs.clone());
        }
    }
}

/// One booking, keyed by its Cal.com uid. Fields without personal data sit
/// at the top; everything that names or locates a person is in
/// [`Booking::personal`], so it can be purged on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub uid: BookingUid,
    /// `None` until an event states one (a no-show update alone does not).
    pub status: Reg<BookingStatus>,
    pub booking_id: Reg<i64>,
    pub start: Reg<UtcTime>,
    pub end: Reg<UtcTime>,
    pub organizer_time_zone: Reg<String>,
    /// The event type's slug.
    pub event_type: Reg<String>,
    pub event_type_id: Reg<i64>,
    /// `metadata.lang`: the language of the page the booking came from.
    pub lang: Reg<String>,
    pub video_url: Reg<String>,
    pub price: Reg<Price>,
    /// True when the host cancelled with "Request reschedule".
    pub request_reschedule: Reg<bool>,
    /// Once any event says paid, the booking stays paid.
    pub paid: bool,
    pub meeting_started: Reg<UtcTime>,
    pub meeting_ended: Reg<UtcTime>,
    /// The booking that replaced this one.
    pub rescheduled_to: Reg<BookingUid>,
    /// The booking this one replaced.
    pub rescheduled_from: Reg<BookingUid>,
    /// Every delivery that shaped this record.
    pub deliveries: BTreeSet<String>,
    pub personal: Personal,
}

/// The personal part of a booking: names, emails, free text written by
/// people (titles name both sides; reasons and locations may hold anything).
/// Its `Debug` shows which fields are set, never their values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Personal {
    /// Set by [`Booking::purge_personal`]; a purged record stays empty even
    /// when an old delivery is replayed into it.
    pub purged: bool,
    pub title: Reg<String>,
    pub location: Reg<String>,
    pub attendee_name: Reg<String>,
    pub attendee_email: Reg<String>,
    pub attendee_time_zone: Reg<String>,
    pub cancellation_reason: Reg<String>,
    pub rejection_reason: Reg<String>,
    /// No-show flags by attendee email.
    pub no_shows: BTreeMap<String, Reg<bool>>,
}

impl Booking {
    /// An empty record: what the ledger holds before any event for `uid`.
    pub fn new(uid: BookingUid) -> Self {
        Self {
            uid,
            status: Reg::default(),
            booking_id: Reg::default(),
            start: Reg::default(),
            end: Reg::default(),
            organizer_time_zone: Reg::default(),
            event_type: Reg::default(),
            event_type_id: Reg::default(),
            lang: Reg::default(),
            video_url: Reg::default(),
            price: Reg::default(),
            request_reschedule: Reg::default(),
            paid: false,
            meeting_started: Reg::default(),
            meeting_ended: Reg::default(),
            rescheduled_to: Reg::default(),
            rescheduled_from: Reg::default(),
            deliveries: BTreeSet::new(),
            personal: Personal::default(),
        }
    }

    /// The current status, if any event stated one.
    pub fn current_status(&self) -> Option<BookingStatus> {
        self.status.get().copied()
    }

    /// Merges `other` (another record or one event's update) into this one
    /// and says whether anything changed. Records of different uids are
    /// never merged: that returns false and changes nothing.
    pub fn merge(&mut self, other: &Booking) -> bool {
        if self.uid != other.uid {
            return false;
        }
        let before = self.clone();
        self.status.join_by(&other.status, |s| status_tier(*s));
        self.booking_id.join(&other.booking_id);
        self.start.join(&other.start);
        self.end.join(&other.end);
        self.organizer_time_zone.join(&other.organizer_time_zone);
        self.event_type.join(&other.event_type);
        self.event_type_id.join(&other.event_type_id);
        self.lang.join(&other.lang);
        self.video_url.join(&other.video_url);
        self.price.join(&other.price);
        self.request_reschedule.join(&other.request_reschedule);
        self.paid |= other.paid;
        self.meeting_started.join(&other.meeting_started);
        self.meeting_ended.join(&other.meeting_ended);
        self.rescheduled_to.join(&other.rescheduled_to);
        self.rescheduled_from.join(&other.rescheduled_from);
        self.deliveries.extend(other.deliveries.iter().cloned());
        self.personal.merge(&other.personal);
        *self != before
    }

    /// Drops every personal field, for good: later merges keep it empty.
    pub fn purge_personal(&mut self) {
        self.personal = Personal {
            purged: true,
            ..Personal::default()
        };
    }
}

impl Personal {
    fn merge(&mut self, other: &Personal) {
        if self.purged || other.purged {
            *self = Personal {
                purged: true,
                ..Personal::default()
            };
            return;
        }
        self.title.join(&other.title);
        self.location.join(&other.location);
        self.attendee_name.join(&other.attendee_name);
        self.attendee_email.join(&other.attendee_email);
        self.attendee_time_zone.join(&other.attendee_time_zone);
        self.cancellation_reason.join(&other.cancellation_reason);
        self.rejection_reason.join(&other.rejection_reason);
        for (email, flag) in &other.no_shows {
            self.no_shows.entry(email.clone()).or_default().join(flag);
        }
    }
}

impl fmt::Debug for Personal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |r: &Reg<String>| if r.get().is_some() { "<redacted>" } else { "-" };
        f.debug_struct("Personal")
            .field("purged", &self.purged)
            .field("title", &set(&self.title))
            .field("location", &set(&self.location))
            .field("attendee_name", &set(&self.attendee_name))
            .field("attendee_email", &set(&self.attendee_email))
            .field("attendee_time_zone", &set(&self.attendee_time_zone))
            .field("cancellation_reason", &set(&self.cancellation_reason))
            .field("rejection_reason", &set(&self.rejection_reason))
            .field("no_shows", &self.no_shows.len())
            .finish()
    }
}

/// The status lattice: pending < accepted < every terminal state. Among
/// terminal states, and within a tier, the later stamp wins.
fn status_tier(status: BookingStatus) -> u8 {
    match status {
        BookingStatus::Pending => 0,
        BookingStatus::Accepted => 1,
        BookingStatus::Cancelled | BookingStatus::Rejected | BookingStatus::Rescheduled => 2,
    }
}
