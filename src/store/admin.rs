//! Reads for the admin dashboard. Every listing pages by an index key
//! (keyset pagination): a page asks for rows after the last key it showed,
//! never for an offset, so page 1000 costs what page 1 costs.

use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{Status, Store, StoreError, bookings, from_micros, to_micros};
use crate::ledger::Booking;

/// Microseconds in one day.
const DAY_MICROS: i64 = 86_400_000_000;

/// A delivery as the dashboard lists it: no body, which may be large.
#[derive(Debug, Clone)]
pub struct DeliverySummary {
    pub seq: i64,
    pub id: String,
    pub received_at: OffsetDateTime,
    pub trigger: Option<String>,
    pub booking_uid: Option<String>,
    pub status: Status,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// One page of deliveries: newest first, older than `before` (a seq).
#[derive(Debug, Clone, Default)]
pub struct DeliveryPage {
    pub status: Option<Status>,
    pub trigger: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// The dashboard's three views of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingView {
    /// Starting now or later, not cancelled, rejected or rescheduled away.
    Upcoming,
    /// Started before now and not cancelled (rejected and rescheduled ones
    /// show with their status); latest first.
    Past,
    /// Cancelled; latest start first. One status, so the `(status,
    /// start_at)` index yields the rows already in order.
    Cancelled,
}

/// The key a booking page continues after: its start time and uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingCursor {
    pub start_at: i64,
    pub uid: String,
}

/// Counts for the overview.
#[derive(Debug, Clone, Default)]
pub struct AdminCounts {
    pub deliveries: i64,
    pub by_status: Vec<(Status, i64)>,
    pub upcoming_bookings: i64,
    pub last_received_at: Option<OffsetDateTime>,
}

/// Distinct bookings created and cancelled on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub day: time::Date,
    pub created: i64,
    pub cancelled: i64,
}

const SUMMARY: &str =
    "seq, id, received_at, trigger_event, booking_uid, status, attempts, last_error";

impl Store {
    /// One page of deliveries, newest first. Each filter becomes its own
    /// condition so PostgreSQL can pick the matching index.
    pub async fn delivery_page(
        &self,
        page: &DeliveryPage,
    ) -> Result<Vec<DeliverySummary>, StoreError> {
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = |column: &str| {
            n += 1;
            conditions.push(format!("{column} ${n}"));
        };
        page.status.is_some().then(|| next("status ="));
        page.trigger.is_some().then(|| next("trigger_event ="));
        page.before.is_some().then(|| next("seq <"));
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {SUMMARY} FROM deliveries {filter} ORDER BY seq DESC LIMIT ${}",
            n + 1
        );
        let mut query = sqlx::query(&sql);
        if let Some(status) = page.status {
            query = query.bind(status.as_str());
        }
        if let Some(trigger) = &page.trigger {
            query = query.bind(trigger.as_str());
        }
        if let Some(before) = page.before {
            query = query.bind(before);
        }
        let rows = query.bind(page.limit).fetch_all(&self.db.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// The deliveries with these ids, in arrival order; unknown ids are
    /// skipped. For a booking's chain, which is a handful of ids.
    pub async fn delivery_summaries(
        &self,
        ids: &[&str],
    ) -> Result<Vec<DeliverySummary>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {SUMMARY} FROM deliveries WHERE id IN ({}) ORDER BY seq",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.db.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// One page of a booking view, continuing after `after`.
    pub async fn booking_page(
        &self,
        view: BookingView,
        after: Option<&BookingCursor>,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Booking>, StoreError> {
        let (filter, forward) = match view {
            BookingView::Upcoming => (
                "start_at >= $1 AND (status IS NULL OR status NOT IN \
                 ('cancelled', 'rejected', 'rescheduled'))",
                true,
            ),
            BookingView::Past => (
                "start_at < $1 AND (status IS NULL OR status <> 'cancelled')",
                false,
            ),
            BookingView::Cancelled => (
                "status = 'cancelled' AND start_at IS NOT NULL AND $1 = $1",
                false,
            ),
        };
        let (cmp, order) = if forward { (">", "ASC") } else { ("<", "DESC") };
        // The first bound alone is what lets the start_at index seek to the
        // cursor; the rest breaks ties between equal start times by uid.
        let keyset = match after {
            Some(_) => format!(
                "AND start_at {cmp}= $2 AND (start_at {cmp} $2 OR (start_at = $2 AND uid {cmp} $3))"
            ),
            None => "AND $2 = $2 AND $3 = $3".to_owned(),
        };
        let sql = format!(
            "SELECT record FROM bookings WHERE {filter} {keyset} \
             ORDER BY start_at {order}, uid {order} LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(to_micros(now))
            .bind(after.map_or(0, |c| c.start_at))
            .bind(after.map_or("", |c| c.uid.as_str()))
            .bind(limit)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(bookings::decode).collect()
    }

    /// Deliveries by status, the newest arrival, and upcoming bookings.
    pub async fn admin_counts(&self, now: OffsetDateTime) -> Result<AdminCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*), MAX(received_at) FROM deliveries GROUP BY status",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut counts = AdminCounts::default();
        for row in &rows {
            let status: String = row.try_get(0)?;
            let status = Status::parse(&status).ok_or(StoreError::Corrupt(status))?;
            let count: i64 = row.try_get(1)?;
            let last = row.try_get::<Option<i64>, _>(2)?.map(from_micros);
            counts.deliveries += count;
            counts.by_status.push((status, count));
            counts.last_received_at = counts.last_received_at.max(last);
        }
        counts.upcoming_bookings = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bookings WHERE start_at >= $1 AND (status IS NULL OR \
             status NOT IN ('cancelled', 'rejected', 'rescheduled'))",
        )
        .bind(to_micros(now))
        .fetch_one(&self.db.pool)
        .await?;
        Ok(counts)
    }

    /// Distinct bookings created and cancelled per UTC day, for `days`
    /// days ending with `today`, from processed BOOKING_CREATED and
    /// BOOKING_CANCELLED deliveries. One grouped query over a bounded
    /// range of `received_at`, which is indexed. Days without any are zero.
    pub async fn bookings_per_day(
        &self,
        today: time::Date,
        days: u16,
    ) -> Result<Vec<DayCount>, StoreError> {
        let first = today - time::Duration::days(i64::from(days) - 1);
        let from = to_micros(first.midnight().assume_utc());
        let until = to_micros((today + time::Duration::days(1)).midnight().assume_utc());
        let rows = sqlx::query(
            "SELECT (received_at - $1) / $3 AS day, trigger_event, COUNT(DISTINCT booking_uid) \
             FROM deliveries WHERE received_at >= $1 AND received_at < $2 \
             AND status = 'processed' \
             AND trigger_event IN ('BOOKING_CREATED', 'BOOKING_CANCELLED') \
             GROUP BY 1, 2",
        )
        .bind(from)
        .bind(until)
        .bind(DAY_MICROS)
        .fetch_all(&self.db.pool)
        .await?;
        let mut counts: Vec<DayCount> = (0..i64::from(days))
            .map(|i| DayCount {
                day: first + time::Duration::days(i),
                created: 0,
                cancelled: 0,
            })
            .collect();
        for row in &rows {
            let day: i64 = row.try_get(0)?;
            let trigger: String = row.try_get(1)?;
            let count: i64 = row.try_get(2)?;
            let Some(slot) = usize::try_from(day).ok().and_then(|d| counts.get_mut(d)) else {
                continue;
            };
            match trigger.as_str() {
                "BOOKING_CREATED" => slot.created = count,
                _ => slot.cancelled = count,
            }
        }
        Ok(counts)
    }
}

fn summary_from_row(row: &AnyRow) -> Result<DeliverySummary, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(DeliverySummary {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        received_at: from_micros(row.try_get("received_at")?),
        trigger: row.try_get("trigger_event")?,
        booking_uid: row.try_get("booking_uid")?,
        status: Status::parse(&status).ok_or(StoreError::Corrupt(status))?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
    })
}
