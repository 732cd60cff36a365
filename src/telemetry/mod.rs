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

/// What short-lived commands (`bookme events list`, ...) log when
/// `RUST_LOG` is unset: only problems, so their output stays readable.
pub const QUIET_FILTER: &str = "warn";

/// Installs the global subscriber, with `default` as the filter when
/// `RUST_LOG` is unset. Call once, before anything logs.
pub fn init_with_default(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_target(false).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
