//! Logging: `tracing` to stderr, as text or JSON, filtered by `RUST_LOG`.
//!
//! The default filter is quiet: bookme's info lines (start, one per
//! delivery, one per processed event) and warnings from libraries.

mod metrics;

use tracing_subscriber::EnvFilter;

pub use metrics::Metrics;

use crate::config::LogFormat;

/// What is logged when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn,hyper=warn";

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_target(false).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
