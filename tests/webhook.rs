//! The webhook receiver end to end: every shared case and sample against a
//! real server on port 0, checking the answer, what was stored and what the
//! worker did.

#[macro_use]
mod common;

on_both_stores!(
    every_shared_case_behaves_as_its_expect_says,
    every_sample_is_accepted_and_processed_once,
    stored_fields_match_the_delivery,
    the_background_worker_processes_without_help,
    get_is_404_without_cal_debug_like_any_unknown_path,
    post_without_a_secret_is_500,
    debug_json_without_a_tunnel_origin,
    debug_json_with_a_tunnel_origin_and_rotated_secrets,
    signatures_right_wrong_short_and_missing,
    a_rotated_secret_still_verifies,
    form_urlencoded_and_non_json_bodies_are_stored_as_sent,
    unknown_triggers_are_stored_and_acknowledged,
    oversized_bodies_are_413_and_not_stored,
    the_trailing_slash_route_answers_directly,
    a_store_that_cannot_commit_gets_503_and_recovers_without_restart,
    hosts_outside_the_allowed_list_get_421,
    concurrent_deliveries_share_commits_and_all_land,
);

use bookme::calcom::ShapeKind;
use bookme::calcom::signature::sign;
use bookme::store::Status;
use common::{Case, SECRET, TestDb, cases, deliveries, spawn_app, spawn_app_with_worker};

/// What each shared case must produce: the HTTP status, and for stored
/// deliveries the shape recorded and the worker's outcome.
fn expected(case: &str) -> (u16, Option<(ShapeKind, Status)>) {
    use ShapeKind::*;
    use Status::*;
    match &case[..3] {
        "R02" | "R03" | "R04" => (401, None),
        "R10" => (200, Some((Flat, Processed))),
        "R11" | "R14" => (200, Some((NoTrigger, Quarantined))),
        "R12" => (200, Some((NotObject, Quarantined))),
        _ => (200, Some((Envelope, Processed))),
    }
}

async fn every_shared_case_behaves_as_its_expect_says(db: TestDb) {
    for case in cases() {
        let app = spawn_app(db.another().await, &[]).await;
        let (status, stored) = expected(&case.name);
        let path = if case.request_path.is_some() {
            "/api/cal/webhook/"
        } else {
            "/api/cal/webhook"
        };
        let mut ids = Vec::new();
        for attempt in 0..case.deliveries {
            let reply = app
                .post(path, case.raw.as_bytes(), &case.header_pairs())
                .await;
            assert_eq!(reply.status, status, "{}: {}", case.name, reply.text());
            if status == 200 {
                let body = reply.json();
                assert_eq!(body["ok"], true, "{}", case.name);
                assert_eq!(body["duplicate"], attempt > 0, "{}", case.name);
                ids.push(body["id"].as_str().unwrap().to_owned());
            } else {
                assert_eq!(
                    reply.json(),
                    serde_json::json!({"error": "invalid signature"})
                );
            }
        }
        app.worker.drain().await.unwrap();
        let rows = app.store.all().await.unwrap();
        let Some((shape, outcome)) = stored else {
            assert!(
                rows.is_empty(),
                "{}: a refused delivery was stored",
                case.name
            );
            continue;
        };
        assert_eq!(rows.len(), 1, "{}: one row per distinct body", case.name);
        let row = &rows[0];
        assert!(
            ids.iter().all(|id| id == row.id.as_str()),
            "{}: ids differ",
            case.name
        );
        assert_eq!(
            row.body,
            case.raw.as_bytes(),
            "{}: body must be byte-identical",
            case.name
        );
        assert_eq!(
            (row.shape, row.status, row.process_count),
            (shape, outcome, 1),
            "{}",
            case.name
        );
    }
}

async fn every_sample_is_accepted_and_processed_once(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    for (trigger, body) in deliveries() {
        let reply = app.post_signed(&body).await;
        assert_eq!(reply.status, 200, "{trigger}: {}", reply.text());
        assert_eq!(reply.json()["duplicate"], false);
    }
    assert_eq!(app.worker.drain().await.unwrap(), deliveries().len());
    for row in app.store.all().await.unwrap() {
        assert_eq!(row.status, Status::Processed, "{:?}", row.trigger);
        assert_eq!(row.process_count, 1);
        assert_eq!(row.content_type.as_deref(), Some("application/json"));
        assert_eq!(row.webhook_version.as_deref(), Some("2021-10-20"));
        assert_eq!(row.remote_addr.as_deref(), Some("127.0.0.1"));
    }
    // A second pass finds nothing: processing is not repeated.
    assert_eq!(app.worker.drain().await.unwrap(), 0);
}

async fn stored_fields_match_the_delivery(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let case = Case::load("R01");
    let reply = app
        .post(
            "/api/cal/webhook",
            case.raw.as_bytes(),
            &case.header_pairs(),
        )
        .await;
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    let row = app.store.get(&id).await.unwrap().expect("stored");
    assert_eq!(row.trigger.as_deref(), Some("BOOKING_CREATED"));
    assert_eq!(row.booking_uid.as_deref(), Some("8sXq2LmTz4VbN1cR6yWkPd"));
    assert!(
        String::from_utf8(row.body)
            .unwrap()
            .contains("Иван Образцов")
    );
}

async fn the_background_worker_processes_without_help(db: TestDb) {
    let app = spawn_app_with_worker(db, &[]).await;
    let (_, body) = &deliveries()[0];
    let id = app.post_signed(body).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Poll with a generous bound; this checks that it happens, not how fast.
    for _ in 0..200 {
        let row = app.store.get(&id).await.unwrap().unwrap();
        if row.status == Status::Processed {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the worker did not process the delivery within 10 s");
}

async fn get_is_404_without_cal_debug_like_any_unknown_path(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let hook = app.get("/api/cal/webhook").await;
    let other = app.get("/no/such/page").await;
    assert_eq!(hook.status, 404);
    assert_eq!(hook.body, other.body);
    assert_eq!(
        hook.headers.get("content-type"),
        other.headers.get("content-type")
    );
}

async fn post_without_a_secret_is_500(db: TestDb) {
    let app = spawn_app(db, &[("CAL_WEBHOOK_SECRET", "")]).await;
    let body = b"{}";
    let reply = app.post_signed(body).await;
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.json(),
        serde_json::json!({"error": "missing CAL_WEBHOOK_SECRET"})
    );
    assert!(app.store.all().await.unwrap().is_empty());
}

async fn debug_json_without_a_tunnel_origin(db: TestDb) {
    let app = spawn_app(db, &[("CAL_DEBUG", "1")]).await;
    app.post_signed(b"{}").await;
    let reply = app.get("/api/cal/webhook").await;
    assert!(
        !reply.text().contains("://postgres") && !reply.text().contains(".db"),
        "no store URL"
    );
    let json = reply.json();
    assert_eq!(json["mode"], "production");
    assert_eq!(json["hasSecret"], true);
    assert_eq!(json["secretCount"], 1);
    assert_eq!(json["tunnelOrigin"], serde_json::Value::Null);
    assert_eq!(json["webhookUrl"], app.url("/api/cal/webhook"));
    assert_eq!(json["store"], app.db.kind);
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["deliveriesReceived"], 1);
    assert!(json["lastDeliveryAt"].as_str().unwrap().ends_with('Z'));
}

async fn debug_json_with_a_tunnel_origin_and_rotated_secrets(db: TestDb) {
    let vars = [
        ("CAL_DEBUG", "1"),
        ("CAL_TUNNEL_ORIGIN", "https://abc.trycloudflare.com/"),
        ("CAL_WEBHOOK_SECRET", "old-secret,new-secret"),
        ("BOOKME_MODE", "development"),
    ];
    let app = spawn_app(db, &vars).await;
    let reply = app.get("/api/cal/webhook/").await;
    let json = reply.json();
    assert_eq!(json["tunnelOrigin"], "https://abc.trycloudflare.com");
    assert_eq!(
        json["webhookUrl"],
        "https://abc.trycloudflare.com/api/cal/webhook"
    );
    assert_eq!(json["secretCount"], 2);
    assert_eq!(json["mode"], "development");
    assert_eq!(json["deliveriesReceived"], 0);
    assert!(!reply.text().contains("old-secret") && !reply.text().contains("new-secret"));
}

async fn signatures_right_wrong_short_and_missing(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let body = deliveries().remove(0).1;
    let right = sign(SECRET.as_bytes(), &body);
    let wrong = sign(b"another-secret", &body);
    let short = &right[..63];
    for (signature, status) in [(Some(wrong.as_str()), 401), (Some(short), 401), (None, 401)] {
        let mut headers = vec![("content-type", "application/json")];
        headers.extend(signature.map(|s| ("x-cal-signature-256", s)));
        let reply = app.post("/api/cal/webhook", &body, &headers).await;
        assert_eq!(reply.status, status, "{signature:?}");
        assert_eq!(
            reply.json(),
            serde_json::json!({"error": "invalid signature"})
        );
    }
    assert!(
        app.store.all().await.unwrap().is_empty(),
        "refused bodies are not stored"
    );
    let upper_name = [("X-CAL-SIGNATURE-256", right.as_str())];
    assert_eq!(
        app.post("/api/cal/webhook", &body, &upper_name)
            .await
            .status,
        200
    );
}

async fn a_rotated_secret_still_verifies(db: TestDb) {
    let app = spawn_app(db, &[("CAL_WEBHOOK_SECRET", "new-secret, test-secret")]).await;
    assert_eq!(
        app.post_signed(b"{\"triggerEvent\":\"PING\"}").await.status,
        200
    );
}

async fn form_urlencoded_and_non_json_bodies_are_stored_as_sent(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let body = b"name=Ann%20Example&start=2025-03-14T09:00:00Z";
    let signature = sign(SECRET.as_bytes(), body);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-cal-signature-256", signature.as_str()),
    ];
    let reply = app.post("/api/cal/webhook", body, &headers).await;
    assert_eq!(reply.status, 200);
    app.worker.drain().await.unwrap();
    let row = &app.store.all().await.unwrap()[0];
    assert_eq!(
        (row.shape, row.status),
        (ShapeKind::NotJson, Status::Quarantined)
    );
    assert_eq!(
        row.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(row.body, body);
}

async fn unknown_triggers_are_stored_and_acknowledged(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let body =
        br#"{"triggerEvent":"OOO_CREATED","createdAt":"2025-01-01T00:00:00.000Z","payload":{}}"#;
    assert_eq!(app.post_signed(body).await.status, 200);
    app.worker.drain().await.unwrap();
    let row = &app.store.all().await.unwrap()[0];
    assert_eq!(row.trigger.as_deref(), Some("OOO_CREATED"));
    assert_eq!(row.status, Status::Processed);
}

async fn oversized_bodies_are_413_and_not_stored(db: TestDb) {
    let app = spawn_app(db, &[("BOOKME_MAX_BODY", "1K")]).await;
    let body = vec![b' '; 2048];
    let reply = app.post_signed(&body).await;
    assert_eq!(reply.status, 413);
    // A body that declares no length is cut off at the limit as well.
    assert_eq!(post_chunked(&app, &body).await, 413);
    assert!(app.store.all().await.unwrap().is_empty());
    assert_eq!(
        app.post_signed(&body[..1000]).await.status,
        200,
        "under the limit is fine"
    );
}

/// Sends `body` with chunked transfer encoding (no Content-Length) over a
/// raw socket and returns the status code.
async fn post_chunked(app: &common::TestApp, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/cal/webhook HTTP/1.1\r\nHost: localhost\r\n\
         X-Cal-Signature-256: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        sign(SECRET.as_bytes(), body)
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(256) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if socket.write_all(&framed).await.is_err() {
            break; // The server may answer and close before the whole body.
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 64];
    let n = socket.read(&mut answer).await.unwrap();
    let status_line = String::from_utf8_lossy(&answer[..n]).into_owned();
    status_line.split(' ').nth(1).unwrap().parse().unwrap()
}

async fn the_trailing_slash_route_answers_directly(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    let case = Case::load("R22");
    let reply = app
        .post(
            "/api/cal/webhook/",
            case.raw.as_bytes(),
            &case.header_pairs(),
        )
        .await;
    assert_eq!(reply.status, 200);
    // The case's own path is not ours: a plain 404, never a redirect.
    let path = case.request_path.as_deref().unwrap();
    let other = app
        .post(path, case.raw.as_bytes(), &case.header_pairs())
        .await;
    assert_eq!(other.status, 404);
}

async fn a_store_that_cannot_commit_gets_503_and_recovers_without_restart(db: TestDb) {
    let app = spawn_app(db, &[]).await;
    app.db.sabotage("INSERT ON deliveries").await;
    let reply = app.post_signed(&common::unique_booking(1)).await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(reply.headers.contains_key("retry-after"));
    assert_eq!(
        reply.json(),
        serde_json::json!({"error": "temporarily unavailable"})
    );
    app.db.heal("deliveries").await;
    let reply = app.post_signed(&common::unique_booking(1)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(app.store.all().await.unwrap().len(), 1);
}

async fn hosts_outside_the_allowed_list_get_421(db: TestDb) {
    let vars = [
        ("BOOKME_ALLOWED_HOSTS", "book.example.com"),
        ("CAL_TUNNEL_ORIGIN", "https://abc.trycloudflare.com"),
    ];
    let app = spawn_app(db, &vars).await;
    let body = b"{}";
    let signature = sign(SECRET.as_bytes(), body);
    for (host, status) in [
        ("book.example.com", 200),
        ("BOOK.example.com:443", 200),
        ("abc.trycloudflare.com", 200),
        ("evil.example.net", 421),
    ] {
        let headers = [("host", host), ("x-cal-signature-256", signature.as_str())];
        let reply = app.post("/api/cal/webhook", body, &headers).await;
        assert_eq!(reply.status, status, "{host}");
    }
}

async fn concurrent_deliveries_share_commits_and_all_land(db: TestDb) {
    let app = std::sync::Arc::new(spawn_app(db, &[]).await);
    let mut tasks = Vec::new();
    for n in 0..200 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.post_signed(&common::unique_booking(n)).await.json()["id"].clone()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().as_str().unwrap().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    assert_eq!(app.store.all().await.unwrap().len(), 200);
}
