//! Property tests: the ledger does not depend on delivery order, and a
//! delivery applied twice changes nothing.
//!
//! Deliveries are generated as Cal.com bodies for a few uids, with random
//! `createdAt` values drawn from a small range so that ties happen, plus
//! replays (same delivery id) and redeliveries (same body, new id).

use bookme::calcom::BookingEvent;
use bookme::ledger::Ledger;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

/// A delivery as the store would hand it over: its id and raw body.
type Delivery = (String, Vec<u8>);

const UIDS: [&str; 3] = [
    "uidA0000000000000000000",
    "uidB1111111111111111111",
    "uidC2222",
];
const TITLES: [&str; 3] = ["Консультация", "Consultation", "Intro call"];

#[derive(Debug, Clone)]
enum Op {
    Created,
    Rescheduled { from: usize },
    Cancelled { request_reschedule: bool },
    Requested,
    Rejected,
    Paid,
    NoShow { flag: bool },
    MeetingStarted,
    MeetingEnded,
    Ping,
    Unknown,
}

#[derive(Debug, Clone)]
struct Spec {
    op: Op,
    uid: usize,
    /// Minutes after a base time; `None` leaves `createdAt` out.
    minute: Option<u8>,
    title: usize,
    hour: u8,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Created),
        2 => (0..UIDS.len()).prop_map(|from| Op::Rescheduled { from }),
        2 => any::<bool>().prop_map(|r| Op::Cancelled { request_reschedule: r }),
        1 => Just(Op::Requested),
        1 => Just(Op::Rejected),
        1 => Just(Op::Paid),
        1 => any::<bool>().prop_map(|flag| Op::NoShow { flag }),
        1 => Just(Op::MeetingStarted),
        1 => Just(Op::MeetingEnded),
        1 => Just(Op::Ping),
        1 => Just(Op::Unknown),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let minute = prop_oneof![1 => Just(None), 6 => (0u8..6).prop_map(Some)];
    (op(), 0..UIDS.len(), minute, 0..TITLES.len(), 8u8..12).prop_map(
        |(op, uid, minute, title, hour)| Spec {
            op,
            uid,
            minute,
            title,
            hour,
        },
    )
}

/// Deliveries as (delivery id, body), with some replayed under the same id
/// and some redelivered under a new one.
fn deliveries() -> impl Strategy<Value = Vec<Delivery>> {
    let replays = prop::collection::vec(any::<Index>(), 0..4);
    let redeliveries = prop::collection::vec(any::<Index>(), 0..3);
    (prop::collection::vec(spec(), 1..14), replays, redeliveries).prop_map(
        |(specs, replays, redeliveries)| {
            let mut out: Vec<_> = specs
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("d{i:02}"), body(s)))
                .collect();
            for (n, pick) in redeliveries.iter().enumerate() {
                let again = out[pick.index(specs.len())].1.clone();
                out.push((format!("r{n:02}"), again));
            }
            for pick in replays {
                let again = out[pick.index(out.len())].clone();
                out.push(again);
            }
            out
        },
    )
}

fn at(minute: u8) -> String {
    format!("2025-03-10T07:{minute:02}:00.000Z")
}

fn body(s: &Spec) -> Vec<u8> {
    let uid = UIDS[s.uid];
    let (trigger, payload) = match &s.op {
        Op::Ping => (
            "PING",
            json!({"type": "Test", "title": "Test trigger event"}),
        ),
        Op::NoShow { flag } => ("BOOKING_NO_SHOW_UPDATED", no_show(uid, *flag)),
        Op::MeetingStarted => return flat("MEETING_STARTED", s),
        Op::MeetingEnded => return flat("MEETING_ENDED", s),
        op => booking(op, s),
    };
    let mut root = json!({"triggerEvent": trigger, "payload": payload});
    if let Some(minute) = s.minute {
        root["createdAt"] = json!(at(minute));
    }
    serde_json::to_vec(&root).unwrap()
}

fn no_show(uid: &str, flag: bool) -> Value {
    json!({"message": "marked", "bookingUid": uid, "bookingId": 1,
        "attendees": [{"email": "guest@example.com", "noShow": flag}]})
}

fn booking(op: &Op, s: &Spec) -> (&'static str, Value) {
    let mut p = json!({
        "uid": UIDS[s.uid], "bookingId": 100 + s.uid, "title": TITLES[s.title],
        "type": "consultation", "eventTypeId": 8,
        "startTime": format!("2025-03-20T{:02}:00:00Z", s.hour),
        "endTime": format!("2025-03-20T{:02}:30:00+00:00", s.hour),
        "organizer": {"name": "Ann", "email": "ann@example.com", "timeZone": "Europe/Berlin",
            "timeFormat": if s.title == 0 { json!(12) } else { json!("h:mma") }},
        "attendees": [{"name": "Иван", "email": "guest@example.com",
            "timeZone": "Asia/Yekaterinburg"}],
        "metadata": {"lang": if s.title == 0 { "ru" } else { "en" }},
        "location": "integrations:daily", "price": s.title * 500, "currency": "usd",
    });
    let (trigger, status) = match op {
        Op::Created => ("BOOKING_CREATED", "ACCEPTED"),
        Op::Rescheduled { from } => {
            p["rescheduleUid"] = json!(UIDS[*from]);
            p["rescheduleId"] = json!(100 + from);
            p["rescheduleStartTime"] = json!(format!("2025-03-13T{:02}:00:00Z", s.hour));
            ("BOOKING_RESCHEDULED", "ACCEPTED")
        }
        Op::Cancelled { request_reschedule } => {
            p["requestReschedule"] = json!(request_reschedule);
            p["cancellationReason"] = json!(TITLES[s.title]);
            ("BOOKING_CANCELLED", "CANCELLED")
        }
        Op::Requested => ("BOOKING_REQUESTED", "PENDING"),
        Op::Rejected => ("BOOKING_REJECTED", "REJECTED"),
        Op::Paid => ("BOOKING_PAID", "ACCEPTED"),
        _ => ("OOO_CREATED", "ACCEPTED"),
    };
    p["status"] = json!(status);
    (trigger, p)
}

/// A flat MEETING_* body: no envelope, `createdAt` is the booking's.
fn flat(trigger: &str, s: &Spec) -> Vec<u8> {
    let mut root = json!({
        "triggerEvent": trigger, "uid": UIDS[s.uid], "id": 100 + s.uid,
        "title": TITLES[s.title], "status": "ACCEPTED", "paid": false,
        "startTime": format!("2025-03-20T{:02}:00:00.000Z", s.hour),
        "endTime": format!("2025-03-20T{:02}:30:00.000Z", s.hour),
        "responses": {"name": "Иван", "email": "guest@example.com"},
        "user": {"name": "Ann", "email": "ann@example.com", "timeZone": "Europe/Berlin"},
        "attendees": [{"email": "guest@example.com", "locale": "ru", "noShow": false}],
    });
    if let Some(minute) = s.minute {
        root["createdAt"] = json!(at(minute));
    }
    serde_json::to_vec(&root).unwrap()
}

fn fold(deliveries: &[Delivery]) -> Ledger {
    let mut ledger = Ledger::new();
    for (id, body) in deliveries {
        let event = BookingEvent::parse(body).expect("generated bodies are events");
        ledger.apply(&event, id);
    }
    ledger
}

fn with_shuffle() -> impl Strategy<Value = (Vec<Delivery>, Vec<Delivery>)> {
    deliveries().prop_flat_map(|d| (Just(d.clone()), Just(d).prop_shuffle()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_order_of_the_same_deliveries_gives_the_same_ledger(
        (original, shuffled) in with_shuffle()
    ) {
        prop_assert_eq!(fold(&original), fold(&shuffled));
    }

    #[test]
    fn applying_any_delivery_again_changes_nothing(
        deliveries in deliveries(),
        pick in any::<Index>(),
        cut in any::<Index>(),
    ) {
        // Again at the end: nothing changes, and apply says so.
        let mut ledger = fold(&deliveries);
        let whole = ledger.clone();
        let (id, body) = &deliveries[pick.index(deliveries.len())];
        let event = BookingEvent::parse(body).unwrap();
        prop_assert!(ledger.apply(&event, id).is_empty());
        prop_assert_eq!(&ledger, &whole);

        // Twice in a row anywhere in the sequence: same as once.
        let mut twice = deliveries.clone();
        let at = cut.index(twice.len() + 1);
        twice.insert(at, (id.clone(), body.clone()));
        prop_assert_eq!(fold(&twice), whole);
    }

    #[test]
    fn stored_records_round_trip_through_json(deliveries in deliveries()) {
        for booking in fold(&deliveries).bookings() {
            let stored = serde_json::to_string(booking).unwrap();
            let back: bookme::ledger::Booking = serde_json::from_str(&stored).unwrap();
            prop_assert_eq!(&back, booking);
        }
    }
}

/// A fixed scenario, so a broken generator cannot make the properties pass
/// vacuously: a cancel stamped before its create still ends cancelled.
#[test]
fn a_cancel_before_its_create_ends_cancelled_in_both_orders() {
    let spec = |op, minute| Spec {
        op,
        uid: 0,
        minute: Some(minute),
        title: 1,
        hour: 9,
    };
    let cancel = (
        "d1".to_owned(),
        body(&spec(
            Op::Cancelled {
                request_reschedule: false,
            },
            1,
        )),
    );
    let create = ("d2".to_owned(), body(&spec(Op::Created, 5)));
    let a = fold(&[cancel.clone(), create.clone()]);
    let b = fold(&[create, cancel]);
    assert_eq!(a, b);
    let status = a.get(UIDS[0]).unwrap().current_status().unwrap();
    assert_eq!(status.as_str(), "cancelled");
}
