//! `POST /api/cal/webhook`: verify, store, answer. Nothing else.
//!
//! The steps run in a fixed order: a secret must be configured, the body is
//! read as bytes up to the limit, the signature is checked over those exact
//! bytes, and only then is the body looked at and stored. A 2xx is sent only
//! after the store has committed the delivery.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::{AppState, not_found};
use crate::calcom::signature::SIGNATURE_HEADER;
use crate::calcom::{Shape, SignatureError};
use crate::store::{Inserted, NewDelivery, StoreError};

/// Seconds a client should wait before retrying when the store is down.
const RETRY_AFTER_SECS: &str = "5";

/// Why a delivery was not accepted, by audience: the client gets the status
/// and a short stable message, the log gets the reason.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("CAL_WEBHOOK_SECRET is not set")]
    NoSecret,
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("could not read the body")]
    Unreadable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("invalid signature: {0}")]
    Signature(SignatureError, usize),
    #[error("store unavailable")]
    Store(#[source] StoreError, usize),
}

/// A stored delivery, new or seen before.
struct Accepted {
    inserted: Inserted,
    shape: Shape,
    bytes: usize,
}

#[derive(Serialize)]
struct AcceptedBody<'a> {
    ok: bool,
    id: &'a str,
    duplicate: bool,
}

pub async fn receive(State(app): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let outcome = ingest(&app, req).await;
    log_outcome(&outcome, started);
    count_outcome(&app, &outcome);
    match outcome {
        Ok(accepted) => accepted.into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn ingest(app: &AppState, req: Request) -> Result<Accepted, Refused> {
    let verifier = app.inner.verifier.as_ref().ok_or(Refused::NoSecret)?;
    let (parts, body) = req.into_parts();
    let limit = app.config().max_body;
    let body = read_body(&parts.headers, body, limit).await?;
    let bytes = body.len();
    let signature = parts.headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes());
    let verified = verifier
        .verify(signature, body)
        .map_err(|e| Refused::Signature(e, bytes))?;

    let shape = Shape::of(verified.body());
    let mut delivery = NewDelivery::new(verified.into_body(), shape.clone());
    delivery.content_type = header_text(&parts.headers, header::CONTENT_TYPE.as_str());
    delivery.webhook_version = header_text(&parts.headers, "x-cal-webhook-version");
    delivery.remote_addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    tracing::debug!(headers = ?parts.headers.keys().collect::<Vec<_>>(), "delivery headers");

    let inserted = app
        .inner
        .store
        .insert(delivery)
        .await
        .map_err(|e| Refused::Store(e, bytes))?;
    if matches!(inserted, Inserted::New(_)) {
        app.inner.waker.wake();
    }
    Ok(Accepted {
        inserted,
        shape,
        bytes,
    })
}

/// Reads at most `limit` bytes; a declared or actual larger body is refused
/// without buffering more than the limit.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Refused> {
    let declared =
        header_text(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Refused::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Refused::TooLarge { limit })
        }
        Err(e) => Err(Refused::Unreadable(e)),
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl IntoResponse for Accepted {
    fn into_response(self) -> Response {
        let (id, duplicate) = match &self.inserted {
            Inserted::New(id) => (id, false),
            Inserted::Duplicate(id) => (id, true),
        };
        Json(AcceptedBody {
            ok: true,
            id: id.as_str(),
            duplicate,
        })
        .into_response()
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Refused::NoSecret => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "missing CAL_WEBHOOK_SECRET",
            ),
            Refused::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload too large"),
            Refused::Unreadable(_) => (StatusCode::BAD_REQUEST, "unreadable body"),
            Refused::Signature(..) => (StatusCode::UNAUTHORIZED, "invalid signature"),
            Refused::Store(..) => (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable"),
        };
        let body = Json(serde_json::json!({ "error": message }));
        if matches!(self, Refused::Store(..)) {
            return (status, [(header::RETRY_AFTER, RETRY_AFTER_SECS)], body).into_response();
        }
        (status, body).into_response()
    }
}

fn count_outcome(app: &AppState, outcome: &Result<Accepted, Refused>) {
    let (trigger, name) = match outcome {
        Ok(a) => (a.shape.trigger.as_deref(), outcome_name(a)),
        Err(Refused::NoSecret) => (None, "no_secret"),
        Err(Refused::TooLarge { .. }) => (None, "too_large"),
        Err(Refused::Unreadable(_)) => (None, "unreadable"),
        Err(Refused::Signature(..)) => (None, "invalid_signature"),
        Err(Refused::Store(..)) => (None, "store_unavailable"),
    };
    app.metrics().delivery(trigger, name);
}

fn outcome_name(a: &Accepted) -> &'static str {
    match &a.inserted {
        Inserted::New(_) if a.shape.kind.has_trigger() => "accepted",
        Inserted::New(_) => "unparsed",
        Inserted::Duplicate(_) => "duplicate",
    }
}

/// The one info line per delivery.
fn log_outcome(outcome: &Result<Accepted, Refused>, started: Instant) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(a) => {
            let (Inserted::New(id) | Inserted::Duplicate(id)) = &a.inserted;
            let outcome = outcome_name(a);
            tracing::info!(
                id = %id,
                trigger = a.shape.trigger.as_deref().unwrap_or("-"),
                booking_uid = a.shape.booking_uid.as_deref().unwrap_or("-"),
                shape = a.shape.kind.as_str(),
                bytes = a.bytes,
                outcome,
                duration_ms = ms,
                "delivery {outcome}"
            );
        }
        Err(refused) => log_refusal(refused, ms),
    }
}

fn log_refusal(refused: &Refused, ms: f64) {
    match refused {
        Refused::NoSecret => tracing::error!(
            outcome = "no_secret",
            "delivery refused: CAL_WEBHOOK_SECRET is not set. Set it to the secret of the \
             webhook in Cal.com (Settings > Developer > Webhooks) and restart bookme"
        ),
        Refused::TooLarge { limit } => {
            tracing::info!(
                outcome = "too_large",
                limit,
                duration_ms = ms,
                "delivery too large"
            )
        }
        Refused::Unreadable(e) => {
            tracing::info!(outcome = "unreadable", error = %e, "delivery body unreadable")
        }
        Refused::Signature(reason, bytes) => tracing::info!(
            outcome = "invalid_signature",
            reason = reason.code(),
            bytes,
            duration_ms = ms,
            "delivery refused: {reason}"
        ),
        Refused::Store(e, bytes) => tracing::error!(
            outcome = "store_unavailable",
            bytes,
            error = %e,
            cause = ?std::error::Error::source(e).map(|s| s.to_string()),
            "delivery not stored; answered 503"
        ),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DebugInfo<'a> {
    mode: &'static str,
    has_secret: bool,
    secret_count: usize,
    tunnel_origin: Option<&'a str>,
    webhook_url: &'a str,
    store: &'static str,
    version: &'static str,
    deliveries_received: i64,
    last_delivery_at: Option<String>,
}

/// `GET /api/cal/webhook`: the setup facts, when `CAL_DEBUG=1`; else a 404.
pub async fn debug(State(app): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let config = app.config();
    if !config.debug {
        return not_found(State(app), uri, headers).await;
    }
    let stats = match app.inner.store.stats().await {
        Ok(stats) => stats,
        Err(e) => {
            tracing::error!(error = %e, "debug endpoint could not read the store");
            return Refused::Store(e, 0).into_response();
        }
    };
    Json(DebugInfo {
        mode: config.mode.as_str(),
        has_secret: !config.secrets.is_empty(),
        secret_count: config.secrets.len(),
        tunnel_origin: config.tunnel_origin.as_ref().map(|o| o.as_str()),
        webhook_url: app.webhook_url(),
        store: app.inner.store.kind(),
        version: env!("CARGO_PKG_VERSION"),
        deliveries_received: stats.deliveries,
        last_delivery_at: stats.last_received_at.and_then(|t| t.format(&Rfc3339).ok()),
    })
    .into_response()
}
