//! Message texts for each trigger in both languages, plurals and escaping.

use super::*;
use crate::calcom::fixtures::sample;

/// A sample delivery, optionally edited as JSON first.
fn event(trigger: &str, edit: impl FnOnce(&mut Value)) -> (Event, BookingEvent) {
    let mut json: Value = serde_json::from_slice(&sample(trigger)).unwrap();
    edit(&mut json);
    let event = Event::parse(&serde_json::to_vec(&json).unwrap()).unwrap();
    let booking = BookingEvent::from_event(&event);
    (event, booking)
}

fn text(trigger: &str, locale: Option<Locale>, edit: impl FnOnce(&mut Value)) -> String {
    let (event, booking) = event(trigger, edit);
    let to = Audience::for_event(&booking, locale, None);
    Message::for_event(&event, &booking, &to).text()
}

/// BOOKING_REQUESTED is the created sample, pending confirmation.
fn as_requested(json: &mut Value) {
    json["triggerEvent"] = "BOOKING_REQUESTED".into();
    json["payload"]["status"] = "PENDING".into();
}

#[test]
fn created_is_written_in_the_organizers_language_and_zone() {
    let got = text("BOOKING_CREATED", None, |_| {});
    assert!(got.starts_with("Новая запись: Консультация между Анна Пример и Иван Образцов\n"));
    assert!(
        got.contains("\nКто: Иван Образцов <ivan@example.com>\n"),
        "{got}"
    );
    assert!(
        got.contains("\nКогда: пт, 14 мар., 12:00–12:30 (Europe/Moscow)\n"),
        "{got}"
    );
    assert!(got.contains("\nДлительность: 30 минут\n"), "{got}");
    assert!(
        got.contains("\nКомментарий: Хочу обсудить перенос сайта."),
        "{got}"
    );
}

#[test]
fn created_in_english_when_the_owner_says_so() {
    let got = text("BOOKING_CREATED", Some(Locale::En), |_| {});
    assert!(got.starts_with("New booking: "), "{got}");
    assert!(
        got.contains("\nWho: Иван Образцов <ivan@example.com>\n"),
        "{got}"
    );
    assert!(
        got.contains("\nWhen: Fri 14 Mar, 12:00–12:30 (Europe/Moscow)\n"),
        "{got}"
    );
    assert!(got.contains("\nDuration: 30 minutes\n"), "{got}");
    assert!(got.contains("\nNotes: Хочу обсудить"), "{got}");
}

#[test]
fn rescheduled_shows_the_old_and_the_new_time() {
    let en = text("BOOKING_RESCHEDULED", None, |_| {});
    assert!(en.starts_with("Booking rescheduled: "), "{en}");
    assert!(
        en.contains("\nWas: Thu 13 Mar, 15:30–16:00 (Europe/Berlin)\n"),
        "{en}"
    );
    assert!(
        en.contains("\nNow: Thu 20 Mar, 15:30–16:00 (Europe/Berlin)\n"),
        "{en}"
    );
    assert!(
        en.contains("\nVideo: https://cal.example.com/video/"),
        "{en}"
    );
    let ru = text("BOOKING_RESCHEDULED", Some(Locale::Ru), |_| {});
    assert!(ru.starts_with("Запись перенесена: "), "{ru}");
    assert!(
        ru.contains("\nБыло: чт, 13 мар., 15:30–16:00 (Europe/Berlin)\n"),
        "{ru}"
    );
    assert!(
        ru.contains("\nСтало: чт, 20 мар., 15:30–16:00 (Europe/Berlin)\n"),
        "{ru}"
    );
}

#[test]
fn cancelled_gives_the_reason() {
    let en = text("BOOKING_CANCELLED", None, |_| {});
    assert!(en.starts_with("Booking cancelled: "), "{en}");
    assert!(en.contains("\nWho: Bob Sample <bob@example.com>\n"), "{en}");
    assert!(
        en.contains("\nWhen: Thu 20 Mar, 15:30–16:00 (Europe/Berlin)\n"),
        "{en}"
    );
    assert!(
        en.contains("\nReason: Schedule conflict, will rebook later"),
        "{en}"
    );
    let ru = text("BOOKING_CANCELLED", Some(Locale::Ru), |_| {});
    assert!(ru.starts_with("Запись отменена: "), "{ru}");
    assert!(
        ru.contains("\nПричина: Schedule conflict, will rebook later"),
        "{ru}"
    );
}

#[test]
fn requested_asks_the_owner_to_decide() {
    let ru = text("BOOKING_CREATED", None, as_requested);
    assert!(
        ru.starts_with("Запрос на запись: подтвердите или отклоните: "),
        "{ru}"
    );
    assert!(
        ru.contains("\nКогда: пт, 14 мар., 12:00–12:30 (Europe/Moscow)\n"),
        "{ru}"
    );
    let en = text("BOOKING_CREATED", Some(Locale::En), as_requested);
    assert!(
        en.starts_with("Booking request: please confirm or decline: "),
        "{en}"
    );
}

#[test]
fn the_owner_time_zone_overrides_the_organizers() {
    let (event, booking) = event("BOOKING_CREATED", |_| {});
    let to = Audience::for_event(&booking, Some(Locale::En), Some("Asia/Tokyo"));
    let got = Message::for_event(&event, &booking, &to).text();
    assert!(
        got.contains("When: Fri 14 Mar, 18:00–18:30 (Asia/Tokyo)"),
        "{got}"
    );
}

#[test]
fn a_booking_across_midnight_names_both_days() {
    let got = text("BOOKING_CREATED", Some(Locale::En), |j| {
        j["payload"]["startTime"] = "2025-03-14T20:30:00Z".into();
        j["payload"]["endTime"] = "2025-03-14T21:30:00Z".into();
    });
    assert!(
        got.contains("When: Fri 14 Mar, 23:30 – Sat 15 Mar, 00:30 (Europe/Moscow)"),
        "{got}"
    );
}

#[test]
fn russian_minutes_follow_cldr_plurals() {
    let to = Audience {
        locale: Locale::Ru,
        zone_name: "UTC".into(),
        zone: TimeZone::UTC,
    };
    let t = Texts::new(&to);
    let cases = [
        (1, "1 минута"),
        (2, "2 минуты"),
        (4, "4 минуты"),
        (5, "5 минут"),
        (11, "11 минут"),
        (21, "21 минута"),
        (22, "22 минуты"),
        (45, "45 минут"),
    ];
    for (n, want) in cases {
        assert_eq!(t.minutes(n), want);
    }
    let en = Audience {
        locale: Locale::En,
        ..to
    };
    assert_eq!(Texts::new(&en).minutes(1), "1 minute");
    assert_eq!(Texts::new(&en).minutes(90), "90 minutes");
}

#[test]
fn attendee_text_is_escaped_in_telegram_and_email_html() {
    let (event, booking) = event("BOOKING_CREATED", |j| {
        j["payload"]["attendees"][0]["name"] = "<b>Eve</b> & \"co\"".into();
        j["payload"]["description"] = "<script>alert(1)</script>".into();
    });
    let to = Audience::for_event(&booking, Some(Locale::En), None);
    let m = Message::for_event(&event, &booking, &to);
    let tg = m.telegram_html();
    assert!(
        tg.contains("&lt;b&gt;Eve&lt;/b&gt; &amp; &quot;co&quot;"),
        "{tg}"
    );
    assert!(tg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{tg}");
    assert!(!tg.contains("<script>") && !tg.contains("<b>Eve"), "{tg}");
    let html = m.email_html("en");
    assert!(
        !html.contains("<script>") && !html.contains("<b>Eve"),
        "{html}"
    );
    assert!(
        m.text().contains("<b>Eve</b> & \"co\""),
        "plain text stays as sent"
    );
}

#[test]
fn every_weekday_and_month_has_a_text_in_both_languages() {
    for locale in [Locale::En, Locale::Ru] {
        let t = Texts::for_locale(locale);
        let keys = (1..=7)
            .map(|d| format!("weekday-{d}"))
            .chain((1..=12).map(|m| format!("month-{m}")));
        for key in keys {
            assert_ne!(t.get(&key), key, "{key} missing in {locale:?}");
        }
    }
}

#[test]
fn the_test_message_is_translated() {
    assert_eq!(Message::test(Locale::En).headline, "bookme test message");
    assert_eq!(Message::test(Locale::Ru).headline, "Проверка bookme");
}

#[test]
fn a_long_note_is_shortened_to_fit_a_telegram_message() {
    let long = "Я".repeat(5000);
    let (event, booking) = event("BOOKING_CREATED", |j| {
        j["payload"]["description"] = long.clone().into();
    });
    let to = Audience::for_event(&booking, None, None);
    let m = Message::for_event(&event, &booking, &to);
    let note = &m
        .lines
        .iter()
        .find(|l| l.label == "Комментарий")
        .unwrap()
        .value;
    assert_eq!(note.chars().count(), MAX_VALUE_CHARS + 1);
    assert!(note.ends_with('…'));
    assert!(m.telegram_html().chars().count() < 4096);
}
