//! The bookings ledger as pure logic: one [`Booking`] per Cal.com uid, built
//! from booking events. No database, no clock, no I/O.
//!
//! # How an event becomes records
//!
//! [`updates`] turns one event (and its delivery id) into one partial
//! record per uid it concerns. [`Booking::merge`] folds an update into the
//! stored record. The update depends only on the event, never on what is
//! stored, which is what makes the rules below hold.
//!
//! - BOOKING_CREATED, _REQUESTED, _PAID, _PAYMENT_INITIATED, _CANCELLED,
//!   _REJECTED and _RESCHEDULED write the fields they carry to `uid`.
//! - BOOKING_RESCHEDULED also writes to the OLD uid (`rescheduleUid`):
//!   status `rescheduled`, `rescheduled_to` the new uid, and the old slot
//!   and booking id. The new uid gets `rescheduled_from`. An unknown old
//!   uid simply gets a record with only that.
//! - BOOKING_REQUESTED (a reschedule that needs confirmation) writes a
//!   `pending` booking to its own uid and does not touch the old one.
//! - A cancel for an unknown uid makes a `cancelled` record (an orphan);
//!   a late BOOKING_CREATED fills in its fields but cannot revive it.
//! - MEETING_STARTED / MEETING_ENDED set `meeting_started` (the slot's
//!   start, when Cal.com fires it) / `meeting_ended` (the slot's end).
//! - BOOKING_NO_SHOW_UPDATED sets the flags per attendee email.
//! - PING and unknown triggers change nothing.
//!
//! # Precedence: why order does not matter
//!
//! Each field is a last-writer-wins register ([`Reg`]) stamped with
//! ([`Stamp`]): rank, then Cal.com's `createdAt`, then the delivery id.
//! Flat MEETING_* bodies have rank 0 because their `createdAt` is the
//! booking's creation time; every other event has rank 1. An event without
//! a field leaves it alone.
//!
//! The status is a lattice: pending < accepted < {cancelled, rejected,
//! rescheduled}. A higher tier always wins; within a tier the later stamp
//! wins. So a cancel that arrives before its create still ends
//! `cancelled`, and a confirmed booking never falls back to pending.
//!
//! `paid` only turns on. Delivery ids are a set union. No-show flags are
//! one register per email.
//!
//! Every one of these merges is commutative, associative and idempotent,
//! so the same deliveries in any order give the same ledger, and applying
//! a delivery twice changes nothing (the second time, [`Booking::merge`]
//! returns false).
//!
//! # Persisting
//!
//! One row per uid, holding the record as JSON (it is `Serialize`), in the
//! same transaction that marks the delivery processed:
//!
//! 1. `let event = BookingEvent::from_event(&parsed);`
//! 2. for each `update` in `updates(&event, delivery_id)`: load the row for
//!    `update.uid` (`SELECT … FOR UPDATE` on PostgreSQL); `merge` the
//!    update into it, or insert the update as the new row;
//! 3. write back the rows whose merge returned true; mark the delivery.
//!
//! [`touched_uids`] names the rows to lock up front.

mod record;

use std::collections::BTreeMap;

use crate::calcom::booking::{BookingEvent, BookingStatus};
use crate::calcom::event::{BookingUid, Trigger};

pub use record::{Booking, Personal, Reg, Stamp, UtcTime, Written};

/// The uids whose records `event` changes, new booking first.
pub fn touched_uids(event: &BookingEvent) -> Vec<BookingUid> {
    updates(event, "").into_iter().map(|b| b.uid).collect()
}

/// The partial records `event` contributes, one per uid it concerns; empty
/// for PING, unknown triggers and events without a uid.
pub fn updates(event: &BookingEvent, delivery_id: &str) -> Vec<Booking> {
    let Some(uid) = event.uid.clone() else {
        return Vec::new();
    };
    if matches!(event.trigger, Trigger::Ping | Trigger::Other(_)) {
        return Vec::new();
    }
    let stamp = stamp_of(event, delivery_id);
    let mut out = vec![own_update(event, uid.clone(), &stamp)];
    if let Some(old) = replaced_uid(event) {
        out.push(replaced_update(event, old, uid, &stamp));
    }
    out
}

/// An in-memory ledger: the records by uid. The persistence layer keeps the
/// same records in rows; tests and tools use this directly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    bookings: BTreeMap<BookingUid, Booking>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one delivery and returns the uids whose records changed.
    pub fn apply(&mut self, event: &BookingEvent, delivery_id: &str) -> Vec<BookingUid> {
        let mut changed = Vec::new();
        for update in updates(event, delivery_id) {
            let uid = update.uid.clone();
            let did_change = match self.bookings.get_mut(&uid) {
                Some(record) => record.merge(&update),
                None => {
                    self.bookings.insert(uid.clone(), update);
                    true
                }
            };
            if did_change {
                changed.push(uid);
            }
        }
        changed
    }

    pub fn get(&self, uid: &str) -> Option<&Booking> {
        self.bookings.get(&BookingUid::parse(uid)?)
    }

    pub fn bookings(&self) -> impl Iterator<Item = &Booking> {
        self.bookings.values()
    }

    pub fn len(&self) -> usize {
        self.bookings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bookings.is_empty()
    }
}

fn stamp_of(event: &BookingEvent, delivery_id: &str) -> Stamp {
    let snapshot = matches!(
        event.trigger,
        Trigger::MeetingStarted | Trigger::MeetingEnded
    );
    Stamp {
        rank: if snapshot { 0 } else { 1 },
        at: event.created_at.map(UtcTime::new),
        delivery: delivery_id.to_owned(),
    }
}

/// The old booking a BOOKING_RESCHEDULED replaces. REQUESTED never
/// replaces one: it is only a request until confirmed.
fn replaced_uid(event: &BookingEvent) -> Option<BookingUid> {
    let old = event.reschedule_uid.clone()?;
    let replaces = event.trigger == Trigger::BookingRescheduled;
    (replaces && Some(&old) != event.uid.as_ref()).then_some(old)
}

/// The status an event states. The trigger decides where it is unambiguous,
/// because older Cal.com builds leave `status` out of cancels.
fn status_of(event: &BookingEvent) -> Option<BookingStatus> {
    match event.trigger {
        Trigger::BookingCancelled => Some(BookingStatus::Cancelled),
        Trigger::BookingRejected => Some(BookingStatus::Rejected),
        Trigger::BookingRequested => Some(BookingStatus::Pending),
        Trigger::BookingCreated | Trigger::BookingRescheduled => {
            event.status.or(Some(BookingStatus::Accepted))
        }
        _ => event.status,
    }
}

fn own_update(event: &BookingEvent, uid: BookingUid, stamp: &Stamp) -> Booking {
    let time = |t: Option<time::OffsetDateTime>| Reg::from(t.map(UtcTime::new), stamp);
    let text = |s: &Option<String>| Reg::from(s.clone(), stamp);
    let meeting = |trigger, t| time(if event.trigger == trigger { t } else { None });
    let mut b = Booking::new(uid);
    b.status = Reg::from(status_of(event), stamp);
    b.booking_id = Reg::from(event.booking_id, stamp);
    b.start = time(event.start_time);
    b.end = time(event.end_time);
    b.organizer_time_zone = text(&event.organizer.time_zone);
    b.event_type = text(&event.event_type);
    b.event_type_id = Reg::from(event.event_type_id, stamp);
    b.lang = text(&event.lang);
    b.video_url = text(&event.video_url);
    b.price = Reg::from(event.price.clone(), stamp);
    b.request_reschedule = Reg::from(event.request_reschedule, stamp);
    b.paid = event.paid == Some(true);
    b.meeting_started = meeting(Trigger::MeetingStarted, event.start_time);
    b.meeting_ended = meeting(Trigger::MeetingEnded, event.end_time);
    // A reschedule onto its own uid (old seated-event builds) links nothing.
    let from = event
        .reschedule_uid
        .clone()
        .filter(|old| event.uid.as_ref() != Some(old));
    b.rescheduled_from = Reg::from(from, stamp);
    b.deliveries.insert(stamp.delivery.clone());
    b.personal = personal_update(event, stamp);
    b
}

fn personal_update(event: &BookingEvent, stamp: &Stamp) -> Personal {
    let text = |s: &Option<String>| Reg::from(s.clone(), stamp);
    let no_shows = event
        .no_shows
        .iter()
        .map(|n| (n.email.clone(), Reg::from(Some(n.no_show), stamp)))
        .collect();
    Personal {
        purged: false,
        title: text(&event.title),
        location: text(&event.location),
        attendee_name: text(&event.attendee.name),
        attendee_email: text(&event.attendee.email),
        attendee_time_zone: text(&event.attendee.time_zone),
        cancellation_reason: text(&event.cancellation_reason),
        rejection_reason: text(&event.rejection_reason),
        no_shows,
    }
}

/// What a reschedule says about the booking it replaced: only what is known
/// for sure, so a missed BOOKING_CREATED for it can still fill in the rest.
fn replaced_update(
    event: &BookingEvent,
    old: BookingUid,
    new: BookingUid,
    stamp: &Stamp,
) -> Booking {
    let time = |t: Option<time::OffsetDateTime>| Reg::from(t.map(UtcTime::new), stamp);
    let mut b = Booking::new(old);
    b.status = Reg::from(Some(BookingStatus::Rescheduled), stamp);
    b.rescheduled_to = Reg::from(Some(new), stamp);
    b.booking_id = Reg::from(event.reschedule_id, stamp);
    b.start = time(event.reschedule_start_time);
    b.end = time(event.reschedule_end_time);
    b.deliveries.insert(stamp.delivery.clone());
    b
}

#[cfg(test)]
mod tests;
