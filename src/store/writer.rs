//! Group commit: one task owns the write connection and commits every insert
//! waiting in its queue in a single transaction.
//!
//! A request sends its delivery with a reply channel and waits. The writer
//! takes everything queued (up to [`MAX_BATCH`]), writes it in one
//! transaction, commits, and only then replies to each request. Under load
//! many requests share one fsync; with one request the batch has one row.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{DeliveryId, NewDelivery, StoreError};

/// The most deliveries one transaction takes.
pub const MAX_BATCH: usize = 256;

/// How many requests may wait for the writer before senders queue up.
const QUEUE: usize = 4 * MAX_BATCH;

/// What an insert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// A new delivery, committed under this id.
    New(DeliveryId),
    /// The same bytes were stored before, under this id; nothing was written.
    Duplicate(DeliveryId),
}

/// A backend's way of writing one batch inside one transaction.
pub trait BatchSink: Send + 'static {
    fn write_batch(
        &mut self,
        batch: &[NewDelivery],
    ) -> impl Future<Output = Result<Vec<Inserted>, sqlx::Error>> + Send;
}

type Reply = oneshot::Sender<Result<Inserted, StoreError>>;

/// The sending side, held by the store.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<(NewDelivery, Reply)>,
}

impl Writer {
    /// Starts the writer task over `sink`.
    pub fn spawn(sink: impl BatchSink) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(sink, rx));
        Self { queue }
    }

    /// True once the writer task has ended, after which every insert fails.
    // FIXME: supervise the task so that a panic restarts it instead of
    // leaving the store read-only until bookme restarts; until then
    // `/readyz` reports it so that an orchestrator restarts the process.
    pub fn is_stopped(&self) -> bool {
        self.queue.is_closed()
    }

    pub async fn insert(&self, delivery: NewDelivery) -> Result<Inserted, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((delivery, reply))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run(mut sink: impl BatchSink, mut rx: mpsc::Receiver<(NewDelivery, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (deliveries, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        match sink.write_batch(&deliveries).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rows = deliveries.len(), "batch commit failed");
                let cause: Arc<str> = e.to_string().into();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::BatchFailed(cause.clone())));
                }
            }
        }
    }
}
