//! The ledger's table. A delivery's effect on the ledger and its
//! `processed` mark commit in one transaction, and the mark is guarded by
//! the worker's lease, so the effect is applied once even if the worker dies
//! halfway. The merge itself is idempotent, so a replay changes nothing.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::sql::{Backend, Db, complete_on};
use super::{DeliveryId, Status, StoreError, to_micros};
use crate::calcom::booking::BookingEvent;
use crate::ledger::{self, Booking};

const UPDATE_ROW: &str = "UPDATE bookings SET status = $2, start_at = $3, end_at = $4, \
     updated_at = $5, record = $6 WHERE uid = $1";

/// Which bookings a listing returns, by start time.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub status: Option<String>,
    /// Only bookings that start at or after this time.
    pub starts_after: Option<OffsetDateTime>,
    pub limit: i64,
}

impl Db {
    /// Marks a delivery `processed` and applies its event to the ledger,
    /// together. Returns false, having written nothing, if the lease was
    /// lost.
    pub async fn complete_with_ledger(
        &self,
        id: &DeliveryId,
        owner: &str,
        event: &BookingEvent,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !complete_on(&mut tx, id, owner, Status::Processed, note).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let mut updates = ledger::updates(event, id.as_str());
        // A fixed lock order keeps two workers touching the same pair of
        // bookings (a reschedule) from deadlocking on PostgreSQL.
        updates.sort_by(|a, b| a.uid.cmp(&b.uid));
        for update in &updates {
            merge_into_row(&mut tx, self.backend, update).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn booking(&self, uid: &str) -> Result<Option<Booking>, StoreError> {
        let row = sqlx::query("SELECT record FROM bookings WHERE uid = $1")
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    pub async fn bookings(&self, f: &BookingFilter) -> Result<Vec<Booking>, StoreError> {
        let rows = sqlx::query(
            "SELECT record FROM bookings WHERE ($1 = '' OR status = $1) \
             AND ($2 = 0 OR start_at >= $3) ORDER BY start_at, uid LIMIT $4",
        )
        .bind(f.status.as_deref().unwrap_or(""))
        .bind(i64::from(f.starts_after.is_some()))
        .bind(f.starts_after.map(to_micros).unwrap_or(0))
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Every booking, latest start first, including those no event has
    /// given a start time yet (listed last); `starts_after` is ignored.
    pub async fn bookings_latest_first(
        &self,
        f: &BookingFilter,
    ) -> Result<Vec<Booking>, StoreError> {
        let rows = sqlx::query(
            "SELECT record FROM bookings WHERE ($1 = '' OR status = $1) \
             ORDER BY start_at IS NULL, start_at DESC, uid LIMIT $2",
        )
        .bind(f.status.as_deref().unwrap_or(""))
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }
}

/// Loads the row for `update.uid` (locked on PostgreSQL), merges, writes
/// back if anything changed, or inserts the update as a new row.
async fn merge_into_row(
    conn: &mut AnyConnection,
    backend: Backend,
    update: &Booking,
) -> Result<(), StoreError> {
    let lock = if backend == Backend::Postgres {
        "FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT record FROM bookings WHERE uid = $1 {lock}");
    let row = sqlx::query(&sql)
        .bind(update.uid.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return insert_row(conn, update).await;
    };
    let mut current = decode(&row)?;
    if current.merge(update) {
        write_row(conn, &current, UPDATE_ROW).await?;
    }
    Ok(())
}

/// Inserts a new row. If another worker inserted the same uid meanwhile,
/// the insert does nothing and the merge is retried against its row.
async fn insert_row(conn: &mut AnyConnection, update: &Booking) -> Result<(), StoreError> {
    let inserted = write_row(
        conn,
        update,
        "INSERT INTO bookings (uid, status, start_at, end_at, updated_at, record) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (uid) DO NOTHING",
    )
    .await?;
    if inserted == 0 {
        let row = sqlx::query("SELECT record FROM bookings WHERE uid = $1")
            .bind(update.uid.as_str())
            .fetch_one(&mut *conn)
            .await?;
        let mut current = decode(&row)?;
        if current.merge(update) {
            write_row(conn, &current, UPDATE_ROW).await?;
        }
    }
    Ok(())
}

async fn write_row(
    conn: &mut AnyConnection,
    booking: &Booking,
    sql: &'static str,
) -> Result<u64, StoreError> {
    let record = serde_json::to_string(booking).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let done = sqlx::query(sql)
        .bind(booking.uid.as_str())
        .bind(booking.current_status().map(|s| s.as_str()))
        .bind(booking.start.get().map(|t| to_micros(t.get())))
        .bind(booking.end.get().map(|t| to_micros(t.get())))
        .bind(to_micros(OffsetDateTime::now_utc()))
        .bind(record)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

pub(super) fn decode(row: &AnyRow) -> Result<Booking, StoreError> {
    let text: String = row.try_get("record")?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("booking record: {e}")))
}
