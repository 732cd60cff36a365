//! `bookme bookings list | show`: the bookings ledger.
//!
//! These print attendee names and emails. That is fine in the operator's
//! own terminal; none of it goes to the log.

use std::collections::BTreeMap;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use time::OffsetDateTime;

use super::table::{self, Table, cell, utc};
use crate::calcom::booking::{BookingStatus, Price};
use crate::ledger::{Booking, Reg, UtcTime};
use crate::store::{BookingFilter, Store};

#[derive(Debug, Subcommand)]
pub enum BookingsCommand {
    /// List bookings: all of them latest start first, or upcoming ones
    /// soonest first.
    List(ListArgs),
    /// Show one booking and the deliveries that shaped it.
    Show {
        /// The booking's Cal.com uid.
        uid: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only bookings that start now or later, soonest first.
    #[arg(long)]
    upcoming: bool,
    /// Only bookings in this state.
    #[arg(long, value_enum)]
    status: Option<StatusArg>,
    /// At most this many bookings.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..))]
    limit: i64,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

/// A booking's state, as `--status` takes it.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Pending,
    Accepted,
    Cancelled,
    Rejected,
    Rescheduled,
}

impl From<StatusArg> for BookingStatus {
    fn from(arg: StatusArg) -> Self {
        match arg {
            StatusArg::Pending => BookingStatus::Pending,
            StatusArg::Accepted => BookingStatus::Accepted,
            StatusArg::Cancelled => BookingStatus::Cancelled,
            StatusArg::Rejected => BookingStatus::Rejected,
            StatusArg::Rescheduled => BookingStatus::Rescheduled,
        }
    }
}

pub async fn run(command: BookingsCommand, store: &Store) -> anyhow::Result<()> {
    match command {
        BookingsCommand::List(args) => list(args, store).await,
        BookingsCommand::Show { uid, json } => show(&uid, json, store).await,
    }
}

/// One row of `bookings list`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    uid: String,
    status: Option<BookingStatus>,
    start: Option<String>,
    end: Option<String>,
    event_type: Option<String>,
    attendee_name: Option<String>,
    lang: Option<String>,
}

impl From<&Booking> for Summary {
    fn from(b: &Booking) -> Self {
        Self {
            uid: b.uid.to_string(),
            status: b.current_status(),
            start: time_of(&b.start),
            end: time_of(&b.end),
            event_type: b.event_type.get().cloned(),
            attendee_name: b.personal.attendee_name.get().cloned(),
            lang: b.lang.get().cloned(),
        }
    }
}

async fn list(args: ListArgs, store: &Store) -> anyhow::Result<()> {
    let filter = BookingFilter {
        status: args
            .status
            .map(|s| BookingStatus::from(s).as_str().to_owned()),
        starts_after: args.upcoming.then(OffsetDateTime::now_utc),
        limit: args.limit,
    };
    let bookings = if args.upcoming {
        store.bookings(&filter).await?
    } else {
        store.bookings_latest_first(&filter).await?
    };
    let rows: Vec<Summary> = bookings.iter().map(Summary::from).collect();
    if args.json {
        return table::print_json(&rows);
    }
    let mut t = Table::new(&[
        "uid",
        "status",
        "start",
        "end",
        "event type",
        "attendee",
        "lang",
    ]);
    for r in rows {
        t.row(vec![
            r.uid,
            cell(r.status.map(BookingStatus::as_str)),
            cell(r.start),
            cell(r.end),
            cell(r.event_type),
            cell(r.attendee_name),
            cell(r.lang),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

/// The whole of one booking, for `bookings show`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    #[serde(flatten)]
    summary: Summary,
    booking_id: Option<i64>,
    organizer_time_zone: Option<String>,
    event_type_id: Option<i64>,
    title: Option<String>,
    attendee_email: Option<String>,
    attendee_time_zone: Option<String>,
    location: Option<String>,
    video_url: Option<String>,
    price: Option<Price>,
    cancellation_reason: Option<String>,
    rejection_reason: Option<String>,
    request_reschedule: Option<bool>,
    paid: bool,
    /// No-show flags by attendee email.
    no_shows: BTreeMap<String, bool>,
    meeting_started: Option<String>,
    meeting_ended: Option<String>,
    rescheduled_to: Option<String>,
    rescheduled_from: Option<String>,
    personal_data_purged: bool,
    deliveries: Vec<Shaping>,
}

/// A delivery that shaped a booking. A delivery id the store no longer
/// holds is still listed, with the rest empty.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shaping {
    id: String,
    received_at: Option<String>,
    trigger: Option<String>,
    status: Option<&'static str>,
}

impl Detail {
    fn new(b: &Booking, deliveries: Vec<Shaping>) -> Self {
        let p = &b.personal;
        let text = |r: &Reg<String>| r.get().cloned();
        Self {
            summary: Summary::from(b),
            booking_id: b.booking_id.get().copied(),
            organizer_time_zone: text(&b.organizer_time_zone),
            event_type_id: b.event_type_id.get().copied(),
            title: text(&p.title),
            attendee_email: text(&p.attendee_email),
            attendee_time_zone: text(&p.attendee_time_zone),
            location: text(&p.location),
            video_url: text(&b.video_url),
            price: b.price.get().cloned(),
            cancellation_reason: text(&p.cancellation_reason),
            rejection_reason: text(&p.rejection_reason),
            request_reschedule: b.request_reschedule.get().copied(),
            paid: b.paid,
            no_shows: no_shows(b),
            meeting_started: time_of(&b.meeting_started),
            meeting_ended: time_of(&b.meeting_ended),
            rescheduled_to: b.rescheduled_to.get().map(ToString::to_string),
            rescheduled_from: b.rescheduled_from.get().map(ToString::to_string),
            personal_data_purged: p.purged,
            deliveries,
        }
    }
}

async fn show(uid: &str, json: bool, store: &Store) -> anyhow::Result<()> {
    let Some(booking) = store.booking(uid.trim()).await? else {
        bail!("no booking with uid {uid}");
    };
    let mut deliveries = Vec::with_capacity(booking.deliveries.len());
    for id in &booking.deliveries {
        deliveries.push(shaping(id, store).await?);
    }
    // Ids are UUIDv7, so this is arrival order; sort by time to be sure.
    deliveries.sort_by(|a, b| (&a.received_at, &a.id).cmp(&(&b.received_at, &b.id)));
    let detail = Detail::new(&booking, deliveries);
    if json {
        return table::print_json(&detail);
    }
    print_detail(detail);
    Ok(())
}

async fn shaping(id: &str, store: &Store) -> anyhow::Result<Shaping> {
    let stored = store.get(id).await?;
    Ok(Shaping {
        id: id.to_owned(),
        received_at: stored.as_ref().map(|d| utc(d.received_at)),
        trigger: stored.as_ref().and_then(|d| d.trigger.clone()),
        status: stored.as_ref().map(|d| d.status.as_str()),
    })
}

fn print_detail(d: Detail) {
    let s = d.summary;
    let flag = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let no_shows = d
        .no_shows
        .iter()
        .map(|(email, no_show)| format!("{email}={}", flag(*no_show)))
        .collect::<Vec<_>>()
        .join(", ");
    table::print_fields(&[
        ("uid", s.uid),
        ("status", cell(s.status.map(BookingStatus::as_str))),
        ("booking id", cell(d.booking_id)),
        ("start", cell(s.start)),
        ("end", cell(s.end)),
        ("organizer time zone", cell(d.organizer_time_zone)),
        ("event type", cell(s.event_type)),
        ("title", cell(d.title)),
        ("attendee name", cell(s.attendee_name)),
        ("attendee email", cell(d.attendee_email)),
        ("attendee time zone", cell(d.attendee_time_zone)),
        ("lang", cell(s.lang)),
        ("location", cell(d.location)),
        ("video url", cell(d.video_url)),
        ("price", cell(d.price.map(price_text))),
        ("cancellation reason", cell(d.cancellation_reason)),
        ("rejection reason", cell(d.rejection_reason)),
        ("request reschedule", cell(d.request_reschedule.map(flag))),
        ("paid", flag(d.paid)),
        (
            "no-shows",
            if no_shows.is_empty() {
                "-".into()
            } else {
                no_shows
            },
        ),
        ("meeting started", cell(d.meeting_started)),
        ("meeting ended", cell(d.meeting_ended)),
        ("rescheduled to", cell(d.rescheduled_to)),
        ("rescheduled from", cell(d.rescheduled_from)),
        ("personal data purged", flag(d.personal_data_purged)),
    ]);
    println!("\ndeliveries that shaped it:");
    let mut t = Table::new(&["id", "received", "trigger", "status"]);
    for s in d.deliveries {
        t.row(vec![
            s.id,
            cell(s.received_at),
            cell(s.trigger),
            cell(s.status),
        ]);
    }
    print!("{}", t.render());
}

fn time_of(reg: &Reg<UtcTime>) -> Option<String> {
    reg.get().map(|t| utc(t.get()))
}

fn no_shows(b: &Booking) -> BTreeMap<String, bool> {
    b.personal
        .no_shows
        .iter()
        .filter_map(|(email, flag)| flag.get().map(|f| (email.clone(), *f)))
        .collect()
}

fn price_text(p: Price) -> String {
    match p.currency {
        Some(currency) => format!("{} {currency}", p.amount),
        None => p.amount.to_string(),
    }
}
