//! One SQL implementation for both backends, through sqlx's `Any` driver.
//!
//! The statements use `$n` placeholders, which SQLite and PostgreSQL both
//! accept. Where the dialects differ (row locking on claim, migrations,
//! connection settings) [`Backend`] says which text to use.

use std::sync::Once;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use time::OffsetDateTime;

use super::writer::{BatchSink, Inserted, Writer};
use super::{
    DeliveryFilter, DeliveryId, NewDelivery, Replay, Stats, Status, StoreError, StoredDelivery,
    from_micros, to_micros,
};
use crate::calcom::ShapeKind;
use crate::config::DatabaseUrl;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// Connections in the pool. SQLite has one write lock per file, and a
    /// connection that finds it taken waits in SQLite's busy handler, which
    /// sleeps 1 to 100 ms at a time. Under load the ingest writer and the
    /// worker then spend more time asleep than writing. So on SQLite the
    /// writer, the worker and readers share one connection and queue for it
    /// in the pool, which hands it over as soon as it is released.
    fn pool_size(self) -> u32 {
        match self {
            Self::Sqlite => 1,
            Self::Postgres => 8,
        }
    }

    /// Row locking for claims: PostgreSQL lets concurrent workers skip each
    /// other's rows; SQLite has one writer at a time, so it needs none.
    fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }
}

const COLUMNS: &str = "seq, id, body, received_at, content_type, webhook_version, remote_addr, \
     shape, trigger_event, booking_uid, status, attempts, next_attempt_at, process_count, \
     processed_at, note, last_error";

/// SQLite settings for every connection: WAL so readers in another process
/// (the CLI) never block the writer, `synchronous=FULL` so a commit survives
/// power loss, and a busy timeout so that such processes wait for each other.
const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    pub writer: Writer,
}

impl Db {
    pub async fn open(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let db = Self::connect(url, true).await?;
        migrator(db.backend).run(&db.pool).await?;
        Ok(db)
    }

    /// Connects without applying migrations, for checks that must not
    /// change the database (`bookme doctor`).
    pub async fn connect(url: &DatabaseUrl, create: bool) -> Result<Self, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let (backend, raw) = match url {
            DatabaseUrl::Sqlite(u) if create => (Backend::Sqlite, with_create_mode(u)),
            DatabaseUrl::Sqlite(u) => (Backend::Sqlite, u.clone()),
            DatabaseUrl::Postgres(u) => (Backend::Postgres, u.expose_secret().to_owned()),
        };
        let options: AnyConnectOptions = raw.parse()?;
        let pool = pool(
            backend,
            &options,
            backend.pool_size(),
            Duration::from_secs(5),
        )
        .await?;
        let writer_pool = match backend {
            Backend::Sqlite => pool.clone(),
            Backend::Postgres => pool_for_writer(backend, &options).await?,
        };
        let writer = Writer::spawn(Sink { pool: writer_pool });
        Ok(Self {
            pool,
            backend,
            writer,
        })
    }

    pub async fn claim(
        &self,
        owner: &str,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<StoredDelivery>, StoreError> {
        let sql = format!(
            "UPDATE deliveries SET lease_owner = $1, lease_until = $2 WHERE seq IN (\
               SELECT seq FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $3 \
               AND (lease_until IS NULL OR lease_until < $3) ORDER BY seq LIMIT $4 {}) \
             RETURNING {COLUMNS}",
            self.backend.skip_locked()
        );
        let now = to_micros(OffsetDateTime::now_utc());
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(to_micros(lease_until))
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut claimed: Vec<_> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|d: &StoredDelivery| d.seq);
        Ok(claimed)
    }

    pub async fn complete(
        &self,
        id: &DeliveryId,
        owner: &str,
        status: Status,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        complete_on(&mut conn, id, owner, status, note).await
    }

    pub async fn fail(
        &self,
        id: &DeliveryId,
        owner: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let status = if retry_at.is_some() {
            Status::Pending
        } else {
            Status::Dead
        };
        let done = sqlx::query(
            "UPDATE deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, \
             last_error = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4 AND lease_owner = $5 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(retry_at.map(to_micros).unwrap_or(0))
        .bind(error)
        .bind(id.as_str())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn replay(&self, which: &Replay) -> Result<u64, StoreError> {
        const RESET: &str = "UPDATE deliveries SET status = 'pending', attempts = 0, \
            next_attempt_at = 0, lease_owner = NULL, lease_until = NULL";
        let done = match which {
            Replay::One(id) => {
                let sql = format!("{RESET} WHERE id = $1");
                sqlx::query(&sql)
                    .bind(id.as_str())
                    .execute(&self.pool)
                    .await?
            }
            Replay::Dead => {
                let sql = format!("{RESET} WHERE status = 'dead'");
                sqlx::query(&sql).execute(&self.pool).await?
            }
            Replay::Since(t) => {
                let sql = format!("{RESET} WHERE received_at >= $1");
                sqlx::query(&sql)
                    .bind(to_micros(*t))
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected())
    }

    /// Ok when the database answers and every migration this build knows
    /// of has been applied.
    pub async fn ready(&self) -> Result<(), String> {
        if self.writer.is_stopped() {
            return Err("store writer stopped: restart bookme".into());
        }
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| format!("store unreachable: {e}"))?;
        let expected = migrator(self.backend).iter().count() as i64;
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await
                .unwrap_or(0);
        if applied < expected {
            return Err(format!(
                "migrations pending: {applied} of {expected} applied"
            ));
        }
        Ok(())
    }

    pub async fn lease_owners(&self) -> Result<Vec<String>, StoreError> {
        let owners = sqlx::query_scalar(
            "SELECT DISTINCT lease_owner FROM deliveries \
             WHERE status = 'pending' AND lease_owner IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(owners)
    }

    pub async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL \
             WHERE lease_owner = $1 AND status = 'pending'",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn get(&self, id: &str) -> Result<Option<StoredDelivery>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn list(&self, f: &DeliveryFilter) -> Result<Vec<StoredDelivery>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM deliveries WHERE ($1 = '' OR status = $1) \
             AND ($2 = '' OR trigger_event = $2) ORDER BY seq DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(f.status.map(Status::as_str).unwrap_or(""))
            .bind(f.trigger.as_deref().unwrap_or(""))
            .bind(f.limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn all(&self) -> Result<Vec<StoredDelivery>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM deliveries ORDER BY seq");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn stats(&self) -> Result<Stats, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*), MAX(received_at), \
             COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) FROM deliveries",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Stats {
            deliveries: row.try_get(0)?,
            last_received_at: row.try_get::<Option<i64>, _>(1)?.map(from_micros),
            pending: row.try_get(2)?,
            dead: row.try_get(3)?,
        })
    }
}

/// The guarded final update, usable inside a caller's transaction so that
/// the ledger's change and the delivery's outcome commit together.
pub async fn complete_on(
    conn: &mut sqlx::AnyConnection,
    id: &DeliveryId,
    owner: &str,
    status: Status,
    note: Option<&str>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE deliveries SET status = $1, note = $2, processed_at = $3, \
         process_count = process_count + 1, lease_owner = NULL, lease_until = NULL \
         WHERE id = $4 AND lease_owner = $5 AND status = 'pending'",
    )
    .bind(status.as_str())
    .bind(note)
    .bind(to_micros(OffsetDateTime::now_utc()))
    .bind(id.as_str())
    .bind(owner)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn migrator(backend: Backend) -> &'static sqlx::migrate::Migrator {
    match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    }
}

/// SQLite files are created on first start unless the URL says otherwise.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

async fn pool(
    backend: Backend,
    options: &AnyConnectOptions,
    size: u32,
    acquire_timeout: Duration,
) -> Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(acquire_timeout)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute(SQLITE_PRAGMAS).await?;
                }
                Ok(())
            })
        })
        .connect_with(options.clone())
        .await
}

/// The writer has a pool of one, so a broken connection (a restarted
/// PostgreSQL) is replaced on the next batch without a restart of bookme.
/// Only the writer uses it, so its acquire timeout only bounds how long a
/// connection attempt to a store that is down may hold the batch (and its
/// requests) before they get 503.
async fn pool_for_writer(
    backend: Backend,
    options: &AnyConnectOptions,
) -> Result<AnyPool, sqlx::Error> {
    pool(backend, options, 1, Duration::from_secs(2)).await
}

struct Sink {
    pool: AnyPool,
}

impl BatchSink for Sink {
    async fn write_batch(&mut self, batch: &[NewDelivery]) -> Result<Vec<Inserted>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let mut results = Vec::with_capacity(batch.len());
        for d in batch {
            results.push(insert_one(&mut tx, d).await?);
        }
        tx.commit().await?;
        Ok(results)
    }
}

async fn insert_one(
    conn: &mut sqlx::AnyConnection,
    d: &NewDelivery,
) -> Result<Inserted, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO deliveries (id, body_sha256, body, received_at, content_type, \
         webhook_version, remote_addr, shape, trigger_event, booking_uid) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (body_sha256) DO NOTHING",
    )
    .bind(d.id.as_str())
    .bind(&d.body_sha256[..])
    .bind(&d.body[..])
    .bind(to_micros(d.received_at))
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
    let existing: String = sqlx::query_scalar("SELECT id FROM deliveries WHERE body_sha256 = $1")
        .bind(&d.body_sha256[..])
        .fetch_one(&mut *conn)
        .await?;
    Ok(Inserted::Duplicate(DeliveryId::from_stored(existing)))
}

fn from_row(row: &AnyRow) -> Result<StoredDelivery, StoreError> {
    let shape: String = row.try_get("shape")?;
    let status: String = row.try_get("status")?;
    let next_attempt_at: i64 = row.try_get("next_attempt_at")?;
    Ok(StoredDelivery {
        seq: row.try_get("seq")?,
        id: DeliveryId::from_stored(row.try_get("id")?),
        body: row.try_get("body")?,
        received_at: from_micros(row.try_get("received_at")?),
        content_type: row.try_get("content_type")?,
        webhook_version: row.try_get("webhook_version")?,
        remote_addr: row.try_get("remote_addr")?,
        shape: ShapeKind::parse(&shape).ok_or_else(|| StoreError::Corrupt(shape.clone()))?,
        trigger: row.try_get("trigger_event")?,
        booking_uid: row.try_get("booking_uid")?,
        status: Status::parse(&status).ok_or(StoreError::Corrupt(status))?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: (next_attempt_at > 0).then(|| from_micros(next_attempt_at)),
        process_count: row.try_get("process_count")?,
        processed_at: row
            .try_get::<Option<i64>, _>("processed_at")?
            .map(from_micros),
        note: row.try_get("note")?,
        last_error: row.try_get("last_error")?,
    })
}
