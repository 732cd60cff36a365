//! The background worker: the only code that changes a delivery's
//! processing state.
//!
//! It wakes when the handler stores a delivery, on a timer, and at start, so
//! deliveries left pending by a crash are picked up. Each delivery is parsed
//! into a typed event, summarised in one log line and marked with its
//! outcome in a single guarded update, so it is processed exactly once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::calcom::Event;
use crate::store::{Status, Store, StoreError, StoredDelivery};

/// How many pending deliveries one pass reads.
const BATCH: i64 = 64;

/// How often an idle worker looks for work it was not told about, such as
/// rows left by a crashed process sharing the store.
const POLL: Duration = Duration::from_secs(5);

/// What one step of the worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Processed this many deliveries; there may be more.
    Worked(usize),
    /// Nothing was pending.
    Idle,
}

/// The worker. Clone the [`Waker`] into the HTTP state to nudge it.
pub struct Worker {
    store: Store,
    wake: Arc<Notify>,
}

/// Nudges the worker after a delivery is committed.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

impl Worker {
    pub fn new(store: Store, waker: &Waker) -> Self {
        Self {
            store,
            wake: waker.0.clone(),
        }
    }

    /// Runs until `shutdown` fires. A delivery being processed is finished
    /// first, because shutdown is only checked between deliveries.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::debug!("worker started");
        while !shutdown.is_cancelled() {
            match self.step(&shutdown).await {
                Ok(StepOutcome::Worked(_)) => continue,
                Ok(StepOutcome::Idle) => {}
                Err(e) => tracing::warn!(error = %e, "worker could not read the store"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
        tracing::debug!("worker stopped");
    }

    /// Processes one batch of pending deliveries.
    pub async fn step(&self, shutdown: &CancellationToken) -> Result<StepOutcome, StoreError> {
        let pending = self.store.pending(BATCH).await?;
        if pending.is_empty() {
            return Ok(StepOutcome::Idle);
        }
        let mut done = 0;
        for delivery in &pending {
            if shutdown.is_cancelled() {
                break;
            }
            self.process(delivery).await?;
            done += 1;
        }
        Ok(StepOutcome::Worked(done))
    }

    /// Processes everything pending, then returns. Tests drive the worker
    /// with this instead of waiting on a background task.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let never = CancellationToken::new();
        let mut total = 0;
        while let StepOutcome::Worked(n) = self.step(&never).await? {
            total += n;
        }
        Ok(total)
    }

    async fn process(&self, delivery: &StoredDelivery) -> Result<(), StoreError> {
        let (status, note) = match Event::parse(&delivery.body) {
            Ok(event) => {
                log_summary(delivery, &event);
                let note = (!event.notes.is_empty()).then(|| event.notes.join("; "));
                (Status::Processed, note)
            }
            Err(why) => {
                tracing::warn!(id = %delivery.id, shape = delivery.shape.as_str(),
                    "delivery quarantined: {why}");
                (Status::Quarantined, Some(why.to_string()))
            }
        };
        self.store
            .finish(&delivery.id, status, note.as_deref())
            .await?;
        Ok(())
    }
}

fn log_summary(delivery: &StoredDelivery, event: &Event) {
    let uid = event
        .booking_uid
        .as_ref()
        .map(|u| u.as_str())
        .unwrap_or("-");
    let start = event
        .start_time
        .map(|t| t.to_string())
        .unwrap_or_else(|| "-".into());
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
