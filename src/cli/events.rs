//! `bookme events list | show | replay`: the stored deliveries.
//!
//! A replay only puts deliveries back in the queue; a running worker (or
//! the next `bookme serve` or `bookme worker`) processes them. Because the
//! ledger's merge is idempotent, replaying a delivery never doubles it.

use anyhow::{Context, bail};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::table::{self, Table, cell, utc};
use crate::store::{DeliveryFilter, Notification, Replay, Status, Store, StoredDelivery};

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List stored deliveries, newest first.
    List(ListArgs),
    /// Show one delivery: its headers, processing state and body.
    Show {
        /// The delivery id, as `events list` prints it.
        id: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Queue deliveries to be processed again (bypassing the dedupe).
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only deliveries in this processing state.
    #[arg(long, value_enum)]
    status: Option<StatusArg>,
    /// Only deliveries with this trigger, e.g. BOOKING_CREATED.
    #[arg(long)]
    trigger: Option<String>,
    /// At most this many deliveries.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..))]
    limit: i64,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["id", "dead", "since"])))]
pub struct ReplayArgs {
    /// The id of one delivery to replay.
    id: Option<String>,
    /// Replay every dead delivery (failed on every attempt).
    #[arg(long)]
    dead: bool,
    /// Replay every delivery received at or after TIME: RFC 3339
    /// (2025-03-10T00:00:00Z) or a duration ago (90m, 24h, 7d).
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    since: Option<OffsetDateTime>,
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// A delivery's processing state, as `--status` takes it.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Pending,
    Processed,
    Quarantined,
    Dead,
}

impl From<StatusArg> for Status {
    fn from(arg: StatusArg) -> Self {
        match arg {
            StatusArg::Pending => Status::Pending,
            StatusArg::Processed => Status::Processed,
            StatusArg::Quarantined => Status::Quarantined,
            StatusArg::Dead => Status::Dead,
        }
    }
}

pub async fn run(command: EventsCommand, store: &Store) -> anyhow::Result<()> {
    match command {
        EventsCommand::List(args) => list(args, store).await,
        EventsCommand::Show { id, json } => show(&id, json, store).await,
        EventsCommand::Replay(args) => replay(args, store).await,
    }
}

/// One row of `events list`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    id: String,
    received_at: String,
    trigger: Option<String>,
    booking_uid: Option<String>,
    shape: &'static str,
    status: &'static str,
    attempts: i64,
    size: usize,
}

impl From<&StoredDelivery> for Summary {
    fn from(d: &StoredDelivery) -> Self {
        Self {
            id: d.id.to_string(),
            received_at: utc(d.received_at),
            trigger: d.trigger.clone(),
            booking_uid: d.booking_uid.clone(),
            shape: d.shape.as_str(),
            status: d.status.as_str(),
            attempts: d.attempts,
            size: d.body.len(),
        }
    }
}

async fn list(args: ListArgs, store: &Store) -> anyhow::Result<()> {
    let filter = DeliveryFilter {
        status: args.status.map(Status::from),
        trigger: args.trigger,
        limit: args.limit,
    };
    let rows: Vec<Summary> = store
        .list(&filter)
        .await?
        .iter()
        .map(Summary::from)
        .collect();
    if args.json {
        return table::print_json(&rows);
    }
    let mut t = Table::new(&[
        "id",
        "received",
        "trigger",
        "booking uid",
        "shape",
        "status",
        "attempts",
        "size",
    ]);
    for r in rows {
        t.row(vec![
            r.id,
            r.received_at,
            cell(r.trigger),
            cell(r.booking_uid),
            r.shape.into(),
            r.status.into(),
            r.attempts.to_string(),
            r.size.to_string(),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

/// The whole of one delivery, for `events show`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    #[serde(flatten)]
    summary: Summary,
    content_type: Option<String>,
    webhook_version: Option<String>,
    remote_addr: Option<String>,
    next_attempt_at: Option<String>,
    last_error: Option<String>,
    note: Option<String>,
    process_count: i64,
    processed_at: Option<String>,
    /// The body as JSON when it parses, else as (lossily decoded) text.
    body: serde_json::Value,
    body_is_json: bool,
    /// The owner notifications this delivery's event queued.
    notifications: Vec<NotificationRow>,
}

/// One notification record, for `events show`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationRow {
    id: String,
    destination: String,
    status: &'static str,
    attempts: i64,
    next_attempt_at: Option<String>,
    sent_at: Option<String>,
    last_error: Option<String>,
}

impl From<Notification> for NotificationRow {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            destination: n.destination,
            status: n.status.as_str(),
            attempts: n.attempts,
            next_attempt_at: n.next_attempt_at.map(utc),
            sent_at: n.sent_at.map(utc),
            last_error: n.last_error,
        }
    }
}

impl From<StoredDelivery> for Detail {
    fn from(d: StoredDelivery) -> Self {
        let parsed = serde_json::from_slice::<serde_json::Value>(&d.body).ok();
        let body_is_json = parsed.is_some();
        let body = parsed.unwrap_or_else(|| String::from_utf8_lossy(&d.body).into_owned().into());
        Self {
            summary: Summary::from(&d),
            content_type: d.content_type,
            webhook_version: d.webhook_version,
            remote_addr: d.remote_addr,
            next_attempt_at: d.next_attempt_at.map(utc),
            last_error: d.last_error,
            note: d.note,
            process_count: d.process_count,
            processed_at: d.processed_at.map(utc),
            body,
            body_is_json,
            notifications: Vec::new(),
        }
    }
}

async fn show(id: &str, json: bool, store: &Store) -> anyhow::Result<()> {
    let Some(delivery) = store.get(id).await? else {
        bail!("no delivery with id {id}");
    };
    let id = delivery.id.clone();
    let mut detail = Detail::from(delivery);
    let notifications = store.notifications_for(&id).await?;
    detail.notifications = notifications
        .into_iter()
        .map(NotificationRow::from)
        .collect();
    if json {
        return table::print_json(&detail);
    }
    print_detail(detail)
}

fn print_detail(d: Detail) -> anyhow::Result<()> {
    let s = d.summary;
    table::print_fields(&[
        ("id", s.id),
        ("received", s.received_at),
        ("trigger", cell(s.trigger)),
        ("booking uid", cell(s.booking_uid)),
        ("content type", cell(d.content_type)),
        ("webhook version", cell(d.webhook_version)),
        ("remote addr", cell(d.remote_addr)),
        ("shape", s.shape.into()),
        ("status", s.status.into()),
        ("attempts", s.attempts.to_string()),
        ("next attempt", cell(d.next_attempt_at)),
        ("last error", cell(d.last_error)),
        ("note", cell(d.note)),
        ("process count", d.process_count.to_string()),
        ("processed", cell(d.processed_at)),
        ("size", format!("{} bytes", s.size)),
    ]);
    print_notifications(&d.notifications);
    println!("\nbody:");
    match d.body {
        serde_json::Value::String(text) if !d.body_is_json => println!("{text}"),
        body => println!("{}", serde_json::to_string_pretty(&body)?),
    }
    Ok(())
}

fn print_notifications(rows: &[NotificationRow]) {
    if rows.is_empty() {
        return;
    }
    println!("\nnotifications:");
    for n in rows {
        let when = n
            .sent_at
            .as_deref()
            .or(n.next_attempt_at.as_deref())
            .unwrap_or("-");
        let error = n.last_error.as_deref().unwrap_or("");
        println!(
            "  {} {} attempts={} {when} {error}",
            n.destination, n.status, n.attempts
        );
    }
}

async fn replay(args: ReplayArgs, store: &Store) -> anyhow::Result<()> {
    let which = match (args.id, args.since) {
        (Some(id), _) => Replay::One(id),
        (None, Some(since)) => Replay::Since(since),
        (None, None) => Replay::Dead,
    };
    let queued = store
        .replay(&which)
        .await
        .context("could not queue the replay")?;
    match &which {
        Replay::One(id) if queued == 0 => bail!("no delivery with id {id}"),
        _ => {}
    }
    if args.json {
        return table::print_json(&serde_json::json!({ "queued": queued }));
    }
    let noun = if queued == 1 {
        "delivery"
    } else {
        "deliveries"
    };
    println!("queued {queued} {noun} for replay");
    if queued > 0 {
        println!("a running worker (or the next `bookme serve` / `bookme worker`) processes them");
    }
    Ok(())
}

/// Reads `--since`: an RFC 3339 time, or a duration such as `90m`, `24h`,
/// `7d` or `2w` meaning that long before now.
pub(super) fn parse_since(raw: &str) -> Result<OffsetDateTime, String> {
    let raw = raw.trim();
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(t);
    }
    let ago = parse_ago(raw).ok_or_else(|| {
        format!(
            "expected an RFC 3339 time such as 2025-03-10T00:00:00Z \
             or a duration such as 90m, 24h or 7d, got {raw:?}"
        )
    })?;
    Ok(OffsetDateTime::now_utc() - ago)
}

fn parse_ago(raw: &str) -> Option<time::Duration> {
    let split = raw.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = raw.split_at(split);
    let n: i64 = digits.parse().ok()?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(seconds_per_unit).map(time::Duration::seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_rfc3339() {
        let t = parse_since("2025-03-10T00:00:00Z").unwrap();
        assert_eq!(t, time::macros::datetime!(2025-03-10 00:00 UTC));
    }

    #[test]
    fn since_takes_a_duration_ago() {
        let before = OffsetDateTime::now_utc();
        let t = parse_since("24h").unwrap();
        let ago = before - t;
        assert!(ago <= time::Duration::hours(24), "{ago}");
        assert!(ago > time::Duration::hours(23), "{ago}");
        assert_eq!(parse_ago("7d"), Some(time::Duration::days(7)));
        assert_eq!(parse_ago("90m"), Some(time::Duration::minutes(90)));
    }

    #[test]
    fn since_refuses_other_text() {
        for bad in ["", "24", "h", "24x", "-5h", "yesterday", "2025-03-10"] {
            let err = parse_since(bad).unwrap_err();
            assert!(err.contains("RFC 3339"), "{bad}: {err}");
        }
    }
}
