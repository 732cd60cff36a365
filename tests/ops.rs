//! Operator endpoints: health, readiness and metrics, on both stores.

#[macro_use]
mod common;

use common::{TestDb, delivery, spawn_app};

on_both_stores!(
    healthz_and_readyz_answer_when_all_is_well,
    readyz_is_503_when_migrations_are_missing,
    metrics_are_absent_unless_enabled,
    metrics_change_as_deliveries_arrive,
    metrics_can_have_their_own_listener,
);

async fn healthz_and_readyz_answer_when_all_is_well(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    assert_eq!(app.get("/healthz").await.status, 200);
    let ready = app.get("/readyz").await;
    assert_eq!((ready.status, ready.text().trim()), (200, "ready"));
}

async fn readyz_is_503_when_migrations_are_missing(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    app.db
        .execute("DELETE FROM _sqlx_migrations WHERE version = 2")
        .await;
    let ready = app.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.text().trim()),
        (503, "migrations pending")
    );
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "liveness does not depend on the store"
    );
}

async fn metrics_are_absent_unless_enabled(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    assert_eq!(app.get("/metrics").await.status, 404);
}

fn sample_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

async fn metrics_change_as_deliveries_arrive(db: TestDb) {
    let app = spawn_app(db, &[("BOOKME_METRICS", "1")]).await;
    let accepted = r#"bookme_deliveries_total{trigger="BOOKING_CREATED",outcome="accepted"}"#;
    let duplicate = r#"bookme_deliveries_total{trigger="BOOKING_CREATED",outcome="duplicate"}"#;
    let refused = r#"bookme_deliveries_total{trigger="-",outcome="invalid_signature"}"#;
    let before = app.get("/metrics").await.text();
    assert_eq!(sample_value(&before, accepted), 0.0);

    let body = delivery("BOOKING_CREATED");
    app.post_signed(&body).await;
    app.post_signed(&body).await;
    app.post(
        "/api/cal/webhook",
        b"{}",
        &[("x-cal-signature-256", "nope")],
    )
    .await;
    let mid = app.get("/metrics").await;
    assert!(
        mid.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let mid = mid.text();
    assert_eq!(sample_value(&mid, accepted), 1.0, "{mid}");
    assert_eq!(sample_value(&mid, duplicate), 1.0);
    assert_eq!(sample_value(&mid, refused), 1.0);
    assert_eq!(
        sample_value(&mid, "bookme_queue_depth"),
        1.0,
        "one delivery waits"
    );
    assert!(
        sample_value(
            &mid,
            r#"bookme_request_duration_seconds_count{route="webhook",status="200"}"#
        ) >= 2.0
    );

    app.worker.drain().await.unwrap();
    let after = app.get("/metrics").await.text();
    assert_eq!(sample_value(&after, "bookme_queue_depth"), 0.0);
    assert_eq!(
        sample_value(&after, "bookme_processing_duration_seconds_count"),
        1.0,
        "{after}"
    );
}

async fn metrics_can_have_their_own_listener(db: TestDb) {
    let port = common::process::free_port();
    let addr = format!("127.0.0.1:{port}");
    let app = spawn_app(db, &[("BOOKME_METRICS_ADDR", addr.as_str())]).await;
    assert_eq!(
        app.get("/metrics").await.status,
        404,
        "not on the main port"
    );
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("bookme_queue_depth"), "{text}");
}
