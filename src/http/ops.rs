//! Operator endpoints: liveness, readiness and metrics.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

/// `/healthz` and `/readyz`, always present; `/metrics` when enabled.
pub fn routes(with_metrics: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if with_metrics {
        router.route("/metrics", get(metrics))
    } else {
        router
    }
}

/// Liveness: the process answers. It says nothing about the store.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the store answers and its migrations are current.
async fn readyz(State(app): State<AppState>) -> Response {
    match app.inner.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            let short = reason.split(':').next().unwrap_or("not ready").to_owned();
            (StatusCode::SERVICE_UNAVAILABLE, format!("{short}\n")).into_response()
        }
    }
}

/// Prometheus text format. Queue gauges are read from the store per scrape.
pub async fn metrics(State(app): State<AppState>) -> Response {
    let stats = match app.inner.store.stats().await {
        Ok(stats) => stats,
        Err(e) => {
            tracing::warn!(error = %e, "metrics could not read the store");
            Default::default()
        }
    };
    let body = app.inner.metrics.render(&stats);
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
