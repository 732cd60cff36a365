//! The notification outbox: one row per (booking event, destination).
//!
//! Rows are inserted by [`enqueue_on`] inside the transaction that marks a
//! delivery processed, keyed UNIQUE on (event key, destination) with
//! `ON CONFLICT DO NOTHING`: a redelivery, a replay or a retried worker
//! never queues a second notification. The dispatcher claims due rows with
//! a lease, like the deliveries queue, and records each outcome with an
//! update only the lease holder can make.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::{DeliveryId, Store, StoreError, from_micros, to_micros};
use crate::calcom::BookingEvent;
use crate::notify::{Outbox, event_key};

const COLUMNS: &str = "id, event_key, destination, delivery_id, trigger_event, booking_uid, \
     status, attempts, queued_at, next_attempt_at, sent_at, send_count, last_error";

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyStatus {
    /// Waiting to be sent, possibly until a retry time.
    Pending,
    /// The destination accepted it.
    Sent,
    /// Given up on; kept with its last error until resent.
    Dead,
}

impl NotifyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Dead]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One delivery record: a booking event for one destination.
#[derive(Debug, Clone)]
pub struct Notification {
    /// UUIDv7; the forward's `webhook-id`, stable across retries.
    pub id: String,
    pub event_key: String,
    pub destination: String,
    /// The delivery that queued it.
    pub delivery_id: DeliveryId,
    pub trigger: String,
    pub booking_uid: Option<String>,
    pub status: NotifyStatus,
    pub attempts: i64,
    pub queued_at: OffsetDateTime,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
    /// How often a destination accepted it; above 1 only after `--force`.
    pub send_count: i64,
    pub last_error: Option<String>,
}

/// Queues one row per destination whose filter takes this event. Runs
/// inside the caller's transaction. Returns how many rows were new.
pub(super) async fn enqueue_on(
    conn: &mut AnyConnection,
    delivery: &DeliveryId,
    event: &BookingEvent,
    outbox: &Outbox,
) -> Result<u64, StoreError> {
    let key = event_key(event, delivery);
    let mut added = 0;
    for destination in outbox.destinations_for(&event.trigger) {
        added += insert_row(conn, &key, destination, delivery, event).await?;
    }
    Ok(added)
}

async fn insert_row(
    conn: &mut AnyConnection,
    key: &str,
    destination: &str,
    delivery: &DeliveryId,
    event: &BookingEvent,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "INSERT INTO notifications (id, event_key, destination, delivery_id, trigger_event, \
         booking_uid, queued_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (event_key, destination) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(key)
    .bind(destination)
    .bind(delivery.as_str())
    .bind(event.trigger.as_str())
    .bind(event.uid.as_ref().map(|u| u.as_str()))
    .bind(to_micros(OffsetDateTime::now_utc()))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Which records a resend puts back in the queue.
#[derive(Debug, Clone)]
pub struct Resend<'a> {
    pub delivery: &'a DeliveryId,
    /// Only this destination; otherwise all of the event's records.
    pub destination: Option<&'a str>,
    /// Also records already sent, and destinations with no record yet
    /// (`force_to`). Without it only dead letters are re-queued.
    pub force: bool,
    /// Destinations to create a record for when forcing.
    pub force_to: &'a [String],
}

impl Store {
    /// Leases up to `limit` records of one destination that were due by
    /// `due_by`, oldest first.
    pub async fn claim_notifications(
        &self,
        destination: &str,
        owner: &str,
        lease_until: OffsetDateTime,
        due_by: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        let lock = match self.backend() {
            super::Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            super::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE notifications SET lease_owner = $1, lease_until = $2 WHERE id IN (\
               SELECT id FROM notifications WHERE destination = $3 AND status = 'pending' \
               AND next_attempt_at <= $4 AND (lease_until IS NULL OR lease_until < $5) \
               ORDER BY queued_at, id LIMIT $6 {lock}) RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(to_micros(lease_until))
            .bind(destination)
            .bind(to_micros(due_by))
            .bind(to_micros(OffsetDateTime::now_utc()))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut claimed: Vec<_> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|n: &Notification| (n.queued_at, n.id.clone()));
        Ok(claimed)
    }

    /// Marks a record sent. Returns false if `owner` no longer held it.
    pub async fn notification_sent(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE notifications SET status = 'sent', sent_at = $1, attempts = attempts + 1, \
             send_count = send_count + 1, last_error = NULL, lease_owner = NULL, \
             lease_until = NULL WHERE id = $2 AND lease_owner = $3 AND status = 'pending'",
        )
        .bind(to_micros(OffsetDateTime::now_utc()))
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt: pending again at `retry_at`, or dead.
    pub async fn notification_failed(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let status = match retry_at {
            Some(_) => NotifyStatus::Pending,
            None => NotifyStatus::Dead,
        };
        let done = sqlx::query(
            "UPDATE notifications SET status = $1, attempts = attempts + 1, \
             next_attempt_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4 AND lease_owner = $5 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(retry_at.map(to_micros).unwrap_or(0))
        .bind(error)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The records of a delivery's event, whichever delivery queued them.
    pub async fn notifications_for(
        &self,
        delivery: &DeliveryId,
    ) -> Result<Vec<Notification>, StoreError> {
        let key = self.event_key_of(delivery).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM notifications WHERE event_key = $1 OR delivery_id = $2 \
             ORDER BY destination"
        );
        let rows = sqlx::query(&sql)
            .bind(key.as_deref().unwrap_or(""))
            .bind(delivery.as_str())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every record with this status, oldest first.
    pub async fn notifications_with(
        &self,
        status: NotifyStatus,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notifications WHERE status = $1 \
             ORDER BY queued_at, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Puts a delivery's records back in the queue; see [`Resend`].
    /// Returns how many records were queued.
    pub async fn resend_notifications(&self, r: &Resend<'_>) -> Result<u64, StoreError> {
        let Some(delivery) = self.get(r.delivery.as_str()).await? else {
            return Ok(0);
        };
        let event = BookingEvent::parse(&delivery.body)
            .map_err(|e| StoreError::Corrupt(format!("delivery {}: {e}", r.delivery)))?;
        let key = event_key(&event, r.delivery);
        let mut tx = self.pool().begin().await?;
        if r.force {
            for destination in r.force_to {
                insert_row(&mut tx, &key, destination, r.delivery, &event).await?;
            }
        }
        let done = sqlx::query(
            "UPDATE notifications SET status = 'pending', attempts = 0, queued_at = $1, \
             next_attempt_at = 0, lease_owner = NULL, lease_until = NULL \
             WHERE event_key = $2 AND ($3 = '' OR destination = $3) \
             AND (status = 'dead' OR $4 = 1)",
        )
        .bind(to_micros(OffsetDateTime::now_utc()))
        .bind(&key)
        .bind(r.destination.unwrap_or(""))
        .bind(i64::from(r.force))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Every distinct holder of a current notification lease.
    pub async fn notification_lease_owners(&self) -> Result<Vec<String>, StoreError> {
        let owners = sqlx::query_scalar(
            "SELECT DISTINCT lease_owner FROM notifications \
             WHERE status = 'pending' AND lease_owner IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(owners)
    }

    /// Drops one owner's notification leases, making its rows due now.
    pub async fn release_notification_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE notifications SET lease_owner = NULL, lease_until = NULL \
             WHERE lease_owner = $1 AND status = 'pending'",
        )
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn event_key_of(&self, delivery: &DeliveryId) -> Result<Option<String>, StoreError> {
        let Some(stored) = self.get(delivery.as_str()).await? else {
            return Ok(None);
        };
        Ok(BookingEvent::parse(&stored.body)
            .ok()
            .map(|event| event_key(&event, delivery)))
    }
}

fn from_row(row: &AnyRow) -> Result<Notification, StoreError> {
    let status: String = row.try_get("status")?;
    let next: i64 = row.try_get("next_attempt_at")?;
    Ok(Notification {
        id: row.try_get("id")?,
        event_key: row.try_get("event_key")?,
        destination: row.try_get("destination")?,
        delivery_id: DeliveryId::from_stored(row.try_get("delivery_id")?),
        trigger: row.try_get("trigger_event")?,
        booking_uid: row.try_get("booking_uid")?,
        status: NotifyStatus::parse(&status).ok_or(StoreError::Corrupt(status))?,
        attempts: row.try_get("attempts")?,
        queued_at: from_micros(row.try_get("queued_at")?),
        next_attempt_at: (next > 0).then(|| from_micros(next)),
        sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(from_micros),
        send_count: row.try_get("send_count")?,
        last_error: row.try_get("last_error")?,
    })
}
