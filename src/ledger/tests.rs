use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::calcom::fixtures;

const OLD: &str = "Hn8vR2xWq4JbT6mZy1KcFs";
const MID: &str = "Qm3TtY7aPw2ZcK9rLx5VnB";
const NEW: &str = "Zc4RwQ8mTn2VxL6pKy9HbD";

fn event(body: &[u8]) -> BookingEvent {
    BookingEvent::parse(body).expect("an event")
}

/// A copy of `body` with the given payload fields (or `triggerEvent` and
/// `createdAt` at the root) replaced.
fn edit(body: &[u8], changes: Value) -> Vec<u8> {
    let mut root: Value = serde_json::from_slice(body).unwrap();
    for (key, value) in changes.as_object().unwrap() {
        match key.as_str() {
            "triggerEvent" | "createdAt" => root[key] = value.clone(),
            _ => root["payload"][key] = value.clone(),
        }
    }
    serde_json::to_vec(&root).unwrap()
}

fn ledger_of(deliveries: &[(&str, &[u8])]) -> Ledger {
    let mut ledger = Ledger::new();
    for (id, body) in deliveries {
        ledger.apply(&event(body), id);
    }
    ledger
}

/// Every order of `deliveries` (up to 4 of them) gives the same ledger.
fn same_in_every_order(deliveries: &[(&str, &[u8])]) -> Ledger {
    let first = ledger_of(deliveries);
    for order in permutations(deliveries.len()) {
        let shuffled: Vec<_> = order.iter().map(|&i| deliveries[i]).collect();
        assert_eq!(ledger_of(&shuffled), first, "order {order:?}");
    }
    first
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for at in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(at, n - 1);
            out.push(p);
        }
    }
    out
}

fn status(ledger: &Ledger, uid: &str) -> Option<BookingStatus> {
    ledger.get(uid).unwrap().current_status()
}

fn text(reg: &Reg<String>) -> Option<&str> {
    reg.get().map(String::as_str)
}

/// The chain OLD -> MID -> NEW: a create, R06, and a second reschedule.
fn reschedule_chain() -> [Vec<u8>; 3] {
    let created = edit(
        &fixtures::case("R06"),
        json!({"triggerEvent": "BOOKING_CREATED", "createdAt": "2025-03-05T10:00:00.000Z",
            "uid": OLD, "bookingId": 1051, "startTime": "2025-03-13T14:30:00Z",
            "endTime": "2025-03-13T15:00:00Z", "rescheduleUid": null, "rescheduleId": null,
            "rescheduleStartTime": null, "rescheduleEndTime": null}),
    );
    let again = edit(
        &fixtures::case("R06"),
        json!({"createdAt": "2025-03-15T08:00:00.000Z", "uid": NEW, "bookingId": 1063,
            "startTime": "2025-03-27T14:30:00Z", "endTime": "2025-03-27T15:00:00Z",
            "rescheduleUid": MID, "rescheduleId": 1057,
            "rescheduleStartTime": "2025-03-20T14:30:00Z",
            "rescheduleEndTime": "2025-03-20T15:00:00Z"}),
    );
    [created, fixtures::case("R06"), again]
}

#[test]
fn a_reschedule_chain_links_every_booking_in_any_order() {
    let [created, first, second] = reschedule_chain();
    let ledger = same_in_every_order(&[("d1", &created), ("d2", &first), ("d3", &second)]);
    assert_eq!(ledger.len(), 3);

    let old = ledger.get(OLD).unwrap();
    assert_eq!(old.current_status(), Some(BookingStatus::Rescheduled));
    assert_eq!(old.rescheduled_to.get().unwrap().as_str(), MID);
    assert_eq!(
        old.start.get().unwrap().get(),
        datetime!(2025-03-13 14:30 UTC)
    );
    assert_eq!(text(&old.event_type), Some("consultation"));

    let mid = ledger.get(MID).unwrap();
    assert_eq!(mid.current_status(), Some(BookingStatus::Rescheduled));
    assert_eq!(mid.rescheduled_from.get().unwrap().as_str(), OLD);
    assert_eq!(mid.rescheduled_to.get().unwrap().as_str(), NEW);
    assert_eq!(
        mid.start.get().unwrap().get(),
        datetime!(2025-03-20 14:30 UTC)
    );
    assert_eq!(mid.booking_id.get(), Some(&1057));
    assert_eq!(mid.deliveries.iter().collect::<Vec<_>>(), ["d2", "d3"]);

    let new = ledger.get(NEW).unwrap();
    assert_eq!(new.current_status(), Some(BookingStatus::Accepted));
    assert_eq!(new.rescheduled_from.get().unwrap().as_str(), MID);
    assert_eq!(new.rescheduled_to.get(), None);
}

#[test]
fn a_reschedule_of_an_unknown_booking_still_records_both() {
    let ledger = ledger_of(&[("d1", &fixtures::case("R06"))]);
    let old = ledger.get(OLD).unwrap();
    assert_eq!(old.current_status(), Some(BookingStatus::Rescheduled));
    assert_eq!(old.booking_id.get(), Some(&1051));
    assert_eq!(
        old.end.get().unwrap().get(),
        datetime!(2025-03-13 15:00 UTC)
    );
    assert_eq!(
        old.personal,
        Personal::default(),
        "nothing personal is known"
    );
    assert_eq!(status(&ledger, MID), Some(BookingStatus::Accepted));
}

#[test]
fn a_request_reschedule_cancel_ends_cancelled_with_its_flag() {
    let r06 = fixtures::case("R06");
    let r08 = fixtures::case("R08");
    let ledger = same_in_every_order(&[("d1", &r06), ("d2", &r08)]);
    let b = ledger.get(MID).unwrap();
    assert_eq!(b.current_status(), Some(BookingStatus::Cancelled));
    assert_eq!(b.request_reschedule.get(), Some(&true));
    let reason = Some("Host asked to pick another time");
    assert_eq!(text(&b.personal.cancellation_reason), reason);
    // The slot is still the one from R06: R08 agrees on it.
    assert_eq!(
        b.start.get().unwrap().get(),
        datetime!(2025-03-20 14:30 UTC)
    );
}

#[test]
fn a_cancel_for_an_unknown_uid_is_an_orphan_a_late_create_cannot_revive() {
    let r09 = fixtures::case("R09");
    let alone = ledger_of(&[("d1", &r09)]);
    let orphan = alone.get(MID).unwrap();
    assert_eq!(orphan.current_status(), Some(BookingStatus::Cancelled));
    assert_eq!(orphan.booking_id.get(), None);

    // A late BOOKING_CREATED, even one redelivered with a newer createdAt.
    let created = edit(
        &fixtures::case("R06"),
        json!({"triggerEvent": "BOOKING_CREATED", "createdAt": "2025-03-12T16:02:05.911Z",
            "rescheduleUid": null}),
    );
    let ledger = same_in_every_order(&[("d1", &r09), ("d2", &created)]);
    let b = ledger.get(MID).unwrap();
    assert_eq!(b.current_status(), Some(BookingStatus::Cancelled));
    assert_eq!(
        b.booking_id.get(),
        Some(&1057),
        "the create fills in what R09 lacks"
    );
    let reason = Some("Schedule conflict, will rebook later");
    assert_eq!(text(&b.personal.cancellation_reason), reason);
}

#[test]
fn a_no_show_update_sets_the_attendee_flag() {
    let r01 = fixtures::case("R01");
    let r18 = fixtures::case("R18");
    let ledger = same_in_every_order(&[("d1", &r01), ("d2", &r18)]);
    let b = ledger.get("8sXq2LmTz4VbN1cR6yWkPd").unwrap();
    assert_eq!(b.personal.no_shows["ivan@example.com"].get(), Some(&true));
    assert_eq!(b.current_status(), Some(BookingStatus::Accepted));

    let alone = ledger_of(&[("d2", &r18)]);
    let b = alone.get("8sXq2LmTz4VbN1cR6yWkPd").unwrap();
    assert_eq!(
        b.current_status(),
        None,
        "a no-show update states no status"
    );
    assert_eq!(b.booking_id.get(), Some(&1042));
}

#[test]
fn a_duplicate_delivery_changes_nothing() {
    let r17 = fixtures::case("R17");
    let e = event(&r17);
    let mut ledger = Ledger::new();
    assert_eq!(ledger.apply(&e, "d1").len(), 1);
    let once = ledger.clone();
    assert!(ledger.apply(&e, "d1").is_empty(), "same delivery twice");
    assert_eq!(ledger, once);

    // The same body stored twice (two webhooks, one URL) is two deliveries
    // of one booking: one record that names both.
    assert_eq!(ledger.apply(&e, "d2").len(), 1);
    assert_eq!(ledger.len(), 1);
    let b = ledger.get("Td5nX3kLq8WzP1vS6mRcYh").unwrap();
    assert_eq!(b.deliveries.len(), 2);
    assert_eq!(text(&b.personal.attendee_email), Some("dana@example.com"));
}

#[test]
fn a_requested_reschedule_is_pending_on_its_own_uid() {
    let r20 = fixtures::case("R20");
    let ledger = ledger_of(&[("d1", &r20)]);
    assert_eq!(ledger.len(), 1, "no other booking is touched");
    assert_eq!(
        status(&ledger, "Fp2cW9rTk5NxB7mQy3LhZs"),
        Some(BookingStatus::Pending)
    );

    // If the request names the booking it would replace, the new booking
    // links back, but the old one is not touched until a reschedule lands.
    let linked = edit(&r20, json!({"rescheduleUid": OLD}));
    let ledger = ledger_of(&[("d1", &linked)]);
    assert_eq!(ledger.len(), 1);
    let b = ledger.get("Fp2cW9rTk5NxB7mQy3LhZs").unwrap();
    assert_eq!(b.rescheduled_from.get().unwrap().as_str(), OLD);
    assert!(ledger.get(OLD).is_none());

    let confirmed = edit(
        &r20,
        json!({"triggerEvent": "BOOKING_CREATED", "createdAt": "2025-05-08T09:00:00.000Z",
            "status": "ACCEPTED"}),
    );
    let ledger = same_in_every_order(&[("d1", &r20), ("d2", &confirmed)]);
    assert_eq!(
        status(&ledger, "Fp2cW9rTk5NxB7mQy3LhZs"),
        Some(BookingStatus::Accepted)
    );

    let rejected = edit(
        &r20,
        json!({"triggerEvent": "BOOKING_REJECTED", "createdAt": "2025-05-08T09:00:00.000Z",
            "status": "REJECTED", "rejectionReason": "Fully booked"}),
    );
    let ledger = same_in_every_order(&[("d1", &r20), ("d3", &rejected)]);
    let b = ledger.get("Fp2cW9rTk5NxB7mQy3LhZs").unwrap();
    assert_eq!(b.current_status(), Some(BookingStatus::Rejected));
    assert_eq!(text(&b.personal.rejection_reason), Some("Fully booked"));
}

#[test]
fn cyrillic_names_round_trip_byte_identical_through_json() {
    let ledger = ledger_of(&[("d1", &fixtures::case("R01"))]);
    let b = ledger.get("8sXq2LmTz4VbN1cR6yWkPd").unwrap();
    assert_eq!(text(&b.personal.attendee_name), Some("Иван Образцов"));
    let title = "Консультация между Анна Пример и Иван Образцов";
    assert_eq!(text(&b.personal.title), Some(title));
    assert_eq!(text(&b.lang), Some("ru"));

    let stored = serde_json::to_string(b).unwrap();
    assert!(
        stored.contains("\"Иван Образцов\""),
        "raw UTF-8, not escapes"
    );
    let back: Booking = serde_json::from_str(&stored).unwrap();
    assert_eq!(&back, b);
    assert_eq!(serde_json::to_string(&back).unwrap(), stored);
}

#[test]
fn pings_and_unknown_triggers_change_nothing() {
    let other = br#"{"triggerEvent":"OOO_CREATED","payload":{"uid":"x","status":"ACCEPTED"}}"#;
    let ledger = ledger_of(&[
        ("d1", &fixtures::case("R05")),
        ("d2", &fixtures::sample("PING")),
        ("d3", other),
    ]);
    assert!(ledger.is_empty());
}

#[test]
fn meeting_events_set_meeting_times_but_never_override_booking_fields() {
    let created = fixtures::sample("BOOKING_CREATED");
    let ended = fixtures::sample("MEETING_ENDED");
    // A snapshot stamped later than the create still ranks below it.
    let started = edit_root(&ended, "MEETING_STARTED", "Другое название");
    let ledger = same_in_every_order(&[("d1", &created), ("d2", &ended), ("d3", &started)]);
    let b = ledger.get("8sXq2LmTz4VbN1cR6yWkPd").unwrap();
    assert_eq!(
        b.meeting_started.get().unwrap().get(),
        datetime!(2025-03-14 09:00 UTC)
    );
    assert_eq!(
        b.meeting_ended.get().unwrap().get(),
        datetime!(2025-03-14 09:30 UTC)
    );
    let title = "Консультация между Анна Пример и Иван Образцов";
    assert_eq!(text(&b.personal.title), Some(title));
    assert_eq!(b.current_status(), Some(BookingStatus::Accepted));
}

/// A flat MEETING_* body with another trigger, a later `createdAt` and
/// another title.
fn edit_root(body: &[u8], trigger: &str, title: &str) -> Vec<u8> {
    let mut root: Value = serde_json::from_slice(body).unwrap();
    root["triggerEvent"] = json!(trigger);
    root["createdAt"] = json!("2026-01-01T00:00:00.000Z");
    root["title"] = json!(title);
    serde_json::to_vec(&root).unwrap()
}

#[test]
fn paid_stays_paid_and_the_price_is_kept() {
    let created = fixtures::sample("BOOKING_CREATED");
    let paid = edit(
        &created,
        json!({"triggerEvent": "BOOKING_PAID", "createdAt": "2025-03-10T07:20:00.000Z",
            "price": 1000, "currency": "eur"}),
    );
    let ended = fixtures::sample("MEETING_ENDED");
    let ledger = same_in_every_order(&[("d1", &created), ("d2", &paid), ("d3", &ended)]);
    let b = ledger.get("8sXq2LmTz4VbN1cR6yWkPd").unwrap();
    assert!(
        b.paid,
        "MEETING_ENDED's paid:false does not undo BOOKING_PAID"
    );
    let price = b.price.get().unwrap();
    assert_eq!(
        (price.amount, price.currency.as_deref()),
        (1000, Some("EUR"))
    );
}

#[test]
fn a_purged_record_stays_purged_when_deliveries_are_replayed() {
    let r01 = fixtures::case("R01");
    let mut ledger = ledger_of(&[("d1", &r01)]);
    let uid = BookingUid::parse("8sXq2LmTz4VbN1cR6yWkPd").unwrap();
    ledger.bookings.get_mut(&uid).unwrap().purge_personal();
    ledger.apply(&event(&r01), "d1");
    ledger.apply(&event(&r01), "d9");
    let b = ledger.get(uid.as_str()).unwrap();
    assert!(b.personal.purged);
    assert_eq!(b.personal.attendee_name.get(), None);
    assert_eq!(text(&b.lang), Some("ru"), "non-personal fields stay");
}

#[test]
fn touched_uids_name_the_new_and_the_old_booking() {
    let uids = touched_uids(&event(&fixtures::case("R06")));
    let names: Vec<_> = uids.iter().map(BookingUid::as_str).collect();
    assert_eq!(names, [MID, OLD]);
    assert!(touched_uids(&event(&fixtures::case("R05"))).is_empty());
    assert_eq!(touched_uids(&event(&fixtures::case("R20"))).len(), 1);
}

#[test]
fn debug_output_of_a_record_names_nobody() {
    let ledger = ledger_of(&[
        ("d1", &fixtures::case("R01")),
        ("d2", &fixtures::case("R18")),
    ]);
    let shown = format!("{:?}", ledger.get("8sXq2LmTz4VbN1cR6yWkPd").unwrap());
    for personal in ["Иван", "Консультация", "ivan@example.com", "Yekaterinburg"] {
        assert!(!shown.contains(personal), "{personal} leaked: {shown}");
    }
    assert!(
        shown.contains("konsultatsiya"),
        "non-personal fields stay visible"
    );
}
