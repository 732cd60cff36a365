//! The dispatcher: sends queued notifications, one loop per destination.
//!
//! Each loop claims its destination's due rows with a lease, sends one at a
//! time, and marks the row sent right after the destination's 2xx, which
//! keeps the window in which a crash causes a resend to one request. A
//! failure is retried with exponential backoff and jitter (or after the
//! destination's `Retry-After`) until the give-up time, then the row is a
//! dead letter. Destinations never wait for each other, and the delivery
//! worker never waits for any of them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::config::{Destination, DestinationKind, NotifyConfig};
use super::message::Audience;
use super::{Locale, Message, Outbox, SendError, email, forward, telegram};
use crate::calcom::{BookingEvent, Event};
use crate::store::{Notification, Store, StoreError};
use crate::telemetry::Metrics;
use crate::worker::{StepOutcome, is_dead_local_owner, lease_owner_name, rfc3339};

/// How the dispatcher paces itself.
#[derive(Debug, Clone)]
pub struct DispatcherOptions {
    /// How long a claim holds; longer than any one send can take.
    pub lease: Duration,
    /// The first retry waits about this long; each further one doubles.
    pub backoff_base: Duration,
    /// No computed retry waits longer than this.
    pub backoff_cap: Duration,
    /// How often an idle loop looks for due rows.
    pub poll: Duration,
    /// After this long since a row was queued, a failure makes it dead.
    pub give_up: Duration,
    /// The most one HTTP request may take.
    pub timeout: Duration,
}

impl DispatcherOptions {
    pub fn from_config(config: &NotifyConfig) -> Self {
        Self {
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(3600),
            poll: Duration::from_secs(1),
            give_up: config.give_up,
            timeout: Duration::from_secs(15),
        }
    }
}

/// Sends the outbox's rows for every configured destination.
pub struct Dispatcher {
    store: Store,
    config: NotifyConfig,
    outbox: Outbox,
    options: DispatcherOptions,
    owner: String,
    http: reqwest::Client,
    /// Destinations that answered 410 Gone; skipped until restart.
    disabled: Mutex<HashSet<String>>,
    metrics: Option<Metrics>,
}

/// What a row needs to be sent: the texts and the forward body.
struct Content {
    message: Message,
    locale: Locale,
    forward_body: serde_json::Value,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        config: NotifyConfig,
        outbox: Outbox,
        options: DispatcherOptions,
    ) -> Self {
        let http = http_client(options.timeout);
        Self {
            store,
            config,
            outbox,
            options,
            owner: lease_owner_name(),
            http,
            disabled: Mutex::default(),
            metrics: None,
        }
    }

    /// Counts each attempt's outcome by destination in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count(&self, dest: &Destination, outcome: &'static str) {
        if let Some(m) = &self.metrics {
            m.notification(&dest.name, outcome);
        }
    }

    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    /// Runs one loop per destination until `shutdown` fires. A send in
    /// flight is finished first.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        if let Err(e) = self.release_dead_local_leases().await {
            tracing::warn!(error = %e, "could not check for notification leases of dead workers");
        }
        let loops: Vec<_> = (0..self.config.destinations.len())
            .map(|i| tokio::spawn(self.clone().run_destination(i, shutdown.clone())))
            .collect();
        for handle in loops {
            if let Err(e) = handle.await {
                tracing::error!(error = %e, "a notification loop panicked");
            }
        }
    }

    async fn run_destination(self: Arc<Self>, index: usize, shutdown: CancellationToken) {
        let dest = &self.config.destinations[index];
        tracing::debug!(destination = dest.name, "notification loop started");
        while !shutdown.is_cancelled() && !self.is_disabled(&dest.name) {
            match self.step(dest).await {
                Ok(StepOutcome::Worked(_)) => continue,
                Ok(StepOutcome::Idle) => {}
                Err(e) => tracing::warn!(destination = dest.name, error = %e,
                    "could not claim notifications"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.outbox.woken().notified() => {}
                _ = tokio::time::sleep(self.options.poll) => {}
            }
        }
    }

    /// Claims and sends one due row of `dest`.
    pub async fn step(&self, dest: &Destination) -> Result<StepOutcome, StoreError> {
        self.step_due_by(dest, OffsetDateTime::now_utc()).await
    }

    async fn step_due_by(
        &self,
        dest: &Destination,
        due_by: OffsetDateTime,
    ) -> Result<StepOutcome, StoreError> {
        if self.is_disabled(&dest.name) {
            return Ok(StepOutcome::Idle);
        }
        let lease_until = OffsetDateTime::now_utc() + self.options.lease;
        let claimed = self
            .store
            .claim_notifications(&dest.name, &self.owner, lease_until, due_by, 1)
            .await?;
        for row in &claimed {
            self.deliver(dest, row).await?;
        }
        Ok(match claimed.len() {
            0 => StepOutcome::Idle,
            n => StepOutcome::Worked(n),
        })
    }

    /// Sends everything due now, for every destination, then returns. A
    /// row that fails is not retried within the same drain, so a drain
    /// ends even while a destination is down. Tests drive the dispatcher
    /// with this.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let due_by = OffsetDateTime::now_utc();
        let mut total = 0;
        loop {
            let mut worked = 0;
            for dest in &self.config.destinations {
                if let StepOutcome::Worked(n) = self.step_due_by(dest, due_by).await? {
                    worked += n;
                }
            }
            if worked == 0 {
                return Ok(total);
            }
            total += worked;
        }
    }

    async fn deliver(&self, dest: &Destination, row: &Notification) -> Result<(), StoreError> {
        let content = match self.content(row).await? {
            Ok(content) => content,
            Err(why) => return self.give_up(row, &why).await,
        };
        let outcome = self.send(dest, &row.id, &content).await;
        match outcome {
            Ok(()) => {
                self.count(dest, "sent");
                self.record_sent(row).await
            }
            Err(SendError::Gone(why)) => {
                self.count(dest, "gone");
                self.disable(dest, row, &why).await
            }
            Err(SendError::Retry { reason, after }) => {
                self.count(dest, "failed");
                self.record_failure(row, &reason, after).await
            }
        }
    }

    async fn send(&self, dest: &Destination, id: &str, c: &Content) -> Result<(), SendError> {
        send(&self.http, dest, id, c).await
    }

    /// Builds the row's content from its stored delivery. The inner error
    /// is a reason the row can never be sent.
    async fn content(&self, row: &Notification) -> Result<Result<Content, String>, StoreError> {
        let Some(delivery) = self.store.get(row.delivery_id.as_str()).await? else {
            return Ok(Err(format!("delivery {} is gone", row.delivery_id)));
        };
        let event = match Event::parse(&delivery.body) {
            Ok(event) => event,
            Err(e) => return Ok(Err(format!("delivery {}: {e}", row.delivery_id))),
        };
        let booking = BookingEvent::from_event(&event);
        let zone = self.config.owner_timezone.as_deref();
        let audience = Audience::for_event(&booking, self.config.owner_locale, zone);
        let id = row.delivery_id.as_str();
        Ok(Ok(Content {
            message: Message::for_event(&event, &booking, &audience),
            locale: audience.locale,
            forward_body: forward::payload(&row.event_key, id, &event, &booking, &delivery.body),
        }))
    }

    async fn record_sent(&self, row: &Notification) -> Result<(), StoreError> {
        if self.store.notification_sent(&row.id, &self.owner).await? {
            tracing::info!(id = %row.id, destination = row.destination, trigger = row.trigger,
                delivery = %row.delivery_id, "notification sent");
        } else {
            tracing::warn!(id = %row.id, destination = row.destination,
                "notification sent, but its lease had expired; it may be sent again");
        }
        Ok(())
    }

    async fn record_failure(
        &self,
        row: &Notification,
        reason: &str,
        after: Option<Duration>,
    ) -> Result<(), StoreError> {
        let attempt = row.attempts + 1;
        let wait = after.unwrap_or_else(|| self.backoff(attempt));
        let at = OffsetDateTime::now_utc() + wait;
        let give_up_at = row.queued_at + self.options.give_up;
        let retry_at = (at <= give_up_at).then_some(at);
        match retry_at {
            Some(at) => tracing::warn!(id = %row.id, destination = row.destination, attempt,
                error = reason, retry_at = %rfc3339(at), "notification failed; will retry"),
            None => tracing::error!(id = %row.id, destination = row.destination, attempt,
                error = reason, "notification failed past its give-up time; it is now a dead \
                letter (bookme notify resend)"),
        }
        self.store
            .notification_failed(&row.id, &self.owner, reason, retry_at)
            .await?;
        Ok(())
    }

    async fn give_up(&self, row: &Notification, why: &str) -> Result<(), StoreError> {
        tracing::error!(id = %row.id, destination = row.destination, error = why,
            "notification cannot be built; it is now a dead letter");
        self.store
            .notification_failed(&row.id, &self.owner, why, None)
            .await?;
        Ok(())
    }

    async fn disable(
        &self,
        dest: &Destination,
        row: &Notification,
        why: &str,
    ) -> Result<(), StoreError> {
        tracing::error!(
            destination = dest.name,
            error = why,
            "the destination answered 410 Gone: it is disabled until bookme restarts"
        );
        self.disabled
            .lock()
            .expect("the lock is never poisoned")
            .insert(dest.name.clone());
        let reason = format!("{why}; destination disabled");
        self.store
            .notification_failed(&row.id, &self.owner, &reason, None)
            .await?;
        Ok(())
    }

    fn is_disabled(&self, name: &str) -> bool {
        self.disabled
            .lock()
            .expect("the lock is never poisoned")
            .contains(name)
    }

    fn backoff(&self, attempt: i64) -> Duration {
        let o = &self.options;
        crate::retry::backoff(o.backoff_base, o.backoff_cap, attempt)
    }

    /// After a crash on this host, takes over the rows the dead process
    /// had leased instead of waiting for the leases to expire.
    async fn release_dead_local_leases(&self) -> Result<(), StoreError> {
        for owner in self.store.notification_lease_owners().await? {
            if is_dead_local_owner(&owner) {
                let n = self.store.release_notification_leases(&owner).await?;
                tracing::info!(released = n, "took over notifications from a dead worker");
            }
        }
        Ok(())
    }
}

/// Sends a test message to `dest`, outside the outbox.
pub async fn send_test(config: &NotifyConfig, dest: &Destination) -> Result<(), SendError> {
    let locale = config.owner_locale.unwrap_or(Locale::En);
    let content = Content {
        message: Message::test(locale),
        locale,
        forward_body: forward::test_payload(),
    };
    let id = format!("test_{}", uuid::Uuid::now_v7().simple());
    let http = http_client(DispatcherOptions::from_config(config).timeout);
    send(&http, dest, &id, &content).await
}

async fn send(
    http: &reqwest::Client,
    dest: &Destination,
    id: &str,
    c: &Content,
) -> Result<(), SendError> {
    match &dest.kind {
        DestinationKind::Telegram(t) => telegram::send(http, t, &c.message).await,
        DestinationKind::Email(e) => email::send(e, &c.message, c.locale).await,
        DestinationKind::Forward(f) => forward::send(http, f, id, &c.forward_body).await,
    }
}

/// One client for all HTTP destinations: bounded, and it never follows a
/// redirect (a forward target that moved should say so, not be guessed).
fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("bookme/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend initialises")
}
