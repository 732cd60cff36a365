//! Retention and erasure: delete old deliveries and the personal data in the
//! ledger, keeping each booking's non-personal fields (status, times, links)
//! so counts and charts stay right.

use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::bookings::decode;
use super::sql::{Backend, Db};
use super::{StoreError, to_micros};
use crate::ledger::Booking;

/// What to purge.
#[derive(Debug, Clone)]
pub enum Purge {
    /// Deliveries received before this time (except those still pending),
    /// and the personal data of bookings that ended before it.
    OlderThan(OffsetDateTime),
    /// Every booking whose attendee has this email, and the deliveries
    /// that shaped those bookings.
    Email(String),
}

/// How much a purge removed (or would remove, on a dry run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCount {
    pub deliveries: u64,
    pub bookings: u64,
}

impl Db {
    pub async fn purge(&self, which: &Purge, dry_run: bool) -> Result<PurgeCount, StoreError> {
        let mut tx = self.pool.begin().await?;
        let bookings = match which {
            Purge::OlderThan(cutoff) => ended_before(&mut tx, *cutoff).await?,
            Purge::Email(email) => with_attendee(&mut tx, self.backend, email).await?,
        };
        let delivery_ids: Vec<String> = match which {
            Purge::OlderThan(cutoff) => old_deliveries(&mut tx, *cutoff).await?,
            Purge::Email(_) => bookings.iter().flat_map(|b| b.deliveries.clone()).collect(),
        };
        let count = PurgeCount {
            deliveries: delivery_ids.len() as u64,
            bookings: bookings.len() as u64,
        };
        if dry_run {
            tx.rollback().await?;
            return Ok(count);
        }
        for mut booking in bookings {
            booking.purge_personal();
            save(&mut tx, &booking).await?;
        }
        for id in &delivery_ids {
            sqlx::query("DELETE FROM deliveries WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(count)
    }
}

/// Bookings not yet purged whose end (or start, or last change) is before
/// the cutoff.
async fn ended_before(
    conn: &mut AnyConnection,
    cutoff: OffsetDateTime,
) -> Result<Vec<Booking>, StoreError> {
    let rows = sqlx::query(
        "SELECT record FROM bookings WHERE COALESCE(end_at, start_at, updated_at) < $1",
    )
    .bind(to_micros(cutoff))
    .fetch_all(&mut *conn)
    .await?;
    let all = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(all.into_iter().filter(|b| !b.personal.purged).collect())
}

/// Bookings whose attendee email or no-show list holds `email`. The SQL
/// narrows by substring; the exact match is made on the decoded record.
async fn with_attendee(
    conn: &mut AnyConnection,
    backend: Backend,
    email: &str,
) -> Result<Vec<Booking>, StoreError> {
    let wanted = email.trim().to_lowercase();
    let find = match backend {
        Backend::Sqlite => "instr",
        Backend::Postgres => "strpos",
    };
    let sql = format!("SELECT record FROM bookings WHERE {find}(LOWER(record), $1) > 0");
    let rows = sqlx::query(&sql)
        .bind(&wanted)
        .fetch_all(&mut *conn)
        .await?;
    let all = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(all.into_iter().filter(|b| mentions(b, &wanted)).collect())
}

fn mentions(booking: &Booking, email: &str) -> bool {
    let p = &booking.personal;
    p.attendee_email
        .get()
        .is_some_and(|e| e.to_lowercase() == email)
        || p.no_shows.keys().any(|k| k.to_lowercase() == email)
}

async fn old_deliveries(
    conn: &mut AnyConnection,
    cutoff: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    let ids = sqlx::query_scalar(
        "SELECT id FROM deliveries WHERE received_at < $1 AND status <> 'pending'",
    )
    .bind(to_micros(cutoff))
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids)
}

async fn save(conn: &mut AnyConnection, booking: &Booking) -> Result<(), StoreError> {
    let record = serde_json::to_string(booking).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("UPDATE bookings SET record = $1 WHERE uid = $2")
        .bind(record)
        .bind(booking.uid.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
