//! The embedded SQLite backend: one file, WAL journal, `synchronous=FULL`,
//! so a committed delivery survives a power cut, not only a crash.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, Row};

use super::writer::{BatchSink, Inserted, Writer};
use super::{DeliveryId, NewDelivery, Stats, Status, StoreError, StoredDelivery};
use crate::calcom::ShapeKind;

const COLUMNS: &str = "seq, id, body, received_at, content_type, webhook_version, remote_addr, \
     shape, trigger_event, booking_uid, status, process_count, processed_at, note";

pub struct SqliteStore {
    pool: SqlitePool,
    pub writer: Writer,
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let conn = SqliteConnection::connect_with(&options).await?;
        Ok(Self {
            pool,
            writer: Writer::spawn(SqliteSink { conn }),
        })
    }

    pub async fn pending(&self, limit: i64) -> Result<Vec<StoredDelivery>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM deliveries WHERE status = 'pending' ORDER BY seq LIMIT ?"
        );
        let rows = sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn finish(
        &self,
        id: &DeliveryId,
        status: Status,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET status = ?, note = ?, processed_at = ?, \
             process_count = process_count + 1 WHERE id = ? AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(note)
        .bind(time::OffsetDateTime::now_utc())
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn get(&self, id: &str) -> Result<Option<StoredDelivery>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn all(&self) -> Result<Vec<StoredDelivery>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM deliveries ORDER BY seq");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn stats(&self) -> Result<Stats, StoreError> {
        let row = sqlx::query("SELECT COUNT(*), MAX(received_at) FROM deliveries")
            .fetch_one(&self.pool)
            .await?;
        Ok(Stats {
            deliveries: row.try_get(0)?,
            last_received_at: row.try_get(1)?,
        })
    }
}

struct SqliteSink {
    conn: SqliteConnection,
}

impl BatchSink for SqliteSink {
    async fn write_batch(&mut self, batch: &[NewDelivery]) -> Result<Vec<Inserted>, sqlx::Error> {
        let mut tx = self.conn.begin().await?;
        let mut results = Vec::with_capacity(batch.len());
        for d in batch {
            results.push(insert_one(&mut tx, d).await?);
        }
        tx.commit().await?;
        Ok(results)
    }
}

async fn insert_one(conn: &mut SqliteConnection, d: &NewDelivery) -> Result<Inserted, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO deliveries (id, body_sha256, body, received_at, content_type, \
         webhook_version, remote_addr, shape, trigger_event, booking_uid) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (body_sha256) DO NOTHING",
    )
    .bind(d.id.as_str())
    .bind(&d.body_sha256[..])
    .bind(&d.body[..])
    .bind(d.received_at)
    .bind(d.content_type.as_deref())
    .bind(d.webhook_version.as_deref())
    .bind(d.remote_addr.as_deref())
    .bind(d.shape.kind.as_str())
    .bind(d.shape.trigger.as_deref())
    .bind(d.shape.booking_uid.as_deref())
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Inserted::New(d.id.clone()));
    }
    let existing: String = sqlx::query_scalar("SELECT id FROM deliveries WHERE body_sha256 = ?")
        .bind(&d.body_sha256[..])
        .fetch_one(&mut *conn)
        .await?;
    Ok(Inserted::Duplicate(DeliveryId::from_stored(existing)))
}

fn from_row(row: &SqliteRow) -> Result<StoredDelivery, StoreError> {
    let shape: String = row.try_get("shape")?;
    let status: String = row.try_get("status")?;
    Ok(StoredDelivery {
        seq: row.try_get("seq")?,
        id: DeliveryId::from_stored(row.try_get("id")?),
        body: row.try_get("body")?,
        received_at: row.try_get("received_at")?,
        content_type: row.try_get("content_type")?,
        webhook_version: row.try_get("webhook_version")?,
        remote_addr: row.try_get("remote_addr")?,
        shape: ShapeKind::parse(&shape).ok_or_else(|| StoreError::Corrupt(shape.clone()))?,
        trigger: row.try_get("trigger_event")?,
        booking_uid: row.try_get("booking_uid")?,
        status: Status::parse(&status).ok_or(StoreError::Corrupt(status))?,
        process_count: row.try_get("process_count")?,
        processed_at: row.try_get("processed_at")?,
        note: row.try_get("note")?,
    })
}
