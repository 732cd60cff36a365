//! The background worker: the only code that changes a delivery's
//! processing state.
//!
//! It claims pending deliveries with a lease, so several workers (in one
//! process or many, on one PostgreSQL) never work on the same row, and a
//! crashed worker's rows are taken over when its lease expires. Each
//! delivery is parsed into a typed event and its outcome is recorded with a
//! guarded update that only the lease holder can make, so it is applied
//! exactly once. A failed attempt is retried with exponential backoff and
//! jitter; after `max_attempts` the delivery becomes a dead letter.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::calcom::Event;
use crate::calcom::booking::BookingEvent;
use crate::notify::Outbox;
use crate::store::{Status, Store, StoreError, StoredDelivery};
use crate::telemetry::Metrics;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How long a claim holds before another worker may take the row.
    pub lease: Duration,
    /// Attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
    /// The first retry waits about this long; each further one doubles.
    pub backoff_base: Duration,
    /// No retry waits longer than this.
    pub backoff_cap: Duration,
    /// How often an idle worker looks for work it was not told about:
    /// rows from other processes, retries coming due, expired leases.
    pub poll: Duration,
    /// How many deliveries one claim takes.
    pub batch: i64,
    /// Which destinations get which events; rows are queued with the
    /// delivery's processed mark.
    pub outbox: Outbox,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            max_attempts: 10,
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(3600),
            poll: Duration::from_secs(1),
            batch: 16,
            outbox: Outbox::default(),
        }
    }
}

/// What one step of the worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Handled this many deliveries; there may be more.
    Worked(usize),
    /// Nothing was due.
    Idle,
}

/// Nudges the worker after a delivery is committed.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// A worker with its own identity, used as the lease owner.
pub struct Worker {
    metrics: Option<Metrics>,
    store: Store,
    wake: Arc<Notify>,
    options: WorkerOptions,
    owner: String,
}

impl Worker {
    pub fn new(store: Store, waker: &Waker, options: WorkerOptions) -> Self {
        let owner = LeaseOwner::current().to_string();
        Self {
            metrics: None,
            store,
            wake: waker.0.clone(),
            options,
            owner,
        }
    }

    /// Records processing latency in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Frees leases held by workers of this host whose process is gone, so
    /// that after a crash and restart on one machine their deliveries are
    /// picked up at once instead of when the lease expires.
    pub async fn release_dead_local_leases(&self) -> Result<u64, StoreError> {
        let me = LeaseOwner::current();
        let mut released = 0;
        for owner in self.store.lease_owners().await? {
            let Some(other) = LeaseOwner::parse(&owner) else {
                continue;
            };
            if other.host == me.host && other.pid != me.pid && !process_exists(other.pid) {
                released += self.store.release_leases(&owner).await?;
            }
        }
        if released > 0 {
            tracing::info!(
                released,
                "took over deliveries from a worker that died on this host"
            );
        }
        Ok(released)
    }

    /// Runs until `shutdown` fires. A delivery being processed is finished
    /// first, because shutdown is only checked between deliveries.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::debug!(owner = %self.owner, "worker started");
        while !shutdown.is_cancelled() {
            match self.step(&shutdown).await {
                Ok(StepOutcome::Worked(_)) => continue,
                // When idle, look for rows a dead worker on this host holds.
                Ok(StepOutcome::Idle) => match self.release_dead_local_leases().await {
                    Ok(0) => {}
                    Ok(_) => continue,
                    Err(e) => tracing::warn!(error = %e, "could not check leases"),
                },
                Err(e) => tracing::warn!(error = %e, "worker could not claim deliveries"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.options.poll) => {}
            }
        }
        tracing::debug!(owner = %self.owner, "worker stopped");
    }

    /// Claims one batch of due deliveries and handles each.
    pub async fn step(&self, shutdown: &CancellationToken) -> Result<StepOutcome, StoreError> {
        let lease_until = OffsetDateTime::now_utc() + self.options.lease;
        let claimed = self
            .store
            .claim(&self.owner, lease_until, self.options.batch)
            .await?;
        if claimed.is_empty() {
            return Ok(StepOutcome::Idle);
        }
        let mut done = 0;
        for delivery in &claimed {
            if shutdown.is_cancelled() {
                break; // Unhandled claims expire and are taken over.
            }
            self.handle(delivery).await;
            done += 1;
        }
        Ok(StepOutcome::Worked(done))
    }

    /// Handles everything due, then returns. Tests drive the worker with
    /// this instead of waiting on a background task.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let never = CancellationToken::new();
        let mut total = 0;
        while let StepOutcome::Worked(n) = self.step(&never).await? {
            total += n;
        }
        Ok(total)
    }

    async fn handle(&self, delivery: &StoredDelivery) {
        let started = std::time::Instant::now();
        let outcome = self.process(delivery).await;
        if let Some(metrics) = &self.metrics {
            metrics.processed(started.elapsed());
        }
        match outcome {
            Ok(true) => {}
            Ok(false) => tracing::debug!(id = %delivery.id, "lease lost; another worker has it"),
            Err(e) => self.record_failure(delivery, &e).await,
        }
    }

    /// Parses and applies one delivery. Returns false if the lease was lost.
    async fn process(&self, delivery: &StoredDelivery) -> Result<bool, StoreError> {
        let (id, owner) = (&delivery.id, self.owner.as_str());
        let event = match Event::parse(&delivery.body) {
            Ok(event) => BookingEvent::from_event(&event),
            Err(why) => {
                tracing::warn!(%id, shape = delivery.shape.as_str(), "delivery quarantined: {why}");
                let note = why.to_string();
                return self
                    .store
                    .complete(id, owner, Status::Quarantined, Some(&note))
                    .await;
            }
        };
        let note = (!event.notes.is_empty()).then(|| event.notes.join("; "));
        let applied = self
            .store
            .complete_with_ledger(id, owner, &event, note.as_deref(), &self.options.outbox)
            .await?;
        if applied {
            log_summary(delivery, &event);
            self.options.outbox.wake();
        }
        Ok(applied)
    }

    async fn record_failure(&self, delivery: &StoredDelivery, error: &StoreError) {
        let attempt = delivery.attempts + 1;
        let retry_at = (attempt < i64::from(self.options.max_attempts))
            .then(|| OffsetDateTime::now_utc() + self.backoff(attempt));
        let message = error.to_string();
        match retry_at {
            Some(at) => tracing::warn!(id = %delivery.id, attempt, error = %message,
                retry_at = %at.format(&Rfc3339).unwrap_or_default(), "processing failed; will retry"),
            None => tracing::error!(id = %delivery.id, attempt, error = %message,
                "processing failed for the last time; delivery is now a dead letter"),
        }
        if let Err(e) = self
            .store
            .fail(&delivery.id, &self.owner, &message, retry_at)
            .await
        {
            // The lease will expire and the delivery will be tried again.
            tracing::error!(id = %delivery.id, error = %e, "could not record the failure");
        }
    }

    fn backoff(&self, attempt: i64) -> Duration {
        let o = &self.options;
        crate::retry::backoff(o.backoff_base, o.backoff_cap, attempt)
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }
}

/// This process's lease owner name, shared by the worker and the
/// notification dispatcher.
pub(crate) fn lease_owner_name() -> String {
    LeaseOwner::current().to_string()
}

/// True if `owner` names a process on this host that no longer runs.
pub(crate) fn is_dead_local_owner(owner: &str) -> bool {
    let me = LeaseOwner::current();
    LeaseOwner::parse(owner)
        .is_some_and(|o| o.host == me.host && o.pid != me.pid && !process_exists(o.pid))
}

/// Who holds a lease: `host:pid:unique`, so that a worker can tell a dead
/// worker on its own host from a live one elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LeaseOwner {
    host: String,
    pid: u32,
    unique: String,
}

impl LeaseOwner {
    fn current() -> Self {
        static UNIQUE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let unique = UNIQUE.get_or_init(|| uuid::Uuid::now_v7().simple().to_string());
        Self {
            host: host_name(),
            pid: std::process::id(),
            unique: unique.clone(),
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.rsplitn(3, ':');
        let unique = parts.next()?.to_owned();
        let pid = parts.next()?.parse().ok()?;
        let host = parts.next()?.to_owned();
        Some(Self { host, pid, unique })
    }
}

impl std::fmt::Display for LeaseOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.host, self.pid, self.unique)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// Whether a process runs on this host. Where `/proc` is missing the answer
/// is "yes", which only means waiting for the lease to expire.
fn process_exists(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.exists() || proc.join(pid.to_string()).exists()
}

/// Formats a time for logs and listings.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn log_summary(delivery: &StoredDelivery, event: &BookingEvent) {
    let uid = event.uid.as_ref().map(|u| u.as_str()).unwrap_or("-");
    let start = event.start_time.map(rfc3339).unwrap_or_else(|| "-".into());
    tracing::info!(
        id = %delivery.id,
        trigger = %event.trigger,
        booking_uid = uid,
        start = %start,
        "processed {} {uid}",
        event.trigger
    );
    if !event.notes.is_empty() {
        tracing::debug!(id = %delivery.id, notes = ?event.notes, "fields skipped");
    }
}
