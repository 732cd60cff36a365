//! Tests that run the real `bookme` binary: crash recovery under SIGKILL,
//! graceful shutdown, and what reaches the logs.

#[macro_use]
mod common;

on_both_stores!(
    acknowledged_deliveries_survive_sigkill_and_are_processed_once,
    sigterm_finishes_and_exits_cleanly,
);

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bookme::calcom::signature::sign;
use bookme::store::Status;
use common::TestDb;
use common::process::{Bookme, free_port, post_signed};
use tokio::sync::Mutex;

/// A canary secret: if these bytes show up in any log, the test fails.
const CANARY_SECRET: &str = "canary-7f1d-secret-9c2e";

/// The admin token, likewise.
const CANARY_ADMIN_TOKEN: &str = "canary-admin-4b8a-token-1e5f";

/// Starts `bookme serve` on `db` with the canary and test secrets.
async fn start(db: &TestDb, log: &Path, port: u16, rust_log: &str) -> Bookme {
    let envs = [
        ("CAL_WEBHOOK_SECRET", format!("{CANARY_SECRET},test-secret")),
        ("CAL_DEBUG", "1".to_owned()),
        ("BOOKME_ADMIN_TOKEN", CANARY_ADMIN_TOKEN.to_owned()),
        ("DATABASE_URL", db.url.clone()),
        ("RUST_LOG", rust_log.to_owned()),
    ];
    Bookme::spawn(&["serve"], &envs, Some(port), log).await
}

async fn post(client: &reqwest::Client, url: &str, body: &[u8]) -> Option<String> {
    post_signed(client, url, "test-secret", body).await
}

async fn acknowledged_deliveries_survive_sigkill_and_are_processed_once(db: TestDb) {
    const TOTAL: usize = 600;
    const KILL_AFTER: usize = 200;
    let log = db.dir.path().join("bookme.log");
    let port = free_port();
    let server = Arc::new(Mutex::new(start(&db, &log, port, "info").await));
    let url = server.lock().await.url();

    // Send from 16 connections; kill the server mid-stream once enough
    // deliveries have been acknowledged.
    let acked = Arc::new(Mutex::new(Vec::<(usize, String)>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..16 {
        let (acked, count, next, url) = (acked.clone(), count.clone(), next.clone(), url.clone());
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= TOTAL {
                    break;
                }
                if let Some(id) = post(&client, &url, &common::unique_booking(n)).await {
                    acked.lock().await.push((n, id));
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    while count.load(Ordering::SeqCst) < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.lock().await.kill().await; // SIGKILL
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= KILL_AFTER);
    assert!(
        acked.len() < TOTAL,
        "the kill landed after every request; nothing was tested"
    );

    // Start again on the same file: pending work is picked up.
    let restarted = start(&db, &log, port, "info").await;
    let store = db.store().await;
    common::wait_until_processed(&store).await;
    for (n, id) in &acked {
        let row = store
            .get(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acked {id} lost"));
        assert_eq!(row.body, common::unique_booking(*n), "{id}: body changed");
        assert_eq!(
            (row.status, row.process_count),
            (Status::Processed, 1),
            "{id}"
        );
    }
    let all = store.all().await.unwrap();
    assert!(
        all.iter().all(|r| r.process_count == 1),
        "a delivery was processed twice"
    );

    // A redelivery of an acknowledged body after the crash is a duplicate.
    let client = reqwest::Client::new();
    let (n, id) = &acked[0];
    assert_eq!(
        post(&client, &url, &common::unique_booking(*n))
            .await
            .as_deref(),
        Some(&**id)
    );
    assert_eq!(store.all().await.unwrap().len(), all.len());
    assert!(restarted.terminate().await.success());
    eprintln!(
        "crash test ({}): {} of {TOTAL} acknowledged before SIGKILL, 0 lost",
        db.kind,
        acked.len()
    );
}

async fn sigterm_finishes_and_exits_cleanly(db: TestDb) {
    let log = db.dir.path().join("bookme.log");
    let server = start(&db, &log, free_port(), "info").await;
    let client = reqwest::Client::new();
    assert!(
        post(&client, &server.url(), &common::unique_booking(1))
            .await
            .is_some()
    );
    let status = server.terminate().await;
    assert!(status.success(), "{status}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("shutting down") && text.contains("stopped"),
        "{text}"
    );
}

/// Sends every case and sample, plus refusals, then returns the full log.
async fn full_run(rust_log: &str) -> String {
    let db = TestDb::sqlite();
    let log = db.dir.path().join("bookme.log");
    let server = start(&db, &log, free_port(), rust_log).await;
    let client = reqwest::Client::new();
    for case in common::cases() {
        let mut req = client.post(server.url()).body(case.raw.clone());
        for (k, v) in &case.headers {
            req = req.header(k, v);
        }
        req.send().await.unwrap();
    }
    for (_, body) in common::deliveries() {
        assert!(post(&client, &server.url(), &body).await.is_some());
    }
    let canary_signed = sign(CANARY_SECRET.as_bytes(), b"{}");
    client
        .post(server.url())
        .header("x-cal-signature-256", canary_signed)
        .body("{}")
        .send()
        .await
        .unwrap();
    client
        .post(server.url())
        .header("x-cal-signature-256", "00")
        .body("x")
        .send()
        .await
        .unwrap();
    let debug = client
        .get(server.url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!debug.contains(CANARY_SECRET));
    // A login attempt carries the admin token in its form body.
    let login = format!(
        "{}/admin/login",
        server.url().replace("/api/cal/webhook", "")
    );
    let form = [("token", CANARY_ADMIN_TOKEN), ("csrf", "x")];
    client.post(&login).form(&form).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // let the worker log
    assert!(server.terminate().await.success());
    std::fs::read_to_string(&log).unwrap()
}

#[tokio::test]
async fn no_log_line_holds_the_secret_even_at_trace() {
    let text = full_run("trace").await;
    assert!(
        text.contains("delivery accepted"),
        "the run logged nothing useful"
    );
    assert!(
        !text.contains(CANARY_SECRET),
        "the webhook secret reached the log"
    );
    assert!(
        !text.contains("test-secret"),
        "the webhook secret reached the log"
    );
    assert!(
        !text.contains(CANARY_ADMIN_TOKEN),
        "the admin token reached the log"
    );
}

#[tokio::test]
async fn info_logs_hold_no_attendee_names_or_emails() {
    let text = full_run("info").await;
    assert!(text.contains("processed BOOKING_CREATED"), "{text}");
    for personal in [
        "ivan@example.com",
        "bob@example.com",
        "Иван Образцов",
        "Bob Sample",
    ] {
        assert!(!text.contains(personal), "{personal} reached the info log");
    }
}
