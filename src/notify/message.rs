//! The owner's message: what happened, who, when (in the owner's time
//! zone), notes, the video link, and a reschedule's old and new times.
//!
//! Texts come from `locales/{en,ru}/notify.ftl` (Fluent). A [`Message`]
//! keeps labels (ours) apart from values (often the attendee's), so each
//! output format escapes exactly the values: Telegram HTML and email HTML
//! never let a name or a note become markup.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use jiff::tz::TimeZone;
use serde_json::Value;
use time::OffsetDateTime;

use super::Locale;
use crate::calcom::{BookingEvent, Event, Trigger};

/// A rendered message: a headline, then labelled lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What happened, e.g. "New booking".
    pub headline: String,
    /// The booking's title as Cal.com sent it (user content).
    pub title: Option<String>,
    pub lines: Vec<Line>,
}

/// One `label: value` line. The value may come from the attendee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub label: String,
    pub value: String,
}

/// Who the message is for: the language and the time zone to write in.
#[derive(Debug, Clone)]
pub struct Audience {
    pub locale: Locale,
    pub zone_name: String,
    pub zone: TimeZone,
}

impl Audience {
    /// The owner's overrides first, then the organizer's Cal.com settings,
    /// then English and UTC.
    pub fn for_event(event: &BookingEvent, locale: Option<Locale>, zone: Option<&str>) -> Self {
        let locale = locale
            .or_else(|| event.organizer.locale.as_deref().and_then(Locale::parse))
            .unwrap_or(Locale::En);
        let named = zone
            .or(event.organizer.time_zone.as_deref())
            .and_then(|name| TimeZone::get(name).ok().map(|tz| (name.to_owned(), tz)));
        let (zone_name, zone) = named.unwrap_or_else(|| ("UTC".into(), TimeZone::UTC));
        Self {
            locale,
            zone_name,
            zone,
        }
    }
}

impl Message {
    /// The message for one booking event.
    pub fn for_event(event: &Event, booking: &BookingEvent, to: &Audience) -> Self {
        let t = Texts::new(to);
        let mut m = Message {
            headline: t.get(headline_key(&booking.trigger)),
            title: booking.title.clone(),
            lines: Vec::new(),
        };
        m.push(t.get("notify-who"), who(booking));
        if booking.trigger == Trigger::BookingRescheduled {
            let old = t.span(booking.reschedule_start_time, booking.reschedule_end_time);
            m.push(t.get("notify-was"), old);
            m.push(
                t.get("notify-now"),
                t.span(booking.start_time, booking.end_time),
            );
        } else {
            m.push(
                t.get("notify-when"),
                t.span(booking.start_time, booking.end_time),
            );
        }
        m.push(t.get("notify-duration"), t.duration(booking));
        m.push(t.get("notify-notes"), notes(event));
        m.push(t.get("notify-video"), booking.video_url.clone());
        if booking.video_url.is_none() {
            m.push(t.get("notify-where"), place(booking));
        }
        let reason = match booking.trigger {
            Trigger::BookingCancelled => booking.cancellation_reason.clone(),
            Trigger::BookingRejected => booking.rejection_reason.clone(),
            _ => None,
        };
        m.push(t.get("notify-reason"), reason);
        if booking.request_reschedule == Some(true) {
            m.push(String::new(), Some(t.get("notify-request-reschedule")));
        }
        m.push(
            t.get("notify-booking"),
            booking.uid.as_ref().map(|u| u.to_string()),
        );
        m
    }

    /// The message `bookme notify test` sends.
    pub fn test(locale: Locale) -> Self {
        let t = Texts::for_locale(locale);
        Message {
            headline: t.get("notify-test"),
            title: None,
            lines: vec![Line {
                label: String::new(),
                value: t.get("notify-test-body"),
            }],
        }
    }

    fn push(&mut self, label: String, value: Option<String>) {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            let value = shorten(value.trim());
            self.lines.push(Line { label, value });
        }
    }

    /// A one-line summary: the email subject.
    pub fn subject(&self) -> String {
        match &self.title {
            Some(title) => format!("{}: {}", self.headline, one_line(title)),
            None => self.headline.clone(),
        }
    }

    /// Plain text, for the email's text part and for tests.
    pub fn text(&self) -> String {
        let mut out = self.subject();
        out.push('\n');
        for line in &self.lines {
            out.push('\n');
            if !line.label.is_empty() {
                out.push_str(&line.label);
                out.push_str(": ");
            }
            out.push_str(&line.value);
        }
        out
    }

    /// Telegram's HTML parse mode: bold labels, every value escaped.
    pub fn telegram_html(&self) -> String {
        let mut out = format!("<b>{}</b>", escape_html(&self.headline));
        if let Some(title) = &self.title {
            out.push_str(&format!(": {}", escape_html(title)));
        }
        out.push('\n');
        for line in &self.lines {
            out.push('\n');
            if !line.label.is_empty() {
                out.push_str(&format!("<b>{}:</b> ", escape_html(&line.label)));
            }
            out.push_str(&escape_html(&line.value));
        }
        out
    }

    /// A small HTML document for the email's HTML part.
    pub fn email_html(&self, lang: &str) -> String {
        let mut rows = String::new();
        for line in &self.lines {
            let value = escape_html(&line.value).replace('\n', "<br>");
            rows.push_str(&format!(
                "<tr><th align=\"left\" valign=\"top\">{}</th><td>{value}</td></tr>\n",
                escape_html(&line.label)
            ));
        }
        format!(
            "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <title>{subject}</title></head>\n<body>\n<h1>{subject}</h1>\n\
             <table>\n{rows}</table>\n</body></html>\n",
            subject = escape_html(&self.subject()),
        )
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn headline_key(trigger: &Trigger) -> &'static str {
    match trigger {
        Trigger::BookingRescheduled => "notify-rescheduled",
        Trigger::BookingCancelled => "notify-cancelled",
        Trigger::BookingRequested => "notify-requested",
        Trigger::BookingRejected => "notify-rejected",
        Trigger::BookingPaid => "notify-paid",
        _ => "notify-created",
    }
}

/// The most characters one value keeps. Telegram refuses messages over
/// 4096 characters, and a note longer than this is not read in a chat.
const MAX_VALUE_CHARS: usize = 1000;

fn shorten(value: &str) -> String {
    match value.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn who(b: &BookingEvent) -> Option<String> {
    match (&b.attendee.name, &b.attendee.email) {
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
        (None, None) => None,
    }
}

/// The booker's notes: `description` falls back to `additionalNotes` in
/// Cal.com, and the booking form's `notes` answer holds the same text.
pub(crate) fn notes(event: &Event) -> Option<String> {
    let f = &event.fields;
    let text = |v: &Value| {
        v.as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    text(&f["description"])
        .or_else(|| text(&f["additionalNotes"]))
        .or_else(|| text(&f["responses"]["notes"]["value"]))
}

/// A place worth showing: an address or a link, not an app's internal id.
fn place(b: &BookingEvent) -> Option<String> {
    b.location
        .clone()
        .filter(|l| !l.starts_with("integrations:"))
}

/// Fluent lookups for one audience.
struct Texts<'a> {
    bundle: &'a FluentBundle<FluentResource>,
    zone: Option<&'a Audience>,
}

impl<'a> Texts<'a> {
    fn new(to: &'a Audience) -> Self {
        Self {
            bundle: bundle(to.locale),
            zone: Some(to),
        }
    }

    fn for_locale(locale: Locale) -> Self {
        Self {
            bundle: bundle(locale),
            zone: None,
        }
    }

    fn get(&self, key: &str) -> String {
        self.format(key, None)
    }

    fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let Some(pattern) = self.bundle.get_message(key).and_then(|m| m.value()) else {
            return key.to_owned(); // Caught by the tests that render every key.
        };
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors);
        text.into_owned()
    }

    /// "Fri 14 Mar, 12:00–12:30 (Europe/Moscow)".
    fn span(&self, start: Option<OffsetDateTime>, end: Option<OffsetDateTime>) -> Option<String> {
        let to = self.zone?;
        let start = zoned(start?, &to.zone)?;
        let end = end.and_then(|e| zoned(e, &to.zone));
        let first = format!("{}, {}", self.date(&start), start.strftime("%H:%M"));
        let range = match end {
            Some(end) if end.date() == start.date() => {
                format!("{first}–{}", end.strftime("%H:%M"))
            }
            Some(end) => format!("{first} – {}, {}", self.date(&end), end.strftime("%H:%M")),
            None => first,
        };
        Some(format!("{range} ({})", to.zone_name))
    }

    fn date(&self, at: &jiff::Zoned) -> String {
        let weekday = self.get(&format!("weekday-{}", at.weekday().to_monday_one_offset()));
        let month = self.get(&format!("month-{}", at.month()));
        let mut args = FluentArgs::new();
        args.set("weekday", weekday);
        args.set("day", at.day().to_string());
        args.set("month", month);
        self.format("notify-date", Some(&args))
    }

    fn duration(&self, b: &BookingEvent) -> Option<String> {
        let minutes = (b.end_time? - b.start_time?).whole_minutes();
        (minutes > 0).then(|| self.minutes(minutes))
    }

    fn minutes(&self, minutes: i64) -> String {
        let mut args = FluentArgs::new();
        args.set("minutes", FluentValue::from(minutes));
        self.format("notify-minutes", Some(&args))
    }
}

fn zoned(t: OffsetDateTime, zone: &TimeZone) -> Option<jiff::Zoned> {
    let ts = jiff::Timestamp::from_second(t.unix_timestamp()).ok()?;
    Some(ts.to_zoned(zone.clone()))
}

/// The Fluent bundles, parsed once. The files are compiled in, so a
/// broken file fails the tests, not a running server.
fn bundle(locale: Locale) -> &'static FluentBundle<FluentResource> {
    static EN: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
    static RU: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
    match locale {
        Locale::En => EN.get_or_init(|| load("en", include_str!("../../locales/en/notify.ftl"))),
        Locale::Ru => RU.get_or_init(|| load("ru", include_str!("../../locales/ru/notify.ftl"))),
    }
}

fn load(lang: &str, source: &'static str) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(source.to_owned())
        .unwrap_or_else(|(_, errors)| panic!("locales/{lang}/notify.ftl: {errors:?}"));
    let id: unic_langid::LanguageIdentifier = lang.parse().expect("a valid language tag");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Isolation marks would show up as stray characters in Telegram.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("locales/{lang}/notify.ftl: {errors:?}"));
    bundle
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
