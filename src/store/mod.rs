//! Durable storage of deliveries, on SQLite or PostgreSQL.
//!
//! The webhook handler calls [`Store::insert`] and answers 2xx only after it
//! returns `Ok`, which means the row is committed. Inserts from many requests
//! share one transaction through a single writer task (see `writer`), so the
//! cost of a durable commit is paid once per batch, not once per request.
//!
//! The deliveries table is also the work queue. A worker claims pending rows
//! with a lease ([`Store::claim`]); a crashed worker's lease expires and
//! another worker takes the row. Only the lease holder can record an outcome
//! ([`Store::complete`], [`Store::fail`]), so an outcome is applied once.

mod admin;
mod bookings;
mod notifications;
mod purge;
mod sql;
mod writer;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::calcom::booking::BookingEvent;
use crate::calcom::{Shape, ShapeKind};
use crate::config::DatabaseUrl;
use crate::ledger::Booking;
use crate::notify::Outbox;

pub use admin::{AdminCounts, BookingCursor, BookingView, DayCount, DeliveryPage, DeliverySummary};
pub use bookings::BookingFilter;
pub use notifications::{Notification, NotifyStatus, Resend};
pub use purge::{Purge, PurgeCount};
pub use sql::Backend;
pub use writer::Inserted;

/// A stored delivery's id, e.g. `0193a3c4-…` (UUIDv7, so ids sort by time).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryId(String);

impl DeliveryId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A verified delivery about to be stored, with what the request said of it.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: DeliveryId,
    pub body: Bytes,
    pub body_sha256: [u8; 32],
    pub received_at: OffsetDateTime,
    pub content_type: Option<String>,
    pub webhook_version: Option<String>,
    pub remote_addr: Option<String>,
    pub shape: Shape,
}

impl NewDelivery {
    /// Hashes the body here, on the request's task, so the single writer
    /// spends its time on SQL only.
    pub fn new(body: Bytes, shape: Shape) -> Self {
        Self {
            id: DeliveryId::generate(),
            body_sha256: Sha256::digest(&body).into(),
            body,
            received_at: OffsetDateTime::now_utc(),
            content_type: None,
            webhook_version: None,
            remote_addr: None,
            shape,
        }
    }
}

/// Where a delivery stands in processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Stored and waiting for a worker (possibly until a retry time).
    Pending,
    /// Parsed and applied.
    Processed,
    /// Authentic but not an event bookme can act on (no trigger, not JSON).
    /// Kept for inspection; never retried automatically.
    Quarantined,
    /// Failed on every attempt; kept with its last error until replayed.
    Dead,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Self::Pending,
        Self::Processed,
        Self::Quarantined,
        Self::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processed => "processed",
            Self::Quarantined => "quarantined",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A delivery as stored.
#[derive(Debug, Clone)]
pub struct StoredDelivery {
    pub seq: i64,
    pub id: DeliveryId,
    pub body: Vec<u8>,
    pub received_at: OffsetDateTime,
    pub content_type: Option<String>,
    pub webhook_version: Option<String>,
    pub remote_addr: Option<String>,
    pub shape: ShapeKind,
    pub trigger: Option<String>,
    pub booking_uid: Option<String>,
    pub status: Status,
    pub attempts: i64,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub process_count: i64,
    pub processed_at: Option<OffsetDateTime>,
    pub note: Option<String>,
    pub last_error: Option<String>,
}

/// Which deliveries a listing returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<Status>,
    pub trigger: Option<String>,
    pub limit: i64,
}

/// Which deliveries a replay puts back in the queue.
#[derive(Debug, Clone)]
pub enum Replay {
    One(String),
    Dead,
    Since(OffsetDateTime),
}

/// Counts for the debug endpoint and metrics.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub deliveries: i64,
    pub last_received_at: Option<OffsetDateTime>,
    pub pending: i64,
    pub dead: i64,
}

/// A store failure. The client sees 503 and retries; the cause goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the store's writer has stopped")]
    WriterStopped,
    #[error("the batch commit failed: {0}")]
    BatchFailed(Arc<str>),
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
}

/// The store handle: cheap to clone, shared by the server and the worker.
#[derive(Clone)]
pub struct Store {
    db: Arc<sql::Db>,
}

impl Store {
    /// Opens (creating and migrating as needed) the configured store.
    pub async fn open(url: &DatabaseUrl) -> Result<Self, StoreError> {
        Ok(Self {
            db: Arc::new(sql::Db::open(url).await?),
        })
    }

    /// Connects and reports readiness without creating or migrating
    /// anything; for `bookme doctor`.
    pub async fn check(url: &DatabaseUrl) -> Result<(), String> {
        let db = sql::Db::connect(url, false)
            .await
            .map_err(|e| format!("store unreachable: {e}"))?;
        db.ready().await
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        self.db.backend.name()
    }

    /// Stores a delivery durably. `Ok` means committed.
    pub async fn insert(&self, delivery: NewDelivery) -> Result<Inserted, StoreError> {
        self.db.writer.insert(delivery).await
    }

    /// Leases up to `limit` due pending deliveries to `owner` until
    /// `lease_until`, oldest first. Rows leased by others are skipped.
    pub async fn claim(
        &self,
        owner: &str,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<StoredDelivery>, StoreError> {
        self.db.claim(owner, lease_until, limit).await
    }

    /// Records a final outcome for a delivery `owner` holds. Returns false
    /// when the lease was lost, in which case nothing was written.
    pub async fn complete(
        &self,
        id: &DeliveryId,
        owner: &str,
        status: Status,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.db.complete(id, owner, status, note).await
    }

    /// Marks a delivery processed, applies its event to the ledger and
    /// queues its notifications in `outbox`, all in one transaction.
    /// Returns false, having written nothing, if the lease was lost.
    pub async fn complete_with_ledger(
        &self,
        id: &DeliveryId,
        owner: &str,
        event: &BookingEvent,
        note: Option<&str>,
        outbox: &Outbox,
    ) -> Result<bool, StoreError> {
        self.db
            .complete_with_ledger(id, owner, event, note, outbox)
            .await
    }

    /// One booking from the ledger.
    pub async fn booking(&self, uid: &str) -> Result<Option<Booking>, StoreError> {
        self.db.booking(uid).await
    }

    /// Bookings from the ledger, by start time.
    pub async fn bookings(&self, filter: &BookingFilter) -> Result<Vec<Booking>, StoreError> {
        self.db.bookings(filter).await
    }

    /// Bookings from the ledger, latest start first, including those
    /// without a start time (last). `filter.starts_after` is ignored.
    pub async fn bookings_latest_first(
        &self,
        filter: &BookingFilter,
    ) -> Result<Vec<Booking>, StoreError> {
        self.db.bookings_latest_first(filter).await
    }

    /// Deletes deliveries and personal data, keeping the ledger's other
    /// fields; with `dry_run` only counts. See [`Purge`].
    pub async fn purge(&self, which: &Purge, dry_run: bool) -> Result<PurgeCount, StoreError> {
        self.db.purge(which, dry_run).await
    }

    /// Records a failed attempt: pending again at `retry_at`, or dead when
    /// `retry_at` is `None`. Returns false when the lease was lost.
    pub async fn fail(
        &self,
        id: &DeliveryId,
        owner: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        self.db.fail(id, owner, error, retry_at).await
    }

    /// Ok when the store answers and its migrations are current; the error
    /// says which is wrong, without credentials.
    pub async fn ready(&self) -> Result<(), String> {
        self.db.ready().await
    }

    /// Every distinct holder of a current lease.
    pub async fn lease_owners(&self) -> Result<Vec<String>, StoreError> {
        self.db.lease_owners().await
    }

    /// Drops the leases of one owner, making its rows claimable now.
    pub async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        self.db.release_leases(owner).await
    }

    /// Puts deliveries back in the queue, processed or not. This bypasses
    /// the dedupe on purpose; returns how many were queued.
    pub async fn replay(&self, which: &Replay) -> Result<u64, StoreError> {
        self.db.replay(which).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<StoredDelivery>, StoreError> {
        self.db.get(id).await
    }

    pub async fn list(&self, filter: &DeliveryFilter) -> Result<Vec<StoredDelivery>, StoreError> {
        self.db.list(filter).await
    }

    /// Every delivery in arrival order; for tests and small inspections.
    pub async fn all(&self) -> Result<Vec<StoredDelivery>, StoreError> {
        self.db.all().await
    }

    pub async fn stats(&self) -> Result<Stats, StoreError> {
        self.db.stats().await
    }

    /// The underlying pool, for modules that keep their own tables in the
    /// same database (the ledger).
    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.db.pool
    }

    pub fn backend(&self) -> Backend {
        self.db.backend
    }
}

/// Microseconds since the Unix epoch, the stored form of every time.
pub fn to_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
