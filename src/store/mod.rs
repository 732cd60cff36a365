//! Durable storage of deliveries.
//!
//! The webhook handler calls [`Store::insert`] and answers 2xx only after it
//! returns `Ok`, which means the row is committed. Inserts from many requests
//! share one transaction through a single writer task (see `writer`), so the
//! cost of a durable commit is paid once per batch, not once per request.
//! Only the worker changes a delivery's processing state, via
//! [`Store::finish`].

mod sqlite;
mod writer;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::calcom::{Shape, ShapeKind};
use crate::config::DatabaseUrl;

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
    /// Stored, not yet looked at by the worker.
    Pending,
    /// Parsed and acted on.
    Processed,
    /// Authentic but not an event bookme can act on (no trigger, not JSON).
    /// Kept for inspection; never retried automatically.
    Quarantined,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processed => "processed",
            Self::Quarantined => "quarantined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Processed, Self::Quarantined]
            .into_iter()
            .find(|x| x.as_str() == s)
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
    pub process_count: i64,
    pub processed_at: Option<OffsetDateTime>,
    pub note: Option<String>,
}

/// Counts for the debug endpoint.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub deliveries: i64,
    pub last_received_at: Option<OffsetDateTime>,
}

/// A store failure. The client sees 503 and retries; the cause goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("could not apply migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the store's writer has stopped")]
    WriterStopped,
    #[error("the batch commit failed: {0}")]
    BatchFailed(Arc<str>),
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(&'static str),
}

/// The store handle: cheap to clone, shared by the server and the worker.
#[derive(Clone)]
pub struct Store {
    backend: Arc<sqlite::SqliteStore>,
}

impl Store {
    /// Opens (creating and migrating as needed) the configured store.
    pub async fn open(url: &DatabaseUrl) -> Result<Self, StoreError> {
        match url {
            DatabaseUrl::Sqlite(url) => Ok(Self {
                backend: Arc::new(sqlite::SqliteStore::open(url).await?),
            }),
            // FIXME: PostgreSQL arrives with the bookings-ledger issue (#4);
            // remove this refusal when the postgres backend lands.
            DatabaseUrl::Postgres(_) => Err(StoreError::Unsupported(
                "PostgreSQL is not supported yet; use a sqlite:// DATABASE_URL",
            )),
        }
    }

    pub fn kind(&self) -> &'static str {
        "sqlite"
    }

    /// Stores a delivery durably. `Ok` means committed.
    pub async fn insert(&self, delivery: NewDelivery) -> Result<Inserted, StoreError> {
        self.backend.writer.insert(delivery).await
    }

    /// The oldest pending deliveries, in arrival order.
    pub async fn pending(&self, limit: i64) -> Result<Vec<StoredDelivery>, StoreError> {
        self.backend.pending(limit).await
    }

    /// Records the worker's outcome. Returns false when the delivery was not
    /// pending any more, so an outcome is never applied twice.
    pub async fn finish(
        &self,
        id: &DeliveryId,
        status: Status,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.backend.finish(id, status, note).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<StoredDelivery>, StoreError> {
        self.backend.get(id).await
    }

    /// Every delivery in arrival order; for tests and small inspections.
    pub async fn all(&self) -> Result<Vec<StoredDelivery>, StoreError> {
        self.backend.all().await
    }

    pub async fn stats(&self) -> Result<Stats, StoreError> {
        self.backend.stats().await
    }
}
