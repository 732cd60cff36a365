use time::macros::datetime;

use super::*;
use crate::calcom::fixtures;

fn parse(body: &[u8]) -> BookingEvent {
    BookingEvent::parse(body).expect("an event")
}

#[test]
fn every_sample_parses_with_its_trigger_and_uid() {
    let samples = fixtures::samples();
    assert_eq!(samples.len(), 5);
    for (name, body) in samples {
        let e = parse(&body);
        assert_eq!(format!("{}.json", e.trigger), name);
        let wants_uid = e.trigger != Trigger::Ping;
        assert_eq!(e.uid.is_some(), wants_uid, "{name}: {:?}", e.notes);
        assert!(e.created_at.is_some(), "{name}");
    }
}

#[test]
fn every_case_with_a_trigger_parses_and_the_rest_say_why() {
    let cases = fixtures::cases();
    assert_eq!(cases.len(), 17);
    for (name, raw) in cases {
        match BookingEvent::parse(&raw) {
            Ok(e) => assert!(e.uid.is_some() || e.trigger == Trigger::Ping, "{name}"),
            Err(why) => {
                // Only the bodies without an event are refused, and they are
                // refused with a reason the worker stores for quarantine.
                let id = &name[..3];
                assert!(["R11", "R12", "R14"].contains(&id), "{name}: {why}");
            }
        }
    }
}

#[test]
fn the_sample_booking_has_every_ledger_field_and_no_notes() {
    let e = parse(&fixtures::sample("BOOKING_CREATED"));
    assert!(e.notes.is_empty(), "{:?}", e.notes);
    assert_eq!(e.uid.unwrap().as_str(), "8sXq2LmTz4VbN1cR6yWkPd");
    assert_eq!(e.booking_id, Some(1042));
    assert_eq!(e.status, Some(BookingStatus::Accepted));
    assert_eq!(e.start_time, Some(datetime!(2025-03-14 09:00 UTC)));
    assert_eq!(e.event_type.as_deref(), Some("konsultatsiya"));
    assert_eq!(e.event_type_id, Some(7));
    assert_eq!(e.organizer.time_zone.as_deref(), Some("Europe/Moscow"));
    assert_eq!(e.organizer.locale.as_deref(), Some("ru"));
    assert_eq!(e.organizer.utc_offset_minutes, Some(180));
    assert_eq!(e.attendee.time_zone.as_deref(), Some("Asia/Yekaterinburg"));
    assert_eq!(e.lang.as_deref(), Some("ru"));
    assert_eq!(e.location.as_deref(), Some("integrations:daily"));
    let video = "https://cal.example.com/video/8sXq2LmTz4VbN1cR6yWkPd";
    assert_eq!(e.video_url.as_deref(), Some(video));
    let usd = Some("USD".to_owned());
    assert_eq!(
        e.price,
        Some(Price {
            amount: 0,
            currency: usd
        })
    );
}

#[test]
fn cyrillic_names_are_read_byte_identical() {
    let e = parse(&fixtures::case("R01"));
    assert_eq!(e.organizer.name.as_deref(), Some("Анна Пример"));
    assert_eq!(e.attendee.name.as_deref(), Some("Иван Образцов"));
    let title = "Консультация между Анна Пример и Иван Образцов";
    assert_eq!(e.title.as_deref(), Some(title));
}

#[test]
fn split_names_and_wrapped_values_read_as_text() {
    // No attendees list, so the name comes from the booking form, where it
    // is `{firstName, lastName}` inside `{label, value}`.
    let body = r#"{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u","bookingId":1,
        "status":"ACCEPTED","startTime":"2025-01-01T10:00:00Z","endTime":"2025-01-01T10:30:00Z",
        "responses":{"name":{"label":"n","value":{"firstName":"Иван","lastName":"Образцов"}},
        "email":{"label":"e","value":"ivan@example.com"},
        "location":{"label":"l","value":{"value":"Somewhere 1","optionValue":""}}}}}"#;
    let e = parse(body.as_bytes());
    assert_eq!(e.attendee.name.as_deref(), Some("Иван Образцов"));
    assert_eq!(e.attendee.email.as_deref(), Some("ivan@example.com"));
    assert_eq!(e.location.as_deref(), Some("Somewhere 1"));
    assert!(e.notes.is_empty(), "{:?}", e.notes);
}

#[test]
fn flat_meeting_bodies_read_user_plain_responses_and_locale() {
    let e = parse(&fixtures::case("R10"));
    assert_eq!(e.trigger, Trigger::MeetingEnded);
    assert_eq!(
        e.booking_id,
        Some(1042),
        "flat bodies name the booking id `id`"
    );
    assert_eq!(e.organizer.name.as_deref(), Some("Анна Пример"));
    assert_eq!(e.organizer.time_zone.as_deref(), Some("Europe/Moscow"));
    assert_eq!(e.attendee.locale.as_deref(), Some("ru"));
    assert_eq!(e.end_time, Some(datetime!(2025-03-14 09:30 UTC)));
    assert_eq!(e.paid, Some(false));
    assert!(e.notes.is_empty(), "{:?}", e.notes);

    let body = br#"{"triggerEvent":"MEETING_STARTED","uid":"m",
        "responses":{"name":"Bob Sample","email":"bob@example.com","guests":[]}}"#;
    let e = parse(body);
    assert_eq!(e.attendee.name.as_deref(), Some("Bob Sample"));
    assert_eq!(e.attendee.email.as_deref(), Some("bob@example.com"));
}

#[test]
fn no_show_updates_read_booking_uid_and_flags() {
    let e = parse(&fixtures::case("R18"));
    assert_eq!(e.uid.unwrap().as_str(), "8sXq2LmTz4VbN1cR6yWkPd");
    assert_eq!(e.booking_id, Some(1042));
    let flag = NoShow {
        email: "ivan@example.com".into(),
        no_show: true,
    };
    assert_eq!(e.no_shows, vec![flag]);
    assert!(e.notes.is_empty(), "{:?}", e.notes);
}

#[test]
fn a_reschedule_names_the_new_booking_and_the_old_one() {
    let e = parse(&fixtures::case("R06"));
    assert_eq!(e.uid.unwrap().as_str(), "Qm3TtY7aPw2ZcK9rLx5VnB");
    assert_eq!(e.booking_id, Some(1057));
    let old = e.reschedule_uid.unwrap();
    assert_eq!(old.as_str(), "Hn8vR2xWq4JbT6mZy1KcFs");
    assert_eq!(e.reschedule_id, Some(1051));
    assert_eq!(
        e.reschedule_start_time,
        Some(datetime!(2025-03-13 14:30 UTC))
    );
    assert_eq!(e.reschedule_end_time, Some(datetime!(2025-03-13 15:00 UTC)));
}

#[test]
fn a_request_reschedule_cancel_keeps_its_flag_and_reason() {
    let e = parse(&fixtures::case("R08"));
    assert_eq!(e.status, Some(BookingStatus::Cancelled));
    assert_eq!(e.request_reschedule, Some(true));
    let reason = Some("Host asked to pick another time");
    assert_eq!(e.cancellation_reason.as_deref(), reason);
    assert_eq!(
        e.start_time,
        Some(datetime!(2025-03-20 14:30 UTC)),
        "+00:00 offsets"
    );
}

#[test]
fn missing_booking_id_and_metadata_are_notes_not_failures() {
    let e = parse(&fixtures::case("R09"));
    assert_eq!(e.uid.unwrap().as_str(), "Qm3TtY7aPw2ZcK9rLx5VnB");
    assert_eq!(e.booking_id, None);
    assert_eq!(e.lang, None);
    assert_eq!(e.video_url, None);
    assert_eq!(e.notes, vec!["bookingId: missing".to_owned()]);
}

#[test]
fn an_older_sender_without_utc_offsets_loses_nothing_else() {
    let e = parse(&fixtures::case("R19"));
    assert_eq!(e.organizer.utc_offset_minutes, None);
    assert_eq!(e.attendee.utc_offset_minutes, None);
    assert_eq!(e.organizer.name.as_deref(), Some("Анна Пример"));
    assert!(e.notes.is_empty(), "{:?}", e.notes);
}

#[test]
fn unexpected_types_become_notes_and_the_rest_is_read() {
    let body = br#"{"triggerEvent":"BOOKING_PAID","createdAt":"2025-01-01T00:00:00Z",
        "payload":{"uid":"u","bookingId":"77","status":"SOMETHING_NEW",
        "startTime":"2025-01-01T10:00:00.123+00:00","endTime":12,
        "organizer":{"name":{"nick":"x"},"email":"o@example.com","timeFormat":12,
        "utcOffset":"-300"},
        "attendees":"nobody","price":12.5,"currency":"usd","requestReschedule":"yes",
        "metadata":"none","extraField":{"deep":[1,2,3]}}}"#;
    let e = parse(body);
    assert_eq!(e.trigger, Trigger::BookingPaid);
    assert_eq!(e.paid, Some(true));
    assert_eq!(e.booking_id, Some(77), "numeric strings are numbers");
    assert_eq!(e.start_time, Some(datetime!(2025-01-01 10:00:00.123 UTC)));
    assert_eq!(e.organizer.email.as_deref(), Some("o@example.com"));
    assert_eq!(e.organizer.time_format.as_deref(), Some("12"));
    assert_eq!(e.organizer.utc_offset_minutes, Some(-300));
    assert_eq!(e.price, None);
    let noted = |field: &str| e.notes.iter().any(|n| n.starts_with(field));
    for field in [
        "status",
        "endTime",
        "organizer.name",
        "price",
        "requestReschedule",
        "attendees: expected an object or a list, got text",
        "metadata: expected an object or a list, got text",
    ] {
        assert!(noted(field), "{field} should be noted: {:?}", e.notes);
    }
    let once = |n: &&String| n.starts_with("attendees");
    assert_eq!(e.notes.iter().filter(once).count(), 1, "{:?}", e.notes);
}

#[test]
fn debug_output_names_nobody() {
    let e = parse(&fixtures::case("R01"));
    let shown = format!("{e:?}");
    for personal in ["Иван", "Анна", "ivan@example.com", "anna@example.com"] {
        assert!(!shown.contains(personal), "{personal} leaked: {shown}");
    }
    assert!(
        shown.contains("Asia/Yekaterinburg"),
        "non-personal fields stay visible"
    );
}
