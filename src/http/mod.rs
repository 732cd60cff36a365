//! The HTTP surface: routes, shared state and the layers around them.
//!
//! Routes never redirect on the webhook path, because Cal.com does not
//! follow redirects: `/api/cal/webhook` and `/api/cal/webhook/` are one route.

mod ops;
pub mod serve;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::calcom::Verifier;
use crate::config::Config;
use crate::pages::{self, Site};
use crate::store::Store;
use crate::telemetry::Metrics;
use crate::worker::Waker;

/// Where Cal.com posts deliveries.
pub const WEBHOOK_PATH: &str = "/api/cal/webhook";

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    config: Config,
    verifier: Option<Verifier>,
    store: Store,
    waker: Waker,
    webhook_url: String,
    metrics: Metrics,
    site: Arc<Site>,
}

impl AppState {
    pub fn new(
        config: Config,
        store: Store,
        waker: Waker,
        metrics: Metrics,
        bound: SocketAddr,
    ) -> Self {
        let verifier = Verifier::new(&config.secrets);
        let webhook_url = config.webhook_url(bound.port());
        // The templates and translations are compiled in and every variant
        // is rendered by the pages' unit tests, so this cannot fail at run time.
        let site = Arc::new(Site::build(&config).expect("the embedded pages render"));
        let shared = Shared {
            config,
            verifier,
            store,
            waker,
            webhook_url,
            metrics,
            site,
        };
        Self {
            inner: Arc::new(shared),
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn webhook_url(&self) -> &str {
        &self.inner.webhook_url
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Wakes this process's worker, if it runs one, after a replay.
    pub fn waker(&self) -> &Waker {
        &self.inner.waker
    }

    /// The site's one 404, for handlers that find nothing under a path.
    pub fn not_found_page(&self, uri: &Uri, request: &HeaderMap) -> Response {
        self.inner.site.not_found(uri, request)
    }
}

impl FromRef<AppState> for Arc<Site> {
    fn from_ref(state: &AppState) -> Self {
        state.inner.site.clone()
    }
}

/// Builds the application router.
pub fn router(state: AppState) -> Router {
    let webhook = post(webhook::receive).get(webhook::debug);
    let with_metrics = state.config().metrics;
    let request_timeout = state.config().request_timeout;
    Router::new()
        .route(WEBHOOK_PATH, webhook.clone())
        .route(&format!("{WEBHOOK_PATH}/"), webhook)
        .merge(ops::routes(with_metrics))
        .merge(pages::routes())
        .merge(crate::admin::routes(&state))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), check_host))
        .layer(middleware::from_fn_with_state(state.clone(), time_request))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A router with only `/metrics`, for `BOOKME_METRICS_ADDR`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(ops::metrics))
        .with_state(state)
}

/// Records every request's latency, labelled by a coarse route name so that
/// arbitrary paths cannot grow the label set.
async fn time_request(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = route_name(req.uri().path());
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    state
        .metrics()
        .request(route, response.status().as_u16(), started.elapsed());
    response
}

fn route_name(path: &str) -> &'static str {
    match path {
        p if p.starts_with(WEBHOOK_PATH) => "webhook",
        "/healthz" | "/readyz" | "/metrics" => "ops",
        p if p.starts_with("/admin") => "admin",
        p if p.starts_with("/assets") => "asset",
        p if p.starts_with("/en/") || p.starts_with("/ru/") || p == "/" || p == "/bookme" => "page",
        _ => "other",
    }
}

/// The one 404 of the site, localized by the path or `Accept-Language`.
/// The webhook's GET answers with this when debug is off, so that the
/// endpoint cannot be told apart from a missing page.
pub async fn not_found(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    state.inner.site.not_found(&uri, &headers)
}

/// Answers 421 to requests for a host that is not ours, when
/// `BOOKME_ALLOWED_HOSTS` is set. The tunnel origin's host is always ours.
async fn check_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = state.config();
    if config.allowed_hosts.is_empty() {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if host_allowed(config, &host) {
        next.run(req).await
    } else {
        tracing::debug!(host = %host, "request for a host that is not allowed");
        (StatusCode::MISDIRECTED_REQUEST, "misdirected request\n").into_response()
    }
}

fn host_allowed(config: &Config, host_with_port: &str) -> bool {
    let bare = strip_port(host_with_port);
    let tunnel = config
        .tunnel_origin
        .as_ref()
        .map(|o| o.host().to_ascii_lowercase());
    tunnel.as_deref() == Some(bare)
        || config
            .allowed_hosts
            .iter()
            .any(|h| h == host_with_port || h == bare)
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:4321"), "::1");
    }
}
