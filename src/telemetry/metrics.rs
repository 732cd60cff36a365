//! Prometheus metrics, one registry per running app (no global state, so
//! in-process tests do not see each other's counts).
//!
//! Served at `/metrics` in the text exposition format when
//! `BOOKME_METRICS=1` (main port) or `BOOKME_METRICS_ADDR` (own listener).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::calcom::Trigger;
use crate::store::Stats;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    trigger: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    destination: String,
    outcome: &'static str,
}

/// The app's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    deliveries: Family<DeliveryLabels, Counter>,
    requests: Family<RequestLabels, Histogram>,
    processing: Histogram,
    queue_depth: Gauge,
    dead_letters: Gauge,
    notifications: Family<NotificationLabels, Counter>,
}

/// Latency buckets from 0.1 ms to about 3 s.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("bookme");
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Webhook deliveries by trigger and outcome",
            deliveries.clone(),
        );
        let requests = Family::<RequestLabels, Histogram>::new_with_constructor(
            latency_buckets as fn() -> Histogram,
        );
        registry.register(
            "request_duration_seconds",
            "HTTP request latency",
            requests.clone(),
        );
        let processing = latency_buckets();
        registry.register(
            "processing_duration_seconds",
            "Time the worker takes to apply one delivery",
            processing.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Deliveries waiting for a worker",
            queue_depth.clone(),
        );
        let dead_letters = Gauge::default();
        registry.register(
            "dead_letters",
            "Deliveries that failed every attempt",
            dead_letters.clone(),
        );
        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register(
            "notifications",
            "Notification attempts by destination and outcome",
            notifications.clone(),
        );
        let inner = Inner {
            registry,
            deliveries,
            requests,
            processing,
            queue_depth,
            dead_letters,
            notifications,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Counts one delivery. Unknown trigger names are folded into `other`
    /// so that a sender cannot grow the label set without bound.
    pub fn delivery(&self, trigger: Option<&str>, outcome: &'static str) {
        let trigger = match trigger.map(Trigger::parse) {
            None => "-".to_owned(),
            Some(Trigger::Other(_)) => "other".to_owned(),
            Some(known) => known.as_str().to_owned(),
        };
        self.inner
            .deliveries
            .get_or_create(&DeliveryLabels { trigger, outcome })
            .inc();
    }

    pub fn request(&self, route: &'static str, status: u16, elapsed: Duration) {
        let labels = RequestLabels { route, status };
        self.inner
            .requests
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn processed(&self, elapsed: Duration) {
        self.inner.processing.observe(elapsed.as_secs_f64());
    }

    pub fn notification(&self, destination: &str, outcome: &'static str) {
        let labels = NotificationLabels {
            destination: destination.to_owned(),
            outcome,
        };
        self.inner.notifications.get_or_create(&labels).inc();
    }

    /// Renders the text format, with the queue gauges taken from `stats`.
    pub fn render(&self, stats: &Stats) -> String {
        self.inner.queue_depth.set(stats.pending);
        self.inner.dead_letters.set(stats.dead);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.inner.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_up_in_the_text_format() {
        let m = Metrics::new();
        m.delivery(Some("BOOKING_CREATED"), "accepted");
        m.delivery(Some("SOMETHING_NEW"), "accepted");
        m.request("webhook", 200, Duration::from_millis(3));
        let text = m.render(&Stats {
            pending: 4,
            dead: 1,
            ..Stats::default()
        });
        assert!(text.contains(
            r#"bookme_deliveries_total{trigger="BOOKING_CREATED",outcome="accepted"} 1"#
        ));
        assert!(text.contains(r#"trigger="other""#), "{text}");
        assert!(text.contains("bookme_queue_depth 4"), "{text}");
        assert!(text.contains("bookme_dead_letters 1"), "{text}");
        assert!(
            text.contains(
                r#"bookme_request_duration_seconds_count{route="webhook",status="200"} 1"#
            )
        );
    }
}
